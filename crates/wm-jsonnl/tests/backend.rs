//! The parse backend: whichever one is built (serde_json, or simd-json with the
//! `simd-json` feature), every line decodes to exactly what serde_json alone makes of it,
//! value or error. Run under both: `cargo test -p wm-jsonnl` and
//! `cargo test -p wm-jsonnl --features simd-json`.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wm_jsonnl::{JsonNl, JsonNlError, Value};
use wm_protocol::Protocol;

#[derive(Debug, PartialEq, Deserialize)]
struct Typed {
    id: u64,
    name: String,
    tags: Vec<String>,
    score: Option<f64>,
}

/// What the protocol makes of one line (no `\n` inside), as a comparable string.
fn decoded<T: DeserializeOwned + std::fmt::Debug>(line: &[u8]) -> String {
    let mut protocol = JsonNl::<T>::protocol();
    let mut wire = BytesMut::from(line);
    wire.extend_from_slice(b"\n");
    match protocol.decode(&mut wire).unwrap() {
        None => "blank".into(),
        Some(Ok(value)) => format!("ok {value:?}"),
        Some(Err(JsonNlError::Malformed { error, line })) => {
            format!("malformed {error} on {line:?}")
        }
        Some(Err(other)) => format!("other {other}"),
    }
}

/// What serde_json alone makes of the same line, after the same PHP trim.
fn reference<T: DeserializeOwned + std::fmt::Debug>(line: &[u8]) -> String {
    let trim = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\0' | b'\x0b');
    let Some(start) = line.iter().position(|b| !trim(b)) else {
        return "blank".into();
    };
    let end = line.iter().rposition(|b| !trim(b)).unwrap() + 1;
    let json = &line[start..end];
    match serde_json::from_slice::<T>(json) {
        Ok(value) => format!("ok {value:?}"),
        Err(error) => format!("malformed {error} on {:?}", Bytes::copy_from_slice(json)),
    }
}

fn same_as_serde_json(line: &[u8]) {
    assert_eq!(decoded::<Value>(line), reference::<Value>(line), "{line:?}");
    assert_eq!(decoded::<Typed>(line), reference::<Typed>(line), "{line:?}");
}

/// Lines chosen where JSON parsers are known to part ways: numbers at the edges of their
/// types, escapes and surrogates, nesting, duplicate keys, trailing bytes, bad UTF-8.
#[test]
fn tricky_lines_decode_as_serde_json_decodes_them() {
    let lines: &[&[u8]] = &[
        br#"{"id":1,"name":"a","tags":[],"score":null}"#,
        br#"{"id":18446744073709551615,"name":"max","tags":["x"],"score":1e308}"#,
        br#"{"id":18446744073709551616,"name":"over","tags":[],"score":null}"#,
        br#"{"id":-1,"name":"neg","tags":[],"score":null}"#,
        br#"{"id":1.0,"name":"float id","tags":[],"score":null}"#,
        br#"{"id":1,"name":"e","tags":[],"score":1e400}"#,
        br#"{"id":1,"name":"e","tags":[],"score":0.1}"#,
        br#"{"id":1,"name":"e","tags":[],"score":2.2250738585072011e-308}"#,
        br#"{"id":1,"name":"e","tags":[],"score":-0.0}"#,
        br#"{"id":1,"name":"e","tags":[],"score":01}"#,
        br#"{"id":1,"name":"e","tags":[],"score":1.}"#,
        br#"{"id":1,"name":"\u00e9\ud83d\ude00\n\"\\\/","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\ud800","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\udc00x","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\\ud800 is text","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\\uD83D\uDE00","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\ud83d\u0041","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\ud83d\\ude00","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\uD83D\uDE00\uDBFF\uDFFF","tags":[],"score":null}"#,
        br#"{"id":1,"name":"end\ud83d"#,
        br#"{"id":1,"name":"\"#,
        br#"{"id":1,"name":"\u12","tags":[],"score":null}"#,
        br#"{"id":1,"name":"\x","tags":[],"score":null}"#,
        b"{\"id\":1,\"name\":\"tab\there\",\"tags\":[],\"score\":null}",
        b"{\"id\":1,\"name\":\"\xff\",\"tags\":[],\"score\":null}",
        b"{\"id\":1,\"name\":\"\xc3\",\"tags\":[],\"score\":null}",
        br#"{"id":1,"id":2,"name":"dup","tags":[],"score":null}"#,
        br#"{"id":1,"name":"x","tags":[],"score":null,"extra":[1,{"a":[]}]}"#,
        br#"{"id":1,"name":"x","tags":[],"score":null} trailing"#,
        br#"{"id":1,"name":"x","tags":[],"score":null}{}"#,
        br#"{"id":1,"name":"x","tags":[1],"score":null}"#,
        br#"{"id":1,"name":"x","tags":[],}"#,
        br#"{"id":1 "name":"x"}"#,
        br#"[1,2,3]"#,
        br#""just a string""#,
        br#"12345678901234567890123456789"#,
        br#"-"#,
        br#"tru"#,
        br#"true"#,
        br#"null"#,
        br#"nan"#,
        br#"{"#,
        br#"}"#,
        br#"{"a":{"b":{"c":{"d":{"e":[[[[[[[[[[[]]]]]]]]]]]}}}}}"#,
        b"   {\"id\":1,\"name\":\"pad\",\"tags\":[],\"score\":null}\r\0\x0b",
        b"",
        b" \t ",
    ];
    for line in lines {
        same_as_serde_json(line);
    }
    // Nesting past serde_json's recursion limit (128).
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    same_as_serde_json(deep.as_bytes());
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    same_as_serde_json(deep.as_bytes());
    let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
    same_as_serde_json(deep.as_bytes());
    let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
    same_as_serde_json(deep.as_bytes());
    // A million levels: refused, not a stack overflow.
    let deep = format!("{}{}", "[{\"a\":".repeat(500_000), "1}]".repeat(500_000));
    same_as_serde_json(deep.as_bytes());
}

/// Object keys keep their order through either backend.
#[test]
fn key_order_survives_the_backend() {
    let decoded = decoded::<Value>(br#"{"z":1,"a":2,"m":{"y":1,"b":2}}"#);
    assert_eq!(
        decoded,
        r#"ok Object {"z": Number(1), "a": Number(2), "m": Object {"y": Number(1), "b": Number(2)}}"#
    );
}

/// A line larger than what the backend keeps between lines, then small ones again.
#[test]
fn a_large_line_then_small_ones() {
    let big = format!(
        r#"{{"id":7,"name":"{}","tags":[],"score":null}}"#,
        "x".repeat(200_000)
    );
    same_as_serde_json(big.as_bytes());
    same_as_serde_json(br#"{"id":8,"name":"small","tags":["a"],"score":2.5}"#);
}

fn json_ish() -> impl Strategy<Value = Vec<u8>> {
    // Bytes drawn mostly from JSON's own alphabet, so that many lines are nearly valid.
    let alphabet: Vec<u8> = br#"{}[]:,"\ u0123456789abcdefnrtule.+-E"#.to_vec();
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(alphabet),
            1 => any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
        ],
        0..80,
    )
}

proptest! {
    #[test]
    fn any_line_decodes_as_serde_json_decodes_it(line in json_ish()) {
        same_as_serde_json(&line);
    }

    #[test]
    fn any_value_decodes_as_serde_json_decodes_it(
        id in any::<u64>(),
        name in any::<String>(),
        tags in prop::collection::vec(any::<String>(), 0..4),
        score in any::<Option<f64>>(),
    ) {
        let line = serde_json::json!({"id": id, "name": name, "tags": tags, "score": score});
        same_as_serde_json(line.to_string().as_bytes());
    }
}

/// The tests above go through the parser the build picks by default: simd-json with the
/// feature, serde_json without.
#[test]
fn the_feature_picks_the_default_parser() {
    #[cfg(feature = "simd-json")]
    assert_eq!(JsonNl::<Value>::new().parser(), wm_jsonnl::Parser::SimdJson);
    #[cfg(not(feature = "simd-json"))]
    assert_eq!(
        JsonNl::<Value>::new().parser(),
        wm_jsonnl::Parser::SerdeJson
    );
}
