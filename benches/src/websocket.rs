//! WebSocket inputs, an in-memory transport for the anchors that need one, and the plain
//! loops (header parse + u64 XOR unmask; header + copy) that are the floor.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use flate2::{Compress, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wm_websocket::deflate::Agreement;
use wm_websocket::{Encode, Message, WebSocket};

use crate::Rng;

/// Payloads of 2–125 bytes (deterministic), adding up to about `total` bytes.
pub fn small_payloads(total: usize) -> Vec<Bytes> {
    let mut rng = Rng::new(0x5EED);
    let mut payloads = Vec::new();
    let mut size = 0;
    while size < total {
        let n = rng.range(2, 125);
        payloads.push(
            (0..n)
                .map(|i| (i * 7 + n) as u8)
                .collect::<Vec<u8>>()
                .into(),
        );
        size += n;
    }
    payloads
}

/// `count` payloads of 64 KiB.
pub fn large_payloads(count: usize) -> Vec<Bytes> {
    (0..count)
        .map(|k| {
            (0..64 * 1024)
                .map(|i| (i + k) as u8)
                .collect::<Vec<u8>>()
                .into()
        })
        .collect()
}

/// The payloads as masked binary frames from a client (fresh random keys), concatenated.
pub fn client_frames(payloads: &[Bytes]) -> Vec<u8> {
    let mut client = WebSocket::client();
    let mut wire = BytesMut::new();
    for payload in payloads {
        client
            .encode(Message::Binary(payload.clone()), &mut wire)
            .unwrap();
    }
    wire.to_vec()
}

/// A transport over bytes in memory: reads hand out the input (as much as the reader's
/// buffer takes), writes are appended to `output`, as a socket copies them to the kernel.
pub struct MemoryStream {
    /// What is still to be read.
    pub input: Bytes,
    /// What was written.
    pub output: Vec<u8>,
}

impl MemoryStream {
    /// A stream whose reads give `input`, then end.
    pub fn new(input: Bytes) -> Self {
        Self::with_output(input, Vec::new())
    }

    /// A stream that appends what is written to `output` (cleared first), so that a bench
    /// can reuse one allocation across iterations.
    pub fn with_output(input: Bytes, mut output: Vec<u8>) -> Self {
        output.clear();
        Self { input, output }
    }
}

impl io::Read for MemoryStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.advance(n);
        Ok(n)
    }
}

impl io::Write for MemoryStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf.remaining().min(self.input.len());
        buf.put_slice(&self.input[..n]);
        self.input.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for buf in bufs {
            self.output.extend_from_slice(buf);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The floor for decoding: parse the header (any length form, masked), unmask the payload
/// in place eight bytes at a time, cut it off as `Bytes`. No validation beyond what is
/// needed to find the frame's end.
pub fn plain_decode(buf: &mut BytesMut) -> usize {
    let mut count = 0;
    loop {
        if buf.len() < 2 {
            return count;
        }
        let (length, at) = match buf[1] & 0x7F {
            126 => (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
            127 => {
                let mut b = [0; 8];
                b.copy_from_slice(&buf[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (usize::from(n), 2),
        };
        if buf.len() < at + 4 + length {
            return count;
        }
        let key = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        buf.advance(at + 4);
        let mut payload = buf.split_to(length);
        let word = u64::from_ne_bytes([
            key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
        ]);
        let mut chunks = payload.chunks_exact_mut(8);
        for chunk in &mut chunks {
            let mut b = [0; 8];
            b.copy_from_slice(chunk);
            chunk.copy_from_slice(&(u64::from_ne_bytes(b) ^ word).to_ne_bytes());
        }
        for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
        std::hint::black_box(payload.freeze());
        count += 1;
    }
}

/// The floor for encoding a server frame: the header built in a small array, then header
/// and payload appended after one `reserve`. (Putting the header's bytes one by one was
/// 1.8× slower on 2–125-byte frames: this is the fastest shape found, the one
/// fastwebsockets' `fmt_head` also has.) Inlined into the bench's loop, as a hand-written
/// loop would be.
#[inline]
pub fn plain_encode(payload: &[u8], dst: &mut BytesMut) {
    let length = payload.len();
    let mut head = [0; 10];
    head[0] = 0x82;
    let size = if length < 126 {
        head[1] = length as u8;
        2
    } else if length < 0x10000 {
        head[1] = 126;
        head[2..4].copy_from_slice(&(length as u16).to_be_bytes());
        4
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(length as u64).to_be_bytes());
        10
    };
    dst.reserve(size + length);
    dst.extend_from_slice(&head[..size]);
    dst.extend_from_slice(payload);
}

// ---- permessage-deflate ----

/// 1 KiB JSON messages (the deflate load test's), 256 of them.
pub fn json_messages() -> Vec<Bytes> {
    (0..256u32)
        .map(|i| {
            let mut text = format!(
                r#"{{"type":"update","seq":{},"quotes":["#,
                1_000_000 + i * 7919
            );
            let mut k = 0u32;
            while text.len() < 1000 {
                text.push_str(&format!(
                    r#"{{"symbol":"S{}","price":{}.{:02},"volume":{}}},"#,
                    (i + k) % 8,
                    100 + (i * 37 + k * 11) % 97,
                    k % 100,
                    (i * 131 + k * 17) % 10_000
                ));
                k += 1;
            }
            text.push_str("0]}");
            Bytes::from(text)
        })
        .collect()
}

/// No context takeover either way: wm's default.
pub fn no_takeover() -> Agreement {
    Agreement {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..Agreement::default()
    }
}

/// The limit for inflating: the frames' headers read, payloads unmasked into one scratch
/// buffer, and inflated with a reset zlib context per message, nothing else.
pub fn hand_inflate(wire: &[u8], inflater: &mut Decompress, out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    let mut n = 0;
    let mut scratch = Vec::new();
    while at < wire.len() {
        let length = match wire[at + 1] & 0x7f {
            126 => usize::from(u16::from_be_bytes([wire[at + 2], wire[at + 3]])),
            short => usize::from(short),
        };
        let header = if length > 125 { 4 } else { 2 };
        let key = &wire[at + header..at + header + 4];
        let payload = &wire[at + header + 4..at + header + 4 + length];
        scratch.clear();
        scratch.extend(payload.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
        scratch.extend_from_slice(&[0, 0, 0xff, 0xff]);
        out.clear();
        out.reserve(4 * length + 64);
        inflater
            .decompress_vec(&scratch, out, FlushDecompress::Sync)
            .unwrap();
        inflater.reset(false);
        std::hint::black_box(&out);
        at += header + 4 + length;
        n += 1;
    }
    n
}

/// The limit for deflating: each message compressed with a reset zlib context, the tail
/// cut, a server header put in front.
pub fn hand_deflate(messages: &[Bytes], deflater: &mut Compress, dst: &mut BytesMut) -> usize {
    dst.clear();
    let mut compressed = Vec::new();
    for message in messages {
        compressed.clear();
        compressed.reserve(message.len() + 64);
        deflater
            .compress_vec(message, &mut compressed, FlushCompress::Sync)
            .unwrap();
        deflater.reset();
        compressed.truncate(compressed.len() - 4);
        let length = compressed.len();
        if length > 125 {
            dst.extend_from_slice(&[0xc1, 126]);
            dst.extend_from_slice(&(length as u16).to_be_bytes());
        } else {
            dst.extend_from_slice(&[0xc1, length as u8]);
        }
        dst.extend_from_slice(&compressed);
    }
    dst.len()
}
