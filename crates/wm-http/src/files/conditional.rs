//! Conditional and range requests against a file's validators: `If-None-Match`,
//! `If-Modified-Since`, `If-Match`, `If-Unmodified-Since`, `If-Range` and one `Range`
//! (RFC 9110 §13, §14).

use std::fs::{File, Metadata};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{partial, representation, FileAnswer, FileBody, FileError, LAST_HTTP_DATE_SECS};
use crate::request::Headers;
use crate::response::Response;

/// What identifies a version of a file: its size and modification time.
pub(super) struct Validators {
    size: u64,
    /// The modification time to the second, when an HTTP-date can hold it.
    modified: Option<SystemTime>,
    /// `W/"<size hex>-<mtime in ns, hex>"`.
    pub(super) etag: String,
}

impl Validators {
    pub(super) fn of(metadata: &Metadata) -> Self {
        let size = metadata.len();
        let since_epoch = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok());
        let modified = since_epoch
            .filter(|d| d.as_secs() <= LAST_HTTP_DATE_SECS)
            .map(|d| UNIX_EPOCH + Duration::from_secs(d.as_secs()));
        let nanos = since_epoch.map_or(0, |d| d.as_nanos());
        Self {
            size,
            modified,
            etag: format!("W/\"{size:x}-{nanos:x}\""),
        }
    }

    pub(super) fn last_modified(&self) -> Option<String> {
        self.modified.map(httpdate::fmt_http_date)
    }

    /// `If-None-Match` (weak comparison): `*`, or a list holding this file's tag.
    fn none_match(&self, headers: &Headers) -> Option<bool> {
        let mut present = false;
        let mut matched = false;
        for value in headers.get_all("if-none-match") {
            present = true;
            matched |= value.trim_ascii() == b"*"
                || entity_tags(value).any(|(_, tag)| tag == opaque(&self.etag));
        }
        present.then_some(matched)
    }

    /// `If-Modified-Since`: the file has not changed since that date (a date that does
    /// not parse is ignored, RFC 9110 §13.1.3).
    fn not_modified_since(&self, headers: &Headers) -> bool {
        let (Some(modified), Some(since)) = (self.modified, headers.get_str("if-modified-since"))
        else {
            return false;
        };
        httpdate::parse_http_date(since.trim()).is_ok_and(|since| modified <= since)
    }

    /// `If-Range` (strong comparison, §13.1.5): an exact `Last-Modified` date. This
    /// file's tag is weak, so a tag never matches.
    fn range_applies(&self, headers: &Headers) -> bool {
        let Some(value) = headers.get("if-range") else {
            return true;
        };
        let value = value.trim_ascii();
        if value.starts_with(b"\"") || value.starts_with(b"W/") {
            return false;
        }
        match (self.modified, std::str::from_utf8(value)) {
            (Some(modified), Ok(date)) => {
                httpdate::parse_http_date(date).is_ok_and(|d| d == modified)
            }
            _ => false,
        }
    }
}

/// The quoted part of an entity tag (`"…"`), which is what comparisons look at.
fn opaque(tag: &str) -> &[u8] {
    tag.strip_prefix("W/").unwrap_or(tag).as_bytes()
}

/// The entity tags of a list (`W/"a", "b"`): whether each is weak, and its quoted part.
/// Parsing stops at the first thing that is not one.
pub(super) fn entity_tags(list: &[u8]) -> impl Iterator<Item = (bool, &[u8])> {
    let mut rest = list;
    std::iter::from_fn(move || {
        let start = rest
            .iter()
            .position(|&b| !matches!(b, b' ' | b'\t' | b','))?;
        rest = &rest[start..];
        let weak = rest.starts_with(b"W/");
        if weak {
            rest = &rest[2..];
        }
        if rest.first() != Some(&b'"') {
            rest = &[];
            return None;
        }
        let end = 1 + rest[1..].iter().position(|&b| b == b'"')?;
        let (tag, tail) = rest.split_at(end + 1);
        rest = tail;
        Some((weak, tag))
    })
}

/// Answers a GET or HEAD for an opened file: 304, 206, 416 or 200.
pub(super) fn answer_conditionally(
    file: File,
    metadata: &Metadata,
    requested: &Path,
    headers: &Headers,
    head: bool,
) -> Result<FileAnswer, FileError> {
    let validators = Validators::of(metadata);
    let not_modified = match validators.none_match(headers) {
        Some(matched) => matched,
        None => validators.not_modified_since(headers),
    };
    if not_modified {
        let mut response = Response::new(304).header("ETag", &validators.etag);
        if let Some(date) = validators.last_modified() {
            response = response.header("Last-Modified", date);
        }
        return Ok(FileAnswer {
            response,
            body: None,
        });
    }
    let size = validators.size;
    // RFC 9110 §14.2: ranges are defined for GET only, and for one Range field.
    let mut ranges = headers.get_all("range");
    let range = match (head, ranges.next(), ranges.next()) {
        (false, Some(range), None) if validators.range_applies(headers) => parse_range(range, size),
        _ => Range::Ignore,
    };
    let (response, start, length) = match range {
        Range::Ignore => (representation(200, requested, &validators), 0, size),
        Range::Unsatisfiable => return Err(FileError::RangeNotSatisfiable { size }),
        Range::Bytes { start, length } => (
            partial(
                representation(206, requested, &validators),
                start,
                length,
                size,
            ),
            start,
            length,
        ),
    };
    Ok(FileAnswer {
        response: response.content_length(length),
        body: Some(FileBody::new(file, start, if head { 0 } else { length })?),
    })
}

/// What a `Range` field asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Range {
    /// Malformed, another unit, or several ranges: send the whole file.
    Ignore,
    /// One range that starts past the end (or an empty suffix, or an empty file).
    Unsatisfiable,
    /// `length` (≥ 1) bytes from `start`.
    Bytes { start: u64, length: u64 },
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a file of `size` bytes (RFC 9110
/// §14.1.2). A last position past the end is cut; a suffix longer than the file is the
/// whole file.
pub(super) fn parse_range(value: &[u8], size: u64) -> Range {
    let value = value.trim_ascii();
    let Some((unit, spec)) = value.split_at_checked(6) else {
        return Range::Ignore;
    };
    if !unit.eq_ignore_ascii_case(b"bytes=") {
        return Range::Ignore;
    }
    let spec = spec.trim_ascii();
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return Range::Ignore;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        let Some(suffix) = number(last) else {
            return Range::Ignore;
        };
        if suffix == 0 || size == 0 {
            return Range::Unsatisfiable;
        }
        let length = suffix.min(size);
        return Range::Bytes {
            start: size - length,
            length,
        };
    }
    let Some(first) = number(first) else {
        return Range::Ignore;
    };
    let last = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(last) if last >= first => last,
            _ => return Range::Ignore,
        }
    };
    if first >= size {
        return Range::Unsatisfiable;
    }
    Range::Bytes {
        start: first,
        length: last.min(size - 1) - first + 1,
    }
}

/// Decimal digits only; a value too big for `u64` saturates (it is past any file's end).
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}
