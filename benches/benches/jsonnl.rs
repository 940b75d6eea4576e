//! JSON lines: `JsonNlCodec` beside tokio-util's `LinesCodec` + serde_json and memchr +
//! serde_json / simd-json loops, for `serde_json::Value` and a typed struct, on the same
//! 4 MiB of small objects, as one buffer and as 4 KiB reads; and the typed messages
//! encoded (see `wm_benches::encode` for the model).

use bytes::{BufMut, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::codec::{Decoder, Encoder, LinesCodec};
use wm_benches::encode::EncodeTarget;
use wm_benches::{
    bench_decoder, decode_reads, json_lines, Append, ChatMessage, Feed, HandJsonLines,
    HandSimdJsonLines, HandSonicLines, LinesThenJson,
};
use wm_jsonnl::{Encode, JsonNlCodec, JsonNlProtocol};

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
    assert_eq!(
        decode_reads(&mut HandSimdJsonLines::<Value>::default(), &data),
        lines
    );

    for (mode, feed) in Feed::ALL {
        contenders::<Value>(c, &format!("jsonnl/Value/{mode}"), feed, &data);
        contenders::<ChatMessage>(c, &format!("jsonnl/struct/{mode}"), feed, &data);
    }
    encode(c, &data);
}

/// The typed messages of `data` encoded back, one line each.
fn encode(c: &mut Criterion, data: &[u8]) {
    let mut wire = BytesMut::from(data);
    let mut decoder = HandJsonLines::<ChatMessage>::default();
    let mut messages = Vec::new();
    while let Some(message) = decoder.decode(&mut wire).unwrap() {
        messages.push(message.unwrap());
    }
    let refs: Vec<&ChatMessage> = messages.iter().collect();
    let mut target = EncodeTarget::new(|dst| hand_encode(&messages, dst));
    let mut group = c.benchmark_group("jsonnl/encode");
    group.throughput(Throughput::Bytes(target.len() as u64));
    target.bench(&mut group, "wm JsonNlProtocol (Encode, &T)", |dst| {
        let mut json = JsonNlProtocol::<Value>::default();
        for message in &messages {
            Encode::encode(&mut json, message, dst).unwrap();
        }
    });
    target.bench(&mut group, "wm JsonNlCodec (Encoder, &T)", |dst| {
        let mut codec = JsonNlCodec::<Value>::new();
        for message in &messages {
            Encoder::encode(&mut codec, message, dst).unwrap();
        }
    });
    target.bench_framed(
        &mut group,
        "wm JsonNlCodec (FramedWrite, memory stream)",
        &refs,
        JsonNlCodec::<Value>::new,
    );
    target.bench(&mut group, LINES, |dst| {
        let mut codec = LinesCodec::new();
        for message in &messages {
            let line = serde_json::to_string(message).unwrap();
            codec.encode(line, dst).unwrap();
        }
    });
    target.bench(&mut group, "hand serde_json::to_writer+extend", |dst| {
        hand_encode(&messages, dst)
    });
    group.finish();
}

fn hand_encode(messages: &[ChatMessage], dst: &mut BytesMut) {
    for message in messages {
        serde_json::to_writer(Append(dst), message).unwrap();
        dst.put_u8(b'\n');
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
    bench_decoder(
        &mut group,
        "hand memchr+sonic-rs",
        feed,
        data,
        HandSonicLines::<T>::default,
    );
    bench_decoder(
        &mut group,
        "hand memchr+simd-json",
        feed,
        data,
        HandSimdJsonLines::<T>::default,
    );
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
