//! `wm_text::TextBytes`: arbitrary bytes decode without panicking, the chunking never
//! matters, and `decode_with` lends exactly the lines `decode` splits off.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use wm_protocol::testing::{assert_split_equivalence, decode_whole};
use wm_protocol::Protocol;
use wm_text::TextBytes;

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    assert_split_equivalence(|| TextBytes::with_max_line_length(64), data, &cuts);
    decode_whole(&mut TextBytes::new(), data);

    let (mut split_off, mut lent) = (BytesMut::from(data), BytesMut::from(data));
    let (mut splitter, mut lender) = (
        TextBytes::with_max_line_length(64),
        TextBytes::with_max_line_length(64),
    );
    loop {
        let split = splitter.decode(&mut split_off);
        let copied = lender.decode_with(&mut lent, Bytes::copy_from_slice);
        assert_eq!(format!("{split:?}"), format!("{copied:?}"));
        assert_eq!(split_off, lent);
        if !matches!(split, Ok(Some(_))) {
            break;
        }
    }
});
