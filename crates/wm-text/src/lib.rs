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
//! Three protocols, one per message type: [`Text`] gives `String`s (UTF-8 checked,
//! [`Error::InvalidUtf8`] otherwise, which ends a `Framed` stream); [`TextLines`] gives
//! `Result<String, NotUtf8>`, so a line that is not UTF-8 (a GBK or Latin-1 client;
//! Workerman passes bytes through) is an item and the stream goes on; [`TextBytes`] gives
//! [`Bytes`] slices of the read buffer, without copying or checking. [`TextCodec`],
//! [`TextLinesCodec`] and [`TextBytesCodec`] are the same as tokio-util codecs.
//!
//! The decoders remember how far they searched for `\n`, so no byte is searched twice
//! (but for the line that fails the connection) and a peer sending one byte at a time
//! costs O(n).
//!
//! # Dependencies
//!
//! ```toml
//! [dependencies]
//! wm-text = "0.1"
//! tokio = { version = "1", features = ["net", "io-util", "rt", "macros"] }
//! tokio-util = { version = "0.7", features = ["codec"] }
//! futures-util = { version = "0.3", features = ["sink"] }   # SinkExt::send, StreamExt::next
//! ```
//!
//! Features: `tokio-util` (default) for the codecs. `default-features = false` leaves the
//! sans-IO protocols, with no tokio dependency.
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
//!
//! A codec with other limits is `Codec::from` the configured protocol; this crate
//! re-exports [`Codec`], [`Limits`], [`Protocol`] and [`Encode`], so it is the only `wm-*`
//! dependency a project needs:
//!
//! ```
//! use wm_text::{Codec, Limits, Text, TextCodec};
//!
//! let short: TextCodec = Codec::from(Text::with_max_line_length(4096));
//! let workerman: TextCodec = Codec::from(Text::with_limits(&Limits::default()));
//! assert_eq!(short.get_ref().max_line_length(), 4096);
//! assert_eq!(workerman.get_ref().max_line_length(), 10 * 1024 * 1024 - 1);
//! ```

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use memchr::{memchr, memchr_iter};

// The shared pieces this crate's protocols are built on, re-exported so that a project
// depending on this crate alone can name them: the sans-IO traits, the limits, the
// framing error, and (feature `tokio-util`) the `Framed` adapter.
#[cfg(feature = "tokio-util")]
pub use wm_protocol::Codec;
pub use wm_protocol::{Encode, Error, Limits, Protocol};

/// The default largest line, `\n` included: Workerman's package size minus one.
pub const DEFAULT_MAX_LINE_LENGTH: usize = wm_protocol::DEFAULT_MAX_PACKAGE_SIZE - 1;

/// [`Text`] as a tokio-util `Decoder` + `Encoder`: lines as `String`s.
#[cfg(feature = "tokio-util")]
pub type TextCodec = wm_protocol::Codec<Text>;

/// [`TextLines`] as a tokio-util `Decoder` + `Encoder`: lines as `Result<String, NotUtf8>`,
/// a line that is not UTF-8 an item of its own rather than the end of the stream.
#[cfg(feature = "tokio-util")]
pub type TextLinesCodec = wm_protocol::Codec<TextLines>;

/// [`TextBytes`] as a tokio-util `Decoder` + `Encoder`: lines as zero-copy `Bytes`.
#[cfg(feature = "tokio-util")]
pub type TextBytesCodec = wm_protocol::Codec<TextBytes>;

/// Finds line ends, remembering how far it searched so that no byte is searched twice.
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
        // `min`: a caller may hand in a different, shorter buffer; that must not panic.
        self.next_index = self.next_index.min(src.len());
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
                Ok(Some(Line {
                    content: content_length(&src[..newline]),
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
}

/// Length of a line without its trailing `\r`s (the `\n` already cut off).
#[inline]
fn content_length(line: &[u8]) -> usize {
    line.iter()
        .rposition(|&b| b != b'\r')
        .map_or(0, |last| last + 1)
}

/// Appends `line` and its `\n`, refusing a line that would not arrive as one message.
#[inline]
fn encode_line(line: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
    // A message that holds a line break would reach the peer as two lines.
    if holds_line_break(line) {
        let offset = memchr(b'\n', line).unwrap_or_default();
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

/// Whether `line` holds a `\n`. Every byte of a good line must be looked at, so there is
/// no early exit to gain from: sixteen bytes a turn as two words, branch-free, OR-ed
/// together, the last words overlapping the ones before rather than a byte loop for the
/// rest. `memchr` per line, with its set-up and mispredicted exits for each (typically
/// short) line, made encoding cost 2.2× the copy alone (benches `text/encode`).
#[inline]
fn holds_line_break(line: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const BREAKS: u64 = u64::from_ne_bytes([b'\n'; 8]);
    // `(x - 1) & !x & 0x80` per byte is non-zero for some byte exactly when `x` has a
    // zero byte, and a byte of `word ^ BREAKS` is zero where `word` has a `\n`.
    let zero_byte = |word: &[u8]| {
        let x = u64::from_ne_bytes(word.try_into().expect("8 bytes")) ^ BREAKS;
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let n = line.len();
    if n < 8 {
        return line.contains(&b'\n');
    }
    if n < 16 {
        return zero_byte(&line[..8]) | zero_byte(&line[n - 8..]) != 0;
    }
    // Two words per turn: half the turns, two independent chains.
    let mut found = zero_byte(&line[n - 16..n - 8]) | zero_byte(&line[n - 8..]);
    for pair in line.chunks_exact(16) {
        found |= zero_byte(&pair[..8]) | zero_byte(&pair[8..]);
    }
    found != 0
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

            /// Changes the line limit for what is decoded from now on (a line already
            /// buffered is held to it when its end is looked for); the search keeps its
            /// place.
            pub fn set_max_line_length(&mut self, max_line_length: usize) {
                self.lines.max_line_length = max_line_length;
            }
        }
    };
}

/// The most lines [`Text`] checks in one go.
const BATCH_LINES: usize = 64;
/// Past this many bytes, [`Text`] adds no more lines to a batch.
const BATCH_BYTES: usize = 64 * 1024;

/// The text protocol with `String` messages.
///
/// Checking the UTF-8 of each short line on its own costs more than the check itself
/// (starting and ending the SIMD validator), so when a line is complete, `Text` also takes
/// every complete line that follows it in the buffer (up to 64 lines or 64 KiB), checks
/// them in one call and hands them out one per `decode`. Each line stays in the buffer
/// until it is handed out, so switching protocols between messages loses nothing.
#[derive(Debug, Clone, Default)]
pub struct Text {
    lines: LineSplitter,
    /// Lines checked but not handed out yet, with their length in the buffer.
    ready: VecDeque<(String, usize)>,
    /// Where each line of the batch being checked ends (`\n` included); a field to reuse
    /// its memory.
    ends: Vec<usize>,
    /// The line an [`Error::InvalidUtf8`] was about, for [`TextLines`].
    rejected: Option<Bytes>,
}

line_protocol_constructors!(Text);

impl Protocol for Text {
    type Message = String;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<String>, Error> {
        if self.ready.is_empty() {
            self.check_batch(src)?;
        }
        Ok(self.ready.pop_front().map(|(line, length)| {
            src.advance(length.min(src.len()));
            line
        }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<String>, Error> {
        match self.decode(src)? {
            Some(line) => Ok(Some(line)),
            None => Error::check_eof(src.len()).map(|()| None),
        }
    }
}

impl Text {
    /// Queues the complete lines at the front of `src` in `ready`, checking their UTF-8
    /// in one call. Lines before a bad one are queued; the bad one is the error of the call
    /// that reaches it.
    fn check_batch(&mut self, src: &mut BytesMut) -> Result<(), Error> {
        let Some(first) = self.lines.next_line(src)? else {
            return Ok(());
        };
        self.ends.clear();
        self.ends.push(first.consumed);
        let mut newlines = memchr_iter(b'\n', &src[first.consumed..]);
        // The search stops where the batch does, so the next one starts there: no byte is
        // searched twice, but for an over-long line, which fails the connection next call.
        let mut searched_to_end = false;
        let mut batch = first.consumed;
        while self.ends.len() < BATCH_LINES && batch < BATCH_BYTES {
            let Some(offset) = newlines.next() else {
                searched_to_end = true;
                break;
            };
            let end = first.consumed + offset + 1;
            if end - batch > self.lines.max_line_length {
                break;
            }
            self.ends.push(end);
            batch = end;
        }
        #[cfg(test)]
        {
            self.lines.searched += if searched_to_end { src.len() } else { batch } - first.consumed;
        }

        let text = match simdutf8::basic::from_utf8(&src[..batch]) {
            Ok(text) => text,
            Err(_) => {
                // The exact position is looked for only when something is wrong.
                let valid_up_to = simdutf8::compat::from_utf8(&src[..batch])
                    .map_or_else(|e| e.valid_up_to(), |_| batch);
                let good_lines = self.ends.partition_point(|&end| end <= valid_up_to);
                if good_lines == 0 {
                    // The bad line leaves the buffer either way: the stream can go on.
                    let mut line = src.split_to(first.consumed);
                    line.truncate(first.content);
                    self.rejected = Some(line.freeze());
                    return Err(Error::InvalidUtf8 { valid_up_to });
                }
                self.ends.truncate(good_lines);
                searched_to_end = false;
                std::str::from_utf8(&src[..self.ends[good_lines - 1]]).map_err(|e| {
                    Error::InvalidUtf8 {
                        valid_up_to: e.valid_up_to(),
                    }
                })?
            }
        };
        let mut start = 0;
        for &end in &self.ends {
            let content = start + content_length(&text.as_bytes()[start..end - 1]);
            // `start` follows a `\n` and `content` precedes `\r` or `\n`: ASCII, so both are
            // character boundaries.
            self.ready
                .push_back((text[start..content].to_owned(), end - start));
            start = end;
        }
        // Where the search stopped, counted from the buffer as it will be once the batch is
        // handed out.
        self.lines.next_index = if searched_to_end {
            src.len() - start
        } else {
            0
        };
        Ok(())
    }
}

/// A line that is not UTF-8, as [`TextLines`] hands it out: the stream goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line of {} bytes is not UTF-8 (valid up to byte {valid_up_to})", .line.len())]
#[non_exhaustive]
pub struct NotUtf8 {
    /// The line as it came (trailing `\r`s and the `\n` cut off), a slice of the read
    /// buffer.
    pub line: Bytes,
    /// How many bytes at its start are valid UTF-8.
    pub valid_up_to: usize,
}

/// The text protocol for peers that are not always UTF-8 (Workerman passes bytes through,
/// so its clients may speak GBK or Latin-1): each message is `Ok(String)`, or, for a line
/// that is not UTF-8, `Err(NotUtf8)` with the line's bytes, and the next line is decoded
/// as usual. Only an over-long line and end of input inside a line end the stream, as
/// for [`Text`]. With `Framed` ([`TextLinesCodec`]), where any decode error ends the
/// stream, this is how a connection outlives a bad line:
///
/// ```
/// use bytes::BytesMut;
/// use wm_text::{Protocol, TextLines};
///
/// let mut lines = TextLines::new();
/// let mut buf = BytesMut::from(&b"ok\n\xc3(\nafter\n"[..]);
/// assert_eq!(lines.decode(&mut buf).unwrap(), Some(Ok("ok".to_owned())));
/// let bad = lines.decode(&mut buf).unwrap().unwrap().unwrap_err();
/// assert_eq!((&bad.line[..], bad.valid_up_to), (&b"\xc3("[..], 0));
/// assert_eq!(lines.decode(&mut buf).unwrap(), Some(Ok("after".to_owned())));
/// ```
///
/// Lines are encoded as [`Text`] encodes them (strings), or as bytes.
#[derive(Debug, Clone, Default)]
pub struct TextLines {
    text: Text,
}

impl TextLines {
    /// The protocol with Workerman's default line limit ([`DEFAULT_MAX_LINE_LENGTH`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The protocol accepting lines of at most `max_line_length` bytes, `\n` included.
    pub fn with_max_line_length(max_line_length: usize) -> Self {
        Self {
            text: Text::with_max_line_length(max_line_length),
        }
    }

    /// The protocol with Workerman's rule for `limits` (see [`Text::with_limits`]).
    pub fn with_limits(limits: &Limits) -> Self {
        Self {
            text: Text::with_limits(limits),
        }
    }

    /// The largest accepted line, `\n` included.
    pub fn max_line_length(&self) -> usize {
        self.text.max_line_length()
    }

    /// Changes the line limit (see [`Text::set_max_line_length`]).
    pub fn set_max_line_length(&mut self, max_line_length: usize) {
        self.text.set_max_line_length(max_line_length);
    }

    fn recover(
        &mut self,
        decoded: Result<Option<String>, Error>,
    ) -> Result<Option<Result<String, NotUtf8>>, Error> {
        match decoded {
            Ok(line) => Ok(line.map(Ok)),
            Err(Error::InvalidUtf8 { valid_up_to }) => match self.text.rejected.take() {
                Some(line) => Ok(Some(Err(NotUtf8 { line, valid_up_to }))),
                None => Err(Error::InvalidUtf8 { valid_up_to }),
            },
            Err(error) => Err(error),
        }
    }
}

impl Protocol for TextLines {
    type Message = Result<String, NotUtf8>;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Message>, Error> {
        let decoded = self.text.decode(src);
        self.recover(decoded)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Message>, Error> {
        let decoded = self.text.decode_eof(src);
        self.recover(decoded)
    }
}

impl<T: AsRef<[u8]>> Encode<T> for TextLines {
    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        encode_line(item.as_ref(), dst)
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
            None => Error::check_eof(src.len()).map(|()| None),
        }
    }
}

impl TextBytes {
    /// [`decode`](Protocol::decode) for a caller that copies the line anyway: `f` sees
    /// it as a slice of the buffer (trailing `\r`s and the `\n` already cut off), then
    /// the line leaves the buffer. No `Bytes` is made, so no reference count is touched.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_text::TextBytes;
    ///
    /// let mut lines = TextBytes::new();
    /// let mut buf = BytesMut::from(&b"hello\r\nworld"[..]);
    /// assert_eq!(lines.decode_with(&mut buf, |line| line.len()).unwrap(), Some(5));
    /// assert_eq!(lines.decode_with(&mut buf, |line| line.len()).unwrap(), None);
    /// assert_eq!(&buf[..], b"world");
    /// ```
    #[inline]
    pub fn decode_with<T>(
        &mut self,
        src: &mut BytesMut,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<Option<T>, Error> {
        let Some(line) = self.lines.next_line(src)? else {
            return Ok(None);
        };
        let made = f(&src[..line.content]);
        src.advance(line.consumed);
        Ok(Some(made))
    }
}

impl TextBytes {
    /// [`decode`](Protocol::decode) for a caller that wants text: the line is copied into
    /// a `String` straight from the buffer, one line at a time (no batch, unlike [`Text`],
    /// so a server holds one allocation per line it hands out); a line that is not UTF-8
    /// comes out as `Err(NotUtf8)` with its bytes, as [`TextLines`] gives it, and the
    /// stream goes on. What wm-server's `text://` runs on.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use wm_text::TextBytes;
    ///
    /// let mut lines = TextBytes::new();
    /// let mut buf = BytesMut::from(&b"ok\n\xff\n"[..]);
    /// assert_eq!(lines.decode_text(&mut buf).unwrap(), Some(Ok("ok".to_owned())));
    /// assert_eq!(&lines.decode_text(&mut buf).unwrap().unwrap().unwrap_err().line[..], b"\xff");
    /// ```
    #[inline]
    pub fn decode_text(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<Result<String, NotUtf8>>, Error> {
        self.decode_with(src, |line| match simdutf8::basic::from_utf8(line) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(NotUtf8 {
                line: Bytes::copy_from_slice(line),
                valid_up_to: simdutf8::compat::from_utf8(line)
                    .map_or_else(|e| e.valid_up_to(), |_| line.len()),
            }),
        })
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

    /// The word-at-a-time search agrees with a byte loop for every length up to 40 and a
    /// `\n` at every position, on fillers chosen to trip a wrong bit trick: bytes one
    /// away from `\n`, `\n` with the high bit set, zero, and 0xff.
    #[test]
    fn line_break_search_finds_every_position_and_nothing_else() {
        for filler in [b'a', 0x0b, 0x09, 0x8a, 0x00, 0xff, 0x80] {
            for len in 0..=40 {
                let clean = vec![filler; len];
                assert!(
                    !holds_line_break(&clean),
                    "filler {filler:#x}, length {len}"
                );
                for at in 0..len {
                    let mut line = clean.clone();
                    line[at] = b'\n';
                    assert!(holds_line_break(&line), "filler {filler:#x}, {at} of {len}");
                }
            }
        }
    }

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

    /// Many lines in one read go out in batches; each batch's search stops where the batch
    /// does and the next one starts there, so every byte is searched once.
    #[test]
    fn batches_never_rescan() {
        // Short lines end batches at 64 lines, 3 KiB lines at 64 KiB.
        for max_width in [300, 3000] {
            let mut buf = BytesMut::new();
            for i in 0..2000 {
                let width = i % max_width;
                buf.extend_from_slice(format!("line {i:>width$}\r\n").as_bytes());
            }
            buf.extend_from_slice(b"tail without newline");
            let total = buf.len();
            let mut text = Text::new();
            let mut n = 0;
            while let Some(line) = text.decode(&mut buf).unwrap() {
                assert!(line.starts_with("line "), "{line:?}");
                n += 1;
            }
            assert_eq!(n, 2000);
            assert_eq!(text.lines.searched, total, "bytes searched for the newline");
            assert_eq!(&buf[..], b"tail without newline");
            assert_eq!(text.lines.next_index, buf.len());
        }
    }
}
