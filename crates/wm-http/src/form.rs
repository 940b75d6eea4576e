//! Percent-decoding, and `application/x-www-form-urlencoded` data: query strings and
//! form bodies.
//!
//! Parsing follows the WHATWG URL Standard's urlencoded parser: the input is split on
//! `&`, empty pieces are skipped, each piece is split on its first `=` (a piece without
//! one is a name with an empty value), then name and value are decoded, `+` becoming a
//! space. Decoding is lenient, as in browsers and PHP: a `%` not followed by two hex
//! digits is kept literally (`%zz` stays `%zz`, `100%` stays `100%`).
//!
//! Decoded bytes need not be UTF-8 (`%FF`). The string API ([`Form::pairs`],
//! [`form_decode_lossy`], …) replaces invalid sequences with U+FFFD, as
//! [`String::from_utf8_lossy`] does; the byte API ([`Form::byte_pairs`],
//! [`form_decode`], …) hands out the bytes exactly.
//!
//! Names are kept literally: unlike PHP's `parse_str`, `arr[]=1&arr[]=2` is two pairs
//! named `arr[]` (no arrays are built; group them with [`Form::get_all`]), and dots and
//! spaces in names are not turned into `_`.
//!
//! Iteration is lazy and allocates only for a pair that needs decoding, at most the
//! pair's own length, so no cap on the number of pairs is needed: the data itself is
//! bounded (a query by [`Config::max_target_length`](crate::Config::max_target_length),
//! a body by [`Config::max_body_size`](crate::Config::max_body_size)).
//!
//! ```
//! use wm_http::form::{percent_decode, Form};
//!
//! let form = Form::new(b"x=1&arr[]=2&arr[]=3&q=a+b%21");
//! assert_eq!(form.get("q").as_deref(), Some("a b!"));
//! assert_eq!(form.get_all("arr[]").collect::<Vec<_>>(), ["2", "3"]);
//! // `+` is a space only in form data, not in a path.
//! assert_eq!(&percent_decode(b"/a+b%20c")[..], b"/a+b c");
//! ```

use std::borrow::Cow;
use std::iter::FusedIterator;

use crate::request::{Headers, Request};

/// The media type [`Request::form`] accepts.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as is, and `+` is
/// left alone (use this for paths). Borrows the input when nothing changes.
///
/// ```
/// use wm_http::form::percent_decode;
/// assert_eq!(&percent_decode(b"/p/a%20b")[..], b"/p/a b");
/// assert_eq!(&percent_decode(b"100%+%zz%4")[..], b"100%+%zz%4");
/// assert_eq!(&percent_decode(b"%FF")[..], [0xFF]);
/// ```
pub fn percent_decode(input: &[u8]) -> Cow<'_, [u8]> {
    decode(input, false)
}

/// [`percent_decode`], then UTF-8 with invalid sequences replaced by U+FFFD.
pub fn percent_decode_lossy(input: &[u8]) -> Cow<'_, str> {
    into_str_lossy(percent_decode(input))
}

/// Decodes a name or value of form data: `+` is a space, then as [`percent_decode`]
/// (`%2B` is a `+`). Borrows the input when nothing changes.
///
/// ```
/// use wm_http::form::form_decode;
/// assert_eq!(&form_decode(b"a+b%2Bc")[..], b"a b+c");
/// ```
pub fn form_decode(input: &[u8]) -> Cow<'_, [u8]> {
    decode(input, true)
}

/// [`form_decode`], then UTF-8 with invalid sequences replaced by U+FFFD.
pub fn form_decode_lossy(input: &[u8]) -> Cow<'_, str> {
    into_str_lossy(form_decode(input))
}

/// Percent-encodes every byte but `A-Z a-z 0-9 - _ . ~`, as PHP's `rawurlencode` (so a
/// space is `%20`, never `+`). Borrows the input when nothing needs encoding. Decoding
/// the result with [`percent_decode`] or [`form_decode`] gives the input back.
///
/// ```
/// use wm_http::form::percent_encode;
/// assert_eq!(percent_encode("x y+é".as_bytes()), "x%20y%2B%C3%A9");
/// ```
pub fn percent_encode(input: &[u8]) -> Cow<'_, str> {
    if input.iter().all(|&b| unreserved(b)) {
        if let Ok(plain) = std::str::from_utf8(input) {
            return Cow::Borrowed(plain);
        }
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len() * 3);
    for &byte in input {
        if unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    Cow::Owned(out)
}

fn unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

fn decode(input: &[u8], plus_is_space: bool) -> Cow<'_, [u8]> {
    let next = |from: usize| {
        let rest = &input[from..];
        let found = if plus_is_space {
            memchr::memchr2(b'%', b'+', rest)
        } else {
            memchr::memchr(b'%', rest)
        };
        found.map_or(input.len(), |at| from + at)
    };
    // `out` holds the decoded form of `input[..copied]`; it stays empty (and the input
    // is lent back) until an escape actually changes something.
    let mut out = Vec::new();
    let mut copied = 0;
    let mut at = next(0);
    while at < input.len() {
        let decoded = match input[at] {
            b'+' => Some((b' ', 1)),
            _ => match (input.get(at + 1), input.get(at + 2)) {
                (Some(&high), Some(&low)) => {
                    hex(high).zip(hex(low)).map(|(h, l)| ((h << 4) | l, 3))
                }
                _ => None,
            },
        };
        match decoded {
            Some((byte, length)) => {
                if out.is_empty() {
                    out.reserve(input.len());
                }
                out.extend_from_slice(&input[copied..at]);
                out.push(byte);
                copied = at + length;
                at = next(copied);
            }
            None => at = next(at + 1),
        }
    }
    if copied == 0 {
        return Cow::Borrowed(input);
    }
    out.extend_from_slice(&input[copied..]);
    Cow::Owned(out)
}

/// `%XX` escapes decoded strictly (no `+` rule): `None` if a `%` is not followed by two hex
/// digits. Borrows the input when it holds no `%`. What [`percent_decode`] is for input
/// that must be well-formed (a path, an RFC 5987 value).
pub(crate) fn percent_decode_strict(input: &[u8]) -> Option<Cow<'_, [u8]>> {
    if !input.contains(&b'%') {
        return Some(Cow::Borrowed(input));
    }
    let mut decoded = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let (&high, &low) = (tail.first()?, tail.get(1)?);
            decoded.push((hex(high)? << 4) | hex(low)?);
            rest = &tail[2..];
        } else {
            decoded.push(b);
            rest = tail;
        }
    }
    Some(Cow::Owned(decoded))
}

/// The value of one hex digit.
pub(crate) fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Bytes as UTF-8, invalid sequences replaced by U+FFFD, without copying what is valid.
pub(crate) fn into_str_lossy(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(bytes) => String::from_utf8_lossy(bytes),
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Cow::Owned(text),
            Err(error) => Cow::Owned(String::from_utf8_lossy(error.as_bytes()).into_owned()),
        },
    }
}

/// `application/x-www-form-urlencoded` data (a query string or a form body), read
/// lazily: nothing is parsed until asked for. Cheap to copy.
///
/// ```
/// use wm_http::form::Form;
///
/// let form = Form::new(b"a=1&b=x%20y&a=2&flag");
/// let pairs: Vec<_> = form.pairs().collect();
/// assert_eq!(pairs[1], ("b".into(), "x y".into()));
/// assert_eq!(pairs[3], ("flag".into(), "".into()));
/// assert_eq!(form.get("a").as_deref(), Some("1"));
/// assert_eq!(form.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Form<'a> {
    raw: &'a [u8],
}

impl<'a> Form<'a> {
    /// The form in `raw` (undecoded, without a leading `?`).
    pub fn new(raw: &'a [u8]) -> Self {
        Self { raw }
    }

    /// The undecoded data.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The decoded (name, value) pairs in order, as text (invalid UTF-8 replaced by
    /// U+FFFD).
    pub fn pairs(&self) -> FormPairs<'a> {
        FormPairs {
            inner: self.byte_pairs(),
        }
    }

    /// The decoded (name, value) pairs in order, as bytes.
    pub fn byte_pairs(&self) -> FormBytePairs<'a> {
        FormBytePairs { rest: self.raw }
    }

    /// The value of the first pair named `name` (compared after decoding, exactly).
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get_all(name).next()
    }

    /// The values of every pair named `name`, in order: how a PHP `arr[]` list is read.
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = Cow<'a, str>> + 'n
    where
        'a: 'n,
    {
        self.byte_pairs()
            .filter(move |(n, _)| n[..] == *name.as_bytes())
            .map(|(_, value)| into_str_lossy(value))
    }
}

/// The pairs of a [`Form`] as bytes: see [`Form::byte_pairs`].
#[derive(Debug, Clone)]
pub struct FormBytePairs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for FormBytePairs<'a> {
    type Item = (Cow<'a, [u8]>, Cow<'a, [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (piece, rest) = match memchr::memchr(b'&', self.rest) {
                Some(at) => (&self.rest[..at], &self.rest[at + 1..]),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            if piece.is_empty() {
                continue;
            }
            let (name, value) = match memchr::memchr(b'=', piece) {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &[][..]),
            };
            return Some((form_decode(name), form_decode(value)));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Pieces are at least one byte and a separator apart.
        (0, Some(self.rest.len().div_ceil(2)))
    }
}

impl FusedIterator for FormBytePairs<'_> {}

/// The pairs of a [`Form`] as text: see [`Form::pairs`].
#[derive(Debug, Clone)]
pub struct FormPairs<'a> {
    inner: FormBytePairs<'a>,
}

impl<'a> Iterator for FormPairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(name, value)| (into_str_lossy(name), into_str_lossy(value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl FusedIterator for FormPairs<'_> {}

/// Why a request body was not read as a form ([`Request::form`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// The request has no `Content-Type`.
    #[error("no Content-Type: the body is not a form")]
    MissingContentType,
    /// The `Content-Type` is not `application/x-www-form-urlencoded`. Workerman parses
    /// any body as a form; this server does not (a `text/plain` body `a=1` is no form).
    #[error("Content-Type {content_type:?} is not application/x-www-form-urlencoded")]
    NotUrlEncoded {
        /// The `Content-Type` sent (invalid UTF-8 replaced by U+FFFD).
        content_type: String,
    },
    /// More than one `Content-Type` line: which one holds is ambiguous.
    #[error("more than one Content-Type")]
    DuplicateContentType,
}

/// Whether a `Content-Type` value is the urlencoded form type: its media type compared
/// without case, parameters (`; charset=UTF-8`) allowed.
fn is_form_content_type(value: &[u8]) -> bool {
    let essence = match memchr::memchr(b';', value) {
        Some(at) => &value[..at],
        None => value,
    };
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(FORM_CONTENT_TYPE.as_bytes())
}

fn form_content_type(headers: &Headers) -> Result<(), FormError> {
    let mut types = headers.get_all("content-type");
    let content_type = types.next().ok_or(FormError::MissingContentType)?;
    if types.next().is_some() {
        return Err(FormError::DuplicateContentType);
    }
    if is_form_content_type(content_type) {
        Ok(())
    } else {
        Err(FormError::NotUrlEncoded {
            content_type: String::from_utf8_lossy(content_type).into_owned(),
        })
    }
}

/// Query strings and form bodies.
impl Request {
    /// The query string as a [`Form`] (empty without a `?`).
    pub fn query_form(&self) -> Form<'_> {
        Form::new(self.query().unwrap_or_default().as_bytes())
    }

    /// The decoded (name, value) pairs of the query string, in order. Names are literal
    /// (`arr[]`, no PHP arrays); see [the module](crate::form) for the rules.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_http::{Http, Protocol};
    ///
    /// let mut buf = BytesMut::from(&b"GET /?x=1&arr[]=2&arr[]=3&q=a+b HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    /// let request = Http::default().decode(&mut buf).unwrap().unwrap();
    /// let pairs: Vec<(String, String)> = request
    ///     .query_pairs()
    ///     .map(|(name, value)| (name.into_owned(), value.into_owned()))
    ///     .collect();
    /// assert_eq!(pairs[0], ("x".to_owned(), "1".to_owned()));
    /// assert_eq!(request.query_param("q").as_deref(), Some("a b"));
    /// assert_eq!(request.query_params_all("arr[]").collect::<Vec<_>>(), ["2", "3"]);
    /// ```
    pub fn query_pairs(&self) -> FormPairs<'_> {
        self.query_form().pairs()
    }

    /// The value of the first query parameter named `name`.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_form().get(name)
    }

    /// The values of every query parameter named `name`, in order.
    pub fn query_params_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Cow<'a, str>> {
        self.query_form().get_all(name)
    }

    /// The body as a [`Form`], if the request's one `Content-Type` is
    /// `application/x-www-form-urlencoded` (any case, parameters allowed). Any other type
    /// is a [`FormError`] rather than an empty form, so that "not a form" and "an empty
    /// form" differ; unlike Workerman's `post()`, a body of another type is never parsed
    /// as a form (spec §11.6). A `charset` parameter is not acted on: values are UTF-8
    /// (lossy) or bytes ([`Form::byte_pairs`]).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_http::{form::FormError, Http, Protocol};
    ///
    /// let mut http = Http::default();
    /// let mut buf = BytesMut::from(&b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\r\nContent-Length: 9\r\n\r\na=1&b=x+y"[..]);
    /// let request = http.decode(&mut buf).unwrap().unwrap();
    /// assert_eq!(request.form().unwrap().get("b").as_deref(), Some("x y"));
    ///
    /// let mut buf = BytesMut::from(&b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\na=1"[..]);
    /// let request = http.decode(&mut buf).unwrap().unwrap();
    /// assert!(matches!(request.form(), Err(FormError::NotUrlEncoded { .. })));
    /// ```
    pub fn form(&self) -> Result<Form<'_>, FormError> {
        form_content_type(self.headers())?;
        Ok(Form::new(self.body()))
    }

    /// The decoded (name, value) pairs of a form body: [`form`](Self::form), then
    /// [`Form::pairs`].
    pub fn form_pairs(&self) -> Result<FormPairs<'_>, FormError> {
        self.form().map(|form| form.pairs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_percent_decoding_refuses_a_bad_escape() {
        assert_eq!(
            percent_decode_strict(b"a%20b%2Fc").as_deref(),
            Some(&b"a b/c"[..])
        );
        assert!(matches!(
            percent_decode_strict(b"plain"),
            Some(Cow::Borrowed(b"plain"))
        ));
        for bad in [&b"%"[..], b"%2", b"%zz", b"a%g0"] {
            assert_eq!(percent_decode_strict(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn decode_borrows_when_nothing_changes() {
        assert!(matches!(percent_decode(b"/a/b"), Cow::Borrowed(_)));
        assert!(matches!(percent_decode(b"a+b%zz%"), Cow::Borrowed(_)));
        assert!(matches!(form_decode(b"abc%4"), Cow::Borrowed(_)));
        assert!(matches!(form_decode(b"a+b"), Cow::Owned(_)));
    }

    #[test]
    fn escapes_at_the_end_and_back_to_back() {
        assert_eq!(&percent_decode(b"%41%42%")[..], b"AB%");
        assert_eq!(&percent_decode(b"%%41")[..], b"%A");
        assert_eq!(&percent_decode(b"%4%41")[..], b"%4A");
        assert_eq!(&percent_decode(b"%a")[..], b"%a");
        assert_eq!(&form_decode(b"++%2b")[..], b"  +");
    }

    #[test]
    fn content_type_essence() {
        assert!(is_form_content_type(b"application/x-www-form-urlencoded"));
        assert!(is_form_content_type(
            b" APPLICATION/X-WWW-FORM-URLENCODED ;charset=utf-8"
        ));
        assert!(!is_form_content_type(b"application/x-www-form-urlencodedx"));
        assert!(!is_form_content_type(b"multipart/form-data; boundary=x"));
        assert!(!is_form_content_type(b""));
    }
}
