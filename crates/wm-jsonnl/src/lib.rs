//! One JSON value per line: the `JsonNL` protocol of Workerman's manual, built the way the
//! manual builds it, from "packet length", "decode" and "encode"
//! ([`wm_protocol::packet`]), and typed with serde.
//!
//! * **Decode**: a line ends at the first `\n`. It is trimmed of what PHP's `trim()`
//!   strips (space, tab, CR, LF, NUL, vertical tab) and parsed into `T`
//!   (`serde_json::Value` unless you pick a type). Blank lines are skipped, so a peer may
//!   send bare newlines as keep-alives. (Workerman hands `null` to the application for
//!   those.)
//! * **Bad lines do not end the stream.** Each message is a `Result<T, JsonNlError>`: a line
//!   that is not valid JSON for `T` is [`JsonNlError::Malformed`] (with the line), a line
//!   over the limit is [`JsonNlError::LineTooLong`] (reported as soon as the limit is
//!   passed, and its bytes skipped up to its `\n` without being buffered), and the next
//!   line is decoded as usual. Only transport errors and end of input inside a line
//!   ([`Error::UnexpectedEof`]) are fatal.
//! * **Limit**: a line, `\n` included, may be at most `max_line_length` bytes, by default
//!   Workerman's package size (10 MiB). Workerman's example has no limit at all.
//! * **Object keys keep their order** in a `serde_json::Value` (this crate turns on
//!   serde_json's `preserve_order`): `{"b":1,"a":2}` is encoded back as it came, as a PHP
//!   array keeps its order.
//! * **Encode**: any `Serialize` value as compact JSON and one `\n`. Compact JSON never
//!   holds a raw newline, so every message is exactly one line. Non-ASCII and `/` are not
//!   escaped, unlike PHP's `json_encode`: different bytes, the same JSON.
//!
//! [`JsonNlCodec`] is the same as a tokio-util codec.
//!
//! # Dependencies
//!
//! ```toml
//! [dependencies]
//! wm-jsonnl = "0.1"
//! serde = { version = "1", features = ["derive"] }
//! tokio = { version = "1", features = ["net", "io-util", "rt", "macros"] }
//! tokio-util = { version = "0.7", features = ["codec"] }
//! futures-util = { version = "0.3", features = ["sink"] }
//! ```
//!
//! Features: `tokio-util` (default) for [`JsonNlCodec`]. serde_json comes with its
//! `preserve_order` feature on, so a `Value` keeps its keys in order.
//!
//! # Example
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use serde::{Deserialize, Serialize};
//! use tokio_util::codec::Framed;
//! use wm_jsonnl::JsonNlCodec;
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Say {
//!     r#type: String,
//!     content: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wm_jsonnl::Error> {
//! let (client, server) = tokio::io::duplex(256);
//! let mut client = Framed::new(client, JsonNlCodec::<Say>::new());
//! let mut server = Framed::new(server, JsonNlCodec::<Say>::new());
//!
//! let say = Say { r#type: "say".into(), content: "hello".into() };
//! client.send(&say).await?;
//! match server.next().await.unwrap()? {
//!     Ok(got) => assert_eq!(got, say),
//!     Err(bad_line) => eprintln!("skipped: {bad_line}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A codec with other limits is `Codec::from` the configured protocol ([`Codec`],
//! [`Limits`] and [`Value`] are re-exported here):
//!
//! ```
//! use wm_jsonnl::{Codec, JsonNl, JsonNlCodec, Value};
//!
//! let codec: JsonNlCodec<Value> = Codec::from(JsonNl::<Value>::with_max_line_length(4096));
//! # let _ = codec;
//! ```

use std::fmt;
use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memchr;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wm_protocol::packet::{EncodePacket, Input, PacketFormat, PacketProtocol};
use wm_protocol::DEFAULT_MAX_PACKAGE_SIZE;

pub use serde_json::Value;
// The shared pieces this crate's protocols are built on, re-exported so that a project
// depending on this crate alone can name them: the sans-IO traits, the limits, the
// framing error, and (feature `tokio-util`) the `Framed` adapter.
#[cfg(feature = "tokio-util")]
pub use wm_protocol::Codec;
pub use wm_protocol::{Encode, Error, Limits, Protocol};

/// The default largest line, `\n` included: Workerman's package size, 10 MiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = DEFAULT_MAX_PACKAGE_SIZE;

/// The JSON-lines protocol for one connection, messages of type `T`.
pub type JsonNlProtocol<T = Value> = PacketProtocol<JsonNl<T>>;

/// [`JsonNlProtocol`] as a tokio-util `Decoder` + `Encoder`.
#[cfg(feature = "tokio-util")]
pub type JsonNlCodec<T = Value> = wm_protocol::Codec<JsonNlProtocol<T>>;

/// A line that did not become a message. The stream goes on after it.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonNlError {
    /// The line is not valid JSON, or not the JSON `T` expects.
    Malformed {
        /// What serde_json said, with the column.
        error: serde_json::Error,
        /// The line as received, `\n` and surrounding whitespace stripped.
        line: Bytes,
    },
    /// The line was longer than the limit. Its bytes were dropped, not buffered.
    LineTooLong {
        /// The largest accepted line, `\n` included.
        limit: usize,
    },
}

impl fmt::Display for JsonNlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { error, line } => {
                write!(
                    f,
                    "malformed JSON line ({error}): {:?}",
                    String::from_utf8_lossy(line)
                )
            }
            Self::LineTooLong { limit } => {
                write!(
                    f,
                    "JSON line longer than the limit of {limit} bytes; skipped"
                )
            }
        }
    }
}

impl std::error::Error for JsonNlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed { error, .. } => Some(error),
            Self::LineTooLong { .. } => None,
        }
    }
}

/// The JSON-lines packet format: how long a line is, how to decode and encode one.
pub struct JsonNl<T = Value> {
    _message: PhantomData<fn() -> T>,
}

impl<T> JsonNl<T> {
    /// The format, to wrap in a [`PacketProtocol`] yourself.
    pub fn new() -> Self {
        Self {
            _message: PhantomData,
        }
    }

    /// The protocol with the default line limit ([`DEFAULT_MAX_LINE_LENGTH`]).
    pub fn protocol() -> JsonNlProtocol<T> {
        Self::with_max_line_length(DEFAULT_MAX_LINE_LENGTH)
    }

    /// The protocol accepting lines of at most `max_line_length` bytes, `\n` included.
    pub fn with_max_line_length(max_line_length: usize) -> JsonNlProtocol<T> {
        PacketProtocol::with_max_package_size(Self::new(), max_line_length)
    }

    /// The protocol with the package size of `limits` as its line limit.
    pub fn with_limits(limits: &Limits) -> JsonNlProtocol<T> {
        PacketProtocol::with_limits(Self::new(), limits)
    }
}

impl<T> Default for JsonNl<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for JsonNl<T> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for JsonNl<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JsonNl")
    }
}

/// What PHP's `trim()` strips.
fn is_php_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\0' | b'\x0b')
}

impl<T: DeserializeOwned> PacketFormat for JsonNl<T> {
    type Message = Result<T, JsonNlError>;

    #[inline]
    fn input(&mut self, buf: &[u8], examined: usize) -> Result<Input, Error> {
        Ok(match memchr(b'\n', &buf[examined..]) {
            Some(offset) => Input::Packet(examined + offset + 1),
            None => Input::NeedMore,
        })
    }

    #[inline]
    fn decode(&mut self, line: Bytes) -> Result<Option<Self::Message>, Error> {
        let Some(start) = line.iter().position(|&b| !is_php_whitespace(b)) else {
            return Ok(None);
        };
        let end = line
            .iter()
            .rposition(|&b| !is_php_whitespace(b))
            .map_or(0, |i| i + 1);
        let json = &line[start..end];
        // One SIMD UTF-8 check of the line, then serde_json's `&str` reader, which skips
        // the per-string checks its byte reader would make: fewer instructions per line
        // than either alone. Invalid UTF-8 goes to the byte reader for its exact error.
        let parsed = match simdutf8::basic::from_utf8(json) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(json),
        };
        Ok(Some(parsed.map_err(|error| JsonNlError::Malformed {
            error,
            line: line.slice(start..end),
        })))
    }

    fn oversize(&mut self, _length: Option<usize>, limit: usize) -> Result<Self::Message, Error> {
        Ok(Err(JsonNlError::LineTooLong { limit }))
    }
}

impl<T: DeserializeOwned, S: Serialize> EncodePacket<S> for JsonNl<T> {
    fn encode(&mut self, item: S, dst: &mut BytesMut) -> Result<(), Error> {
        let start = dst.len();
        if let Err(error) = serde_json::to_writer(AppendTo(dst), &item) {
            // A value serde cannot write as JSON (a map with non-string keys, a failing
            // Serialize impl): leave nothing half-written.
            dst.truncate(start);
            return Err(Error::Unencodable(error.into()));
        }
        dst.put_u8(b'\n');
        Ok(())
    }
}

/// `io::Write` that appends to a `BytesMut`. serde_json writes a value in many small
/// pieces (a quote, a key, a colon); `bytes`' own `Writer` goes through the generic
/// `BufMut::put` for each, which made encoding 1.6× slower than `serde_json::to_string`
/// into a `Vec` (benches `jsonnl/encode`). `extend_from_slice` is the `Vec` path.
struct AppendTo<'a>(&'a mut BytesMut);

impl std::io::Write for AppendTo<'_> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
