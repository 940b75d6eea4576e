//! WebSocket: masked client frames decoded (and unmasked) by a server, and server frames
//! encoded, by wm-websocket beside tungstenite, fastwebsockets and tokio-websockets and a
//! plain loop, on the same bytes in the same run; and permessage-deflate beside the zlib
//! work alone.
//!
//! * decode: binary frames of 2–125 bytes (about 1 MiB of payload), and 64 × 64 KiB.
//!   wm is measured twice: its `WebSocket` protocol on one buffer (as the plain loop
//!   is), and through `Framed` over an in-memory transport (as the anchors, which all
//!   need a transport, are). The anchors read from the same in-memory transport.
//! * encode: the same payloads as unmasked server frames. Each contender ends with the
//!   wire bytes in one reused buffer: wm encodes into the `BytesMut` that `Framed` then
//!   writes; the anchors go through their send API into a transport that appends what
//!   it is given (as a socket copies it to the kernel).

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use flate2::{Compress, Compression, Decompress};
use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Runtime;
use tokio_util::codec::{Encoder, Framed, FramedWrite};
use wm_benches::encode::EncodeTarget;
use wm_benches::websocket::{
    client_frames, hand_deflate, hand_inflate, json_messages, large_payloads, no_takeover,
    plain_decode, plain_encode, small_payloads, MemoryStream,
};
use wm_benches::Append;
use wm_websocket::deflate::DeflateConfig;
use wm_websocket::{Config, Encode, Message, Protocol, Role, WebSocket, WebSocketCodec};

const LIMIT: usize = 64 << 20;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn wm_config() -> Config {
    Config::default()
        .max_frame_size(LIMIT)
        .max_message_size(LIMIT)
}

fn wm_buffer(buf: &mut BytesMut) -> usize {
    let mut ws = WebSocket::new(Role::Server, wm_config());
    let mut n = 0;
    while let Some(message) = ws.decode(buf).unwrap() {
        black_box(message);
        n += 1;
    }
    n
}

fn wm_framed(rt: &Runtime, wire: &Bytes, count: usize) -> usize {
    rt.block_on(async {
        let codec = WebSocketCodec::from(WebSocket::new(Role::Server, wm_config()));
        let mut framed = Framed::new(MemoryStream::new(wire.clone()), codec);
        for _ in 0..count {
            black_box(framed.next().await.unwrap().unwrap());
        }
        count
    })
}

fn tungstenite_read(wire: &Bytes, count: usize) -> usize {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(LIMIT))
        .max_frame_size(Some(LIMIT));
    let mut ws = tungstenite::WebSocket::from_raw_socket(
        MemoryStream::new(wire.clone()),
        tungstenite::protocol::Role::Server,
        Some(config),
    );
    for _ in 0..count {
        black_box(ws.read().unwrap());
    }
    count
}

fn fastwebsockets_read(rt: &Runtime, wire: &Bytes, count: usize) -> usize {
    rt.block_on(async {
        let mut ws = fastwebsockets::WebSocket::after_handshake(
            MemoryStream::new(wire.clone()),
            fastwebsockets::Role::Server,
        );
        ws.set_max_message_size(LIMIT);
        for _ in 0..count {
            let frame = ws.read_frame().await.unwrap();
            black_box(&frame.payload[..]);
        }
        count
    })
}

fn tokio_websockets_read(rt: &Runtime, wire: &Bytes, count: usize) -> usize {
    rt.block_on(async {
        let mut ws = tokio_websockets::ServerBuilder::new()
            .limits(tokio_websockets::Limits::default().max_payload_len(Some(LIMIT)))
            .serve(MemoryStream::new(wire.clone()));
        for _ in 0..count {
            black_box(ws.next().await.unwrap().unwrap());
        }
        count
    })
}

fn decode_group(group: &mut BenchmarkGroup<'_, WallTime>, payloads: &[Bytes]) {
    let rt = runtime();
    let wire = Bytes::from(client_frames(payloads));
    let count = payloads.len();
    // Every contender decodes the same messages.
    assert_eq!(wm_buffer(&mut BytesMut::from(&wire[..])), count);
    assert_eq!(plain_decode(&mut BytesMut::from(&wire[..])), count);
    assert_eq!(wm_framed(&rt, &wire, count), count);
    assert_eq!(tungstenite_read(&wire, count), count);
    assert_eq!(fastwebsockets_read(&rt, &wire, count), count);
    assert_eq!(tokio_websockets_read(&rt, &wire, count), count);

    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("wm WebSocket (one buffer)", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            wm_buffer,
            BatchSize::LargeInput,
        )
    });
    group.bench_function("wm Framed (memory stream)", |b| {
        b.iter(|| wm_framed(&rt, &wire, count))
    });
    group.bench_function("tungstenite", |b| b.iter(|| tungstenite_read(&wire, count)));
    group.bench_function("fastwebsockets", |b| {
        b.iter(|| fastwebsockets_read(&rt, &wire, count))
    });
    group.bench_function("tokio-websockets", |b| {
        b.iter(|| tokio_websockets_read(&rt, &wire, count))
    });
    group.bench_function("plain header+u64 XOR", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            plain_decode,
            BatchSize::LargeInput,
        )
    });
}

fn encode_group(group: &mut BenchmarkGroup<'_, WallTime>, payloads: &[Bytes]) {
    let rt = runtime();
    let total: usize = payloads.iter().map(Bytes::len).sum();
    group.throughput(Throughput::Bytes(total as u64));
    // Every contender ends with the wire bytes in one buffer, reused across iterations:
    // wm and the plain loop encode into it; the anchors write into a transport that
    // appends to it.
    let mut dst = BytesMut::new();
    let mut out = Vec::new();
    let expected = wm_encode_slices(payloads, &mut dst);
    group.bench_function("wm WebSocket (&[u8])", |b| {
        b.iter(|| wm_encode_slices(payloads, &mut dst))
    });
    // The same encoder through tokio-util's `Encoder` (what `Framed` calls), into the same
    // buffer; and a real `Framed` fed one message at a time and flushed at the end, as
    // tokio-websockets is below (its write buffer empties each time it passes 8 KiB).
    let mut codec = WebSocketCodec::from(WebSocket::server());
    group.bench_function("wm WebSocketCodec (Encoder, &[u8])", |b| {
        b.iter(|| {
            dst.clear();
            for payload in payloads {
                Encoder::encode(&mut codec, &payload[..], &mut dst).unwrap();
            }
            dst.len()
        })
    });
    let framed_feed = |out: &mut Vec<u8>| {
        rt.block_on(async {
            let mut framed = FramedWrite::new(
                MemoryStream::with_output(Bytes::new(), std::mem::take(out)),
                WebSocketCodec::from(WebSocket::server()),
            );
            for payload in payloads {
                framed.feed(&payload[..]).await.unwrap();
            }
            SinkExt::<&[u8]>::flush(&mut framed).await.unwrap();
            *out = std::mem::take(&mut framed.get_mut().output);
            out.len()
        })
    };
    assert_eq!(framed_feed(&mut out), expected);
    group.bench_function("wm Framed feed (memory stream)", |b| {
        b.iter(|| framed_feed(&mut out))
    });
    group.bench_function("wm WebSocket (Message)", |b| {
        b.iter(|| {
            dst.clear();
            let mut ws = WebSocket::server();
            for payload in payloads {
                ws.encode(Message::Binary(payload.clone()), &mut dst)
                    .unwrap();
            }
            dst.len()
        })
    });
    let tungstenite_write = |out: &mut Vec<u8>| {
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            MemoryStream::with_output(Bytes::new(), std::mem::take(out)),
            tungstenite::protocol::Role::Server,
            None,
        );
        for payload in payloads {
            ws.write(tungstenite::Message::Binary(payload.clone()))
                .unwrap();
        }
        ws.flush().unwrap();
        *out = std::mem::take(&mut ws.get_mut().output);
        out.len()
    };
    assert_eq!(tungstenite_write(&mut out), expected);
    group.bench_function("tungstenite", |b| b.iter(|| tungstenite_write(&mut out)));
    let fastwebsockets_write = |out: &mut Vec<u8>| {
        rt.block_on(async {
            let mut ws = fastwebsockets::WebSocket::after_handshake(
                MemoryStream::with_output(Bytes::new(), std::mem::take(out)),
                fastwebsockets::Role::Server,
            );
            for payload in payloads {
                let frame =
                    fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(payload));
                ws.write_frame(frame).await.unwrap();
            }
            *out = ws.into_inner().output;
            out.len()
        })
    };
    assert_eq!(fastwebsockets_write(&mut out), expected);
    group.bench_function("fastwebsockets", |b| {
        b.iter(|| fastwebsockets_write(&mut out))
    });
    let tokio_websockets_write = |out: &mut Vec<u8>| {
        rt.block_on(async {
            let mut ws = tokio_websockets::ServerBuilder::new()
                .serve(MemoryStream::with_output(Bytes::new(), std::mem::take(out)));
            for payload in payloads {
                ws.feed(tokio_websockets::Message::binary(payload.clone()))
                    .await
                    .unwrap();
            }
            ws.flush().await.unwrap();
            *out = std::mem::take(&mut ws.get_mut().output);
            out.len()
        })
    };
    assert_eq!(tokio_websockets_write(&mut out), expected);
    group.bench_function("tokio-websockets", |b| {
        b.iter(|| tokio_websockets_write(&mut out))
    });
    group.bench_function("plain header+copy", |b| {
        b.iter(|| {
            dst.clear();
            for payload in payloads {
                plain_encode(payload, &mut dst);
            }
            dst.len()
        })
    });
    // Like for like: the anchors' own frame encoders, one call per message, appending to
    // the same reused buffer as wm's `encode` above (no transport, no flush).
    let mut target = EncodeTarget::new(|dst| {
        for payload in payloads {
            plain_encode(payload, dst);
        }
    });
    target.bench(group, "tungstenite Frame::format (same buffer)", |dst| {
        for payload in payloads {
            tungstenite::protocol::frame::Frame::message(
                payload.clone(),
                tungstenite::protocol::frame::coding::OpCode::Data(
                    tungstenite::protocol::frame::coding::Data::Binary,
                ),
                true,
            )
            .format(&mut Append(dst))
            .unwrap();
        }
    });
    target.bench(
        group,
        "fastwebsockets Frame::fmt_head+copy (same buffer)",
        |dst| {
            for payload in payloads {
                let mut frame =
                    fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(payload));
                let mut head = [0; 14];
                let size = frame.fmt_head(&mut head);
                dst.reserve(size + payload.len());
                dst.extend_from_slice(&head[..size]);
                dst.extend_from_slice(payload);
            }
        },
    );
}

fn wm_encode_slices(payloads: &[Bytes], dst: &mut BytesMut) -> usize {
    dst.clear();
    let mut ws = WebSocket::server();
    for payload in payloads {
        ws.encode(&payload[..], dst).unwrap();
    }
    dst.len()
}

/// permessage-deflate without context takeover (wm's default): 1 KiB JSON messages,
/// compressed frames from a client decoded (unmasked, inflated, UTF-8 checked), and
/// encoded (compressed) by a server, beside the zlib work alone. No Rust anchor has
/// permessage-deflate (tungstenite, fastwebsockets and tokio-websockets refuse RSV1); the
/// load test (`src/bin/deflate.rs`) compares servers with Python's and Node's.
fn deflate(c: &mut Criterion) {
    let messages = json_messages();
    let total: usize = messages.iter().map(Bytes::len).sum();
    let config = DeflateConfig::default();
    let mut client = WebSocket::client().with_deflate(no_takeover(), &config);
    let mut wire = BytesMut::new();
    for message in &messages {
        client
            .encode(
                Message::Text(String::from_utf8(message.to_vec()).unwrap()),
                &mut wire,
            )
            .unwrap();
    }
    assert_eq!(wire[0], 0xc1);
    let wire = wire.freeze();

    let mut group = c.benchmark_group("websocket/deflate/decode");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("wm WebSocket (one buffer)", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| {
                let mut ws =
                    WebSocket::new(Role::Server, wm_config()).with_deflate(no_takeover(), &config);
                let mut n = 0;
                while let Some(message) = ws.decode(buf).unwrap() {
                    black_box(message);
                    n += 1;
                }
                assert_eq!(n, messages.len());
            },
            BatchSize::LargeInput,
        );
    });
    let mut inflater = Decompress::new(false);
    let mut out = Vec::new();
    group.bench_function("hand flate2 inflate", |b| {
        b.iter(|| hand_inflate(&wire, &mut inflater, &mut out))
    });
    group.finish();

    let mut group = c.benchmark_group("websocket/deflate/encode");
    group.throughput(Throughput::Bytes(total as u64));
    let mut dst = BytesMut::with_capacity(total * 2);
    group.bench_function("wm WebSocket (&[u8])", |b| {
        let mut ws = WebSocket::server().with_deflate(no_takeover(), &config);
        b.iter(|| {
            dst.clear();
            for message in &messages {
                ws.encode(&message[..], &mut dst).unwrap();
            }
            dst.len()
        })
    });
    let mut deflater = Compress::new_with_window_bits(Compression::new(config.level), false, 15);
    group.bench_function("hand flate2 deflate", |b| {
        b.iter(|| hand_deflate(&messages, &mut deflater, &mut dst))
    });
    group.finish();
}

fn websocket(c: &mut Criterion) {
    let small = small_payloads(1 << 20);
    let large = large_payloads(64);
    for (size, payloads) in [("small", &small), ("64k", &large)] {
        let mut group = c.benchmark_group(format!("websocket/decode/{size}"));
        decode_group(&mut group, payloads);
        group.finish();
        let mut group = c.benchmark_group(format!("websocket/encode/{size}"));
        encode_group(&mut group, payloads);
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = wm_benches::criterion();
    targets = websocket, deflate
}
criterion_main!(benches);
