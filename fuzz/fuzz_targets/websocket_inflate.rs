//! `wm_websocket::deflate::codec`: arbitrary compressed frames inflate without panicking
//! and never past the limit (plus one byte); arbitrary messages round-trip through the
//! deflater and inflater, with and without context takeover.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wm_websocket::deflate::{MessageDeflater, MessageInflater};

const LIMIT: usize = 4096;

fuzz_target!(|input: (Vec<Vec<u8>>, Vec<u8>, bool, u8)| {
    let (frames, message, takeover, bits) = input;
    let bits = 8 + bits % 8;
    let mut inflater = MessageInflater::new(bits, takeover);
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let result = inflater.inflate(frame, i + 1 == frames.len(), &mut out, LIMIT);
        assert!(out.len() <= LIMIT + 1);
        if result.is_err() {
            break;
        }
    }
    let mut deflater = MessageDeflater::new(bits, 6, takeover);
    let mut inflater = MessageInflater::new(bits, takeover);
    for _ in 0..2 {
        let mut compressed = BytesMut::new();
        deflater.compress(&message, &mut compressed);
        let mut out = Vec::new();
        inflater
            .inflate(&compressed, true, &mut out, usize::MAX - 1)
            .unwrap();
        assert_eq!(&out[..], &message[..]);
    }
});
