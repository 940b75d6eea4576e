//! Workerman's `AsyncTcpConnection`: a client connection from a URL, with the same
//! handler shape as a listener's, and an opt-in reconnect.

use std::collections::HashMap;
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
    ConfigError, Connection, ConnectionError, ConnectionOptions, Endpoint, Registry, TlsClient,
};

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
            #[cfg(feature = "cluster")]
            cluster: None,
        });
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(run(
            self.address,
            self.tls,
            self.reconnect,
            endpoint.clone(),
            stop.clone(),
        ));
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
    reconnect: Option<Duration>,
    endpoint: Arc<EndpointShared>,
    stop: Arc<tokio::sync::Notify>,
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
        match reconnect {
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
