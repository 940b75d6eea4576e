//! `wm_http::multipart::MultipartParser` on arbitrary bodies, with small limits: no panic,
//! the parser never keeps more than a part head's limit or a delimiter's length, and the
//! way the body is cut never matters (nor does feeding it through `parse_form_data`).
//!
//! Raw bytes, no `arbitrary`: the first byte picks the read sizes, the second the boundary
//! and the part limit, the rest is the body.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use wm_http::multipart::{
    parse_form_data, MultipartError, MultipartEvent, MultipartLimits, MultipartParser,
};
use wm_protocol::testing::seeded_reads;

const BOUNDARIES: [&str; 4] = ["b", "XyZ", "----WebKitFormBoundary7MA4YWxk", "a b"];

/// What a parse saw: each part's head (`Debug`) and, once it ended, its data put together;
/// then whether the end came, and how the body ended. The data of a part an error cut
/// short is left out: how much of it came out first depends on the reads.
type Transcript = (
    Vec<(String, Option<Vec<u8>>)>,
    bool,
    Result<(), MultipartError>,
);

fn parse<'a>(
    boundary: &str,
    limits: MultipartLimits,
    reads: impl IntoIterator<Item = &'a [u8]>,
) -> Transcript {
    let mut parser = MultipartParser::new(boundary, limits).unwrap();
    let most_kept = limits.max_part_head_size.max(boundary.len() + 4);
    let (mut parts, mut data, mut ended) = (Vec::new(), Vec::new(), false);
    let mut buf = BytesMut::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match parser.feed(&mut buf) {
                Ok(Some(MultipartEvent::PartStart(head))) => {
                    parts.push((format!("{head:?}"), None));
                    data.clear();
                }
                Ok(Some(MultipartEvent::Data(piece))) => {
                    assert!(!piece.is_empty());
                    data.extend_from_slice(&piece);
                }
                Ok(Some(MultipartEvent::PartEnd)) => {
                    parts.last_mut().unwrap().1 = Some(std::mem::take(&mut data))
                }
                Ok(Some(MultipartEvent::End)) => ended = true,
                Ok(None) => break,
                Err(error) => return (parts, ended, Err(error)),
            }
        }
        assert!(buf.len() <= most_kept, "{} bytes kept", buf.len());
    }
    (parts, ended, parser.finish())
}

fuzz_target!(|input: &[u8]| {
    let [seed, pick, body @ ..] = input else {
        return;
    };
    let boundary = BOUNDARIES[usize::from(pick & 3)];
    let limits = MultipartLimits::default()
        .max_parts(usize::from(pick >> 2 & 3) + 1)
        .max_part_head_size(96)
        .max_part_headers(3)
        .max_field_size(32)
        .max_file_size(48);
    let whole = parse(boundary, limits, [body]);
    assert_eq!(parse(boundary, limits, seeded_reads(body, *seed)), whole);
    let form = parse_form_data(
        &format!("multipart/form-data; boundary=\"{boundary}\""),
        Bytes::copy_from_slice(body),
        limits,
    );
    let complete: Vec<_> = whole
        .0
        .iter()
        .filter_map(|(_, data)| data.as_ref())
        .collect();
    match (form, whole.2) {
        (Ok(form), Ok(())) => {
            let count = form.fields().len() + form.files().len();
            assert_eq!(count, complete.len());
        }
        (Err(form), Err(parsed)) => assert_eq!(form, parsed),
        (form, parsed) => panic!("parse_form_data gave {form:?}, the parser {parsed:?}"),
    }
});
