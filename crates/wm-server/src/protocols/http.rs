//! `http://`: HTTP/1.1 requests in, responses out ([`wm_http`]).
//!
//! This is the same sans-IO [`Http`] core that `wm_http::serve` drives, so `100 Continue`,
//! every refusal and its status, pipelined order and keep-alive are decided in one place,
//! and the header timeout has one default ([`wm_http::DEFAULT_HEADER_TIMEOUT`]). What is
//! not shared is the read / write loop: here the connection driver that every scheme uses
//! does it, with send-buffer watermarks, pause / resume, stats and TLS, which `serve` (one
//! connection, one handler) does not have.

use bytes::BytesMut;
use wm_http::{Http, Response};
use wm_protocol::Protocol;

use super::{encode_with, unsupported, CloseReason, DecodeError, DynProtocol, ProtocolContext};
use crate::{Message, SendError};

/// Workerman's `http://`: each request whole (`Message::Request`, body collected up to the
/// package size), answered in order by `Response`s (or a `Text` / `Binary` / `Json` body
/// that becomes a `200`), streamed bodies as `Chunk`s or `Event`s after their head.
#[derive(Debug)]
pub struct HttpServerProtocol {
    http: Http,
    /// The connection is closing: no more requests are read, and it closes once the
    /// requests already handed out are answered.
    stopping: bool,
    /// The peer, given to each request.
    peer: Option<std::net::SocketAddr>,
}

impl HttpServerProtocol {
    /// A connection with these limits; the body limit is the package size.
    pub fn new(context: &ProtocolContext) -> Self {
        let config = wm_http::Config::default().max_body_size(context.limits.max_package_size);
        Self {
            http: Http::new(config),
            stopping: false,
            peer: context.peer,
        }
    }

    fn message(&self, mut request: wm_http::Request) -> Message {
        request.set_remote_addr(self.peer);
        Message::Request(Box::new(request))
    }

    /// Nothing is owed to the peer: every request handed out was answered, its body done.
    fn idle(&self) -> bool {
        self.http.unanswered() == 0 && !self.http.streaming()
    }
}

impl DynProtocol for HttpServerProtocol {
    fn scheme(&self) -> &'static str {
        "http"
    }

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        if self.stopping {
            src.clear();
            return Ok(None);
        }
        let request = self.http.decode(src).map_err(DecodeError::new)?;
        Ok(request.map(|request| self.message(request)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        if self.stopping {
            src.clear();
            return Ok(None);
        }
        let request = self.http.decode_eof(src).map_err(DecodeError::new)?;
        Ok(request.map(|request| self.message(request)))
    }

    #[inline]
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), SendError> {
        match message {
            Message::Response(response) => encode_with(&mut self.http, *response, dst),
            Message::Text(text) => encode_with(&mut self.http, text.as_str(), dst),
            Message::Binary(body) => {
                let response = Response::new(200)
                    .static_header("Content-Type", "application/octet-stream")
                    .body(body);
                encode_with(&mut self.http, response, dst)
            }
            Message::Json(value) => {
                let response = Response::new(200)
                    .static_header("Content-Type", "application/json")
                    .body(value.to_string());
                encode_with(&mut self.http, response, dst)
            }
            Message::Chunk(chunk) => encode_with(&mut self.http, chunk, dst),
            Message::Event(event) => encode_with(&mut self.http, *event, dst),
            other => Err(unsupported(self.scheme(), &other)),
        }
    }

    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        self.http.take_output(dst)
    }

    fn close(&mut self, reason: &CloseReason, dst: &mut BytesMut) -> bool {
        self.stopping = true;
        if *reason == CloseReason::InternalError
            && self.http.unanswered() > 0
            && !self.http.streaming()
        {
            let response = Response::new(500)
                .header("Connection", "close")
                .body("500 Internal Server Error\n");
            let _ = wm_protocol::Encode::encode(&mut self.http, response, dst);
            return false;
        }
        !self.idle()
    }

    fn set_max_package_size(&mut self, bytes: usize) {
        self.http.set_max_body_size(bytes);
    }

    fn heartbeat(&self, _data: Option<&'static str>) -> Option<Message> {
        None
    }

    fn answer_turn(&self) -> bool {
        self.http.unanswered() <= 1 && !self.http.streaming()
    }

    fn owes_answers(&self) -> bool {
        !self.idle()
    }

    fn finished(&self) -> bool {
        self.http.closing() || (self.stopping && self.idle())
    }

    fn reading_head(&self) -> bool {
        !self.stopping && self.http.reading_head()
    }
}
