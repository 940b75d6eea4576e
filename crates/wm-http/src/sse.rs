//! Server-Sent Events (the WHATWG `text/event-stream` format): one [`Event`] per message,
//! sent after a response whose `Content-Type` is `text/event-stream`.

use bytes::{BufMut, BytesMut};

use crate::error::HttpError;

/// One event of an event stream, serialised in Workerman's field order: comment, `event`,
/// `id`, `retry`, `data`, then a blank line.
///
/// Unlike Workerman, line breaks cannot inject fields: a comment or data with line breaks
/// (LF, CR or CRLF) becomes one line per piece, and an `event` or `id` holding one is
/// refused.
///
/// ```
/// use bytes::BytesMut;
/// use wm_http::{Encode, Event, Http, Protocol, Response};
///
/// let mut http = Http::default();
/// let mut wire = BytesMut::from(&b"GET /events HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
/// http.decode(&mut wire).unwrap().unwrap();
/// let mut out = BytesMut::new();
/// http.encode(Response::new(200).header("Content-Type", "text/event-stream"), &mut out).unwrap();
/// assert_eq!(&out[..], b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/event-stream\r\n\r\n");
/// out.clear();
/// http.encode(Event::new().event("tick").id("7").data("a\nb"), &mut out).unwrap();
/// assert_eq!(&out[..], b"event: tick\nid: 7\ndata: a\ndata: b\n\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    comment: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
}

impl Event {
    /// An event with no fields yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A comment line (`: text`); clients ignore it, so it serves as a keep-alive.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// The event type (`event:`), which picks the client's listener.
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// The event id (`id:`), sent back by a reconnecting client as `Last-Event-ID`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The client's reconnection delay in milliseconds (`retry:`).
    pub fn retry(mut self, milliseconds: u64) -> Self {
        self.retry = Some(milliseconds);
        self
    }

    /// The data (`data:`, one line per line of it).
    pub fn data(mut self, data: impl Into<String>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// Appends the wire form to `dst`; on error nothing is written.
    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), HttpError> {
        for field in [&self.event, &self.id].into_iter().flatten() {
            if field.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                return Err(HttpError::InvalidResponse(
                    "an SSE event name or id holds a line break or NUL",
                ));
            }
        }
        if let Some(comment) = &self.comment {
            put_lines(dst, b":", comment);
        }
        if let Some(event) = &self.event {
            put_field(dst, b"event", event);
        }
        if let Some(id) = &self.id {
            put_field(dst, b"id", id);
        }
        if let Some(retry) = self.retry {
            put_field(dst, b"retry", &retry.to_string());
        }
        if let Some(data) = &self.data {
            put_lines(dst, b"data:", data);
        }
        dst.put_u8(b'\n');
        Ok(())
    }
}

fn put_field(dst: &mut BytesMut, name: &[u8], value: &str) {
    dst.put_slice(name);
    dst.put_slice(b": ");
    dst.put_slice(value.as_bytes());
    dst.put_u8(b'\n');
}

/// `prefix` and a space before each line of `text`; CRLF, CR and LF all break lines, as
/// the client's parser reads them.
fn put_lines(dst: &mut BytesMut, prefix: &[u8], text: &str) {
    let mut rest = text;
    loop {
        let (line, next) = match rest.find(['\r', '\n']) {
            Some(at) => {
                let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
                (&rest[..at], Some(&rest[at + skip..]))
            }
            None => (rest, None),
        };
        dst.put_slice(prefix);
        dst.put_u8(b' ');
        dst.put_slice(line.as_bytes());
        dst.put_u8(b'\n');
        match next {
            Some(next) => rest = next,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(event: &Event) -> String {
        let mut dst = BytesMut::new();
        event.encode(&mut dst).unwrap();
        String::from_utf8(dst.to_vec()).unwrap()
    }

    #[test]
    fn workerman_vector() {
        let event = Event::new()
            .comment("comment")
            .event("message")
            .id("1")
            .retry(5000)
            .data("a\nb");
        assert_eq!(
            wire(&event),
            ": comment\nevent: message\nid: 1\nretry: 5000\ndata: a\ndata: b\n\n"
        );
    }

    #[test]
    fn line_breaks_in_data_cannot_start_a_field() {
        let event = Event::new().data("x\r\nevent: evil\rid: 2\n");
        assert_eq!(
            wire(&event),
            "data: x\ndata: event: evil\ndata: id: 2\ndata: \n\n"
        );
        let comment = Event::new().comment("a\nid: 3");
        assert_eq!(wire(&comment), ": a\n: id: 3\n\n");
    }

    #[test]
    fn a_line_break_in_event_or_id_is_refused() {
        for event in [
            Event::new().event("a\nb"),
            Event::new().id("1\r"),
            Event::new().id("\0"),
        ] {
            let mut dst = BytesMut::new();
            assert!(matches!(
                event.encode(&mut dst),
                Err(HttpError::InvalidResponse(_))
            ));
            assert!(dst.is_empty());
        }
    }
}
