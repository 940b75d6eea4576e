//! The request side against the spec's vectors (§10.7), each rule with its status, each
//! limit with its exact error, every input split at every byte.

use bytes::BytesMut;
use proptest::prelude::*;
use wm_http::{Config, Http, HttpError, Method, Protocol, Request, Version};
use wm_protocol::testing::assert_every_split;

/// Decodes `wire` in one read (after checking every split gives the same): the requests,
/// the error, and what the protocol queued to send.
fn serve_with(config: Config, wire: &[u8]) -> (Vec<Request>, Option<HttpError>, String) {
    assert_every_split(|| Http::new(config), wire);
    let mut http = Http::new(config);
    let mut buf = BytesMut::from(wire);
    let mut requests = Vec::new();
    let error = loop {
        match http.decode(&mut buf) {
            Ok(Some(request)) => requests.push(request),
            Ok(None) => break None,
            Err(error) => break Some(error),
        }
    };
    let mut output = BytesMut::new();
    http.take_output(&mut output);
    (requests, error, String::from_utf8(output.to_vec()).unwrap())
}

fn serve(wire: &[u8]) -> (Vec<Request>, Option<HttpError>, String) {
    serve_with(Config::default(), wire)
}

fn one(wire: &[u8]) -> Request {
    let (mut requests, error, _) = serve(wire);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(requests.len(), 1);
    requests.pop().unwrap()
}

fn status_of(wire: &[u8]) -> u16 {
    status_with(Config::default(), wire)
}

fn status_with(config: Config, wire: &[u8]) -> u16 {
    let (_, error, output) = serve_with(config, wire);
    let error = error.unwrap_or_else(|| panic!("no error for {:?}", String::from_utf8_lossy(wire)));
    let status = error.status().unwrap();
    assert!(
        output.starts_with(&format!("HTTP/1.1 {status} ")),
        "{output}"
    );
    assert!(
        output.ends_with("\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
        "{output}"
    );
    status
}

#[test]
fn spec_vectors_decode() {
    let get = one(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        (get.method(), get.target(), get.version()),
        (Method::Get, "/", Version::Http11)
    );
    assert!(get.body().is_empty());

    let patch = one(b"PATCH /a HTTP/1.0\r\n\r\n");
    assert_eq!(
        (patch.method(), patch.version()),
        (Method::Patch, Version::Http10)
    );

    let utf8 = one("GET /中文 HTTP/1.1\r\nHost: h\r\n\r\n".as_bytes());
    assert_eq!(utf8.path(), "/中文");

    let (requests, error, _) =
        serve(b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(error.is_none());
    assert_eq!(
        requests.iter().map(Request::target).collect::<Vec<_>>(),
        ["/", "/2"]
    );

    let chunked = one(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(&chunked.body()[..], b"hello");
    assert!(chunked.trailers().is_empty());

    let trailer = one(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n");
    assert_eq!(&trailer.body()[..], b"hello world");
    assert_eq!(trailer.trailers().get_str("x-t"), Some("1"));
}

#[test]
fn request_parts() {
    let request = one(b"POST /p/a%20b?x=1&arr[]=2&arr[]=3 HTTP/1.1\r\nHost: ex.com:8080\r\nCookie: a=1\r\nX-Dup: 1\r\nx-dup: 2\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"k\":[1,2,3]}");
    assert_eq!(request.path(), "/p/a%20b");
    assert_eq!(request.query(), Some("x=1&arr[]=2&arr[]=3"));
    assert_eq!(request.header("HOST"), Some("ex.com:8080"));
    assert_eq!(
        request.headers().get_all("x-dup").collect::<Vec<_>>(),
        [b"1", b"2"]
    );
    assert_eq!(&request.body()[..], b"{\"k\":[1,2,3]}");
}

#[test]
fn malformed_requests_get_their_status() {
    for (wire, status) in [
        (&b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n"[..], 400),
        (b"GET ftp://a/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET http://u@a/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET http:/a/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET /a b HTTP/1.2\r\nHost: h\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12abc\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: h\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\r\n", 400),
        // Workerman: 400 for all of these; RFC 9110 §9.1: 501 for a method not implemented
        // (CONNECT's authority-form target is refused first, with Workerman's 400).
        (b"get / HTTP/1.1\r\nHost: h\r\n\r\n", 501),
        (b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", 501),
        // HTTP/2 and up do not use this framing.
        (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        (b"GET / HTTP/3.1\r\nHost: h\r\n\r\n", 505),
        (b"GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n", 417),
    ] {
        assert_eq!(status_of(wire), status, "{:?}", String::from_utf8_lossy(wire));
    }
}

#[test]
fn an_absolute_form_target_gives_path_and_query_and_its_authority_replaces_host() {
    // RFC 9112 §3.2.2: a server MUST accept absolute-form (Workerman answers 400).
    let wire = b"GET http://example.test:8080/p/a?q=1 HTTP/1.1\r\nHost: other\r\nX: y\r\n\r\n";
    let t = assert_every_split(Http::default, wire);
    assert_eq!(t.error, None);
    let request = one(wire);
    assert_eq!(request.target(), "/p/a?q=1");
    assert_eq!((request.path(), request.query()), ("/p/a", Some("q=1")));
    assert_eq!(request.header("host"), Some("example.test:8080"));
    assert_eq!(request.header("x"), Some("y"));
    // No path: `/`; the scheme's case does not matter; https too.
    let request = one(b"GET HTTP://h HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        (request.target(), request.path(), request.query()),
        ("/", "/", None)
    );
    assert_eq!(&request.target_shared()[..], b"/");
    let request = one(b"POST https://[::1]:9?x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!((request.path(), request.query()), ("/", Some("x")));
    assert_eq!(request.header("host"), Some("[::1]:9"));
    assert_eq!(&request.body()[..], b"ok");
    // HTTP/1.1 still needs a Host line (RFC 9112 §3.2).
    assert_eq!(status_of(b"GET http://h/ HTTP/1.1\r\n\r\n"), 400);
}

#[test]
fn options_asterisk_is_served() {
    let wire = b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
    let t = assert_every_split(Http::default, wire);
    assert_eq!(t.error, None);
    let request = one(wire);
    assert_eq!(
        (request.method(), request.target(), request.path()),
        (Method::Options, "*", "*")
    );
}

#[test]
fn later_minor_versions_are_processed_as_http_1_1() {
    // RFC 9110 §2.5; Workerman accepts 1.2-1.9 too.
    for minor in 2..=9 {
        let wire = format!("GET /v?x=1 HTTP/1.{minor}\r\nHost: h\r\nContent-Length: 2\r\n\r\nok");
        let t = assert_every_split(Http::default, wire.as_bytes());
        assert_eq!(t.error, None, "1.{minor}");
        let request = one(wire.as_bytes());
        assert_eq!(request.version(), Version::Http11);
        assert_eq!(
            (request.target(), request.header("host")),
            ("/v?x=1", Some("h"))
        );
        assert_eq!(&request.body()[..], b"ok");
        assert!(request.keep_alive());
    }
}

#[test]
fn identical_content_lengths_are_one() {
    let request =
        one(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(&request.body()[..], b"ok");
}

#[test]
fn valid_hosts() {
    for host in [
        "h",
        "h:80",
        "[::1]",
        "[::1]:8080",
        "1.2.3.4:1",
        "ex-ample.com",
    ] {
        let wire = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_eq!(one(wire.as_bytes()).header("host"), Some(host));
    }
}

#[test]
fn a_head_over_the_cap_is_431_without_waiting_for_its_end() {
    let config = Config::default().max_head_size(1024);
    let mut http = Http::new(config);
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
    let mut error = None;
    for _ in 0..100 {
        buf.extend_from_slice(b"X-Filler: 0123456789\r\n");
        if let Err(e) = http.decode(&mut buf) {
            error = Some(e);
            break;
        }
    }
    assert!(matches!(
        error,
        Some(HttpError::HeadTooLarge { limit: 1024 })
    ));
    // A bare-LF head is refused at its first LF, not left to meet the cap (Workerman
    // waits for a CRLF CRLF that never comes).
    let lf = format!("GET / HTTP/1.1\nHost: h\n{}\n\n", "X: y\n".repeat(300));
    assert_eq!(status_with(config, lf.as_bytes()), 400);
}

#[test]
fn limits_have_their_status() {
    let headers: String = (0..11).map(|i| format!("X-{i}: v\r\n")).collect();
    let wire = format!("GET / HTTP/1.1\r\nHost: h\r\n{headers}\r\n");
    assert_eq!(
        status_with(Config::default().max_headers(11), wire.as_bytes()),
        431
    );
    assert!(
        serve_with(Config::default().max_headers(12), wire.as_bytes())
            .1
            .is_none()
    );

    let wire = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(100));
    assert_eq!(
        status_with(Config::default().max_target_length(100), wire.as_bytes()),
        414
    );
    assert!(
        serve_with(Config::default().max_target_length(101), wire.as_bytes())
            .1
            .is_none()
    );
}

#[test]
fn an_oversize_body_is_413_before_any_of_it_arrives() {
    let config = Config::default().max_body_size(10);
    let mut http = Http::new(config);
    let mut buf = BytesMut::from(&b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"[..]);
    assert!(matches!(
        http.decode(&mut buf),
        Err(HttpError::BodyTooLarge {
            length: 11,
            limit: 10
        })
    ));
    let ok = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    assert_eq!(serve_with(config, ok).0.len(), 1);

    // Chunked: the chunk-size line that would cross the limit is refused, before its data
    // (Workerman buffers the whole chunk first).
    let mut http = Http::new(config);
    let mut buf = BytesMut::from(
        &b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n"[..],
    );
    assert!(matches!(
        http.decode(&mut buf),
        Err(HttpError::BodyTooLarge {
            length: 11,
            limit: 10
        })
    ));
    let ok = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n";
    assert_eq!(&serve_with(config, ok).0[0].body()[..], b"abcdefghij");
}

#[test]
fn chunked_framing_errors() {
    let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (body, status) in [
        ("g\r\n", 400),
        ("\r\n", 400),
        ("5\nhello\r\n0\r\n\r\n", 400),
        ("5\r\nhelloXX0\r\n\r\n", 400),
        ("12345678901234567\r\n", 400),
        ("5 x\r\n", 400),
        ("5;ext\0\r\n", 400),
        ("0\r\nX-T 1\r\n\r\n", 400),
        ("0\r\nX: 1\nY: 2\r\n\r\n", 400),
    ] {
        let wire = format!("{head}{body}");
        assert_eq!(status_of(wire.as_bytes()), status, "{body:?}");
    }
    let long_line = format!("{head}5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(2000));
    assert_eq!(status_of(long_line.as_bytes()), 400);
    let trailers = format!("{head}0\r\n{}\r\n", "X-T: 1\r\n".repeat(20));
    assert_eq!(
        status_with(Config::default().max_trailer_size(100), trailers.as_bytes()),
        431
    );
    // Extensions (with the spaces RFC 9112 allows before `;`) are ignored.
    let ext = format!("{head}5 ;name=value\r\nhello\r\n0;last\r\n\r\n");
    assert_eq!(&one(ext.as_bytes()).body()[..], b"hello");
}

#[test]
fn expect_100_continue_is_answered_once_the_head_is_accepted() {
    let (requests, error, output) =
        serve(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi");
    assert!(error.is_none());
    assert_eq!(requests.len(), 1);
    assert_eq!(output, "HTTP/1.1 100 Continue\r\n\r\n");
    // Refused instead when the body is over the limit: 413, no 100.
    let (_, error, output) = serve_with(
        Config::default().max_body_size(1),
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    );
    assert!(matches!(error, Some(HttpError::BodyTooLarge { .. })));
    assert!(output.starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
}

#[test]
fn keep_alive_follows_version_and_connection() {
    for (wire, keep) in [
        (&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..], true),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, Close\r\n\r\n",
            false,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
    ] {
        assert_eq!(
            one(wire).keep_alive(),
            keep,
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn the_connection_ending_mid_request_is_an_error_without_an_answer() {
    for wire in [
        &b"GET / HTTP/1.1\r\nHost"[..],
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
    ] {
        let mut http = Http::default();
        let mut buf = BytesMut::from(wire);
        assert!(matches!(
            http.decode_eof(&mut buf),
            Err(HttpError::UnexpectedEof { .. })
        ));
        let mut output = BytesMut::new();
        assert_eq!(http.take_output(&mut output), 0);
    }
}

#[test]
fn nothing_is_read_after_a_refusal() {
    let (requests, error, _) = serve(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(requests.is_empty());
    assert!(error.is_some());
}

/// Target, header lines, body, and the chunk size (`None`: `Content-Length`).
type Sent = (String, Vec<(String, String)>, Vec<u8>, Option<usize>);

fn arb_request() -> impl Strategy<Value = Sent> {
    (
        "/[a-z0-9/%?=&]{0,40}",
        proptest::collection::vec(("X-[A-Za-z]{1,8}", "[ -~]{0,20}"), 0..5),
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::option::of(1usize..50),
    )
}

fn encode((target, headers, body, chunk): &Sent) -> Vec<u8> {
    let mut wire = format!("POST {target} HTTP/1.1\r\nHost: h\r\n");
    for (name, value) in headers {
        wire.push_str(&format!("{name}: {}\r\n", value.trim()));
    }
    let mut wire = wire.into_bytes();
    match chunk {
        None => {
            wire.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            wire.extend_from_slice(body);
        }
        Some(size) => {
            wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for piece in body.chunks(*size) {
                wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                wire.extend_from_slice(piece);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        }
    }
    wire
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Requests encoded, concatenated (pipelined), cut anywhere, decode to what was sent.
    #[test]
    fn pipelined_requests_in_any_chunks(
        requests in proptest::collection::vec(arb_request(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let wire: Vec<u8> = requests.iter().flat_map(encode).collect();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        let mut http = Http::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut start = 0;
        for end in cuts.into_iter().chain([wire.len()]) {
            buf.extend_from_slice(&wire[start..end]);
            start = end;
            while let Some(request) = http.decode(&mut buf).unwrap() {
                got.push(request);
            }
        }
        prop_assert_eq!(got.len(), requests.len());
        for (request, (target, headers, body, _)) in got.iter().zip(&requests) {
            prop_assert_eq!(request.target(), target.as_str());
            prop_assert_eq!(&request.body()[..], &body[..]);
            for (name, value) in headers {
                prop_assert!(request.headers().get_all(name).any(|v| v == value.trim().as_bytes()));
            }
        }
    }
}

#[test]
fn a_chunk_size_that_would_wrap_the_body_total_is_413() {
    // Regression: received + size overflowed u64 after a first chunk, which panicked in
    // debug builds and let the body past its limit in release builds.
    let wire = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n";
    assert_eq!(status_of(wire), 413);
}

#[test]
fn any_expect_other_than_100_continue_is_417_in_any_order() {
    for expects in [
        "Expect: 100-continue\r\nExpect: foo",
        "Expect: foo\r\nExpect: 100-continue",
    ] {
        let wire = format!("POST / HTTP/1.1\r\nHost: h\r\n{expects}\r\nContent-Length: 1\r\n\r\nx");
        assert_eq!(status_of(wire.as_bytes()), 417, "{expects}");
    }
}

#[test]
fn connect_is_400_like_any_proxy_form() {
    assert_eq!(
        status_of(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
        400
    );
}

#[test]
fn a_chunked_decoder_given_a_new_buffer_does_not_panic() {
    // Regression: the size-line search resumed at an offset past the new buffer's end.
    let mut chunks = wm_http::chunked::ChunkedDecoder::new();
    let config = Config::default();
    assert!(chunks
        .decode_piece(&mut BytesMut::from(&b"1"[..]), &config)
        .unwrap()
        .is_none());
    let piece = chunks.decode_piece(&mut BytesMut::from(&b"3\r\nabc"[..]), &config);
    assert!(matches!(
        piece,
        Ok(Some(wm_http::chunked::ChunkedPiece::Data(_)))
    ));
}
