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
    // Back up three bytes: the blank line may straddle the previous read.
    let from = examined.saturating_sub(3).min(buf.len());
    match memchr::memmem::find(&buf[from..], b"\r\n\r\n") {
        Some(at) if from + at + 4 <= limit => Ok(Some(from + at + 4)),
        None if buf.len() < limit => {
            *examined = buf.len();
            Ok(None)
        }
        _ => Err(HeadTooLarge),
    }
}

/// An HTTP token (RFC 9110 §5.6.2): what a header name, a method or a subprotocol is.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value that can be written as is: no CR, LF or NUL.
pub fn is_header_value(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
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
