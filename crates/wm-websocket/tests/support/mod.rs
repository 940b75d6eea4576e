//! What the wm-websocket integration tests share: client frames built by hand, the code
//! of a close frame, and a wire fed to a protocol in cuts.
#![allow(dead_code)] // each test crate uses some of it

use bytes::BytesMut;
use wm_websocket::{Message, Protocol, WebSocket};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a client sends it: `b0` (FIN, RSV, opcode), masked with `KEY`, length in its
/// minimal form.
pub fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut wire = vec![b0];
    match payload.len() {
        n @ 0..=125 => wire.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            wire.push(0x80 | 126);
            wire.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            wire.push(0x80 | 127);
            wire.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    wire.extend_from_slice(&KEY);
    wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    wire
}

/// A server's close frame with `code` (and whatever reason follows).
pub fn close_code_of(output: &[u8]) -> u16 {
    assert_eq!(output[0], 0x88, "a close frame: {output:02x?}");
    u16::from_be_bytes([output[2], output[3]])
}

/// The messages `receiver` decodes from `wire` read in pieces ending at `cuts` (any
/// numbers, taken modulo the wire's length and sorted), then the rest. Panics on an error.
pub fn decode_in_cuts(receiver: &mut WebSocket, wire: &[u8], cuts: &[usize]) -> Vec<Message> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    cuts.sort_unstable();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut start = 0;
    for end in cuts.into_iter().chain([wire.len()]) {
        buf.extend_from_slice(&wire[start..end]);
        start = end;
        while let Some(message) = receiver.decode(&mut buf).unwrap() {
            got.push(message);
        }
    }
    got
}
