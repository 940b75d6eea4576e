//! Frames: `FrameCodec` beside tokio-util's `LengthDelimitedCodec` configured for the same
//! wire format and a hand loop, on the same 16 MiB, as one buffer and as 4 KiB reads.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio_util::codec::{length_delimited::LengthDelimitedCodec, Decoder};
use wm_benches::{bench_decoder, decode_reads, frames, Feed, HandFrames};
use wm_frame::FrameCodec;

const LIMIT: usize = 10 * 1024 * 1024;

/// Workerman's frame format in tokio-util's terms: a 4-byte big-endian length that counts
/// itself, skipped before the body.
fn length_delimited() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .big_endian()
        .length_field_length(4)
        .length_adjustment(-4)
        .max_frame_length(LIMIT)
        .new_codec()
}

fn frame(c: &mut Criterion) {
    let (data, count) = frames(16 * 1024 * 1024);
    assert_eq!(decode_reads(&mut FrameCodec::new(), &data), count);
    assert_eq!(decode_reads(&mut length_delimited(), &data), count);
    assert_eq!(decode_reads(&mut HandFrames, &data), count);
    // Same bodies from both codecs.
    let mut a = BytesMut::from(&data[..]);
    let mut b = BytesMut::from(&data[..]);
    assert_eq!(
        FrameCodec::new().decode(&mut a).unwrap(),
        length_delimited()
            .decode(&mut b)
            .unwrap()
            .map(BytesMut::freeze)
    );

    for (mode, feed) in Feed::ALL {
        let mut group = c.benchmark_group(format!("frame/{mode}"));
        group.throughput(Throughput::Bytes(data.len() as u64));
        bench_decoder(&mut group, "wm FrameCodec", feed, &data, FrameCodec::new);
        bench_decoder(
            &mut group,
            "tokio-util LengthDelimitedCodec",
            feed,
            &data,
            length_delimited,
        );
        bench_decoder(&mut group, "hand length+split_to", feed, &data, || {
            HandFrames
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = frame
}
criterion_main!(benches);
