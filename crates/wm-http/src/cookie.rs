//! Cookies: reading the `Cookie` header of a request, and writing `Set-Cookie` lines with
//! [`SetCookie`].
//!
//! Values are percent-encoded on the way out (as PHP's `rawurlencode`, which Workerman's
//! `Response::cookie` uses) and percent-decoded on the way in, so a value set is the
//! value read back. Workerman 5 does not decode (it reads back `x%20y` for a value set
//! as `x y`); this is one of the deliberate differences of spec §11.6.
//!
//! ```
//! use bytes::BytesMut;
//! use wm_http::{Http, Protocol, Response, SameSite, SetCookie};
//!
//! let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=x%20y; c=d=e\r\n\r\n"[..]);
//! let request = Http::default().decode(&mut buf).unwrap().unwrap();
//! assert_eq!(request.cookie("b").as_deref(), Some("x y"));
//! assert_eq!(request.cookie("c").as_deref(), Some("d=e"));
//!
//! let cookie = SetCookie::new("a", "x y")?
//!     .max_age(60)
//!     .path("/")?
//!     .secure(true)
//!     .http_only(true)
//!     .same_site(SameSite::Lax);
//! assert_eq!(cookie.to_string(), "a=x%20y; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax");
//! let response = Response::new(200).cookie(cookie);
//! # Ok::<(), wm_http::CookieError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::iter::FusedIterator;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wm_protocol::http1::is_token;

use crate::form::{percent_decode_lossy, percent_encode};
use crate::request::Request;
use crate::response::Response;

/// The (name, value) pairs of one `Cookie` header value, in order.
///
/// The value is split on `;`, each piece on its first `=`; a piece without `=` or with an
/// empty name is skipped. Names and values are trimmed of whitespace (Workerman trims
/// names only; a conforming client sends none around values). A value in double quotes
/// loses them. Values are then percent-decoded (`+` stays a `+`, as `rawurlencode` writes
/// a space as `%20`; a malformed escape is kept as is), and names and values are read as
/// UTF-8 with invalid sequences replaced by U+FFFD.
///
/// ```
/// use wm_http::cookie::parse_cookie_header;
///
/// let pairs: Vec<_> = parse_cookie_header(b"a=1; b=x%20y; c=d=e; q=\"v\"; junk").collect();
/// assert_eq!(pairs, [("a".into(), "1".into()), ("b".into(), "x y".into()), ("c".into(), "d=e".into()), ("q".into(), "v".into())]);
/// ```
pub fn parse_cookie_header(value: &[u8]) -> CookiePairs<'_> {
    CookiePairs { rest: value }
}

/// The pairs of one `Cookie` header value: see [`parse_cookie_header`].
#[derive(Debug, Clone)]
pub struct CookiePairs<'a> {
    rest: &'a [u8],
}

impl<'a> CookiePairs<'a> {
    /// The next pair, name trimmed, value trimmed and unquoted but not decoded.
    fn next_raw(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (piece, rest) = match memchr::memchr(b';', self.rest) {
                Some(at) => (&self.rest[..at], &self.rest[at + 1..]),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let Some(eq) = memchr::memchr(b'=', piece) else {
                continue;
            };
            let name = piece[..eq].trim_ascii();
            if name.is_empty() {
                continue;
            }
            let value = match piece[eq + 1..].trim_ascii() {
                [b'"', inner @ .., b'"'] => inner,
                value => value,
            };
            return Some((name, value));
        }
    }
}

impl<'a> Iterator for CookiePairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        self.next_raw()
            .map(|(name, value)| (String::from_utf8_lossy(name), percent_decode_lossy(value)))
    }
}

impl FusedIterator for CookiePairs<'_> {}

/// Cookies sent with the request.
impl Request {
    /// The (name, value) pairs of every `Cookie` header, in order (see
    /// [`parse_cookie_header`] for the rules). The same name may come more than once.
    pub fn cookies(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
        self.headers()
            .get_all("cookie")
            .flat_map(parse_cookie_header)
    }

    /// The decoded value of the first cookie named `name` (exactly). Workerman keeps the
    /// last of a repeated name; the first is taken here because a browser sends cookies
    /// with more specific paths first (RFC 6265 §5.4).
    pub fn cookie(&self, name: &str) -> Option<Cow<'_, str>> {
        self.headers().get_all("cookie").find_map(|header| {
            let mut pairs = parse_cookie_header(header);
            std::iter::from_fn(|| pairs.next_raw())
                .find(|(n, _)| *n == name.as_bytes())
                .map(|(_, value)| percent_decode_lossy(value))
        })
    }
}

/// Cookies set by the response.
impl Response {
    /// Adds a `Set-Cookie` line (after any others, as Workerman's `cookie()`).
    pub fn cookie(self, cookie: SetCookie) -> Self {
        self.append_header("Set-Cookie", cookie.to_string())
    }
}

/// A `SetCookie` that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The name is not an HTTP token (empty, or holding a space, `=`, `;`, a control
    /// character, …).
    #[error("cookie name {0:?} is not an HTTP token")]
    InvalidName(String),
    /// An attribute value holding `;`, a control character (CR, LF, …) or a non-ASCII
    /// character, any of which could end the attribute or the header line early.
    #[error("cookie {attribute} {value:?} holds `;`, a control character or non-ASCII")]
    InvalidAttribute {
        /// `Domain` or `Path`.
        attribute: &'static str,
        /// The refused value.
        value: String,
    },
}

/// The `SameSite` attribute of a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// Sent only with requests from the same site.
    Strict,
    /// Also sent with top-level navigations from other sites.
    Lax,
    /// Sent with every request. Browsers ignore the cookie unless it is also
    /// [`secure`](SetCookie::secure); that is left to the caller.
    None,
}

impl SameSite {
    /// The attribute's value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// The latest time an HTTP-date can hold (9999-12-31T23:59:59Z); `httpdate` panics past
/// it, and before the epoch.
const LAST_HTTP_DATE: Duration = Duration::from_secs(253_402_300_799);

/// A `Set-Cookie` header value, built the way Workerman's `Response::cookie` writes it:
/// `name=value`, the value percent-encoded as `rawurlencode` (everything but
/// `A-Z a-z 0-9 - _ . ~` as `%XX`), then the attributes set, in the order Domain,
/// Max-Age, Expires (which Workerman does not offer), Path, Secure, HttpOnly, SameSite.
///
/// A `SetCookie` is valid by construction: the name is checked by [`new`](Self::new), the
/// attribute values by their setters, so [`Response::cookie`] cannot fail. Its
/// [`Display`](fmt::Display) is the header value.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use wm_http::{CookieError, SetCookie};
///
/// let cookie = SetCookie::new("sid", "a/b")?
///     .domain("example.com")?
///     .expires(UNIX_EPOCH + Duration::from_secs(784_111_777));
/// assert_eq!(
///     cookie.to_string(),
///     "sid=a%2Fb; Domain=example.com; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
/// );
/// // Removing a cookie: an empty value that expires now.
/// assert_eq!(SetCookie::new("sid", "")?.max_age(0).to_string(), "sid=; Max-Age=0");
/// assert_eq!(SetCookie::new("a b", "v"), Err(CookieError::InvalidName("a b".into())));
/// # Ok::<(), CookieError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    name: String,
    /// Already encoded.
    value: String,
    domain: Option<String>,
    max_age: Option<i64>,
    expires: Option<SystemTime>,
    path: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
}

impl SetCookie {
    /// A cookie named `name` (an HTTP token, else [`CookieError::InvalidName`]) holding
    /// `value` (any bytes: it is percent-encoded), with no attributes.
    pub fn new(name: impl Into<String>, value: impl AsRef<[u8]>) -> Result<Self, CookieError> {
        let name = name.into();
        if !is_token(&name) {
            return Err(CookieError::InvalidName(name));
        }
        Ok(Self {
            name,
            value: percent_encode(value.as_ref()).into_owned(),
            domain: None,
            max_age: None,
            expires: None,
            path: None,
            secure: false,
            http_only: false,
            same_site: None,
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value as sent, percent-encoded.
    pub fn encoded_value(&self) -> &str {
        &self.value
    }

    /// `Domain=`: the hosts the cookie goes to. An empty string sends no attribute, as in
    /// Workerman.
    pub fn domain(mut self, domain: impl Into<String>) -> Result<Self, CookieError> {
        self.domain = attribute("Domain", domain.into())?;
        Ok(self)
    }

    /// `Max-Age=`: seconds until the cookie expires; 0 or less removes it.
    pub fn max_age(mut self, seconds: i64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// `Expires=`, as an HTTP-date. Times before 1970 are sent as 1970-01-01 and times
    /// after 9999 as 9999-12-31T23:59:59Z, which an HTTP-date cannot go beyond. Browsers
    /// prefer `Max-Age` when both are set.
    pub fn expires(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// `Path=`: the paths the cookie goes to. An empty string sends no attribute, as in
    /// Workerman.
    pub fn path(mut self, path: impl Into<String>) -> Result<Self, CookieError> {
        self.path = attribute("Path", path.into())?;
        Ok(self)
    }

    /// `Secure`: sent over HTTPS only.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// `HttpOnly`: hidden from scripts.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// `SameSite=`.
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }
}

/// An attribute value that stays inside its attribute and its line: visible ASCII or
/// space, no `;`. Empty means none.
fn attribute(attribute: &'static str, value: String) -> Result<Option<String>, CookieError> {
    if value.is_empty() {
        Ok(None)
    } else if value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b';')
    {
        Ok(Some(value))
    } else {
        Err(CookieError::InvalidAttribute { attribute, value })
    }
}

impl fmt::Display for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)?;
        if let Some(domain) = &self.domain {
            write!(f, "; Domain={domain}")?;
        }
        if let Some(max_age) = self.max_age {
            write!(f, "; Max-Age={max_age}")?;
        }
        if let Some(at) = self.expires {
            let since_epoch = at
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .min(LAST_HTTP_DATE);
            let date = httpdate::fmt_http_date(UNIX_EPOCH + since_epoch);
            write!(f, "; Expires={date}")?;
        }
        if let Some(path) = &self.path {
            write!(f, "; Path={path}")?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        if let Some(same_site) = self.same_site {
            write!(f, "; SameSite={}", same_site.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_out_of_http_date_range_is_clamped_not_a_panic() {
        let early = SetCookie::new("a", "")
            .unwrap()
            .expires(UNIX_EPOCH - Duration::from_secs(1));
        assert!(early
            .to_string()
            .ends_with("Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        let late = SetCookie::new("a", "")
            .unwrap()
            .expires(UNIX_EPOCH + Duration::from_secs(400_000_000_000));
        assert!(late
            .to_string()
            .ends_with("Expires=Fri, 31 Dec 9999 23:59:59 GMT"));
    }

    #[test]
    fn lone_quote_is_kept() {
        let pairs: Vec<_> = parse_cookie_header(b"a=\"; b=\"\"").collect();
        assert_eq!(pairs, [("a".into(), "\"".into()), ("b".into(), "".into())]);
    }
}
