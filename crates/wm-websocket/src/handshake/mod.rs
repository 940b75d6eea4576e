//! The opening handshake (RFC 6455 §4): pure parsing and writing of the HTTP/1.1 upgrade,
//! for both ends.
//!
//! A head is read in two steps, so that a client trickling one byte at a time costs O(n):
//! [`HeadReader`] remembers how far it has searched for the blank line, and only a complete
//! head goes through `httparse`, once.

pub mod client;
pub mod server;

use base64::Engine;
use sha1::{Digest, Sha1};
use wm_protocol::http1::{find_blank_line, HeadTooLarge};
pub(crate) use wm_protocol::http1::{is_header_value, is_token, put_header};

pub use client::{default_port, ClientRequest, Response};
pub use server::{Accept, Reject, Request, ServerOptions};

/// The GUID RFC 6455 appends to the key before hashing.
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64 of SHA-1 of key + GUID.
///
/// ```
/// assert_eq!(
///     wm_websocket::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(ACCEPT_GUID);
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// Why an opening handshake failed. On the server each variant names the HTTP status it is
/// answered with ([`HandshakeError::status`]); on the client it says what the server got
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head did not end within the size limit (431).
    #[error("handshake head is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit, [`Config::max_handshake_size`](crate::Config::max_handshake_size).
        limit: usize,
    },
    /// More header lines than [`MAX_HANDSHAKE_HEADERS`](crate::MAX_HANDSHAKE_HEADERS)
    /// (431).
    #[error("handshake has more than {limit} header lines")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// Not a well-formed HTTP/1.1 head (400).
    #[error("malformed handshake: {0}")]
    Malformed(String),
    /// A request whose method is not GET (400). Detected from the first bytes, before the
    /// head is complete, so a `<policy-file-request/>` is refused at once.
    #[error("handshake request method is not GET")]
    NotGet,
    /// HTTP/1.0 (400): the upgrade needs HTTP/1.1.
    #[error("handshake is not HTTP/1.1")]
    HttpVersion,
    /// A request without a `Host` header (400).
    #[error("handshake request has no Host header")]
    MissingHost,
    /// No `websocket` token in `Upgrade` (426 on the server).
    #[error("Upgrade header does not name websocket")]
    NotUpgrade,
    /// No `upgrade` token in `Connection` (400).
    #[error("Connection header does not name upgrade")]
    ConnectionNotUpgrade,
    /// No `Sec-WebSocket-Version` (400, with `Sec-WebSocket-Version: 13`).
    #[error("request has no Sec-WebSocket-Version")]
    MissingVersion,
    /// A version other than 13 (426, with `Sec-WebSocket-Version: 13`).
    #[error("unsupported Sec-WebSocket-Version {0:?}; only 13 is")]
    UnsupportedVersion(String),
    /// No `Sec-WebSocket-Key` (400).
    #[error("request has no Sec-WebSocket-Key")]
    MissingKey,
    /// A key that is not base64 of exactly 16 bytes (400).
    #[error("Sec-WebSocket-Key is not base64 of 16 bytes")]
    InvalidKey,
    /// A header that must appear once appeared more often (400).
    #[error("duplicate {0} header")]
    DuplicateHeader(&'static str),
    /// A request that announces a body (400): bytes after the head are frames.
    #[error("handshake request has a body")]
    UnexpectedBody,
    /// The application refused the connection with this status.
    #[error("handshake refused with status {0}")]
    Rejected(u16),
    /// The application chose a subprotocol or header the request does not allow (500).
    #[error("invalid handshake answer: {0}")]
    InvalidAnswer(String),
    /// The server answered with a status other than 101.
    #[error("server answered with status {0}, not 101")]
    Status(u16),
    /// The server's `Sec-WebSocket-Accept` is missing or does not match the key.
    #[error("Sec-WebSocket-Accept is missing or wrong")]
    WrongAccept,
    /// The server selected a subprotocol the client did not offer.
    #[error("server selected subprotocol {0:?}, which was not offered")]
    ProtocolNotOffered(String),
    /// The server answered with an extension the client did not offer.
    #[error("server selected extension {0:?}, which was not offered")]
    ExtensionNotOffered(String),
    /// The server's permessage-deflate answer breaks the grammar, or does not keep within
    /// what the client offered (RFC 7692 §7.1).
    #[error("invalid permessage-deflate answer: {0}")]
    Extension(crate::deflate::NegotiationError),
    /// A client URL this crate cannot connect to.
    #[error("invalid WebSocket URL: {0}")]
    InvalidUrl(String),
    /// A header name or value that cannot be sent (CR, LF, or a bad name).
    #[error("header {0:?} cannot be sent")]
    InvalidHeader(String),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } | Self::TooManyHeaders { .. } => 431,
            Self::NotUpgrade | Self::UnsupportedVersion(_) => 426,
            Self::Rejected(status) => *status,
            Self::InvalidAnswer(_) => 500,
            _ => 400,
        }
    }
}

/// Finds the blank line that ends an HTTP head, remembering how far it looked, so each
/// byte is searched once however the head is split into reads.
#[derive(Debug, Clone, Default)]
pub struct HeadReader {
    examined: usize,
}

impl HeadReader {
    /// Returns the length of the head (through `\r\n\r\n`) at the front of `buf`, or
    /// `Ok(None)` to wait for more, or [`HandshakeError::TooLarge`] once `limit` bytes
    /// have arrived without the blank line (or the head found is longer than that).
    pub fn find_end(&mut self, buf: &[u8], limit: usize) -> Result<Option<usize>, HandshakeError> {
        find_blank_line(buf, &mut self.examined, limit)
            .map_err(|HeadTooLarge| HandshakeError::TooLarge { limit })
    }

    /// How far the search has gone (for tests of the never-rescan rule).
    pub fn examined(&self) -> usize {
        self.examined
    }
}

/// Whether a comma-separated header value contains `token`, compared case-insensitively.
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// The comma-separated items of a header value, trimmed, empty ones skipped.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty())
}

/// The headers of a parsed head, names as sent, values as bytes.
pub(crate) type Headers = Vec<(String, Vec<u8>)>;

/// The first value of `name` (case-insensitive), as text if it is UTF-8.
pub(crate) fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

/// All values of `name` (case-insensitive).
pub(crate) fn header_values<'a>(
    headers: &'a Headers,
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

pub(crate) fn collect_headers(parsed: &[httparse::Header<'_>]) -> Headers {
    parsed
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}

/// httparse's verdict on a head that [`HeadReader`] found complete.
pub(crate) fn complete(parsed: httparse::Result<usize>) -> Result<(), HandshakeError> {
    match parsed {
        Ok(httparse::Status::Complete(_)) => Ok(()),
        Ok(httparse::Status::Partial) => Err(HandshakeError::Malformed("incomplete head".into())),
        Err(httparse::Error::TooManyHeaders) => Err(HandshakeError::TooManyHeaders {
            limit: crate::config::MAX_HANDSHAKE_HEADERS,
        }),
        Err(other) => Err(HandshakeError::Malformed(other.to_string())),
    }
}

/// The `Upgrade: websocket` and `Connection: upgrade` tokens both ends require.
pub(crate) fn check_upgrade(headers: &Headers) -> Result<(), HandshakeError> {
    if !header_values(headers, "upgrade").any(|v| has_token(v, "websocket")) {
        return Err(HandshakeError::NotUpgrade);
    }
    if !header_values(headers, "connection").any(|v| has_token(v, "upgrade")) {
        return Err(HandshakeError::ConnectionNotUpgrade);
    }
    Ok(())
}
