//! The sending side: data and control frames, and our close, checked against where the
//! connection is ([`State`]); frames put on the wire in their minimal form.

use bytes::{BufMut, Bytes, BytesMut};
use wm_protocol::Encode;

use super::{State, WebSocket};
use crate::close::CloseFrame;
use crate::error::{CloseCode, Error};
use crate::frame::{FrameHeader, OpCode, Role, MAX_CONTROL_PAYLOAD, MAX_HEADER_LENGTH};
use crate::mask::apply_mask;
use crate::message::Message;

impl WebSocket {
    /// A text or binary message: compressed where permessage-deflate was agreed and the
    /// message reaches the threshold. Without it this is `put_frame` behind one test (open
    /// and no compression), inlined into the caller's loop: the compressing path stays out
    /// of line, since inlining it took small-frame encoding from 0.97× to 0.58× of the
    /// plain loop (benches `websocket/encode/small`), and the one test took it from 0.72×
    /// to 0.77× of the loop where the compression test came before `encode_frame`'s own.
    #[inline]
    fn encode_data(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        if self.state == State::Open && self.compression.is_none() {
            put_frame(self.role, dst, opcode, payload);
            return Ok(());
        }
        self.encode_compressible(opcode, payload, dst)
    }

    #[inline(never)]
    fn encode_compressible(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        if let Some(compression) = self.compression.as_deref_mut() {
            if self.state == State::Open && compression.compresses(payload.len()) {
                compression.put_frame(self.role, dst, opcode, payload);
                return Ok(());
            }
        }
        self.encode_frame(opcode, payload, dst)
    }

    #[inline]
    fn encode_frame(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        if self.state == State::Open {
            put_frame(self.role, dst, opcode, payload);
            return Ok(());
        }
        self.encode_frame_not_open(opcode, payload)
    }

    /// Before the handshake ends a frame is queued (sent after the handshake's answer);
    /// after a close nothing may be sent.
    #[cold]
    #[inline(never)]
    fn encode_frame_not_open(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        match self.state {
            State::Handshake if !self.close_queued => {
                // Each message counts with the largest header it can take, so that a
                // flood of empty messages is bounded too.
                let queued = self.early_bytes;
                let cost = payload.len() + MAX_HEADER_LENGTH;
                if queued + cost > self.config.max_message_size {
                    return Err(Error::QueueFull {
                        queued,
                        limit: self.config.max_message_size,
                    });
                }
                self.early_bytes += cost;
                self.early.push((opcode, Bytes::copy_from_slice(payload)));
                Ok(())
            }
            _ => Err(Error::SendAfterClose),
        }
    }

    /// Encodes the messages queued before the handshake ended, in order, now that it is
    /// known whether they may be compressed.
    pub(super) fn put_early(&mut self) {
        self.early_bytes = 0;
        for (opcode, payload) in std::mem::take(&mut self.early) {
            match self.compression.as_deref_mut() {
                Some(compression)
                    if !opcode.is_control() && compression.compresses(payload.len()) =>
                {
                    compression.put_frame(self.role, &mut self.output, opcode, &payload);
                }
                _ => put_frame(self.role, &mut self.output, opcode, &payload),
            }
        }
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
///
/// A server's frame is inlined into the caller's loop (through `encode_frame` and the
/// `Encode` impls, all `#[inline]`): its header is built in a small array and appended with
/// the payload, two copies after one `reserve`. That shape, rather than the header's bytes
/// put one by one or a constant two-byte slice, took encoding 2–125-byte frames from 0.8×
/// to about the speed of the best hand-written loop (benches `websocket/encode/small`);
/// a call per frame had cost a third of it. `#[inline(always)]`: with its callers from
/// permessage-deflate, a plain `#[inline]` was no longer taken, and the call cost 0.95× →
/// 0.76× of the loop there.
#[inline(always)]
pub(super) fn put_frame(role: Role, dst: &mut BytesMut, opcode: OpCode, payload: &[u8]) {
    if role == Role::Client {
        return put_masked_frame(dst, opcode, payload);
    }
    let length = payload.len();
    let mut head = [0; 10];
    head[0] = 0x80 | opcode.bits();
    let size = match length {
        0..=125 => {
            head[1] = length as u8;
            2
        }
        126..=0xFFFF => {
            head[1] = 126;
            head[2..4].copy_from_slice(&(length as u16).to_be_bytes());
            4
        }
        _ => {
            head[1] = 127;
            head[2..10].copy_from_slice(&(length as u64).to_be_bytes());
            10
        }
    };
    dst.reserve(size + length);
    dst.extend_from_slice(&head[..size]);
    dst.extend_from_slice(payload);
}

#[inline(never)]
fn put_masked_frame(dst: &mut BytesMut, opcode: OpCode, payload: &[u8]) {
    let header = FrameHeader {
        fin: true,
        rsv1: false,
        opcode,
        mask: Some(rand::random()),
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
    #[inline]
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), Error> {
        match &message {
            Message::Text(text) => self.encode_data(OpCode::Text, text.as_bytes(), dst),
            Message::Binary(data) => self.encode_data(OpCode::Binary, data, dst),
            Message::Ping(data) => self.encode_control(OpCode::Ping, data, dst),
            Message::Pong(data) => self.encode_control(OpCode::Pong, data, dst),
            Message::Close(close) => self.encode_close(close.as_ref(), dst),
        }
    }
}

/// A text message.
impl Encode<&str> for WebSocket {
    #[inline]
    fn encode(&mut self, text: &str, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_data(OpCode::Text, text.as_bytes(), dst)
    }
}

/// A text message.
impl Encode<String> for WebSocket {
    fn encode(&mut self, text: String, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_data(OpCode::Text, text.as_bytes(), dst)
    }
}

/// A binary message.
impl Encode<&[u8]> for WebSocket {
    #[inline]
    fn encode(&mut self, data: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_data(OpCode::Binary, data, dst)
    }
}

/// A binary message.
impl Encode<Bytes> for WebSocket {
    #[inline]
    fn encode(&mut self, data: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_data(OpCode::Binary, &data, dst)
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
