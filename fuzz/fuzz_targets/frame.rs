//! `wm_frame::Frame`: arbitrary bytes decode without panicking, and the chunking never
//! matters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_frame::Frame;
use wm_protocol::testing::{assert_split_equivalence, decode_whole};

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    assert_split_equivalence(|| Frame::with_max_frame_length(64), data, &cuts);
    decode_whole(&mut Frame::new(), data);
});
