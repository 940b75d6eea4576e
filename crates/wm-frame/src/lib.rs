//! Workerman's `frame` protocol: a 4-byte big-endian length, **counting its own 4 bytes**,
//! then the body. `"hello"` is `00 00 00 09 68 65 6c 6c 6f`; an empty body is `00 00 00 04`.
//!
//! * **Decode** yields each body as [`Bytes`], a slice of the read buffer (no copy).
//! * **Limit**: a frame, header included, may be at most `max_frame_length` bytes, by
//!   default Workerman's package size (10 MiB). The declared length is checked as soon as
//!   the 4 header bytes are in, before any memory is reserved for the body:
//!   [`Error::PacketTooLarge`].
//! * Declared lengths 0 to 3 are [`Error::LengthBelowHeader`]. (Workerman stalls forever on
//!   0 and loses frame sync on 1 to 3.)
//! * End of input inside a frame is [`Error::UnexpectedEof`].
//! * **Encode** accepts anything that is `AsRef<[u8]>`; a body that does not fit the 32-bit
//!   length is [`Error::PacketTooLarge`]. Only the receiving side applies
//!   `max_frame_length`, as in Workerman.
//!
//! [`FrameCodec`] is the same as a tokio-util codec.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use futures_util::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//! use wm_frame::FrameCodec;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wm_frame::Error> {
//! let (client, server) = tokio::io::duplex(64);
//! let mut client = Framed::new(client, FrameCodec::new());
//! let mut server = Framed::new(server, FrameCodec::new());
//!
//! client.send(Bytes::from_static(b"\x00binary\xffbody")).await?;
//! let body: Bytes = server.next().await.unwrap()?;
//! server.send(body).await?;
//! assert_eq!(client.next().await.unwrap()?, &b"\x00binary\xffbody"[..]);
//! # Ok(())
//! # }
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use wm_protocol::{Encode, Limits, Protocol, DEFAULT_MAX_PACKAGE_SIZE};

pub use wm_protocol::Error;

/// Size of the length header, which the length counts.
pub const HEADER_LENGTH: usize = 4;

/// The default largest frame, header included: Workerman's package size, 10 MiB.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = DEFAULT_MAX_PACKAGE_SIZE;

/// [`Frame`] as a tokio-util `Decoder` + `Encoder`.
#[cfg(feature = "tokio-util")]
pub type FrameCodec = wm_protocol::Codec<Frame>;

/// The frame protocol for one connection.
#[derive(Debug, Clone)]
pub struct Frame {
    max_frame_length: usize,
    /// Total length of the frame at the front of the buffer, once its header was read.
    pending: Option<usize>,
}

impl Frame {
    /// The protocol with Workerman's limit ([`DEFAULT_MAX_FRAME_LENGTH`]).
    pub fn new() -> Self {
        Self::with_max_frame_length(DEFAULT_MAX_FRAME_LENGTH)
    }

    /// The protocol accepting frames of at most `max_frame_length` bytes, header included.
    pub fn with_max_frame_length(max_frame_length: usize) -> Self {
        Self {
            max_frame_length,
            pending: None,
        }
    }

    /// The protocol with the package size of `limits` as its frame limit.
    pub fn with_limits(limits: &Limits) -> Self {
        Self::with_max_frame_length(limits.max_package_size)
    }

    /// The largest accepted frame, header included.
    pub fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }

    /// Reads and checks the length header at the front of `src`.
    #[inline]
    fn frame_length(&self, src: &[u8]) -> Result<Option<usize>, Error> {
        let Some(header) = src.first_chunk::<HEADER_LENGTH>() else {
            return Ok(None);
        };
        let length = u32::from_be_bytes(*header);
        if (length as usize) < HEADER_LENGTH {
            return Err(Error::LengthBelowHeader {
                length: length.into(),
                header: HEADER_LENGTH,
            });
        }
        if length as usize > self.max_frame_length {
            return Err(Error::PacketTooLarge {
                length: length.into(),
                limit: self.max_frame_length,
            });
        }
        Ok(Some(length as usize))
    }
}

impl Default for Frame {
    fn default() -> Self {
        Self::new()
    }
}

impl Protocol for Frame {
    type Message = Bytes;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        let length = match self.pending {
            Some(length) => length,
            None => match self.frame_length(src)? {
                Some(length) => length,
                None => return Ok(None),
            },
        };
        if src.len() < length {
            // Checked against the limit above, so this reservation is bounded.
            src.reserve(length - src.len());
            self.pending = Some(length);
            return Ok(None);
        }
        self.pending = None;
        src.advance(HEADER_LENGTH);
        Ok(Some(src.split_to(length - HEADER_LENGTH).freeze()))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(Error::UnexpectedEof {
                buffered: src.len(),
            }),
        }
    }
}

impl<T: AsRef<[u8]>> Encode<T> for Frame {
    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        let body = item.as_ref();
        let length =
            u32::try_from(body.len() + HEADER_LENGTH).map_err(|_| Error::PacketTooLarge {
                length: (body.len() + HEADER_LENGTH) as u64,
                limit: u32::MAX as usize,
            })?;
        dst.reserve(HEADER_LENGTH + body.len());
        dst.put_u32(length);
        dst.put_slice(body);
        Ok(())
    }
}
