//! `wm_jsonnl::JsonNl`: arbitrary bytes decode without panicking, and the chunking never
//! matters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_jsonnl::{JsonNl, Value};
use wm_protocol::testing::{assert_split_equivalence, decode_whole};

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    assert_split_equivalence(|| JsonNl::<Value>::with_max_line_length(64), data, &cuts);
    decode_whole(&mut JsonNl::<Value>::protocol(), data);
});
