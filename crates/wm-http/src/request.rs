//! A parsed request: method, target, version, headers, body and trailers. Header values
//! and a `Content-Length` body are slices of the read buffer.

use std::net::SocketAddr;

use bytes::Bytes;
use wm_protocol::http1::split_target;

/// The methods this server implements; any other is answered 501.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: answered like GET, without a body.
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `PATCH`
    Patch,
}

impl Method {
    /// The method for its exact (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            "PATCH" => Self::Patch,
            _ => return None,
        })
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Patch => "PATCH",
        }
    }
}

/// The protocol version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless the request asked for
    /// `keep-alive`.
    Http10,
    /// HTTP/1.1: the connection stays open unless a side says `close`.
    Http11,
}

/// Header lines in their order, names as sent; lookups ignore case.
///
/// The lines stay where they were read: one shared buffer (the request head) and, per
/// line, where its name and value are in it. So a head costs one reference count and one
/// small allocation, not two per line; [`get_shared`](Self::get_shared) and
/// [`iter_shared`](Self::iter_shared) hand out zero-copy `Bytes` when they are wanted.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    source: Bytes,
    entries: Vec<Entry>,
}

/// Where one line's name and value are in [`Headers::source`]: start and end offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
}

impl Headers {
    /// No lines.
    pub(crate) const fn new() -> Self {
        Self {
            source: Bytes::new(),
            entries: Vec::new(),
        }
    }

    /// No lines yet; those pushed are slices of `source`.
    pub(crate) fn with_source(source: Bytes, capacity: usize) -> Self {
        Self {
            source,
            entries: Vec::with_capacity(capacity),
        }
    }

    /// No lines yet, room for `capacity`.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self::with_source(Bytes::new(), capacity)
    }

    /// Adds a line whose name and value are slices of the source buffer (as httparse
    /// hands them out).
    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) {
        let entry = Entry {
            name: offsets(&self.source, name),
            value: offsets(&self.source, value),
        };
        self.entries.push(entry);
    }

    /// Adds a line whose name and value are slices of `base`, which becomes the source
    /// later ([`set_source`](Self::set_source)): a head is parsed before it is cut from
    /// the read buffer.
    pub(crate) fn push_in(&mut self, base: &[u8], name: &[u8], value: &[u8]) {
        self.entries.push(Entry {
            name: offsets(base, name),
            value: offsets(base, value),
        });
    }

    /// Sets the buffer the lines were pushed from (`push_in`'s `base`, cut out).
    pub(crate) fn set_source(&mut self, source: Bytes) {
        debug_assert!(self
            .entries
            .iter()
            .all(|e| e.value.1 as usize <= source.len()));
        self.source = source;
    }

    fn slice(&self, (start, end): (u32, u32)) -> &[u8] {
        &self.source[start as usize..end as usize]
    }

    /// A part of the source that is not a header line (the request target).
    pub(crate) fn source_slice(&self, (start, end): (u32, u32)) -> &[u8] {
        self.source
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// The same, as a zero-copy `Bytes`.
    pub(crate) fn source_bytes(&self, (start, end): (u32, u32)) -> Bytes {
        match self.source.get(start as usize..end as usize) {
            Some(_) => self.source.slice(start as usize..end as usize),
            None => Bytes::new(),
        }
    }

    /// The first value of `name`, as bytes.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The first value of `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of `name`, as a zero-copy slice of the read buffer.
    pub fn get_shared(&self, name: &str) -> Option<Bytes> {
        self.entries
            .iter()
            .find(|e| self.slice(e.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(|e| self.source.slice(e.value.0 as usize..e.value.1 as usize))
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Whether a comma-separated value of `name` contains `token` (case-insensitive), as
    /// in `Connection: keep-alive, Upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|value| has_token(value, token))
    }

    /// Every line: name as sent, value.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|e| (self.slice(e.name), self.slice(e.value)))
    }

    /// Every line as zero-copy slices of the read buffer (for `http::HeaderValue`, say).
    pub fn iter_shared(&self) -> impl Iterator<Item = (Bytes, Bytes)> + '_ {
        self.entries.iter().map(|e| {
            (
                self.source.slice(e.name.0 as usize..e.name.1 as usize),
                self.source.slice(e.value.0 as usize..e.value.1 as usize),
            )
        })
    }

    /// How many lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The lines as `name: value` pairs (lossy UTF-8), not offsets.
impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(name, value)| {
                (
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(value),
                )
            }))
            .finish()
    }
}

/// `part`'s place in `base`. Parsers only pass slices of it (a 16 KiB head fits u32
/// offsets many times over); anything else would be a bug, kept from panicking.
fn offsets(base: &[u8], part: &[u8]) -> (u32, u32) {
    let start = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    let end = start.wrapping_add(part.len());
    if start <= end && end <= base.len() && end <= u32::MAX as usize {
        (start as u32, end as u32)
    } else {
        debug_assert!(part.is_empty(), "a header outside its source buffer");
        (0, 0)
    }
}

/// Whether the comma-separated `value` lists `token` (ASCII case-insensitive).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// A complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub(crate) method: Method,
    /// Where the target is in the head (`headers`' source).
    pub(crate) target: (u32, u32),
    pub(crate) version: Version,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
    /// Boxed, as it is nearly always empty: a request stays small enough to move inline.
    pub(crate) trailers: Option<Box<Headers>>,
    pub(crate) keep_alive: bool,
    pub(crate) remote_addr: Option<SocketAddr>,
}

impl Request {
    /// The peer the request came from, where the server said (wm-server always does;
    /// [`serve_with`](crate::serve_with) with
    /// [`ServeOptions::remote_addr`](crate::ServeOptions::remote_addr)): PHP's
    /// `$_SERVER['REMOTE_ADDR']`, the socket's peer, not a header a proxy wrote. The
    /// sans-IO decoder has no socket and leaves it `None`.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// Sets [`remote_addr`](Self::remote_addr): what a server does for each request, and
    /// what a middleware behind a trusted proxy may do with the address the proxy
    /// reported.
    pub fn set_remote_addr(&mut self, address: Option<SocketAddr>) {
        self.remote_addr = address;
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The request target in origin-form: path and query as sent. For an absolute-form
    /// target (`GET http://host/p?q HTTP/1.1`, RFC 9112 §3.2.2) it is what follows the
    /// authority (`/p?q`; `/` if nothing does), and the authority is the `Host` header's
    /// value. `OPTIONS *` gives `*`.
    pub fn target(&self) -> &str {
        if self.target.0 == self.target.1 {
            return "/";
        }
        // httparse checked it is UTF-8: a slice of the head, not a copy.
        std::str::from_utf8(self.headers.source_slice(self.target)).unwrap_or_default()
    }

    /// The target as a zero-copy slice of the read buffer.
    pub fn target_shared(&self) -> Bytes {
        if self.target.0 == self.target.1 {
            return Bytes::from_static(b"/");
        }
        self.headers.source_bytes(self.target)
    }

    /// The path, undecoded (`/` for an absolute-form target with a query and no path).
    pub fn path(&self) -> &str {
        match split_target(self.target()).0 {
            "" => "/",
            path => path,
        }
    }

    /// The query string after `?`, undecoded.
    pub fn query(&self) -> Option<&str> {
        split_target(self.target()).1
    }

    /// The version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of a header, if it is UTF-8 (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// The body: `Content-Length` bytes, or the chunks put together.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The trailer fields of a chunked body.
    pub fn trailers(&self) -> &Headers {
        static NONE: Headers = Headers::new();
        self.trailers.as_deref().unwrap_or(&NONE)
    }

    /// Whether the connection stays open after the response: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive` (Workerman keeps
    /// every connection open; RFC 9112 §9.3 says this).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }
}
