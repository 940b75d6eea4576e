//! Workerman's `http://` scheme: an HTTP/1.1 server codec, strict, incremental and
//! sans-IO, with the helpers a web application expects; and [`serve`] (feature `tokio`),
//! the async front door that runs a whole connection to a handler from `Request` to
//! `Response`, as wm-websocket's `accept` does for WebSocket.
//!
//! # Requests
//!
//! * [`Http`]: one connection's decoder, yielding each complete [`Request`]. A head that
//!   came in one read is found and parsed by one httparse pass; one that trickles in is
//!   searched once for its end (a 1-byte drip costs O(n)) and then parsed once. Checked:
//!   method (501), the target (origin-form; absolute-form, whose authority replaces
//!   `Host`, RFC 9112 §3.2.2; `*` for `OPTIONS`; 400 otherwise), version (1.2–1.9
//!   processed as 1.1, RFC 9110 §2.5; 505 for 2.0 and up), one valid `Host`,
//!   CRLF line ends only, `Content-Length` digits only (duplicates only if identical),
//!   `Transfer-Encoding: chunked` only and never beside `Content-Length`. A
//!   `Content-Length` body is a slice of the read buffer; a chunked body is put together
//!   as it arrives, with trailers. Pipelined requests come out in order; nothing is read
//!   after a request that closes the connection.
//! * [`StreamingHttp`] yields each request as [`RequestPart`]s instead: the head, the
//!   body in pieces as they arrive (slices of the read buffer), the end with trailers.
//! * Limits ([`Config`]), each checked before the bytes it limits are kept: head 16 KiB
//!   (431), header lines 100 (431), target 8 KiB (414), body 10 MiB (413), chunk-size line
//!   1 KiB (400), trailers 8 KiB (431). [`HttpError`] names the status; its answer is
//!   queued (with `Connection: close`) before `decode` returns it.
//! * `Expect: 100-continue` and refusals are answered through
//!   [`take_output`](Protocol::take_output), behind the responses of earlier pipelined
//!   requests (never ahead of them, never inside a streamed body). With `Framed` that
//!   output goes out ahead of the next item sent, so a driver that wants the body at
//!   once, or that stops at an error, writes `take_output` itself (wm-server does): with
//!   `Framed`, `framed.codec_mut().get_mut().take_output(&mut buf)`, then write `buf` to
//!   `framed.get_mut()`.
//! * Helpers: [`Request::query_pairs`], [`Request::form`] (`x-www-form-urlencoded`
//!   bodies only), [`Request::cookies`], [`Request::host`], case-insensitive [`Headers`],
//!   streamed [`multipart`] with limits, and (feature `http`) conversions with the `http`
//!   crate's types in `interop`.
//!
//! # Responses
//!
//! * [`Response`], encoded through [`Http`] for the oldest unanswered request:
//!   Workerman's header order and defaults, one line per name unless appended on purpose
//!   ([`Response::cookie`] with a [`SetCookie`]), the body framed by the encoder, none for
//!   HEAD, 204 and 304, and `Connection: close` (then [`Http::closing`]) when the request
//!   or the response ends the connection. A 1xx other than 101 is interim.
//! * Streamed bodies: after a head with `Transfer-Encoding: chunked`, a declared
//!   [`content_length`](Response::content_length) or `Content-Type: text/event-stream`,
//!   send [`Chunk`]s or Server-Sent [`Event`]s.
//! * [`Http::set_date`] adds a `Date` header; the protocol itself reads no clock.
//! * [`StaticFiles`] answers GET and HEAD from a directory: canonical paths under the
//!   root, `Content-Type`, `ETag` / `Last-Modified` with 304, single ranges with 206.
//!
//! # Dependencies
//!
//! ```toml
//! [dependencies]
//! wm-http = "0.1"
//! tokio = { version = "1", features = ["net", "io-util", "rt", "macros"] }
//! tokio-util = { version = "0.7", features = ["codec"] }
//! futures-util = { version = "0.3", features = ["sink"] }
//! ```
//!
//! Features: `tokio` (default) for [`serve`], a whole connection to a handler over any
//! tokio stream; `tokio-util` (default) for [`HttpCodec`]; `http` for conversions with the
//! `http` crate's types (`wm_http::interop`).
//!
//! # Example: a server with `Framed`
//!
//! A refused request (here one with no `Host`) comes out of the stream as an error whose
//! answer (`400`, `413`, `431`, …) the protocol has queued; a decoder cannot write, so send
//! the error back through the sink and it goes out. [`serve`] (feature `tokio`) does all
//! of this for you.
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::{TcpListener, TcpStream};
//! use tokio_util::codec::Framed;
//! use wm_http::{HttpCodec, Response};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let address = listener.local_addr()?;
//! tokio::spawn(async move {
//!     while let Ok((tcp, _)) = listener.accept().await {
//!         let mut framed = Framed::new(tcp, HttpCodec::new());
//!         while let Some(request) = framed.next().await {
//!             let sent = match request {
//!                 Ok(request) => {
//!                     let name = request.query_param("name").unwrap_or_default().into_owned();
//!                     framed.send(Response::new(200).body(format!("hello {name}"))).await
//!                 }
//!                 Err(refused) => framed.send(refused).await, // writes its 400
//!             };
//!             if sent.is_err() || framed.codec().get_ref().closing() {
//!                 break;
//!             }
//!         }
//!     }
//! });
//!
//! async fn ask(address: std::net::SocketAddr, request: &[u8]) -> std::io::Result<String> {
//!     let mut tcp = TcpStream::connect(address).await?;
//!     tcp.write_all(request).await?;
//!     let mut answer = String::new();
//!     tcp.read_to_string(&mut answer).await?;
//!     Ok(answer)
//! }
//! let answer = ask(address, b"GET /greet?name=ada HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").await?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\nhello ada"));
//! let answer = ask(address, b"GET / HTTP/1.1\r\n\r\n").await?; // no Host
//! assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
//! # Ok(())
//! # }
//! ```
//!
//! Features: `tokio` (default: [`serve`]), `tokio-util` (default: `HttpCodec`), `http`
//! (conversions with the `http` crate), `session` (`session`: Workerman's sessions, with
//! a memory and a file store).
//!
//! Without tokio (`default-features = false`), the same [`Http`] works on any buffer:
//!
//! ```
//! use bytes::BytesMut;
//! use wm_http::{Http, Method, Protocol};
//!
//! let mut http = Http::default();
//! let mut buf = BytesMut::from(&b"POST /p?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"[..]);
//! let request = http.decode(&mut buf).unwrap().unwrap();
//! assert_eq!((request.method(), request.path(), request.query()), (Method::Post, "/p", Some("x=1")));
//! assert_eq!(&request.body()[..], b"hi");
//! assert!(request.keep_alive());
//! ```

pub mod chunked;
mod config;
pub mod cookie;
mod error;
pub mod files;
pub mod form;
mod head;
mod helpers;
#[cfg(feature = "http")]
pub mod interop;
pub mod multipart;
mod protocol;
mod request;
mod response;
#[cfg(feature = "tokio")]
mod serve;
#[cfg(feature = "session")]
pub mod session;
mod sse;

pub use config::{
    Config, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_TARGET_LENGTH,
    DEFAULT_MAX_TRAILER_SIZE, MAX_CHUNK_LINE,
};
pub use cookie::{CookieError, SameSite, SetCookie};
pub use error::HttpError;
pub use files::StaticFiles;
pub use form::{Form, FormError};
pub use multipart::{
    boundary_from_content_type, parse_form_data, FormData, MultipartError, MultipartEvent,
    MultipartLimits, MultipartParser, Part, PartHead,
};
pub use protocol::{Collected, Http, HttpProtocol, RequestPart, Streamed, StreamingHttp};
pub use request::{Headers, Method, Request, Version};
pub use response::{put_chunk, Chunk, Response};
#[cfg(feature = "tokio")]
pub use serve::{serve, serve_with, ServeOptions};
pub use sse::Event;
pub use wm_protocol::http1::reason_phrase;
// The shared pieces this crate's protocols are built on, re-exported so that a project
// depending on this crate alone can name them: the sans-IO traits, the limits, the
// framing error, and (feature `tokio-util`) the `Framed` adapter.
#[cfg(feature = "tokio-util")]
pub use wm_protocol::Codec;
pub use wm_protocol::{Encode, Limits, Protocol};

/// [`Http`] as a tokio-util `Decoder` + `Encoder`, for `Framed`.
#[cfg(feature = "tokio-util")]
pub type HttpCodec = wm_protocol::Codec<Http>;

/// [`StreamingHttp`] as a tokio-util `Decoder` + `Encoder`: request bodies as they arrive.
#[cfg(feature = "tokio-util")]
pub type StreamingHttpCodec = wm_protocol::Codec<StreamingHttp>;
