//! The request head: found with one search for the blank line, then parsed by httparse
//! once, then checked against the rules Workerman 5.2 enforces and those it misses.

use std::mem::MaybeUninit;

use bytes::Bytes;
use wm_protocol::http1::{find_blank_line, HeadTooLarge};

use crate::config::Config;
use crate::error::HttpError;
use crate::request::{Headers, Method, Version};

/// How the body of a request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the head says, before the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The origin-form target.
    pub target: String,
    /// The version.
    pub version: Version,
    /// The header lines.
    pub headers: Headers,
    /// How the body is framed.
    pub body: BodyKind,
}

/// The length of the head at the front of `buf`, searching each byte once
/// ([`find_blank_line`]); a head that has not ended within `limit` bytes is 431.
pub(crate) fn find_head_end(
    buf: &[u8],
    examined: &mut usize,
    limit: usize,
) -> Result<Option<usize>, HttpError> {
    find_blank_line(buf, examined, limit).map_err(|HeadTooLarge| HttpError::HeadTooLarge { limit })
}

/// httparse's header slots on the stack for up to this many lines; more go on the heap.
const STACK_HEADERS: usize = 64;

/// Parses and checks a complete head (`head` ends with its blank line).
pub fn parse_head(head: &Bytes, config: &Config) -> Result<RequestHead, HttpError> {
    // Every line ends in CRLF: a bare LF could make httparse end the head earlier than
    // the blank line found, and the rest would be read as a body or a second request.
    if memchr::memchr_iter(b'\n', head).any(|at| at == 0 || head[at - 1] != b'\r') {
        return Err(HttpError::BadRequest("a line ends with a bare LF"));
    }
    if config.max_headers <= STACK_HEADERS {
        let mut slots = [MaybeUninit::uninit(); STACK_HEADERS];
        parse_with(head, config, &mut slots[..config.max_headers])
    } else {
        let mut slots = vec![MaybeUninit::uninit(); config.max_headers];
        parse_with(head, config, &mut slots)
    }
}

fn parse_with<'h>(
    head: &'h Bytes,
    config: &Config,
    slots: &mut [MaybeUninit<httparse::Header<'h>>],
) -> Result<RequestHead, HttpError> {
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(head, slots) {
        Ok(httparse::Status::Complete(length)) if length == head.len() => {}
        Ok(_) => return Err(HttpError::BadRequest("malformed head")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HttpError::HeadTooLarge {
                limit: config.max_headers,
            })
        }
        Err(httparse::Error::Version) if versioned(head) => {
            return Err(HttpError::VersionNotSupported)
        }
        Err(httparse::Error::Token) => return Err(HttpError::BadRequest("malformed request line")),
        Err(httparse::Error::HeaderName) => {
            return Err(HttpError::BadRequest("malformed header name"))
        }
        Err(_) => return Err(HttpError::BadRequest("malformed head")),
    }
    let target = request.path.unwrap_or_default();
    if target.len() > config.max_target_length {
        return Err(HttpError::TargetTooLong {
            length: target.len(),
            limit: config.max_target_length,
        });
    }
    let method =
        Method::from_name(request.method.unwrap_or_default()).ok_or(HttpError::NotImplemented)?;
    if !target.starts_with('/') {
        // Absolute-form, authority-form (CONNECT) and `*` are for proxies.
        return Err(HttpError::BadRequest("request target is not origin-form"));
    }
    let version = match request.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let mut headers = Headers::with_capacity(request.headers.len());
    let (mut hosts, mut lengths, mut encodings) = (0, None::<&[u8]>, 0);
    for header in request.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
            if !valid_host(header.value) {
                return Err(HttpError::BadRequest("invalid Host"));
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            match lengths {
                Some(previous) if previous != header.value => {
                    return Err(HttpError::BadRequest("differing Content-Length headers"))
                }
                _ => lengths = Some(header.value),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            encodings += 1;
            if !header.value.eq_ignore_ascii_case(b"chunked") {
                return Err(HttpError::BadRequest(
                    "Transfer-Encoding other than chunked",
                ));
            }
        }
        headers.push(
            head.slice_ref(name.as_bytes()),
            head.slice_ref(header.value),
        );
    }
    match (hosts, version) {
        (0, Version::Http11) => return Err(HttpError::BadRequest("no Host")),
        (0 | 1, _) => {}
        _ => return Err(HttpError::BadRequest("more than one Host")),
    }
    let body = match (encodings, lengths) {
        (0, None) => BodyKind::Empty,
        (0, Some(value)) => BodyKind::Length(content_length(value, config)?),
        (1, None) if version == Version::Http11 => BodyKind::Chunked,
        (1, None) => return Err(HttpError::BadRequest("Transfer-Encoding in HTTP/1.0")),
        (1, Some(_)) => {
            return Err(HttpError::BadRequest(
                "both Content-Length and Transfer-Encoding",
            ))
        }
        _ => return Err(HttpError::BadRequest("more than one Transfer-Encoding")),
    };
    let target = std::str::from_utf8(target.as_bytes())
        .map_err(|_| HttpError::BadRequest("request target is not UTF-8"))?
        .to_owned();
    Ok(RequestHead {
        method,
        target,
        version,
        headers,
        body,
    })
}

/// A `Content-Length` value: ASCII digits only (no sign, no list), within the limit.
fn content_length(value: &[u8], config: &Config) -> Result<u64, HttpError> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(HttpError::BadRequest("invalid Content-Length"));
    }
    let length = value
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    if length > config.max_body_size as u64 {
        return Err(HttpError::BodyTooLarge {
            length,
            limit: config.max_body_size,
        });
    }
    Ok(length)
}

/// A `Host` value: a bracketed IP literal or a name without whitespace, `:`, `/`, `[` or
/// `]`, then optionally `:` and digits (Workerman 5.2's rule).
fn valid_host(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        match value.iter().position(|&b| b == b']') {
            Some(end) => (&value[..=end], &value[end + 1..]),
            None => return false,
        }
    } else {
        match value.iter().position(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &[][..]),
        }
    };
    let name_ok = if host.first() == Some(&b'[') {
        host[1..host.len() - 1]
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            && host.len() > 2
    } else {
        !host.is_empty()
            && !host
                .iter()
                .any(|&b| b.is_ascii_whitespace() || matches!(b, b':' | b'/' | b'[' | b']'))
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    name_ok && port_ok
}

/// Whether the request line ends in `HTTP/<digit>.<digit>`: a version httparse does not
/// speak (505), rather than a malformed line (400).
fn versioned(head: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\r', head).unwrap_or(head.len());
    matches!(&head[..line_end], [.., b' ', b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}
