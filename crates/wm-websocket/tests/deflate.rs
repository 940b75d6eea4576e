//! permessage-deflate in the protocol: RFC 7692's and the spec's vectors (§10), compressed
//! messages fragmented around control frames, every wrong use of RSV1 with its close code,
//! decompression bombs, the threshold, each input split at every byte, and a proptest
//! round trip through both roles' compressors.

use bytes::BytesMut;
use proptest::prelude::*;
use wm_protocol::testing::assert_every_split;
use wm_websocket::deflate::{Agreement, DeflateConfig, InflateError, MessageDeflater};
use wm_websocket::handshake::{ClientRequest, ServerOptions};
mod support;
use support::{close_code_of, decode_in_cuts, masked};

use wm_websocket::{Config, Encode, Error, FrameError, Message, Protocol, Role, State, WebSocket};

/// A server that agreed `agreement`, with `config`'s limits.
fn server(agreement: Agreement, config: Config) -> WebSocket {
    WebSocket::new(Role::Server, config).with_deflate(agreement, &DeflateConfig::default())
}

/// The default server agreement: no context takeover either way.
fn no_takeover() -> Agreement {
    Agreement {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..Agreement::default()
    }
}

/// What a server makes of `wire` in one read (checked against every split and a drip):
/// the messages, the error, and what it queued to send.
fn server_reads(
    make: impl Fn() -> WebSocket,
    wire: &[u8],
) -> (Vec<Message>, Option<Error>, Vec<u8>) {
    assert_every_split(&make, wire);
    let mut ws = make();
    let mut buf = BytesMut::from(wire);
    let mut messages = Vec::new();
    let error = loop {
        match ws.decode(&mut buf) {
            Ok(Some(message)) => messages.push(message),
            Ok(None) => break None,
            Err(error) => break Some(error),
        }
    };
    let mut output = BytesMut::new();
    ws.take_output(&mut output);
    (messages, error, output.to_vec())
}

/// `length` bytes from a xorshift generator: DEFLATE finds nothing to shorten.
fn noise(length: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// RFC 7692 §7.2.3.1-2, spec §10: "Hello" compressed, then again referring back to the
/// first (context takeover), masked from a client.
#[test]
fn the_spec_vectors_inflate_with_and_without_takeover() {
    let first = masked(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    let second = masked(0xc1, &[0xf2, 0x00, 0x11, 0x00, 0x00]);
    let wire = [first.clone(), second].concat();
    let (messages, error, output) =
        server_reads(|| server(Agreement::default(), Config::default()), &wire);
    assert!(error.is_none(), "{error:?}");
    assert!(output.is_empty());
    assert_eq!(
        messages,
        [Message::Text("Hello".into()), Message::Text("Hello".into())]
    );

    // Without takeover, the first message alone.
    let (messages, error, _) = server_reads(|| server(no_takeover(), Config::default()), &first);
    assert!(error.is_none());
    assert_eq!(messages, [Message::Text("Hello".into())]);
}

/// Spec §4.6: Workerman returns `f2 48 cd` + `c9 c9 07 00` still compressed. Here the
/// fragments are inflated one by one, with a ping between them answered in place.
#[test]
fn a_fragmented_compressed_message_with_a_ping_between_is_one_message() {
    let wire = [
        masked(0x41, &[0xf2, 0x48, 0xcd]),
        masked(0x89, b"hi"),
        masked(0x80, &[0xc9, 0xc9, 0x07, 0x00]),
    ]
    .concat();
    let (messages, error, output) =
        server_reads(|| server(no_takeover(), Config::default()), &wire);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        messages,
        [Message::Ping("hi".into()), Message::Text("Hello".into())]
    );
    assert_eq!(output, [0x8a, 0x02, b'h', b'i']);
}

#[test]
fn rsv1_out_of_place_is_1002() {
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let cases: [(&str, Vec<u8>, bool); 4] = [
        ("without negotiation", masked(0xc1, &hello), false),
        ("on a ping", masked(0xc9, b""), true),
        ("on a close", masked(0xc8, &[0x03, 0xe8]), true),
        (
            "on a continuation",
            [masked(0x41, &hello[..3]), masked(0xc0, &hello[3..])].concat(),
            true,
        ),
    ];
    for (what, wire, negotiated) in cases {
        let make = || {
            if negotiated {
                server(no_takeover(), Config::default())
            } else {
                WebSocket::server()
            }
        };
        let (_, error, output) = server_reads(make, &wire);
        assert!(
            matches!(
                error,
                Some(Error::Frame(FrameError::ReservedBits { rsv: 0b100 }))
            ),
            "{what}: {error:?}"
        );
        assert_eq!(close_code_of(&output), 1002, "{what}");
    }
}

#[test]
fn corrupt_data_is_1007_and_bad_utf8_after_inflating_is_1007() {
    let (_, error, output) = server_reads(
        || server(no_takeover(), Config::default()),
        &masked(0xc1, &[0xff; 8]),
    );
    assert!(
        matches!(error, Some(Error::Inflate(InflateError::Corrupt(_)))),
        "{error:?}"
    );
    assert_eq!(close_code_of(&output), 1007);

    let mut deflater = MessageDeflater::new(15, 6, false);
    let mut compressed = BytesMut::new();
    deflater.compress(b"ok \xff not utf-8", &mut compressed);
    let (_, error, output) = server_reads(
        || server(no_takeover(), Config::default()),
        &masked(0xc1, &compressed),
    );
    assert!(
        matches!(error, Some(Error::InvalidUtf8 { valid_up_to: 3 })),
        "{error:?}"
    );
    assert_eq!(close_code_of(&output), 1007);

    // Fragmented: the first fragment's bad byte fails before the message ends.
    let text = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
    let mut compressed = BytesMut::new();
    MessageDeflater::new(15, 6, false).compress(text, &mut compressed);
    let mut ws = server(no_takeover(), Config::default());
    let mut buf = BytesMut::from(&masked(0x41, &compressed)[..]);
    assert!(matches!(
        ws.decode(&mut buf),
        Err(Error::InvalidUtf8 { valid_up_to: 11 })
    ));
}

/// A decompression bomb: 16 MiB of zeros in a few KiB. With a 1 MiB message limit it is
/// a 1009 after at most the limit was produced, unfragmented or in 100-byte fragments.
#[test]
fn a_decompression_bomb_is_1009() {
    let mut bomb = BytesMut::new();
    MessageDeflater::new(15, 9, false).compress(&vec![0; 16 << 20], &mut bomb);
    let config = Config::default().max_message_size(1 << 20);
    let unfragmented = masked(0xc1, &bomb);
    let mut fragmented = Vec::new();
    let pieces: Vec<&[u8]> = bomb.chunks(100).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let b0 = match (i, i + 1 == pieces.len()) {
            (0, _) => 0x42,
            (_, true) => 0x80,
            _ => 0x00,
        };
        fragmented.extend(masked(b0, piece));
    }
    for wire in [unfragmented, fragmented] {
        let mut ws = server(no_takeover(), config);
        let mut buf = BytesMut::from(&wire[..]);
        let error = match ws.decode(&mut buf) {
            Ok(message) => panic!("{message:?}"),
            Err(error) => error,
        };
        assert!(
            matches!(error, Error::Inflate(InflateError::TooLarge { limit }) if limit == 1 << 20),
            "{error:?}"
        );
        let mut output = BytesMut::new();
        ws.take_output(&mut output);
        assert_eq!(close_code_of(&output), 1009);
    }
}

/// The message limit counts what a message inflates to, not its compressed length: a
/// compressed frame larger than the limit that inflates within it is a message.
#[test]
fn the_message_limit_applies_to_the_inflated_size() {
    let noise = noise(2000);
    let mut compressed = BytesMut::new();
    MessageDeflater::new(15, 0, false).compress(&noise, &mut compressed);
    assert!(
        compressed.len() > noise.len(),
        "stored blocks grow a little"
    );
    let config = Config::default().max_message_size(noise.len());
    let (messages, error, _) =
        server_reads(|| server(no_takeover(), config), &masked(0xc2, &compressed));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(messages, [Message::Binary(noise.into())]);
}

#[test]
fn messages_below_the_threshold_go_out_uncompressed() {
    let config = DeflateConfig {
        threshold: 64,
        ..DeflateConfig::default()
    };
    let mut ws = WebSocket::server().with_deflate(no_takeover(), &config);
    let mut wire = BytesMut::new();
    ws.encode(Message::Text("a".repeat(63)), &mut wire).unwrap();
    assert_eq!(wire[0], 0x81);
    wire.clear();
    ws.encode(Message::Text("a".repeat(64)), &mut wire).unwrap();
    assert_eq!(wire[0], 0xc1);
    assert!(wire.len() < 16, "{wire:02x?}");
    // Control frames never are.
    wire.clear();
    ws.encode(Message::Ping("a".repeat(100).into()), &mut wire)
        .unwrap();
    assert_eq!(wire[0], 0x89);
}

/// Without context takeover nothing depends on a message having gone through the
/// compressor, so one that does not shrink goes out as it is.
#[test]
fn an_incompressible_message_goes_out_uncompressed_without_takeover() {
    let noise = noise(1000);
    let mut ws = WebSocket::server().with_deflate(no_takeover(), &DeflateConfig::default());
    let mut wire = BytesMut::new();
    ws.encode(Message::Binary(noise.clone().into()), &mut wire)
        .unwrap();
    assert_eq!(&wire[..4], [0x82, 126, 0x03, 0xe8]);
    assert_eq!(&wire[4..], &noise[..]);
    // With takeover, it stays compressed: the peer's window must see it.
    let takeover = DeflateConfig {
        server_no_context_takeover: false,
        ..DeflateConfig::default()
    };
    let mut ws = WebSocket::server().with_deflate(Agreement::default(), &takeover);
    wire.clear();
    ws.encode(Message::Binary(noise.into()), &mut wire).unwrap();
    assert_eq!(wire[0], 0xc2);
}

/// The header is sized for the uncompressed length, then fixed where the compressed
/// length needs another size: each length class, both roles, decodes.
#[test]
fn compressed_frames_get_minimal_headers_in_every_length_class() {
    for (size, header) in [(200, 2), (1000, 2), (70_000, 4), (400_000, 4)] {
        let text: String = (0..size).map(|i| (b'a' + (i % 7) as u8) as char).collect();
        for role in [Role::Server, Role::Client] {
            let mut ws = WebSocket::new(role, Config::default())
                .with_deflate(no_takeover(), &DeflateConfig::default());
            let mut wire = BytesMut::new();
            ws.encode(Message::Text(text.clone()), &mut wire).unwrap();
            assert_eq!(wire[0], 0xc1);
            let masked = role == Role::Client;
            let short = usize::from(wire[1] & 0x7f);
            let length = match short {
                126 => usize::from(u16::from_be_bytes([wire[2], wire[3]])),
                127 => panic!("{size}: 64-bit length"),
                n => n,
            };
            let header_length = if short == 126 { 4 } else { 2 } + if masked { 4 } else { 0 };
            assert_eq!(header_length - if masked { 4 } else { 0 }, header, "{size}");
            assert_eq!(wire.len(), header_length + length, "{size} {role:?}");
            let mut peer = WebSocket::new(role.peer(), Config::default())
                .with_deflate(no_takeover(), &DeflateConfig::default());
            assert_eq!(
                peer.decode(&mut wire).unwrap(),
                Some(Message::Text(text.clone()))
            );
        }
    }
}

/// Both handshakes negotiate: the client offers what browsers do, the server answers
/// with its policy, and each end's compressor and decompressor follow the answer.
#[test]
fn the_handshakes_negotiate_and_messages_flow_compressed_both_ways() {
    let request = ClientRequest::new("ws://127.0.0.1:1/chat")
        .unwrap()
        .deflate(DeflateConfig::client());
    let mut client = WebSocket::connecting(Config::default(), request).unwrap();
    let mut server = WebSocket::accepting(
        Config::default(),
        ServerOptions::new().deflate(DeflateConfig::default()),
    );
    let mut to_server = BytesMut::new();
    client.take_output(&mut to_server);
    let head = String::from_utf8_lossy(&to_server).into_owned();
    assert!(
        head.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        ),
        "{head}"
    );
    assert_eq!(server.decode(&mut to_server).unwrap(), None);
    let mut to_client = BytesMut::new();
    server.take_output(&mut to_client);
    let answer = String::from_utf8_lossy(&to_client).into_owned();
    assert!(answer.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"), "{answer}");
    assert_eq!(client.decode(&mut to_client).unwrap(), None);
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.deflate(), server.deflate());
    assert_eq!(client.deflate(), Some(&no_takeover()));

    let json = r#"{"type":"say","user":"ana","text":"hello, hello, hello world"}"#.repeat(8);
    client
        .encode(Message::Text(json.clone()), &mut to_server)
        .unwrap();
    assert_eq!(to_server[0], 0xc1);
    assert!(to_server.len() < json.len() / 3, "{}", to_server.len());
    assert_eq!(
        server.decode(&mut to_server).unwrap(),
        Some(Message::Text(json.clone()))
    );
    server
        .encode(Message::Binary(json.clone().into()), &mut to_client)
        .unwrap();
    assert_eq!(to_client[0], 0xc2);
    assert_eq!(
        client.decode(&mut to_client).unwrap(),
        Some(Message::Binary(json.into()))
    );
    // No zlib context is held between messages, on either side.
    assert!(!server.holds_compression_context());
    assert!(!client.holds_compression_context());
}

#[test]
fn a_server_without_the_option_ignores_offers_and_a_hook_may_decline() {
    let request = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    let options = [
        ServerOptions::new(),
        ServerOptions::new()
            .deflate(DeflateConfig::default())
            .hook(|_, accept| {
                accept.no_deflate();
                Ok(())
            }),
    ];
    for options in options {
        let mut server = WebSocket::accepting(Config::default(), options);
        let mut buf = BytesMut::from(request);
        assert_eq!(server.decode(&mut buf).unwrap(), None);
        let mut answer = BytesMut::new();
        server.take_output(&mut answer);
        assert!(!String::from_utf8_lossy(&answer).contains("Extensions"));
        assert_eq!(server.deflate(), None);
        // And RSV1 is then refused.
        let mut frame =
            BytesMut::from(&masked(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])[..]);
        assert!(server.decode(&mut frame).is_err());
    }
}

/// A compressed message sent as `pieces` frames (RSV1 on the first), masked with KEY.
fn fragmented(compressed: &[u8], text: bool, pieces: usize) -> Vec<u8> {
    let size = compressed.len().div_ceil(pieces).max(1);
    let chunks: Vec<&[u8]> = if compressed.is_empty() {
        vec![&[]]
    } else {
        compressed.chunks(size).collect()
    };
    let mut wire = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let fin = if i + 1 == chunks.len() { 0x80 } else { 0 };
        let b0 = match i {
            0 => 0x40 | if text { 0x01 } else { 0x02 },
            _ => 0x00,
        } | fin;
        wire.extend(masked(b0, chunk));
    }
    wire
}

fn arb_payload() -> impl Strategy<Value = (bool, Vec<u8>)> {
    prop_oneof![
        ".{0,400}".prop_map(|s: String| (true, s.into_bytes())),
        // Repetitive binary, which compresses.
        (proptest::collection::vec(any::<u8>(), 1..16), 0..5000usize)
            .prop_map(|(unit, n)| (false, unit.repeat(n / unit.len() + 1))),
        proptest::collection::vec(any::<u8>(), 0..2000).prop_map(|v| (false, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Encode with compression (every message, threshold 0) → split anywhere → decode
    /// is the identity, both directions, with and without context takeover.
    #[test]
    fn compressed_round_trip_in_any_chunks(
        payloads in proptest::collection::vec(arb_payload(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        takeover in any::<bool>(),
    ) {
        let agreement = Agreement {
            server_no_context_takeover: !takeover,
            client_no_context_takeover: !takeover,
            ..Agreement::default()
        };
        let config = DeflateConfig { threshold: 0, ..DeflateConfig::client() };
        let messages: Vec<Message> = payloads
            .into_iter()
            .map(|(text, bytes)| match text {
                true => Message::Text(String::from_utf8(bytes).unwrap()),
                false => Message::Binary(bytes.into()),
            })
            .collect();
        for from in [Role::Client, Role::Server] {
            let mut sender = WebSocket::new(from, Config::default()).with_deflate(agreement, &config);
            let mut wire = BytesMut::new();
            for message in &messages {
                sender.encode(message.clone(), &mut wire).unwrap();
            }
            let mut receiver = WebSocket::new(from.peer(), Config::default()).with_deflate(agreement, &config);
            let got = decode_in_cuts(&mut receiver, &wire, &cuts);
            prop_assert_eq!(&got, &messages);
        }
    }

    /// A compressed message in 1 to 6 fragments decodes to the message, however the
    /// wire is split.
    #[test]
    fn fragmented_compressed_messages_in_any_chunks(
        (text, payload) in arb_payload(),
        pieces in 1..6usize,
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut compressed = BytesMut::new();
        MessageDeflater::new(15, 6, false).compress(&payload, &mut compressed);
        let wire = fragmented(&compressed, text, pieces);
        let mut ws = server(no_takeover(), Config::default());
        let got = decode_in_cuts(&mut ws, &wire, &cuts);
        let want = if text {
            Message::Text(String::from_utf8(payload).unwrap())
        } else {
            Message::Binary(payload.into())
        };
        prop_assert_eq!(got, vec![want]);
    }
}

/// The 101 a server sends for `request`, with `extensions` as its
/// `Sec-WebSocket-Extensions` (none if empty).
fn answer_with_extensions(request: &ClientRequest, extensions: &str) -> String {
    let mut answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        wm_websocket::handshake::accept_key(request.key().as_bytes())
    );
    if !extensions.is_empty() {
        answer.push_str(&format!("Sec-WebSocket-Extensions: {extensions}\r\n"));
    }
    answer + "\r\n"
}

/// Spec §4.6 and §10: a Workerman server with deflate on answers a bare
/// `permessage-deflate` and compresses with context takeover. The default client offer
/// accepts that answer, and reads Workerman's two "Hello" frames.
#[test]
fn a_client_reads_workermans_bare_answer_and_its_takeover_frames() {
    let request = ClientRequest::new("ws://127.0.0.1:1/")
        .unwrap()
        .deflate(DeflateConfig::client());
    let answer = answer_with_extensions(&request, "permessage-deflate");
    let mut client = WebSocket::connecting(Config::default(), request).unwrap();
    let mut wire = BytesMut::from(answer.as_str());
    wire.extend_from_slice(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    wire.extend_from_slice(&[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    assert_eq!(
        client.decode(&mut wire).unwrap(),
        Some(Message::Text("Hello".into()))
    );
    assert_eq!(
        client.decode(&mut wire).unwrap(),
        Some(Message::Text("Hello".into()))
    );
    assert_eq!(client.deflate(), Some(&Agreement::default()));
}

#[test]
fn a_client_fails_answers_its_offer_does_not_allow() {
    use wm_websocket::deflate::NegotiationError;
    use wm_websocket::handshake::HandshakeError;
    let offer = || {
        ClientRequest::new("ws://127.0.0.1:1/")
            .unwrap()
            .deflate(DeflateConfig::default())
    };
    type Expected = fn(&HandshakeError) -> bool;
    let cases: [(&str, Expected); 5] = [
        // Asked for server_no_context_takeover; a bare answer keeps the context.
        ("permessage-deflate", |e| {
            matches!(e, HandshakeError::Extension(NegotiationError::Mismatch(_)))
        }),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover, permessage-deflate; server_no_context_takeover", |e| {
            matches!(e, HandshakeError::Extension(NegotiationError::NotOffered))
        }),
        ("permessage-deflate; server_no_context_takeover; mystery", |e| {
            matches!(e, HandshakeError::Extension(NegotiationError::UnknownParameter(_)))
        }),
        ("x-webkit-deflate-frame", |e| {
            matches!(e, HandshakeError::ExtensionNotOffered(name) if name == "x-webkit-deflate-frame")
        }),
        ("permessage-deflate; server_no_context_takeover; client_max_window_bits", |e| {
            matches!(e, HandshakeError::Extension(NegotiationError::InvalidValue { .. }))
        }),
    ];
    for (extensions, expected) in cases {
        let request = offer();
        let answer = answer_with_extensions(&request, extensions);
        let mut client = WebSocket::connecting(Config::default(), request).unwrap();
        match client.decode(&mut BytesMut::from(answer.as_str())) {
            Err(Error::Handshake(error)) => assert!(expected(&error), "{extensions}: {error:?}"),
            other => panic!("{extensions}: {other:?}"),
        }
        assert_eq!(client.state(), State::Closed);
    }
    // Not selecting it is fine: the connection opens uncompressed.
    let request = offer();
    let answer = answer_with_extensions(&request, "");
    let mut client = WebSocket::connecting(Config::default(), request).unwrap();
    assert_eq!(
        client.decode(&mut BytesMut::from(answer.as_str())).unwrap(),
        None
    );
    assert_eq!((client.state(), client.deflate()), (State::Open, None));
}

/// Guards what `wm connect --deflate` found: messages sent before the `101` (Workerman's
/// clients send in `onConnect`) were encoded at once, uncompressed. They are held until the
/// answer says whether they may be compressed.
#[test]
fn messages_sent_before_the_101_are_compressed_once_it_agrees() {
    let request = ClientRequest::new("ws://127.0.0.1:1/")
        .unwrap()
        .deflate(DeflateConfig::client());
    let answer = answer_with_extensions(&request, "permessage-deflate");
    let mut client = WebSocket::connecting(Config::default(), request).unwrap();
    let long = "compress me, ".repeat(20);
    let mut early = BytesMut::new();
    client
        .encode(Message::Text(long.clone()), &mut early)
        .unwrap();
    client
        .encode(Message::Ping("p".into()), &mut early)
        .unwrap();
    client
        .encode(Message::Text("short".into()), &mut early)
        .unwrap();
    assert!(early.is_empty(), "nothing goes out before the 101");
    let mut head = BytesMut::new();
    client.take_output(&mut head);
    assert_eq!(
        client.decode(&mut BytesMut::from(answer.as_str())).unwrap(),
        None
    );
    let mut wire = BytesMut::new();
    client.take_output(&mut wire);
    let mut server =
        WebSocket::server().with_deflate(Agreement::default(), &DeflateConfig::default());
    assert_eq!(wire[0], 0xc1);
    assert!(wire.len() < long.len() / 2, "{}", wire.len());
    assert_eq!(server.decode(&mut wire).unwrap(), Some(Message::Text(long)));
    assert_eq!(
        server.decode(&mut wire).unwrap(),
        Some(Message::Ping("p".into()))
    );
    assert_eq!(
        server.decode(&mut wire).unwrap(),
        Some(Message::Text("short".into()))
    );
}
