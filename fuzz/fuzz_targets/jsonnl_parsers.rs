//! `wm_jsonnl::Parser`: serde_json and simd-json make the same messages and the same errors
//! of any input, line for line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_jsonnl::{JsonNl, PacketProtocol, Parser, Value};
use wm_protocol::testing::decode_whole;

fuzz_target!(|data: &[u8]| {
    let mut serde = PacketProtocol::new(JsonNl::<Value>::new().with_parser(Parser::SerdeJson));
    let mut simd = PacketProtocol::new(JsonNl::<Value>::new().with_parser(Parser::SimdJson));
    assert_eq!(decode_whole(&mut serde, data), decode_whole(&mut simd, data));
});
