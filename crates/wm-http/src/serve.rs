//! The async front door (feature `tokio`): one connection served to its end, as
//! wm-websocket's `accept` is for WebSocket. What wm-server does for `http://`, over any
//! tokio stream: `100 Continue` when a body is expected, every refusal answered with its
//! status, pipelined requests answered in order, keep-alive and close as the requests say,
//! and header-read and idle timeouts.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::{
    Config, Encode, Http, HttpError, Protocol, Request, Response, DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
};

/// How much room a read gets.
const READ_SIZE: usize = 8 * 1024;

/// Timeouts for [`serve_with`] (`None` turns one off), and the peer's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    /// From a head's first byte to its end ([`DEFAULT_HEADER_TIMEOUT`]).
    pub header_timeout: Option<Duration>,
    /// Between requests, and while a body is awaited ([`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Option<Duration>,
    /// The peer, given to each request as [`Request::remote_addr`] (the stream is any
    /// tokio stream, which may not have one). Default `None`.
    pub remote_addr: Option<SocketAddr>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: Some(DEFAULT_HEADER_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            remote_addr: None,
        }
    }
}

impl ServeOptions {
    /// Sets [`header_timeout`](Self::header_timeout).
    pub fn header_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`remote_addr`](Self::remote_addr): `TcpListener::accept` gives it.
    ///
    /// ```
    /// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    /// use wm_http::{serve_with, Config, Request, Response, ServeOptions};
    ///
    /// let (tcp, peer) = listener.accept().await?;
    /// let options = ServeOptions::default().remote_addr(Some(peer));
    /// tokio::spawn(serve_with(tcp, Config::default(), options, |request: Request| async move {
    ///     Response::new(200).body(format!("hello, {}", request.remote_addr().unwrap().ip()))
    /// }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn remote_addr(mut self, address: Option<SocketAddr>) -> Self {
        self.remote_addr = address;
        self
    }
}

/// Serves one connection with the default [`Config`] and [`ServeOptions`]: each request
/// goes to `handler`, whose response is sent before the next request is handed out.
/// Returns when the connection ends: `Ok` when it closed cleanly (the client left between
/// requests, or a response closed it), the error when a request was refused (its answer
/// already sent), a timeout ran out, or the transport failed.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use wm_http::{serve, Request, Response};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let address = listener.local_addr()?;
/// tokio::spawn(async move {
///     while let Ok((tcp, _)) = listener.accept().await {
///         tokio::spawn(serve(tcp, |request: Request| async move {
///             Response::new(200).body(format!("you asked for {}", request.path()))
///         }));
///     }
/// });
/// let mut tcp = tokio::net::TcpStream::connect(address).await?;
/// tcp.write_all(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n").await?;
/// let mut answers = String::new();
/// tcp.read_to_string(&mut answers).await?;
/// // Pipelined: /a answered, then the second request, which has no Host, refused.
/// assert!(answers.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(answers.contains("you asked for /a"));
/// assert!(answers.contains("HTTP/1.1 400 Bad Request\r\n"));
/// # Ok(())
/// # }
/// ```
pub async fn serve<S, H, F>(stream: S, handler: H) -> Result<(), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: FnMut(Request) -> F,
    F: Future<Output = Response>,
{
    serve_with(stream, Config::default(), ServeOptions::default(), handler).await
}

/// [`serve`] with limits and timeouts.
pub async fn serve_with<S, H, F>(
    mut stream: S,
    config: Config,
    options: ServeOptions,
    mut handler: H,
) -> Result<(), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: FnMut(Request) -> F,
    F: Future<Output = Response>,
{
    let mut http = Http::new(config);
    let mut read = BytesMut::with_capacity(READ_SIZE);
    let mut write = BytesMut::new();
    let mut eof = false;
    // When the head now arriving began: the header timeout runs from its first byte, not
    // per read (a client sending a byte now and then must not hold the connection).
    let mut head_started: Option<Instant> = None;
    loop {
        // Every request already buffered is answered, in order, before more is read; the
        // answers to a pipelined batch go out in one write.
        loop {
            let decoded = if eof {
                http.decode_eof(&mut read)
            } else {
                http.decode(&mut read)
            };
            match decoded {
                Ok(Some(mut request)) => {
                    head_started = None;
                    request.remote_addr = options.remote_addr;
                    let response = handler(request).await;
                    http.take_output(&mut write);
                    http.encode(response, &mut write)?;
                    if http.closing() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(refused) => {
                    // Its answer (400, 413, 431, …) was queued when it was returned; every
                    // request before it is answered, so nothing waits ahead of it.
                    http.take_output(&mut write);
                    finish(&mut stream, &mut write).await;
                    return Err(refused);
                }
            }
        }
        // What the protocol says by itself: `100 Continue` before a body it waits for.
        http.take_output(&mut write);
        if !write.is_empty() {
            stream.write_all_buf(&mut write).await?;
            stream.flush().await?;
        }
        if http.closing() || eof {
            finish(&mut stream, &mut write).await;
            return Ok(());
        }
        // A head in progress has the header timeout; otherwise the idle one.
        let deadline = if http.reading_head() && !read.is_empty() {
            let started = *head_started.get_or_insert_with(Instant::now);
            options
                .header_timeout
                .and_then(|limit| started.checked_add(limit))
        } else {
            head_started = None;
            options
                .idle_timeout
                .and_then(|limit| Instant::now().checked_add(limit))
        };
        read.reserve(READ_SIZE);
        let read_once = stream.read_buf(&mut read);
        let n = match deadline {
            Some(at) => match tokio::time::timeout_at(at, read_once).await {
                Ok(result) => result?,
                Err(_) => {
                    finish(&mut stream, &mut write).await;
                    return Err(HttpError::Io(std::io::ErrorKind::TimedOut.into()));
                }
            },
            None => read_once.await?,
        };
        eof = n == 0;
    }
}

/// Writes what is left and closes our side; best effort, as the connection ends anyway.
async fn finish<S: AsyncWrite + Unpin>(stream: &mut S, write: &mut BytesMut) {
    if !write.is_empty() {
        let _ = stream.write_all_buf(write).await;
    }
    let _ = stream.shutdown().await;
}
