//! `wm_http::Http` on arbitrary bytes (heads, `Content-Length` and chunked bodies,
//! trailers, pipelined requests) with small limits: no panic, and the chunking never
//! matters. `StreamingHttp`, fed the same bytes in the same cuts, must hand out the same
//! requests (body pieces joined) and end with the same error.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wm_http::{Config, Http, Protocol, RequestPart, StreamingHttp};
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

    let collected = decode_whole(&mut Http::new(small), data);
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut streaming = StreamingHttp::new(small);
    let mut buf = BytesMut::new();
    let (mut requests, mut current, mut error) = (Vec::new(), None, None);
    let mut start = 0;
    'feed: for end in cuts.into_iter().chain([data.len()]) {
        buf.extend_from_slice(&data[start..end]);
        start = end;
        loop {
            match streaming.decode(&mut buf) {
                Ok(Some(RequestPart::Head(head))) => current = Some((head, Vec::new())),
                Ok(Some(RequestPart::Body(piece))) => {
                    current.as_mut().unwrap().1.extend_from_slice(&piece)
                }
                Ok(Some(RequestPart::End(trailers))) => {
                    let (head, body) = current.take().unwrap();
                    requests.push((head, body, trailers));
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(format!("{e:?}"));
                    break 'feed;
                }
            }
        }
    }
    if error.is_none() {
        error = streaming
            .decode_eof(&mut buf)
            .err()
            .map(|e| format!("{e:?}"));
    }
    // How much of an unfinished request was still buffered differs: a streaming decoder
    // has handed its body out.
    let kind =
        |e: Option<String>| e.map(|e| e.split([' ', '{']).next().unwrap_or_default().to_owned());
    assert_eq!(kind(collected.error), kind(error));
    assert_eq!(collected.messages.len(), requests.len());
});
