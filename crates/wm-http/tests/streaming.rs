//! Streamed bodies both ways: requests handed out as `RequestPart`s while they arrive,
//! and responses whose body follows the head as chunks, counted bytes or events.

use std::time::{Duration, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use wm_http::{
    Chunk, Config, Encode, Event, Http, HttpError, Protocol, Request, RequestPart, Response,
    StreamingHttp,
};

/// A streamed request with its body pieces joined, so chunkings can be compared.
#[derive(Debug, PartialEq, Eq)]
struct Streamed {
    head: Request,
    body: Vec<u8>,
    trailers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Feeds `chunks` to a streaming decoder: the requests seen (with joined bodies), the
/// number of body pieces, and the error, if any.
fn stream<'a>(
    config: Config,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<Streamed>, usize, Option<HttpError>) {
    let mut http = StreamingHttp::new(config);
    let mut buf = BytesMut::new();
    let mut requests: Vec<Streamed> = Vec::new();
    let mut pieces = 0;
    let mut open = false;
    let mut handle = |part: RequestPart, requests: &mut Vec<Streamed>| match part {
        RequestPart::Head(head) => {
            assert!(!open, "a head before the previous request ended");
            assert!(head.body().is_empty());
            open = true;
            requests.push(Streamed {
                head,
                body: Vec::new(),
                trailers: Vec::new(),
            });
        }
        RequestPart::Body(data) => {
            assert!(open && !data.is_empty(), "body piece outside a request");
            pieces += 1;
            requests.last_mut().unwrap().body.extend_from_slice(&data);
        }
        RequestPart::End(trailers) => {
            assert!(open, "an end outside a request");
            open = false;
            requests.last_mut().unwrap().trailers = trailers
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect();
        }
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match http.decode(&mut buf) {
                Ok(Some(part)) => handle(part, &mut requests),
                Ok(None) => break,
                Err(error) => return (requests, pieces, Some(error)),
            }
        }
    }
    match http.decode_eof(&mut buf) {
        Ok(None) => {}
        Ok(Some(part)) => panic!("a part at the end of input: {part:?}"),
        Err(error) => return (requests, pieces, Some(error)),
    }
    assert!(!open, "input ended inside a request without an error");
    (requests, pieces, None)
}

/// The same input through the collecting decoder.
fn collect(wire: &[u8]) -> Vec<Request> {
    let mut http = Http::default();
    let mut buf = BytesMut::from(wire);
    let mut requests = Vec::new();
    while let Some(request) = http.decode(&mut buf).unwrap() {
        requests.push(request);
    }
    requests
}

const PIPELINE: &[u8] = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world\
GET /b HTTP/1.1\r\nHost: h\r\n\r\n\
PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";

#[test]
fn streamed_requests_match_collected_ones_at_every_split() {
    let collected = collect(PIPELINE);
    for cut in 0..=PIPELINE.len() {
        let (requests, _, error) = stream(Config::default(), [&PIPELINE[..cut], &PIPELINE[cut..]]);
        assert!(error.is_none(), "cut at {cut}: {error:?}");
        assert_eq!(requests.len(), 3, "cut at {cut}");
        for (streamed, whole) in requests.iter().zip(&collected) {
            assert_eq!(streamed.head.target(), whole.target());
            assert_eq!(streamed.head.headers(), whole.headers());
            assert_eq!(&streamed.body[..], &whole.body()[..], "cut at {cut}");
        }
        assert_eq!(requests[2].trailers, vec![(b"X-T".to_vec(), b"1".to_vec())]);
    }
}

#[test]
fn a_dripped_body_is_handed_out_byte_by_byte_not_held_back() {
    let (requests, pieces, error) = stream(Config::default(), PIPELINE.chunks(1));
    assert!(error.is_none());
    assert_eq!(requests[0].body, b"hello world");
    // Every body byte of both bodies came out in the read that brought it.
    assert_eq!(pieces, 11 + 11);
}

#[test]
fn a_bodyless_request_is_a_head_then_an_end() {
    let mut http = StreamingHttp::default();
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    assert!(matches!(
        http.decode(&mut buf),
        Ok(Some(RequestPart::Head(_)))
    ));
    assert_eq!(
        http.decode(&mut buf).unwrap(),
        Some(RequestPart::End(Default::default()))
    );
    assert_eq!(http.decode(&mut buf).unwrap(), None);
    assert!(http.decode_eof(&mut buf).unwrap().is_none());
}

#[test]
fn streaming_keeps_the_body_limit() {
    let config = Config::default().max_body_size(8);
    let wire = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    let (requests, _, error) = stream(config, [&wire[..]]);
    assert_eq!(
        requests[0].body, b"hello",
        "the first chunk was within the limit"
    );
    assert!(matches!(
        error,
        Some(HttpError::BodyTooLarge {
            length: 10,
            limit: 8
        })
    ));
    let wire = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n";
    let (requests, _, error) = stream(config, [&wire[..]]);
    assert!(requests.is_empty(), "refused at the head");
    assert!(matches!(
        error,
        Some(HttpError::BodyTooLarge { length: 9, .. })
    ));
}

#[test]
fn a_body_cut_short_by_eof_is_an_error_when_streaming() {
    let wire = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc";
    let (requests, _, error) = stream(Config::default(), [&wire[..]]);
    assert_eq!(requests[0].body, b"abc");
    assert!(matches!(error, Some(HttpError::UnexpectedEof { .. })));
}

proptest! {
    #[test]
    fn streamed_bodies_are_the_bodies_sent(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        chunk_sizes in proptest::collection::vec(1usize..100, 1..8),
        cuts in proptest::collection::vec(any::<u16>(), 0..12),
        chunked in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        if chunked {
            wire.extend_from_slice(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
            let mut rest = &body[..];
            let mut sizes = chunk_sizes.iter().cycle();
            while !rest.is_empty() {
                let n = (*sizes.next().unwrap()).min(rest.len());
                wire.extend_from_slice(format!("{n:X}\r\n").as_bytes());
                wire.extend_from_slice(&rest[..n]);
                wire.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        } else {
            wire.extend_from_slice(format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
            wire.extend_from_slice(&body);
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&wire[start..cut]);
            start = cut;
        }
        chunks.push(&wire[start..]);
        let (requests, _, error) = stream(Config::default(), chunks);
        prop_assert!(error.is_none());
        prop_assert_eq!(requests.len(), 1);
        prop_assert_eq!(&requests[0].body, &body);
    }
}

// ---- responses ----

fn answered(request: &[u8]) -> Http {
    let mut http = Http::default();
    let mut buf = BytesMut::from(request);
    while http.decode(&mut buf).unwrap().is_some() {}
    http
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";

fn text(out: &BytesMut) -> &str {
    std::str::from_utf8(out).unwrap()
}

#[test]
fn a_chunked_response_streams_until_its_empty_chunk() {
    let mut http = answered(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    let mut out = BytesMut::new();
    http.encode(
        Response::new(200).header("Transfer-Encoding", "chunked"),
        &mut out,
    )
    .unwrap();
    assert!(http.streaming());
    assert!(!http.closing(), "not before the body is done");
    http.encode(Chunk::new("hello"), &mut out).unwrap();
    http.encode(Chunk::new(Bytes::from_static(b" world")), &mut out)
        .unwrap();
    assert!(!http.closing());
    http.encode(Chunk::end(), &mut out).unwrap();
    assert!(!http.streaming());
    assert!(http.closing(), "the request said close");
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nContent-Type: text/html;charset=utf-8\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    );
}

#[test]
fn a_second_response_waits_for_the_streamed_one() {
    let mut http = answered(&[GET, GET].concat());
    let mut out = BytesMut::new();
    http.encode(
        Response::new(200).header("Transfer-Encoding", "chunked"),
        &mut out,
    )
    .unwrap();
    let before = out.len();
    assert!(matches!(
        http.encode(Response::new(200), &mut out),
        Err(HttpError::InvalidResponse(_))
    ));
    assert_eq!(out.len(), before, "a refused item writes nothing");
    http.encode(Chunk::end(), &mut out).unwrap();
    http.encode(Response::new(204), &mut out).unwrap();
    assert!(
        text(&out).ends_with("0\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")
    );
}

#[test]
fn a_declared_length_is_filled_by_chunks_and_never_overrun() {
    let mut http = answered(GET);
    let mut out = BytesMut::new();
    http.encode(Response::new(200).content_length(6).body("ab"), &mut out)
        .unwrap();
    assert!(http.streaming());
    let before = out.len();
    for refused in [Chunk::new("cdefg"), Chunk::end()] {
        assert!(matches!(
            http.encode(refused, &mut out),
            Err(HttpError::InvalidResponse(_))
        ));
        assert_eq!(out.len(), before);
    }
    http.encode(Chunk::new("cdef"), &mut out).unwrap();
    assert!(!http.streaming(), "complete at the declared length");
    // An end after a complete body is accepted and writes nothing.
    http.encode(Chunk::end(), &mut out).unwrap();
    assert!(text(&out).ends_with("Content-Length: 6\r\nConnection: keep-alive\r\n\r\nabcdef"));
    assert!(matches!(
        http.encode(Chunk::new("x"), &mut out),
        Err(HttpError::InvalidResponse(_))
    ));
    assert!(matches!(
        answered(GET).encode(Response::new(200).content_length(1).body("ab"), &mut out),
        Err(HttpError::InvalidResponse(_))
    ));
}

#[test]
fn a_head_request_gets_the_length_but_no_streamed_body() {
    let mut http = answered(b"HEAD /f HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut out = BytesMut::new();
    http.encode(Response::new(200).content_length(3), &mut out)
        .unwrap();
    http.encode(Chunk::new("abc"), &mut out).unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n"
    );
    let mut http = answered(b"HEAD /f HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut out = BytesMut::new();
    http.encode(
        Response::new(200)
            .header("Transfer-Encoding", "chunked")
            .body("first"),
        &mut out,
    )
    .unwrap();
    http.encode(Chunk::new("more"), &mut out).unwrap();
    http.encode(Chunk::end(), &mut out).unwrap();
    assert!(text(&out).ends_with("text/html;charset=utf-8\r\n\r\n"));
}

#[test]
fn a_head_response_is_complete_with_its_head() {
    let mut http =
        answered(b"HEAD /f HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut out = BytesMut::new();
    http.encode(Response::new(200).content_length(1 << 30), &mut out)
        .unwrap();
    assert!(
        !http.streaming(),
        "no body will be sent, so none is awaited"
    );
    // The next response need not send (or read) a gigabyte first.
    http.encode(Response::new(200).body("g"), &mut out).unwrap();
    assert!(text(&out).ends_with("Content-Length: 1\r\nConnection: keep-alive\r\n\r\ng"));
}

#[test]
fn a_date_httpdate_cannot_format_is_not_sent() {
    let mut http = answered(GET);
    http.set_date(Some(UNIX_EPOCH - Duration::from_secs(1)));
    assert_eq!(http.date(), None);
    http.set_date(Some(UNIX_EPOCH + Duration::from_secs(253_402_300_800)));
    assert_eq!(http.date(), None);
    http.set_date(Some(UNIX_EPOCH + Duration::from_secs(253_402_300_799)));
    assert_eq!(http.date(), Some("Fri, 31 Dec 9999 23:59:59 GMT"));
}

#[test]
fn server_sent_events_follow_workermans_bytes() {
    let mut http = answered(GET);
    let mut out = BytesMut::new();
    http.encode(
        Response::new(200)
            .header("Content-Type", "text/event-stream")
            .body("\r\n"),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/event-stream\r\n\r\n"
    );
    out.clear();
    http.encode(
        Event::new()
            .comment("comment")
            .event("message")
            .id("1")
            .retry(5000)
            .data("a\nb"),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        text(&out),
        ": comment\nevent: message\nid: 1\nretry: 5000\ndata: a\ndata: b\n\n"
    );
    assert!(http.streaming() && !http.closing());
    http.encode(Chunk::end(), &mut out).unwrap();
    assert!(
        http.closing(),
        "an event stream has no length: it ends with the connection"
    );
    assert!(matches!(
        http.encode(Event::new().data("late"), &mut out),
        Err(HttpError::InvalidResponse(_))
    ));
}

#[test]
fn an_event_needs_an_event_stream() {
    let mut http = answered(GET);
    let mut out = BytesMut::new();
    assert!(matches!(
        http.encode(Event::new().data("x"), &mut out),
        Err(HttpError::InvalidResponse(_))
    ));
    http.encode(
        Response::new(200).header("Transfer-Encoding", "chunked"),
        &mut out,
    )
    .unwrap();
    assert!(matches!(
        http.encode(Event::new().data("x"), &mut out),
        Err(HttpError::InvalidResponse(_))
    ));
}

#[test]
fn the_date_header_is_sent_when_set() {
    let mut http = answered(&[GET, GET, GET].concat());
    http.set_date(Some(UNIX_EPOCH + Duration::from_secs(784_111_777)));
    let mut out = BytesMut::new();
    http.encode("ok", &mut out).unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 2\r\n\r\nok"
    );
    out.clear();
    http.encode(Response::new(200).header("date", "mine"), &mut out)
        .unwrap();
    assert_eq!(
        text(&out).matches("ate: ").count(),
        1,
        "the application's wins"
    );
    out.clear();
    http.set_date(None);
    http.encode("ok", &mut out).unwrap();
    assert!(!text(&out).contains("Date"));
}

#[test]
fn an_interim_response_leaves_the_request_unanswered() {
    let mut http = answered(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut out = BytesMut::new();
    http.encode(
        Response::new(103).header("Link", "</s.css>; rel=preload"),
        &mut out,
    )
    .unwrap();
    http.encode(Response::new(200).body("body"), &mut out)
        .unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nConnection: keep-alive\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\n",
        "the 200 still knows it answers a HEAD"
    );
}

#[test]
fn http10_expectations_are_ignored() {
    for wire in [
        &b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"[..],
        &b"POST / HTTP/1.0\r\nExpect: something-else\r\nContent-Length: 1\r\n\r\nx"[..],
    ] {
        let mut http = Http::default();
        let mut buf = BytesMut::from(wire);
        assert_eq!(&http.decode(&mut buf).unwrap().unwrap().body()[..], b"x");
        let mut out = BytesMut::new();
        assert_eq!(http.take_output(&mut out), 0, "no interim response for 1.0");
    }
}

// ---- our own output, behind the responses it follows ----

#[test]
fn a_refusal_waits_for_the_responses_before_it() {
    let mut http = Http::default();
    let mut buf =
        BytesMut::from(&b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\n\r\n"[..]);
    assert!(http.decode(&mut buf).unwrap().is_some());
    assert!(matches!(
        http.decode(&mut buf),
        Err(HttpError::BadRequest(_))
    ));
    let mut out = BytesMut::new();
    assert_eq!(http.take_output(&mut out), 0, "not ahead of /slow's answer");
    http.encode(Response::new(200).body("slow"), &mut out)
        .unwrap();
    assert!(
        text(&out).ends_with("\r\n\r\nslowHTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_refusal_during_a_streamed_body_waits_for_its_end() {
    let mut http = Http::default();
    let mut buf = BytesMut::from(&b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    http.decode(&mut buf).unwrap().unwrap();
    let mut out = BytesMut::new();
    http.encode(
        Response::new(200).header("Transfer-Encoding", "chunked"),
        &mut out,
    )
    .unwrap();
    buf.extend_from_slice(b"BAD\r\n\r\n");
    assert!(http.decode(&mut buf).is_err());
    out.clear();
    http.encode(Chunk::new("x"), &mut out).unwrap();
    assert_eq!(text(&out), "1\r\nx\r\n", "nothing inside the chunked body");
    http.encode(Chunk::end(), &mut out).unwrap();
    assert!(text(&out).ends_with(
        "0\r\n\r\nHTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    ));
}

#[test]
fn a_pipelined_100_continue_follows_the_earlier_response() {
    let mut http = Http::default();
    let mut buf = BytesMut::from(
        &b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"[..],
    );
    http.decode(&mut buf).unwrap().unwrap();
    assert!(
        http.decode(&mut buf).unwrap().is_none(),
        "waits for the body"
    );
    let mut out = BytesMut::new();
    assert_eq!(http.take_output(&mut out), 0);
    http.encode(Response::new(204), &mut out).unwrap();
    assert!(text(&out).ends_with("\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"));
}

#[test]
fn a_closing_response_drops_what_waited() {
    let mut http = Http::default();
    let mut buf = BytesMut::from(&b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\n\r\n"[..]);
    http.decode(&mut buf).unwrap().unwrap();
    assert!(http.decode(&mut buf).is_err());
    let mut out = BytesMut::new();
    http.encode(Response::new(200).header("Connection", "close"), &mut out)
        .unwrap();
    assert!(http.closing());
    assert!(
        !text(&out).contains("400"),
        "the connection ends with the 200"
    );
}

// ---- framing for HTTP/1.0 and bodiless statuses ----

#[test]
fn chunks_to_an_http10_client_go_out_raw_until_the_close() {
    let mut http = answered(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let mut out = BytesMut::new();
    http.encode(
        Response::new(200)
            .header("Transfer-Encoding", "chunked")
            .header("Connection", "keep-alive")
            .body("ab"),
        &mut out,
    )
    .unwrap();
    http.encode(Chunk::new("cd"), &mut out).unwrap();
    assert!(!http.closing());
    http.encode(Chunk::end(), &mut out).unwrap();
    assert!(http.closing(), "the body ends with the connection");
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html;charset=utf-8\r\n\r\nabcd"
    );
}

#[test]
fn an_event_stream_to_http10_says_close() {
    let mut http = answered(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let mut out = BytesMut::new();
    http.encode(
        Response::new(200).header("Content-Type", "text/event-stream"),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/event-stream\r\n\r\n"
    );
}

#[test]
fn no_transfer_encoding_on_a_bodiless_status() {
    let mut http = answered(GET);
    let mut out = BytesMut::new();
    http.encode(
        Response::new(204).header("Transfer-Encoding", "chunked"),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        text(&out),
        "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"
    );
    assert!(!http.streaming());
}

#[test]
fn a_transfer_encoding_not_ending_in_chunked_is_refused() {
    let mut http = answered(GET);
    let mut out = BytesMut::new();
    assert!(matches!(
        http.encode(
            Response::new(200).header("Transfer-Encoding", "gzip"),
            &mut out
        ),
        Err(HttpError::InvalidResponse(_))
    ));
    assert!(out.is_empty());
    http.encode(
        Response::new(200).header("Transfer-Encoding", "gzip, chunked"),
        &mut out,
    )
    .unwrap();
    assert!(http.streaming());
}
