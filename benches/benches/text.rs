//! Text lines: `TextCodec` (String and Bytes) beside tokio-util's `LinesCodec` and a
//! memchr + `split_to` loop, on the same 16 MiB, as one buffer and as 4 KiB reads.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tokio_util::codec::LinesCodec;
use wm_benches::{decode_buffer, decode_reads, text_lines, HandLines};
use wm_text::{TextBytesCodec, TextCodec};

const LIMIT: usize = 10 * 1024 * 1024;

fn text(c: &mut Criterion) {
    let (data, lines) = text_lines(16 * 1024 * 1024);
    assert_eq!(decode_reads(&mut TextCodec::new(), &data), lines);
    assert_eq!(decode_reads(&mut TextBytesCodec::new(), &data), lines);
    assert_eq!(
        decode_reads(&mut LinesCodec::new_with_max_length(LIMIT), &data),
        lines
    );
    assert_eq!(decode_reads(&mut HandLines::default(), &data), lines);

    for (mode, reads) in [("buffer", false), ("4k-reads", true)] {
        let mut group = c.benchmark_group(format!("text/{mode}"));
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
        contender!("wm TextCodec (String)", TextCodec::new());
        contender!("wm TextBytesCodec (Bytes)", TextBytesCodec::new());
        contender!(
            "tokio-util LinesCodec",
            LinesCodec::new_with_max_length(LIMIT)
        );
        contender!("hand memchr+split_to", HandLines::default());
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = text
}
criterion_main!(benches);
