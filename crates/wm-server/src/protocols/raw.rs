//! `tcp://`, `unix://`, `udp://` with no protocol: bytes as they come.

use bytes::{BufMut, BytesMut};

use super::{unsupported, DecodeError, DynProtocol};
use crate::{Message, SendError};

/// No framing: each read (or datagram) is one `Message::Binary`, and what is sent is
/// written as is.
#[derive(Debug, Default)]
pub struct RawProtocol {
    scheme: &'static str,
}

impl RawProtocol {
    /// Raw bytes for this transport scheme (`"tcp"`, `"unix"`, `"udp"`).
    pub fn new(scheme: &'static str) -> Self {
        Self { scheme }
    }
}

impl DynProtocol for RawProtocol {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn decodes_apart(&self) -> bool {
        true
    }

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        if src.is_empty() {
            return Ok(None);
        }
        Ok(Some(Message::Binary(src.split().freeze())))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        self.decode(src)
    }

    #[inline]
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError> {
        match message {
            Message::Binary(bytes) => dst.put_slice(&bytes),
            Message::Text(text) => dst.put_slice(text.as_bytes()),
            other => return Err(unsupported(self.scheme, &other)),
        }
        Ok(())
    }
}
