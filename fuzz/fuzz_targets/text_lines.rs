//! `wm_text::TextLines`: arbitrary bytes decode without panicking, the chunking never
//! matters, and each line is `Ok` exactly when it is UTF-8, with the same bytes as
//! `TextBytes` splits off.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wm_protocol::testing::assert_split_equivalence;
use wm_protocol::Protocol;
use wm_text::{TextBytes, TextLines};

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    assert_split_equivalence(|| TextLines::with_max_line_length(64), data, &cuts);
    let (mut lines, mut bytes) = (TextLines::new(), TextBytes::new());
    let (mut a, mut b) = (BytesMut::from(data), BytesMut::from(data));
    loop {
        match (lines.decode(&mut a), bytes.decode(&mut b)) {
            (Ok(Some(Ok(text))), Ok(Some(line))) => assert_eq!(text.as_bytes(), &line[..]),
            (Ok(Some(Err(bad))), Ok(Some(line))) => {
                assert_eq!(bad.line, line);
                assert!(std::str::from_utf8(&line).is_err());
            }
            (Ok(None), Ok(None)) => break,
            (Err(_), Err(_)) => break,
            other => panic!("TextLines and TextBytes disagree: {other:?}"),
        }
    }
});
