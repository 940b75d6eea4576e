//! The request head: found with one search for the blank line, then parsed by httparse
//! once, then checked against the rules Workerman 5.2 enforces and those it misses.

use std::mem::MaybeUninit;

use bytes::BytesMut;
use wm_protocol::http1::{find_crlf_head, HeadError};

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
    /// The target in origin-form (for an absolute-form target, what follows its
    /// authority; empty for `/`) or `*`: where it is in the head (UTF-8, httparse
    /// checked).
    pub target: (u32, u32),
    /// The version.
    pub version: Version,
    /// The header lines.
    pub headers: Headers,
    /// How the body is framed.
    pub body: BodyKind,
    /// Whether the connection stays open after the response (version and `Connection`).
    pub keep_alive: bool,
    /// What the `Expect` header asks for.
    pub expect: Expectation,
}

/// What a request's `Expect` header asks for (an unsupported one is refused with 417).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Nothing (or an HTTP/1.0 request, whose expectations are ignored).
    None,
    /// `100-continue`: the client waits for `100 Continue` before it sends the body.
    Continue,
}

/// The length of the head at the front of `buf`, searching each byte once
/// ([`find_crlf_head`]); a head that has not ended within `limit` bytes is 431, a line
/// ending in a bare LF 400.
pub(crate) fn find_head_end(
    buf: &[u8],
    examined: &mut usize,
    limit: usize,
) -> Result<Option<usize>, HttpError> {
    find_crlf_head(buf, examined, limit).map_err(|error| match error {
        HeadError::TooLarge => HttpError::HeadTooLarge { limit },
        // httparse takes a bare LF as a line end, which could make it end the head
        // earlier than the blank line found here; the rest would be read as a body or a
        // second request.
        HeadError::BareLf => HttpError::BadRequest("a line ends with a bare LF"),
    })
}

/// httparse's header slots on the stack for up to this many lines (4 KiB, uninitialised;
/// the default limit fits), more go on the heap.
const STACK_HEADERS: usize = 128;
const _: () = assert!(crate::config::DEFAULT_MAX_HEADERS <= STACK_HEADERS);

/// Cuts the head at the front of `src` out, parsed and checked; `Ok(None)` to wait for
/// more. `examined` is [`find_head_end`]'s, 0 for a new head.
pub(crate) fn take_head(
    src: &mut BytesMut,
    examined: &mut usize,
    config: &Config,
) -> Result<Option<RequestHead>, HttpError> {
    let limit = config.max_head_size;
    let parsed = if *examined == 0 {
        // A head usually comes whole in the first read: one httparse pass finds its end
        // and parses it. Otherwise the search takes over, and httparse runs once more
        // when the end is found, so a head trickling in is still parsed twice at most.
        // An error here is left for that second run to report: only the whole head can
        // tell a 400 from a 431 (too long anyway) or a 505 (a version line complete).
        parse(&src[..src.len().min(limit)], config).unwrap_or(None)
    } else {
        None
    };
    let (length, mut head) = match parsed {
        Some(parsed) => parsed,
        None => {
            let Some(end) = find_head_end(src, examined, limit)? else {
                return Ok(None);
            };
            match parse(&src[..end], config)? {
                Some((length, head)) if length == end => (length, head),
                // httparse skipped the blank line as an empty line before the request.
                None if src.starts_with(b"\r\n") => {
                    return Err(HttpError::BadRequest("empty lines before the request line"))
                }
                _ => return Err(HttpError::BadRequest("malformed head")),
            }
        }
    };
    head.headers.set_source(src.split_to(length).freeze());
    Ok(Some(head))
}

/// Parses and checks the head at the front of `buf`: its length and what it says, or
/// `Ok(None)` if it has not ended. Header lines are offsets into `buf`, whose head the
/// caller sets as their source.
fn parse(buf: &[u8], config: &Config) -> Result<Option<(usize, RequestHead)>, HttpError> {
    match parse_as_sent(buf, config) {
        Err(HttpError::VersionNotSupported) => match later_minor_version(buf) {
            // RFC 9110 §2.5: a later minor version is processed as the highest this server
            // speaks, HTTP/1.1 (Workerman accepts them too). httparse knows only 1.0 and
            // 1.1, so it parses a copy with the digit changed: the same length, so every
            // offset it gives is one into `buf` as well. Rare; a copy is fine.
            Some(digit) => {
                let mut copy = buf.to_vec();
                copy[digit] = b'1';
                parse_as_sent(&copy, config)
            }
            None => Err(HttpError::VersionNotSupported),
        },
        other => other,
    }
}

fn parse_as_sent(buf: &[u8], config: &Config) -> Result<Option<(usize, RequestHead)>, HttpError> {
    if config.max_headers <= STACK_HEADERS {
        let mut slots = [MaybeUninit::uninit(); STACK_HEADERS];
        parse_with(buf, config, &mut slots[..config.max_headers])
    } else {
        let mut slots = vec![MaybeUninit::uninit(); config.max_headers];
        parse_with(buf, config, &mut slots)
    }
}

fn parse_with<'h>(
    buf: &'h [u8],
    config: &Config,
    slots: &mut [MaybeUninit<httparse::Header<'h>>],
) -> Result<Option<(usize, RequestHead)>, HttpError> {
    let mut request = httparse::Request::new(&mut []);
    let length = match request.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HttpError::HeadTooLarge {
                limit: config.max_headers,
            })
        }
        Err(httparse::Error::Version) if versioned(buf) => {
            return Err(HttpError::VersionNotSupported)
        }
        Err(httparse::Error::Token) => return Err(HttpError::BadRequest("malformed request line")),
        Err(httparse::Error::HeaderName) => {
            return Err(HttpError::BadRequest("malformed header name"))
        }
        Err(_) => return Err(HttpError::BadRequest("malformed head")),
    };
    // Offsets into a head are u32s.
    if length > config.max_head_size || length > u32::MAX as usize {
        return Err(HttpError::HeadTooLarge {
            limit: config.max_head_size,
        });
    }
    // httparse takes a bare LF as a line end, which could make it end a head earlier than
    // a proxy in front does; the rest would be read as a body or a second request. It
    // does not take a CR without an LF. So every line ended in CRLF when the blank line
    // is CRLF and each header line follows a CRLF.
    if !buf[..length].ends_with(b"\r\n\r\n") {
        return Err(HttpError::BadRequest("a line ends with a bare LF"));
    }
    // One empty line before the request line is ignored (RFC 9112 §2.2); httparse skips
    // any number, with bare LFs, and more than one would hide a blank line the search
    // for the head's end stops at.
    let method = request.method.unwrap_or_default();
    match (method.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize) {
        0 => {}
        2 if buf.starts_with(b"\r\n") => {}
        _ => return Err(HttpError::BadRequest("empty lines before the request line")),
    }
    let target = request.path.unwrap_or_default();
    if target.len() > config.max_target_length {
        return Err(HttpError::TargetTooLong {
            length: target.len(),
            limit: config.max_target_length,
        });
    }
    // Origin-form; absolute-form, whose authority replaces Host (RFC 9112 §3.2.2, a MUST
    // Workerman misses); `*` for OPTIONS (§3.2.4). Authority-form (CONNECT) is for
    // proxies: 400, as in Workerman, before the method is looked at (so CONNECT is 400,
    // not 501).
    let (target, authority) = match target.as_bytes().first() {
        Some(b'/') => (target, None),
        Some(b'*') if target.len() == 1 => {
            if method != "OPTIONS" {
                return Err(HttpError::BadRequest(
                    "asterisk-form target without OPTIONS",
                ));
            }
            (target, None)
        }
        _ => match absolute_form(target) {
            Some((authority, rest)) => (rest, Some(authority)),
            None => return Err(HttpError::BadRequest("request target is not origin-form")),
        },
    };
    let method = Method::from_name(method).ok_or(HttpError::NotImplemented)?;
    let version = match request.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let mut headers = Headers::with_capacity(request.headers.len());
    let (mut hosts, mut lengths, mut encodings) = (0, None::<&[u8]>, 0);
    let (mut close, mut keep_alive) = (false, false);
    // Every `Expect` line counts: one that is not 100-continue is refused, wherever it is.
    let (mut continue_expected, mut other_expected) = (false, false);
    for header in request.headers.iter() {
        let name = header.name;
        let mut value = header.value;
        // The names that matter here differ in length: one comparison for the others.
        match name.len() {
            4 if name.eq_ignore_ascii_case("host") => {
                hosts += 1;
                if !valid_host(value) {
                    return Err(HttpError::BadRequest("invalid Host"));
                }
                if let Some(authority) = authority {
                    value = authority.as_bytes();
                }
            }
            6 if name.eq_ignore_ascii_case("expect") => {
                if header.value.eq_ignore_ascii_case(b"100-continue") {
                    continue_expected = true;
                } else {
                    other_expected = true;
                }
            }
            10 if name.eq_ignore_ascii_case("connection") => {
                let (c, k) = connection_options(header.value);
                close |= c;
                keep_alive |= k;
            }
            14 if name.eq_ignore_ascii_case("content-length") => match lengths {
                Some(previous) if previous != header.value => {
                    return Err(HttpError::BadRequest("differing Content-Length headers"))
                }
                _ => lengths = Some(header.value),
            },
            17 if name.eq_ignore_ascii_case("transfer-encoding") => {
                encodings += 1;
                if !header.value.eq_ignore_ascii_case(b"chunked") {
                    return Err(HttpError::BadRequest(
                        "Transfer-Encoding other than chunked",
                    ));
                }
            }
            _ => {}
        }
        // httparse's slices are of `buf`, behind the request line.
        let start = (name.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        if start < 2 || start > buf.len() || buf[start - 2..start] != *b"\r\n" {
            return Err(HttpError::BadRequest("a line ends with a bare LF"));
        }
        headers.push_in(buf, name.as_bytes(), value);
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
    // RFC 9112 §9.3: HTTP/1.1 stays open unless closed, HTTP/1.0 closes unless kept.
    let keep_alive = match version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive && !close,
    };
    let expect = match (continue_expected, other_expected) {
        // RFC 9110 §10.1.1: an HTTP/1.0 client does not know interim responses, so its
        // expectation is ignored.
        _ if version == Version::Http10 => Expectation::None,
        (_, true) => return Err(HttpError::ExpectationFailed),
        (true, false) => Expectation::Continue,
        (false, false) => Expectation::None,
    };
    Ok(Some((
        length,
        RequestHead {
            method,
            // A slice of the head, which is at most 4 GiB (the head limit is a usize, but
            // httparse's input here is at most that limit, and a head that size would have
            // been refused long before).
            target: {
                let start = (target.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
                (start as u32, (start + target.len()) as u32)
            },
            version,
            headers,
            body,
            keep_alive,
            expect,
        },
    )))
}

/// Whether a `Connection` value lists `close` and `keep-alive`, with one pass over it.
fn connection_options(value: &[u8]) -> (bool, bool) {
    // What browsers send, without the split.
    if value.eq_ignore_ascii_case(b"keep-alive") {
        return (false, true);
    }
    let (mut close, mut keep_alive) = (false, false);
    for option in value.split(|&b| b == b',') {
        let option = option.trim_ascii();
        close |= option.eq_ignore_ascii_case(b"close");
        keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
    }
    (close, keep_alive)
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
    let (name_ok, port) = if value.first() == Some(&b'[') {
        match value.iter().position(|&b| b == b']') {
            Some(end) => (
                end > 1
                    && value[1..end]
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
                &value[end + 1..],
            ),
            None => return false,
        }
    } else {
        // One pass to the first byte a name cannot hold, which may start the port.
        let end = value
            .iter()
            .position(|&b| NOT_IN_HOST_NAME[usize::from(b)])
            .unwrap_or(value.len());
        (end > 0, &value[end..])
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    name_ok && port_ok
}

/// The bytes that end a `Host` name: ASCII whitespace, `:`, `/`, `[` and `]`.
const NOT_IN_HOST_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_whitespace() || matches!(b, b':' | b'/' | b'[' | b']');
        i += 1;
    }
    table
};

/// Whether the request line is three parts ending in `HTTP/<digit>.<digit>`: a version
/// httparse does not speak (505), rather than a malformed line (`GET /a b HTTP/1.1` is
/// 400).
fn versioned(head: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\r', head).unwrap_or(head.len());
    let line = &head[..line_end];
    memchr::memchr_iter(b' ', line).count() == 2
        && matches!(line, [.., b' ', b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// Where the minor digit of `HTTP/1.2` … `HTTP/1.9` is in a well-formed request line.
fn later_minor_version(head: &[u8]) -> Option<usize> {
    if !versioned(head) {
        return None;
    }
    let line_end = memchr::memchr(b'\r', head).unwrap_or(head.len());
    match &head[..line_end] {
        [.., b'1', b'.', b'2'..=b'9'] => Some(line_end - 1),
        _ => None,
    }
}

/// An absolute-form target (`http://host:port/path?query`, RFC 9112 §3.2.2): its
/// authority, a valid host with an optional port, and what follows it (empty for
/// `http://host`, which asks for `/`). `None` if it is not one: another scheme, user
/// info, a bad host.
fn absolute_form(target: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = target.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    // RFC 9110 §4.2.4: user info in an http(s) URI is an error.
    (!authority.contains('@') && valid_host(authority.as_bytes())).then_some((authority, path))
}
