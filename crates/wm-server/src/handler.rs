//! What the application does with connections: a trait, or closures.

use std::sync::Arc;

use crate::protocols::Opening;
use crate::{Connection, ConnectionError, Message, WorkerThread};

/// The callbacks of a listener or client: Workerman's `onConnect`, `onMessage`, `onClose`,
/// `onError`, `onBufferFull` and `onBufferDrain`.
///
/// Callbacks run on the connection's own task, one at a time per connection, and must not
/// block: to wait for something, spawn a task (the worker's tokio runtime is current)
/// and [`send`](Connection::send) from it later; a [`Connection`] is `Clone + Send`.
/// That holds whoever sends: the `on_buffer_full` and `on_error` that a
/// [`send`](Connection::send) causes (from another connection's broadcast, a spawned task,
/// another thread) are not run inside that `send` but by the connection's task, after the
/// callback it is in returns (Workerman runs them inside `send`).
/// A callback that panics closes its connection (WebSocket code 1011, HTTP `500`), and
/// every other connection goes on.
pub trait Handler: Send + Sync + 'static {
    /// A connection was accepted (or a client connected). For `websocket://` the opening
    /// handshake has not been read yet; what is sent now follows the `101`.
    fn on_connect(&self, connection: &Connection) {
        let _ = connection;
    }

    /// The opening handshake is done (WebSocket; Workerman's `onWebSocketConnect`), with
    /// what it carried: the upgrade request's path, query, headers and `Origin` for a
    /// server, the `101` for a client. Called once, before the first message; the
    /// request is not kept afterwards. (A server refuses requests before the `101`, with
    /// a [`ServerOptions`](wm_websocket::handshake::ServerOptions) hook registered for
    /// the scheme.)
    fn on_open(&self, connection: &Connection, opening: &Opening) {
        let _ = (connection, opening);
    }

    /// A message arrived.
    fn on_message(&self, connection: &Connection, message: Message);

    /// The connection is closed and gone from the listener's
    /// [`connections`](crate::Endpoint::connections).
    fn on_close(&self, connection: &Connection) {
        let _ = connection;
    }

    /// Something went wrong on the connection: the peer broke the protocol (what the
    /// protocol answered on the wire is already sent or queued), a timeout, a send refused
    /// because the send buffer was full, a transport error.
    fn on_error(&self, connection: &Connection, error: &ConnectionError) {
        let _ = (connection, error);
    }

    /// The send buffer reached its high watermark: further sends are refused until it
    /// drains. [`pause_recv`](Connection::pause_recv) here is the usual backpressure.
    fn on_buffer_full(&self, connection: &Connection) {
        let _ = connection;
    }

    /// The send buffer drained to its low watermark after being full.
    fn on_buffer_drain(&self, connection: &Connection) {
        let _ = connection;
    }

    /// A worker thread starts, before it accepts its first connection (Workerman's
    /// `onWorkerStart`, once per process there, once per thread here): where
    /// [`Timer`](crate::Timer)s and per-thread state are set up. Listeners only.
    fn on_worker_start(&self, thread: &WorkerThread) {
        let _ = thread;
    }

    /// A worker thread stops (Workerman's `onWorkerStop`): it has stopped accepting, and
    /// its connections are still open (a goodbye sent now is written before they
    /// close). Runs on a graceful stop, before the connections are closed; the thread's
    /// timers end after it. Listeners only. It must not block: the connections are
    /// closed after the close timeout whether it returned or not, but the stop waits
    /// for its thread, and a thread cannot be interrupted.
    fn on_worker_stop(&self, thread: &WorkerThread) {
        let _ = thread;
    }
}

type Callback = Arc<dyn Fn(&Connection) + Send + Sync>;
type OpenCallback = Arc<dyn Fn(&Connection, &Opening) + Send + Sync>;
type MessageCallback = Arc<dyn Fn(&Connection, Message) + Send + Sync>;
type ErrorCallback = Arc<dyn Fn(&Connection, &ConnectionError) + Send + Sync>;
type ThreadCallback = Arc<dyn Fn(&WorkerThread) + Send + Sync>;

/// A [`Handler`] made of closures, as Workerman's `$worker->onMessage = function …`;
/// what [`Worker::on_message`](crate::Worker::on_message) and its siblings fill in.
/// Callbacks left unset do nothing.
#[derive(Clone, Default)]
pub struct Callbacks {
    pub(crate) connect: Option<Callback>,
    pub(crate) open: Option<OpenCallback>,
    pub(crate) message: Option<MessageCallback>,
    pub(crate) close: Option<Callback>,
    pub(crate) error: Option<ErrorCallback>,
    pub(crate) buffer_full: Option<Callback>,
    pub(crate) buffer_drain: Option<Callback>,
    pub(crate) worker_start: Option<ThreadCallback>,
    pub(crate) worker_stop: Option<ThreadCallback>,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("connect", &self.connect.is_some())
            .field("open", &self.open.is_some())
            .field("message", &self.message.is_some())
            .field("close", &self.close.is_some())
            .field("error", &self.error.is_some())
            .field("buffer_full", &self.buffer_full.is_some())
            .field("buffer_drain", &self.buffer_drain.is_some())
            .field("worker_start", &self.worker_start.is_some())
            .field("worker_stop", &self.worker_stop.is_some())
            .finish()
    }
}

impl Handler for Callbacks {
    fn on_connect(&self, connection: &Connection) {
        if let Some(f) = &self.connect {
            f(connection);
        }
    }

    fn on_open(&self, connection: &Connection, opening: &Opening) {
        if let Some(f) = &self.open {
            f(connection, opening);
        }
    }

    fn on_message(&self, connection: &Connection, message: Message) {
        if let Some(f) = &self.message {
            f(connection, message);
        }
    }

    fn on_close(&self, connection: &Connection) {
        if let Some(f) = &self.close {
            f(connection);
        }
    }

    fn on_error(&self, connection: &Connection, error: &ConnectionError) {
        if let Some(f) = &self.error {
            f(connection, error);
        }
    }

    fn on_buffer_full(&self, connection: &Connection) {
        if let Some(f) = &self.buffer_full {
            f(connection);
        }
    }

    fn on_buffer_drain(&self, connection: &Connection) {
        if let Some(f) = &self.buffer_drain {
            f(connection);
        }
    }

    fn on_worker_start(&self, thread: &WorkerThread) {
        if let Some(f) = &self.worker_start {
            f(thread);
        }
    }

    fn on_worker_stop(&self, thread: &WorkerThread) {
        if let Some(f) = &self.worker_stop {
            f(thread);
        }
    }
}

/// Either closures or a handler object: where a listener's events go.
#[derive(Clone)]
pub(crate) enum Handlers {
    Callbacks(Callbacks),
    Object(Arc<dyn Handler>),
}

impl Handlers {
    pub(crate) fn callbacks_mut(&mut self) -> &mut Callbacks {
        if let Self::Object(_) = self {
            *self = Self::Callbacks(Callbacks::default());
        }
        match self {
            Self::Callbacks(callbacks) => callbacks,
            Self::Object(_) => unreachable!(),
        }
    }

    pub(crate) fn into_handler(self) -> Arc<dyn Handler> {
        match self {
            Self::Callbacks(callbacks) => Arc::new(callbacks),
            Self::Object(handler) => handler,
        }
    }
}

/// The builder methods that set a listener's or a client's callbacks (`handler`,
/// `on_connect`, `on_open`, `on_message`, `on_close`, `on_error`, `on_buffer_full`,
/// `on_buffer_drain`), for a type with a `handlers: Handlers` field.
macro_rules! callback_setters {
    () => {
        /// Sends every event to `handler` (replacing closures set before).
        pub fn handler(mut self, handler: impl $crate::Handler) -> Self {
            self.handlers = $crate::handler::Handlers::Object(::std::sync::Arc::new(handler));
            self
        }

        /// `onConnect`.
        pub fn on_connect(
            mut self,
            f: impl Fn(&$crate::Connection) + Send + Sync + 'static,
        ) -> Self {
            self.handlers.callbacks_mut().connect = Some(::std::sync::Arc::new(f));
            self
        }

        /// `onWebSocketConnect`: the opening handshake is done (see
        /// [`Handler::on_open`](crate::Handler::on_open)).
        pub fn on_open(
            mut self,
            f: impl Fn(&$crate::Connection, &$crate::protocols::Opening) + Send + Sync + 'static,
        ) -> Self {
            self.handlers.callbacks_mut().open = Some(::std::sync::Arc::new(f));
            self
        }

        /// `onMessage`.
        pub fn on_message(
            mut self,
            f: impl Fn(&$crate::Connection, $crate::Message) + Send + Sync + 'static,
        ) -> Self {
            self.handlers.callbacks_mut().message = Some(::std::sync::Arc::new(f));
            self
        }

        /// `onClose`.
        pub fn on_close(mut self, f: impl Fn(&$crate::Connection) + Send + Sync + 'static) -> Self {
            self.handlers.callbacks_mut().close = Some(::std::sync::Arc::new(f));
            self
        }

        /// `onError`.
        pub fn on_error(
            mut self,
            f: impl Fn(&$crate::Connection, &$crate::ConnectionError) + Send + Sync + 'static,
        ) -> Self {
            self.handlers.callbacks_mut().error = Some(::std::sync::Arc::new(f));
            self
        }

        /// `onBufferFull`.
        pub fn on_buffer_full(
            mut self,
            f: impl Fn(&$crate::Connection) + Send + Sync + 'static,
        ) -> Self {
            self.handlers.callbacks_mut().buffer_full = Some(::std::sync::Arc::new(f));
            self
        }

        /// `onBufferDrain`.
        pub fn on_buffer_drain(
            mut self,
            f: impl Fn(&$crate::Connection) + Send + Sync + 'static,
        ) -> Self {
            self.handlers.callbacks_mut().buffer_drain = Some(::std::sync::Arc::new(f));
            self
        }
    };
}

pub(crate) use callback_setters;
