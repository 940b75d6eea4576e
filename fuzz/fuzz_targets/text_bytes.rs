//! `wm_text::TextBytes`: arbitrary bytes decode without panicking, and the chunking never
//! matters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_protocol::testing::{assert_split_equivalence, decode_whole};
use wm_text::TextBytes;

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    assert_split_equivalence(|| TextBytes::with_max_line_length(64), data, &cuts);
    decode_whole(&mut TextBytes::new(), data);
});
