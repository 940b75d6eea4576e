//! `wm_websocket` opening handshakes on arbitrary bytes, both roles: the server reading a
//! request, the client reading an answer; raw, or behind a valid head so that what follows
//! is decoded as frames. No panic, and the chunking never matters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_protocol::testing::assert_split_equivalence;
use wm_websocket::handshake::server::parse_request;
use wm_websocket::handshake::{accept_key, client::parse_response, ClientRequest, ServerOptions};
use wm_websocket::{Config, WebSocket};

const REQUEST: &[u8] = b"GET /fuzz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn config() -> Config {
    Config::default()
        .max_handshake_size(512)
        .max_frame_size(64)
        .max_message_size(256)
        .max_fragments(4)
}

fuzz_target!(|input: (&[u8], u8, Vec<u16>)| {
    let (data, mode, cuts) = input;
    let request = ClientRequest::new("ws://127.0.0.1:9001/fuzz")
        .unwrap()
        .protocol("chat");
    let mut wire = Vec::new();
    match mode % 4 {
        0 | 1 => wire.extend_from_slice(data),
        2 => {
            wire.extend_from_slice(REQUEST);
            wire.extend_from_slice(data);
        }
        _ => {
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(request.key().as_bytes())
            );
            wire.extend_from_slice(answer.as_bytes());
            wire.extend_from_slice(data);
        }
    }
    if mode % 2 == 0 {
        let _ = parse_request(data);
        assert_split_equivalence(
            || WebSocket::accepting(config(), ServerOptions::new().protocols(["chat"])),
            &wire,
            &cuts,
        );
    } else {
        let _ = parse_response(data, &request);
        assert_split_equivalence(
            || WebSocket::connecting(config(), request.clone()).unwrap(),
            &wire,
            &cuts,
        );
    }
});
