//! The pieces of HTTP/1.1 text that more than one protocol needs (the WebSocket opening
//! handshake and the HTTP server): finding the end of a head without rescanning, and
//! writing header lines that cannot inject others.

use bytes::{BufMut, BytesMut};

/// The head did not end within its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadTooLarge;

/// Returns the length of the head at the front of `buf` (through its blank line,
/// `\r\n\r\n`), or `Ok(None)` to wait for more. `examined` keeps how far the search went
/// (start it at 0 for each head), so a head trickling in one byte at a time is searched
/// once. A head that has not ended within `limit` bytes, or ends past them, is
/// [`HeadTooLarge`].
///
/// ```
/// use wm_protocol::http1::find_blank_line;
/// let mut examined = 0;
/// assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\n", &mut examined, 1024), Ok(None));
/// assert_eq!(examined, 16);
/// assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\n\r\nbody", &mut examined, 1024), Ok(Some(18)));
/// ```
pub fn find_blank_line(
    buf: &[u8],
    examined: &mut usize,
    limit: usize,
) -> Result<Option<usize>, HeadTooLarge> {
    scan_head::<false>(buf, examined, limit).map_err(|_| HeadTooLarge)
}

/// Why [`find_crlf_head`] refused a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The head did not end within its size limit.
    TooLarge,
    /// A line ends in a bare LF, not CRLF.
    BareLf,
}

/// [`find_blank_line`] for a server that takes CRLF line ends only (RFC 9112 §2.2 lets a
/// recipient take a bare LF; a strict one refuses it, and so cannot be led to end a head
/// where a proxy in front did not): a bare LF anywhere before the blank line is
/// [`HeadError::BareLf`], found in the same pass.
///
/// ```
/// use wm_protocol::http1::{find_crlf_head, HeadError};
/// let mut examined = 0;
/// assert_eq!(find_crlf_head(b"GET / HTTP/1.1\r\n\r\n", &mut examined, 1024), Ok(Some(18)));
/// assert_eq!(find_crlf_head(b"GET / HTTP/1.1\nHost", &mut 0, 1024), Err(HeadError::BareLf));
/// ```
pub fn find_crlf_head(
    buf: &[u8],
    examined: &mut usize,
    limit: usize,
) -> Result<Option<usize>, HeadError> {
    scan_head::<true>(buf, examined, limit)
}

fn scan_head<const CRLF_ONLY: bool>(
    buf: &[u8],
    examined: &mut usize,
    limit: usize,
) -> Result<Option<usize>, HeadError> {
    // Each LF is a candidate end, checked by looking back at the bytes before it, which
    // are in the buffer already; so an LF is looked at once, whatever the reads. (A
    // memmem search for CRLFCRLF stops at every line end too, and building its searcher
    // costs more than a head's worth of LFs.)
    let from = (*examined).min(buf.len());
    for at in memchr::memchr_iter(b'\n', &buf[from..]) {
        let end = from + at + 1;
        if end > limit {
            return Err(HeadError::TooLarge);
        }
        if CRLF_ONLY && (end < 2 || buf[end - 2] != b'\r') {
            return Err(HeadError::BareLf);
        }
        if end >= 4 && buf[end - 4..end] == *b"\r\n\r\n" {
            return Ok(Some(end));
        }
    }
    if buf.len() >= limit {
        return Err(HeadError::TooLarge);
    }
    *examined = buf.len();
    Ok(None)
}

/// The standard reason phrase for a status (RFC 9110 §15), or `""` for an unknown one.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// An HTTP token (RFC 9110 §5.6.2): what a header name, a method or a subprotocol is.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Whether `b` may be part of a token (RFC 9110 §5.6.2 `tchar`).
pub fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// RFC 9110 §5.6.2 `tchar`: what a token is made of (a table, as every header name sent
/// is checked).
const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
};

/// A header value that can be written as is: no CR, LF or NUL.
pub fn is_header_value(s: &str) -> bool {
    memchr::memchr3(b'\r', b'\n', b'\0', s.as_bytes()).is_none()
}

/// Appends `name: value` and CRLF. The caller has checked both ([`is_token`],
/// [`is_header_value`]) or wrote them itself.
pub fn put_header(dst: &mut BytesMut, name: &str, value: &str) {
    dst.put_slice(name.as_bytes());
    dst.put_slice(b": ");
    dst.put_slice(value.as_bytes());
    dst.put_slice(b"\r\n");
}

/// A request target split into its path and its query (after `?`), both undecoded.
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_are_rfc_9110_and_unknown_ones_empty() {
        assert_eq!(reason_phrase(404), "Not Found");
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(299), "");
    }

    #[test]
    fn token_characters_are_rfc_9110_tchar() {
        for b in 0..=u8::MAX {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            let s = [b];
            let text = std::str::from_utf8(&s).unwrap_or("\u{80}");
            assert_eq!(is_token(text), tchar, "byte {b:#04x}");
        }
        assert!(!is_token(""));
        assert!(is_token("Content-Type"));
        assert!(!is_token("Content Type"));
    }

    #[test]
    fn header_values_hold_no_line_break_or_nul() {
        assert!(is_header_value("text/html; charset=utf-8"));
        assert!(is_header_value(""));
        for bad in ["a\rb", "a\nb", "a\0b", "\r", "ok\n"] {
            assert!(!is_header_value(bad), "{bad:?}");
        }
    }
}
