//! Static files from an `http://` listener: Workerman's `WebServer::addRoot($domain,
//! $root)`, on wm-http's [`StaticFiles`] (ETag, 304, ranges), without blocking the
//! connection's thread.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use wm_http::files::{FileBody, FileError, DEFAULT_MAX_IN_MEMORY, DEFAULT_PIECE_SIZE};
use wm_http::{Method, Request, StaticFiles};

use crate::protocols::Opening;
use crate::{Connection, ConnectionError, Handler, Message, WorkerThread};

/// The document roots of an `http://` listener: one per host name (Workerman's
/// `addRoot($domain, $root)`), and a default for every other host.
///
/// ```no_run
/// use wm_server::{StaticRoots, Worker};
///
/// Worker::new("http://0.0.0.0:8080")?
///     .static_files(
///         StaticRoots::new("/srv/www")?                       // any other Host
///             .add_root("example.com", "/srv/example")?      // Host: example.com[:port]
///             .add_root("docs.example.com", "/srv/docs")?,
///     )
///     .on_message(|connection, _request| {
///         // What no root has a file for: an API, a 404 page of the application's.
///         let _ = connection.send(wm_http::Response::new(404).body("no such page"));
///     })
///     .run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticRoots {
    default: Option<StaticFiles>,
    hosts: HashMap<String, StaticFiles>,
}

impl StaticRoots {
    /// Files under `dir` for every host (see [`StaticFiles`] for what is served and what
    /// refused: no `..`, no hidden files, no links out of the root, `index.html` for a
    /// directory, never a listing).
    pub fn new(dir: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self::default().files(StaticFiles::new(dir)?))
    }

    /// No root yet: only hosts added with [`add_root`](Self::add_root) are served.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Files under `dir` for requests whose `Host` is `host` (case-insensitive, any port).
    pub fn add_root(self, host: &str, dir: impl AsRef<Path>) -> io::Result<Self> {
        Ok(self.host_files(host, StaticFiles::new(dir)?))
    }

    /// The default root, with its settings ([`StaticFiles::index`],
    /// [`serve_hidden`](StaticFiles::serve_hidden)).
    pub fn files(mut self, files: StaticFiles) -> Self {
        self.default = Some(files);
        self
    }

    /// A host's root, with its settings.
    pub fn host_files(mut self, host: &str, files: StaticFiles) -> Self {
        self.hosts.insert(host.to_ascii_lowercase(), files);
        self
    }

    /// The root for `request`'s host.
    fn for_request(&self, request: &Request) -> Option<&StaticFiles> {
        let host = request.host_without_port().map(str::to_ascii_lowercase);
        host.and_then(|host| self.hosts.get(&host))
            .or(self.default.as_ref())
    }
}

/// The listener's handler with static files in front: a GET or HEAD that a root has a
/// file for is answered here; everything else goes to the application's handler (or,
/// without one, gets the 404 the root gave).
pub(crate) struct FileServer {
    pub(crate) roots: StaticRoots,
    pub(crate) inner: Arc<dyn Handler>,
    /// The application set `on_message` (or a handler): requests no root answers go to it.
    pub(crate) fallback: bool,
}

impl FileServer {
    /// Looks the file up, and sends it, off the connection's task: the file system is
    /// read on the runtime's blocking threads, and the body in pieces as the send buffer
    /// takes them. The connection's next request waits meanwhile (apart from the
    /// application's own pause), so that pipelined requests are answered in order.
    fn serve(&self, connection: &Connection, request: Box<Request>, files: StaticFiles) {
        connection.hold_for_answer(true);
        let connection = connection.clone();
        let inner = self.inner.clone();
        let fallback = self.fallback;
        tokio::spawn(async move {
            let looked_up = tokio::task::spawn_blocking(move || {
                let answer = files
                    .resolve(&request)
                    .and_then(|answer| Ok(answer.into_response(DEFAULT_MAX_IN_MEMORY)?));
                (request, answer)
            })
            .await;
            match looked_up {
                Ok((_, Ok((head, body)))) => send_file(&connection, head, body).await,
                Ok((request, Err(error))) => {
                    let not_a_file = matches!(
                        error,
                        FileError::NotFound
                            | FileError::RefusedPath(_)
                            | FileError::MethodNotAllowed
                    );
                    if not_a_file && fallback {
                        // On the same thread as the connection's task (the worker's
                        // runtime runs one task at a time), with the next request held:
                        // one callback at a time, as promised; and not after on_close.
                        if connection.takes_sends() {
                            connection.callback_with(&*inner, |handler, conn| {
                                handler.on_message(conn, Message::Request(request));
                            });
                        }
                    } else if connection.answer_turn().await
                        && connection.send(error.response()).is_err()
                    {
                        connection.abort();
                    }
                }
                Err(_) => {
                    // The lookup panicked: answered as a handler's panic is.
                    connection.close_with(crate::CloseReason::InternalError);
                }
            }
            connection.hold_for_answer(false);
        });
    }
}

/// Sends a file's head once the answers owed before it are out, then its body in
/// pieces, each read on a blocking thread once the send buffer has room for it. A send
/// refused midway (the buffer filled by the application's own sends) would leave the
/// response short or the request unanswered, and every later answer in the wrong place:
/// the connection is aborted instead.
async fn send_file(connection: &Connection, head: wm_http::Response, body: Option<FileBody>) {
    if !connection.answer_turn().await {
        return;
    }
    if connection.send(head).is_err() {
        connection.abort();
        return;
    }
    let Some(mut body) = body else { return };
    while body.remaining() > 0 {
        if !connection.writable().await {
            return;
        }
        let read = tokio::task::spawn_blocking(move || {
            let piece = body.next_chunk(DEFAULT_PIECE_SIZE);
            (body, piece)
        })
        .await;
        let piece = match read {
            Ok((rest, Ok(Some(piece)))) => {
                body = rest;
                piece
            }
            Ok((_, Ok(None))) => return,
            Ok((_, Err(error))) => {
                // The head promised more bytes than can be sent: only closing tells the
                // client the body is cut.
                tracing::warn!(%error, "a static file could not be read to its end");
                connection.abort();
                return;
            }
            Err(_) => {
                connection.abort();
                return;
            }
        };
        if connection
            .send(Message::Chunk(wm_http::Chunk::new(piece)))
            .is_err()
        {
            // Refused between `writable` and here (a send from another thread): the
            // body would stay short.
            connection.abort();
            return;
        }
    }
}

impl Handler for FileServer {
    fn on_message(&self, connection: &Connection, message: Message) {
        if let Message::Request(request) = &message {
            if matches!(request.method(), Method::Get | Method::Head) {
                if let Some(files) = self.roots.for_request(request) {
                    let files = files.clone();
                    let Message::Request(request) = message else {
                        unreachable!()
                    };
                    return self.serve(connection, request, files);
                }
            }
        }
        if self.fallback {
            self.inner.on_message(connection, message);
        } else if let Message::Request(_) = message {
            let _ = connection.send(FileError::NotFound.response());
        }
    }

    fn on_connect(&self, connection: &Connection) {
        self.inner.on_connect(connection);
    }

    fn on_open(&self, connection: &Connection, opening: &Opening) {
        self.inner.on_open(connection, opening);
    }

    fn on_close(&self, connection: &Connection) {
        self.inner.on_close(connection);
    }

    fn on_error(&self, connection: &Connection, error: &ConnectionError) {
        self.inner.on_error(connection, error);
    }

    fn on_buffer_full(&self, connection: &Connection) {
        self.inner.on_buffer_full(connection);
    }

    fn on_buffer_drain(&self, connection: &Connection) {
        self.inner.on_buffer_drain(connection);
    }

    fn on_worker_start(&self, thread: &WorkerThread) {
        self.inner.on_worker_start(thread);
    }

    fn on_worker_stop(&self, thread: &WorkerThread) {
        self.inner.on_worker_stop(thread);
    }
}
