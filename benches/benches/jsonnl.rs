//! JSON lines: `JsonNlCodec` beside tokio-util's `LinesCodec` + serde_json and a memchr +
//! serde_json loop, for `serde_json::Value` and a typed struct, on the same 4 MiB of small
//! objects, as one buffer and as 4 KiB reads.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::Value;
use wm_benches::{
    decode_buffer, decode_reads, json_lines, ChatMessage, HandJsonLines, LinesThenJson,
};
use wm_jsonnl::JsonNlCodec;

fn jsonnl(c: &mut Criterion) {
    let (data, lines) = json_lines(4 * 1024 * 1024);
    assert_eq!(decode_reads(&mut JsonNlCodec::<Value>::new(), &data), lines);
    assert_eq!(
        decode_reads(&mut JsonNlCodec::<ChatMessage>::new(), &data),
        lines
    );
    assert_eq!(
        decode_reads(&mut LinesThenJson::<ChatMessage>::default(), &data),
        lines
    );
    assert_eq!(
        decode_reads(&mut HandJsonLines::<ChatMessage>::default(), &data),
        lines
    );

    for (mode, reads) in [("buffer", false), ("4k-reads", true)] {
        for ty in ["Value", "struct"] {
            let mut group = c.benchmark_group(format!("jsonnl/{ty}/{mode}"));
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
            if ty == "Value" {
                contender!("wm JsonNlCodec", JsonNlCodec::<Value>::new());
                contender!(
                    "tokio-util LinesCodec+serde_json",
                    LinesThenJson::<Value>::default()
                );
                contender!("hand memchr+serde_json", HandJsonLines::<Value>::default());
            } else {
                contender!("wm JsonNlCodec", JsonNlCodec::<ChatMessage>::new());
                contender!(
                    "tokio-util LinesCodec+serde_json",
                    LinesThenJson::<ChatMessage>::default()
                );
                contender!(
                    "hand memchr+serde_json",
                    HandJsonLines::<ChatMessage>::default()
                );
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = jsonnl
}
criterion_main!(benches);
