//! Workerman's `text` protocol: one message per line.
//!
//! * **Decode**: a message ends at the first `\n`; every `\r` and `\n` at its end is
//!   stripped, so `"hi\r\n"` and `"hi\n"` both give `"hi"`, and `"\n\r\n"` gives two empty
//!   messages. A `\r` inside a line is kept.
//! * **Encode**: the message followed by a single `\n`. A message that could not arrive as
//!   one line (it holds a `\n`, or ends with `\r`) is refused with
//!   [`Error::LineBreakInMessage`] rather than sent, unlike Workerman.
//! * **Limit**: a line, `\n` included, may be at most `max_line_length` bytes. The default
//!   is Workerman's: its package size (10 MiB) minus one, since Workerman closes the
//!   connection once `maxPackageSize` bytes are buffered. The limit is checked while the
//!   line is still arriving, so a peer that never sends `\n` costs at most that much memory.
//!   Unlike Workerman, complete lines buffered before the over-long one are still
//!   delivered; then [`Error::LineTooLong`] ends the connection.
//! * End of input inside a line is [`Error::UnexpectedEof`] (Workerman drops the bytes).
//!
//! Two protocols, one per message type: [`Text`] gives `String`s (UTF-8 checked,
//! [`Error::InvalidUtf8`] otherwise) and [`TextBytes`] gives [`Bytes`] slices of the read
//! buffer, without copying. [`TextCodec`] and [`TextBytesCodec`] are the same as
//! tokio-util codecs.
//!
//! Each line is scanned once: the decoder remembers how far it looked, so a peer sending
//! one byte at a time costs O(n).
//!
//! # Example
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//! use wm_text::TextCodec;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wm_text::Error> {
//! let (client, server) = tokio::io::duplex(64);
//! let mut client = Framed::new(client, TextCodec::new());
//! let mut server = Framed::new(server, TextCodec::new());
//!
//! client.send("hello").await?;
//! let line = server.next().await.unwrap()?;
//! server.send(format!("you said {line}")).await?;
//! assert_eq!(client.next().await.unwrap()?, "you said hello");
//! # Ok(())
//! # }
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use memchr::memchr;
use wm_protocol::{Encode, Limits, Protocol};

pub use wm_protocol::Error;

mod utf8;

/// The default largest line, `\n` included: Workerman's package size minus one.
pub const DEFAULT_MAX_LINE_LENGTH: usize = wm_protocol::DEFAULT_MAX_PACKAGE_SIZE - 1;

/// [`Text`] as a tokio-util `Decoder` + `Encoder`: lines as `String`s.
#[cfg(feature = "tokio-util")]
pub type TextCodec = wm_protocol::Codec<Text>;

/// [`TextBytes`] as a tokio-util `Decoder` + `Encoder`: lines as zero-copy `Bytes`.
#[cfg(feature = "tokio-util")]
pub type TextBytesCodec = wm_protocol::Codec<TextBytes>;

/// Finds line ends without looking at a byte twice.
#[derive(Debug, Clone)]
struct LineSplitter {
    max_line_length: usize,
    /// How many buffered bytes are known to hold no `\n`.
    next_index: usize,
    /// Bytes handed to the `\n` search, to show that nothing is searched twice.
    #[cfg(test)]
    searched: usize,
}

/// Where the next line is in the buffer.
struct Line {
    /// Length of the message, trailing `\r`s and the `\n` stripped.
    content: usize,
    /// Length of the line, `\n` included.
    consumed: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE_LENGTH)
    }
}

impl LineSplitter {
    fn new(max_line_length: usize) -> Self {
        Self {
            max_line_length,
            next_index: 0,
            #[cfg(test)]
            searched: 0,
        }
    }

    #[inline]
    fn next_line(&mut self, src: &[u8]) -> Result<Option<Line>, Error> {
        let unsearched = &src[self.next_index..];
        #[cfg(test)]
        {
            self.searched += memchr(b'\n', unsearched).map_or(unsearched.len(), |i| i + 1);
        }
        match memchr(b'\n', unsearched) {
            Some(offset) => {
                let newline = self.next_index + offset;
                self.next_index = 0;
                if newline >= self.max_line_length {
                    return Err(self.too_long());
                }
                let content = src[..newline]
                    .iter()
                    .rposition(|&b| b != b'\r')
                    .map_or(0, |last| last + 1);
                Ok(Some(Line {
                    content,
                    consumed: newline + 1,
                }))
            }
            // The line will be at least one byte (its `\n`) longer than what is buffered.
            None if !src.is_empty() && src.len() >= self.max_line_length => Err(self.too_long()),
            None => {
                self.next_index = src.len();
                Ok(None)
            }
        }
    }

    fn too_long(&self) -> Error {
        Error::LineTooLong {
            limit: self.max_line_length,
        }
    }

    fn decode_eof(&self, src: &BytesMut) -> Result<(), Error> {
        match src.len() {
            0 => Ok(()),
            buffered => Err(Error::UnexpectedEof { buffered }),
        }
    }
}

/// Appends `line` and its `\n`, refusing a line that would not arrive as one message.
#[inline]
fn encode_line(line: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
    if let Some(offset) = memchr(b'\n', line) {
        return Err(Error::LineBreakInMessage { offset });
    }
    if line.last() == Some(&b'\r') {
        return Err(Error::LineBreakInMessage {
            offset: line.len() - 1,
        });
    }
    dst.reserve(line.len() + 1);
    dst.put_slice(line);
    dst.put_u8(b'\n');
    Ok(())
}

macro_rules! line_protocol_constructors {
    ($name:ident) => {
        impl $name {
            /// The protocol with Workerman's default line limit
            /// ([`DEFAULT_MAX_LINE_LENGTH`]).
            pub fn new() -> Self {
                Self::with_max_line_length(DEFAULT_MAX_LINE_LENGTH)
            }

            /// The protocol accepting lines of at most `max_line_length` bytes, `\n`
            /// included.
            pub fn with_max_line_length(max_line_length: usize) -> Self {
                let mut protocol = Self::default();
                protocol.lines = LineSplitter::new(max_line_length);
                protocol
            }

            /// The protocol with Workerman's rule for `limits`: a line may be one byte
            /// shorter than the package size.
            pub fn with_limits(limits: &Limits) -> Self {
                Self::with_max_line_length(limits.max_package_size.saturating_sub(1))
            }

            /// The largest accepted line, `\n` included.
            pub fn max_line_length(&self) -> usize {
                self.lines.max_line_length
            }
        }
    };
}

/// The text protocol with `String` messages.
#[derive(Debug, Clone, Default)]
pub struct Text {
    lines: LineSplitter,
    utf8: utf8::ValidatedPrefix,
}

line_protocol_constructors!(Text);

impl Protocol for Text {
    type Message = String;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<String>, Error> {
        let Some(line) = self.lines.next_line(src)? else {
            return Ok(None);
        };
        let text = self
            .utf8
            .line(src, line.consumed - 1, line.content)
            .map(String::from)
            .map_err(|valid_up_to| Error::InvalidUtf8 { valid_up_to });
        src.advance(line.consumed);
        self.utf8.consumed(line.consumed);
        text.map(Some)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<String>, Error> {
        match self.decode(src)? {
            Some(line) => Ok(Some(line)),
            None => self.lines.decode_eof(src).map(|()| None),
        }
    }
}

impl<T: AsRef<str>> Encode<T> for Text {
    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        encode_line(item.as_ref().as_bytes(), dst)
    }
}

/// The text protocol with `Bytes` messages: each line is a slice of the read buffer,
/// not a copy, and is not checked for UTF-8.
#[derive(Debug, Clone, Default)]
pub struct TextBytes {
    lines: LineSplitter,
}

line_protocol_constructors!(TextBytes);

impl Protocol for TextBytes {
    type Message = Bytes;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        let Some(line) = self.lines.next_line(src)? else {
            return Ok(None);
        };
        let mut bytes = src.split_to(line.consumed);
        bytes.truncate(line.content);
        Ok(Some(bytes.freeze()))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        match self.decode(src)? {
            Some(line) => Ok(Some(line)),
            None => self.lines.decode_eof(src).map(|()| None),
        }
    }
}

impl<T: AsRef<[u8]>> Encode<T> for TextBytes {
    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        encode_line(item.as_ref(), dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 100 000-byte line fed one byte per read: each byte is searched for `\n` once,
    /// so a one-byte-per-read peer costs O(n).
    #[test]
    fn one_byte_drip_never_rescans() {
        let mut text = Text::with_max_line_length(1 << 20);
        let mut buf = BytesMut::new();
        for i in 0..100_000 {
            buf.put_u8(b'a');
            assert_eq!(text.decode(&mut buf).unwrap(), None);
            assert_eq!(text.lines.next_index, i + 1);
        }
        buf.put_u8(b'\n');
        assert_eq!(text.decode(&mut buf).unwrap().unwrap().len(), 100_000);
        assert_eq!(text.lines.next_index, 0);
        assert_eq!(
            text.lines.searched, 100_001,
            "bytes searched for the newline"
        );
    }
}
