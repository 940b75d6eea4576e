//! The request helpers: percent-decoding, query strings and urlencoded forms, cookies
//! both ways, the host, joined headers; the spec's §10.7 parsing vector.

use std::borrow::Cow;

use bytes::BytesMut;
use proptest::prelude::*;
use wm_http::cookie::parse_cookie_header;
use wm_http::form::{
    form_decode, form_decode_lossy, percent_decode, percent_decode_lossy, percent_encode, Form,
};
use wm_http::{
    CookieError, Encode, FormError, Http, Protocol, Request, Response, SameSite, SetCookie,
};
use wm_protocol::testing::assert_every_split;

/// The one request in `wire`, which must decode the same however it is split.
fn parse(wire: &[u8]) -> Request {
    assert_every_split(Http::default, wire);
    let mut buf = BytesMut::from(wire);
    let request = Http::default().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    request
}

fn owned<'a>(pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Vec<(String, String)> {
    pairs
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// A POST with `content_type` (if any) and `body`.
fn post(content_type: Option<&str>, body: &str) -> Request {
    let mut wire = String::from("POST /f HTTP/1.1\r\nHost: h\r\n");
    if let Some(content_type) = content_type {
        wire += &format!("Content-Type: {content_type}\r\n");
    }
    wire += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    parse(wire.as_bytes())
}

#[test]
fn spec_parsing_vector() {
    let wire = b"POST /p/a%20b?x=1&arr[]=2&arr[]=3 HTTP/1.1\r\nHost: ex.com:8080\r\nCookie: a=1; b=x%20y; c=d=e; PHPSID=abc\r\nX-Dup: 1\r\nx-dup: 2\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"k\":[1,2,3]}";
    let request = parse(wire);
    assert_eq!(request.path(), "/p/a%20b", "the path stays undecoded");
    assert_eq!(request.query(), Some("x=1&arr[]=2&arr[]=3"));
    assert_eq!(
        owned(request.query_pairs()),
        pairs(&[("x", "1"), ("arr[]", "2"), ("arr[]", "3")])
    );
    assert_eq!(request.query_param("x").as_deref(), Some("1"));
    assert_eq!(
        request.query_params_all("arr[]").collect::<Vec<_>>(),
        ["2", "3"]
    );
    assert_eq!(request.query_param("arr"), None, "no PHP array magic");
    assert_eq!(
        request.headers().get_joined("x-dup").as_deref(),
        Some(&b"1,2"[..])
    );
    // Workerman gives b = "x%20y"; decoding is our deliberate difference (§11.6).
    assert_eq!(
        owned(request.cookies()),
        pairs(&[("a", "1"), ("b", "x y"), ("c", "d=e"), ("PHPSID", "abc")])
    );
    assert_eq!(request.host(), Some("ex.com:8080"));
    assert_eq!(request.host_without_port(), Some("ex.com"));
    // A JSON body is not a form (Workerman would json_decode it in post()).
    assert_eq!(
        request.form().unwrap_err(),
        FormError::NotUrlEncoded {
            content_type: "application/json".into()
        }
    );
    assert_eq!(&request.body()[..], b"{\"k\":[1,2,3]}");
}

#[test]
fn percent_decoding_keeps_invalid_escapes_and_plus_in_paths() {
    assert_eq!(&percent_decode(b"/a%20b")[..], b"/a b");
    assert_eq!(&percent_decode(b"/a+b")[..], b"/a+b");
    assert_eq!(&percent_decode(b"%zz%4%")[..], b"%zz%4%");
    assert_eq!(&percent_decode(b"%e4%B8%ad")[..], "中".as_bytes());
    assert_eq!(&percent_decode(b"%00")[..], b"\0");
    assert_eq!(&form_decode(b"a+b%2B")[..], b"a b+");
    assert!(matches!(percent_decode(b"/plain"), Cow::Borrowed(_)));
    assert!(matches!(form_decode(b"100%"), Cow::Borrowed(_)));
}

#[test]
fn non_utf8_values_are_bytes_or_lossy_text() {
    assert_eq!(&form_decode(b"%FF%41")[..], [0xFF, b'A']);
    assert_eq!(form_decode_lossy(b"%FF%41"), "\u{FFFD}A");
    assert_eq!(percent_decode_lossy(b"caf%C3%A9+"), "café+");
    let form = Form::new(b"n=%FF");
    assert_eq!(form.get("n").as_deref(), Some("\u{FFFD}"));
    let (name, value) = form.byte_pairs().next().unwrap();
    assert_eq!((&name[..], &value[..]), (&b"n"[..], &[0xFF][..]));
}

#[test]
fn form_pieces_follow_the_urlencoded_parser() {
    let form = Form::new(b"&&a&=v&b=&c=1=2&%61%5B%5D=x+y&&");
    assert_eq!(
        owned(form.pairs()),
        pairs(&[
            ("a", ""),
            ("", "v"),
            ("b", ""),
            ("c", "1=2"),
            ("a[]", "x y")
        ])
    );
    assert_eq!(form.get("a[]").as_deref(), Some("x y"), "names are decoded");
    assert_eq!(Form::new(b"").pairs().count(), 0);
    assert_eq!(Form::new(b"&&&").pairs().count(), 0);
    // No PHP name mangling: dots and spaces stay.
    assert_eq!(
        owned(Form::new(b"a.b=1&c+d=2").pairs()),
        pairs(&[("a.b", "1"), ("c d", "2")])
    );
    // `;` is not a separator.
    assert_eq!(
        owned(Form::new(b"a=1;b=2").pairs()),
        pairs(&[("a", "1;b=2")])
    );
}

#[test]
fn query_without_question_mark_is_empty() {
    let request = parse(b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(request.query_pairs().count(), 0);
    assert_eq!(request.query_param("x"), None);
    let request = request_with_query("?");
    assert_eq!(request.query_pairs().count(), 0);
    let request = request_with_query("?q=a%2Bb+c&q=2");
    assert_eq!(request.query_param("q").as_deref(), Some("a+b c"));
    assert_eq!(request.query_params_all("q").count(), 2);
}

fn request_with_query(query: &str) -> Request {
    parse(format!("GET /p{query} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes())
}

#[test]
fn form_only_for_urlencoded_content_type() {
    for content_type in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-URLEncoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded ;charset=utf-8",
    ] {
        let request = post(Some(content_type), "a=1&b=x+y");
        assert_eq!(
            owned(request.form_pairs().unwrap()),
            pairs(&[("a", "1"), ("b", "x y")]),
            "{content_type}"
        );
        assert_eq!(request.form().unwrap().get("b").as_deref(), Some("x y"));
    }
    let empty = post(Some("application/x-www-form-urlencoded"), "");
    assert_eq!(empty.form_pairs().unwrap().count(), 0);
}

/// §11.6: Workerman parses a `text/plain` body `a=1&b=2` as a form; we refuse it.
#[test]
fn regression_text_plain_body_is_not_a_form() {
    let request = post(Some("text/plain"), "a=1&b=2");
    assert_eq!(
        request.form().unwrap_err(),
        FormError::NotUrlEncoded {
            content_type: "text/plain".into()
        }
    );
    assert!(request.form_pairs().is_err());
    for content_type in [
        "application/x-www-form-urlencodedx",
        "multipart/form-data; boundary=x",
        "application/x-www-form",
    ] {
        assert!(
            matches!(
                post(Some(content_type), "a=1").form(),
                Err(FormError::NotUrlEncoded { .. })
            ),
            "{content_type}"
        );
    }
    assert_eq!(
        post(None, "a=1").form().unwrap_err(),
        FormError::MissingContentType
    );
    let two = parse(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\na=1");
    assert_eq!(two.form().unwrap_err(), FormError::DuplicateContentType);
}

#[test]
fn cookies_from_every_header_in_order() {
    let request = parse(
        b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1;b=2\r\nX: y\r\ncookie: a=3; ;=x; noeq; q=\"x%20y\"; sp = v \r\n\r\n",
    );
    assert_eq!(
        owned(request.cookies()),
        pairs(&[
            ("a", "1"),
            ("b", "2"),
            ("a", "3"),
            ("q", "x y"),
            ("sp", "v")
        ])
    );
    assert_eq!(request.cookie("a").as_deref(), Some("1"), "the first wins");
    assert_eq!(request.cookie("q").as_deref(), Some("x y"));
    assert_eq!(request.cookie("A"), None, "names are case-sensitive");
    assert_eq!(request.cookie("noeq"), None);
    let none = parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(none.cookies().count(), 0);
    assert_eq!(none.cookie("a"), None);
}

#[test]
fn cookie_plus_stays_plus() {
    // rawurlencode writes a space as %20, so `+` in a cookie is a `+`.
    let decoded: Vec<_> = parse_cookie_header(b"a=x+y%2B").collect();
    assert_eq!(decoded, [("a".into(), "x+y+".into())]);
}

#[test]
fn set_cookie_spec_vector() {
    let cookie = SetCookie::new("a", "x y")
        .unwrap()
        .max_age(60)
        .path("/")
        .unwrap()
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax);
    assert_eq!(
        cookie.to_string(),
        "a=x%20y; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax"
    );
}

#[test]
fn set_cookie_attribute_order_is_workermans() {
    let cookie = SetCookie::new("n", "v")
        .unwrap()
        .same_site(SameSite::Strict)
        .http_only(true)
        .secure(true)
        .path("/p")
        .unwrap()
        .expires(std::time::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777))
        .max_age(-1)
        .domain("ex.com")
        .unwrap();
    assert_eq!(
        cookie.to_string(),
        "n=v; Domain=ex.com; Max-Age=-1; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Path=/p; Secure; HttpOnly; SameSite=Strict"
    );
    assert_eq!(
        SetCookie::new("n", "v")
            .unwrap()
            .same_site(SameSite::None)
            .to_string(),
        "n=v; SameSite=None"
    );
    // Empty Domain and Path send nothing, as in Workerman.
    let bare = SetCookie::new("n", "")
        .unwrap()
        .domain("")
        .unwrap()
        .path("")
        .unwrap();
    assert_eq!(bare.to_string(), "n=");
    assert_eq!((bare.name(), bare.encoded_value()), ("n", ""));
}

#[test]
fn set_cookie_refuses_bad_names_and_attributes() {
    for name in ["", "a b", "a;b", "a=b", "a\r\nb", "é", "a,b", "(a)"] {
        assert_eq!(
            SetCookie::new(name, "v"),
            Err(CookieError::InvalidName(name.into())),
            "{name:?}"
        );
    }
    for value in ["/;x", "/\r\nSet-Cookie: x=1", "/\n", "/\0", "/é", "/\x7f"] {
        assert_eq!(
            SetCookie::new("a", "v").unwrap().path(value),
            Err(CookieError::InvalidAttribute {
                attribute: "Path",
                value: value.into()
            }),
            "{value:?}"
        );
        assert!(matches!(
            SetCookie::new("a", "v").unwrap().domain(value),
            Err(CookieError::InvalidAttribute {
                attribute: "Domain",
                ..
            })
        ));
    }
    // Any value is fine: it is encoded.
    assert_eq!(
        SetCookie::new("a", "\r\n;=\"é").unwrap().to_string(),
        "a=%0D%0A%3B%3D%22%C3%A9"
    );
}

#[test]
fn response_cookie_appends_set_cookie_lines() {
    let mut http = Http::default();
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    http.decode(&mut buf).unwrap().unwrap();
    let response = Response::new(200)
        .cookie(SetCookie::new("a", "1").unwrap())
        .header("Set-Cookie-Not", "x")
        .cookie(SetCookie::new("b", "x y").unwrap().http_only(true))
        .body("hi");
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    let out = String::from_utf8(out.to_vec()).unwrap();
    assert!(
        out.starts_with(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie-Not: x\r\nSet-Cookie: b=x%20y; HttpOnly\r\n"
        ),
        "{out}"
    );
}

#[test]
fn host_without_port() {
    for (host, bare) in [
        ("ex.com:8080", "ex.com"),
        ("ex.com", "ex.com"),
        ("[::1]:80", "[::1]"),
        ("[::1]", "[::1]"),
        ("[2001:db8::1]:443", "[2001:db8::1]"),
        ("127.0.0.1:1", "127.0.0.1"),
    ] {
        let request = parse(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
        assert_eq!(request.host(), Some(host));
        assert_eq!(request.host_without_port(), Some(bare), "{host}");
    }
    let old = parse(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!((old.host(), old.host_without_port()), (None, None));
}

#[test]
fn joined_headers() {
    let request = parse(b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: x\r\na: 2\r\nA: 3, 4\r\n\r\n");
    assert_eq!(
        request.headers().get_joined("a").as_deref(),
        Some(&b"1,2,3, 4"[..])
    );
    assert!(matches!(
        request.headers().get_joined("b"),
        Some(Cow::Borrowed(b"x"))
    ));
    assert_eq!(request.headers().get_joined("c"), None);
    assert_eq!(
        request.headers().get_joined_str("A").as_deref(),
        Some("1,2,3, 4")
    );
    let binary = parse(b"GET / HTTP/1.1\r\nHost: h\r\nA: \xff\r\n\r\n");
    assert_eq!(binary.headers().get_joined_str("a"), None);
    assert_eq!(
        binary.headers().get_joined("a").as_deref(),
        Some(&b"\xff"[..])
    );
}

/// Decoding a long run of `%` (none of them valid escapes) or `+` is linear, and
/// borrows when nothing changes.
#[test]
fn regression_decoding_is_linear() {
    let percents = vec![b'%'; 1 << 20];
    assert!(matches!(percent_decode(&percents), Cow::Borrowed(_)));
    let pluses = vec![b'+'; 1 << 20];
    assert_eq!(form_decode(&pluses).len(), 1 << 20);
    let ampersands = vec![b'&'; 1 << 20];
    assert_eq!(Form::new(&ampersands).pairs().count(), 0);
}

proptest! {
    #[test]
    fn percent_encode_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let encoded = percent_encode(&bytes);
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        prop_assert_eq!(&percent_decode(encoded.as_bytes())[..], &bytes[..]);
        prop_assert_eq!(&form_decode(encoded.as_bytes())[..], &bytes[..]);
    }

    #[test]
    fn decoding_never_grows(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert!(percent_decode(&bytes).len() <= bytes.len());
        prop_assert!(form_decode(&bytes).len() <= bytes.len());
    }

    #[test]
    fn form_pairs_round_trip(list in proptest::collection::vec((".*", ".*"), 0..6)) {
        let raw = list
            .iter()
            .map(|(name, value)| format!("{}={}", percent_encode(name.as_bytes()), percent_encode(value.as_bytes())))
            .collect::<Vec<_>>()
            .join("&");
        let parsed = owned(Form::new(raw.as_bytes()).pairs());
        prop_assert_eq!(parsed, list);
    }

    /// Every `SetCookie` value, sent back in a `Cookie` header, reads as the original
    /// (§11.6: symmetric encode and decode).
    #[test]
    fn set_cookie_value_round_trips_through_cookies(
        values in proptest::collection::vec(".*", 1..5),
        name in "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}",
    ) {
        let cookies: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(at, value)| SetCookie::new(format!("{name}{at}"), value).unwrap().to_string())
            .collect();
        let wire = format!("GET / HTTP/1.1\r\nHost: h\r\nCookie: {}\r\n\r\n", cookies.join("; "));
        let mut buf = BytesMut::from(wire.as_bytes());
        let request = Http::default().decode(&mut buf).unwrap().unwrap();
        let read = owned(request.cookies());
        let expected: Vec<(String, String)> = values
            .iter()
            .enumerate()
            .map(|(at, value)| (format!("{name}{at}"), value.clone()))
            .collect();
        prop_assert_eq!(read, expected);
        for (at, value) in values.iter().enumerate() {
            let cookie_name = format!("{name}{at}");
            let read = request.cookie(&cookie_name);
            prop_assert_eq!(read.as_deref(), Some(value.as_str()));
        }
    }

    #[test]
    fn cookie_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        for (name, _) in parse_cookie_header(&bytes) {
            prop_assert!(!name.is_empty());
        }
    }
}
