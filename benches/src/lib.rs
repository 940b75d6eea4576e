//! What the benches share: deterministic inputs, the hand-written loops each codec is
//! measured against, and the two ways of feeding a decoder (one buffer, 4 KiB reads).

pub mod encode;
pub mod http;
pub mod process;
pub mod websocket;

use std::hint::black_box;
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion};
use memchr::memchr;
use tokio_util::codec::Decoder;

/// Size of one read when a decoder is fed in chunks, as from a socket.
pub const READ_SIZE: usize = 4096;

/// Criterion settings for inputs of several MiB: few samples, each long enough.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args()
}

/// How a contender is fed its input.
#[derive(Debug, Clone, Copy)]
pub enum Feed {
    /// The whole input in one buffer (copied in outside the timing).
    Buffer,
    /// The input in reads of [`READ_SIZE`] bytes, appended as from a socket.
    Reads,
}

impl Feed {
    /// Both ways, with the name each group carries.
    pub const ALL: [(&'static str, Feed); 2] =
        [("buffer", Feed::Buffer), ("4k-reads", Feed::Reads)];
}

/// Times one contender: a fresh decoder from `make` decodes all of `data`, fed as `feed` says.
pub fn bench_decoder<D, M>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    feed: Feed,
    data: &[u8],
    make: M,
) where
    D: Decoder,
    D::Error: std::fmt::Debug,
    M: Fn() -> D,
{
    match feed {
        Feed::Reads => group.bench_function(name, |b| b.iter(|| decode_reads(&mut make(), data))),
        Feed::Buffer => group.bench_function(name, |b| {
            b.iter_batched_ref(
                || BytesMut::from(data),
                |buf| decode_buffer(&mut make(), buf),
                BatchSize::LargeInput,
            )
        }),
    };
}

/// A small xorshift generator, so every run and every contender sees the same bytes.
pub struct Rng(u64);

impl Rng {
    /// A generator from a fixed seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (self.0 % (hi - lo + 1) as u64) as usize
    }
}

/// About `total` bytes of `\n`-terminated lines of 20 to 200 printable ASCII bytes.
pub fn text_lines(total: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng::new(0x7e57);
    let mut out = Vec::with_capacity(total + 256);
    let mut lines = 0;
    while out.len() < total {
        let len = rng.range(20, 200);
        out.extend((0..len).map(|_| b' ' + rng.range(0, 94) as u8));
        out.push(b'\n');
        lines += 1;
    }
    (out, lines)
}

/// About `total` bytes of Workerman frames with bodies of 16 to 1024 bytes.
pub fn frames(total: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng::new(0xf4a3e);
    let mut out = Vec::with_capacity(total + 2048);
    let mut count = 0;
    while out.len() < total {
        let len = rng.range(16, 1024);
        out.put_u32((len + 4) as u32);
        out.extend((0..len).map(|_| rng.range(0, 255) as u8));
        count += 1;
    }
    (out, count)
}

/// The typed form of a line from [`json_lines`].
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[allow(dead_code, missing_docs)]
pub struct ChatMessage {
    pub r#type: String,
    pub id: u64,
    pub room: String,
    pub from: String,
    pub content: String,
    pub urgent: bool,
}

/// About `total` bytes of small JSON objects, one per line, as a chat server sees them.
pub fn json_lines(total: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng::new(0x15);
    let mut out = Vec::with_capacity(total + 512);
    let mut lines = 0;
    let words = [
        "hello",
        "world",
        "workerman",
        "rust",
        "ok",
        "see",
        "you",
        "later",
        "é✓",
    ];
    while out.len() < total {
        let content: Vec<&str> = (0..rng.range(2, 12))
            .map(|_| words[rng.range(0, 8)])
            .collect();
        let line = format!(
            r#"{{"type":"say","id":{},"room":"room-{}","from":"user{}","content":"{}","urgent":{}}}"#,
            rng.range(0, 1 << 30),
            rng.range(1, 50),
            rng.range(1, 10_000),
            content.join(" "),
            rng.range(0, 1) == 1
        );
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        lines += 1;
    }
    (out, lines)
}

/// Decodes everything in `buf` (one read holding the whole input); returns the count.
pub fn decode_buffer<D: Decoder>(decoder: &mut D, buf: &mut BytesMut) -> usize
where
    D::Error: std::fmt::Debug,
{
    let mut n = 0;
    while let Some(item) = decoder.decode(buf).unwrap() {
        black_box(item);
        n += 1;
    }
    n
}

/// Decodes `data` arriving in reads of [`READ_SIZE`] bytes; returns the count.
pub fn decode_reads<D: Decoder>(decoder: &mut D, data: &[u8]) -> usize
where
    D::Error: std::fmt::Debug,
{
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut n = 0;
    for read in data.chunks(READ_SIZE) {
        buf.extend_from_slice(read);
        n += decode_buffer(decoder, &mut buf);
    }
    n
}

/// The cheapest `io::Write` into a `BytesMut`: each write is one `extend_from_slice`. For
/// contenders whose encoders write to an `io::Write` (serde_json, tungstenite's
/// `Frame::format`), so that they append to the same buffer as everyone else.
pub struct Append<'a>(pub &'a mut BytesMut);

impl std::io::Write for Append<'_> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The floor for lines: memchr from where the last search stopped, then `split_to`.
#[derive(Default)]
pub struct HandLines {
    next_index: usize,
}

impl Decoder for HandLines {
    type Item = bytes::Bytes;
    type Error = std::io::Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<bytes::Bytes>, std::io::Error> {
        match memchr(b'\n', &src[self.next_index..]) {
            Some(i) => {
                let end = self.next_index + i;
                self.next_index = 0;
                let mut line = src.split_to(end + 1);
                line.truncate(end);
                Ok(Some(line.freeze()))
            }
            None => {
                self.next_index = src.len();
                Ok(None)
            }
        }
    }
}

/// The floor for frames: read the length, split the body off.
#[derive(Default)]
pub struct HandFrames;

impl Decoder for HandFrames {
    type Item = bytes::Bytes;
    type Error = std::io::Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<bytes::Bytes>, std::io::Error> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if src.len() < len {
            return Ok(None);
        }
        src.advance(4);
        Ok(Some(src.split_to(len - 4).freeze()))
    }
}

/// The floor for JSON lines: memchr from where the last search stopped, then a parser on
/// the line ([`HandJsonLines`], [`HandSimdJsonLines`], [`HandSonicLines`]).
#[derive(Default)]
pub struct MemchrThen<P> {
    next_index: usize,
    parser: P,
}

/// How a hand loop turns one line (without its `\n`) into a value.
pub trait ParseLine {
    /// The value, or the parser's error.
    type Output;
    /// Parses `line`.
    fn parse(&mut self, line: &[u8]) -> Self::Output;
}

impl<P: ParseLine> Decoder for MemchrThen<P> {
    type Item = P::Output;
    type Error = std::io::Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<P::Output>, std::io::Error> {
        match memchr(b'\n', &src[self.next_index..]) {
            Some(i) => {
                let end = self.next_index + i;
                self.next_index = 0;
                let value = self.parser.parse(&src[..end]);
                src.advance(end + 1);
                Ok(Some(value))
            }
            None => {
                self.next_index = src.len();
                Ok(None)
            }
        }
    }
}

/// memchr, then serde_json on the slice in place.
pub type HandJsonLines<T> = MemchrThen<SerdeJsonLine<T>>;
/// memchr, then `sonic_rs::from_slice` on the slice in place.
pub type HandSonicLines<T> = MemchrThen<SonicLine<T>>;
/// memchr, the line copied into a reused scratch buffer (simd-json parses in place), then
/// simd-json with reused working buffers. Lines it refuses are counted as errors; nothing
/// falls back.
pub type HandSimdJsonLines<T> = MemchrThen<SimdJsonLine<T>>;

/// serde_json's `from_slice`, for [`HandJsonLines`].
pub struct SerdeJsonLine<T>(std::marker::PhantomData<T>);
/// sonic-rs's `from_slice`, for [`HandSonicLines`].
pub struct SonicLine<T>(std::marker::PhantomData<T>);
/// simd-json with its buffers kept, for [`HandSimdJsonLines`].
pub struct SimdJsonLine<T> {
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    _t: std::marker::PhantomData<T>,
}

impl<T> Default for SerdeJsonLine<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T> Default for SonicLine<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T> Default for SimdJsonLine<T> {
    fn default() -> Self {
        Self {
            scratch: Vec::new(),
            buffers: simd_json::Buffers::new(1024),
            _t: std::marker::PhantomData,
        }
    }
}

impl<T: serde::de::DeserializeOwned> ParseLine for SerdeJsonLine<T> {
    type Output = Result<T, serde_json::Error>;
    #[inline]
    fn parse(&mut self, line: &[u8]) -> Self::Output {
        serde_json::from_slice(line)
    }
}

impl<T: serde::de::DeserializeOwned> ParseLine for SonicLine<T> {
    type Output = Result<T, sonic_rs::Error>;
    #[inline]
    fn parse(&mut self, line: &[u8]) -> Self::Output {
        sonic_rs::from_slice(line)
    }
}

impl<T: serde::de::DeserializeOwned> ParseLine for SimdJsonLine<T> {
    type Output = Result<T, simd_json::Error>;
    #[inline]
    fn parse(&mut self, line: &[u8]) -> Self::Output {
        self.scratch.clear();
        self.scratch.extend_from_slice(line);
        simd_json::serde::from_slice_with_buffers(&mut self.scratch, &mut self.buffers)
    }
}

/// tokio-util's `LinesCodec` followed by serde_json: how JSON lines are usually done.
pub struct LinesThenJson<T> {
    lines: tokio_util::codec::LinesCodec,
    _t: std::marker::PhantomData<T>,
}

impl<T> Default for LinesThenJson<T> {
    fn default() -> Self {
        Self {
            lines: tokio_util::codec::LinesCodec::new_with_max_length(10 * 1024 * 1024),
            _t: std::marker::PhantomData,
        }
    }
}

impl<T: serde::de::DeserializeOwned> Decoder for LinesThenJson<T> {
    type Item = Result<T, serde_json::Error>;
    type Error = tokio_util::codec::LinesCodecError;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(self
            .lines
            .decode(src)?
            .map(|line| serde_json::from_str(&line)))
    }
}
