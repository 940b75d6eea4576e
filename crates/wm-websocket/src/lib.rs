//! RFC 6455 WebSocket for Workerman's `websocket://` (server) and `ws://` (client)
//! schemes.
//!
//! **Work in progress** (issue 3). This crate has, so far, the frame layer:
//!
//! * [`frame`]: [`FrameHeader::parse`](frame::FrameHeader::parse) checks every RFC 6455
//!   rule a header can break (reserved bits and opcodes, fragmented or long control frames,
//!   non-minimal lengths, the 64-bit MSB, masking by role, a payload limit) as soon as the
//!   bytes it needs arrive; [`FrameHeader::encode`](frame::FrameHeader::encode) writes the
//!   minimal form.
//! * [`apply_mask`]: the payload mask, eight bytes at a time, resumable mid-payload.
//! * [`FrameError`] names what was wrong and the close code it calls for.
//! * [`close::CloseFrame`]: the close payload, with the code and reason rules (1002 for a
//!   1-byte payload or a code that may not be sent, 1007 for a reason that is not UTF-8).
//! * [`utf8::Utf8Validator`]: UTF-8 checked piece by piece as a text message arrives, so
//!   an invalid message fails at its first bad byte.
//!
//! The message layer (fragments, UTF-8, control frames, close handshake), the handshakes
//! and the tokio-util codec come next.
//!
//! ```
//! use wm_websocket::frame::{FrameHeader, HeaderRules, OpCode, Role};
//! use wm_websocket::apply_mask;
//!
//! // RFC 6455 §5.7: a masked "Hello" from a client.
//! let wire = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
//! let rules = HeaderRules { role: Role::Server, rsv1_allowed: false, max_payload: 1 << 20 };
//! let (header, length) = FrameHeader::parse(wire, &rules).unwrap().unwrap();
//! assert_eq!((header.opcode, header.fin, header.payload_length), (OpCode::Text, true, 5));
//! let mut payload = wire[length..].to_vec();
//! apply_mask(&mut payload, header.mask.unwrap(), 0);
//! assert_eq!(payload, b"Hello");
//! ```

pub mod close;
mod config;
mod error;
pub mod frame;
pub mod handshake;
mod mask;
mod message;
mod protocol;
#[cfg(feature = "tokio")]
mod stream;
pub mod utf8;

pub use config::{
    Config, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_HANDSHAKE_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE, MAX_HANDSHAKE_HEADERS,
};
pub use error::{CloseCode, Error, FrameError};
pub use frame::Role;
pub use mask::apply_mask;
pub use message::Message;
pub use protocol::{State, WebSocket};
#[cfg(feature = "tokio")]
pub use stream::{accept, accept_with, connect, connect_with, WebSocketStream};
pub use wm_protocol::{Encode, Protocol};

/// [`WebSocket`] as a tokio-util `Decoder` + `Encoder`, for `Framed`.
#[cfg(feature = "tokio-util")]
pub type WebSocketCodec = wm_protocol::Codec<WebSocket>;
