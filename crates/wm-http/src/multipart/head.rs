//! A part's head: its header lines, `Content-Disposition` with its parameters (RFC 6266,
//! RFC 5987 `filename*`), `Content-Type`.

use std::borrow::Cow;

use bytes::Bytes;

use super::{MultipartError, MultipartLimits, PartHead};
use crate::request::Headers;

/// Parses a complete part head (`head` ends with its blank line).
pub(super) fn parse_part_head(
    head: &Bytes,
    limits: &MultipartLimits,
) -> Result<PartHead, MultipartError> {
    // As for a request head: a bare LF could end a line where the search saw none.
    if memchr::memchr_iter(b'\n', head).any(|at| at == 0 || head[at - 1] != b'\r') {
        return Err(MultipartError::MalformedPartHead(
            "a header line ends with a bare LF",
        ));
    }
    // Every line ends in CRLF, the blank line too.
    let lines = memchr::memchr_iter(b'\n', head).count() - 1;
    if lines > limits.max_part_headers {
        return Err(MultipartError::TooManyPartHeaders {
            limit: limits.max_part_headers,
        });
    }
    let mut slots = vec![httparse::EMPTY_HEADER; lines];
    let parsed = match httparse::parse_headers(head, &mut slots) {
        Ok(httparse::Status::Complete((length, parsed))) if length == head.len() => parsed,
        _ => return Err(MultipartError::MalformedPartHead("malformed header line")),
    };
    let mut headers = Headers::with_source(head.clone(), parsed.len());
    let mut disposition = None;
    for header in parsed.iter() {
        if header.name.eq_ignore_ascii_case("content-disposition") {
            if disposition.is_some() {
                return Err(MultipartError::MalformedPartHead(
                    "more than one Content-Disposition",
                ));
            }
            disposition = Some(header.value);
        }
        headers.push(header.name.as_bytes(), header.value);
    }
    let disposition = disposition.ok_or(MultipartError::MissingContentDisposition)?;
    let (kind, rest) = split_type(disposition);
    if !kind.eq_ignore_ascii_case(b"form-data") {
        return Err(MultipartError::MalformedPartHead(
            "Content-Disposition is not form-data",
        ));
    }
    let params = parameters(rest).map_err(MultipartError::MalformedPartHead)?;
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
    };
    let name =
        param("name")
            .map(|p| lossy(&p.unescaped()))
            .ok_or(MultipartError::MalformedPartHead(
                "Content-Disposition has no name",
            ))?;
    let filename = param("filename*")
        .and_then(|p| ext_value(&p.unescaped()))
        .or_else(|| param("filename").map(|p| lossy(&p.unescaped())));
    let full_path = filename.as_ref().map(|filename| {
        headers
            .get("webkitrelativepath")
            .map_or_else(|| filename.clone(), lossy)
    });
    let content_type = headers
        .get("content-type")
        .map(|value| lossy(value.trim_ascii()));
    Ok(PartHead {
        name,
        filename,
        full_path,
        content_type,
        headers,
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A header value split into its type (`multipart/form-data`, `form-data`), trimmed, and
/// what follows it from the first `;`.
pub(super) fn split_type(value: &[u8]) -> (&[u8], &[u8]) {
    let end = memchr::memchr(b';', value).unwrap_or(value.len());
    (value[..end].trim_ascii(), &value[end..])
}

/// One `name=value` parameter, its value as sent (a quoted-string still escaped).
#[derive(Debug, Clone, Copy)]
pub(super) struct Param<'a> {
    pub(super) name: &'a [u8],
    pub(super) value: &'a [u8],
    quoted: bool,
}

impl Param<'_> {
    /// The value with a quoted-string's escapes undone. A backslash escapes only `"` and
    /// `\`: Internet Explorer sent `filename="C:\dir\a.txt"` unescaped, and other
    /// parsers (Go's `mime`) keep such backslashes too.
    fn unescaped(&self) -> Cow<'_, [u8]> {
        if !self.quoted || memchr::memchr(b'\\', self.value).is_none() {
            return Cow::Borrowed(self.value);
        }
        let mut out = Vec::with_capacity(self.value.len());
        let mut rest = self.value;
        while let Some((&b, tail)) = rest.split_first() {
            match (b, tail.first()) {
                (b'\\', Some(&next @ (b'"' | b'\\'))) => {
                    out.push(next);
                    rest = &tail[1..];
                }
                _ => {
                    out.push(b);
                    rest = tail;
                }
            }
        }
        Cow::Owned(out)
    }
}

/// The `; name=value` parameters after a type (RFC 9110 §5.6.6), each value a token or a
/// quoted-string. Lenient where clients are sloppy: an unquoted value runs to the next
/// `;` (spaces and all), and empty parameters (`;;`, a trailing `;`) are skipped.
pub(super) fn parameters(mut rest: &[u8]) -> Result<Vec<Param<'_>>, &'static str> {
    let mut params = Vec::new();
    loop {
        rest = rest.trim_ascii_start();
        let Some(after) = rest.strip_prefix(b";") else {
            return if rest.is_empty() {
                Ok(params)
            } else {
                Err("parameters not separated by ';'")
            };
        };
        rest = after.trim_ascii_start();
        if rest.is_empty() || rest[0] == b';' {
            continue;
        }
        let name_end = rest
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest.len());
        let name = rest[..name_end].trim_ascii_end();
        if name.is_empty() || !name.iter().all(|&b| wm_protocol::http1::is_token_byte(b)) {
            return Err("malformed parameter name");
        }
        if rest.get(name_end) != Some(&b'=') {
            return Err("parameter without a value");
        }
        rest = rest[name_end + 1..].trim_ascii_start();
        let (value, quoted) = if rest.first() == Some(&b'"') {
            let end = closing_quote(&rest[1..]).ok_or("unterminated quoted-string")?;
            let value = &rest[1..1 + end];
            rest = &rest[end + 2..];
            (value, true)
        } else {
            let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
            let value = rest[..end].trim_ascii_end();
            rest = &rest[end..];
            (value, false)
        };
        params.push(Param {
            name,
            value,
            quoted,
        });
    }
}

/// The offset of the `"` that ends a quoted-string whose contents `s` begins with.
fn closing_quote(s: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < s.len() {
        match (s[at], s.get(at + 1)) {
            (b'"', _) => return Some(at),
            (b'\\', Some(b'"' | b'\\')) => at += 2,
            _ => at += 1,
        }
    }
    None
}

/// An RFC 5987 `ext-value` (`UTF-8''na%C3%AFve.txt`) in one of the two charsets it
/// requires; `None` for another charset or bad encoding, so that `filename` is used.
fn ext_value(value: &[u8]) -> Option<String> {
    let mut fields = value.splitn(3, |&b| b == b'\'');
    let (charset, _language, encoded) = (fields.next()?, fields.next()?, fields.next()?);
    let bytes = crate::form::percent_decode_strict(encoded)?.into_owned();
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}
