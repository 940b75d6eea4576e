//! Both ends of the opening handshake: the spec's vectors (§10.4, §10.6), every error
//! with the status it gets, heads split at every byte, and the bytes after the head kept.

use bytes::{Bytes, BytesMut};
use wm_protocol::testing::assert_every_split;
use wm_websocket::handshake::server::RequestReader;
use wm_websocket::handshake::{accept_key, ClientRequest, HandshakeError, Reject, ServerOptions};
use wm_websocket::{Config, Encode, Error, Message, Protocol, State, WebSocket};

const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

const RFC_101: &str = "HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

/// Runs a server handshake on `wire` in one read: the result of decoding and the bytes
/// queued to send.
fn serve(
    options: ServerOptions,
    wire: &[u8],
) -> (Result<Option<Message>, Error>, WebSocket, String) {
    let mut ws = WebSocket::accepting(Config::default(), options);
    let mut buf = BytesMut::from(wire);
    let result = ws.decode(&mut buf);
    let mut output = BytesMut::new();
    ws.take_output(&mut output);
    (result, ws, String::from_utf8(output.to_vec()).unwrap())
}

fn request_with(replace: &str, with: &str) -> String {
    assert!(RFC_REQUEST.contains(replace), "{replace}");
    RFC_REQUEST.replacen(replace, with, 1)
}

#[test]
fn accept_key_vectors() {
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(accept_key(b""), "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=");
}

#[test]
fn rfc_request_gets_the_rfc_101_without_a_protocol_by_default() {
    let (result, ws, output) = serve(ServerOptions::new(), RFC_REQUEST.as_bytes());
    assert!(result.unwrap().is_none());
    assert_eq!(output, format!("{RFC_101}\r\n"));
    assert_eq!(ws.state(), State::Open);
    let request = ws.request().unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), None);
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.protocols(), ["chat", "superchat"]);
    assert_eq!(request.header("SEC-WEBSOCKET-VERSION"), Some("13"));
}

#[test]
fn a_supported_subprotocol_is_echoed() {
    let options = ServerOptions::new().protocols(["superchat", "chat"]);
    let (_, _, output) = serve(options, RFC_REQUEST.as_bytes());
    // The client's preference wins: it listed chat first.
    assert_eq!(
        output,
        format!("{RFC_101}Sec-WebSocket-Protocol: chat\r\n\r\n")
    );
}

#[test]
fn the_hook_sees_the_request_and_may_add_headers() {
    let options = ServerOptions::new().hook(|request, accept| {
        assert_eq!(request.target(), "/chat");
        accept.protocol("superchat").header("Set-Cookie", "id=1");
        Ok(())
    });
    let (result, _, output) = serve(options, RFC_REQUEST.as_bytes());
    assert!(result.is_ok());
    assert_eq!(
        output,
        format!("{RFC_101}Sec-WebSocket-Protocol: superchat\r\nSet-Cookie: id=1\r\n\r\n")
    );
}

#[test]
fn the_hook_may_refuse_by_origin() {
    let options = ServerOptions::new().hook(|request, _| match request.origin() {
        Some("https://good.example") => Ok(()),
        _ => Err(Reject::new(403).body("origin not allowed\n")),
    });
    let (result, ws, output) = serve(options, RFC_REQUEST.as_bytes());
    assert!(matches!(
        result,
        Err(Error::Handshake(HandshakeError::Rejected(403)))
    ));
    assert_eq!(ws.state(), State::Closed);
    assert!(output.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{output}");
    assert!(
        output.ends_with("Content-Length: 19\r\nConnection: close\r\n\r\norigin not allowed\n"),
        "{output}"
    );
}

#[test]
fn a_hook_choosing_an_unoffered_protocol_is_a_500_not_a_lie() {
    let options = ServerOptions::new().hook(|_, accept| {
        accept.protocol("mqtt");
        Ok(())
    });
    let (result, _, output) = serve(options, RFC_REQUEST.as_bytes());
    assert!(matches!(
        result,
        Err(Error::Handshake(HandshakeError::InvalidAnswer(_)))
    ));
    assert!(output.starts_with("HTTP/1.1 500 "), "{output}");
}

#[test]
fn invalid_requests_get_their_status() {
    let no_version = RFC_REQUEST.replace("Sec-WebSocket-Version: 13\r\n", "");
    let cases: Vec<(&str, String, u16)> = vec![
        ("POST", request_with("GET", "POST"), 400),
        ("HTTP/1.0", request_with("HTTP/1.1", "HTTP/1.0"), 400),
        (
            "no Host",
            RFC_REQUEST.replace("Host: server.example.com\r\n", ""),
            400,
        ),
        ("two Hosts", request_with("Host:", "Host: a\r\nHost:"), 400),
        (
            "no Upgrade",
            RFC_REQUEST.replace("Upgrade: websocket\r\n", ""),
            426,
        ),
        (
            "Upgrade: h2c",
            request_with("Upgrade: websocket", "Upgrade: h2c"),
            426,
        ),
        (
            "Connection: close",
            request_with("Connection: Upgrade", "Connection: close"),
            400,
        ),
        ("no version", no_version, 400),
        ("version 8", request_with("Version: 13", "Version: 8"), 426),
        (
            "version '13 x'",
            request_with("Version: 13", "Version: 13 x"),
            426,
        ),
        (
            "no key",
            RFC_REQUEST.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            400,
        ),
        (
            "empty key",
            request_with("dGhlIHNhbXBsZSBub25jZQ==", ""),
            400,
        ),
        (
            "15-byte key",
            request_with("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ"),
            400,
        ),
        (
            "17-byte key",
            request_with("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZXgx"),
            400,
        ),
        (
            "two keys",
            request_with(
                "Origin:",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin:",
            ),
            400,
        ),
        (
            "a body",
            request_with("Origin:", "Content-Length: 5\r\nOrigin:"),
            400,
        ),
        (
            "chunked",
            request_with("Origin:", "Transfer-Encoding: chunked\r\nOrigin:"),
            400,
        ),
        (
            "bad header line",
            request_with("Origin:", "Bad Header\r\nOrigin:"),
            400,
        ),
    ];
    for (name, request, status) in cases {
        let (result, ws, output) = serve(ServerOptions::new(), request.as_bytes());
        let Err(Error::Handshake(error)) = result else {
            panic!("{name}: {result:?}");
        };
        assert_eq!(error.status(), status, "{name}: {error}");
        assert!(
            output.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {output}"
        );
        assert!(
            output.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            "{name}: {output}"
        );
        assert!(
            output.contains("\r\nConnection: close\r\n"),
            "{name}: {output}"
        );
        assert_eq!(ws.state(), State::Closed, "{name}");
    }
}

#[test]
fn a_non_get_is_refused_before_its_head_ends() {
    // Workerman's first check; a Flash policy request never sends a blank line.
    for wire in [&b"<policy-file-request/>\0"[..], b"P", b"GE\n", b"GET\r"] {
        let (result, _, output) = serve(ServerOptions::new(), wire);
        assert!(
            matches!(result, Err(Error::Handshake(HandshakeError::NotGet))),
            "{wire:?}"
        );
        assert!(output.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    }
    let (result, _, _) = serve(ServerOptions::new(), b"GE");
    assert!(result.unwrap().is_none());
}

#[test]
fn an_endless_head_is_refused_at_the_cap_with_431() {
    let config = Config::default().max_handshake_size(1024);
    let mut ws = WebSocket::accepting(config, ServerOptions::new());
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
    assert!(ws.decode(&mut buf).unwrap().is_none());
    let mut error = None;
    for _ in 0..200 {
        buf.extend_from_slice(b"X-Filler: 0123456789\r\n");
        match ws.decode(&mut buf) {
            Ok(None) => {}
            Ok(Some(m)) => panic!("{m:?}"),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(matches!(
        error,
        Some(Error::Handshake(HandshakeError::TooLarge { limit: 1024 }))
    ));
    let mut output = BytesMut::new();
    ws.take_output(&mut output);
    assert!(output.starts_with(b"HTTP/1.1 431 "));
}

#[test]
fn too_many_header_lines_are_431() {
    let filler: String = (0..70).map(|i| format!("X-{i}: y\r\n")).collect();
    let (result, _, output) = serve(
        ServerOptions::new(),
        request_with("Origin:", &format!("{filler}Origin:")).as_bytes(),
    );
    assert!(matches!(
        result,
        Err(Error::Handshake(HandshakeError::TooManyHeaders { .. }))
    ));
    assert!(output.starts_with("HTTP/1.1 431 "));
}

#[test]
fn header_tokens_are_case_insensitive_lists() {
    let request = request_with("Upgrade: websocket", "Upgrade: foo, WebSocket")
        .replace("Connection: Upgrade", "Connection: keep-alive, UPGRADE");
    let (result, ws, _) = serve(ServerOptions::new(), request.as_bytes());
    assert!(result.is_ok());
    assert_eq!(ws.state(), State::Open);
}

#[test]
fn frames_in_the_same_read_as_the_request_are_decoded() {
    let mut wire = RFC_REQUEST.as_bytes().to_vec();
    wire.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let transcript = assert_every_split(
        || WebSocket::accepting(Config::default(), ServerOptions::new()),
        &wire,
    );
    assert_eq!(transcript.messages, ["Text(\"Hello\")"]);
    assert_eq!(transcript.error, None);
}

#[test]
fn the_head_is_searched_once_in_a_one_byte_drip() {
    let mut reader = RequestReader::default();
    let wire = RFC_REQUEST.as_bytes();
    for end in 1..wire.len() {
        assert!(reader.read(&wire[..end], 16 * 1024).unwrap().is_none());
        // Each read looks at the new byte (and the three before it), never the whole.
        assert_eq!(reader.examined(), end);
    }
    let (request, length) = reader.read(wire, 16 * 1024).unwrap().unwrap();
    assert_eq!(length, wire.len());
    assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
}

#[test]
fn frames_sent_before_the_handshake_follow_the_101() {
    let mut ws = WebSocket::accepting(Config::default(), ServerOptions::new());
    let mut early = BytesMut::new();
    ws.encode("early", &mut early).unwrap();
    assert!(early.is_empty(), "queued, not written ahead of the 101");
    let mut buf = BytesMut::from(RFC_REQUEST.as_bytes());
    ws.decode(&mut buf).unwrap();
    let mut output = BytesMut::new();
    ws.take_output(&mut output);
    let mut expected = format!("{RFC_101}\r\n").into_bytes();
    expected.extend_from_slice(b"\x81\x05early");
    assert_eq!(&output[..], &expected[..]);
}

/// What is queued before the 101 is bounded by the message limit, each message counted
/// with the largest header it could take: a flood of empty messages stops too.
#[test]
fn messages_queued_before_the_101_are_bounded_empty_ones_included() {
    let config = Config::default().max_message_size(1000);
    let mut ws = WebSocket::accepting(config, ServerOptions::new());
    let mut out = BytesMut::new();
    let mut sent = 0;
    let error = loop {
        match ws.encode("", &mut out) {
            Ok(()) => sent += 1,
            Err(error) => break error,
        }
        assert!(sent <= 1000, "no bound");
    };
    assert!(
        matches!(error, Error::QueueFull { limit: 1000, .. }),
        "{error:?}"
    );
    assert_eq!(sent, 1000 / wm_websocket::frame::MAX_HEADER_LENGTH);
}

// ---- client ----

fn client_request() -> ClientRequest {
    ClientRequest::new("ws://127.0.0.1:2345/path?x=1")
        .unwrap()
        .origin("http://example.com")
        .protocol("chat")
        .header("X-Token", "abc")
}

fn answer(request: &ClientRequest, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(request.key().as_bytes())
    )
}

#[test]
fn client_request_matches_the_spec_shape() {
    let request = client_request();
    let mut out = BytesMut::new();
    request.encode(&mut out).unwrap();
    let expected = format!(
        "GET /path?x=1 HTTP/1.1\r\nHost: 127.0.0.1:2345\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {}\r\nX-Token: abc\r\n\r\n",
        request.key()
    );
    assert_eq!(String::from_utf8(out.to_vec()).unwrap(), expected);
    assert_eq!(request.key().len(), 24);
    assert_ne!(
        request.key(),
        client_request().key(),
        "a fresh key each time"
    );
    // The server side of this crate accepts it.
    let (result, ws, _) = serve(ServerOptions::new().protocols(["chat"]), &out);
    assert!(result.is_ok());
    assert_eq!(ws.request().unwrap().query(), Some("x=1"));
}

#[test]
fn client_urls() {
    for (url, host, port, target, host_header) in [
        ("ws://example.com", "example.com", 80, "/", "example.com"),
        (
            "ws://example.com:80/a",
            "example.com",
            80,
            "/a",
            "example.com",
        ),
        (
            "wss://example.com/a?b",
            "example.com",
            443,
            "/a?b",
            "example.com",
        ),
        (
            "ws://example.com?q=1",
            "example.com",
            80,
            "/?q=1",
            "example.com",
        ),
        ("WS://[::1]:9001/x", "::1", 9001, "/x", "[::1]:9001"),
        ("ws://[::1]", "::1", 80, "/", "[::1]"),
    ] {
        let request = ClientRequest::new(url).unwrap();
        assert_eq!(
            (request.host(), request.port(), request.target()),
            (host, port, target),
            "{url}"
        );
        let mut out = BytesMut::new();
        request.encode(&mut out).unwrap();
        assert!(
            String::from_utf8(out.to_vec())
                .unwrap()
                .contains(&format!("\r\nHost: {host_header}\r\n")),
            "{url}"
        );
    }
    for bad in [
        "http://x",
        "ws://",
        "ws://x:port",
        "ws://x/#frag",
        "ws://u@x",
        "ws://::1/",
        "ws://x/a b",
        "noscheme",
    ] {
        assert!(
            matches!(ClientRequest::new(bad), Err(HandshakeError::InvalidUrl(_))),
            "{bad}"
        );
    }
}

#[test]
fn client_refuses_headers_that_would_inject_lines() {
    let mut out = BytesMut::new();
    let bad = ClientRequest::new("ws://x")
        .unwrap()
        .header("X-Bad", "a\r\nInjected: 1");
    assert!(matches!(
        bad.encode(&mut out),
        Err(HandshakeError::InvalidHeader(_))
    ));
    let bad = ClientRequest::new("ws://x").unwrap().header("X:Bad", "a");
    assert!(bad.encode(&mut out).is_err());
    assert!(out.is_empty());
}

fn client_reads(
    request: ClientRequest,
    wire: &[u8],
) -> (Result<Option<Message>, Error>, WebSocket) {
    let mut ws = WebSocket::connecting(Config::default(), request).unwrap();
    let mut sent = BytesMut::new();
    assert!(
        ws.take_output(&mut sent) > 0,
        "the request is queued at once"
    );
    let mut buf = BytesMut::from(wire);
    (ws.decode(&mut buf), ws)
}

#[test]
fn client_accepts_a_good_101_and_keeps_the_frame_behind_it() {
    let request = client_request();
    let mut wire = answer(&request, "Sec-WebSocket-Protocol: chat\r\n").into_bytes();
    wire.extend_from_slice(b"\x81\x05piggy");
    let (result, ws) = client_reads(request.clone(), &wire);
    assert_eq!(result.unwrap(), Some(Message::Text("piggy".into())));
    assert_eq!(ws.response().unwrap().protocol(), Some("chat"));
    let transcript = assert_every_split(
        || WebSocket::connecting(Config::default(), request.clone()).unwrap(),
        &wire,
    );
    assert_eq!(transcript.messages, ["Text(\"piggy\")"]);
}

#[test]
fn client_refuses_bad_answers() {
    let request = client_request();
    let good = answer(&request, "");
    let cases: Vec<(&str, String)> = vec![
        ("200", good.replace("101 Switching Protocols", "200 OK")),
        (
            "wrong accept",
            good.replace("Sec-WebSocket-Accept: ", "Sec-WebSocket-Accept: x"),
        ),
        (
            "no accept",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                .to_string(),
        ),
        ("no upgrade", good.replace("Upgrade: websocket\r\n", "")),
        ("no connection", good.replace("Connection: Upgrade\r\n", "")),
        (
            "unoffered protocol",
            answer(&request, "Sec-WebSocket-Protocol: mqtt\r\n"),
        ),
        (
            "two protocols",
            answer(&request, "Sec-WebSocket-Protocol: chat, chat\r\n"),
        ),
        (
            "unoffered extension",
            answer(&request, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        ),
        ("HTTP/1.0", good.replace("HTTP/1.1", "HTTP/1.0")),
    ];
    for (name, wire) in cases {
        let (result, ws) = client_reads(request.clone(), wire.as_bytes());
        assert!(
            matches!(result, Err(Error::Handshake(_))),
            "{name}: {result:?}"
        );
        assert_eq!(ws.state(), State::Closed, "{name}");
    }
}

#[test]
fn a_client_answered_in_another_protocol_fails_at_the_first_bytes() {
    // A text:// echo server sends the request line back; a frame server, a length.
    for wire in [&b"GET"[..], b"G", b"\x00\x00\x00\x05x", b"HTTP/1.1 1"] {
        let (result, ws) = client_reads(client_request(), wire);
        if wire.starts_with(b"HTTP/") {
            assert!(matches!(result, Ok(None)), "{wire:?}: {result:?}");
            continue;
        }
        assert!(
            matches!(result, Err(Error::Handshake(HandshakeError::Malformed(_)))),
            "{wire:?}: {result:?}"
        );
        assert_eq!(ws.state(), State::Closed);
    }
    // The error is the same however the answer is split (found by the fuzzer: it named
    // the bytes seen so far).
    for wire in [&b"\xfd\xc1"[..], b"HTX/1.1 101", b"GET / HTTP/1.1\r\n"] {
        assert_every_split(
            || WebSocket::connecting(Config::default(), client_request()).unwrap(),
            wire,
        );
    }
    // A prefix of "HTTP/" waits for more.
    for wire in [&b"H"[..], b"HTT", b"HTTP/"] {
        assert!(matches!(client_reads(client_request(), wire).0, Ok(None)));
    }
}

#[test]
fn client_masks_frames_sent_before_the_101_and_sends_them_after_it() {
    let request = client_request();
    let mut ws = WebSocket::connecting(Config::default(), request.clone()).unwrap();
    let mut out = BytesMut::new();
    ws.take_output(&mut out);
    out.clear();
    ws.encode(Message::Binary(Bytes::from_static(b"early")), &mut out)
        .unwrap();
    assert!(out.is_empty());
    let mut buf = BytesMut::from(answer(&request, "").as_bytes());
    assert!(ws.decode(&mut buf).unwrap().is_none());
    ws.take_output(&mut out);
    let mut server = WebSocket::server();
    assert_eq!(
        server.decode(&mut out).unwrap(),
        Some(Message::Binary(Bytes::from_static(b"early")))
    );
}

#[test]
fn a_close_sent_during_the_handshake_opens_the_connection_closing() {
    let request = client_request();
    let mut ws = WebSocket::connecting(Config::default(), request.clone()).unwrap();
    let mut out = BytesMut::new();
    ws.take_output(&mut out);
    out.clear();
    ws.encode(wm_websocket::CloseCode::GOING_AWAY, &mut out)
        .unwrap();
    ws.encode(wm_websocket::CloseCode::GOING_AWAY, &mut out)
        .unwrap();
    assert!(matches!(
        ws.encode("after close", &mut out),
        Err(Error::SendAfterClose)
    ));
    let mut buf = BytesMut::from(answer(&request, "").as_bytes());
    assert!(ws.decode(&mut buf).unwrap().is_none());
    assert_eq!(ws.state(), State::Closing);
    ws.take_output(&mut out);
    // One close frame (masked: 2 + 4 + 2 bytes), nothing else.
    assert_eq!(out.len(), 8);
    assert_eq!(&out[..2], b"\x88\x82");
    // The server's close completes the handshake without a second close from us.
    let mut buf = BytesMut::from(&b"\x88\x02\x03\xe9"[..]);
    assert!(matches!(
        ws.decode(&mut buf).unwrap(),
        Some(Message::Close(Some(_)))
    ));
    assert_eq!(ws.state(), State::Closed);
    assert!(!ws.has_output());
}

#[test]
fn a_failed_handshake_stays_failed() {
    let (result, mut ws, _) = serve(ServerOptions::new(), b"POST / HTTP/1.1\r\n\r\n");
    assert!(result.is_err());
    let mut buf = BytesMut::from(RFC_REQUEST.as_bytes());
    assert!(!ws.decode_handshake(&mut buf).unwrap());
    assert_eq!(ws.state(), State::Closed);
}

#[test]
fn offers_that_are_not_tokens_are_ignored() {
    let request = request_with("chat, superchat", "chat, sup\u{e9}r, \"quoted\", superchat");
    let (result, ws, _) = serve(ServerOptions::new(), request.as_bytes());
    assert!(result.is_ok());
    assert_eq!(ws.request().unwrap().protocols(), ["chat", "superchat"]);
}
