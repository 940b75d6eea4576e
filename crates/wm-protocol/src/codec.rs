use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::{Encode, Protocol};

/// Any [`Protocol`] as a tokio-util [`Decoder`] + [`Encoder`], ready for
/// `tokio_util::codec::Framed`.
///
/// This is the one adapter every `wm-*` crate uses: `wm_text::TextCodec` is
/// `Codec<wm_text::Text>`, `wm_frame::FrameCodec` is `Codec<wm_frame::Frame>`, and so on.
/// Build it with [`Codec::new`] for a protocol's defaults, or `Codec::from(protocol)` for a
/// configured one.
///
/// Bytes the protocol queues on its own ([`Protocol::take_output`]) are written ahead of the
/// next item encoded through the sink (and stay written if encoding that item fails);
/// drivers that must answer without waiting for the application (a WebSocket pong) use the
/// protocol directly instead.
#[derive(Debug, Clone, Default)]
pub struct Codec<P> {
    protocol: P,
}

impl<P> Codec<P> {
    /// The protocol with its default configuration.
    pub fn new() -> Self
    where
        P: Default,
    {
        Self::default()
    }

    /// The protocol inside.
    pub fn get_ref(&self) -> &P {
        &self.protocol
    }

    /// The protocol inside, to reconfigure it between messages.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.protocol
    }

    /// Gives the protocol back, with whatever state it holds.
    pub fn into_inner(self) -> P {
        self.protocol
    }
}

impl<P> From<P> for Codec<P> {
    fn from(protocol: P) -> Self {
        Self { protocol }
    }
}

impl<P: Protocol> Decoder for Codec<P> {
    type Item = P::Message;
    type Error = P::Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        self.protocol.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        self.protocol.decode_eof(src)
    }
}

impl<P: Encode<T>, T> Encoder<T> for Codec<P> {
    type Error = P::Error;

    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Self::Error> {
        self.protocol.take_output(dst);
        self.protocol.encode(item, dst)
    }
}
