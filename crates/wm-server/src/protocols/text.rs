//! `text://`: one `\n`-terminated line per message ([`wm_text`]).

use bytes::BytesMut;
use wm_text::{Text, TextBytes};

use super::{encode_with, json_text, unsupported, DecodeError, DynProtocol, ProtocolContext};
use crate::{Message, SendError};

/// Workerman's `text://`: lines in, `Message::Text` out (`Message::Binary` for a line that
/// is not UTF-8); the line limit is the package size less one (Workerman's
/// `maxPackageSize - 1` rule).
///
/// Lines come from [`TextBytes::decode_text`], one `String` at a time as each is handed
/// out ([`Text`] makes the `String`s of a whole read at once, which suits a decoder
/// benchmark but keeps many allocations alive in a server, where the allocator's
/// per-thread cache then misses). Workerman passes lines through whatever their encoding
/// (a GBK or Latin-1 client), so a line that is not UTF-8 is a message too, as bytes.
#[derive(Debug)]
pub struct TextProtocol {
    lines: TextBytes,
    text: Text,
}

impl TextProtocol {
    /// A connection with these limits.
    pub fn new(context: &ProtocolContext) -> Self {
        Self {
            lines: TextBytes::with_limits(&context.limits),
            text: Text::with_limits(&context.limits),
        }
    }
}

impl DynProtocol for TextProtocol {
    fn scheme(&self) -> &'static str {
        "text"
    }

    fn set_max_package_size(&mut self, bytes: usize) {
        // Workerman's rule, as in `with_limits`: a line one byte shorter.
        let line = bytes.saturating_sub(1);
        self.lines.set_max_line_length(line);
        self.text.set_max_line_length(line);
    }

    fn decodes_apart(&self) -> bool {
        true
    }

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .lines
            .decode_text(src)
            .map_err(DecodeError::new)?
            .map(|line| match line {
                Ok(text) => Message::Text(text),
                Err(not_utf8) => Message::Binary(not_utf8.line),
            }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        match self.decode(src)? {
            Some(message) => Ok(Some(message)),
            None => wm_text::Error::check_eof(src.len())
                .map(|()| None)
                .map_err(DecodeError::new),
        }
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
