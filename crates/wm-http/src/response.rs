//! Responses: a status, headers kept unique by case-insensitive name (unless appended on
//! purpose, as `Set-Cookie` is), and a body, encoded the way Workerman does.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};
use wm_protocol::http1::{is_header_value, is_token, put_header};

use crate::error::HttpError;
use crate::protocol::Answering;
use wm_protocol::http1::reason_phrase;

/// A response to one request.
///
/// ```
/// let response = wm_http::Response::new(404)
///     .header("Content-Type", "text/plain")
///     .body("not here");
/// assert_eq!(response.status(), 404);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    /// Names and values; a header set from `&'static str`s costs no allocation.
    headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// `Content-Type`, kept apart: nearly every response sets it (and only it), and the
    /// encoder writes it in its own place.
    content_type: Option<Cow<'static, str>>,
    body: Bytes,
    /// A `Content-Length` declared for a body sent after the head, in [`Chunk`]s.
    content_length: Option<u64>,
    /// Made from a string (`Encode<&str>`), which Workerman lays out differently.
    sent_as_string: bool,
}

/// How the body after a response head is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// The body, if any, went out with the head.
    Complete,
    /// `Transfer-Encoding: chunked`: more chunks follow, then `0\r\n\r\n`.
    Chunked,
    /// A declared `Content-Length` of which this much is still to come.
    Sized { remaining: u64 },
    /// `text/event-stream`: events follow; the body ends with the connection.
    Events,
    /// Chunks for an HTTP/1.0 client, which knows no chunked coding: written as they
    /// are, the body ends with the connection.
    UntilClose,
}

impl Default for Response {
    fn default() -> Self {
        Self::new(200)
    }
}

impl Response {
    /// An empty response with `status` (100–999; others become 500).
    #[inline]
    pub fn new(status: u16) -> Self {
        Self {
            status: if (100..=999).contains(&status) {
                status
            } else {
                500
            },
            headers: Vec::new(),
            content_type: None,
            body: Bytes::new(),
            content_length: None,
            sent_as_string: false,
        }
    }

    /// Sets a header, replacing any of the same name (ignoring case).
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_header(Cow::Owned(name.into()), Cow::Owned(value.into()))
    }

    /// [`header`](Self::header) for a name and value known at compile time, without
    /// allocating (`Content-Type: application/json` on every response of a hot path).
    #[inline]
    pub fn static_header(self, name: &'static str, value: &'static str) -> Self {
        self.set_header(Cow::Borrowed(name), Cow::Borrowed(value))
    }

    #[inline]
    fn set_header(mut self, name: Cow<'static, str>, value: Cow<'static, str>) -> Self {
        if is_content_type(&name) {
            self.content_type = Some(value);
        } else {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            self.headers.push((name, value));
        }
        self
    }

    /// Adds a header line even if one of the same name exists (`Set-Cookie`). A response
    /// has one `Content-Type`: the first one set stays.
    pub fn append_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if is_content_type(&name) {
            if self.content_type.is_none() {
                self.content_type = Some(Cow::Owned(value.into()));
            }
        } else {
            self.headers
                .push((Cow::Owned(name), Cow::Owned(value.into())));
        }
        self
    }

    /// Sets the body.
    #[inline]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Declares a `Content-Length` for a body that follows the head as [`Chunk`]s (a
    /// large file, say), so that it need not be in memory. The body set with
    /// [`body`](Self::body), if any, goes out first and counts towards it. Encoding fails
    /// if the body is longer, and a [`Chunk`] that would go past the length is refused.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_http::{Chunk, Encode, Http, Protocol, Response};
    ///
    /// let mut http = Http::default();
    /// let mut wire = BytesMut::from(&b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    /// http.decode(&mut wire).unwrap().unwrap();
    /// let mut out = BytesMut::new();
    /// http.encode(Response::new(200).content_length(6), &mut out).unwrap();
    /// http.encode(Chunk::new("abc"), &mut out).unwrap();
    /// http.encode(Chunk::new("def"), &mut out).unwrap();
    /// assert!(out.ends_with(b"Content-Length: 6\r\nConnection: keep-alive\r\n\r\nabcdef"));
    /// ```
    pub fn content_length(mut self, length: u64) -> Self {
        self.content_length = Some(length);
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header (case-insensitive name).
    pub fn get_header(&self, name: &str) -> Option<&str> {
        if is_content_type(name) {
            return self.content_type.as_deref();
        }
        self.find_header(name)
    }

    /// The first value of a header other than `Content-Type`.
    fn find_header(&self, name: &str) -> Option<&str> {
        // Nearly every response has no other header line.
        if self.headers.is_empty() {
            return None;
        }
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The body.
    pub fn get_body(&self) -> &Bytes {
        &self.body
    }

    /// Writes the response for `request` (a HEAD or not, HTTP/1.0 or not, on a connection
    /// that stays open or not), and says how the body goes on (after a HEAD, none of it
    /// is sent). Header lines whose name is not a token or whose value holds CR, LF or NUL
    /// are dropped, never sent. Framing headers are the encoder's: `Content-Length` is
    /// computed (or declared with [`content_length`](Self::content_length)) and omitted
    /// with `Transfer-Encoding`, for `text/event-stream` and for 1xx, 204 and 304;
    /// `Transfer-Encoding` (which must end in `chunked`) is not sent on those statuses nor
    /// to HTTP/1.0, whose chunks go out as they are until the connection closes;
    /// `Connection` follows the request unless the application set it (a body that ends
    /// with the connection says `close`); `Content-Type` defaults to HTML as in Workerman;
    /// `date`, when given, is sent unless the application set `Date`.
    pub(crate) fn encode(
        &self,
        request: Answering,
        date: Option<&str>,
        dst: &mut BytesMut,
    ) -> Result<Framing, HttpError> {
        let no_body = matches!(self.status, 100..=199 | 204 | 304);
        let content_type = self.content_type.as_deref();
        let coding = self.find_header("transfer-encoding");
        let framing = if no_body {
            Framing::Complete
        } else if content_type.is_some_and(is_event_stream) {
            Framing::Events
        } else if let Some(coding) = coding {
            // RFC 9112 §6.1: chunked must be the last coding, or the body has no end.
            let last = coding.rsplit(',').next().unwrap_or_default().trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(HttpError::InvalidResponse(
                    "a Transfer-Encoding that does not end in chunked",
                ));
            }
            if request.http10 {
                Framing::UntilClose
            } else {
                Framing::Chunked
            }
        } else {
            match self.content_length {
                Some(length) if (self.body.len() as u64) > length => {
                    return Err(HttpError::InvalidResponse(
                        "the body is longer than the declared Content-Length",
                    ))
                }
                Some(length) if length > self.body.len() as u64 => Framing::Sized {
                    remaining: length - self.body.len() as u64,
                },
                _ => Framing::Complete,
            }
        };
        dst.reserve(128 + self.body.len());
        put_status_line(dst, self.status);
        // Workerman's order: the application's lines, then Connection, Content-Type and
        // Content-Length.
        // A body that ends with the connection says so, whatever the application set.
        let until_close =
            framing == Framing::UntilClose || (framing == Framing::Events && request.http10);
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("content-length")
                || (until_close && name.eq_ignore_ascii_case("connection"))
                // RFC 9112 §6.1: none on a response without a body, none to HTTP/1.0.
                || ((no_body || request.http10) && name.eq_ignore_ascii_case("transfer-encoding"))
                || !sendable(name, value)
            {
                continue;
            }
            put_header(dst, name, value);
        }
        if let Some(date) = date {
            if self.find_header("date").is_none() {
                put_header(dst, "Date", date);
            }
        }
        // Workerman writes a `Response` that has no headers at all as Content-Type,
        // Content-Length, Connection, and anything else (a string sent, a response with
        // headers) as Connection, Content-Type, Content-Length.
        let bare = self.headers.is_empty() && content_type.is_none() && !self.sent_as_string;
        if !bare {
            self.put_connection(request, until_close, dst);
        }
        match content_type {
            Some(value) if is_header_value(value) => {
                dst.put_slice(b"Content-Type: ");
                dst.put_slice(value.as_bytes());
                dst.put_slice(b"\r\n");
            }
            None if !no_body => dst.put_slice(b"Content-Type: text/html;charset=utf-8\r\n"),
            _ => {}
        }
        match framing {
            Framing::Complete if !no_body => {
                put_content_length(dst, self.content_length.unwrap_or(self.body.len() as u64))
            }
            Framing::Sized { .. } => {
                put_content_length(dst, self.content_length.unwrap_or_default())
            }
            _ => {}
        }
        if bare {
            self.put_connection(request, until_close, dst);
        }
        dst.put_slice(b"\r\n");
        if request.head {
            return Ok(framing);
        }
        match framing {
            // Workerman 5 ignores the body of an event-stream response (its manual's
            // recipe passes "\r\n"): events carry the data.
            Framing::Events => {}
            Framing::Chunked if !self.body.is_empty() => put_chunk(dst, &self.body),
            Framing::UntilClose => dst.put_slice(&self.body),
            Framing::Chunked => {}
            _ if no_body => {}
            _ => dst.put_slice(&self.body),
        }
        Ok(framing)
    }
}

impl Response {
    /// The `Connection` line: `close` for a body that ends with the connection, else as
    /// the request left it, unless the application set its own.
    fn put_connection(&self, request: Answering, until_close: bool, dst: &mut BytesMut) {
        if until_close {
            dst.put_slice(b"Connection: close\r\n");
        } else if self.find_header("connection").is_none() {
            dst.put_slice(if request.keep_alive {
                b"Connection: keep-alive\r\n"
            } else {
                b"Connection: close\r\n"
            });
        }
    }

    /// The response Workerman's `send("...")` makes of a string (its header order).
    pub(crate) fn from_string(body: Bytes) -> Self {
        let mut response = Self::new(200).body(body);
        response.sent_as_string = true;
        response
    }
}

#[inline]
fn is_content_type(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-type")
}

/// `text/event-stream`, with or without parameters.
fn is_event_stream(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/event-stream")
}

/// A piece of a streamed response body, sent after a [`Response`] whose head announced
/// one: with `Transfer-Encoding: chunked` it is framed as a chunk; after
/// [`Response::content_length`] it is written as is; on an event stream it is written as
/// is (preformatted events). An empty chunk ends the body, as Workerman's `new Chunk('')`:
/// `0\r\n\r\n` when chunked, the end of the connection for an event stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk(Bytes);

impl Chunk {
    /// A piece of body.
    pub fn new(data: impl Into<Bytes>) -> Self {
        Self(data.into())
    }

    /// The empty chunk that ends a streamed body.
    pub fn end() -> Self {
        Self(Bytes::new())
    }

    /// The data.
    pub fn data(&self) -> &Bytes {
        &self.0
    }

    /// Whether this ends the body.
    pub fn is_end(&self) -> bool {
        self.0.is_empty()
    }
}

/// One chunk of a chunked body: size in hex, CRLF, data, CRLF. An empty chunk ends the
/// body (`0\r\n\r\n`), as Workerman's `new Chunk('')`.
pub fn put_chunk(dst: &mut BytesMut, data: &[u8]) {
    let mut digits = [0u8; 16];
    let mut start = digits.len();
    let mut n = data.len();
    loop {
        start -= 1;
        digits[start] = b"0123456789abcdef"[n % 16];
        n /= 16;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&digits[start..]);
    dst.put_slice(b"\r\n");
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

/// `n` in decimal, without going through a `String`.
fn put_decimal(dst: &mut BytesMut, n: u64) {
    dst.put_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `HTTP/1.1 <status> <reason>` and CRLF; the usual ones in one piece.
fn put_status_line(dst: &mut BytesMut, status: u16) {
    let line: &[u8] = match status {
        200 => b"HTTP/1.1 200 OK\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => {
            dst.put_slice(b"HTTP/1.1 ");
            put_decimal(dst, u64::from(status));
            dst.put_u8(b' ');
            dst.put_slice(reason_phrase(status).as_bytes());
            dst.put_slice(b"\r\n");
            return;
        }
    };
    dst.put_slice(line);
}

fn put_content_length(dst: &mut BytesMut, length: u64) {
    dst.put_slice(b"Content-Length: ");
    put_decimal(dst, length);
    dst.put_slice(b"\r\n");
}

/// A header line that can be written as is.
fn sendable(name: &str, value: &str) -> bool {
    is_token(name) && is_header_value(value)
}
