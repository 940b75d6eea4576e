//! The client's side of the opening handshake (Workerman's `ws://` scheme): write the
//! upgrade request, then read and check the server's answer.

use base64::Engine;
use bytes::{BufMut, BytesMut};

use super::{
    accept_key, check_upgrade, collect_headers, complete, header, header_values, is_header_value,
    is_token, put_header, tokens, HandshakeError, HeadReader, Headers,
};
use crate::config::MAX_HANDSHAKE_HEADERS;
use crate::deflate::negotiation::{self, parse_extensions};
use crate::deflate::{Agreement, DeflateConfig};
use wm_protocol::url::{Address, Url};

/// The upgrade request a client sends, built from a `ws://` or `wss://` URL.
///
/// Each request carries a fresh key: 16 bytes from a CSPRNG, in base64.
///
/// ```
/// use wm_websocket::handshake::ClientRequest;
/// let request = ClientRequest::new("ws://127.0.0.1:2345/chat?room=1")?
///     .origin("http://example.com")
///     .protocol("chat")
///     .header("X-Token", "abc");
/// assert_eq!(request.host(), "127.0.0.1");
/// assert_eq!(request.port(), 2345);
/// assert_eq!(request.target(), "/chat?room=1");
/// # Ok::<(), wm_websocket::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    port: u16,
    authority: String,
    target: String,
    secure: bool,
    origin: Option<String>,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    deflate: Option<DeflateConfig>,
    key: String,
}

/// The port a `ws://` (80) or `wss://` (443) URL means when it names none; `None` for
/// another scheme. ASCII case does not matter.
pub fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("ws") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("wss") {
        Some(443)
    } else {
        None
    }
}

impl ClientRequest {
    /// A request for `url`: `ws://host[:port][/path][?query]`, or `wss://` for a stream
    /// the caller has already wrapped in TLS. IPv6 hosts go in brackets. Parsed by
    /// [`wm_protocol::url`], as wm-server's clients parse theirs.
    pub fn new(url: &str) -> Result<Self, HandshakeError> {
        // Another scheme parses with port 80 here, and from_url refuses it.
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        let parsed = Url::parse(url, Some(default_port(scheme).unwrap_or(80)))
            .map_err(|e| HandshakeError::InvalidUrl(format!("{url:?}: {e}")))?;
        Self::from_url(&parsed)
    }

    /// A request for a URL already parsed (with 80 or 443 as its default port).
    pub fn from_url(url: &Url) -> Result<Self, HandshakeError> {
        let invalid = |why: &str| {
            HandshakeError::InvalidUrl(format!("{}://{}: {why}", url.scheme, url.address))
        };
        let Some(default_port) = default_port(&url.scheme) else {
            return Err(invalid("the scheme must be ws or wss"));
        };
        let secure = default_port == 443;
        let (host, port) = match &url.address {
            Address::Inet { host, port } => (host.as_str(), *port),
            Address::Unix(_) => return Err(invalid("a WebSocket URL takes a host and port")),
        };
        if port == 0 {
            return Err(invalid("the port must be 1-65535"));
        }
        let target = url.target.clone();
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let authority = if port == default_port {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
        Ok(Self {
            host: host.to_owned(),
            port,
            authority,
            target,
            secure,
            origin: None,
            protocols: Vec::new(),
            headers: Vec::new(),
            deflate: None,
            key,
        })
    }

    /// Sends `Origin`, as a browser would.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Offers a subprotocol; call again to offer more, in order of preference.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Offers permessage-deflate as `config` says ([`DeflateConfig::offer`];
    /// [`DeflateConfig::client`] offers what browsers do). The server's answer is checked
    /// against the offer ([`DeflateConfig::check_answer`]): one the offer does not allow
    /// fails the handshake; a server that does not select it leaves the connection
    /// uncompressed.
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// What permessage-deflate is offered, if anything.
    pub fn deflate_config(&self) -> Option<DeflateConfig> {
        self.deflate
    }

    /// Adds a header line. A `Host` header given here replaces the one from the URL.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The host to connect to (without brackets for IPv6).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to: the URL's, or 80 for `ws`, 443 for `wss`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL was `wss://` (the caller provides the TLS stream).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The `Sec-WebSocket-Key` this request sends.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols offered.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Writes the request head. Fails, writing nothing, if a header name is not a token,
    /// or a value (origin, subprotocol, header) contains CR, LF or NUL.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), HandshakeError> {
        for (name, value) in &self.headers {
            if !is_token(name) || !is_header_value(value) {
                return Err(HandshakeError::InvalidHeader(name.clone()));
            }
        }
        if let Some(bad) = self.protocols.iter().find(|p| !is_token(p)) {
            return Err(HandshakeError::InvalidHeader(format!(
                "Sec-WebSocket-Protocol: {bad}"
            )));
        }
        if self.origin.as_deref().is_some_and(|o| !is_header_value(o)) {
            return Err(HandshakeError::InvalidHeader("Origin".into()));
        }
        let custom_host = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"));
        dst.put_slice(b"GET ");
        dst.put_slice(self.target.as_bytes());
        dst.put_slice(b" HTTP/1.1\r\n");
        if !custom_host {
            put_header(dst, "Host", &self.authority);
        }
        dst.put_slice(b"Connection: Upgrade\r\nUpgrade: websocket\r\n");
        if let Some(origin) = &self.origin {
            put_header(dst, "Origin", origin);
        }
        if !self.protocols.is_empty() {
            put_header(dst, "Sec-WebSocket-Protocol", &self.protocols.join(", "));
        }
        dst.put_slice(b"Sec-WebSocket-Version: 13\r\n");
        put_header(dst, "Sec-WebSocket-Key", &self.key);
        if let Some(config) = &self.deflate {
            put_header(dst, "Sec-WebSocket-Extensions", &config.offer().to_string());
        }
        for (name, value) in &self.headers {
            put_header(dst, name, value);
        }
        dst.put_slice(b"\r\n");
        Ok(())
    }
}

/// The server's checked `101` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    headers: Headers,
    protocol: Option<String>,
    deflate: Option<Agreement>,
}

impl Response {
    /// The subprotocol the server selected, one of those offered.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The permessage-deflate agreement the server answered with, checked against the
    /// offer.
    pub fn deflate(&self) -> Option<&Agreement> {
        self.deflate.as_ref()
    }

    /// The first value of a header, by case-insensitive name, if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Every header line in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }
}

const HTTP_PREFIX: &[u8] = b"HTTP/";

/// Reads the server's answer incrementally.
#[derive(Debug, Clone, Default)]
pub struct ResponseReader {
    head: HeadReader,
}

impl ResponseReader {
    /// Returns the checked answer to `request` at the front of `buf` and its length, or
    /// `Ok(None)` to wait for more. Bytes after that length are already frames.
    pub fn read(
        &mut self,
        buf: &[u8],
        limit: usize,
        request: &ClientRequest,
    ) -> Result<Option<(Response, usize)>, HandshakeError> {
        // A peer that answers with something other than HTTP (a text or frame server
        // echoing the request, say) is told apart from its first bytes, not after a
        // timeout waiting for a blank line that never comes.
        // The error names the first byte that differs, which is the same however the
        // answer was split into reads.
        if let Some((at, &byte)) = buf
            .iter()
            .zip(HTTP_PREFIX)
            .enumerate()
            .find_map(|(at, (got, want))| (got != want).then_some((at, got)))
        {
            return Err(HandshakeError::Malformed(format!(
                "the answer is not HTTP: byte {at} is {byte:#04x}, not {:?}",
                HTTP_PREFIX[at] as char
            )));
        }
        match self.head.find_end(buf, limit)? {
            Some(end) => Ok(Some((parse_response(&buf[..end], request)?, end))),
            None => Ok(None),
        }
    }
}

/// Parses a complete response head and checks it against the request it answers.
pub fn parse_response(head: &[u8], request: &ClientRequest) -> Result<Response, HandshakeError> {
    let mut parsed = [httparse::EMPTY_HEADER; MAX_HANDSHAKE_HEADERS];
    let mut response = httparse::Response::new(&mut parsed);
    complete(response.parse(head))?;
    if response.version != Some(1) {
        return Err(HandshakeError::HttpVersion);
    }
    match response.code {
        Some(101) => {}
        code => return Err(HandshakeError::Status(code.unwrap_or_default())),
    }
    let headers = collect_headers(response.headers);
    check_upgrade(&headers)?;
    let expected = accept_key(request.key.as_bytes());
    let accepts: Vec<&[u8]> = header_values(&headers, "sec-websocket-accept").collect();
    if accepts[..] != [expected.as_bytes()] {
        return Err(HandshakeError::WrongAccept);
    }
    drop(accepts);
    let deflate = check_extensions(&headers, request)?;
    let selected: Vec<&[u8]> = header_values(&headers, "sec-websocket-protocol")
        .flat_map(tokens)
        .collect();
    let protocol = match selected[..] {
        [] => None,
        [one] => {
            let one = String::from_utf8_lossy(one).into_owned();
            if !request.protocols.contains(&one) {
                return Err(HandshakeError::ProtocolNotOffered(one));
            }
            Some(one)
        }
        _ => return Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Protocol")),
    };
    drop(selected);
    Ok(Response {
        headers,
        protocol,
        deflate,
    })
}

/// The extensions the server selected: permessage-deflate if it was offered and the
/// answer keeps within the offer; anything else was not offered.
fn check_extensions(
    headers: &Headers,
    request: &ClientRequest,
) -> Result<Option<Agreement>, HandshakeError> {
    let Some(config) = &request.deflate else {
        return match header_values(headers, "sec-websocket-extensions")
            .flat_map(tokens)
            .next()
        {
            Some(extension) => Err(HandshakeError::ExtensionNotOffered(
                String::from_utf8_lossy(extension).into_owned(),
            )),
            None => Ok(None),
        };
    };
    let values: Vec<_> = header_values(headers, "sec-websocket-extensions")
        .map(String::from_utf8_lossy)
        .collect();
    let answer = parse_extensions(values.iter().map(|v| &**v));
    if let Some(other) = answer.iter().find_map(|element| match element {
        Ok(extension) if !extension.name.eq_ignore_ascii_case(negotiation::NAME) => {
            Some(extension.name.clone())
        }
        _ => None,
    }) {
        return Err(HandshakeError::ExtensionNotOffered(other));
    }
    config
        .check_answer(&answer)
        .map_err(HandshakeError::Extension)
}
