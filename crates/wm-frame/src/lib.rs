//! Workerman's `frame` protocol: a 4-byte big-endian length, **counting its own 4 bytes**,
//! then the body. `"hello"` is `00 00 00 09 68 65 6c 6c 6f`; an empty body is `00 00 00 04`.
//!
//! * **Decode** yields each body as [`Bytes`], a slice of the read buffer (no copy).
//! * **Limit**: a frame, header included, may be at most `max_frame_length` bytes, by
//!   default Workerman's package size (10 MiB). The declared length is checked as soon as
//!   the 4 header bytes are in, before any memory is reserved for the body:
//!   [`Error::PacketTooLarge`]. Memory for a body that is still arriving is reserved at
//!   most [`MAX_RESERVE_AHEAD`](wm_protocol::MAX_RESERVE_AHEAD) at a time.
//! * Declared lengths 0 to 3 are [`Error::LengthBelowHeader`]. (Workerman stalls forever on
//!   0 and loses frame sync on 1 to 3.)
//! * End of input inside a frame is [`Error::UnexpectedEof`].
//! * **Encode** accepts anything that is `AsRef<[u8]>`; a body that does not fit the 32-bit
//!   length is [`Error::PacketTooLarge`]. Only the receiving side applies
//!   `max_frame_length`, as in Workerman.
//!
//! [`FrameCodec`] is the same as a tokio-util codec. [`Frame`] is the
//! [`PacketProtocol`] of [`FrameFormat`]: the same incremental loop as any custom
//! protocol, with the header read once per frame.
//!
//! # Dependencies
//!
//! ```toml
//! [dependencies]
//! wm-frame = "0.1"
//! bytes = "1"
//! tokio = { version = "1", features = ["net", "io-util", "rt", "macros"] }
//! tokio-util = { version = "0.7", features = ["codec"] }
//! futures-util = { version = "0.3", features = ["sink"] }
//! ```
//!
//! Features: `tokio-util` (default) for [`FrameCodec`]. `default-features = false` leaves
//! the sans-IO protocol.
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
//!
//! A codec with other limits is `Codec::from` the configured protocol ([`Codec`] and
//! [`Limits`] are re-exported here):
//!
//! ```
//! use wm_frame::{Codec, Frame, FrameCodec};
//!
//! let codec: FrameCodec = Codec::from(Frame::with_max_frame_length(64 * 1024));
//! # let _ = codec;
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use wm_protocol::packet::{EncodePacket, Input, PacketFormat, PacketProtocol};
use wm_protocol::DEFAULT_MAX_PACKAGE_SIZE;

// The shared pieces this crate's protocols are built on, re-exported so that a project
// depending on this crate alone can name them: the sans-IO traits, the limits, the
// framing error, and (feature `tokio-util`) the `Framed` adapter.
#[cfg(feature = "tokio-util")]
pub use wm_protocol::Codec;
pub use wm_protocol::{Encode, Error, Limits, Protocol};

/// Size of the length header, which the length counts.
pub const HEADER_LENGTH: usize = 4;

/// The default largest frame, header included: Workerman's package size, 10 MiB.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = DEFAULT_MAX_PACKAGE_SIZE;

/// [`Frame`] as a tokio-util `Decoder` + `Encoder`.
#[cfg(feature = "tokio-util")]
pub type FrameCodec = wm_protocol::Codec<Frame>;

/// The frame wire format: what Workerman's `Frame` class says, as a [`PacketFormat`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameFormat;

impl PacketFormat for FrameFormat {
    type Message = Bytes;

    #[inline]
    fn input(&mut self, buf: &[u8], _examined: usize) -> Result<Input, Error> {
        let Some(header) = buf.first_chunk::<HEADER_LENGTH>() else {
            return Ok(Input::NeedMore);
        };
        let length = u32::from_be_bytes(*header);
        if (length as usize) < HEADER_LENGTH {
            return Err(Error::LengthBelowHeader {
                length: length.into(),
                header: HEADER_LENGTH,
            });
        }
        Ok(Input::Packet(length as usize))
    }

    #[inline]
    fn decode(&mut self, mut frame: Bytes) -> Result<Option<Bytes>, Error> {
        frame.advance(HEADER_LENGTH);
        Ok(Some(frame))
    }
}

impl<T: AsRef<[u8]>> EncodePacket<T> for FrameFormat {
    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        let body = item.as_ref();
        let total = body.len() + HEADER_LENGTH;
        let length = u32::try_from(total).map_err(|_| Error::PacketTooLarge {
            length: total as u64,
            limit: u32::MAX as usize,
        })?;
        dst.reserve(total);
        dst.put_u32(length);
        dst.put_slice(body);
        Ok(())
    }
}

/// The frame protocol for one connection.
#[derive(Debug, Clone)]
pub struct Frame {
    frames: PacketProtocol<FrameFormat>,
}

impl Frame {
    /// The protocol with Workerman's limit ([`DEFAULT_MAX_FRAME_LENGTH`]).
    pub fn new() -> Self {
        Self::with_max_frame_length(DEFAULT_MAX_FRAME_LENGTH)
    }

    /// The protocol accepting frames of at most `max_frame_length` bytes, header included.
    pub fn with_max_frame_length(max_frame_length: usize) -> Self {
        Self {
            frames: PacketProtocol::with_max_package_size(FrameFormat, max_frame_length),
        }
    }

    /// The protocol with the package size of `limits` as its frame limit.
    pub fn with_limits(limits: &Limits) -> Self {
        Self::with_max_frame_length(limits.max_package_size)
    }

    /// The largest accepted frame, header included.
    pub fn max_frame_length(&self) -> usize {
        self.frames.max_package_size()
    }

    /// Changes the frame limit for frames whose header is read from now on.
    pub fn set_max_frame_length(&mut self, max_frame_length: usize) {
        self.frames.set_max_package_size(max_frame_length);
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
        self.frames.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        self.frames.decode_eof(src)
    }
}

impl<T: AsRef<[u8]>> Encode<T> for Frame {
    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        self.frames.encode(item, dst)
    }
}
