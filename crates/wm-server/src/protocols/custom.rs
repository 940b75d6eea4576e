//! Any [`wm_protocol::Protocol`] as a [`DynProtocol`], for schemes of the application's
//! own.

use std::error::Error as StdError;

use bytes::BytesMut;
use wm_protocol::{Encode, Protocol};

use super::{encode_with, DecodeError, DynProtocol};
use crate::{Message, SendError};

/// A [`Protocol`] whose messages convert into [`Message`] (often as
/// `Message::Custom`) and that encodes [`Message`]s: register it with
/// [`Registry::register`](crate::Registry::register).
///
/// ```
/// use bytes::BytesMut;
/// use wm_server::protocols::Custom;
/// use wm_server::{Message, Registry};
///
/// /// Workerman's frame format with a 2-byte length, say.
/// #[derive(Default)]
/// struct Short;
///
/// impl wm_protocol::Protocol for Short {
///     type Message = Message;
///     type Error = wm_protocol::Error;
///     fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Self::Error> {
///         if src.len() < 2 {
///             return Ok(None);
///         }
///         let length = u16::from_be_bytes([src[0], src[1]]) as usize;
///         if src.len() < 2 + length {
///             return Ok(None);
///         }
///         let packet = src.split_to(2 + length).split_off(2);
///         Ok(Some(Message::Binary(packet.freeze())))
///     }
/// }
///
/// impl wm_protocol::Encode<Message> for Short {
///     fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), Self::Error> {
///         let data = message.as_bytes().unwrap_or_default();
///         let length = u16::try_from(data.len()).map_err(wm_protocol::Error::malformed)?;
///         dst.extend_from_slice(&length.to_be_bytes());
///         dst.extend_from_slice(data);
///         Ok(())
///     }
/// }
///
/// let mut registry = Registry::new();
/// registry.register("short", |_context| Box::new(Custom::new("short", Short)));
/// assert!(registry.contains("SHORT"));
/// ```
#[derive(Debug)]
pub struct Custom<P> {
    scheme: &'static str,
    protocol: P,
}

impl<P> Custom<P> {
    /// `protocol` under the name `scheme`.
    pub fn new(scheme: &'static str, protocol: P) -> Self {
        Self { scheme, protocol }
    }
}

impl<P> DynProtocol for Custom<P>
where
    P: Protocol + Encode<Message> + Send + 'static,
    P::Message: Into<Message>,
    P::Error: StdError + Send + Sync + 'static,
{
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .protocol
            .decode(src)
            .map_err(DecodeError::new)?
            .map(Into::into))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        Ok(self
            .protocol
            .decode_eof(src)
            .map_err(DecodeError::new)?
            .map(Into::into))
    }

    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError> {
        encode_with(&mut self.protocol, message, dst)
    }

    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        self.protocol.take_output(dst)
    }
}
