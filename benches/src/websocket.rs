//! WebSocket inputs, an in-memory transport for the anchors that need one, and the plain
//! loops (header parse + u64 XOR unmask; header + copy) that are the floor.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
