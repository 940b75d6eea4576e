//! One connection's request decoder: head, then body, then the next head, so pipelined
//! requests come out in order.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use wm_protocol::{Encode, Protocol, MAX_RESERVE_AHEAD};

use crate::chunked::{ChunkedDecoder, ChunkedPiece};
use crate::config::Config;
use crate::error::HttpError;
use crate::head::{take_head, BodyKind, Expectation, RequestHead};
use crate::request::{Headers, Method, Request, Version};
use crate::response::{put_chunk, Chunk, Framing, Response};
use crate::sse::Event;

#[derive(Debug)]
enum State {
    /// Waiting for a head; this much of the buffer has been searched for its end.
    Head { examined: usize },
    /// A `Content-Length` body with this many bytes still to come. The head is kept here
    /// while the body is collected, and was handed out already when it is streamed.
    Body {
        head: Option<Box<RequestHead>>,
        remaining: usize,
    },
    /// A chunked body; the head as for `Body`.
    Chunked {
        head: Option<Box<RequestHead>>,
        chunks: ChunkedDecoder,
    },
    /// A request was refused; its answer is queued and nothing more is read.
    Failed,
}

/// What the decoder found: a whole request, or (streaming) a head, a piece of body, or the
/// end of the body.
#[derive(Debug)]
enum Decoded {
    Whole(Request),
    Head(Request),
    Data(Bytes),
    End(Headers),
}

/// How [`HttpProtocol`] hands out request bodies: collected into each [`Request`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Collected;

/// How [`HttpProtocol`] hands out request bodies: as [`RequestPart`]s while they arrive.
#[derive(Debug, Clone, Copy, Default)]
pub struct Streamed;

/// A request in pieces, from [`StreamingHttp`]: every request is a `Head`, then any
/// number of `Body` pieces (slices of the read buffer, each as soon as it arrived), then
/// `End`, even when it has no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPart {
    /// Method, target, version and headers; the [`Request::body`] is empty.
    Head(Request),
    /// The next bytes of the body (de-chunked).
    Body(Bytes),
    /// The body is complete: the trailer fields of a chunked body (often none).
    End(Headers),
}

/// The HTTP/1.1 server protocol for one connection: yields each complete [`Request`]
/// ([`Http`]), or each request as [`RequestPart`]s ([`StreamingHttp`]) so that a body
/// larger than memory should hold can be passed on as it arrives.
///
/// A refused request queues its answer (400, 413, 414, 417, 431, 501 or 505, with
/// `Connection: close`) in [`take_output`](Protocol::take_output) before `decode` returns
/// the [`HttpError`]. `Expect: 100-continue` on an HTTP/1.1 request is answered with
/// `100 Continue` there too, once the head is accepted (HTTP/1.0 expectations are ignored,
/// RFC 9110 §10.1.1).
///
/// Responses are encoded for the oldest request not yet answered: a [`Response`], then,
/// if its head announced a streamed body, [`Chunk`]s or [`Event`]s.
///
/// `B` picks how request bodies are handed out; use it through the aliases [`Http`]
/// and [`StreamingHttp`].
#[derive(Debug)]
pub struct HttpProtocol<B> {
    config: Config,
    state: State,
    output: BytesMut,
    /// Our own output (`100 Continue`, a refusal) that waits for earlier responses.
    deferred: BytesMut,
    /// For each request handed out and not yet answered, in order: was it a HEAD, and
    /// does the connection stay open after its response.
    unanswered: VecDeque<Answering>,
    /// The streamed body of the response being sent, if any.
    outgoing: Option<Outgoing>,
    /// The `Date` value for responses, if set.
    date: Option<String>,
    /// A response said the connection closes after it.
    closing: bool,
    /// The last request read did not keep the connection open.
    last_request: bool,
    bodies: PhantomData<B>,
}

/// The HTTP/1.1 server protocol yielding whole [`Request`]s, bodies collected.
pub type Http = HttpProtocol<Collected>;

/// The HTTP/1.1 server protocol yielding each request as [`RequestPart`]s.
pub type StreamingHttp = HttpProtocol<Streamed>;

/// What the encoder must know of the request it answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answering {
    /// It was a HEAD: no body is sent.
    pub(crate) head: bool,
    /// The connection stays open after the response.
    pub(crate) keep_alive: bool,
    /// An HTTP/1.0 client, which knows no chunked coding.
    pub(crate) http10: bool,
}

impl Answering {
    /// For a response encoded with no request to answer.
    const UNPROMPTED: Self = Self {
        head: false,
        keep_alive: true,
        http10: false,
    };
}

/// A response whose body is still being sent.
#[derive(Debug, Clone, Copy)]
struct Outgoing {
    framing: Framing,
    /// The request was a HEAD: the body is counted but not sent.
    silent: bool,
    /// The connection closes once the body is done.
    close_after: bool,
}

impl<B> Default for HttpProtocol<B> {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl<B> HttpProtocol<B> {
    /// A connection with these limits.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            state: State::Head { examined: 0 },
            output: BytesMut::new(),
            deferred: BytesMut::new(),
            unanswered: VecDeque::new(),
            outgoing: None,
            date: None,
            closing: false,
            last_request: false,
            bodies: PhantomData,
        }
    }

    /// Whether the connection must close once what was encoded is written: a response
    /// went to a request that did not keep the connection alive, or said
    /// `Connection: close` itself, or a body that ends with the connection (an event
    /// stream, chunks to HTTP/1.0) ended. Never while a streamed body is still being sent.
    pub fn closing(&self) -> bool {
        self.closing
    }

    /// Whether a response's streamed body is still being sent (a chunked body before its
    /// last chunk, a declared `Content-Length` not yet reached, an event stream).
    pub fn streaming(&self) -> bool {
        self.outgoing.is_some_and(|o| match o.framing {
            // The answer to a HEAD was complete with its head: what follows is dropped
            // until the next response, which need not wait for an end.
            _ if o.silent => false,
            Framing::Sized { remaining } => remaining > 0,
            _ => true,
        })
    }

    /// How many requests were handed out and not yet answered by a final response. An
    /// I/O driver that wants to close between requests waits for this to reach 0 (and for
    /// [`streaming`](Self::streaming) to end).
    pub fn unanswered(&self) -> usize {
        self.unanswered.len()
    }

    /// Whether the next bytes read belong to a request head: what a header-read
    /// (slowloris) timeout watches, together with whether any of them are buffered.
    pub fn reading_head(&self) -> bool {
        matches!(self.state, State::Head { .. })
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the body limit for the requests whose head is read from now on
    /// (Workerman's per-connection `maxPackageSize`).
    pub fn set_max_body_size(&mut self, max_body_size: usize) {
        self.config.max_body_size = max_body_size;
    }

    /// Sends `Date: <now>` (RFC 9110 §6.6.1) on the responses that follow, unless the
    /// application sets its own. The protocol reads no clock: the I/O driver calls this,
    /// once a second is enough. `None` stops it.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let mut http = wm_http::Http::default();
    /// http.set_date(Some(UNIX_EPOCH + Duration::from_secs(784111777)));
    /// assert_eq!(http.date(), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
    /// ```
    pub fn set_date(&mut self, now: Option<SystemTime>) {
        // httpdate formats years 1970 to 9999 and panics outside them.
        const YEAR_10000: u64 = 253_402_300_800;
        self.date = now
            .filter(|now| {
                now.duration_since(UNIX_EPOCH)
                    .is_ok_and(|since| since.as_secs() < YEAR_10000)
            })
            .map(httpdate::fmt_http_date);
    }

    /// The `Date` value responses carry, if any.
    pub fn date(&self) -> Option<&str> {
        self.date.as_deref()
    }

    /// Decodes up to the next head, whole request (when collecting), piece of body or end
    /// of body (when streaming).
    fn decode_next(
        &mut self,
        src: &mut BytesMut,
        stream: bool,
    ) -> Result<Option<Decoded>, HttpError> {
        loop {
            match &mut self.state {
                State::Failed => {
                    src.clear();
                    return Ok(None);
                }
                // RFC 9112 §9.6: after a request that closes the connection, what
                // follows is not processed.
                State::Head { .. } if self.last_request => {
                    src.clear();
                    return Ok(None);
                }
                State::Head { examined } => {
                    let Some(head) = take_head(src, examined, &self.config)? else {
                        return Ok(None);
                    };
                    self.last_request = !head.keep_alive;
                    let has_body = !matches!(head.body, BodyKind::Empty | BodyKind::Length(0));
                    if head.expect == Expectation::Continue && has_body {
                        self.send_own(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                    let body = head.body;
                    if !stream && !has_body {
                        // Most requests: handed out at once, the head never boxed.
                        self.state = State::Head { examined: 0 };
                        return Ok(Some(Decoded::Whole(request(
                            head,
                            Bytes::new(),
                            Headers::default(),
                        ))));
                    }
                    let (head, handed_out) = if stream {
                        (None, Some(request(head, Bytes::new(), Headers::default())))
                    } else {
                        (Some(Box::new(head)), None)
                    };
                    self.state = match body {
                        BodyKind::Empty | BodyKind::Length(0) => State::Body { head, remaining: 0 },
                        // Within the body limit, which is a usize.
                        BodyKind::Length(length) => State::Body {
                            head,
                            remaining: length as usize,
                        },
                        BodyKind::Chunked => State::Chunked {
                            head,
                            chunks: ChunkedDecoder::new(),
                        },
                    };
                    if let Some(request) = handed_out {
                        return Ok(Some(Decoded::Head(request)));
                    }
                }
                State::Body {
                    head: None,
                    remaining,
                } => {
                    if *remaining == 0 {
                        self.state = State::Head { examined: 0 };
                        return Ok(Some(Decoded::End(Headers::default())));
                    }
                    if src.is_empty() {
                        return Ok(None);
                    }
                    let take = src.len().min(*remaining);
                    *remaining -= take;
                    return Ok(Some(Decoded::Data(src.split_to(take).freeze())));
                }
                State::Body {
                    head: Some(_),
                    remaining,
                } => {
                    let length = *remaining;
                    if src.len() < length {
                        src.reserve((length - src.len()).min(MAX_RESERVE_AHEAD));
                        return Ok(None);
                    }
                    let body = src.split_to(length).freeze();
                    let State::Body {
                        head: Some(head), ..
                    } = std::mem::replace(&mut self.state, State::Head { examined: 0 })
                    else {
                        unreachable!("matched above")
                    };
                    return Ok(Some(Decoded::Whole(request(
                        *head,
                        body,
                        Headers::default(),
                    ))));
                }
                State::Chunked { head: None, chunks } => {
                    return Ok(match chunks.decode_piece(src, &self.config)? {
                        None => None,
                        Some(ChunkedPiece::Data(data)) => Some(Decoded::Data(data)),
                        Some(ChunkedPiece::End(trailers)) => {
                            self.state = State::Head { examined: 0 };
                            Some(Decoded::End(trailers))
                        }
                    });
                }
                State::Chunked {
                    head: Some(_),
                    chunks,
                } => {
                    let Some((body, trailers)) = chunks.decode(src, &self.config)? else {
                        return Ok(None);
                    };
                    let State::Chunked {
                        head: Some(head), ..
                    } = std::mem::replace(&mut self.state, State::Head { examined: 0 })
                    else {
                        unreachable!("matched above")
                    };
                    return Ok(Some(Decoded::Whole(request(*head, body, trailers))));
                }
            }
        }
    }

    /// [`decode_next`](Self::decode_next), with the bookkeeping every request needs: the
    /// encoder learns of each request handed out, and a refusal is queued.
    fn decode_tracked(
        &mut self,
        src: &mut BytesMut,
        stream: bool,
    ) -> Result<Option<Decoded>, HttpError> {
        let decoded = self.decode_next(src, stream);
        if let Ok(Some(Decoded::Whole(request) | Decoded::Head(request))) = &decoded {
            self.unanswered.push_back(Answering {
                head: request.method() == Method::Head,
                keep_alive: request.keep_alive(),
                http10: request.version() == Version::Http10,
            });
        }
        decoded.inspect_err(|error| {
            let mut answer = BytesMut::new();
            error.write_response(&mut answer);
            self.send_own(&answer);
            self.state = State::Failed;
            src.clear();
        })
    }

    /// Queues what the protocol sends of its own accord (`100 Continue`, a refusal): at
    /// once if every request before it is answered, else behind their responses, so that
    /// a pipelining client pairs each answer with its request.
    fn send_own(&mut self, bytes: &[u8]) {
        if self.unanswered.is_empty() && !self.streaming() {
            self.output.extend_from_slice(bytes);
        } else {
            self.deferred.extend_from_slice(bytes);
        }
    }

    /// After a response (or its streamed body) is done: what waited for it goes out right
    /// behind it, or, if the connection closes, never.
    fn release_deferred(&mut self, dst: &mut BytesMut) {
        if self.closing {
            self.deferred.clear();
        } else if self.unanswered.is_empty() && !self.streaming() {
            wm_protocol::move_output(&mut self.deferred, dst);
        }
    }

    /// At the end of input: what is left must be nothing, or a request that was never
    /// begun.
    fn eof(&mut self, src: &BytesMut) -> Result<(), HttpError> {
        if src.is_empty() && matches!(self.state, State::Head { .. } | State::Failed) {
            return Ok(());
        }
        self.state = State::Failed;
        Err(HttpError::UnexpectedEof {
            buffered: src.len(),
        })
    }
}

fn request(head: RequestHead, body: Bytes, trailers: Headers) -> Request {
    Request {
        method: head.method,
        target: head.target,
        version: head.version,
        headers: head.headers,
        body,
        trailers: (!trailers.is_empty()).then(|| Box::new(trailers)),
        keep_alive: head.keep_alive,
        remote_addr: None,
    }
}

impl Protocol for HttpProtocol<Collected> {
    type Message = Request;
    type Error = HttpError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        match self.decode_tracked(src, false)? {
            Some(Decoded::Whole(request)) => Ok(Some(request)),
            None => Ok(None),
            Some(_) => unreachable!("a collecting decoder yields whole requests"),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        match self.decode(src)? {
            Some(request) => Ok(Some(request)),
            None => self.eof(src).map(|()| None),
        }
    }

    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        wm_protocol::move_output(&mut self.output, dst)
    }
}

impl Protocol for HttpProtocol<Streamed> {
    type Message = RequestPart;
    type Error = HttpError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RequestPart>, HttpError> {
        Ok(self
            .decode_tracked(src, true)?
            .map(|decoded| match decoded {
                Decoded::Head(request) => RequestPart::Head(request),
                Decoded::Data(data) => RequestPart::Body(data),
                Decoded::End(trailers) => RequestPart::End(trailers),
                Decoded::Whole(_) => unreachable!("a streaming decoder yields parts"),
            }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<RequestPart>, HttpError> {
        match self.decode(src)? {
            Some(part) => Ok(Some(part)),
            None => self.eof(src).map(|()| None),
        }
    }

    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        wm_protocol::move_output(&mut self.output, dst)
    }
}

/// Answers the oldest request not yet answered (pipelined requests are answered in the
/// order they came): no body for HEAD, `Connection: close` when the request did not keep
/// the connection open. A 1xx other than 101 is interim: the request stays unanswered.
impl<B> Encode<Response> for HttpProtocol<B>
where
    HttpProtocol<B>: Protocol<Error = HttpError>,
{
    fn encode(&mut self, response: Response, dst: &mut BytesMut) -> Result<(), HttpError> {
        if self.streaming() {
            return Err(HttpError::InvalidResponse(
                "the previous response's body is still streaming",
            ));
        }
        let answering = self
            .unanswered
            .front()
            .copied()
            .unwrap_or(Answering::UNPROMPTED);
        let framing = response.encode(answering, self.date.as_deref(), dst)?;
        if matches!(response.status(), 100..=199) && response.status() != 101 {
            return Ok(());
        }
        self.unanswered.pop_front();
        let said_close = response
            .get_header("connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
        let close_after = !answering.keep_alive || said_close;
        self.outgoing = None;
        match framing {
            Framing::Complete | Framing::Sized { remaining: 0 } => self.closing |= close_after,
            framing if answering.head => {
                self.closing |= close_after;
                self.outgoing = Some(Outgoing {
                    framing,
                    silent: true,
                    close_after,
                });
            }
            framing => {
                self.outgoing = Some(Outgoing {
                    framing,
                    silent: false,
                    close_after,
                })
            }
        }
        self.release_deferred(dst);
        Ok(())
    }
}

/// The answer to a request the decoder refused (400, 413, 431, …), for a `Framed` sink:
/// a decoder cannot write, so the answer it queued when it returned the error goes out
/// when the error is sent back through the sink (behind the responses still owed to
/// requests before it). An error this protocol did not return is answered with its own
/// status; one with no status (end of input, I/O) writes nothing. The connection is then
/// [`closing`](HttpProtocol::closing), unless the answer still waits behind responses
/// owed.
///
/// ```
/// use bytes::BytesMut;
/// use wm_http::{Encode, Http, Protocol};
///
/// let mut http = Http::default();
/// let mut wire = BytesMut::from(&b"GET / HTTP/1.1\r\n\r\n"[..]);
/// let refused = http.decode(&mut wire).unwrap_err();
/// let mut out = BytesMut::new();
/// http.encode(refused, &mut out).unwrap();
/// assert!(out.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
/// assert!(http.closing());
/// ```
impl<B> Encode<HttpError> for HttpProtocol<B>
where
    HttpProtocol<B>: Protocol<Error = HttpError>,
{
    fn encode(&mut self, error: HttpError, dst: &mut BytesMut) -> Result<(), HttpError> {
        if matches!(self.state, State::Failed) {
            // Queued when the error was returned: now, or behind the responses owed.
            wm_protocol::move_output(&mut self.output, dst);
        } else {
            error.write_response(dst);
            self.state = State::Failed;
        }
        // An answer still deferred behind owed responses must not be dropped by the close
        // (`release_deferred` drops what waits once closing).
        if self.deferred.is_empty() {
            self.closing = true;
        }
        Ok(())
    }
}

/// A `200` with this HTML body (Workerman's `send("...")`).
impl<B> Encode<&str> for HttpProtocol<B>
where
    HttpProtocol<B>: Protocol<Error = HttpError>,
{
    fn encode(&mut self, body: &str, dst: &mut BytesMut) -> Result<(), HttpError> {
        let response = Response::from_string(Bytes::copy_from_slice(body.as_bytes()));
        Encode::<Response>::encode(self, response, dst)
    }
}

/// The next piece of the streamed body announced by the last [`Response`].
impl<B> Encode<Chunk> for HttpProtocol<B>
where
    HttpProtocol<B>: Protocol<Error = HttpError>,
{
    fn encode(&mut self, chunk: Chunk, dst: &mut BytesMut) -> Result<(), HttpError> {
        let Some(outgoing) = &mut self.outgoing else {
            return Err(HttpError::InvalidResponse(
                "a chunk with no streamed response for it",
            ));
        };
        if outgoing.silent {
            // After the head of a HEAD response: the body is not sent, nor counted.
            if chunk.is_end() {
                self.outgoing = None;
                self.release_deferred(dst);
            }
            return Ok(());
        }
        let data = chunk.data();
        let ended = match &mut outgoing.framing {
            Framing::Sized { remaining } => {
                if data.len() as u64 > *remaining {
                    return Err(HttpError::InvalidResponse(
                        "a chunk past the declared Content-Length",
                    ));
                }
                if chunk.is_end() && *remaining > 0 {
                    return Err(HttpError::InvalidResponse(
                        "the body ended before its declared Content-Length",
                    ));
                }
                *remaining -= data.len() as u64;
                dst.extend_from_slice(data);
                // Complete: the next response may follow, or a `Chunk::end()` (which
                // then writes nothing).
                if *remaining == 0 {
                    self.closing |= outgoing.close_after;
                }
                chunk.is_end()
            }
            Framing::Chunked => {
                put_chunk(dst, data);
                chunk.is_end()
            }
            Framing::Events | Framing::UntilClose | Framing::Complete => {
                dst.extend_from_slice(data);
                chunk.is_end()
            }
        };
        if ended {
            // An event stream, or chunks to HTTP/1.0, have no length: their end is the
            // end of the connection.
            self.closing |= outgoing.close_after
                || matches!(outgoing.framing, Framing::Events | Framing::UntilClose);
            self.outgoing = None;
            self.release_deferred(dst);
        }
        Ok(())
    }
}

/// The next event of the event stream begun by the last [`Response`].
impl<B> Encode<Event> for HttpProtocol<B>
where
    HttpProtocol<B>: Protocol<Error = HttpError>,
{
    fn encode(&mut self, event: Event, dst: &mut BytesMut) -> Result<(), HttpError> {
        match self.outgoing {
            Some(Outgoing {
                framing: Framing::Events,
                silent,
                ..
            }) => {
                if silent {
                    Ok(())
                } else {
                    event.encode(dst)
                }
            }
            _ => Err(HttpError::InvalidResponse(
                "an event with no event stream for it",
            )),
        }
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
