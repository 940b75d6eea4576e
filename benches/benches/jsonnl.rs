//! JSON lines: `JsonNlCodec` beside tokio-util's `LinesCodec` + serde_json and a memchr +
//! serde_json loop, for `serde_json::Value` and a typed struct, on the same 4 MiB of small
//! objects, as one buffer and as 4 KiB reads.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::de::DeserializeOwned;
use serde_json::Value;
use wm_benches::{
    bench_decoder, decode_reads, json_lines, ChatMessage, Feed, HandJsonLines, LinesThenJson,
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

    for (mode, feed) in Feed::ALL {
        contenders::<Value>(c, &format!("jsonnl/Value/{mode}"), feed, &data);
        contenders::<ChatMessage>(c, &format!("jsonnl/struct/{mode}"), feed, &data);
    }
}

/// The three contenders decoding lines into `T`, as one group.
fn contenders<T: DeserializeOwned>(c: &mut Criterion, name: &str, feed: Feed, data: &[u8]) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(data.len() as u64));
    bench_decoder(
        &mut group,
        "wm JsonNlCodec",
        feed,
        data,
        JsonNlCodec::<T>::new,
    );
    bench_decoder(&mut group, LINES, feed, data, LinesThenJson::<T>::default);
    bench_decoder(&mut group, HAND, feed, data, HandJsonLines::<T>::default);
    group.finish();
}

const LINES: &str = "tokio-util LinesCodec+serde_json";
const HAND: &str = "hand memchr+serde_json";

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = jsonnl
}
criterion_main!(benches);
