//! One connection's request decoder: head, then body, then the next head, so pipelined
//! requests come out in order.

use std::collections::VecDeque;

use bytes::BytesMut;
use wm_protocol::{Encode, Protocol, MAX_RESERVE_AHEAD};

use crate::chunked::ChunkedDecoder;
use crate::config::Config;
use crate::error::HttpError;
use crate::head::{find_head_end, parse_head, BodyKind, RequestHead};
use crate::request::{Headers, Method, Request};
use crate::response::Response;

#[derive(Debug)]
enum State {
    /// Waiting for a head; this much of the buffer has been searched for its end.
    Head { examined: usize },
    /// A `Content-Length` body of this many bytes.
    Body {
        head: Box<RequestHead>,
        length: usize,
    },
    /// A chunked body.
    Chunked {
        head: Box<RequestHead>,
        chunks: ChunkedDecoder,
    },
    /// A request was refused; its answer is queued and nothing more is read.
    Failed,
}

/// The HTTP/1.1 server protocol for one connection: yields each complete [`Request`].
///
/// A refused request queues its answer (400, 413, 414, 417, 431, 501 or 505, with
/// `Connection: close`) in [`take_output`](Protocol::take_output) before `decode` returns
/// the [`HttpError`]. `Expect: 100-continue` is answered with `100 Continue` there too, once
/// the head is accepted.
#[derive(Debug)]
pub struct Http {
    config: Config,
    state: State,
    output: BytesMut,
    /// For each request handed out and not yet answered, in order: was it a HEAD, and
    /// does the connection stay open after its response.
    unanswered: VecDeque<Answering>,
    /// A response said the connection closes after it.
    closing: bool,
}

/// What the encoder must know of the request it answers.
#[derive(Debug, Clone, Copy)]
struct Answering {
    head: bool,
    keep_alive: bool,
}

impl Default for Http {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl Http {
    /// A connection with these limits.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            state: State::Head { examined: 0 },
            output: BytesMut::new(),
            unanswered: VecDeque::new(),
            closing: false,
        }
    }

    /// Whether the connection must close once what was encoded is written: a response
    /// went to a request that did not keep the connection alive, or said
    /// `Connection: close` itself.
    pub fn closing(&self) -> bool {
        self.closing
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn decode_request(&mut self, src: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        loop {
            match &mut self.state {
                State::Failed => {
                    src.clear();
                    return Ok(None);
                }
                State::Head { examined } => {
                    let Some(end) = find_head_end(src, examined, self.config.max_head_size)? else {
                        return Ok(None);
                    };
                    let head = parse_head(&src.split_to(end).freeze(), &self.config)?;
                    if let Some(expect) = head.headers.get("expect") {
                        if !expect.eq_ignore_ascii_case(b"100-continue") {
                            return Err(HttpError::ExpectationFailed);
                        }
                        if head.body != BodyKind::Empty && head.body != BodyKind::Length(0) {
                            self.output
                                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                        }
                    }
                    self.state = match head.body {
                        BodyKind::Empty | BodyKind::Length(0) => {
                            self.state = State::Head { examined: 0 };
                            return Ok(Some(request(head, Default::default(), Headers::default())));
                        }
                        // Within the body limit, which is a usize.
                        BodyKind::Length(length) => State::Body {
                            head: Box::new(head),
                            length: length as usize,
                        },
                        BodyKind::Chunked => State::Chunked {
                            head: Box::new(head),
                            chunks: ChunkedDecoder::new(),
                        },
                    };
                }
                State::Body { length, .. } => {
                    let length = *length;
                    if src.len() < length {
                        src.reserve((length - src.len()).min(MAX_RESERVE_AHEAD));
                        return Ok(None);
                    }
                    let body = src.split_to(length).freeze();
                    let State::Body { head, .. } =
                        std::mem::replace(&mut self.state, State::Head { examined: 0 })
                    else {
                        unreachable!("matched above")
                    };
                    return Ok(Some(request(*head, body, Headers::default())));
                }
                State::Chunked { chunks, .. } => {
                    let Some((body, trailers)) = chunks.decode(src, &self.config)? else {
                        return Ok(None);
                    };
                    let State::Chunked { head, .. } =
                        std::mem::replace(&mut self.state, State::Head { examined: 0 })
                    else {
                        unreachable!("matched above")
                    };
                    return Ok(Some(request(*head, body, trailers)));
                }
            }
        }
    }
}

fn request(head: RequestHead, body: bytes::Bytes, trailers: Headers) -> Request {
    Request {
        method: head.method,
        target: head.target,
        version: head.version,
        headers: head.headers,
        body,
        trailers,
    }
}

impl Protocol for Http {
    type Message = Request;
    type Error = HttpError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        let decoded = self.decode_request(src);
        if let Ok(Some(request)) = &decoded {
            self.unanswered.push_back(Answering {
                head: request.method() == Method::Head,
                keep_alive: request.keep_alive(),
            });
        }
        decoded.inspect_err(|error| {
            error.write_response(&mut self.output);
            self.state = State::Failed;
            src.clear();
        })
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        match self.decode(src)? {
            Some(request) => Ok(Some(request)),
            None if src.is_empty() && matches!(self.state, State::Head { .. } | State::Failed) => {
                Ok(None)
            }
            None => {
                self.state = State::Failed;
                Err(HttpError::UnexpectedEof {
                    buffered: src.len(),
                })
            }
        }
    }

    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        let length = self.output.len();
        dst.unsplit(self.output.split());
        length
    }
}

/// Answers the oldest request not yet answered (pipelined requests are answered in the
/// order they came): no body for HEAD, `Connection: close` when the request did not keep
/// the connection open.
impl Encode<Response> for Http {
    fn encode(&mut self, response: Response, dst: &mut BytesMut) -> Result<(), HttpError> {
        let answering = self.unanswered.pop_front().unwrap_or(Answering {
            head: false,
            keep_alive: true,
        });
        response.encode(answering.head, answering.keep_alive, dst);
        let said_close = response
            .get_header("connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
        if !answering.keep_alive || said_close {
            self.closing = true;
        }
        Ok(())
    }
}

/// A `200` with this HTML body (Workerman's `send("...")`).
impl Encode<&str> for Http {
    fn encode(&mut self, body: &str, dst: &mut BytesMut) -> Result<(), HttpError> {
        let response = Response::new(200).body(bytes::Bytes::copy_from_slice(body.as_bytes()));
        Encode::<Response>::encode(self, response, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_byte_drip_searches_each_head_byte_once() {
        let wire = b"GET /drip HTTP/1.1\r\nHost: h\r\nX-Long: 0123456789abcdef\r\n\r\n";
        let mut http = Http::default();
        let mut buf = BytesMut::new();
        for (i, &byte) in wire.iter().enumerate() {
            buf.extend_from_slice(&[byte]);
            let request = http.decode(&mut buf).unwrap();
            if i + 1 < wire.len() {
                assert!(request.is_none());
                // The next search starts where this one stopped (less three bytes for a
                // blank line that straddles reads), never at the front.
                assert!(matches!(http.state, State::Head { examined } if examined == i + 1));
            } else {
                assert_eq!(request.unwrap().target(), "/drip");
            }
        }
    }

    #[test]
    fn chunk_data_leaves_the_read_buffer_as_it_arrives() {
        let mut http = Http::default();
        let mut buf = BytesMut::from(
            &b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n"[..],
        );
        assert!(http.decode(&mut buf).unwrap().is_none());
        for _ in 0..0x1000 {
            buf.extend_from_slice(b"x");
            assert!(http.decode(&mut buf).unwrap().is_none());
            assert!(
                buf.is_empty(),
                "each data byte is moved once, not kept and rescanned"
            );
        }
        buf.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(http.decode(&mut buf).unwrap().unwrap().body().len(), 0x1000);
    }
}
