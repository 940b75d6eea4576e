//! The message layer: the spec's frame vectors (§10.5) as a server receives them, every
//! negative vector with the close code it must cause, each input split at every byte.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use wm_protocol::testing::{assert_every_split, decode_chunks};
use wm_websocket::close::CloseFrame;
mod support;
use support::{close_code_of, decode_in_cuts, masked};

use wm_websocket::{
    CloseCode, Config, Encode, Error, FrameError, Message, Protocol, Role, State, WebSocket,
    MAX_QUEUED_PONGS,
};

fn concat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

/// What a server makes of `wire` read in one piece: messages, the error, and the bytes it
/// queued to send (pongs, close frames). Also checks that every split and a 1-byte drip
/// give the same messages and error.
fn server_reads(wire: &[u8]) -> (Vec<Message>, Option<Error>, Vec<u8>) {
    server_reads_with(Config::default(), wire)
}

fn server_reads_with(config: Config, wire: &[u8]) -> (Vec<Message>, Option<Error>, Vec<u8>) {
    assert_every_split(|| WebSocket::new(Role::Server, config), wire);
    let mut ws = WebSocket::new(Role::Server, config);
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

#[test]
fn masked_hello_from_rfc() {
    let (messages, error, output) = server_reads(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    assert_eq!(messages, [Message::Text("Hello".into())]);
    assert!(error.is_none());
    assert!(output.is_empty());
}

#[test]
fn fragmented_hello_is_one_message() {
    let wire = concat(&[masked(0x01, b"Hel"), masked(0x80, b"lo")]);
    let (messages, error, _) = server_reads(&wire);
    assert_eq!(messages, [Message::Text("Hello".into())]);
    assert!(error.is_none());
}

#[test]
fn ping_is_answered_with_the_same_payload_and_observable() {
    let (messages, error, output) = server_reads(b"\x89\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    assert_eq!(messages, [Message::Ping(Bytes::from_static(b"Hello"))]);
    assert!(error.is_none());
    assert_eq!(output, b"\x8a\x05Hello");
}

#[test]
fn pong_is_handed_out_and_not_answered() {
    let (messages, _, output) = server_reads(&masked(0x8A, b"beat"));
    assert_eq!(messages, [Message::Pong(Bytes::from_static(b"beat"))]);
    assert!(output.is_empty());
}

#[test]
fn close_is_echoed_with_the_peers_code() {
    let (messages, error, output) = server_reads(&masked(0x88, b"\x03\xe9bye"));
    assert_eq!(
        messages,
        [Message::Close(Some(CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "bye".into()
        }))]
    );
    assert!(error.is_none());
    assert_eq!(output, b"\x88\x02\x03\xe9");
}

#[test]
fn empty_close_is_echoed_empty_and_later_frames_are_dropped() {
    let wire = concat(&[masked(0x88, b""), masked(0x81, b"after")]);
    let (messages, error, output) = server_reads(&wire);
    assert_eq!(messages, [Message::Close(None)]);
    assert!(error.is_none());
    assert_eq!(output, b"\x88\x00");
}

#[test]
fn control_frames_between_fragments_keep_the_message_whole() {
    // Workerman gives pong "HelP" and message "lo" (§4.4); RFC 6455 wants these.
    let wire = concat(&[
        masked(0x01, b"Hel"),
        masked(0x89, b"P"),
        masked(0x80, b"lo"),
    ]);
    let (messages, error, output) = server_reads(&wire);
    assert_eq!(
        messages,
        [
            Message::Ping(Bytes::from_static(b"P")),
            Message::Text("Hello".into())
        ]
    );
    assert!(error.is_none());
    assert_eq!(output, b"\x8a\x01P");
}

#[test]
fn binary_message_is_a_slice_and_type_is_per_message() {
    let wire = concat(&[
        masked(0x82, b"\x00\x01"),
        masked(0x81, b"t"),
        masked(0x02, b"a"),
        masked(0x80, b"b"),
    ]);
    let (messages, error, _) = server_reads(&wire);
    assert_eq!(
        messages,
        [
            Message::Binary(Bytes::from_static(b"\x00\x01")),
            Message::Text("t".into()),
            Message::Binary(Bytes::from_static(b"ab")),
        ]
    );
    assert!(error.is_none());
}

#[test]
fn all_three_length_forms_decode() {
    for length in [0, 125, 126, 65535, 65536, 100_000] {
        let payload: Vec<u8> = (0..length).map(|i| (i % 251) as u8).collect();
        let wire = masked(0x82, &payload);
        let mut ws = WebSocket::server();
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(
            ws.decode(&mut buf).unwrap(),
            Some(Message::Binary(payload.into())),
            "length {length}"
        );
        assert!(buf.is_empty());
    }
}

/// The spec's negative vectors (§10.5): each fails the connection with a close frame
/// carrying the code, where Workerman delivers, hangs or closes bare.
#[test]
fn negative_vectors_fail_with_their_close_code() {
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked text", b"\x81\x05hello".to_vec(), 1002),
        ("unmasked 4 bytes", b"\x81\x02hi".to_vec(), 1002),
        ("RSV2", masked(0xA1, b"x"), 1002),
        ("RSV3", masked(0x91, b"x"), 1002),
        ("RSV1 unnegotiated", masked(0xC1, b"x"), 1002),
        ("opcode 3", masked(0x83, b"x"), 1002),
        ("opcode B", masked(0x8B, b"x"), 1002),
        ("ping of 126 bytes", masked(0x89, &[b'p'; 126]), 1002),
        (
            "ping FIN=0 then text",
            concat(&[masked(0x09, b"pp"), masked(0x81, b"t")]),
            1002,
        ),
        ("orphan continuation", masked(0x80, b"orphan"), 1002),
        ("text ff fe", masked(0x81, b"\xff\xfe"), 1007),
        ("close with 1 byte", masked(0x88, b"\x03"), 1002),
        ("close code 999", masked(0x88, b"\x03\xe7"), 1002),
        ("close code 1005", masked(0x88, b"\x03\xed"), 1002),
        (
            "close reason not UTF-8",
            masked(0x88, b"\x03\xe8\xff"),
            1007,
        ),
        (
            "new text mid-message",
            concat(&[masked(0x01, b"AB"), masked(0x81, b"CD")]),
            1002,
        ),
        (
            "fragmented text invalid across frames",
            concat(&[masked(0x01, b"\xce"), masked(0x80, b"\xff")]),
            1007,
        ),
        (
            "text truncated sequence at end",
            masked(0x81, b"ok\xe2\x82"),
            1007,
        ),
    ];
    for (name, wire, code) in cases {
        let (_, error, output) = server_reads(&wire);
        let error = error.unwrap_or_else(|| panic!("{name}: no error"));
        assert_eq!(error.close_code(), Some(CloseCode(code)), "{name}: {error}");
        assert_eq!(close_code_of(&output), code, "{name}");
    }
}

#[test]
fn nothing_is_decoded_or_answered_after_a_failure() {
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::from(&b"\x81\x05hello"[..]);
    assert!(ws.decode(&mut buf).is_err());
    assert_eq!(ws.state(), State::Closed);
    buf.extend_from_slice(&masked(0x89, b"x"));
    assert!(ws.decode(&mut buf).unwrap().is_none());
    let mut output = BytesMut::new();
    ws.take_output(&mut output);
    assert_eq!(
        output.len(),
        4 + "frame from the client is not masked".len()
    );
    assert_eq!(close_code_of(&output), 1002);
}

#[test]
fn oversize_frame_fails_with_1009_before_its_payload_arrives() {
    let config = Config::default().max_frame_size(1000);
    let mut ws = WebSocket::new(Role::Server, config);
    // Only the header of a 1 MiB frame: refused at once, nothing reserved for it.
    let mut buf = BytesMut::from(&b"\x82\xff\x00\x00\x00\x00\x00\x10\x00\x00"[..]);
    let error = ws.decode(&mut buf).unwrap_err();
    assert_eq!(error.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
    assert!(buf.capacity() < 1000);
}

#[test]
fn message_limit_counts_all_fragments() {
    let config = Config::default().max_message_size(10);
    let ok = concat(&[masked(0x02, b"12345"), masked(0x80, b"67890")]);
    let (messages, error, _) = server_reads_with(config, &ok);
    assert_eq!(messages.len(), 1);
    assert!(error.is_none());
    let over = concat(&[masked(0x02, b"12345"), masked(0x80, b"678901")]);
    let (messages, error, output) = server_reads_with(config, &over);
    assert!(messages.is_empty());
    assert!(matches!(
        error,
        Some(Error::MessageTooLarge {
            length: 11,
            limit: 10
        })
    ));
    assert_eq!(close_code_of(&output), 1009);
}

#[test]
fn fragment_count_is_limited() {
    let config = Config::default().max_fragments(3);
    let three = concat(&[masked(0x02, b""), masked(0x00, b""), masked(0x80, b"x")]);
    let (messages, error, _) = server_reads_with(config, &three);
    assert_eq!(messages, [Message::Binary(Bytes::from_static(b"x"))]);
    assert!(error.is_none());
    let four = concat(&[
        masked(0x02, b""),
        masked(0x00, b""),
        masked(0x00, b""),
        masked(0x80, b"x"),
    ]);
    let (_, error, output) = server_reads_with(config, &four);
    assert!(matches!(error, Some(Error::TooManyFragments { limit: 3 })));
    assert_eq!(close_code_of(&output), 1009);
}

/// Autobahn 6.4.3 / 6.4.4: one text frame whose middle is invalid arrives in pieces; the
/// connection must fail when the bad bytes arrive, not when the frame is complete.
#[test]
fn invalid_utf8_fails_fast_inside_an_unfinished_frame() {
    let mut payload = "κόσμε".as_bytes().to_vec();
    payload.extend_from_slice(b"\xf4\x90\x80\x80");
    payload.extend_from_slice(b"edited");
    let wire = masked(0x81, &payload);
    let bad_end = 6 + "κόσμε".len() + 4;
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::from(&wire[..bad_end - 4]);
    assert!(ws.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&wire[bad_end - 4..bad_end]);
    let error = ws.decode(&mut buf).unwrap_err();
    let valid = "κόσμε".len();
    assert!(
        matches!(error, Error::InvalidUtf8 { valid_up_to } if valid_up_to == valid),
        "{error}"
    );

    // And across fragments: the second fragment is bad, the third never needed.
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::from(
        &concat(&[
            masked(0x01, "κόσμε".as_bytes()),
            masked(0x00, b"\xf4\x90\x80\x80"),
        ])[..],
    );
    let error = ws.decode(&mut buf).unwrap_err();
    assert!(
        matches!(error, Error::InvalidUtf8 { valid_up_to } if valid_up_to == valid),
        "{error}"
    );
}

#[test]
fn valid_utf8_split_inside_a_character_across_fragments() {
    let text = "héllo ✓ 😀";
    let bytes = text.as_bytes();
    for cut in 0..=bytes.len() {
        let wire = concat(&[masked(0x01, &bytes[..cut]), masked(0x80, &bytes[cut..])]);
        let (messages, error, _) = server_reads(&wire);
        assert_eq!(messages, [Message::Text(text.into())], "cut {cut}");
        assert!(error.is_none());
    }
}

#[test]
fn end_of_input_mid_frame_is_an_error() {
    let transcript = decode_chunks(&mut WebSocket::server(), [&masked(0x81, b"hello")[..4]]);
    assert!(transcript.error.unwrap().contains("UnexpectedEof"));
}

#[test]
fn client_masks_every_frame_with_a_fresh_key_and_server_reads_it() {
    let mut client = WebSocket::client();
    let mut wire = BytesMut::new();
    client.encode("Hello", &mut wire).unwrap();
    client.encode("Hello", &mut wire).unwrap();
    assert_eq!(wire.len(), 2 * 11);
    assert_eq!(&wire[..2], b"\x81\x85");
    assert_ne!(&wire[2..6], &wire[13..17], "two frames, two keys");
    let mut server = WebSocket::server();
    assert_eq!(
        server.decode(&mut wire).unwrap(),
        Some(Message::Text("Hello".into()))
    );
    assert_eq!(
        server.decode(&mut wire).unwrap(),
        Some(Message::Text("Hello".into()))
    );
}

#[test]
fn server_encodes_the_spec_vectors() {
    let mut ws = WebSocket::server();
    let mut out = BytesMut::new();
    ws.encode("Hello", &mut out).unwrap();
    assert_eq!(&out[..], b"\x81\x05Hello");
    out.clear();
    ws.encode(&b"\x00\x01"[..], &mut out).unwrap();
    assert_eq!(&out[..], b"\x82\x02\x00\x01");
    for (length, header) in [
        (126, &b"\x81\x7e\x00\x7e"[..]),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ] {
        out.clear();
        ws.encode("a".repeat(length), &mut out).unwrap();
        assert_eq!(&out[..header.len()], header);
        assert_eq!(out.len(), header.len() + length);
    }
    out.clear();
    ws.encode(Message::Ping(Bytes::new()), &mut out).unwrap();
    assert_eq!(&out[..], b"\x89\x00");
}

#[test]
fn sending_checks_control_rules_and_close_state() {
    let mut ws = WebSocket::server();
    let mut out = BytesMut::new();
    assert!(matches!(
        ws.encode(Message::Ping(vec![0; 126].into()), &mut out),
        Err(Error::ControlPayloadTooLong { length: 126 })
    ));
    assert!(matches!(
        ws.encode(CloseCode(1005), &mut out),
        Err(Error::UnsendableCloseCode(1005))
    ));
    assert!(out.is_empty());
    ws.encode(CloseCode::NORMAL, &mut out).unwrap();
    assert_eq!(&out[..], b"\x88\x02\x03\xe8");
    assert_eq!(ws.state(), State::Closing);
    assert!(matches!(
        ws.encode("late", &mut out),
        Err(Error::SendAfterClose)
    ));
    ws.encode(CloseCode::NORMAL, &mut out).unwrap();
    assert_eq!(out.len(), 4, "a second close writes nothing");
    // The peer's close answers ours: no echo, the connection is closed.
    let mut buf = BytesMut::from(&masked(0x88, b"\x03\xe8")[..]);
    assert!(matches!(
        ws.decode(&mut buf).unwrap(),
        Some(Message::Close(Some(_)))
    ));
    assert_eq!(ws.state(), State::Closed);
    assert!(!ws.has_output());
}

#[test]
fn a_one_byte_drip_of_a_64k_text_frame_gives_the_same_message() {
    // That each byte is unmasked and checked once is the unit test in protocol.rs.
    let text = "ab✓".repeat(64 * 1024 / 5);
    let wire = masked(0x81, text.as_bytes());
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::new();
    let mut got = None;
    for &byte in &wire {
        buf.extend_from_slice(&[byte]);
        if let Some(message) = ws.decode(&mut buf).unwrap() {
            got = Some(message);
        }
    }
    assert_eq!(got, Some(Message::Text(text)));
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        ".{0,300}".prop_map(Message::Text),
        proptest::collection::vec(any::<u8>(), 0..70_000).prop_map(|v| Message::Binary(v.into())),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|v| Message::Ping(v.into())),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|v| Message::Pong(v.into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Encode → split anywhere → decode is the identity, both directions.
    #[test]
    fn round_trip_in_any_chunks(
        messages in proptest::collection::vec(arb_message(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
            let mut sender = WebSocket::new(from, Config::default());
            let mut wire = BytesMut::new();
            for message in &messages {
                sender.encode(message.clone(), &mut wire).unwrap();
            }
            let mut receiver = WebSocket::new(to, Config::default());
            let got = decode_in_cuts(&mut receiver, &wire, &cuts);
            prop_assert_eq!(&got, &messages);
        }
    }
}

#[test]
fn each_ping_in_one_read_gets_its_pong_in_order() {
    // Autobahn 2.10: ten pings in one write, ten pongs with the same payloads.
    let wire: Vec<u8> = (0..10u8).flat_map(|i| masked(0x89, &[i; 3])).collect();
    let (messages, error, output) = server_reads(&wire);
    assert!(error.is_none());
    assert_eq!(messages.len(), 10);
    let expected: Vec<u8> = (0..10u8)
        .flat_map(|i| [&[0x8a, 3][..], &[i; 3]].concat())
        .collect();
    assert_eq!(output, expected);
}

#[test]
fn a_ping_flood_is_answered_up_to_the_cap_then_only_the_latest() {
    // A peer that sends pings and never reads: pongs queue up to MAX_QUEUED_PONGS, then
    // each new ping replaces the one pong owed past the cap (RFC 6455 §5.5.3).
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::new();
    for i in 0..100_000u32 {
        buf.extend_from_slice(&masked(0x89, &i.to_be_bytes()));
        assert!(matches!(
            ws.decode(&mut buf).unwrap(),
            Some(Message::Ping(_))
        ));
    }
    let mut output = BytesMut::new();
    ws.take_output(&mut output);
    let fitted = MAX_QUEUED_PONGS / 6;
    assert_eq!(output.len(), (fitted + 1) * 6);
    assert_eq!(&output[..6], b"\x8a\x04\x00\x00\x00\x00");
    assert_eq!(
        &output[output.len() - 12..output.len() - 6],
        &[&[0x8a, 4][..], &(fitted as u32 - 1).to_be_bytes()].concat()[..]
    );
    assert_eq!(&output[output.len() - 6..], b"\x8a\x04\x00\x01\x86\x9f");
    // Taken: the next ping queues again.
    output.clear();
    assert_eq!(ws.take_output(&mut output), 0);
    buf.extend_from_slice(&masked(0x89, b"x"));
    ws.decode(&mut buf).unwrap();
    assert_eq!(ws.take_output(&mut output), 3);
}

#[test]
fn pings_before_a_bad_frame_are_answered_before_the_close() {
    let wire = concat(&[masked(0x89, b"a"), masked(0x89, b"b"), masked(0xc1, b"x")]);
    let (messages, error, output) = server_reads(&wire);
    assert_eq!(messages.len(), 2);
    assert!(error.is_some());
    assert_eq!(&output[..6], b"\x8a\x01a\x8a\x01b");
    assert_eq!(close_code_of(&output[6..]), 1002);
}

#[test]
fn pings_before_the_peers_close_are_answered_before_the_echo() {
    let wire = concat(&[masked(0x89, b"a"), masked(0x88, b"\x03\xe8")]);
    let (_, error, output) = server_reads(&wire);
    assert!(error.is_none());
    assert_eq!(output, b"\x8a\x01a\x88\x02\x03\xe8");
}

#[test]
fn a_non_minimal_length_from_workermans_client_is_a_message() {
    // Workerman's ws:// client sends 65535 bytes with the 64-bit length and a zero mask.
    let payload = vec![b'w'; 65535];
    let mut wire = b"\x81\xff\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x00\x00".to_vec();
    wire.extend_from_slice(&payload);
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(
        ws.decode(&mut buf).unwrap(),
        Some(Message::Text(String::from_utf8(payload).unwrap()))
    );
    // A 16-bit length of 5, split at every byte.
    let mut short = b"\x81\xfe\x00\x05".to_vec();
    short.extend_from_slice(&masked(0x81, b"hello")[2..]);
    let (messages, error, output) = server_reads(&short);
    assert_eq!(messages, [Message::Text("hello".into())]);
    assert!(error.is_none() && output.is_empty());
    // The strict option refuses both with 1002.
    let strict = Config::default().minimal_lengths(true);
    let (messages, error, output) = server_reads_with(strict, &short);
    assert!(messages.is_empty());
    assert!(
        matches!(
            error,
            Some(Error::Frame(FrameError::NonMinimalLength { length: 5 }))
        ),
        "{error:?}"
    );
    assert_eq!(close_code_of(&output), 1002);
}

#[test]
fn a_client_accepts_a_non_minimal_length_too() {
    // A server frame (unmasked) with a 16-bit length of 5, split at every byte.
    let wire = b"\x82\x7e\x00\x05hello";
    let t = assert_every_split(WebSocket::client, wire);
    assert_eq!(t.error, None);
    assert_eq!(t.messages.len(), 1);
    let mut ws = WebSocket::client();
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(
        ws.decode(&mut buf).unwrap(),
        Some(Message::Binary(Bytes::from_static(b"hello")))
    );
    let strict = Config::default().minimal_lengths(true);
    let t = assert_every_split(|| WebSocket::new(Role::Client, strict), wire);
    assert!(t.error.is_some());
}

#[test]
fn a_non_minimal_length_over_the_limit_is_1009_before_its_payload() {
    let config = Config::default()
        .max_message_size(1000)
        .max_frame_size(1000);
    let wire = b"\x82\xff\x00\x00\x00\x00\x00\x00\x03\xe9\x00\x00\x00\x00";
    let (_, error, output) = server_reads_with(config, wire);
    assert!(error.is_some());
    assert_eq!(close_code_of(&output), 1009);
}

#[test]
fn no_pong_follows_our_close() {
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::from(&masked(0x89, b"p")[..]);
    ws.decode(&mut buf).unwrap();
    let mut out = BytesMut::new();
    ws.encode(CloseCode::NORMAL, &mut out).unwrap();
    ws.take_output(&mut out);
    assert_eq!(&out[..], b"\x88\x02\x03\xe8");
}

#[test]
fn end_of_input_mid_frame_closes_the_connection() {
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::from(&masked(0x81, b"hello")[..4]);
    assert!(matches!(
        ws.decode_eof(&mut buf),
        Err(Error::UnexpectedEof { buffered: 4 })
    ));
    assert_eq!(ws.state(), State::Closed);
    assert!(
        !ws.has_output(),
        "no close frame to a transport that is gone"
    );
}

#[test]
fn a_swapped_buffer_gives_nothing_rather_than_a_panic() {
    // The contract asks for the same buffer each time; a caller that breaks it gets
    // wrong results, never a panic.
    let mut ws = WebSocket::server();
    let mut buf = BytesMut::from(&masked(0x82, &[1; 300])[..100]);
    assert!(ws.decode(&mut buf).unwrap().is_none());
    for swapped in [&b""[..], b"\x00", &[0; 50]] {
        let mut other = BytesMut::from(swapped);
        let _ = ws.decode(&mut other);
    }
}
