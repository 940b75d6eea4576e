//! Decodes one input once with one contender, for instruction counts that the noise of a
//! shared machine cannot blur (criterion's medians on a busy 2-core VM move by ±20%):
//!
//! ```sh
//! cargo build --release -p wm-benches --example callgrind
//! for c in none text-wm text-wm-bytes text-lines text-hand; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$c \
//!     target/release/examples/callgrind $c 2>&1 | grep Collected
//! done
//! ```
//!
//! Inputs are 1 MiB (text, frame) or 256 KiB (JSON) of the benches' data, in one buffer.
//! `none` only builds the inputs: subtract it from the others (`ws-enc-*` also build their
//! payloads: subtract `ws-enc-none`).

use bytes::BytesMut;
use serde_json::Value;
use tokio_util::codec::{length_delimited::LengthDelimitedCodec, LinesCodec};
use wm_benches::*;
use wm_frame::FrameCodec;
use wm_jsonnl::JsonNlCodec;
use wm_text::{TextBytesCodec, TextCodec};

fn main() {
    let contender = std::env::args().nth(1).unwrap_or_default();
    let (text, _) = text_lines(1 << 20);
    let (frames, _) = frames(1 << 20);
    let (json, _) = json_lines(256 * 1024);
    let mut t = BytesMut::from(&text[..]);
    let mut f = BytesMut::from(&frames[..]);
    let mut j = BytesMut::from(&json[..]);
    let ws_small = websocket::client_frames(&websocket::small_payloads(1 << 20));
    let mut w = BytesMut::from(&ws_small[..]);
    let mut h = BytesMut::from(&http::pipelined(1024)[..]);
    let decoded = match contender.as_str() {
        "none" => 0,
        "text-wm" => decode_buffer(&mut TextCodec::new(), &mut t),
        "text-wm-bytes" => decode_buffer(&mut TextBytesCodec::new(), &mut t),
        "text-lines" => decode_buffer(&mut LinesCodec::new_with_max_length(10 << 20), &mut t),
        "text-hand" => decode_buffer(&mut HandLines::default(), &mut t),
        "frame-wm" => decode_buffer(&mut FrameCodec::new(), &mut f),
        "frame-ldc" => decode_buffer(
            &mut LengthDelimitedCodec::builder()
                .length_field_length(4)
                .length_adjustment(-4)
                .max_frame_length(10 << 20)
                .new_codec(),
            &mut f,
        ),
        "frame-hand" => decode_buffer(&mut HandFrames, &mut f),
        "json-wm" => decode_buffer(&mut JsonNlCodec::<Value>::new(), &mut j),
        "json-hand-simd" => decode_buffer(&mut HandSimdJsonLines::<Value>::default(), &mut j),
        "json-lines" => decode_buffer(&mut LinesThenJson::<Value>::default(), &mut j),
        "json-hand" => decode_buffer(&mut HandJsonLines::<Value>::default(), &mut j),
        "json-wm-struct" => decode_buffer(&mut JsonNlCodec::<ChatMessage>::new(), &mut j),
        "json-hand-simd-struct" => {
            decode_buffer(&mut HandSimdJsonLines::<ChatMessage>::default(), &mut j)
        }
        "json-lines-struct" => decode_buffer(&mut LinesThenJson::<ChatMessage>::default(), &mut j),
        "json-hand-struct" => decode_buffer(&mut HandJsonLines::<ChatMessage>::default(), &mut j),
        "ws-wm" => {
            let mut ws = wm_websocket::WebSocket::server();
            let mut n = 0;
            while let Some(message) = wm_websocket::Protocol::decode(&mut ws, &mut w).unwrap() {
                std::hint::black_box(message);
                n += 1;
            }
            n
        }
        "ws-plain" => websocket::plain_decode(&mut w),
        // Encoding the same small payloads as server frames into one buffer.
        "ws-enc-none" | "ws-enc-wm" | "ws-enc-codec" | "ws-enc-plain" | "ws-enc-fws" => {
            let payloads = websocket::small_payloads(1 << 20);
            let mut dst = BytesMut::with_capacity(2 << 20);
            let mut ws = wm_websocket::WebSocket::server();
            let mut codec = wm_websocket::WebSocketCodec::from(wm_websocket::WebSocket::server());
            for payload in &payloads {
                match contender.as_str() {
                    "ws-enc-codec" => {
                        tokio_util::codec::Encoder::encode(&mut codec, &payload[..], &mut dst)
                            .unwrap()
                    }
                    "ws-enc-wm" => {
                        wm_websocket::Encode::encode(&mut ws, &payload[..], &mut dst).unwrap()
                    }
                    "ws-enc-plain" => websocket::plain_encode(payload, &mut dst),
                    "ws-enc-none" => {}
                    _ => {
                        let mut frame = fastwebsockets::Frame::binary(
                            fastwebsockets::Payload::Borrowed(payload),
                        );
                        let mut head = [0; 14];
                        let size = frame.fmt_head(&mut head);
                        dst.reserve(size + payload.len());
                        dst.extend_from_slice(&head[..size]);
                        dst.extend_from_slice(payload);
                    }
                }
            }
            std::hint::black_box(&dst);
            payloads.len()
        }
        // 256 JSON messages of 1 KiB compressed as server frames (no context takeover).
        "deflate-enc-wm" | "deflate-enc-hand" => {
            let messages = websocket::json_messages();
            let mut dst = BytesMut::with_capacity(1 << 20);
            if contender == "deflate-enc-wm" {
                let config = wm_websocket::deflate::DeflateConfig::default();
                let mut ws = wm_websocket::WebSocket::server()
                    .with_deflate(websocket::no_takeover(), &config);
                for message in &messages {
                    wm_websocket::Encode::encode(&mut ws, &message[..], &mut dst).unwrap();
                }
            } else {
                let mut deflater = flate2::Compress::new(flate2::Compression::new(6), false);
                websocket::hand_deflate(&messages, &mut deflater, &mut dst);
            }
            std::hint::black_box(&dst);
            messages.len()
        }
        "http-wm" => {
            let mut http = wm_http::Http::default();
            let mut n = 0;
            while let Some(request) = wm_http::Protocol::decode(&mut http, &mut h).unwrap() {
                std::hint::black_box(request);
                n += 1;
            }
            n
        }
        "http-httparse" => http::raw_httparse(&mut h),
        other => {
            eprintln!("unknown contender {other:?}; see the source for the list");
            std::process::exit(2);
        }
    };
    println!("{decoded}");
}
