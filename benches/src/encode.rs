//! Encode groups: every contender appends the same messages to one output buffer, reused
//! across iterations (cleared, never freed, written once before timing so its pages are
//! faulted in), one encode call per message. A codec's sans-IO `Encode` and the same
//! codec as tokio-util's `Encoder` (what `Framed` calls) run side by side in this model;
//! a `FramedWrite` over an in-memory transport adds what a real sink costs (`poll_ready`
//! per message, the copy to the transport).

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use futures_util::SinkExt;
use tokio::runtime::Runtime;
use tokio_util::codec::{Encoder, FramedWrite};

use crate::websocket::MemoryStream;

/// The buffer every contender of one group writes into, and the bytes they must write.
pub struct EncodeTarget {
    dst: BytesMut,
    expected: Vec<u8>,
}

impl EncodeTarget {
    /// A target whose reference output is what `reference` appends to an empty buffer.
    pub fn new(reference: impl FnOnce(&mut BytesMut)) -> Self {
        let mut dst = BytesMut::new();
        reference(&mut dst);
        let expected = dst.to_vec();
        Self { dst, expected }
    }

    /// The reference output's length, for the group's throughput.
    pub fn len(&self) -> usize {
        self.expected.len()
    }

    /// Whether the reference output is empty.
    pub fn is_empty(&self) -> bool {
        self.expected.is_empty()
    }

    /// Times `encode_all` appending every message to the shared buffer, after checking
    /// that it writes exactly the reference bytes.
    pub fn bench(
        &mut self,
        group: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        mut encode_all: impl FnMut(&mut BytesMut),
    ) {
        self.dst.clear();
        encode_all(&mut self.dst);
        assert!(
            self.dst[..] == self.expected[..],
            "{name} wrote other bytes: {:?} instead of {:?}",
            String::from_utf8_lossy(&self.dst[..self.dst.len().min(200)]),
            String::from_utf8_lossy(&self.expected[..self.expected.len().min(200)]),
        );
        let dst = &mut self.dst;
        group.bench_function(name, |b| {
            b.iter(|| {
                dst.clear();
                encode_all(dst);
                black_box(dst.len())
            })
        });
    }

    /// Times a `FramedWrite` with the encoder from `make`, fed one message at a time and
    /// flushed at the end, writing into an in-memory transport whose output buffer is
    /// reused across iterations; checks it writes the reference bytes.
    pub fn bench_framed<E, I, M>(
        &mut self,
        group: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        items: &[I],
        make: M,
    ) where
        E: Encoder<I>,
        E::Error: std::fmt::Debug,
        I: Clone,
        M: Fn() -> E,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut out = framed_feed(&rt, make(), items, Vec::new());
        assert!(out == self.expected, "{name} wrote other bytes");
        group.bench_function(name, |b| {
            b.iter(|| {
                out = framed_feed(&rt, make(), items, std::mem::take(&mut out));
                black_box(out.len())
            })
        });
    }
}

/// Feeds every item to a `FramedWrite` over a memory stream writing into `out`, flushes,
/// and gives `out` back.
pub fn framed_feed<E, I>(rt: &Runtime, encoder: E, items: &[I], out: Vec<u8>) -> Vec<u8>
where
    E: Encoder<I>,
    E::Error: std::fmt::Debug,
    I: Clone,
{
    rt.block_on(async {
        let mut framed = FramedWrite::new(MemoryStream::with_output(Bytes::new(), out), encoder);
        for item in items {
            framed.feed(item.clone()).await.unwrap();
        }
        SinkExt::<I>::flush(&mut framed).await.unwrap();
        std::mem::take(&mut framed.get_mut().output)
    })
}
