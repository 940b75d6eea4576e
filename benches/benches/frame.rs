//! Frames: `FrameCodec` beside tokio-util's `LengthDelimitedCodec` configured for the same
//! wire format and a hand loop, on the same 16 MiB, as one buffer and as 4 KiB reads.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tokio_util::codec::{length_delimited::LengthDelimitedCodec, Decoder};
use wm_benches::{decode_buffer, decode_reads, frames, HandFrames};
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

    for (mode, reads) in [("buffer", false), ("4k-reads", true)] {
        let mut group = c.benchmark_group(format!("frame/{mode}"));
        group.throughput(Throughput::Bytes(data.len() as u64));
        macro_rules! contender {
            ($name:literal, $make:expr) => {
                if reads {
                    group.bench_function($name, |b| b.iter(|| decode_reads(&mut $make, &data)));
                } else {
                    group.bench_function($name, |b| {
                        b.iter_batched_ref(
                            || BytesMut::from(&data[..]),
                            |buf| decode_buffer(&mut $make, buf),
                            BatchSize::LargeInput,
                        )
                    });
                }
            };
        }
        contender!("wm FrameCodec", FrameCodec::new());
        contender!("tokio-util LengthDelimitedCodec", length_delimited());
        contender!("hand length+split_to", HandFrames);
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = frame
}
criterion_main!(benches);
