//! `wm_websocket::frame::FrameHeader::parse` on arbitrary bytes, both roles: no panic, and
//! whatever parses re-encodes to exactly the bytes it came from (only minimal forms parse).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_websocket::frame::{FrameHeader, HeaderRules, Role};

fuzz_target!(|input: (&[u8], bool, bool)| {
    let (data, client, rsv1_allowed) = input;
    let role = if client { Role::Client } else { Role::Server };
    let rules = HeaderRules {
        role,
        rsv1_allowed,
        max_payload: u64::MAX,
    };
    if let Ok(Some((header, length))) = FrameHeader::parse(data, &rules) {
        let mut encoded = Vec::new();
        header.encode(&mut encoded);
        assert_eq!(&encoded[..], &data[..length]);
    }
});
