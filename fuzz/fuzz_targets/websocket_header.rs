//! `wm_websocket::frame::FrameHeader::parse` on arbitrary bytes, both roles: no panic, and
//! with minimal lengths required, whatever parses re-encodes to exactly the bytes it came
//! from; without, it re-encodes to the same header in its minimal form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_websocket::frame::{FrameHeader, HeaderRules, Role};

fuzz_target!(|input: (&[u8], bool, bool, bool)| {
    let (data, client, rsv1_allowed, minimal_lengths) = input;
    let role = if client { Role::Client } else { Role::Server };
    let rules = HeaderRules {
        role,
        rsv1_allowed,
        max_payload: u64::MAX,
        minimal_lengths,
    };
    if let Ok(Some((header, length))) = FrameHeader::parse(data, &rules) {
        let mut encoded = Vec::new();
        header.encode(&mut encoded);
        if minimal_lengths {
            assert_eq!(&encoded[..], &data[..length]);
        } else {
            assert!(encoded.len() <= length);
            let strict = HeaderRules {
                minimal_lengths: true,
                ..rules
            };
            assert_eq!(
                FrameHeader::parse(&encoded, &strict),
                Ok(Some((header, encoded.len())))
            );
        }
    }
});
