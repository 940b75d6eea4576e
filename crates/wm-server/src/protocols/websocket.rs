//! `websocket://` (server) and `ws://` (client): RFC 6455 ([`wm_websocket`]).

use bytes::BytesMut;
use wm_protocol::Protocol;
use wm_websocket::close::CloseFrame;
use wm_websocket::handshake::{ClientRequest, ServerOptions};
use wm_websocket::{CloseCode, Config, State, WebSocket};

use super::{
    encode_with, json_text, unsupported, CloseReason, DecodeError, DynProtocol, Opening,
    ProtocolContext,
};
use crate::{Message, SendError};

/// A WebSocket connection, handshake included: `Text`, `Binary`, `Ping` and `Pong` in
/// and out; pings answered and closes echoed by the protocol itself. Closing sends a
/// close frame and waits for the peer's.
#[derive(Debug)]
pub struct WebSocketProtocol {
    socket: WebSocket,
}

/// The WebSocket limits for a listener's connection limits: the package size bounds
/// messages and frames alike.
fn config(context: &ProtocolContext) -> Config {
    let limit = context.limits.max_package_size;
    Config::default()
        .max_message_size(limit)
        .max_frame_size(limit)
}

impl WebSocketProtocol {
    /// The server end, answering the opening handshake as `options` say, with the
    /// listener's permessage-deflate policy unless `options` have one of their own.
    pub fn server(context: &ProtocolContext, options: ServerOptions) -> Self {
        let options = match (context.deflate, options.deflate_config()) {
            (Some(config), None) => options.deflate(config),
            _ => options,
        }
        .remote_addr(context.peer);
        Self {
            socket: WebSocket::accepting(config(context), options),
        }
    }

    /// The client end, sending `request` as its opening handshake, offering the
    /// client's permessage-deflate unless `request` offers its own.
    pub fn client(context: &ProtocolContext, request: ClientRequest) -> Self {
        let request = match (context.deflate, request.deflate_config()) {
            (Some(config), None) => request.deflate(config),
            _ => request,
        };
        let socket = WebSocket::connecting(config(context), request)
            .expect("a ClientRequest that was built is always valid");
        Self { socket }
    }

    /// The protocol state machine.
    pub fn get_ref(&self) -> &WebSocket {
        &self.socket
    }
}

pub(crate) fn message(message: wm_websocket::Message) -> Option<Message> {
    match message {
        wm_websocket::Message::Text(text) => Some(Message::Text(text)),
        wm_websocket::Message::Binary(data) => Some(Message::Binary(data)),
        wm_websocket::Message::Ping(data) => Some(Message::Ping(data)),
        wm_websocket::Message::Pong(data) => Some(Message::Pong(data)),
        // The echo is queued; the driver closes once it is written, and the handler
        // hears of it through on_close.
        wm_websocket::Message::Close(_) => None,
    }
}

impl DynProtocol for WebSocketProtocol {
    fn scheme(&self) -> &'static str {
        "websocket"
    }

    #[inline]
    fn small_frames(&self) -> Option<wm_websocket::SmallFrames> {
        self.socket.small_frames()
    }

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        loop {
            match self.socket.decode(src).map_err(DecodeError::new)? {
                None => return Ok(None),
                Some(decoded) => {
                    if let Some(message) = message(decoded) {
                        return Ok(Some(message));
                    }
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        loop {
            match self.socket.decode_eof(src).map_err(DecodeError::new)? {
                None => return Ok(None),
                Some(decoded) => {
                    if let Some(message) = message(decoded) {
                        return Ok(Some(message));
                    }
                }
            }
        }
    }

    #[inline]
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError> {
        if matches!(self.socket.state(), State::Closing | State::Closed) {
            return Err(SendError::Closed);
        }
        let message = match message {
            Message::Text(text) => wm_websocket::Message::Text(text),
            Message::Binary(data) => wm_websocket::Message::Binary(data),
            Message::Json(value) => wm_websocket::Message::Text(json_text(&value)),
            Message::Ping(data) => wm_websocket::Message::Ping(data),
            Message::Pong(data) => wm_websocket::Message::Pong(data),
            other => return Err(unsupported(self.scheme(), &other)),
        };
        encode_with(&mut self.socket, message, dst)
    }

    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        if !self.socket.has_output() {
            return 0;
        }
        self.socket.take_output(dst)
    }

    fn close(&mut self, reason: &CloseReason, dst: &mut BytesMut) -> bool {
        if self.socket.state() == State::Handshake {
            // No 101 went out: there is no WebSocket to close, only the TCP connection.
            return false;
        }
        let (code, text) = match reason {
            CloseReason::Normal => (CloseCode::NORMAL, ""),
            CloseReason::GoingAway => (CloseCode::GOING_AWAY, ""),
            CloseReason::InternalError => (CloseCode::INTERNAL_ERROR, ""),
            CloseReason::WebSocket { code, reason } => (CloseCode(*code), reason.as_str()),
        };
        let mut close = CloseFrame {
            code,
            reason: text.to_owned(),
        };
        if !code.is_sendable() {
            close.code = CloseCode::NORMAL;
        }
        // A reason over 123 bytes does not fit a control frame; cut it at a char boundary.
        while close.reason.len() > wm_websocket::close::MAX_REASON_LENGTH {
            close.reason.pop();
        }
        let message = wm_websocket::Message::Close(Some(close));
        match wm_protocol::Encode::encode(&mut self.socket, message, dst) {
            Ok(()) => self.socket.state() != State::Closed,
            Err(_) => false,
        }
    }

    fn finished(&self) -> bool {
        self.socket.state() == State::Closed
    }

    fn set_max_package_size(&mut self, bytes: usize) {
        // As `config` does for a listener: the package size bounds frames and messages.
        self.socket.set_max_sizes(bytes, bytes);
    }

    fn heartbeat(&self, data: Option<&'static str>) -> Option<Message> {
        Some(match data {
            Some(data) => Message::Text(data.to_owned()),
            None => Message::Ping(bytes::Bytes::new()),
        })
    }

    fn take_opening(&mut self) -> Option<Opening> {
        if let Some(request) = self.socket.take_request() {
            return Some(Opening::WebSocketRequest(request));
        }
        self.socket.take_response().map(Opening::WebSocketResponse)
    }

    fn handshaking(&self) -> bool {
        self.socket.state() == State::Handshake
    }

    fn reading_head(&self) -> bool {
        self.handshaking()
    }
}
