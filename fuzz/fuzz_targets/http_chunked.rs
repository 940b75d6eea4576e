//! `wm_http::chunked::ChunkedDecoder` alone on arbitrary bytes (several bodies one after
//! the other), with small limits: no panic, what it keeps stays within its limits, and
//! the way the input is cut never matters (nor does collecting with `decode`).
//!
//! Raw bytes, no `arbitrary`: the first byte picks the read sizes, the second the body and
//! trailer limits, the rest is the input.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use wm_http::chunked::{ChunkedDecoder, ChunkedPiece};
use wm_http::{Config, Headers, MAX_CHUNK_LINE};
use wm_protocol::testing::seeded_reads;

/// Each complete body (data put together, trailers), the data of the body in progress,
/// and the error that stopped decoding (`Debug`: `HttpError` has no `PartialEq`).
type Transcript = (Vec<(Vec<u8>, Headers)>, Vec<u8>, Option<String>);

fn decode_pieces<'a>(config: &Config, reads: impl IntoIterator<Item = &'a [u8]>) -> Transcript {
    let mut decoder = ChunkedDecoder::new();
    let most_kept = MAX_CHUNK_LINE.max(config.max_trailer_size);
    let (mut bodies, mut body) = (Vec::new(), Vec::new());
    let mut buf = BytesMut::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match decoder.decode_piece(&mut buf, config) {
                Ok(Some(ChunkedPiece::Data(data))) => {
                    assert!(!data.is_empty());
                    body.extend_from_slice(&data);
                }
                Ok(Some(ChunkedPiece::End(trailers))) => {
                    bodies.push((std::mem::take(&mut body), trailers))
                }
                Ok(None) => break,
                Err(error) => return (bodies, body, Some(format!("{error:?}"))),
            }
        }
        assert!(buf.len() <= most_kept, "{} bytes kept", buf.len());
    }
    (bodies, body, None)
}

fuzz_target!(|input: &[u8]| {
    let [seed, pick, input @ ..] = input else {
        return;
    };
    let config = Config::default()
        .max_body_size(16 << (pick & 7))
        .max_trailer_size(32 << (pick >> 3 & 3))
        .max_headers(4);
    let whole = decode_pieces(&config, [input]);
    assert_eq!(decode_pieces(&config, seeded_reads(input, *seed)), whole);
    // Collecting gives the same bodies, up to the same error.
    let mut decoder = ChunkedDecoder::new();
    let mut buf = BytesMut::from(input);
    let mut bodies: Vec<(Bytes, Headers)> = Vec::new();
    let error = loop {
        match decoder.decode(&mut buf, &config) {
            Ok(Some(body)) => bodies.push(body),
            Ok(None) => break None,
            Err(error) => break Some(format!("{error:?}")),
        }
    };
    let collected: Vec<_> = bodies.into_iter().map(|(b, t)| (b.to_vec(), t)).collect();
    assert_eq!((collected, error), (whole.0, whole.2));
});
