//! Workerman's `AsyncTcpConnection`: a client connection from a URL, with the same
//! handler shape as a listener's, and an opt-in reconnect.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wm_websocket::handshake::ClientRequest;

use crate::connection::{lock, EndpointShared, Kind, PeerAddr};
use crate::driver::Driver;
use crate::handler::{Callbacks, Handlers};
use crate::protocols::{DynProtocol, ProtocolContext, WebSocketProtocol};
use crate::registry::ProtocolFactory;
use crate::stats::Counters;
use crate::url::{self, Address};
use crate::{
    ConfigError, Connection, ConnectionError, ConnectionOptions, Endpoint, Message, Registry,
    SendError, SendStatus, TlsClient,
};

/// Framing and bookkeeping counted per queued message against the send buffer's
/// watermark, so that many empty messages are bounded too.
const QUEUED_MESSAGE_OVERHEAD: usize = 64;

/// What a client's handle and its connections ask of the loop that connects: messages
/// sent while no connection is open, and a reconnect asked for by hand.
#[derive(Debug)]
pub(crate) struct ClientControl {
    /// The automatic reconnect's delay ([`Client::reconnect`]).
    automatic: Option<Duration>,
    pending: Mutex<Pending>,
    /// Taken by the loop when the connection ends: connect again after this long.
    reconnect_after: Mutex<Option<Duration>>,
    /// The loop has ended: nothing more is connected or queued.
    done: AtomicBool,
}

#[derive(Debug, Default)]
struct Pending {
    messages: VecDeque<Message>,
    /// What they count against the send buffer's high watermark.
    bytes: usize,
    /// The connection the loop runs now, once what was queued went into it.
    current: Option<Connection>,
}

impl ClientControl {
    fn new(automatic: Option<Duration>) -> Self {
        Self {
            automatic,
            pending: Mutex::default(),
            reconnect_after: Mutex::new(None),
            done: AtomicBool::new(false),
        }
    }

    /// Asks for a reconnect after `after`, closing `open` (gracefully) if there is one.
    pub(crate) fn reconnect(&self, after: Duration, open: Option<&Connection>) -> bool {
        {
            // Under the queue's lock, as `next_delay` decides: a request either counts
            // for the end being decided or fails.
            let _pending = lock(&self.pending);
            if self.done.load(Ordering::Acquire) {
                return false;
            }
            *lock(&self.reconnect_after) = Some(after.min(crate::MAX_TIMEOUT));
        }
        if let Some(connection) = open {
            connection.close();
        }
        true
    }

    /// Sends on the open connection, or queues `message` for the next one within `limit`
    /// bytes when a connection is to come.
    fn send(&self, message: Message, limit: usize) -> Result<SendStatus, SendError> {
        let mut pending = lock(&self.pending);
        if let Some(connection) = &pending.current {
            if connection.status() == crate::Status::Open {
                let connection = connection.clone();
                drop(pending);
                return connection.send(message);
            }
            let will_reconnect = self.automatic.is_some() || lock(&self.reconnect_after).is_some();
            if !will_reconnect {
                return Err(SendError::Closed);
            }
        }
        if self.done.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        let size = message.as_bytes().map_or(0, <[u8]>::len) + QUEUED_MESSAGE_OVERHEAD;
        if pending.bytes + size > limit {
            return Err(SendError::BufferFull {
                buffered: pending.bytes,
                limit,
            });
        }
        pending.bytes += size;
        pending.messages.push_back(message);
        Ok(SendStatus::Queued)
    }

    /// The connection just opened: what was queued goes into it first, in order, and
    /// sends go to it from now on. Sent under the queue's lock, so that a send from
    /// elsewhere cannot overtake them (a send runs no callback). What the connection
    /// refuses (a message its scheme cannot encode) is dropped and logged.
    fn opened(&self, connection: &Connection) {
        let mut pending = lock(&self.pending);
        // A reconnect asked for while connecting (or waiting to) is this connection.
        lock(&self.reconnect_after).take();
        let queued = std::mem::take(&mut pending.messages);
        pending.bytes = 0;
        pending.current = Some(connection.clone());
        for message in queued {
            if let Err(error) = connection.send(message) {
                tracing::debug!(%error, "a message queued before the connection was refused");
            }
        }
    }

    /// The connection ended (or the connect failed): how long until the next connect, if
    /// one is due (a reconnect asked for by hand first, then the automatic one). Decided
    /// under the queue's lock, so that a send meanwhile either queues for the next
    /// connection or fails, never both.
    fn next_delay(&self) -> Option<Duration> {
        let mut pending = lock(&self.pending);
        let delay = lock(&self.reconnect_after).take().or(self.automatic);
        match delay {
            Some(_) => pending.current = None,
            None => {
                // Done: a send from now on fails rather than queue for nothing.
                self.done.store(true, Ordering::Release);
                *pending = Pending::default();
            }
        }
        delay
    }

    /// The loop has ended: what is queued is dropped, and sends fail from now on.
    fn end(&self) {
        self.done.store(true, Ordering::Release);
        let mut pending = lock(&self.pending);
        *pending = Pending::default();
    }
}

/// The WebSocket handshake options of a `ws://` client.
#[derive(Debug, Clone, Default)]
struct WsOptions {
    origin: Option<String>,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
}

/// A client: `Client::new("ws://127.0.0.1:2345/chat")`, callbacks, then
/// [`start`](Self::start) on a tokio runtime.
///
/// Schemes: `ws` (the WebSocket client) and `wss` (over TLS), `text`, `frame`, `jsonnl`,
/// any registered protocol, and bare `tcp` / `unix` (`unix:///path.sock`), `ssl` / `tls`
/// (bare TCP over TLS). `on_connect` fires once the
/// transport is connected (for `ws://`, before the `101`: what is sent then follows the
/// handshake); a failed connect gives `on_error` with [`ConnectionError::Connect`], then
/// `on_close`, as in Workerman.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use wm_server::{Client, Message, Worker};
///
/// let server = Worker::new("frame://127.0.0.1:0")?
///     .on_message(|connection, message| drop(connection.send(message)))
///     .start()?;
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
/// let client = Client::new(&format!("frame://{}", server.socket_addr().unwrap()))?
///     .on_connect(|connection| drop(connection.send("ping")))
///     .on_message(move |_, message| drop(tx.send(message)))
///     .start();
/// let echoed = rx.recv().await.unwrap();
/// assert_eq!(echoed.as_bytes(), Some(&b"ping"[..]));
/// client.stop().await;
/// # Ok(())
/// # }
/// ```
pub struct Client {
    url: String,
    scheme: String,
    address: Address,
    /// The URL as parsed once: a `ws://` client's handshake requests are built from it.
    parsed: crate::url::Url,
    factory: Option<ProtocolFactory>,
    ws: WsOptions,
    options: ConnectionOptions,
    handlers: Handlers,
    reconnect: Option<Duration>,
    tls: Option<TlsClient>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `url`, its scheme looked up in the built-in [`Registry`].
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::with_registry(url, &Registry::new())
    }

    /// A client for `url`, its scheme looked up in `registry`.
    pub fn with_registry(url: &str, registry: &Registry) -> Result<Self, ConfigError> {
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        let parsed = url::parse(url, wm_websocket::handshake::default_port(scheme))?;
        let scheme = parsed.scheme.to_ascii_lowercase();
        // The TLS schemes: `wss` is `ws` over TLS; `ssl` and `tls` are bare TCP over TLS.
        let tls = matches!(scheme.as_str(), "wss" | "ssl" | "tls").then(TlsClient::default);
        let factory = match scheme.as_str() {
            "ws" | "wss" => {
                ClientRequest::from_url(&parsed).map_err(|_| ConfigError::InvalidUrl {
                    url: url.to_owned(),
                    reason: "not a valid ws:// URL",
                })?;
                None
            }
            "ssl" | "tls" => Some(registry.client("tcp")?),
            "udp" => {
                return Err(ConfigError::UnsupportedTransport {
                    scheme,
                    transport: "a client connection (use a UdpSocket)",
                })
            }
            _ => Some(registry.client(&scheme)?),
        };
        if matches!(parsed.address, Address::Unix(_)) && (scheme.starts_with("ws") || tls.is_some())
        {
            return Err(ConfigError::InvalidUrl {
                url: url.to_owned(),
                reason: "ws://, wss:// and TLS take a host and port",
            });
        }
        Ok(Self {
            url: url.to_owned(),
            scheme,
            address: parsed.address.clone(),
            parsed,
            factory,
            ws: WsOptions::default(),
            options: ConnectionOptions::default(),
            handlers: Handlers::Callbacks(Callbacks::default()),
            reconnect: None,
            tls,
        })
    }

    /// The connection's limits and timeouts.
    pub fn options(mut self, options: ConnectionOptions) -> Self {
        self.options = options;
        self
    }

    /// After the connection closes (or fails to connect), connect again after `delay`,
    /// until [`ClientHandle::stop`]. Workerman's `reconnect()`, made automatic.
    pub fn reconnect(mut self, delay: Option<Duration>) -> Self {
        self.reconnect = delay;
        self
    }

    /// Connects over TLS trusting `tls` (for `wss://`, `ssl://` the default trusts the
    /// Mozilla roots; any other TCP scheme can be put over TLS this way).
    pub fn tls(mut self, tls: TlsClient) -> Self {
        self.tls = Some(tls);
        self
    }

    /// `ws://`: sends `Origin`.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.ws.origin = Some(origin.into());
        self
    }

    /// `ws://`: offers a subprotocol (call again for more, in order of preference).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.ws.protocols.push(protocol.into());
        self
    }

    /// `ws://`: adds a header line to the handshake request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.ws.headers.push((name.into(), value.into()));
        self
    }

    crate::handler::callback_setters!();

    fn protocol_factory(&self) -> ProtocolFactory {
        if let Some(factory) = &self.factory {
            return factory.clone();
        }
        let url = self.parsed.clone();
        let ws = self.ws.clone();
        Arc::new(move |context: &ProtocolContext| {
            // A fresh request (and so a fresh random key) for every connection.
            let mut request = ClientRequest::from_url(&url).expect("checked in Client::new");
            if let Some(origin) = &ws.origin {
                request = request.origin(origin.clone());
            }
            for protocol in &ws.protocols {
                request = request.protocol(protocol.clone());
            }
            for (name, value) in &ws.headers {
                request = request.header(name.clone(), value.clone());
            }
            Box::new(WebSocketProtocol::client(context, request)) as Box<dyn DynProtocol>
        })
    }

    /// Connects, on the current tokio runtime, and returns at once.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(self) -> ClientHandle {
        let endpoint = Arc::new(EndpointShared {
            name: self.url.clone(),
            scheme: self.scheme.clone(),
            options: self.options,
            handler: self.handlers.clone().into_handler(),
            factory: self.protocol_factory(),
            client: true,
            counters: Counters::default(),
            connections: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            drivers: std::sync::atomic::AtomicUsize::new(0),
            threads_serving: std::sync::atomic::AtomicUsize::new(0),
            control: Some(Arc::new(ClientControl::new(self.reconnect))),
            #[cfg(feature = "cluster")]
            cluster: None,
        });
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(run(self.address, self.tls, endpoint.clone(), stop.clone()));
        ClientHandle {
            endpoint: Endpoint(endpoint),
            task,
            stop,
        }
    }
}

async fn run(
    address: Address,
    tls: Option<TlsClient>,
    endpoint: Arc<EndpointShared>,
    stop: Arc<tokio::sync::Notify>,
) {
    let control = endpoint
        .control
        .clone()
        .expect("a client's endpoint has its control");
    connect_until_done(address, tls, &endpoint, &control, &stop).await;
    control.end();
}

async fn connect_until_done(
    address: Address,
    tls: Option<TlsClient>,
    endpoint: &Arc<EndpointShared>,
    control: &ClientControl,
    stop: &tokio::sync::Notify,
) {
    loop {
        let limit = endpoint.options.handshake_timeout.unwrap_or(Duration::MAX);
        let attempt = tokio::time::timeout(limit, connect(&address, tls.as_ref()));
        // A stop does not wait for a connect in progress (nor, below, for the delay).
        let connected = tokio::select! {
            result = attempt => match result {
                Ok(result) => result,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no connection within the handshake timeout",
                )),
            },
            () = stop.notified() => return,
        };
        match connected {
            Ok(stream) => {
                let Some(connection) = Connection::new(
                    endpoint.clone(),
                    Kind::Stream,
                    stream.peer.clone(),
                    stream.local.clone(),
                ) else {
                    return;
                };
                // Workerman writes what was sent before the connect first, then calls
                // onConnect; a `ws://` client holds it until the handshake is done.
                control.opened(&connection);
                match stream.io {
                    Stream::Tcp(tcp) => Driver::new(tcp, connection).run().await,
                    Stream::Tls(tls) => Driver::new(*tls, connection).run().await,
                    #[cfg(unix)]
                    Stream::Unix(unix) => Driver::new(unix, connection).run().await,
                }
            }
            Err(error) => {
                tracing::debug!(%address, %error, "connect failed");
                // The handler hears of it through a connection that never opened.
                let peer = match &address {
                    Address::Unix(path) => PeerAddr::Unix(Some(path.clone())),
                    Address::Inet { host, port } => {
                        match format!("{}:{port}", bracket(host)).parse() {
                            Ok(address) => PeerAddr::Inet(address),
                            Err(_) => PeerAddr::Unix(None),
                        }
                    }
                };
                let Some(connection) = Connection::new(endpoint.clone(), Kind::Stream, peer, None)
                else {
                    return;
                };
                lock(&connection.0.state).status = crate::Status::Closed;
                let error = ConnectionError::Connect(error);
                connection.callback(|handler, conn| handler.on_error(conn, &error));
                connection.callback(|handler, conn| handler.on_close(conn));
            }
        }
        // A reconnect asked for by hand (in on_close, say) comes first, and works without
        // the automatic one.
        match control.next_delay() {
            Some(delay) if !endpoint.stopping.load(Ordering::Acquire) => {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.notified() => return,
                }
                if endpoint.stopping.load(Ordering::Acquire) {
                    return;
                }
            }
            _ => return,
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

struct Connected {
    io: Stream,
    peer: PeerAddr,
    local: Option<PeerAddr>,
}

async fn connect(address: &Address, tls: Option<&TlsClient>) -> std::io::Result<Connected> {
    match address {
        Address::Inet { host, port } => {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            tcp.set_nodelay(true)?;
            let peer = PeerAddr::Inet(tcp.peer_addr()?);
            let local = tcp.local_addr().ok().map(PeerAddr::Inet);
            let io = match tls {
                None => Stream::Tcp(tcp),
                Some(tls) => {
                    let name = rustls::pki_types::ServerName::try_from(host.clone())
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                    Stream::Tls(Box::new(tls.0.connect(name, tcp).await?))
                }
            };
            Ok(Connected { io, peer, local })
        }
        #[cfg(unix)]
        Address::Unix(path) => {
            let unix = tokio::net::UnixStream::connect(path).await?;
            Ok(Connected {
                peer: PeerAddr::Unix(Some(path.clone())),
                local: None,
                io: Stream::Unix(unix),
            })
        }
        #[cfg(not(unix))]
        Address::Unix(_) => Err(std::io::ErrorKind::Unsupported.into()),
    }
}

/// A started [`Client`].
#[derive(Debug)]
pub struct ClientHandle {
    endpoint: Endpoint,
    task: tokio::task::JoinHandle<()>,
    stop: Arc<tokio::sync::Notify>,
}

impl ClientHandle {
    /// The connection, while one is open.
    pub fn connection(&self) -> Option<Connection> {
        self.endpoint.connections().into_iter().next()
    }

    /// The client's counters and connection list.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends on the open connection, or, while there is none (connecting, waiting to
    /// reconnect), queues `message` for the next one, as Workerman's
    /// `AsyncTcpConnection::send` does before the connect: queued messages are written
    /// first when it opens, before `on_connect` (a `ws://` client sends them after its
    /// handshake). The queue holds at most the send buffer's high watermark, counting
    /// 64 bytes a message on top of its payload; past it, [`SendError::BufferFull`].
    /// After the client ended (stopped, or closed without a reconnect due),
    /// [`SendError::Closed`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use wm_server::{Client, Worker};
    ///
    /// let server = Worker::new("text://127.0.0.1:0")?
    ///     .on_message(|connection, message| drop(connection.send(message)))
    ///     .start()?;
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// let client = Client::new(&format!("text://{}", server.socket_addr().unwrap()))?
    ///     .on_message(move |_, message| drop(tx.send(message)))
    ///     .start();
    /// client.send("sent before the connect")?; // queued, written once connected
    /// let echoed = rx.recv().await.unwrap();
    /// assert_eq!(echoed.as_bytes(), Some(&b"sent before the connect"[..]));
    /// client.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(&self, message: impl Into<Message>) -> Result<SendStatus, SendError> {
        let limit = self.endpoint.0.options.send_high_watermark;
        self.control().send(message.into(), limit)
    }

    /// Closes the open connection (gracefully) and connects again after `after`
    /// (Workerman's `reConnect($after)`), with or without the automatic
    /// [`reconnect`](Client::reconnect); from `on_close` (or a failed connect's
    /// `on_error`) it reconnects after `after` instead of giving up. `false` once the
    /// client has ended. Also [`Connection::reconnect`].
    pub fn reconnect(&self, after: Duration) -> bool {
        self.control().reconnect(after, self.connection().as_ref())
    }

    fn control(&self) -> &ClientControl {
        self.endpoint
            .0
            .control
            .as_deref()
            .expect("a client's endpoint has its control")
    }

    /// Waits until the client is done: its connection closed and no reconnect is due.
    pub async fn join(self) {
        let _ = self.task.await;
    }

    /// Stops reconnecting, closes the connection gracefully (a WebSocket close
    /// handshake), and waits for it to end.
    pub async fn stop(self) {
        self.endpoint.0.stopping.store(true, Ordering::Release);
        self.stop.notify_one();
        for connection in self.endpoint.connections() {
            connection.close();
        }
        let _ = self.task.await;
    }
}
