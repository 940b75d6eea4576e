//! What handlers receive and send, whatever the scheme.

use std::any::Any;
use std::fmt;

use bytes::Bytes;
use serde_json::Value;

/// One message received from, or to send to, a connection.
///
/// Small (48 bytes: the larger payloads are boxed), as it is moved from the decoder to the
/// handler to the encoder.
///
/// A listener's scheme decides which variants it hands out and which it can send
/// ([`crate::protocols`] has the table); sending one it cannot put on the wire is a
/// [`SendError::Unsupported`](crate::SendError::Unsupported), never a panic.
#[non_exhaustive]
pub enum Message {
    /// A line of `text://`, a WebSocket text message. Sent over `jsonnl://` it becomes a
    /// JSON string (Workerman's `json_encode`); over `http://`, a `200` HTML response.
    Text(String),
    /// A `frame://` packet, a WebSocket binary message, the bytes of one read on `tcp://`
    /// or `unix://`, one datagram on `udp://`.
    Binary(Bytes),
    /// A `jsonnl://` line. Boxed: a `Value` keeps its object keys in order (an index
    /// map), which would make every message larger.
    Json(Box<Value>),
    /// A `jsonnl://` line that is not JSON, or too long: reported, and the stream goes on.
    /// Only received.
    BadJson(Box<wm_jsonnl::JsonNlError>),
    /// An `http://` request, body collected.
    Request(Box<wm_http::Request>),
    /// An `http://` response to the oldest request not yet answered.
    Response(Box<wm_http::Response>),
    /// The next piece of a chunked `http://` response body.
    Chunk(wm_http::Chunk),
    /// A Server-Sent Event, after a `text/event-stream` response head.
    Event(Box<wm_http::Event>),
    /// A WebSocket ping, received (the pong is already on its way) or to send.
    Ping(Bytes),
    /// A WebSocket pong, received or to send.
    Pong(Bytes),
    /// A message of a protocol registered by the application.
    Custom(Box<dyn Any + Send>),
}

impl Message {
    /// The variant's name, for errors and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Binary(_) => "binary",
            Self::Json(_) => "json",
            Self::BadJson(_) => "bad json",
            Self::Request(_) => "request",
            Self::Response(_) => "response",
            Self::Chunk(_) => "chunk",
            Self::Event(_) => "event",
            Self::Ping(_) => "ping",
            Self::Pong(_) => "pong",
            Self::Custom(_) => "custom",
        }
    }

    /// The text of a `Text` message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The payload of a `Text` or `Binary` message.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Text(text) => Some(text.as_bytes()),
            Self::Binary(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Whether this is application data (not a ping, pong or a bad JSON line).
    pub fn is_data(&self) -> bool {
        !matches!(self, Self::Ping(_) | Self::Pong(_) | Self::BadJson(_))
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.debug_tuple("Text").field(text).finish(),
            Self::Binary(bytes) => f.debug_tuple("Binary").field(bytes).finish(),
            Self::Json(value) => f.debug_tuple("Json").field(value).finish(),
            Self::BadJson(error) => f.debug_tuple("BadJson").field(error).finish(),
            Self::Request(request) => f.debug_tuple("Request").field(request).finish(),
            Self::Response(response) => f.debug_tuple("Response").field(response).finish(),
            Self::Chunk(chunk) => f.debug_tuple("Chunk").field(chunk).finish(),
            Self::Event(event) => f.debug_tuple("Event").field(event).finish(),
            Self::Ping(data) => f.debug_tuple("Ping").field(data).finish(),
            Self::Pong(data) => f.debug_tuple("Pong").field(data).finish(),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
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
    fn from(bytes: Bytes) -> Self {
        Self::Binary(bytes)
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(bytes.into())
    }
}

impl From<&'static [u8]> for Message {
    fn from(bytes: &'static [u8]) -> Self {
        Self::Binary(Bytes::from_static(bytes))
    }
}

impl From<Value> for Message {
    fn from(value: Value) -> Self {
        Self::Json(Box::new(value))
    }
}

impl From<wm_http::Response> for Message {
    fn from(response: wm_http::Response) -> Self {
        Self::Response(Box::new(response))
    }
}

impl From<wm_http::Chunk> for Message {
    fn from(chunk: wm_http::Chunk) -> Self {
        Self::Chunk(chunk)
    }
}

impl From<wm_http::Event> for Message {
    fn from(event: wm_http::Event) -> Self {
        Self::Event(Box::new(event))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_stays_small() {
        assert!(std::mem::size_of::<super::Message>() <= 48);
    }
}
