//! The sending side: data and control frames, and our close, checked against where the
//! connection is ([`State`]); frames put on the wire in their minimal form.

use bytes::{BufMut, Bytes, BytesMut};
use wm_protocol::Encode;

use super::{State, WebSocket};
use crate::close::CloseFrame;
use crate::error::{CloseCode, Error};
use crate::frame::{FrameHeader, OpCode, Role, MAX_CONTROL_PAYLOAD};
use crate::mask::apply_mask;
use crate::message::Message;

impl WebSocket {
    fn encode_frame(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        match self.state {
            State::Open => {}
            State::Handshake if self.close_queued => return Err(Error::SendAfterClose),
            State::Handshake => {
                let queued = self.early.len();
                if queued + payload.len() > self.config.max_message_size {
                    return Err(Error::QueueFull {
                        queued,
                        limit: self.config.max_message_size,
                    });
                }
                put_frame(self.role, &mut self.early, opcode, payload);
                return Ok(());
            }
            State::Closing | State::Closed => return Err(Error::SendAfterClose),
        }
        put_frame(self.role, dst, opcode, payload);
        Ok(())
    }

    fn encode_control(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlPayloadTooLong {
                length: payload.len(),
            });
        }
        self.encode_frame(opcode, payload, dst)
    }

    fn encode_close(
        &mut self,
        close: Option<&CloseFrame>,
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        let mut payload = BytesMut::new();
        if let Some(close) = close {
            if !close.code.is_sendable() {
                return Err(Error::UnsendableCloseCode(close.code.0));
            }
            close.encode(&mut payload);
        }
        match self.state {
            // A close after the peer's (which was echoed) or after our own is a no-op, so
            // that "answer a Close with a Close" is harmless.
            State::Closing | State::Closed => Ok(()),
            State::Handshake if self.close_queued => Ok(()),
            State::Handshake | State::Open => {
                self.encode_frame(OpCode::Close, &payload, dst)?;
                // Nothing follows our close, not even a pong still owed.
                self.pongs.clear();
                self.pong_overflow = None;
                match self.state {
                    State::Open => self.state = State::Closing,
                    _ => self.close_queued = true,
                }
                Ok(())
            }
        }
    }
}

/// Appends one unfragmented frame: unmasked from a server, masked with a fresh random key
/// from a client. The payload is copied once, then masked in place.
#[inline]
pub(super) fn put_frame(role: Role, dst: &mut BytesMut, opcode: OpCode, payload: &[u8]) {
    if role == Role::Server && payload.len() <= 125 {
        // The short header of a server frame: FIN + opcode, then the length.
        dst.reserve(2 + payload.len());
        dst.put_slice(&[0x80 | opcode.bits(), payload.len() as u8]);
        dst.put_slice(payload);
        return;
    }
    let header = FrameHeader {
        fin: true,
        rsv1: false,
        opcode,
        mask: match role {
            Role::Server => None,
            Role::Client => Some(rand::random()),
        },
        payload_length: payload.len() as u64,
    };
    dst.reserve(header.encoded_length() + payload.len());
    header.encode(dst);
    let start = dst.len();
    dst.put_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut dst[start..], key, 0);
    }
}

impl Encode<Message> for WebSocket {
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), Error> {
        match &message {
            Message::Text(text) => self.encode_frame(OpCode::Text, text.as_bytes(), dst),
            Message::Binary(data) => self.encode_frame(OpCode::Binary, data, dst),
            Message::Ping(data) => self.encode_control(OpCode::Ping, data, dst),
            Message::Pong(data) => self.encode_control(OpCode::Pong, data, dst),
            Message::Close(close) => self.encode_close(close.as_ref(), dst),
        }
    }
}

/// A text message.
impl Encode<&str> for WebSocket {
    fn encode(&mut self, text: &str, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_frame(OpCode::Text, text.as_bytes(), dst)
    }
}

/// A text message.
impl Encode<String> for WebSocket {
    fn encode(&mut self, text: String, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_frame(OpCode::Text, text.as_bytes(), dst)
    }
}

/// A binary message.
impl Encode<&[u8]> for WebSocket {
    fn encode(&mut self, data: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_frame(OpCode::Binary, data, dst)
    }
}

/// A binary message.
impl Encode<Bytes> for WebSocket {
    fn encode(&mut self, data: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_frame(OpCode::Binary, &data, dst)
    }
}

/// Closing with a code that is not a valid code to send fails with
/// [`Error::UnsendableCloseCode`].
impl Encode<CloseCode> for WebSocket {
    fn encode(&mut self, code: CloseCode, dst: &mut BytesMut) -> Result<(), Error> {
        let close = CloseFrame {
            code,
            reason: String::new(),
        };
        self.encode_close(Some(&close), dst)
    }
}
