//! The server's side of the opening handshake: read and check the client's request, then
//! answer `101 Switching Protocols` or an HTTP error.

use std::fmt;
use std::net::SocketAddr;

use base64::Engine;
use bytes::{BufMut, BytesMut};

use super::{
    accept_key, check_upgrade, collect_headers, complete, header, header_values, is_header_value,
    is_token, put_header, tokens, HandshakeError, HeadReader, Headers,
};
use wm_protocol::http1::split_target;

use crate::config::MAX_HANDSHAKE_HEADERS;
use crate::deflate::negotiation::parse_extensions;
use crate::deflate::{Agreement, DeflateConfig};

/// A checked upgrade request: everything an application needs to decide whether to accept
/// it (Workerman's `onWebSocketConnect` gets the same as an `Http\Request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    target: String,
    headers: Headers,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<String>,
    pub(crate) remote_addr: Option<SocketAddr>,
}

impl Request {
    /// The peer the request came from, where the connection said
    /// ([`ServerOptions::remote_addr`]; wm-server always does): PHP's
    /// `$_SERVER['REMOTE_ADDR']`, the socket's peer, not a header a proxy wrote.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The request target as sent: path and query (`/chat?room=1`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path part of the target.
    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    /// The query string after `?`, undecoded, if there is one.
    pub fn query(&self) -> Option<&str> {
        split_target(&self.target).1
    }

    /// The first value of a header, by case-insensitive name, if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Every header line in order: name as sent, value as bytes.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The `Host` header.
    pub fn host(&self) -> &str {
        self.header("host").unwrap_or_default()
    }

    /// The `Origin` header, which browsers send and an application may check against
    /// cross-site use.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions the client offered (`Sec-WebSocket-Extensions`), one entry per
    /// comma-separated offer, parameters included. None is accepted yet, so frames with
    /// RSV1 set are refused.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The `Sec-WebSocket-Key`.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Reads an upgrade request incrementally.
#[derive(Debug, Clone, Default)]
pub struct RequestReader {
    head: HeadReader,
}

impl RequestReader {
    /// Returns the request at the front of `buf` and its length, or `Ok(None)` to wait for
    /// more bytes. A request that does not start with `GET ` is refused as soon as the
    /// bytes show it, before its head is complete.
    pub fn read(
        &mut self,
        buf: &[u8],
        limit: usize,
    ) -> Result<Option<(Request, usize)>, HandshakeError> {
        let prefix = buf.len().min(4);
        if buf[..prefix] != b"GET "[..prefix] {
            return Err(HandshakeError::NotGet);
        }
        match self.head.find_end(buf, limit)? {
            Some(end) => Ok(Some((parse_request(&buf[..end])?, end))),
            None => Ok(None),
        }
    }

    /// How far the search for the end of the head has gone.
    pub fn examined(&self) -> usize {
        self.head.examined()
    }
}

/// Parses and checks a complete request head (through its blank line).
pub fn parse_request(head: &[u8]) -> Result<Request, HandshakeError> {
    let mut parsed = [httparse::EMPTY_HEADER; MAX_HANDSHAKE_HEADERS];
    let mut request = httparse::Request::new(&mut parsed);
    complete(request.parse(head))?;
    if request.method != Some("GET") {
        return Err(HandshakeError::NotGet);
    }
    if request.version != Some(1) {
        return Err(HandshakeError::HttpVersion);
    }
    let target = request.path.unwrap_or_default().to_owned();
    let headers = collect_headers(request.headers);

    match header_values(&headers, "host").count() {
        0 => return Err(HandshakeError::MissingHost),
        1 => {}
        _ => return Err(HandshakeError::DuplicateHeader("Host")),
    }
    check_upgrade(&headers)?;
    let version = single(&headers, "sec-websocket-version", "Sec-WebSocket-Version")?
        .ok_or(HandshakeError::MissingVersion)?;
    if version != b"13" {
        return Err(HandshakeError::UnsupportedVersion(
            String::from_utf8_lossy(version).into_owned(),
        ));
    }
    let key = single(&headers, "sec-websocket-key", "Sec-WebSocket-Key")?
        .ok_or(HandshakeError::MissingKey)?;
    let mut decoded = [0; 18];
    match base64::engine::general_purpose::STANDARD.decode_slice(key, &mut decoded) {
        Ok(16) if key.len() == 24 => {}
        _ => return Err(HandshakeError::InvalidKey),
    }
    let key = String::from_utf8_lossy(key).into_owned();
    if header_values(&headers, "transfer-encoding")
        .next()
        .is_some()
        || header_values(&headers, "content-length").any(|v| v != b"0")
    {
        return Err(HandshakeError::UnexpectedBody);
    }
    // An offer that is not a token could not be echoed byte for byte; it is ignored.
    let protocols = list(&headers, "sec-websocket-protocol")
        .into_iter()
        .filter(|p| is_token(p))
        .collect();
    let extensions = list(&headers, "sec-websocket-extensions");
    Ok(Request {
        target,
        headers,
        key,
        protocols,
        extensions,
        remote_addr: None,
    })
}

fn single<'a>(
    headers: &'a Headers,
    name: &'a str,
    display: &'static str,
) -> Result<Option<&'a [u8]>, HandshakeError> {
    let mut values = header_values(headers, name);
    let first = values.next();
    if values.next().is_some() {
        return Err(HandshakeError::DuplicateHeader(display));
    }
    Ok(first)
}

fn list(headers: &Headers, name: &str) -> Vec<String> {
    header_values(headers, name)
        .flat_map(tokens)
        .filter_map(|t| std::str::from_utf8(t).ok().map(str::to_owned))
        .collect()
}

/// How the server answers an acceptable request: the subprotocol it selects and extra
/// header lines for the `101` (Workerman's `$connection->headers`, typed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    protocol: Option<String>,
    headers: Vec<(String, String)>,
    deflate: Option<Agreement>,
}

impl Accept {
    /// Selects a subprotocol, which must be one the client offered.
    pub fn protocol(&mut self, protocol: impl Into<String>) -> &mut Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Selects no subprotocol.
    pub fn no_protocol(&mut self) -> &mut Self {
        self.protocol = None;
        self
    }

    /// The selected subprotocol.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The permessage-deflate agreement the answer carries: selected by
    /// [`ServerOptions::deflate`] from the client's offers, if any was acceptable.
    pub fn deflate(&self) -> Option<&Agreement> {
        self.deflate.as_ref()
    }

    /// Answers without permessage-deflate whatever was offered (the connection then
    /// refuses compressed frames).
    pub fn no_deflate(&mut self) -> &mut Self {
        self.deflate = None;
        self
    }

    /// Adds a header line to the `101` (a cookie, a server name). A name that is not a
    /// token or a value with CR or LF fails the handshake with 500 rather than being sent.
    pub fn header(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Writes the `101 Switching Protocols` answer to `request`.
    pub fn write_response(
        &self,
        request: &Request,
        dst: &mut BytesMut,
    ) -> Result<(), HandshakeError> {
        if let Some(protocol) = &self.protocol {
            if !request.protocols.contains(protocol) {
                return Err(HandshakeError::InvalidAnswer(format!(
                    "subprotocol {protocol:?} was not offered"
                )));
            }
        }
        for (name, value) in &self.headers {
            if !is_token(name) || !is_header_value(value) {
                return Err(HandshakeError::InvalidAnswer(format!(
                    "header {name:?} cannot be sent"
                )));
            }
        }
        dst.put_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
        dst.put_slice(accept_key(request.key.as_bytes()).as_bytes());
        dst.put_slice(b"\r\n");
        if let Some(protocol) = &self.protocol {
            put_header(dst, "Sec-WebSocket-Protocol", protocol);
        }
        if let Some(agreement) = &self.deflate {
            put_header(dst, "Sec-WebSocket-Extensions", &agreement.to_string());
        }
        for (name, value) in &self.headers {
            put_header(dst, name, value);
        }
        dst.put_slice(b"\r\n");
        Ok(())
    }
}

/// An HTTP answer that refuses the upgrade: the status, a short text body, and any extra
/// header lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Reject {
    /// A refusal with `status` (clamped to 400–599) and its standard reason as the body.
    pub fn new(status: u16) -> Self {
        let status = status.clamp(400, 599);
        Self {
            status,
            body: format!("{status} {}\n", reason_phrase(status)),
            headers: Vec::new(),
        }
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a header line (dropped if the name is not a token or the value has CR or LF).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The answer a server sends for a failed handshake: its status, with
    /// `Sec-WebSocket-Version: 13` so that a client can retry with the right version, and
    /// `Upgrade: websocket` with a 426.
    pub fn for_error(error: &HandshakeError) -> Self {
        let status = error.status();
        let reject = Self::new(status)
            .body(format!("{status} {}: {error}\n", reason_phrase(status)))
            .header("Sec-WebSocket-Version", "13");
        if status == 426 {
            reject.header("Upgrade", "websocket")
        } else {
            reject
        }
    }

    /// Writes the answer; the connection is closed after it (`Connection: close`).
    pub fn write_response(&self, dst: &mut BytesMut) {
        dst.put_slice(b"HTTP/1.1 ");
        dst.put_slice(self.status.to_string().as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(reason_phrase(self.status).as_bytes());
        dst.put_slice(b"\r\n");
        for (name, value) in &self.headers {
            if is_token(name) && is_header_value(value) {
                put_header(dst, name, value);
            }
        }
        put_header(dst, "Content-Type", "text/plain; charset=utf-8");
        put_header(dst, "Content-Length", &self.body.len().to_string());
        dst.put_slice(b"Connection: close\r\n\r\n");
        dst.put_slice(self.body.as_bytes());
    }
}

/// The standard reason phrase ([`wm_protocol::http1::reason_phrase`]), or a generic one
/// for a status of the application's own choosing that has none.
fn reason_phrase(status: u16) -> &'static str {
    match wm_protocol::http1::reason_phrase(status) {
        "" if status < 500 => "Client Error",
        "" => "Server Error",
        phrase => phrase,
    }
}

/// Decides, per request, whether to accept it and how; Workerman's `onWebSocketConnect`.
/// It sees the request and the [`Accept`] prepared from
/// [`ServerOptions::protocols`], and returns `Err` to refuse.
pub type Hook = Box<dyn FnMut(&Request, &mut Accept) -> Result<(), Reject> + Send>;

/// How a server answers upgrade requests.
#[derive(Default)]
pub struct ServerOptions {
    protocols: Vec<String>,
    deflate: Option<DeflateConfig>,
    hook: Option<Hook>,
    pub(crate) remote_addr: Option<SocketAddr>,
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("protocols", &self.protocols)
            .field("deflate", &self.deflate)
            .field("hook", &self.hook.as_ref().map(|_| "FnMut"))
            .field("remote_addr", &self.remote_addr)
            .finish()
    }
}

impl ServerOptions {
    /// Accepts every valid request, with no subprotocol.
    pub fn new() -> Self {
        Self::default()
    }

    /// The subprotocols this server speaks. The first one the client offers (in the
    /// client's order of preference) is selected; if none matches, none is.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Accepts permessage-deflate offers as `config` decides (see
    /// [`DeflateConfig::accept`]): the first acceptable offer, in the client's order, is
    /// selected; without one (or without an offer) the connection opens uncompressed.
    /// Off unless set. A hook may still answer without it ([`Accept::no_deflate`]).
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// The permessage-deflate policy, if one is set.
    pub fn deflate_config(&self) -> Option<DeflateConfig> {
        self.deflate
    }

    /// The connection's peer, given to the request ([`Request::remote_addr`]) so that
    /// the hook and `on_open` can see where it came from (an allow-list, a log line).
    ///
    /// ```
    /// use wm_websocket::handshake::{Reject, ServerOptions};
    ///
    /// let peer = "127.0.0.1:50000".parse().unwrap();
    /// let options = ServerOptions::new()
    ///     .remote_addr(Some(peer))
    ///     .hook(|request, _accept| match request.remote_addr() {
    ///         Some(address) if address.ip().is_loopback() => Ok(()),
    ///         _ => Err(Reject::new(403)),
    ///     });
    /// # let _ = options;
    /// ```
    pub fn remote_addr(mut self, address: Option<SocketAddr>) -> Self {
        self.remote_addr = address;
        self
    }

    /// A hook that sees each request and may refuse it or change the answer.
    pub fn hook(
        mut self,
        hook: impl FnMut(&Request, &mut Accept) -> Result<(), Reject> + Send + 'static,
    ) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// The answer to `request`: `Ok` with what to accept it with, `Err` with the refusal.
    pub fn answer(&mut self, request: &Request) -> Result<Accept, Reject> {
        let mut accept = Accept {
            protocol: request
                .protocols
                .iter()
                .find(|p| self.protocols.contains(p))
                .cloned(),
            headers: Vec::new(),
            deflate: self.deflate.and_then(|config| {
                let values = header_values(&request.headers, "sec-websocket-extensions")
                    .map(String::from_utf8_lossy);
                let offers = parse_extensions(values.collect::<Vec<_>>().iter().map(|v| &**v));
                config.accept(&offers)
            }),
        };
        if let Some(hook) = &mut self.hook {
            hook(request, &mut accept)?;
        }
        Ok(accept)
    }
}
