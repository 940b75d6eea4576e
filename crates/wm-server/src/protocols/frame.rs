//! `frame://`: a 4-byte big-endian length that counts itself, then the payload
//! ([`wm_frame`]).

use bytes::BytesMut;
use wm_frame::Frame;
use wm_protocol::Protocol;

use super::{encode_with, json_text, unsupported, DecodeError, DynProtocol, ProtocolContext};
use crate::{Message, SendError};

/// Workerman's `frame://`: packets in, `Message::Binary` out (slices of the read buffer).
#[derive(Debug)]
pub struct FrameProtocol {
    frame: Frame,
}

impl FrameProtocol {
    /// A connection with these limits.
    pub fn new(context: &ProtocolContext) -> Self {
        Self {
            frame: Frame::with_limits(&context.limits),
        }
    }
}

impl DynProtocol for FrameProtocol {
    fn scheme(&self) -> &'static str {
        "frame"
    }

    fn set_max_package_size(&mut self, bytes: usize) {
        self.frame.set_max_frame_length(bytes);
    }

    fn decodes_apart(&self) -> bool {
        true
    }

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .frame
            .decode(src)
            .map_err(DecodeError::new)?
            .map(Message::Binary))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .frame
            .decode_eof(src)
            .map_err(DecodeError::new)?
            .map(Message::Binary))
    }

    #[inline]
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError> {
        match message {
            Message::Binary(bytes) => encode_with(&mut self.frame, &bytes[..], dst),
            Message::Text(text) => encode_with(&mut self.frame, text.as_bytes(), dst),
            Message::Json(value) => encode_with(&mut self.frame, json_text(&value).as_bytes(), dst),
            other => Err(unsupported(self.scheme(), &other)),
        }
    }
}
