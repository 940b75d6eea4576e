//! The codec crates behind one object-safe trait, so that a scheme picked at run time
//! (`"websocket://…"`) gives a protocol the connection driver can run.
//!
//! | scheme | receives | sends |
//! |---|---|---|
//! | `text` | `Text` (a line), `Binary` (a line that is not UTF-8) | `Text`, `Binary` (one line each), `Json` (its text) |
//! | `frame` | `Binary` | `Binary`, `Text`, `Json` (its text) |
//! | `jsonnl` | `Json`, `BadJson` | `Json`, `Text` (as a JSON string) |
//! | `websocket` | `Text`, `Binary`, `Ping`, `Pong` | `Text`, `Binary`, `Json` (as text), `Ping`, `Pong` |
//! | `http` | `Request` | `Response`, `Chunk`, `Event`, `Text` (`200` HTML), `Binary` (`200` octets), `Json` (`200` JSON) |
//! | `tcp`, `unix`, `udp` | `Binary` (what one read or datagram held) | `Binary`, `Text` (as is) |
//!
//! A protocol of the application's own is a [`DynProtocol`] (or a
//! [`wm_protocol::Protocol`] wrapped in [`Custom`]), registered under its scheme in a
//! [`Registry`](crate::Registry).

use bytes::BytesMut;
use std::error::Error as StdError;

use crate::{Message, SendError};

mod custom;
mod frame;
mod http;
mod jsonnl;
mod raw;
mod text;
pub(crate) mod websocket;

pub use custom::Custom;
pub use frame::FrameProtocol;
pub use http::HttpServerProtocol;
pub use jsonnl::JsonNlServerProtocol;
pub use raw::RawProtocol;
pub use text::TextProtocol;
pub use websocket::WebSocketProtocol;

/// A decode error: the connection cannot go on. Whatever the protocol answers on the
/// wire (an HTTP status, a WebSocket close code) has been queued in
/// [`DynProtocol::take_output`] and is written before the connection closes.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DecodeError(Box<dyn StdError + Send + Sync>);

impl DecodeError {
    /// Wraps the protocol's own error.
    pub fn new(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(error.into())
    }

    /// The protocol's own error (`wm_protocol::Error`, `wm_websocket::Error`,
    /// `wm_http::HttpError`, …), for `downcast_ref`.
    pub fn inner(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

/// Why the application or the server closes a connection; each protocol puts it on the
/// wire its own way (a WebSocket close code; nothing for the framing protocols).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application is done with the connection (WebSocket 1000).
    Normal,
    /// The server is stopping (WebSocket 1001).
    GoingAway,
    /// A handler panicked while handling this connection (WebSocket 1011, HTTP 500 to an
    /// unanswered request).
    InternalError,
    /// A WebSocket close code and reason of the application's choosing.
    WebSocket {
        /// The close code (1000–4999, sendable).
        code: u16,
        /// At most 123 bytes of UTF-8.
        reason: String,
    },
}

/// One connection's protocol, with its messages as [`Message`]s: what the connection
/// driver runs, whatever the scheme. Sans-IO, like [`wm_protocol::Protocol`].
pub trait DynProtocol: Send + 'static {
    /// The scheme's name, for errors and logs.
    fn scheme(&self) -> &'static str;

    /// Decodes the next message from the front of `src`, or `None` until more bytes
    /// arrive. Bytes it must answer by itself (a pong, a handshake reply, an error
    /// status) are queued for [`take_output`](Self::take_output).
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError>;

    /// As `decode`, after the peer closed its side: what is left must be a whole message.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError>;

    /// Appends `message` to `dst` in the wire form.
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError>;

    /// Moves the bytes the protocol queued by itself to `dst`; returns how many.
    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        let _ = dst;
        0
    }

    /// Starts closing at the protocol level, appending what that takes to `dst` (a
    /// WebSocket close frame). Returns `true` if the driver should go on reading until
    /// [`finished`](Self::finished) (the peer's close frame; responses to requests already
    /// handed out), `false` if the transport can close once `dst` is written.
    fn close(&mut self, reason: &CloseReason, dst: &mut BytesMut) -> bool {
        let _ = (reason, dst);
        false
    }

    /// The protocol is done: once its output is written, the transport closes (an HTTP
    /// response said `Connection: close`; both WebSocket closes were exchanged).
    fn finished(&self) -> bool {
        false
    }

    /// Once the opening handshake is done: what it carried (the WebSocket upgrade request
    /// a server accepted, the `101` a client received), moved out for
    /// [`Handler::on_open`](crate::Handler::on_open). `None` for protocols without one,
    /// and after the first call.
    fn take_opening(&mut self) -> Option<Opening> {
        None
    }

    /// Answers are owed to the peer that only the application can give (HTTP requests
    /// handed out and not answered yet): after the peer half-closes, the connection waits
    /// for them rather than closing at once.
    fn owes_answers(&self) -> bool {
        false
    }

    /// The opening handshake is not done yet (what a handshake timeout watches).
    fn handshaking(&self) -> bool {
        false
    }

    /// The next bytes belong to a message head (an HTTP request head, the WebSocket
    /// handshake request): what a header-read timeout watches while any are buffered.
    fn reading_head(&self) -> bool {
        false
    }

    /// Decoding shares no state with the rest of the protocol: it queues no output of
    /// its own, there is no handshake, and nothing decoded finishes the protocol. The
    /// driver then decodes with an instance of its own, made by the same factory, and
    /// takes the connection's lock only to encode (text, frame, JSON lines and raw
    /// bytes). `false` by default: decoding happens under the connection's lock.
    fn decodes_apart(&self) -> bool {
        false
    }

    /// For a WebSocket: its decoder of whole small text and binary frames, while the
    /// protocol is between messages and open
    /// ([`WebSocket::small_frames`](wm_websocket::WebSocket::small_frames)). The driver
    /// decodes such frames with it, without the connection's lock, until the protocol
    /// decodes again; everything else goes to [`decode`](Self::decode). `None` by
    /// default.
    fn small_frames(&self) -> Option<wm_websocket::SmallFrames> {
        None
    }

    /// Whether an answer to the latest message handed out would go out in its place:
    /// no answer owed before it (HTTP: it is the only request unanswered, and no body is
    /// being streamed). `true` by default (a protocol without answers in order).
    fn answer_turn(&self) -> bool {
        true
    }

    /// Changes the package size for what is decoded from now on
    /// ([`Connection::set_max_package_size`](crate::Connection::set_max_package_size));
    /// the built-in schemes apply it the way their constructor applies
    /// [`ProtocolContext::limits`]. Does nothing by default (a scheme of the
    /// application's own keeps the limit it was built with).
    fn set_max_package_size(&mut self, bytes: usize) {
        let _ = bytes;
    }

    /// What a heartbeat sends, given the [`Heartbeat::data`](crate::Heartbeat::data):
    /// the data as a text message by default (nothing without it); a WebSocket sends a
    /// ping frame without data; HTTP sends nothing (a response nobody asked for would be
    /// taken as the answer to the next request).
    fn heartbeat(&self, data: Option<&'static str>) -> Option<Message> {
        data.map(|data| Message::Text(data.to_owned()))
    }
}

/// Decodes with `protocol`, turning a panic in it (a protocol of the application's own, a
/// WebSocket handshake hook) into a [`ProtocolPanicked`] decode error, logged and counted
/// in `counters`: the panic fails the connection (or the datagram) it belongs to, not the
/// thread or the listener. What was buffered is dropped, since the protocol's state can no
/// longer be trusted with it.
pub(crate) fn decode_guarded(
    protocol: &mut dyn DynProtocol,
    src: &mut BytesMut,
    eof: bool,
    counters: &crate::stats::Counters,
) -> Result<Option<Message>, DecodeError> {
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if eof {
            protocol.decode_eof(src)
        } else {
            protocol.decode(src)
        }
    }));
    decoded.unwrap_or_else(|_| {
        tracing::error!(
            scheme = protocol.scheme(),
            "the protocol panicked while decoding"
        );
        crate::stats::Counters::add(&counters.handler_panics, 1);
        src.clear();
        Err(DecodeError::new(ProtocolPanicked))
    })
}

/// A protocol panicked while decoding (see [`DecodeError::inner`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the protocol panicked while decoding")]
#[non_exhaustive]
pub struct ProtocolPanicked;

/// What an opening handshake carried, for [`Handler::on_open`](crate::Handler::on_open).
#[derive(Debug)]
#[non_exhaustive]
pub enum Opening {
    /// A WebSocket server accepted this upgrade request (its path, query, headers,
    /// `Origin`, offered subprotocols).
    WebSocketRequest(wm_websocket::handshake::Request),
    /// A WebSocket client received this `101` (its selected subprotocol, headers).
    WebSocketResponse(wm_websocket::handshake::Response),
}

/// What a [`DynProtocol`] built for a new connection may depend on.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ProtocolContext {
    /// The connection-wide limits of the listener or client.
    pub limits: wm_protocol::Limits,
    /// The connection is a client's (masking WebSocket frames, for one).
    pub client: bool,
    /// permessage-deflate for a WebSocket connection, from
    /// [`ConnectionOptions::deflate`](crate::ConnectionOptions::deflate).
    pub deflate: Option<wm_websocket::deflate::DeflateConfig>,
    /// The peer of a TCP or UDP connection, for the requests it sends
    /// (`Request::remote_addr` in wm-http and wm-websocket's handshake).
    pub peer: Option<std::net::SocketAddr>,
}

/// Encodes with a [`wm_protocol::Encode`] impl, mapping its error to
/// [`SendError::Encode`].
fn encode_with<P, T>(protocol: &mut P, item: T, dst: &mut BytesMut) -> Result<(), SendError>
where
    P: wm_protocol::Encode<T>,
    P::Error: StdError + Send + Sync + 'static,
{
    protocol
        .encode(item, dst)
        .map_err(|error| SendError::Encode(Box::new(error)))
}

fn unsupported(scheme: &'static str, message: &Message) -> SendError {
    SendError::Unsupported {
        scheme,
        kind: message.kind(),
    }
}

fn json_text(value: &serde_json::Value) -> String {
    // A serde_json Value always serialises.
    value.to_string()
}
