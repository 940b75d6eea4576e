//! Conversions with the `http` crate (feature `http`):
//! `cargo test -p wm-http --features http --test interop`.
#![cfg(feature = "http")]

use bytes::{Bytes, BytesMut};
use wm_http::interop::{InteropError, Trailers};
use wm_http::{Encode, Http, Protocol, Request, Response};

fn request(wire: &[u8]) -> Request {
    let mut buf = BytesMut::from(wire);
    Http::default().decode(&mut buf).unwrap().unwrap()
}

fn encode(response: Response) -> String {
    let mut http = Http::default();
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    http.decode(&mut buf).unwrap().unwrap();
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn request_into_http_keeps_everything_in_order() {
    let wire = b"POST /p/a%20b?x=1&arr[]=2 HTTP/1.1\r\nHost: ex.com:8080\r\nX-Dup: 1\r\nAccept: */*\r\nx-dup: 2\r\nX-Bin: \xe9t\xe9\r\nContent-Length: 5\r\n\r\nhello";
    let ours = request(wire);
    let body_ptr = ours.body().as_ptr();
    let converted = http::Request::<Bytes>::try_from(ours).unwrap();
    assert_eq!(converted.method(), http::Method::POST);
    assert_eq!(converted.version(), http::Version::HTTP_11);
    assert_eq!(converted.uri().path(), "/p/a%20b");
    assert_eq!(converted.uri().query(), Some("x=1&arr[]=2"));
    assert_eq!(converted.uri().host(), None, "origin-form: no authority");
    let headers = converted.headers();
    assert_eq!(headers.len(), 6);
    assert_eq!(
        headers.get_all("x-dup").iter().collect::<Vec<_>>(),
        ["1", "2"],
        "repeated names keep their order"
    );
    assert_eq!(headers["host"], "ex.com:8080");
    assert_eq!(headers["x-bin"].as_bytes(), b"\xe9t\xe9");
    assert_eq!(&converted.body()[..], b"hello");
    assert_eq!(
        converted.body().as_ptr(),
        body_ptr,
        "the body is not copied"
    );
    assert!(converted.extensions().get::<Trailers>().is_none());
}

#[test]
fn request_methods_versions_and_trailers() {
    for (name, method) in [
        ("GET", http::Method::GET),
        ("HEAD", http::Method::HEAD),
        ("PUT", http::Method::PUT),
        ("DELETE", http::Method::DELETE),
        ("OPTIONS", http::Method::OPTIONS),
        ("PATCH", http::Method::PATCH),
    ] {
        let ours = request(format!("{name} / HTTP/1.0\r\n\r\n").as_bytes());
        let converted = http::Request::<Bytes>::try_from(ours).unwrap();
        assert_eq!(converted.method(), method);
        assert_eq!(converted.version(), http::Version::HTTP_10);
        assert!(converted.headers().is_empty());
    }
    let ours = request(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\nx-t: 2\r\n\r\n",
    );
    let converted = http::Request::<Bytes>::try_from(ours).unwrap();
    assert_eq!(&converted.body()[..], b"hello");
    let Trailers(trailers) = converted.extensions().get::<Trailers>().unwrap();
    assert_eq!(
        trailers.get_all("x-t").iter().collect::<Vec<_>>(),
        ["1", "2"]
    );
}

#[test]
fn utf8_target_converts() {
    let ours = request("GET /中文?q=é HTTP/1.1\r\nHost: h\r\n\r\n".as_bytes());
    let converted = http::Request::<Bytes>::try_from(ours).unwrap();
    assert_eq!(converted.uri().path(), "/中文");
}

/// A target `http::Uri` refuses is an error, not a panic.
#[test]
fn regression_refused_target_is_an_error() {
    let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(70_000));
    let config = wm_http::Config::default()
        .max_target_length(100_000)
        .max_head_size(200_000);
    let mut buf = BytesMut::from(long.as_bytes());
    let ours = Http::new(config).decode(&mut buf).unwrap().unwrap();
    assert!(matches!(
        http::Request::<Bytes>::try_from(ours),
        Err(InteropError::Uri(_))
    ));
}

#[test]
fn response_from_http_keeps_header_order() {
    let theirs = http::Response::builder()
        .status(http::StatusCode::CREATED)
        .header("X-A", "1")
        .header("set-cookie", "a=1")
        .header("Set-Cookie", "b=2")
        .header("Content-Type", "text/plain")
        .body("made")
        .unwrap();
    let ours = Response::try_from(theirs).unwrap();
    assert_eq!(ours.status(), 201);
    assert_eq!(ours.get_header("set-cookie"), Some("a=1"));
    assert_eq!(&ours.get_body()[..], b"made");
    assert_eq!(
        encode(ours),
        "HTTP/1.1 201 Created\r\nx-a: 1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nmade"
    );
}

#[test]
fn response_bodies_of_several_types() {
    let from_vec = Response::try_from(http::Response::new(vec![1u8, 2])).unwrap();
    assert_eq!(&from_vec.get_body()[..], [1, 2]);
    let from_string = Response::try_from(http::Response::new(String::from("s"))).unwrap();
    assert_eq!(&from_string.get_body()[..], b"s");
    let bytes = Bytes::from_static(b"static");
    let from_bytes = Response::try_from(http::Response::new(bytes.clone())).unwrap();
    assert_eq!(from_bytes.get_body().as_ptr(), bytes.as_ptr());
}

#[test]
fn response_with_non_utf8_header_is_an_error() {
    let mut theirs = http::Response::new(Bytes::new());
    theirs
        .headers_mut()
        .insert("x-bin", http::HeaderValue::from_bytes(b"\xff").unwrap());
    assert!(matches!(
        Response::try_from(theirs),
        Err(InteropError::NonUtf8HeaderValue { name }) if name == "x-bin"
    ));
    let mut utf8 = http::Response::new(Bytes::new());
    utf8.headers_mut().insert(
        "x-text",
        http::HeaderValue::from_bytes("é".as_bytes()).unwrap(),
    );
    let ours = Response::try_from(utf8).unwrap();
    assert_eq!(ours.get_header("x-text"), Some("é"));
}

#[test]
fn header_values_are_not_copied() {
    let ours = request(b"GET / HTTP/1.1\r\nHost: h\r\nX-Long: some value\r\n\r\n");
    let value_ptr = ours.headers().get("x-long").unwrap().as_ptr();
    let converted = http::Request::<Bytes>::try_from(ours).unwrap();
    assert_eq!(converted.headers()["x-long"].as_bytes().as_ptr(), value_ptr);
}

#[test]
fn framing_headers_of_an_http_response_are_not_carried() {
    // Regression: a copied `Transfer-Encoding: chunked` streamed the whole body as a
    // first chunk with no end.
    let answer = http::Response::builder()
        .header("Transfer-Encoding", "chunked")
        .header("Content-Length", "99")
        .body("whole")
        .unwrap();
    let out = encode(Response::try_from(answer).unwrap());
    assert!(out.contains("\r\nContent-Length: 5\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nwhole"), "{out}");
    assert!(!out.contains("Transfer-Encoding") && !out.contains("99"));
}
