//! Responses against the spec's byte vectors (§10.7) and the request they answer.

use bytes::BytesMut;
use wm_http::{put_chunk, Encode, Http, Protocol, Response};

fn answer(request: &[u8], response: Response) -> (String, bool) {
    let mut http = Http::default();
    let mut buf = BytesMut::from(request);
    http.decode(&mut buf).unwrap().unwrap();
    let mut out = BytesMut::new();
    http.encode(response, &mut out).unwrap();
    (String::from_utf8(out.to_vec()).unwrap(), http.closing())
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";

#[test]
fn workerman_byte_vectors() {
    let mut http = Http::default();
    let mut buf = BytesMut::from(GET);
    http.decode(&mut buf).unwrap();
    let mut out = BytesMut::new();
    http.encode("ok", &mut out).unwrap();
    assert_eq!(
        &out[..],
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 2\r\n\r\nok"
    );
    // A `Response` with no headers at all has its own order in Workerman.
    let (out, _) = answer(GET, Response::new(404).body("nf"));
    assert_eq!(
        out,
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nnf"
    );
    let (out, _) = answer(GET, Response::new(200).header("X-A", "1").body("ok"));
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 2\r\n\r\nok"
    );
    let (out, _) = answer(
        GET,
        Response::new(200)
            .header("Transfer-Encoding", "chunked")
            .body("hello"),
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n\r\n5\r\nhello\r\n"
    );
    let (out, _) = answer(
        GET,
        Response::new(200)
            .append_header("Set-Cookie", "a=1")
            .append_header("Set-Cookie", "b=2")
            .header("Content-Type", "text/plain")
            .body("hi"),
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
    );
    let mut chunk = BytesMut::new();
    put_chunk(&mut chunk, b"hello");
    put_chunk(&mut chunk, b"");
    assert_eq!(&chunk[..], b"5\r\nhello\r\n0\r\n\r\n");
}

#[test]
fn a_response_has_one_content_type_however_it_is_set() {
    // Only a Content-Type set: not a bare response, so Workerman's usual order.
    let (out, _) = answer(
        GET,
        Response::new(200)
            .static_header("Content-Type", "application/json")
            .body("{}"),
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    );
    let response = Response::new(200)
        .append_header("content-type", "text/a")
        .append_header("Content-Type", "text/b");
    assert_eq!(response.get_header("CONTENT-TYPE"), Some("text/a"));
    let response = response.header("CONTENT-type", "text/c");
    assert_eq!(response.get_header("content-type"), Some("text/c"));
    let (out, _) = answer(GET, response.body("x"));
    assert_eq!(out.matches("Content-Type").count(), 1, "{out}");
    assert!(out.contains("\r\nContent-Type: text/c\r\n"), "{out}");
    // A value that would split the head is never sent, and no default replaces it.
    let (out, _) = answer(GET, Response::new(200).header("Content-Type", "a\r\nX: y"));
    assert!(
        !out.contains("Content-Type") && !out.contains("X: y"),
        "{out}"
    );
}

#[test]
fn header_names_are_unique_unless_appended() {
    let response = Response::new(200).header("X-A", "1").header("x-a", "2");
    let (out, _) = answer(GET, response);
    assert!(
        out.contains("\r\nx-a: 2\r\n") && !out.contains("X-A: 1"),
        "{out}"
    );
    let (out, _) = answer(
        GET,
        Response::new(200)
            .header("Content-Length", "999")
            .body("ok"),
    );
    assert!(
        out.ends_with("Content-Length: 2\r\n\r\nok"),
        "the encoder frames the body: {out}"
    );
}

#[test]
fn bad_header_lines_are_dropped_not_sent() {
    let response = Response::new(200)
        .header("X-Bad", "a\r\nInjected: 1")
        .header("Bad Name", "x");
    let (out, _) = answer(GET, response);
    assert!(
        !out.contains("Injected") && !out.contains("Bad Name"),
        "{out}"
    );
}

#[test]
fn head_204_and_304_carry_no_body() {
    let (out, _) = answer(
        b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
        Response::new(200).body("hello"),
    );
    assert!(
        out.ends_with("Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"),
        "{out}"
    );
    for status in [204, 304] {
        let (out, _) = answer(GET, Response::new(status).body("ignored"));
        assert!(out.ends_with("Connection: keep-alive\r\n\r\n"), "{out}");
        assert!(!out.contains("Content-Length"), "{out}");
    }
}

#[test]
fn connection_close_follows_the_request_or_the_response() {
    let (out, closing) = answer(b"GET / HTTP/1.0\r\n\r\n", Response::new(200).body("x"));
    assert!(
        out.contains("\r\nConnection: close\r\n") && closing,
        "{out}"
    );
    let (out, closing) = answer(
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        Response::new(200),
    );
    assert!(
        out.contains("\r\nConnection: close\r\n") && closing,
        "{out}"
    );
    let (_, closing) = answer(GET, Response::new(200).header("Connection", "close"));
    assert!(closing);
    let (_, closing) = answer(GET, Response::new(200));
    assert!(!closing);
}

#[test]
fn pipelined_requests_are_answered_in_order_with_their_own_rules() {
    let mut http = Http::default();
    let mut buf = BytesMut::from(
        &b"HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"[..],
    );
    let first = http.decode(&mut buf).unwrap().unwrap();
    let second = http.decode(&mut buf).unwrap().unwrap();
    assert_eq!((first.target(), second.target()), ("/a", "/b"));
    let mut out = BytesMut::new();
    http.encode(Response::new(200).body("AAA"), &mut out)
        .unwrap();
    http.encode(Response::new(200).body("BBB"), &mut out)
        .unwrap();
    let out = String::from_utf8(out.to_vec()).unwrap();
    assert!(!out.contains("AAA"), "HEAD: no body: {out}");
    assert!(
        out.ends_with("Content-Length: 3\r\nConnection: keep-alive\r\n\r\nBBB"),
        "{out}"
    );
}
