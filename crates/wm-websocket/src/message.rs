//! What the application sends and receives.

use bytes::Bytes;

use crate::close::CloseFrame;

/// One WebSocket message or control frame, as the application sees it.
///
/// The type travels with each message (Workerman fixes it per connection with
/// `websocketType`). Pings and pongs are handed out so that they can be observed; the
/// automatic pong has already been queued when a `Ping` comes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A complete text message, its UTF-8 already checked.
    Text(String),
    /// A complete binary message. An unfragmented one is a slice of the read buffer.
    Binary(Bytes),
    /// A ping (at most 125 bytes). Received: the pong is already queued (one for the
    /// latest ping, if several arrive before the output is taken, as RFC 6455 §5.5.3
    /// allows). Sent: asks for a pong.
    Ping(Bytes),
    /// A pong (at most 125 bytes).
    Pong(Bytes),
    /// The close handshake. Received: the peer's code and reason (`None` for an empty
    /// close); the echo has been queued. Sent: starts the close handshake.
    Close(Option<CloseFrame>),
}

impl Message {
    /// Whether this is a `Text` or `Binary` message rather than a control frame.
    pub fn is_data(&self) -> bool {
        matches!(self, Self::Text(_) | Self::Binary(_))
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Self::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Self::Binary(data.into())
    }
}
