//! Text lines: `TextCodec` (String and Bytes) beside tokio-util's `LinesCodec` and a
//! memchr + `split_to` loop, on the same 16 MiB, as one buffer and as 4 KiB reads.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio_util::codec::LinesCodec;
use wm_benches::{bench_decoder, decode_reads, text_lines, Feed, HandLines};
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

    for (mode, feed) in Feed::ALL {
        let mut group = c.benchmark_group(format!("text/{mode}"));
        group.throughput(Throughput::Bytes(data.len() as u64));
        bench_decoder(
            &mut group,
            "wm TextCodec (String)",
            feed,
            &data,
            TextCodec::new,
        );
        bench_decoder(
            &mut group,
            "wm TextBytesCodec (Bytes)",
            feed,
            &data,
            TextBytesCodec::new,
        );
        bench_decoder(&mut group, "tokio-util LinesCodec", feed, &data, || {
            LinesCodec::new_with_max_length(LIMIT)
        });
        bench_decoder(
            &mut group,
            "hand memchr+split_to",
            feed,
            &data,
            HandLines::default,
        );
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = text
}
criterion_main!(benches);
