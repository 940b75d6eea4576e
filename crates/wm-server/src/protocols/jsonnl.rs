//! `jsonnl://`: one JSON value per line ([`wm_jsonnl`]).

use bytes::BytesMut;
use serde_json::Value;
use wm_jsonnl::{JsonNl, JsonNlProtocol};
use wm_protocol::Protocol;

use super::{encode_with, unsupported, DecodeError, DynProtocol, ProtocolContext};
use crate::{Message, SendError};

/// The manual's `JsonNL`: lines in, `Message::Json` out, and `Message::BadJson` for a
/// line that is not JSON or too long (the stream goes on).
#[derive(Debug)]
pub struct JsonNlServerProtocol {
    json: JsonNlProtocol<Value>,
}

impl JsonNlServerProtocol {
    /// A connection with these limits.
    pub fn new(context: &ProtocolContext) -> Self {
        Self {
            json: JsonNl::with_limits(&context.limits),
        }
    }
}

fn message(item: Result<Value, wm_jsonnl::JsonNlError>) -> Message {
    match item {
        Ok(value) => Message::Json(Box::new(value)),
        Err(error) => Message::BadJson(Box::new(error)),
    }
}

impl DynProtocol for JsonNlServerProtocol {
    fn scheme(&self) -> &'static str {
        "jsonnl"
    }

    fn set_max_package_size(&mut self, bytes: usize) {
        self.json.set_max_package_size(bytes);
    }

    fn decodes_apart(&self) -> bool {
        true
    }

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .json
            .decode(src)
            .map_err(DecodeError::new)?
            .map(message))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .json
            .decode_eof(src)
            .map_err(DecodeError::new)?
            .map(message))
    }

    #[inline]
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError> {
        match message {
            Message::Json(value) => encode_with(&mut self.json, &value, dst),
            // Workerman's JsonNL encodes whatever it is given with json_encode.
            Message::Text(text) => encode_with(&mut self.json, text.as_str(), dst),
            other => Err(unsupported(self.scheme(), &other)),
        }
    }
}
