//! Frames: `FrameCodec` beside tokio-util's `LengthDelimitedCodec` configured for the same
//! wire format and a hand loop, on the same 16 MiB, as one buffer and as 4 KiB reads; and
//! the same bodies encoded (see `wm_benches::encode` for the model).

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio_util::codec::{length_delimited::LengthDelimitedCodec, Decoder, Encoder};
use wm_benches::encode::EncodeTarget;
use wm_benches::{bench_decoder, decode_reads, frames, Feed, HandFrames};
use wm_frame::{Encode, Frame, FrameCodec};

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

    let (data, _) = frames(4 * 1024 * 1024);
    let mut wire = BytesMut::from(&data[..]);
    let mut bodies: Vec<Bytes> = Vec::new();
    while let Some(body) = HandFrames.decode(&mut wire).unwrap() {
        bodies.push(body);
    }
    let mut target = EncodeTarget::new(|dst| dst.put_slice(&data));
    let mut group = c.benchmark_group("frame/encode");
    group.throughput(Throughput::Bytes(target.len() as u64));
    target.bench(&mut group, "wm Frame (Encode, &[u8])", |dst| {
        let mut frame = Frame::new();
        for body in &bodies {
            Encode::encode(&mut frame, &body[..], dst).unwrap();
        }
    });
    target.bench(&mut group, "wm FrameCodec (Encoder, &[u8])", |dst| {
        let mut codec = FrameCodec::new();
        for body in &bodies {
            Encoder::encode(&mut codec, &body[..], dst).unwrap();
        }
    });
    target.bench_framed(
        &mut group,
        "wm FrameCodec (FramedWrite, memory stream)",
        &bodies,
        FrameCodec::new,
    );
    target.bench(&mut group, "tokio-util LengthDelimitedCodec", |dst| {
        let mut codec = length_delimited();
        for body in &bodies {
            codec.encode(body.clone(), dst).unwrap();
        }
    });
    target.bench_framed(
        &mut group,
        "tokio-util LengthDelimitedCodec (FramedWrite, memory stream)",
        &bodies,
        length_delimited,
    );
    target.bench(&mut group, "hand length+copy", |dst| {
        for body in &bodies {
            dst.reserve(4 + body.len());
            dst.put_u32(4 + body.len() as u32);
            dst.put_slice(body);
        }
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = frame
}
criterion_main!(benches);
