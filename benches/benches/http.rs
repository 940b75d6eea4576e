//! HTTP/1.1 requests: a ~400-byte browser GET, 64 of them pipelined, served by wm-http
//! beside raw httparse (the floor) and hyper's server, on the same bytes in the same run.
//!
//! * decode: the requests parsed from one buffer (a fresh copy per iteration, made
//!   outside the timing one at a time: with criterion's batches of copies, the 25 KB
//!   inputs spilled out of the cache and medians swung 2× between runs). wm-http's `Http` yields a checked
//!   `Request` (headers as slices of the buffer, Host / CL / TE rules applied); raw
//!   httparse only parses each head in turn and keeps nothing.
//! * serve: each request answered `200` with a 2-byte body over an in-memory transport,
//!   wm-http through `Framed` (flushing when no request is left in the read buffer) and
//!   hyper 1.x with `pipeline_flush`; both run on a current-thread tokio runtime.
//! * encode: 64 `200` responses with a 2-byte body and one header, built and encoded
//!   (see `wm_benches::encode` for the model), beside a hand loop that writes the same
//!   bytes.
//! * drip: one GET arriving one byte per read, wm-http's pre-scan against httparse run
//!   on the whole buffer after each byte (what a parser without a pre-scan does).

use std::convert::Infallible;
use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Runtime;
use tokio_util::codec::{Encoder, Framed};
use wm_benches::encode::EncodeTarget;
use wm_benches::http::{httparse_drip, pipelined, raw_httparse, HyperStream, BROWSER_GET};
use wm_benches::websocket::MemoryStream;
use wm_http::{Encode, Http, HttpCodec, Protocol, Response};

const PIPELINED: usize = 64;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn wm_decode(buf: &mut BytesMut) -> usize {
    let mut http = Http::default();
    let mut n = 0;
    while let Some(request) = http.decode(buf).unwrap() {
        black_box(request);
        n += 1;
    }
    n
}

fn wm_serve(rt: &Runtime, wire: &Bytes, output: Vec<u8>) -> Vec<u8> {
    rt.block_on(async {
        let stream = MemoryStream::with_output(wire.clone(), output);
        let mut framed = Framed::new(stream, HttpCodec::new());
        while let Some(request) = framed.next().await {
            black_box(request.unwrap());
            framed
                .feed(Response::new(200).body(Bytes::from_static(b"ok")))
                .await
                .unwrap();
            if framed.read_buffer().is_empty() {
                SinkExt::<Response>::flush(&mut framed).await.unwrap();
            }
        }
        SinkExt::<Response>::flush(&mut framed).await.unwrap();
        framed.into_inner().output
    })
}

fn hyper_serve(rt: &Runtime, wire: &Bytes, output: Vec<u8>) -> Vec<u8> {
    rt.block_on(async {
        let mut io = HyperStream(MemoryStream::with_output(wire.clone(), output));
        let service = hyper::service::service_fn(|request| async move {
            black_box(request);
            Ok::<_, Infallible>(hyper::Response::new(String::from("ok")))
        });
        // The in-memory input ends as a client's half-close would: the requests read
        // are still answered.
        hyper::server::conn::http1::Builder::new()
            .half_close(true)
            .pipeline_flush(true)
            .serve_connection(&mut io, service)
            .await
            .unwrap();
        io.0.output
    })
}

fn wm_drip(wire: &[u8]) -> usize {
    let mut http = Http::default();
    let mut buf = BytesMut::with_capacity(wire.len());
    for &byte in wire {
        buf.extend_from_slice(&[byte]);
        if let Some(request) = http.decode(&mut buf).unwrap() {
            return black_box(request).headers().len();
        }
    }
    0
}

fn benches(c: &mut Criterion) {
    let wire = pipelined(PIPELINED);
    let rt = runtime();

    // The contenders agree on what they see before anything is timed.
    assert_eq!(wm_decode(&mut BytesMut::from(&wire[..])), PIPELINED);
    assert_eq!(raw_httparse(&mut BytesMut::from(&wire[..])), PIPELINED);
    let shared = Bytes::from(wire.clone());
    let wm_out = wm_serve(&rt, &shared, Vec::new());
    let hyper_out = hyper_serve(&rt, &shared, Vec::new());
    assert_eq!(
        memchr::memmem::find_iter(&wm_out, b"HTTP/1.1 200 OK\r\n").count(),
        PIPELINED
    );
    assert_eq!(
        memchr::memmem::find_iter(&hyper_out, b"HTTP/1.1 200 OK\r\n").count(),
        PIPELINED
    );
    assert_eq!(wm_drip(BROWSER_GET), 12);
    assert_eq!(httparse_drip(BROWSER_GET), BROWSER_GET.len());

    let mut group = c.benchmark_group("http/decode-64-pipelined");
    group.throughput(Throughput::Elements(PIPELINED as u64));
    group.bench_function("wm-http", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            wm_decode,
            BatchSize::PerIteration,
        )
    });
    group.bench_function("raw-httparse", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            raw_httparse,
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("http/serve-64-pipelined");
    group.throughput(Throughput::Elements(PIPELINED as u64));
    let mut output = Vec::with_capacity(64 * 1024);
    group.bench_function("wm-http", |b| {
        b.iter(|| {
            output = wm_serve(&rt, &shared, std::mem::take(&mut output));
        })
    });
    group.bench_function("hyper", |b| {
        b.iter(|| {
            output = hyper_serve(&rt, &shared, std::mem::take(&mut output));
        })
    });
    group.finish();

    encode(c);

    let mut group = c.benchmark_group("http/drip-one-get");
    group.throughput(Throughput::Bytes(BROWSER_GET.len() as u64));
    group.bench_function("wm-http", |b| b.iter(|| wm_drip(BROWSER_GET)));
    group.bench_function("httparse-reparse", |b| {
        b.iter(|| httparse_drip(BROWSER_GET))
    });
    group.finish();
}

fn response() -> Response {
    Response::new(200)
        .static_header("Content-Type", "text/plain")
        .body(Bytes::from_static(b"ok"))
}

fn encode(c: &mut Criterion) {
    let responses: Vec<Response> = (0..PIPELINED).map(|_| response()).collect();
    let mut target = EncodeTarget::new(|dst| {
        for _ in 0..PIPELINED {
            hand_response(b"ok", dst);
        }
    });
    let mut group = c.benchmark_group("http/encode-64");
    group.throughput(Throughput::Elements(PIPELINED as u64));
    target.bench(&mut group, "wm Http (Encode, Response)", |dst| {
        let mut http = Http::default();
        for _ in 0..PIPELINED {
            Encode::encode(&mut http, response(), dst).unwrap();
        }
    });
    target.bench(&mut group, "wm HttpCodec (Encoder, Response)", |dst| {
        let mut codec = HttpCodec::new();
        for _ in 0..PIPELINED {
            Encoder::encode(&mut codec, response(), dst).unwrap();
        }
    });
    target.bench_framed(
        &mut group,
        "wm HttpCodec (FramedWrite, memory stream)",
        &responses,
        HttpCodec::new,
    );
    target.bench(&mut group, "hand status+headers+body", |dst| {
        for _ in 0..PIPELINED {
            hand_response(b"ok", dst);
        }
    });
    group.finish();
}

/// A `200` with a plain-text body, written as the hand loop does: one formatted length.
fn hand_response(body: &[u8], dst: &mut BytesMut) {
    use bytes::BufMut;
    use std::fmt::Write;
    dst.put_slice(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: ");
    write!(dst, "{}", body.len()).unwrap();
    dst.put_slice(b"\r\n\r\n");
    dst.put_slice(body);
}

criterion_group! {
    name = http;
    config = wm_benches::criterion();
    targets = benches
}
criterion_main!(http);
