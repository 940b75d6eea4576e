//! Workerman's `http://` scheme: HTTP/1.1 server requests, parsed strictly and
//! incrementally.
//!
//! **Work in progress** (issue 4). So far: requests, and fixed-body responses.
//!
//! * [`Http`]: one connection's decoder. A head is found with one search for its blank
//!   line (so a client trickling bytes costs O(n)) and parsed once with httparse, then
//!   checked: method, origin-form target, version, one `Host`, `Content-Length` digits
//!   only (duplicates only if identical), `Transfer-Encoding: chunked` only and never
//!   beside `Content-Length`. A `Content-Length` body is a slice of the read buffer; a
//!   chunked body is put together as it arrives, with trailers. Pipelined requests come
//!   out in order.
//! * Limits ([`Config`]): head 16 KiB (431), header lines 100 (431), target 8 KiB (414),
//!   body 10 MiB (413, before the body is buffered), chunk-size line 1 KiB (400), trailers
//!   8 KiB (431).
//! * [`HttpError`] names the status; its answer is queued before `decode` returns it.
//! * [`Response`], encoded through [`Http`] for the oldest unanswered request (so
//!   pipelined answers go out in order): Workerman's header order and defaults, one line
//!   per name unless appended on purpose, the body framed by the encoder, none for HEAD,
//!   204 and 304, and `Connection: close` (then [`Http::closing`]) when the request or the
//!   response ends the connection.
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
//!
//! Streaming, both ways:
//!
//! * [`StreamingHttp`] hands each request out as [`RequestPart`]s: the head, the body in
//!   pieces as they arrive (slices of the read buffer), then the end with any trailers.
//! * A [`Response`] with `Transfer-Encoding: chunked`, with a declared
//!   [`content_length`](Response::content_length), or with `Content-Type:
//!   text/event-stream` is followed by [`Chunk`]s or [`Event`]s (Server-Sent Events).
//! * [`Http::set_date`] adds a `Date` header; the protocol itself reads no clock.

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
mod sse;

pub use config::{
    Config, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_TARGET_LENGTH, DEFAULT_MAX_TRAILER_SIZE, MAX_CHUNK_LINE,
};
pub use cookie::{CookieError, SameSite, SetCookie};
pub use error::{reason_phrase, HttpError};
pub use files::StaticFiles;
pub use form::{Form, FormError};
pub use multipart::{
    boundary_from_content_type, parse_form_data, FormData, MultipartError, MultipartEvent,
    MultipartLimits, MultipartParser, Part, PartHead,
};
pub use protocol::{Collected, Http, HttpProtocol, RequestPart, Streamed, StreamingHttp};
pub use request::{Headers, Method, Request, Version};
pub use response::{put_chunk, Chunk, Response};
pub use sse::Event;
pub use wm_protocol::{Encode, Protocol};

/// [`Http`] as a tokio-util `Decoder` + `Encoder`, for `Framed`.
#[cfg(feature = "tokio-util")]
pub type HttpCodec = wm_protocol::Codec<Http>;

/// [`StreamingHttp`] as a tokio-util `Decoder` + `Encoder`: request bodies as they arrive.
#[cfg(feature = "tokio-util")]
pub type StreamingHttpCodec = wm_protocol::Codec<StreamingHttp>;
