//! Text lines: `TextCodec` (String and Bytes) beside tokio-util's `LinesCodec` and a
//! memchr + `split_to` loop, on the same 16 MiB, as one buffer and as 4 KiB reads; and
//! the same lines encoded (see `wm_benches::encode` for the model).

use bytes::BufMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio_util::codec::{Encoder, LinesCodec};
use wm_benches::encode::EncodeTarget;
use wm_benches::{bench_decoder, decode_reads, text_lines, Feed, HandLines};
use wm_text::{Encode, Text, TextBytesCodec, TextCodec};

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

    let (data, _) = text_lines(4 * 1024 * 1024);
    let text = std::str::from_utf8(&data).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut target = EncodeTarget::new(|dst| {
        for line in &lines {
            dst.put_slice(line.as_bytes());
            dst.put_u8(b'\n');
        }
    });
    let mut group = c.benchmark_group("text/encode");
    group.throughput(Throughput::Bytes(target.len() as u64));
    target.bench(&mut group, "wm Text (Encode, &str)", |dst| {
        let mut text = Text::new();
        for line in &lines {
            Encode::encode(&mut text, *line, dst).unwrap();
        }
    });
    target.bench(&mut group, "wm TextCodec (Encoder, &str)", |dst| {
        let mut codec = TextCodec::new();
        for line in &lines {
            Encoder::encode(&mut codec, *line, dst).unwrap();
        }
    });
    target.bench_framed(
        &mut group,
        "wm TextCodec (FramedWrite, memory stream)",
        &lines,
        TextCodec::new,
    );
    target.bench(&mut group, "tokio-util LinesCodec", |dst| {
        let mut codec = LinesCodec::new();
        for line in &lines {
            Encoder::encode(&mut codec, *line, dst).unwrap();
        }
    });
    target.bench_framed(
        &mut group,
        "tokio-util LinesCodec (FramedWrite, memory stream)",
        &lines,
        LinesCodec::new,
    );
    target.bench(&mut group, "hand copy+newline", |dst| {
        for line in &lines {
            dst.reserve(line.len() + 1);
            dst.put_slice(line.as_bytes());
            dst.put_u8(b'\n');
        }
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = text
}
criterion_main!(benches);
