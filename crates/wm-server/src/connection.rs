//! The connection handle (Workerman's `TcpConnection` / `UdpConnection`) and the
//! endpoint it belongs to.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::BytesMut;
use futures_util::task::AtomicWaker;

use crate::protocols::{CloseReason, DynProtocol, ProtocolContext};
use crate::registry::ProtocolFactory;
use crate::stats::Counters;
use crate::{ConnectionError, ConnectionOptions, Handler, Message, SendError, SendStatus, Stats};

/// Connection ids increase across the process, as Workerman's do within one.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Where a peer is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP or UDP peer.
    Inet(SocketAddr),
    /// A Unix-socket peer (usually unnamed, `None`).
    Unix(Option<PathBuf>),
}

impl PeerAddr {
    /// The IP address (`None` for a Unix socket).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Inet(address) => Some(address.ip()),
            Self::Unix(_) => None,
        }
    }

    /// The port (`None` for a Unix socket).
    pub fn port(&self) -> Option<u16> {
        match self {
            Self::Inet(address) => Some(address.port()),
            Self::Unix(_) => None,
        }
    }

    /// The socket address of a TCP or UDP peer.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Inet(address) => Some(*address),
            Self::Unix(_) => None,
        }
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inet(address) => address.fmt(f),
            Self::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            Self::Unix(None) => f.write_str("unix:(unnamed)"),
        }
    }
}

/// A listener or a client: its handler, options, counters and live connections.
pub(crate) struct EndpointShared {
    pub(crate) name: String,
    pub(crate) scheme: String,
    pub(crate) options: ConnectionOptions,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) factory: ProtocolFactory,
    pub(crate) client: bool,
    pub(crate) counters: Counters,
    pub(crate) connections: Mutex<HashMap<u64, Connection>>,
    /// Set when the endpoint stops: new connections are closed at once.
    pub(crate) stopping: AtomicBool,
    /// Connection tasks alive, lingering ones included: a stop waits for them.
    pub(crate) drivers: std::sync::atomic::AtomicUsize,
    /// Worker threads that started and have not finished `on_worker_stop`: a stop waits
    /// for them (up to the close timeout) before it closes the connections.
    pub(crate) threads_serving: std::sync::atomic::AtomicUsize,
    /// A client's queue and manual reconnect; `None` for a listener.
    pub(crate) control: Option<Arc<crate::client::ClientControl>>,
    /// The cluster the connections are members of.
    #[cfg(feature = "cluster")]
    pub(crate) cluster: Option<crate::cluster::Cluster>,
}

impl EndpointShared {
    /// A new connection's protocol; `None` (logged) if the factory panicked, which drops
    /// that connection and not the listener.
    pub(crate) fn protocol(&self, peer: &PeerAddr) -> Option<Box<dyn DynProtocol>> {
        let context = ProtocolContext {
            limits: self.options.limits,
            client: self.client,
            deflate: self.options.deflate,
            peer: peer.socket_addr(),
        };
        let made = catch_unwind(AssertUnwindSafe(|| (self.factory)(&context)));
        if made.is_err() {
            Counters::add(&self.counters.handler_panics, 1);
            tracing::error!(name = %self.name, "the protocol factory panicked; connection dropped");
        }
        made.ok()
    }

    pub(crate) fn connections(&self) -> MutexGuard<'_, HashMap<u64, Connection>> {
        lock(&self.connections)
    }

    /// A connection opened: listed, and a member of the cluster if there is one.
    pub(crate) fn add(&self, connection: &Connection) {
        self.connections()
            .insert(connection.id(), connection.clone());
        #[cfg(feature = "cluster")]
        if let Some(cluster) = &self.cluster {
            cluster.add(connection);
        }
    }

    /// A connection closed: out of the list, and out of the cluster's uids and groups.
    pub(crate) fn remove(&self, connection: &Connection) {
        self.connections().remove(&connection.id());
        #[cfg(feature = "cluster")]
        if let Some(cluster) = &self.cluster {
            cluster.remove(connection);
        }
    }
}

/// A listener (or client) as its connections see it: its live connections, for a
/// broadcast, and its counters.
#[derive(Clone)]
pub struct Endpoint(pub(crate) Arc<EndpointShared>);

impl Endpoint {
    /// The listener's name (`Worker::name`, default the URL).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The scheme (`"websocket"`, `"text"`, …).
    pub fn scheme(&self) -> &str {
        &self.0.scheme
    }

    /// The open connections (UDP peers are not connections and are not listed), in no
    /// particular order.
    pub fn connections(&self) -> Vec<Connection> {
        self.0.connections().values().cloned().collect()
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.0.connections().len()
    }

    /// The open connection with this id.
    pub fn connection(&self, id: u64) -> Option<Connection> {
        self.0.connections().get(&id).cloned()
    }

    /// Sends `message` to every open connection; returns how many took it.
    pub fn broadcast(&self, message: impl Into<Message> + Clone) -> usize {
        self.connections()
            .iter()
            .filter(|c| c.send(message.clone()).is_ok())
            .count()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.0.counters.snapshot()
    }

    /// The connection options.
    pub fn options(&self) -> &ConnectionOptions {
        &self.0.options
    }

    /// The cluster the listener's connections are members of ([`Worker::cluster`](crate::Worker::cluster)).
    #[cfg(feature = "cluster")]
    pub fn cluster(&self) -> Option<&crate::cluster::Cluster> {
        self.0.cluster.as_ref()
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.0.name)
            .field("scheme", &self.0.scheme)
            .finish_non_exhaustive()
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Messages flow both ways.
    Open,
    /// A close was asked for: what is queued is still written, nothing more is accepted.
    Closing,
    /// The transport is closed.
    Closed,
}

/// A close asked for through the handle, for the driver to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseRequest {
    /// Write what is queued, then close (waiting for the peer if the protocol said so).
    Graceful { wait_for_peer: bool },
    /// Drop the connection now, queued output included.
    Abort,
}

pub(crate) struct State {
    pub(crate) protocol: Box<dyn DynProtocol>,
    /// Encoded, not yet written.
    pub(crate) out: BytesMut,
    pub(crate) status: Status,
    pub(crate) close: Option<CloseRequest>,
    pub(crate) paused: bool,
    /// An answer is being made off the connection's task (a static file): the next
    /// request waits for it, apart from the application's own pause.
    pub(crate) answering: bool,
    /// Closing, but the protocol still takes what it owes the peer (responses to the
    /// HTTP requests in hand); it refuses the rest by itself.
    pub(crate) draining: bool,
    /// `on_buffer_full` fired; `on_buffer_drain` is owed.
    pub(crate) full: bool,
    /// Messages encoded since the driver last added them to the counters.
    pub(crate) messages_sent: u64,
    /// Callbacks owed, for the driver to run on the connection's task.
    pub(crate) events: Events,
    /// This connection's send watermarks: the listener's, or lower
    /// ([`Connection::set_max_send_buffer_size`]).
    pub(crate) send_high: usize,
    pub(crate) send_low: usize,
    /// A package size set since the driver last looked, for its own decoder (a protocol
    /// that decodes apart); the protocol in this state has it already.
    pub(crate) package_limit: Option<usize>,
}

/// Callbacks a send owes the connection. A send may come from any thread (a broadcast
/// from another connection, a spawned task), and the handler is promised that its
/// callbacks for one connection run on that connection's task, one at a time: so the
/// send only records them, and the driver runs them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Events {
    /// The send buffer reached the high watermark: `on_buffer_full`.
    pub(crate) buffer_full: bool,
    /// Sends refused on a full buffer since the last run: an `on_error` each.
    pub(crate) refused: u64,
    /// The buffer's length and limit at the latest refusal.
    pub(crate) refused_at: Option<(usize, usize)>,
}

impl Events {
    pub(crate) fn is_empty(&self) -> bool {
        !self.buffer_full && self.refused_at.is_none()
    }

    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

impl State {
    /// Whether the connection's messages wait and its socket is not read: a pause, a
    /// send buffer over its high watermark (a peer that sends and does not read cannot
    /// make it grow without end, and the answers would be refused anyway), or an answer
    /// being made off the connection's task (a static file).
    pub(crate) fn held_back(&self) -> bool {
        self.paused || self.full || self.answering
    }

    /// Whether sends are taken: open, or closing with answers still owed (the HTTP
    /// requests in hand).
    pub(crate) fn takes_sends(&self) -> bool {
        match self.status {
            Status::Open => true,
            Status::Closing => self.draining,
            Status::Closed => false,
        }
    }
}

pub(crate) enum Kind {
    /// A TCP, TLS or Unix stream, driven by its own task.
    Stream,
    /// A UDP peer: each send is one datagram from the listener's socket.
    Datagram {
        socket: Arc<tokio::net::UdpSocket>,
        peer: SocketAddr,
    },
}

/// One value hung on a connection, by its type.
pub(crate) type DataEntry = (TypeId, Arc<dyn Any + Send + Sync>);

pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) peer: PeerAddr,
    pub(crate) local: Option<PeerAddr>,
    pub(crate) endpoint: Arc<EndpointShared>,
    pub(crate) kind: Kind,
    pub(crate) state: Mutex<State>,
    /// The driver's task, woken by sends and closes from elsewhere.
    pub(crate) waker: AtomicWaker,
    /// The driver is running callbacks and writes once they return: sends need not wake
    /// it.
    pub(crate) dispatching: AtomicBool,
    /// Set, under the state's lock, by whatever may stop the driver handing out the next
    /// message (a close, a pause, a full send buffer, callbacks owed); cleared by the
    /// driver, under the lock, when it finds the state open and not held back. While it is
    /// clear, a protocol that [decodes apart](crate::protocols::DynProtocol::decodes_apart)
    /// is decoded without the lock.
    pub(crate) attention: AtomicBool,
    /// What the application hung on the connection, one value per type; emptied when the
    /// connection closes, after `on_close`.
    /// `None` once emptied: what is set afterwards (by a task or timer that kept a
    /// handle) is dropped at once rather than kept for good.
    pub(crate) data: Mutex<Option<Vec<DataEntry>>>,
    /// Woken when the send buffer drains after being full, when the connection closes,
    /// and, while [`watched`](Self::watched), after each send: for a task that streams a
    /// body ([`Connection::writable`]) or waits for its turn to answer
    /// ([`Connection::answer_turn`]).
    pub(crate) drained: tokio::sync::Notify,
    /// A task waits for the answers before its own to be sent.
    pub(crate) watched: AtomicBool,
}

/// A handle to one connection: send, close, pause; cheap to clone, `Send`, valid after
/// the connection closed (sends then fail with [`SendError::Closed`]).
#[derive(Clone)]
pub struct Connection(pub(crate) Arc<Shared>);

/// Locks, ignoring poisoning: no lock here is held across a callback, so a panic cannot
/// leave the state half-changed.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Connection {
    pub(crate) fn new(
        endpoint: Arc<EndpointShared>,
        kind: Kind,
        peer: PeerAddr,
        local: Option<PeerAddr>,
    ) -> Option<Self> {
        let protocol = endpoint.protocol(&peer)?;
        let (send_high, send_low) = (
            endpoint.options.send_high_watermark,
            endpoint.options.send_low_watermark,
        );
        Some(Self(Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            peer,
            local,
            endpoint,
            kind,
            state: Mutex::new(State {
                protocol,
                out: BytesMut::new(),
                status: Status::Open,
                close: None,
                paused: false,
                answering: false,
                draining: false,
                full: false,
                messages_sent: 0,
                events: Events::default(),
                send_high,
                send_low,
                package_limit: None,
            }),
            waker: AtomicWaker::new(),
            dispatching: AtomicBool::new(false),
            attention: AtomicBool::new(false),
            data: Mutex::new(Some(Vec::new())),
            drained: tokio::sync::Notify::new(),
            watched: AtomicBool::new(false),
        })))
    }

    /// The connection's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> &PeerAddr {
        &self.0.peer
    }

    /// Our end's address.
    pub fn local_addr(&self) -> Option<&PeerAddr> {
        self.0.local.as_ref()
    }

    /// The peer's IP address (Workerman's `getRemoteIp()`); `None` over a Unix socket.
    /// For HTTP and WebSocket connections this is `$_SERVER['REMOTE_ADDR']`: the request
    /// the handler is given came from it.
    ///
    /// ```
    /// # use wm_server::{Message, Worker};
    /// Worker::new("http://127.0.0.1:0")?.on_message(|connection, message| {
    ///     let from = connection.remote_ip().map(|ip| ip.to_string()).unwrap_or_default();
    ///     let _ = connection.send(format!("{from}:{}", connection.remote_port().unwrap_or(0)));
    /// });
    /// # Ok::<(), wm_server::ConfigError>(())
    /// ```
    pub fn remote_ip(&self) -> Option<IpAddr> {
        self.0.peer.ip()
    }

    /// The peer's port (Workerman's `getRemotePort()`); `None` over a Unix socket.
    pub fn remote_port(&self) -> Option<u16> {
        self.0.peer.port()
    }

    /// Our end's IP address (Workerman's `getLocalIp()`): the address the peer reached,
    /// which for a listener on `0.0.0.0` is the interface it came in on.
    pub fn local_ip(&self) -> Option<IpAddr> {
        self.0.local.as_ref().and_then(PeerAddr::ip)
    }

    /// Our end's port (Workerman's `getLocalPort()`).
    pub fn local_port(&self) -> Option<u16> {
        self.0.local.as_ref().and_then(PeerAddr::port)
    }

    /// Hangs `value` on the connection, one value per type (Workerman's
    /// `$connection->uid = …`); returns the value of that type it replaces. Set it in
    /// `on_connect` or `on_open`, read it with [`data`](Self::data) in `on_message` and
    /// `on_close`; it is dropped when the connection closes, after `on_close`, even
    /// where handles to the connection are kept (a value set after that, by a task or a
    /// timer, is dropped at once). For state that changes, hang a
    /// `Mutex` or an atomic: the value is shared, not copied.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use wm_server::{Message, Worker};
    ///
    /// struct User { name: String }
    ///
    /// Worker::new("text://127.0.0.1:0")?
    ///     .on_connect(|connection| {
    ///         connection.set_data(AtomicUsize::new(0));
    ///     })
    ///     .on_message(|connection, message| {
    ///         let Message::Text(line) = message else { return };
    ///         if let Some(name) = line.strip_prefix("name ") {
    ///             connection.set_data(User { name: name.to_owned() });
    ///         }
    ///         let seen = connection.data::<AtomicUsize>().unwrap().fetch_add(1, Ordering::Relaxed);
    ///         let name = connection.data::<User>().map_or("stranger".to_owned(), |u| u.name.clone());
    ///         let _ = connection.send(format!("{name}, message {}", seen + 1));
    ///     });
    /// # Ok::<(), wm_server::ConfigError>(())
    /// ```
    pub fn set_data<T: Send + Sync + 'static>(&self, value: T) -> Option<Arc<T>> {
        let value: Arc<dyn Any + Send + Sync> = Arc::new(value);
        let mut guard = lock(&self.0.data);
        let Some(data) = guard.as_mut() else {
            // Closed: the value goes now (outside the lock), as the others went.
            drop(guard);
            drop(value);
            return None;
        };
        let old = match data.iter_mut().find(|(id, _)| *id == TypeId::of::<T>()) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                data.push((TypeId::of::<T>(), value));
                None
            }
        };
        drop(guard);
        old.and_then(|old| old.downcast().ok())
    }

    /// The value of type `T` hung on the connection with [`set_data`](Self::set_data);
    /// `None` once the connection closed (after `on_close`).
    pub fn data<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let guard = lock(&self.0.data);
        let (_, value) = guard
            .as_ref()?
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())?;
        value.clone().downcast().ok()
    }

    /// Takes the value of type `T` off the connection.
    pub fn remove_data<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let mut guard = lock(&self.0.data);
        let data = guard.as_mut()?;
        let index = data.iter().position(|(id, _)| *id == TypeId::of::<T>())?;
        let (_, value) = data.swap_remove(index);
        drop(guard);
        value.downcast().ok()
    }

    /// Drops every value hung on the connection, outside the lock (a value's `Drop` may
    /// use the connection), and every value set from now on.
    pub(crate) fn clear_data(&self) {
        let data = lock(&self.0.data).take();
        drop(data);
    }

    /// The connection's id across the cluster, if its listener has one
    /// ([`Worker::cluster`](crate::Worker::cluster)); `None` for a UDP peer.
    #[cfg(feature = "cluster")]
    pub fn client_id(&self) -> Option<crate::cluster::ClientId> {
        if let Kind::Datagram { .. } = self.0.kind {
            // A UDP peer is not a connection of the listener, nor a member.
            return None;
        }
        self.0
            .endpoint
            .cluster
            .as_ref()
            .map(|cluster| cluster.client_id(self))
    }

    /// The listener or client this connection belongs to (for a broadcast, say).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint(self.0.endpoint.clone())
    }

    /// The scheme (`"websocket"`, …).
    pub fn scheme(&self) -> &'static str {
        lock(&self.0.state).protocol.scheme()
    }

    /// Where the connection is in its life.
    pub fn status(&self) -> Status {
        lock(&self.0.state).status
    }

    /// Bytes waiting in the send buffer.
    pub fn send_buffer_len(&self) -> usize {
        lock(&self.0.state).out.len()
    }

    /// Whether receiving is paused.
    pub fn is_paused(&self) -> bool {
        lock(&self.0.state).paused
    }

    /// Holds the next messages back while an answer is made elsewhere (`true`), or lets
    /// them go again (`false`); independent of [`pause_recv`](Self::pause_recv).
    pub(crate) fn hold_for_answer(&self, hold: bool) {
        let mut state = lock(&self.0.state);
        state.answering = hold;
        if hold {
            self.0.attention.store(true, Ordering::Release);
        }
        drop(state);
        if !hold {
            self.0.waker.wake();
        }
    }

    /// Waits until the send buffer takes messages again (it is below its high
    /// watermark, or drained after being full); `false` once the connection takes no
    /// more sends. For a task that streams a long body in pieces.
    pub(crate) async fn writable(&self) -> bool {
        self.wait_for(|state| !state.full).await
    }

    /// Waits until the answers owed before the latest request handed out are sent, so
    /// that an answer made off the connection's task goes out in its place (an HTTP
    /// request's, after those pipelined before it); `false` once the connection takes no
    /// more sends.
    pub(crate) async fn answer_turn(&self) -> bool {
        self.0.watched.store(true, Ordering::Relaxed);
        let turn = self
            .wait_for(|state| state.protocol.answer_turn() && !state.full)
            .await;
        self.0.watched.store(false, Ordering::Relaxed);
        turn
    }

    /// Whether the connection takes sends: open, or closing with answers still owed.
    pub(crate) fn takes_sends(&self) -> bool {
        lock(&self.0.state).takes_sends()
    }

    /// Waits until `ready` holds for the state, woken by [`Shared::drained`]; `false`
    /// once the connection takes no more sends.
    async fn wait_for(&self, ready: impl Fn(&State) -> bool) -> bool {
        loop {
            let drained = self.0.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            {
                let state = lock(&self.0.state);
                if !state.takes_sends() {
                    return false;
                }
                if ready(&state) {
                    return true;
                }
            }
            drained.await;
        }
    }

    /// Encodes `message` into the send buffer (or, for UDP, sends the datagram).
    ///
    /// Refused, with nothing queued, when the connection is closing or closed, when the
    /// buffer already holds the high watermark (then `on_error` hears
    /// [`ConnectionError::SendBufferFull`] too, as Workerman's `onError` does), and when
    /// the scheme cannot encode the message. A message is taken whole while the buffer is
    /// below the watermark, so the buffer can overshoot it by one message; reaching it
    /// fires `on_buffer_full`. Both callbacks run on the connection's own task, after the
    /// callback that sent returns (see [`Handler`]), not inside `send`.
    pub fn send(&self, message: impl Into<Message>) -> Result<SendStatus, SendError> {
        let result = self.send_message(message.into());
        if result.is_err() {
            Counters::add(&self.0.endpoint.counters.send_failures, 1);
        }
        result
    }

    fn send_message(&self, message: Message) -> Result<SendStatus, SendError> {
        if let Kind::Datagram { socket, peer } = &self.0.kind {
            let mut datagram = BytesMut::new();
            lock(&self.0.state)
                .protocol
                .encode(message, &mut datagram)?;
            let sent = socket.try_send_to(&datagram, *peer)?;
            let counters = &self.0.endpoint.counters;
            Counters::add(&counters.messages_sent, 1);
            Counters::add(&counters.bytes_written, sent as u64);
            return Ok(SendStatus::Written);
        }
        let now_full = {
            let mut guard = lock(&self.0.state);
            let state = &mut *guard;
            let high = state.send_high;
            if !state.takes_sends() {
                return Err(SendError::Closed);
            }
            let buffered = state.out.len();
            if buffered >= high {
                state.events.refused += 1;
                state.events.refused_at = Some((buffered, high));
                self.0.attention.store(true, Ordering::Release);
                drop(guard);
                self.wake_for_events();
                return Err(SendError::BufferFull {
                    buffered,
                    limit: high,
                });
            }
            if state.out.capacity() == 0 {
                // Room for this message and its framing, at least a read's worth.
                let hint = message.as_bytes().map_or(0, <[u8]>::len) + 64;
                state.out = crate::buffers::take(hint.max(crate::driver::READ_SIZE));
            }
            // What the protocol queued by itself (a 101, a 100 Continue, a pong) goes first.
            state.protocol.take_output(&mut state.out);
            state.protocol.encode(message, &mut state.out)?;
            state.messages_sent += 1;
            let now_full = !state.full && state.out.len() >= high;
            if now_full {
                state.full = true;
                state.events.buffer_full = true;
                self.0.attention.store(true, Ordering::Release);
            }
            now_full
        };
        if now_full {
            // The driver stops handing out this connection's messages until the drain,
            // and runs on_buffer_full.
            self.wake_for_events();
        } else {
            self.wake();
        }
        if self.0.watched.load(Ordering::Relaxed) {
            self.0.drained.notify_waiters();
        }
        Ok(SendStatus::Queued)
    }

    /// Sends `message`, then closes as [`close`](Self::close) does (Workerman's
    /// `close($data)`).
    pub fn send_and_close(&self, message: impl Into<Message>) -> Result<SendStatus, SendError> {
        let status = self.send(message);
        self.close();
        status
    }

    /// Closes gracefully: what is queued is written; the protocol closes its way (a
    /// WebSocket close frame with code 1000, and the peer's answer awaited up to the
    /// close timeout; an HTTP connection after the requests already received are
    /// answered); then our side sends FIN and reads what still comes for the linger time
    /// before the socket closes, so the peer reads our last bytes. Workerman's `end()`;
    /// nothing happens if the connection is already closing. For UDP, nothing happens:
    /// the listener's socket is shared and stays open.
    pub fn close(&self) {
        self.close_with(CloseReason::Normal);
    }

    /// [`close`](Self::close) with a reason, which a WebSocket puts in its close frame.
    pub fn close_with(&self, reason: CloseReason) {
        if let Kind::Datagram { .. } = self.0.kind {
            return;
        }
        {
            let mut guard = lock(&self.0.state);
            let state = &mut *guard;
            if state.status != Status::Open {
                return;
            }
            state.protocol.take_output(&mut state.out);
            let wait_for_peer = state.protocol.close(&reason, &mut state.out);
            state.status = Status::Closing;
            state.draining = wait_for_peer;
            state.close = Some(CloseRequest::Graceful { wait_for_peer });
            self.0.attention.store(true, Ordering::Release);
        }
        self.0.waker.wake();
    }

    /// Sets this connection's send buffer limit (Workerman's
    /// `$connection->maxSendBufferSize`): sends are refused, and `on_buffer_full` fires,
    /// at `bytes` instead of the listener's
    /// [`send_high_watermark`](crate::ConnectionOptions::send_high_watermark), which is
    /// also the most it can be (a listener's memory bound holds for every connection);
    /// the low watermark comes down with it if it must. Returns the limit now in force.
    ///
    /// ```
    /// # use wm_server::Worker;
    /// Worker::new("websocket://127.0.0.1:0")?.on_connect(|connection| {
    ///     // A slow consumer of large updates: hold at most 64 KiB for it.
    ///     assert_eq!(connection.set_max_send_buffer_size(64 * 1024), 64 * 1024);
    /// });
    /// # Ok::<(), wm_server::ConfigError>(())
    /// ```
    pub fn set_max_send_buffer_size(&self, bytes: usize) -> usize {
        let options = &self.0.endpoint.options;
        let high = bytes.clamp(1, options.send_high_watermark);
        let mut state = lock(&self.0.state);
        state.send_high = high;
        state.send_low = options.send_low_watermark.min(high);
        high
    }

    /// This connection's send buffer limit.
    pub fn max_send_buffer_size(&self) -> usize {
        lock(&self.0.state).send_high
    }

    /// Sets this connection's package size (Workerman's `$connection->maxPackageSize`)
    /// for what it decodes from now on: the longest line, frame, WebSocket message or
    /// HTTP body, as the listener's [`Limits`](wm_protocol::Limits) set it for every
    /// connection, and at most that (the listener's limit is the memory bound it
    /// promises). A message already under way when it changes may finish under the old
    /// limit. Schemes of the application's own keep theirs
    /// ([`DynProtocol::set_max_package_size`](crate::protocols::DynProtocol::set_max_package_size)).
    /// Returns the limit now in force.
    ///
    /// ```
    /// # use wm_server::{Message, Worker};
    /// Worker::new("text://127.0.0.1:0")?.on_message(|connection, message| {
    ///     // Small lines until the client logs in.
    ///     if message.as_bytes() == Some(&b"login secret"[..]) {
    ///         connection.set_max_package_size(1024 * 1024);
    ///     }
    /// })
    /// .on_connect(|connection| {
    ///     connection.set_max_package_size(256);
    /// });
    /// # Ok::<(), wm_server::ConfigError>(())
    /// ```
    pub fn set_max_package_size(&self, bytes: usize) -> usize {
        let limit = bytes.clamp(1, self.0.endpoint.options.limits.max_package_size);
        let mut state = lock(&self.0.state);
        state.protocol.set_max_package_size(limit);
        state.package_limit = Some(limit);
        self.0.attention.store(true, Ordering::Release);
        drop(state);
        limit
    }

    /// For a [`Client`](crate::Client)'s connection: closes it gracefully and connects
    /// again after `after` (Workerman's `reConnect($after)`), with or without the
    /// client's automatic reconnect; called in `on_close` (or a failed connect's
    /// `on_error`), it reconnects instead of giving up. `false` for a listener's
    /// connection, and once the client has ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use wm_server::Client;
    ///
    /// // Retry a refused connect twice, one second apart, then give up.
    /// let tries = std::sync::atomic::AtomicUsize::new(0);
    /// let client = Client::new("text://127.0.0.1:9")?
    ///     .on_close(move |connection| {
    ///         if tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 2 {
    ///             connection.reconnect(Duration::from_secs(1));
    ///         }
    ///     })
    ///     .start();
    /// # client.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reconnect(&self, after: std::time::Duration) -> bool {
        match &self.0.endpoint.control {
            Some(control) => {
                let open = (self.status() == Status::Open).then_some(self);
                control.reconnect(after, open)
            }
            None => false,
        }
    }

    /// Drops the connection now, without writing what is queued (Workerman's `destroy()`).
    pub fn abort(&self) {
        if let Kind::Datagram { .. } = self.0.kind {
            return;
        }
        let mut state = lock(&self.0.state);
        if state.status == Status::Closed {
            return;
        }
        state.status = Status::Closing;
        state.close = Some(CloseRequest::Abort);
        self.0.attention.store(true, Ordering::Release);
        drop(state);
        self.0.waker.wake();
    }

    /// Stops reading from the peer (Workerman's `pauseRecv`): the peer's data waits in the
    /// kernel, and its TCP window closes.
    pub fn pause_recv(&self) {
        let mut state = lock(&self.0.state);
        state.paused = true;
        self.0.attention.store(true, Ordering::Release);
    }

    /// Reads again (Workerman's `resumeRecv`), starting with what was already read.
    pub fn resume_recv(&self) {
        let was_paused = std::mem::replace(&mut lock(&self.0.state).paused, false);
        if was_paused {
            self.0.waker.wake();
        }
    }

    fn wake(&self) {
        if !self.0.dispatching.load(Ordering::Acquire) {
            self.0.waker.wake();
        }
    }

    /// Wakes the driver for callbacks it owes, even while it is dispatching: it may be
    /// another thread's send that raced the end of the dispatch.
    fn wake_for_events(&self) {
        self.0.waker.wake();
    }

    /// Runs a callback; a panic in it is counted, reported and closes this connection.
    pub(crate) fn callback(&self, f: impl FnOnce(&dyn Handler, &Connection)) -> bool {
        self.callback_with(&*self.0.endpoint.handler, f)
    }

    /// [`callback`](Self::callback) with `handler` (one the endpoint's handler wraps).
    pub(crate) fn callback_with(
        &self,
        handler: &dyn Handler,
        f: impl FnOnce(&dyn Handler, &Connection),
    ) -> bool {
        match catch_unwind(AssertUnwindSafe(|| f(handler, self))) {
            Ok(()) => true,
            Err(panic) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                Counters::add(&self.0.endpoint.counters.handler_panics, 1);
                tracing::error!(connection = self.0.id, panic = %text, "handler panicked; closing the connection");
                self.close_with(CloseReason::InternalError);
                let error = ConnectionError::HandlerPanicked(text);
                // A second panic, in on_error itself, is only counted.
                if catch_unwind(AssertUnwindSafe(|| handler.on_error(self, &error))).is_err() {
                    Counters::add(&self.0.endpoint.counters.handler_panics, 1);
                }
                false
            }
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.0.id)
            .field("peer", &self.0.peer)
            .field("endpoint", &self.0.endpoint.name)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Connection {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Connection {}
