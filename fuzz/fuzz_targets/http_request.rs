//! `wm_http::Http` on arbitrary bytes (heads, `Content-Length` and chunked bodies,
//! trailers, pipelined requests) with small limits: no panic, and the chunking never
//! matters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wm_http::{Config, Http};
use wm_protocol::testing::{assert_split_equivalence, decode_whole};

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    let small = Config::default()
        .max_head_size(256)
        .max_headers(8)
        .max_target_length(64)
        .max_body_size(128)
        .max_trailer_size(64);
    assert_split_equivalence(|| Http::new(small), data, &cuts);
    decode_whole(&mut Http::default(), data);
});
