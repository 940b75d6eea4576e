//! Accessors in the shape of Workerman's: the host, and repeated header lines joined.

use std::borrow::Cow;

use crate::request::{Headers, Request};

/// Repeated header lines as Workerman's `header()` gives them.
impl Headers {
    /// Every value of `name` (case-insensitive) joined with `,` in order, as Workerman's
    /// `$request->header('x-dup')` gives `"1,2"` for `X-Dup: 1` and `x-dup: 2`; `None`
    /// when there is none. One line is lent, not copied. (For a list-valued header, RFC
    /// 9110 §5.3 makes the joined value mean the same as the lines; `Set-Cookie` is the
    /// exception, which a request does not carry.)
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_http::{Http, Protocol};
    ///
    /// let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"[..]);
    /// let request = Http::default().decode(&mut buf).unwrap().unwrap();
    /// assert_eq!(request.headers().get_joined("X-DUP").as_deref(), Some(&b"1,2"[..]));
    /// assert_eq!(request.headers().get_joined_str("host").as_deref(), Some("h"));
    /// assert_eq!(request.headers().get_joined("accept"), None);
    /// ```
    pub fn get_joined(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        // Not `get_all`, whose items borrow `name` as long as `self`.
        let mut values = self
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value);
        let first = values.next()?;
        let Some(second) = values.next() else {
            return Some(Cow::Borrowed(first));
        };
        let mut joined = Vec::with_capacity(first.len() + 1 + second.len());
        joined.extend_from_slice(first);
        for value in std::iter::once(second).chain(values) {
            joined.push(b',');
            joined.extend_from_slice(value);
        }
        Some(Cow::Owned(joined))
    }

    /// [`get_joined`](Self::get_joined), if the result is UTF-8.
    pub fn get_joined_str(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.get_joined(name)? {
            Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
            Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
        }
    }
}

/// The host the request was sent to.
impl Request {
    /// The `Host` header as sent (name or IP literal, and any `:port`), if it is UTF-8.
    /// An HTTP/1.1 request always has exactly one (the parser refuses others); an
    /// HTTP/1.0 request may have none.
    pub fn host(&self) -> Option<&str> {
        self.header("host")
    }

    /// The `Host` header without its `:port`, as Workerman's `host(true)`. An IPv6
    /// literal keeps its brackets, so the result is still a valid host: `[::1]:80` gives
    /// `[::1]`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_http::{Http, Protocol};
    ///
    /// let mut http = Http::default();
    /// let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: ex.com:8080\r\n\r\nGET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"[..]);
    /// let request = http.decode(&mut buf).unwrap().unwrap();
    /// assert_eq!((request.host(), request.host_without_port()), (Some("ex.com:8080"), Some("ex.com")));
    /// let request = http.decode(&mut buf).unwrap().unwrap();
    /// assert_eq!(request.host_without_port(), Some("[::1]"));
    /// ```
    pub fn host_without_port(&self) -> Option<&str> {
        let host = self.host()?;
        let end = if host.starts_with('[') {
            host.find(']').map_or(host.len(), |at| at + 1)
        } else {
            host.find(':').unwrap_or(host.len())
        };
        Some(&host[..end])
    }
}
