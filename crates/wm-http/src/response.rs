//! Responses: a status, headers kept unique by case-insensitive name (unless appended on
//! purpose, as `Set-Cookie` is), and a body, encoded the way Workerman does.

use bytes::{BufMut, Bytes, BytesMut};
use wm_protocol::http1::{is_header_value, is_token, put_header};

use crate::error::reason_phrase;

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
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Default for Response {
    fn default() -> Self {
        Self::new(200)
    }
}

impl Response {
    /// An empty response with `status` (100–999; others become 500).
    pub fn new(status: u16) -> Self {
        Self {
            status: if (100..=999).contains(&status) {
                status
            } else {
                500
            },
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Sets a header, replacing any of the same name (ignoring case).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Adds a header line even if one of the same name exists (`Set-Cookie`).
    pub fn append_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header (case-insensitive name).
    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body.
    pub fn get_body(&self) -> &Bytes {
        &self.body
    }

    /// Writes the response for a request that was (`head_request`) a HEAD, on a
    /// connection that stays open or not (`keep_alive`). Header lines whose name is not a
    /// token or whose value holds CR, LF or NUL are dropped, never sent. Framing headers
    /// are the encoder's: `Content-Length` is computed (and omitted with `Transfer-Encoding`
    /// or for 1xx, 204 and 304), `Connection` follows `keep_alive` unless the application set
    /// it, and `Content-Type` defaults to HTML as in Workerman.
    pub fn encode(&self, head_request: bool, keep_alive: bool, dst: &mut BytesMut) {
        let no_body = matches!(self.status, 100..=199 | 204 | 304);
        let chunked = self.get_header("transfer-encoding").is_some();
        dst.reserve(128 + self.body.len());
        dst.put_slice(b"HTTP/1.1 ");
        dst.put_slice(self.status.to_string().as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(reason_phrase(self.status).as_bytes());
        dst.put_slice(b"\r\n");
        // Workerman's order: the application's lines, then Connection, Content-Type and
        // Content-Length.
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("content-type")
                || !sendable(name, value)
            {
                continue;
            }
            put_header(dst, name, value);
        }
        if self.get_header("connection").is_none() {
            put_header(
                dst,
                "Connection",
                if keep_alive { "keep-alive" } else { "close" },
            );
        }
        match self.get_header("content-type") {
            Some(value) if sendable("Content-Type", value) => {
                put_header(dst, "Content-Type", value)
            }
            None if !no_body => put_header(dst, "Content-Type", "text/html;charset=utf-8"),
            _ => {}
        }
        if !no_body && !chunked {
            put_header(dst, "Content-Length", &self.body.len().to_string());
        }
        dst.put_slice(b"\r\n");
        if no_body || head_request {
            return;
        }
        if chunked {
            if !self.body.is_empty() {
                put_chunk(dst, &self.body);
            }
        } else {
            dst.put_slice(&self.body);
        }
    }
}

/// One chunk of a chunked body: size in hex, CRLF, data, CRLF. An empty chunk ends the
/// body (`0\r\n\r\n`), as Workerman's `new Chunk('')`.
pub fn put_chunk(dst: &mut BytesMut, data: &[u8]) {
    dst.put_slice(format!("{:x}\r\n", data.len()).as_bytes());
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

/// A header line that can be written as is.
fn sendable(name: &str, value: &str) -> bool {
    is_token(name) && is_header_value(value)
}
