//! `text://`: one `\n`-terminated line per message ([`wm_text`]).

use bytes::BytesMut;
use wm_protocol::Protocol;
use wm_text::{Text, TextBytes};

use super::{encode_with, json_text, unsupported, DecodeError, DynProtocol, ProtocolContext};
use crate::{Message, SendError};

/// Workerman's `text://`: lines in, `Message::Text` out; the line limit is the package
/// size less one (Workerman's `maxPackageSize - 1` rule).
#[derive(Debug)]
pub struct TextProtocol {
    text: Text,
}

impl TextProtocol {
    /// A connection with these limits.
    pub fn new(context: &ProtocolContext) -> Self {
        Self {
            text: Text::with_limits(&context.limits),
        }
    }
}

impl DynProtocol for TextProtocol {
    fn scheme(&self) -> &'static str {
        "text"
    }

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .text
            .decode(src)
            .map_err(DecodeError::new)?
            .map(Message::Text))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .text
            .decode_eof(src)
            .map_err(DecodeError::new)?
            .map(Message::Text))
    }

    #[inline]
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError> {
        match message {
            Message::Text(text) => encode_with(&mut self.text, text.as_str(), dst),
            Message::Binary(bytes) => encode_with(&mut TextBytes::default(), &bytes[..], dst),
            Message::Json(value) => encode_with(&mut self.text, json_text(&value), dst),
            other => Err(unsupported(self.scheme(), &other)),
        }
    }
}
