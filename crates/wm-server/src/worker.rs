//! Workerman's `Worker`: a listener built from a URL, `count` threads serving it, and a
//! graceful stop.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};
use tokio::sync::watch;

use crate::connection::{EndpointShared, Kind, PeerAddr};
use crate::driver::Driver;
use crate::handler::{Callbacks, Handlers};
use crate::registry::{self, ProtocolFactory, Transport};
use crate::stats::Counters;
use crate::url::{self, Address};
use crate::{
    ConfigError, Connection, ConnectionError, ConnectionOptions, Endpoint, Registry, Stats,
    TlsServer,
};

/// Workerman's `DEFAULT_BACKLOG`; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 102_400;

/// Workerman's `TCP_KEEPALIVE_INTERVAL`: keepalive probes after 55 s of silence.
const TCP_KEEPALIVE: Duration = Duration::from_secs(55);

/// The largest UDP datagram.
const MAX_DATAGRAM: usize = 65_536;

/// A listener: `Worker::new("websocket://0.0.0.0:2345")`, callbacks, then
/// [`run`](Self::run) (until SIGINT or SIGTERM) or [`start`](Self::start).
///
/// ```no_run
/// use wm_server::{Message, Worker};
///
/// Worker::new("websocket://127.0.0.1:2345")?
///     .on_message(|connection, message| {
///         if let Message::Text(text) = message {
///             let _ = connection.send(format!("you said: {text}"));
///         }
///     })
///     .run()?;
/// # Ok::<(), wm_server::ConfigError>(())
/// ```
pub struct Worker {
    url: String,
    name: String,
    scheme: String,
    address: Address,
    transport: Transport,
    registry: Registry,
    count: usize,
    reuse_port: bool,
    options: ConnectionOptions,
    handlers: Handlers,
    tls: Option<TlsServer>,
    /// `wss`, `https`, `ssl`: the scheme says TLS, so a certificate is required.
    tls_required: bool,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("url", &self.url)
            .field("name", &self.name)
            .field("transport", &self.transport)
            .field("count", &self.count)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A listener for `url`, its scheme looked up in the built-in [`Registry`].
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::with_registry(url, &Registry::new())
    }

    /// A listener for `url`, its scheme looked up in `registry`.
    pub fn with_registry(url: &str, registry: &Registry) -> Result<Self, ConfigError> {
        let mut parsed = url::parse(url, None)?;
        // The TLS schemes are their protocol over TLS (Workerman: `transport = 'ssl'`).
        let lower = parsed.scheme.to_ascii_lowercase();
        let tls_required = matches!(lower.as_str(), "wss" | "https" | "ssl");
        match lower.as_str() {
            "wss" => parsed.scheme = "websocket".to_owned(),
            "https" => parsed.scheme = "http".to_owned(),
            "ssl" => parsed.scheme = "tcp".to_owned(),
            _ => {}
        }
        let transport = match (&parsed.address, registry::transport(&parsed.scheme)) {
            (Address::Unix(_), Some(Transport::Unix) | None) => Transport::Unix,
            (Address::Unix(_), Some(_)) => {
                return Err(ConfigError::InvalidUrl {
                    url: url.to_owned(),
                    reason: "a path is an address for unix:// only",
                })
            }
            (Address::Inet { .. }, Some(Transport::Unix)) => {
                return Err(ConfigError::InvalidUrl {
                    url: url.to_owned(),
                    reason: "unix:// takes a path: unix:///path/to.sock",
                })
            }
            (Address::Inet { .. }, Some(transport)) => transport,
            (Address::Inet { .. }, None) => Transport::Tcp,
        };
        let worker = Self {
            url: url.to_owned(),
            name: url.to_owned(),
            scheme: parsed.scheme.to_ascii_lowercase(),
            address: parsed.address,
            transport,
            registry: registry.clone(),
            count: 1,
            reuse_port: cfg!(target_os = "linux"),
            options: ConnectionOptions::default(),
            handlers: Handlers::Callbacks(Callbacks::default()),
            tls: None,
            tls_required,
        };
        // An unknown scheme fails here, not when the worker starts.
        worker.factory()?;
        Ok(worker)
    }

    fn factory(&self) -> Result<ProtocolFactory, ConfigError> {
        self.registry.server(&self.scheme, self.transport)
    }

    /// Runs a protocol scheme over another transport: `text://` over UDP (each datagram
    /// decoded on its own), say. Workerman's `$worker->transport`.
    pub fn transport(mut self, transport: Transport) -> Result<Self, ConfigError> {
        if transport == Transport::Unix || matches!(self.address, Address::Unix(_)) {
            return Err(ConfigError::InvalidOption(
                "a Unix socket is chosen by its path in the URL",
            ));
        }
        self.transport = transport;
        self.factory()?;
        Ok(self)
    }

    /// Serves TLS with this certificate: required for `wss://`, `https://` and `ssl://`,
    /// and possible for any other TCP scheme.
    pub fn tls(mut self, tls: TlsServer) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The name in logs and stats (default: the URL).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How many threads serve the listener, each with its own event loop (Workerman's
    /// processes). Default 1.
    pub fn count(mut self, count: usize) -> Self {
        self.count = count.max(1);
        self
    }

    /// With `count` > 1, each thread listens on its own socket with `SO_REUSEPORT` and the
    /// kernel spreads connections (default on Linux); otherwise the threads share one
    /// socket.
    pub fn reuse_port(mut self, reuse_port: bool) -> Self {
        self.reuse_port = reuse_port;
        self
    }

    /// The connections' limits and timeouts.
    pub fn options(mut self, options: ConnectionOptions) -> Self {
        self.options = options;
        self
    }

    crate::handler::callback_setters!();

    /// Binds, and starts the threads that serve the listener; returns at once. Binding
    /// errors are returned here.
    pub fn start(self) -> Result<WorkerHandle, ConfigError> {
        let (mut handle, listeners) = self.prepare()?;
        handle.spawn(listeners)?;
        Ok(handle)
    }

    /// Starts, serves until SIGINT or SIGTERM, stops gracefully; returns the counters.
    /// A worker with one thread is served on the calling thread ([`run_all`]).
    pub fn run(self) -> Result<Stats, ConfigError> {
        let mut stats = run_all([self])?;
        Ok(stats.pop().unwrap_or_default())
    }

    /// Checks the configuration and binds: a handle with no thread yet, and what each
    /// thread is to serve.
    fn prepare(self) -> Result<(WorkerHandle, Vec<Listener>), ConfigError> {
        self.options.check()?;
        if self.tls_required && self.tls.is_none() {
            return Err(ConfigError::Tls(format!(
                "{} needs a certificate (Worker::tls)",
                self.url
            )));
        }
        if self.tls.is_some() && self.transport != Transport::Tcp {
            return Err(ConfigError::UnsupportedTransport {
                scheme: self.scheme.clone(),
                transport: "TLS over a transport other than TCP",
            });
        }
        let factory = self.factory()?;
        let endpoint = Arc::new(EndpointShared {
            name: self.name.clone(),
            scheme: self.scheme.clone(),
            options: self.options,
            handler: self.handlers.clone().into_handler(),
            factory,
            client: false,
            counters: Counters::default(),
            connections: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            drivers: std::sync::atomic::AtomicUsize::new(0),
        });
        let sockets = self.bind()?;
        let local_addr = sockets
            .first()
            .and_then(|s| s.local_addr().ok())
            .and_then(|a| {
                a.as_socket()
                    .map(PeerAddr::Inet)
                    .or_else(|| a.as_pathname().map(|p| PeerAddr::Unix(Some(p.to_owned()))))
            });
        let (stop, _) = watch::channel(Signal::Run);
        let listeners = sockets
            .into_iter()
            .map(|socket| Listener {
                socket,
                transport: self.transport,
                tls: self.tls.clone(),
                endpoint: endpoint.clone(),
                signal: stop.subscribe(),
            })
            .collect();
        tracing::info!(name = %self.name, address = %self.address, threads = self.count, "listening");
        let handle = WorkerHandle {
            endpoint: Endpoint(endpoint),
            local_addr,
            unix_path: match &self.address {
                Address::Unix(path) => Some(path.clone()),
                Address::Inet { .. } => None,
            },
            stop,
            threads: Vec::new(),
            stopped: false,
        };
        Ok((handle, listeners))
    }

    /// The sockets to serve: one per thread with `SO_REUSEPORT`, else one shared.
    fn bind(&self) -> Result<Vec<Socket>, ConfigError> {
        let (domain, address) = match &self.address {
            Address::Inet { host, port } => {
                let address = resolve(host, *port)?;
                (Domain::for_address(address), SockAddr::from(address))
            }
            Address::Unix(path) => {
                remove_stale_socket(path);
                let address = SockAddr::unix(path).map_err(|source| self.bind_error(source))?;
                (Domain::UNIX, address)
            }
        };
        let (kind, protocol) = match self.transport {
            Transport::Tcp => (Type::STREAM, Some(Protocol::TCP)),
            Transport::Udp => (Type::DGRAM, Some(Protocol::UDP)),
            Transport::Unix => (Type::STREAM, None),
        };
        let separate = self.count > 1 && self.reuse_port && self.transport != Transport::Unix;
        let mut sockets: Vec<Socket> = Vec::with_capacity(self.count);
        let mut bound = address;
        for _ in 0..self.count {
            let socket = if separate || sockets.is_empty() {
                let socket = Socket::new(domain, kind, protocol).map_err(|e| self.bind_error(e))?;
                self.configure(&socket, separate)
                    .map_err(|e| self.bind_error(e))?;
                socket.bind(&bound).map_err(|e| self.bind_error(e))?;
                if kind == Type::STREAM {
                    socket.listen(BACKLOG).map_err(|e| self.bind_error(e))?;
                }
                // Port 0: the other threads bind the port the first one got.
                bound = socket.local_addr().map_err(|e| self.bind_error(e))?;
                socket
            } else {
                sockets[0]
                    .try_clone()
                    .map_err(|e: std::io::Error| self.bind_error(e))?
            };
            sockets.push(socket);
        }
        Ok(sockets)
    }

    fn configure(&self, socket: &Socket, reuse_port: bool) -> std::io::Result<()> {
        socket.set_nonblocking(true)?;
        if self.transport != Transport::Unix {
            socket.set_reuse_address(true)?;
            #[cfg(all(unix, not(target_os = "solaris"), not(target_os = "illumos")))]
            if reuse_port {
                socket.set_reuse_port(true)?;
            }
        }
        if self.transport == Transport::Tcp {
            // Inherited by accepted sockets, as Workerman sets it on its listeners.
            socket.set_tcp_keepalive(
                &TcpKeepalive::new()
                    .with_time(TCP_KEEPALIVE)
                    .with_interval(TCP_KEEPALIVE),
            )?;
            socket.set_tcp_nodelay(true)?;
        }
        let _ = reuse_port;
        Ok(())
    }

    fn bind_error(&self, source: std::io::Error) -> ConfigError {
        ConfigError::Bind {
            address: self.address.to_string(),
            source,
        }
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, ConfigError> {
    (host, port)
        .to_socket_addrs()
        .and_then(|mut addresses| {
            addresses
                .next()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
        })
        .map_err(|source| ConfigError::Resolve {
            address: format!("{host}:{port}"),
            source,
        })
}

/// A socket file left by a process that died is removed; one that answers is kept (and
/// the bind then fails with "address in use").
fn remove_stale_socket(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
        if is_socket && std::os::unix::net::UnixStream::connect(path).is_err() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Run,
    /// Stop accepting; connections are being closed.
    StopAccepting,
    /// Leave: the runtime is dropped with whatever is left.
    Exit,
}

/// A started [`Worker`]: its address, connections and counters, and its stop.
pub struct WorkerHandle {
    endpoint: Endpoint,
    local_addr: Option<PeerAddr>,
    unix_path: Option<std::path::PathBuf>,
    stop: watch::Sender<Signal>,
    threads: Vec<JoinHandle<()>>,
    /// Stopped already (or never started).
    stopped: bool,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("endpoint", &self.endpoint)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl WorkerHandle {
    /// The address listened on (the port the system chose, for port 0).
    pub fn local_addr(&self) -> Option<&PeerAddr> {
        self.local_addr.as_ref()
    }

    /// The TCP or UDP address listened on.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.local_addr {
            Some(PeerAddr::Inet(address)) => Some(address),
            _ => None,
        }
    }

    /// The listener's connections and counters.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.endpoint.stats()
    }

    /// Stops gracefully and waits: no more accepts; every connection closes its
    /// protocol's way (WebSocket 1001 "going away", HTTP after the requests in hand are
    /// answered) with what was queued written first; connections still open after the
    /// close timeout are dropped. Returns the final counters.
    pub fn stop(mut self) -> Stats {
        self.shutdown();
        self.endpoint.stats()
    }

    /// A thread, with its own single-threaded runtime, for each listener.
    fn spawn(&mut self, listeners: Vec<Listener>) -> Result<(), ConfigError> {
        for (index, listener) in listeners.into_iter().enumerate() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ConfigError::Runtime)?;
            let thread = std::thread::Builder::new()
                .name(format!("wm-worker-{index}"))
                .spawn(move || runtime.block_on(listener.serve()))
                .map_err(ConfigError::Runtime)?;
            self.threads.push(thread);
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let deadline = self.begin_stop();
        while self.still_closing(deadline) {
            std::thread::sleep(STOP_POLL);
        }
        self.finish_stop();
    }

    /// Stops every handle gracefully at once: all stop accepting together, their
    /// connections close side by side, and the whole stop takes as long as the slowest
    /// one (one close timeout and one linger at most), not the sum of them. Returns each
    /// handle's final counters, in order.
    pub fn stop_all(handles: Vec<WorkerHandle>) -> Vec<Stats> {
        let mut handles = handles;
        let deadlines: Vec<Option<Instant>> = handles
            .iter_mut()
            .map(|handle| {
                (!std::mem::replace(&mut handle.stopped, true)).then(|| handle.begin_stop())
            })
            .collect();
        let closing = |handles: &[WorkerHandle]| {
            handles
                .iter()
                .zip(&deadlines)
                .any(|(handle, deadline)| deadline.is_some_and(|at| handle.still_closing(at)))
        };
        while closing(&handles) {
            std::thread::sleep(STOP_POLL);
        }
        handles
            .iter_mut()
            .zip(&deadlines)
            .filter(|(_, deadline)| deadline.is_some())
            .for_each(|(handle, _)| handle.finish_stop());
        handles.iter().map(WorkerHandle::stats).collect()
    }

    /// [`shutdown`](Self::shutdown) from within the runtime that serves the listener.
    async fn shutdown_here(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let deadline = self.begin_stop();
        while self.still_closing(deadline) {
            tokio::time::sleep(STOP_POLL).await;
        }
        self.finish_stop();
    }

    /// No more accepts, and every connection closing; returns how long they have: every
    /// connection closes, then lingers so that its peer reads the last bytes rather than
    /// a reset, and both are bounded.
    fn begin_stop(&self) -> Instant {
        let shared = &self.endpoint.0;
        shared.stopping.store(true, Ordering::Release);
        let _ = self.stop.send(Signal::StopAccepting);
        for connection in self.endpoint.connections() {
            connection.close_with(crate::CloseReason::GoingAway);
        }
        Instant::now() + shared.options.close_timeout + shared.options.linger + STOP_GRACE
    }

    /// Whether connections are still closing and the stop's deadline has not passed.
    fn still_closing(&self, deadline: Instant) -> bool {
        self.endpoint.0.drivers.load(Ordering::Acquire) > 0 && Instant::now() < deadline
    }

    fn finish_stop(&mut self) {
        let _ = self.stop.send(Signal::Exit);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(path) = &self.unix_path {
            let _ = std::fs::remove_file(path);
        }
        tracing::info!(name = %self.endpoint.0.name, stats = %self.endpoint.stats(), "stopped");
    }
}

/// How often a stop looks whether every connection is gone.
const STOP_POLL: Duration = Duration::from_millis(5);

/// Beyond the close timeout and the linger, for the drivers to notice them.
const STOP_GRACE: Duration = Duration::from_millis(200);

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts every worker, serves until SIGINT or SIGTERM, and stops them all gracefully:
/// Workerman's `Worker::runAll()`. Returns each worker's counters, in order.
pub fn run_all(workers: impl IntoIterator<Item = Worker>) -> Result<Vec<Stats>, ConfigError> {
    run_all_with(workers, |_| {})
}

/// [`run_all`], calling `ready` with the workers' handles once every one is bound and
/// before any is served (to print the addresses, say: a SIGINT or SIGTERM from then on
/// stops them gracefully).
///
/// When there is one thread in all (one worker, `count` 1) it is the calling thread: in
/// a process with a single thread, Linux takes no reference on the descriptor table and
/// glibc skips the cancellation bookkeeping around each socket call, which is a few per
/// cent of a small message's cost.
pub fn run_all_with(
    workers: impl IntoIterator<Item = Worker>,
    ready: impl FnOnce(&[WorkerHandle]),
) -> Result<Vec<Stats>, ConfigError> {
    let signals = StopSignals::install()?;
    let (mut handles, mut listeners): (Vec<_>, Vec<_>) = workers
        .into_iter()
        .map(Worker::prepare)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    if let ([handle], [lone]) = (&mut handles[..], &mut listeners[..]) {
        if lone.len() == 1 {
            let listener = lone.remove(0);
            ready(std::slice::from_ref(handle));
            signals.serve_here(listener, handle);
            return Ok(vec![handle.stats()]);
        }
    }
    for (handle, listeners) in handles.iter_mut().zip(listeners) {
        handle.spawn(listeners)?;
    }
    ready(&handles);
    signals.wait()?;
    Ok(WorkerHandle::stop_all(handles))
}

/// SIGINT and SIGTERM, caught from the moment [`install`](Self::install) returns: make
/// one before telling the world the server is up, so that a SIGTERM sent at once stops
/// it gracefully instead of killing it.
pub struct StopSignals {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl std::fmt::Debug for StopSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopSignals")
    }
}

impl StopSignals {
    /// Sets the handlers now.
    pub fn install() -> Result<Self, ConfigError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ConfigError::Runtime)?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let _context = runtime.enter();
            let interrupt = signal(SignalKind::interrupt()).map_err(ConfigError::Runtime)?;
            let terminate = signal(SignalKind::terminate()).map_err(ConfigError::Runtime)?;
            Ok(Self {
                runtime,
                interrupt,
                terminate,
            })
        }
        #[cfg(not(unix))]
        Ok(Self { runtime })
    }

    /// Serves `listener` on this thread, in the runtime that watches the signals, until
    /// one comes; then stops `handle` gracefully, still serving while connections close.
    fn serve_here(self, listener: Listener, handle: &mut WorkerHandle) {
        let (runtime, signal) = self.into_parts();
        runtime.block_on(async {
            let serving = tokio::spawn(listener.serve());
            // Without signal handling (not on Unix, failed), stop as on a signal.
            let _ = signal.await;
            handle.shutdown_here().await;
            let _ = serving.await;
        });
    }

    /// Blocks until SIGINT or SIGTERM (Ctrl-C elsewhere).
    pub fn wait(self) -> Result<(), ConfigError> {
        let (runtime, signal) = self.into_parts();
        runtime.block_on(signal)
    }

    /// The runtime, and the future that ends with the first signal.
    fn into_parts(
        self,
    ) -> (
        tokio::runtime::Runtime,
        impl std::future::Future<Output = Result<(), ConfigError>>,
    ) {
        #[cfg(unix)]
        {
            let Self {
                runtime,
                mut interrupt,
                mut terminate,
            } = self;
            let signal = async move {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                Ok(())
            };
            (runtime, signal)
        }
        #[cfg(not(unix))]
        {
            let signal = async { tokio::signal::ctrl_c().await.map_err(ConfigError::Runtime) };
            (self.runtime, signal)
        }
    }
}

/// What one thread serves: a socket of the listener.
struct Listener {
    socket: Socket,
    transport: Transport,
    tls: Option<TlsServer>,
    endpoint: Arc<EndpointShared>,
    signal: watch::Receiver<Signal>,
}

impl Listener {
    /// The thread's event loop: accept (or receive datagrams) until told to stop, then
    /// let the connections close until told to exit.
    async fn serve(self) {
        let Self {
            socket,
            transport,
            tls,
            endpoint,
            mut signal,
        } = self;
        let accepting = async {
            let result = match transport {
                Transport::Tcp => accept_tcp(socket, tls, &endpoint).await,
                #[cfg(unix)]
                Transport::Unix => accept_unix(socket, &endpoint).await,
                Transport::Udp => receive_udp(socket, &endpoint).await,
                #[cfg(not(unix))]
                Transport::Unix => Ok(()),
            };
            if let Err(error) = result {
                tracing::error!(name = %endpoint.name, %error, "listener failed");
            }
        };
        tokio::select! {
            () = accepting => {}
            _ = signal.wait_for(|s| *s != Signal::Run) => {}
        }
        let _ = signal.wait_for(|s| *s == Signal::Exit).await;
    }
}

async fn accept_tcp(
    socket: Socket,
    tls: Option<TlsServer>,
    endpoint: &Arc<EndpointShared>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(std::net::TcpListener::from(socket))?;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().ok().map(PeerAddr::Inet);
                let Some(tls) = &tls else {
                    if let Some(connection) =
                        Connection::new(endpoint.clone(), Kind::Stream, PeerAddr::Inet(peer), local)
                    {
                        tokio::spawn(Driver::new(stream, connection).run());
                    }
                    continue;
                };
                let acceptor = tls.0.clone();
                let endpoint = endpoint.clone();
                tokio::spawn(async move {
                    // The TLS handshake is bounded by the handshake timeout too.
                    let limit = endpoint.options.handshake_timeout.unwrap_or(Duration::MAX);
                    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            if let Some(connection) =
                                Connection::new(endpoint, Kind::Stream, PeerAddr::Inet(peer), local)
                            {
                                Driver::new(stream, connection).run().await;
                            }
                        }
                        Ok(Err(error)) => {
                            Counters::add(&endpoint.counters.protocol_errors, 1);
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                        }
                        Err(_) => {
                            Counters::add(&endpoint.counters.timeouts, 1);
                            tracing::debug!(%peer, "TLS handshake timeout");
                        }
                    }
                });
            }
            Err(error) => accept_failed(error).await,
        }
    }
}

#[cfg(unix)]
async fn accept_unix(socket: Socket, endpoint: &Arc<EndpointShared>) -> std::io::Result<()> {
    let listener =
        tokio::net::UnixListener::from_std(std::os::unix::net::UnixListener::from(socket))?;
    let local = listener
        .local_addr()
        .ok()
        .map(|a| PeerAddr::Unix(a.as_pathname().map(ToOwned::to_owned)));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let peer = PeerAddr::Unix(peer.as_pathname().map(ToOwned::to_owned));
                if let Some(connection) =
                    Connection::new(endpoint.clone(), Kind::Stream, peer, local.clone())
                {
                    tokio::spawn(Driver::new(stream, connection).run());
                }
            }
            Err(error) => accept_failed(error).await,
        }
    }
}

/// Out of file descriptors, say: log, breathe, go on.
async fn accept_failed(error: std::io::Error) {
    tracing::warn!(%error, "accept failed");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// UDP: each datagram decoded on its own, and handed out with a connection whose sends
/// go back to its sender. No connect or close events.
async fn receive_udp(socket: Socket, endpoint: &Arc<EndpointShared>) -> std::io::Result<()> {
    let socket = Arc::new(tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(
        socket,
    ))?);
    let local = socket.local_addr().ok().map(PeerAddr::Inet);
    let mut buffer = BytesMut::with_capacity(MAX_DATAGRAM);
    loop {
        buffer.clear();
        buffer.reserve(MAX_DATAGRAM);
        let (length, peer) = match socket.recv_buf_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // An ICMP error from an earlier send shows up here on some systems.
                tracing::debug!(%error, "udp receive failed");
                continue;
            }
        };
        let counters = &endpoint.counters;
        Counters::add(&counters.bytes_read, length as u64);
        let Some(connection) = Connection::new(
            endpoint.clone(),
            Kind::Datagram {
                socket: socket.clone(),
                peer,
            },
            PeerAddr::Inet(peer),
            local.clone(),
        ) else {
            continue;
        };
        // Copied out, so that a message the handler keeps pins its own bytes, not the
        // 64 KiB receive buffer.
        let mut datagram = BytesMut::from(&buffer[..length]);
        loop {
            let decoded = crate::protocols::decode_guarded(
                &mut *crate::connection::lock(&connection.0.state).protocol,
                &mut datagram,
                true,
            );
            crate::driver::count_panic(&decoded, counters);
            match decoded {
                Ok(Some(message)) => {
                    Counters::add(&counters.messages_received, 1);
                    connection.callback(|handler, conn| handler.on_message(conn, message));
                }
                Ok(None) => break,
                Err(error) => {
                    Counters::add(&counters.protocol_errors, 1);
                    let error = ConnectionError::Protocol(error);
                    connection.callback(|handler, conn| handler.on_error(conn, &error));
                    break;
                }
            }
        }
    }
}
