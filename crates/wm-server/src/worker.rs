//! Workerman's `Worker`: a listener built from a URL, `count` threads serving it, and a
//! graceful stop.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};
use tokio::sync::watch;

use crate::connection::{EndpointShared, PeerAddr};
use crate::handler::{Callbacks, Handlers};
use crate::listener::Listener;
use crate::registry::{self, ProtocolFactory, Transport};
use crate::stats::Counters;
use crate::url::{self, Address};
use crate::{ConfigError, ConnectionOptions, Endpoint, Registry, Stats, TlsServer};

/// Workerman's `DEFAULT_BACKLOG`; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 102_400;

/// Workerman's `TCP_KEEPALIVE_INTERVAL`: keepalive probes after 55 s of silence.
const TCP_KEEPALIVE: Duration = Duration::from_secs(55);

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
    #[cfg(feature = "cluster")]
    cluster: Option<crate::cluster::Cluster>,
    /// Document roots served in front of the handler (`http://` only).
    static_roots: Option<crate::StaticRoots>,
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
            #[cfg(feature = "cluster")]
            cluster: None,
            static_roots: None,
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

    /// Makes the listener's connections members of `cluster` (feature `cluster`): each
    /// has a [`ClientId`](crate::cluster::ClientId) and can be reached from any node,
    /// bound to a uid, put in groups. Several workers (and every thread of one) may share
    /// one cluster handle, which makes them one node.
    #[cfg(feature = "cluster")]
    pub fn cluster(mut self, cluster: crate::cluster::Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    crate::handler::callback_setters!();

    /// Serves static files from `roots` (Workerman's `WebServer::addRoot`) on an
    /// `http://` or `https://` listener, before the handler: a GET or HEAD that a root
    /// has a file for is answered with it (ETag, 304, ranges, `index.html`; see
    /// [`StaticRoots`](crate::StaticRoots)), everything else goes to `on_message` (or,
    /// without one, is a 404). The file system is read on the runtime's blocking
    /// threads and large files are sent in 64 KiB pieces as the send buffer takes them,
    /// so a slow disk or a large download holds up no other connection; a connection
    /// waiting for a file reads no further request until it is answered. Another scheme
    /// fails at [`start`](Self::start) with [`ConfigError::InvalidOption`].
    pub fn static_files(mut self, roots: crate::StaticRoots) -> Self {
        self.static_roots = Some(roots);
        self
    }

    /// `onWorkerStart`: runs on each of the worker's threads before it accepts (see
    /// [`Handler::on_worker_start`](crate::Handler::on_worker_start)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use wm_server::{Timer, Worker};
    ///
    /// let worker = Worker::new("text://127.0.0.1:0")?
    ///     .name("chat")
    ///     .count(2)
    ///     .on_worker_start(|thread| {
    ///         println!("{} thread {} up", thread.name(), thread.id());
    ///         if thread.id() == 0 {
    ///             // Once per worker, not once per thread.
    ///             let endpoint = thread.endpoint().clone();
    ///             Timer::add(Duration::from_secs(30), move || {
    ///                 endpoint.broadcast(format!("{} online", endpoint.connection_count()));
    ///             })
    ///             .unwrap();
    ///         }
    ///     })
    ///     .on_worker_stop(|thread| println!("thread {} down", thread.id()))
    ///     .start()?;
    /// worker.stop();
    /// # Ok::<(), wm_server::ConfigError>(())
    /// ```
    pub fn on_worker_start(
        mut self,
        f: impl Fn(&crate::WorkerThread) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.callbacks_mut().worker_start = Some(Arc::new(f));
        self
    }

    /// `onWorkerStop`: runs on each of the worker's threads when it stops gracefully,
    /// before its connections close (see
    /// [`Handler::on_worker_stop`](crate::Handler::on_worker_stop)).
    pub fn on_worker_stop(
        mut self,
        f: impl Fn(&crate::WorkerThread) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.callbacks_mut().worker_stop = Some(Arc::new(f));
        self
    }

    /// Binds, and starts the threads that serve the listener; returns at once. Binding
    /// errors are returned here.
    pub fn start(self) -> Result<WorkerHandle, ConfigError> {
        let (mut handle, listeners) = self.prepare()?;
        handle.spawn(listeners)?;
        Ok(handle)
    }

    /// Starts, serves until SIGINT or SIGTERM, stops gracefully; returns the counters.
    /// A worker with one thread is served on the calling thread ([`run_all`](crate::run_all)).
    pub fn run(self) -> Result<Stats, ConfigError> {
        let mut stats = crate::run_all([self])?;
        Ok(stats.pop().unwrap_or_default())
    }

    /// Checks the configuration and binds: a handle with no thread yet, and what each
    /// thread is to serve.
    pub(crate) fn prepare(self) -> Result<(WorkerHandle, Vec<Listener>), ConfigError> {
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
        let mut handler = self.handlers.clone().into_handler();
        if let Some(roots) = &self.static_roots {
            if self.scheme != "http" {
                return Err(ConfigError::InvalidOption(
                    "static files are served from http:// and https:// listeners only",
                ));
            }
            let fallback = match &self.handlers {
                Handlers::Callbacks(callbacks) => callbacks.message.is_some(),
                Handlers::Object(_) => true,
            };
            handler = Arc::new(crate::web::FileServer {
                roots: roots.clone(),
                inner: handler,
                fallback,
            });
        }
        let endpoint = Arc::new(EndpointShared {
            name: self.name.clone(),
            scheme: self.scheme.clone(),
            options: self.options,
            handler,
            factory,
            client: false,
            counters: Counters::default(),
            connections: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            drivers: std::sync::atomic::AtomicUsize::new(0),
            threads_serving: std::sync::atomic::AtomicUsize::new(0),
            control: None,
            #[cfg(feature = "cluster")]
            cluster: self.cluster.clone(),
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
            .enumerate()
            .map(|(id, socket)| Listener {
                id,
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
pub(crate) enum Signal {
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
    pub(crate) fn spawn(&mut self, listeners: Vec<Listener>) -> Result<(), ConfigError> {
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
        Self::shutdown_together(&mut [self]);
    }

    /// Stops `handles` side by side: all stop accepting and close their connections at
    /// once, then each is finished when all are done or their deadlines pass. A handle
    /// stopped already is left alone.
    fn shutdown_together(handles: &mut [&mut WorkerHandle]) {
        let stopping: Vec<bool> = handles
            .iter_mut()
            .map(|handle| !std::mem::replace(&mut handle.stopped, true))
            .collect();
        let hooks_deadlines: Vec<Instant> = handles
            .iter()
            .zip(&stopping)
            .map(|(handle, s)| {
                if *s {
                    handle.stop_accepting();
                }
                handle.hooks_deadline()
            })
            .collect();
        // Every thread's on_worker_stop runs while its connections are still open.
        while handles
            .iter()
            .zip(stopping.iter().zip(&hooks_deadlines))
            .any(|(handle, (s, at))| *s && handle.threads_stopping(*at))
        {
            std::thread::sleep(STOP_POLL);
        }
        let deadlines: Vec<Option<Instant>> = handles
            .iter()
            .zip(&stopping)
            .map(|(handle, s)| s.then(|| handle.close_connections()))
            .collect();
        let closing = |handles: &[&mut WorkerHandle]| {
            handles
                .iter()
                .zip(&deadlines)
                .any(|(handle, deadline)| deadline.is_some_and(|at| handle.still_closing(at)))
        };
        while closing(handles) {
            std::thread::sleep(STOP_POLL);
        }
        handles
            .iter_mut()
            .zip(&deadlines)
            .filter(|(_, deadline)| deadline.is_some())
            .for_each(|(handle, _)| handle.finish_stop());
    }

    /// Stops every handle gracefully at once: all stop accepting together, their
    /// connections close side by side, and the whole stop takes as long as the slowest
    /// one (one close timeout and one linger at most), not the sum of them. Returns each
    /// handle's final counters, in order.
    pub fn stop_all(mut handles: Vec<WorkerHandle>) -> Vec<Stats> {
        Self::shutdown_together(&mut handles.iter_mut().collect::<Vec<_>>());
        handles.iter().map(WorkerHandle::stats).collect()
    }

    /// [`shutdown`](Self::shutdown) from within the runtime that serves the listener.
    pub(crate) async fn shutdown_here(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        self.stop_accepting();
        let hooks_deadline = self.hooks_deadline();
        while self.threads_stopping(hooks_deadline) {
            tokio::time::sleep(STOP_POLL).await;
        }
        let deadline = self.close_connections();
        while self.still_closing(deadline) {
            tokio::time::sleep(STOP_POLL).await;
        }
        self.finish_stop();
    }

    /// No more accepts; each thread runs `on_worker_stop` and ends its timers.
    fn stop_accepting(&self) {
        let _ = self.stop.send(Signal::StopAccepting);
    }

    /// How long the threads' `on_worker_stop` may take before the connections are closed
    /// anyway: the close timeout (the stop still joins the thread of a hook that blocks;
    /// hooks must not block).
    fn hooks_deadline(&self) -> Instant {
        Instant::now() + self.endpoint.0.options.close_timeout
    }

    /// Whether a thread has yet to finish `on_worker_stop`, and `deadline` has not
    /// passed.
    fn threads_stopping(&self, deadline: Instant) -> bool {
        self.endpoint.0.threads_serving.load(Ordering::Acquire) > 0 && Instant::now() < deadline
    }

    /// Every connection closing; returns how long they have: every connection closes,
    /// then lingers so that its peer reads the last bytes rather than a reset, and both
    /// are bounded.
    fn close_connections(&self) -> Instant {
        let shared = &self.endpoint.0;
        shared.stopping.store(true, Ordering::Release);
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
