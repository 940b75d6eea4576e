//! Why a request cannot be served, and the status it is answered with.

use bytes::{BufMut, BytesMut};

/// A request the server refuses. Each variant names its status ([`HttpError::status`]);
/// the protocol has queued that answer (with `Connection: close`) before returning the
/// error, and the connection closes after it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A malformed request (400): what was wrong.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A method this server does not implement (501).
    #[error("method not implemented")]
    NotImplemented,
    /// An `Expect` other than `100-continue` (417).
    #[error("unsupported Expect")]
    ExpectationFailed,
    /// A version other than HTTP/1.0 and HTTP/1.1 (505); Workerman 5.2 takes 1.2–1.9.
    #[error("HTTP version not supported")]
    VersionNotSupported,
    /// A head over the size limit, or with too many header lines (431).
    #[error("request head over the limit of {limit} bytes or header lines")]
    HeadTooLarge {
        /// The limit that was crossed.
        limit: usize,
    },
    /// A chunked body's trailer section over its limit (431).
    #[error("trailer section over the limit of {limit} bytes")]
    TrailersTooLarge {
        /// [`Config::max_trailer_size`](crate::Config::max_trailer_size).
        limit: usize,
    },
    /// A request target over the limit (414).
    #[error("request target of {length} bytes is over the limit of {limit}")]
    TargetTooLong {
        /// Its length.
        length: usize,
        /// [`Config::max_target_length`](crate::Config::max_target_length).
        limit: usize,
    },
    /// A body over the limit (413), refused when its length is declared (or when a chunk
    /// would cross it), before it is buffered.
    #[error("body of at least {length} bytes is over the limit of {limit}")]
    BodyTooLarge {
        /// The size the body would reach.
        length: u64,
        /// [`Config::max_body_size`](crate::Config::max_body_size).
        limit: usize,
    },
    /// The peer closed the connection in the middle of a request. No answer is sent.
    #[error("connection closed with {buffered} bytes of an unfinished request")]
    UnexpectedEof {
        /// Bytes of the unfinished request still buffered.
        buffered: usize,
    },
    /// The application asked the encoder for something HTTP cannot send: a body longer
    /// than its declared `Content-Length`, a [`Chunk`](crate::Chunk) or
    /// [`Event`](crate::Event) with no streamed response for it, a second response while
    /// one is streaming. Nothing was written.
    #[error("cannot send: {0}")]
    InvalidResponse(&'static str),
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl HttpError {
    /// The status this error is answered with, or `None` when no answer can be sent (end
    /// of input, transport failure).
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Self::BadRequest(_) => 400,
            Self::NotImplemented => 501,
            Self::VersionNotSupported => 505,
            Self::ExpectationFailed => 417,
            Self::HeadTooLarge { .. } | Self::TrailersTooLarge { .. } => 431,
            Self::TargetTooLong { .. } => 414,
            Self::BodyTooLarge { .. } => 413,
            Self::UnexpectedEof { .. } | Self::InvalidResponse(_) | Self::Io(_) => return None,
        })
    }

    /// Writes the answer for this error: the status line, `Connection: close` and an empty
    /// body (Workerman's replies, with a `Content-Length: 0` so that clients need not wait
    /// for the close).
    pub fn write_response(&self, dst: &mut BytesMut) {
        let Some(status) = self.status() else {
            return;
        };
        dst.put_slice(b"HTTP/1.1 ");
        dst.put_slice(status.to_string().as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(wm_protocol::http1::reason_phrase(status).as_bytes());
        dst.put_slice(b"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
}
