//! JSON lines against the spec's vectors (§10.3), recoverable bad lines, limits, every
//! chunking, and real sockets.

use std::collections::BTreeMap;

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wm_jsonnl::{Error, JsonNl, JsonNlError, JsonNlProtocol, Value, DEFAULT_MAX_LINE_LENGTH};
use wm_protocol::testing::{assert_every_split, decode_split_at};
use wm_protocol::{Encode, Limits, Protocol};

#[derive(Debug, PartialEq, Serialize, Deserialize, Clone)]
struct Msg {
    code: i32,
    msg: String,
}

fn values(limit: usize) -> JsonNlProtocol<Value> {
    JsonNl::with_max_line_length(limit)
}

#[test]
fn spec_encode_is_compact_json_and_a_newline() {
    let mut dst = BytesMut::new();
    let mut p = JsonNl::<Value>::protocol();
    p.encode(
        &Msg {
            code: 0,
            msg: "ok".into(),
        },
        &mut dst,
    )
    .unwrap();
    assert_eq!(&dst[..], b"{\"code\":0,\"msg\":\"ok\"}\n");
}

#[test]
fn spec_decode_trims_and_parses() {
    let t = assert_every_split(JsonNl::<Value>::protocol, b"{\"type\":\"say\"}\r\n");
    assert_eq!(
        t.messages,
        [format!("{:?}", Ok::<_, ()>(json!({"type": "say"})))]
    );
    assert_eq!(t.error, None);
}

#[test]
fn php_trim_set_is_stripped_on_both_sides() {
    let t = assert_every_split(JsonNl::<Value>::protocol, b" \t\0\x0b[1,2]\0\x0b \r\n");
    assert_eq!(t.messages, [format!("{:?}", Ok::<_, ()>(json!([1, 2])))]);
}

#[test]
fn typed_messages_decode_into_the_struct() {
    let mut p = JsonNl::<Msg>::protocol();
    let mut buf = BytesMut::from(&b"{\"code\":7,\"msg\":\"hi\"}\n"[..]);
    let got = p.decode(&mut buf).unwrap().unwrap().unwrap();
    assert_eq!(
        got,
        Msg {
            code: 7,
            msg: "hi".into()
        }
    );
}

#[test]
fn malformed_line_is_an_item_and_the_stream_goes_on() {
    let t = assert_every_split(JsonNl::<Value>::protocol, b"{\"a\":1}\n{oops\n[true]\n");
    assert_eq!(t.messages.len(), 3);
    assert!(t.messages[0].starts_with("Ok(Object"));
    assert!(
        t.messages[1].starts_with("Err(Malformed"),
        "{}",
        t.messages[1]
    );
    assert!(
        t.messages[1].contains(r#"line: b"{oops""#),
        "{}",
        t.messages[1]
    );
    assert_eq!(t.messages[2], format!("{:?}", Ok::<_, ()>(json!([true]))));
    assert_eq!(t.error, None);
}

#[test]
fn wrong_shape_for_the_type_is_malformed() {
    let mut p = JsonNl::<Msg>::protocol();
    let mut buf = BytesMut::from(&b"{\"code\":\"seven\",\"msg\":\"hi\"}\n"[..]);
    match p.decode(&mut buf).unwrap().unwrap() {
        Err(JsonNlError::Malformed { error, line }) => {
            assert!(error.is_data(), "{error}");
            assert_eq!(line, &b"{\"code\":\"seven\",\"msg\":\"hi\"}"[..]);
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn invalid_utf8_in_a_line_is_malformed_with_serdes_position() {
    let t = assert_every_split(
        JsonNl::<Value>::protocol,
        b"[\"ok\"]\n[\"b\xffd\"]\n[\"\xc3\xa9\"]\n",
    );
    assert_eq!(t.messages.len(), 3);
    assert!(
        t.messages[1].contains("invalid unicode code point"),
        "{}",
        t.messages[1]
    );
    assert!(t.messages[1].contains("column"), "{}", t.messages[1]);
    assert_eq!(t.messages[2], format!("{:?}", Ok::<_, ()>(json!(["é"]))));
}

#[test]
fn blank_lines_are_skipped() {
    let t = assert_every_split(JsonNl::<Value>::protocol, b"\n \r\n1\n\0\n2\n");
    assert_eq!(
        t.messages,
        [
            format!("{:?}", Ok::<_, ()>(json!(1))),
            format!("{:?}", Ok::<_, ()>(json!(2)))
        ]
    );
}

#[test]
fn over_long_line_is_reported_skipped_and_the_stream_goes_on() {
    // Limit 8: `[1,2,3]\n` is 8 bytes (fine), `[1,2,3,4]\n` is 10.
    let t = assert_every_split(|| values(8), b"[1,2,3]\n[1,2,3,4]\n[5]\n");
    assert_eq!(
        t.messages,
        [
            format!("{:?}", Ok::<_, ()>(json!([1, 2, 3]))),
            "Err(LineTooLong { limit: 8 })".to_string(),
            format!("{:?}", Ok::<_, ()>(json!([5]))),
        ]
    );
    assert_eq!(t.error, None);
}

#[test]
fn over_long_line_is_reported_before_its_newline_and_not_buffered() {
    let mut p = values(1024);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[b' '; 1024]);
    assert!(matches!(
        p.decode(&mut buf).unwrap(),
        Some(Err(JsonNlError::LineTooLong { limit: 1024 }))
    ));
    for _ in 0..100 {
        buf.extend_from_slice(&[b'x'; 4096]);
        assert!(p.decode(&mut buf).unwrap().is_none());
        assert!(buf.is_empty(), "the skipped line was buffered");
    }
    buf.extend_from_slice(b"tail\n\"next\"\n");
    assert_eq!(p.decode(&mut buf).unwrap().unwrap().unwrap(), json!("next"));
}

#[test]
fn newline_search_resumes_where_it_stopped() {
    // `input` is told how much it already examined and must start looking there: with a
    // `\n` planted before `examined`, only a search that starts over would find it.
    use wm_protocol::packet::{Input, PacketFormat};
    let mut format = JsonNl::<Value>::new();
    assert_eq!(format.input(b"1\n23", 2).unwrap(), Input::NeedMore);
    assert_eq!(format.input(b"1\n23\n", 4).unwrap(), Input::Packet(5));
    assert_eq!(format.input(b"12", 0).unwrap(), Input::NeedMore);
}

#[test]
fn end_of_input_inside_a_line_is_fatal() {
    let t = assert_every_split(JsonNl::<Value>::protocol, b"1\n{\"half\":");
    assert_eq!(t.messages, [format!("{:?}", Ok::<_, ()>(json!(1)))]);
    assert_eq!(t.error.as_deref(), Some("UnexpectedEof { buffered: 8 }"));
}

#[test]
fn defaults_and_limits() {
    assert_eq!(DEFAULT_MAX_LINE_LENGTH, 10 * 1024 * 1024);
    assert_eq!(
        JsonNl::<Value>::protocol().max_package_size(),
        DEFAULT_MAX_LINE_LENGTH
    );
    let limits = Limits::new().max_package_size(77);
    assert_eq!(JsonNl::<Value>::with_limits(&limits).max_package_size(), 77);
}

#[test]
fn encoded_strings_with_newlines_stay_on_one_line() {
    let mut dst = BytesMut::new();
    JsonNl::<Value>::protocol()
        .encode("two\nlines\u{2028}", &mut dst)
        .unwrap();
    assert_eq!(dst.iter().filter(|&&b| b == b'\n').count(), 1);
    let t = assert_every_split(JsonNl::<String>::protocol, &dst);
    assert_eq!(
        t.messages,
        [format!("{:?}", Ok::<_, ()>("two\nlines\u{2028}"))]
    );
}

#[test]
fn unencodable_value_writes_nothing() {
    let mut map = BTreeMap::new();
    map.insert(vec![1u8], 1);
    let mut dst = BytesMut::from(&b"kept"[..]);
    match JsonNl::<Value>::protocol().encode(&map, &mut dst) {
        Err(Error::Unencodable(e)) => {
            assert!(e.to_string().contains("key must be a string"), "{e}")
        }
        other => panic!("expected Unencodable, got {other:?}"),
    }
    assert_eq!(&dst[..], b"kept");
}

#[test]
fn errors_say_what_was_wrong() {
    let e = JsonNlError::LineTooLong { limit: 8 };
    assert_eq!(
        e.to_string(),
        "JSON line longer than the limit of 8 bytes; skipped"
    );
    let mut buf = BytesMut::from(&b"{x}\n"[..]);
    let e = JsonNl::<Value>::protocol()
        .decode(&mut buf)
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed JSON line (key must be a string at line 1 column 2): \"{x}\""
    );
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn msg() -> impl Strategy<Value = Msg> {
        (any::<i32>(), ".{0,40}").prop_map(|(code, msg)| Msg { code, msg })
    }

    proptest! {
        #[test]
        fn typed_values_survive_any_chunking(
            msgs in proptest::collection::vec(msg(), 0..20),
            cuts in proptest::collection::vec(0usize..4000, 0..12),
        ) {
            let mut wire = BytesMut::new();
            let mut p = JsonNl::<Msg>::protocol();
            for m in &msgs {
                p.encode(m, &mut wire).unwrap();
            }
            let t = decode_split_at(&mut JsonNl::<Msg>::protocol(), &wire, &cuts);
            let want: Vec<String> = msgs.iter().map(|m| format!("{:?}", Ok::<_, ()>(m))).collect();
            prop_assert_eq!(t.messages, want);
            prop_assert_eq!(t.error, None);
        }

        #[test]
        fn arbitrary_bytes_decode_the_same_in_any_chunking(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'{'), Just(b'}'), Just(b'1'), Just(b'"'), any::<u8>()], 0..200),
            cuts in proptest::collection::vec(any::<u16>(), 0..12),
        ) {
            wm_protocol::testing::assert_split_equivalence(|| values(16), &data, &cuts);
        }
    }
}

#[test]
fn object_keys_keep_the_order_they_came_in() {
    // PHP arrays keep their order and compare in order; `{"b":1,"a":2}` must not come
    // back sorted. Nested objects too, split at every byte.
    let wire = b"{\"b\":1,\"a\":{\"z\":true,\"y\":null},\"c\":[{\"k2\":1,\"k1\":2}]}\n";
    let mut protocol = JsonNl::<Value>::protocol();
    let mut buf = BytesMut::from(&wire[..]);
    let value = protocol.decode(&mut buf).unwrap().unwrap().unwrap();
    let mut out = BytesMut::new();
    protocol.encode(&value, &mut out).unwrap();
    assert_eq!(&out[..], &wire[..]);
    let t = assert_every_split(JsonNl::<Value>::protocol, wire);
    assert_eq!(t.messages, [format!("{:?}", Ok::<_, ()>(value))]);
}
