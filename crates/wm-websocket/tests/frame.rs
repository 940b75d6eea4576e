//! Frame headers against RFC 6455 and the spec's vectors (§10.5), parsed from every prefix.

use bytes::BytesMut;
use wm_websocket::frame::{FrameHeader, HeaderRules, OpCode, Role, MAX_HEADER_LENGTH};
use wm_websocket::{apply_mask, CloseCode, FrameError};

const SERVER: HeaderRules = HeaderRules {
    role: Role::Server,
    rsv1_allowed: false,
    max_payload: 1 << 24,
    minimal_lengths: false,
};
/// The opt-in strict reading: lengths must be in their minimal form.
const STRICT: HeaderRules = HeaderRules {
    minimal_lengths: true,
    ..SERVER
};
const CLIENT: HeaderRules = HeaderRules {
    role: Role::Client,
    ..SERVER
};

/// Parses `wire`, checking that every prefix agrees with the whole: a prefix shorter than
/// the header needs more bytes or fails with the same error (a rule is checked as soon as
/// its bytes are in, never later); a longer one gives the same header.
fn parse_checked(
    wire: &[u8],
    rules: &HeaderRules,
) -> Result<Option<(FrameHeader, usize)>, FrameError> {
    let full = FrameHeader::parse(wire, rules);
    for cut in 0..wire.len() {
        let prefix = FrameHeader::parse(&wire[..cut], rules);
        match (&prefix, &full) {
            (Ok(None), _) => {}
            (Ok(Some((_, n))), Ok(Some(_))) if cut >= *n => assert_eq!(prefix, full),
            (Err(_), Err(_)) => assert_eq!(prefix, full, "prefix {cut} of {wire:02x?}"),
            _ => panic!("prefix {cut} of {wire:02x?} gave {prefix:?}, whole gave {full:?}"),
        }
    }
    full
}

fn parse(wire: &[u8], rules: &HeaderRules) -> Result<(FrameHeader, usize), FrameError> {
    parse_checked(wire, rules).map(|parsed| parsed.expect("a whole header"))
}

fn header(opcode: OpCode, fin: bool, mask: Option<[u8; 4]>, payload_length: u64) -> FrameHeader {
    FrameHeader {
        fin,
        rsv1: false,
        opcode,
        mask,
        payload_length,
    }
}

fn encoded(h: &FrameHeader) -> Vec<u8> {
    let mut dst = BytesMut::new();
    h.encode(&mut dst);
    assert_eq!(dst.len(), h.encoded_length());
    dst.to_vec()
}

#[test]
fn spec_server_hello() {
    let (h, n) = parse(b"\x81\x05Hello", &CLIENT).unwrap();
    assert_eq!((h, n), (header(OpCode::Text, true, None, 5), 2));
    assert_eq!(encoded(&h), b"\x81\x05");
}

#[test]
fn spec_masked_client_hello_unmasks() {
    let wire = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    let (h, n) = parse(wire, &SERVER).unwrap();
    assert_eq!(
        h,
        header(OpCode::Text, true, Some([0x37, 0xfa, 0x21, 0x3d]), 5)
    );
    let mut payload = wire[n..].to_vec();
    apply_mask(&mut payload, h.mask.unwrap(), 0);
    assert_eq!(payload, b"Hello");
    assert_eq!(encoded(&h), &wire[..n]);
}

#[test]
fn spec_fragments_and_control_frames() {
    let (h, _) = parse(b"\x01\x03Hel", &CLIENT).unwrap();
    assert_eq!(h, header(OpCode::Text, false, None, 3));
    let (h, _) = parse(b"\x80\x02lo", &CLIENT).unwrap();
    assert_eq!(h, header(OpCode::Continuation, true, None, 2));
    let (h, _) = parse(b"\x89\x85\x37\xfa\x21\x3d", &SERVER).unwrap();
    assert_eq!(h.opcode, OpCode::Ping);
    assert_eq!(encoded(&header(OpCode::Pong, true, None, 5)), b"\x8a\x05");
    assert_eq!(encoded(&header(OpCode::Close, true, None, 2)), b"\x88\x02");
    assert_eq!(encoded(&header(OpCode::Binary, true, None, 2)), b"\x82\x02");
}

#[test]
fn spec_length_forms_are_minimal() {
    assert_eq!(encoded(&header(OpCode::Text, true, None, 125)), b"\x81\x7d");
    assert_eq!(
        encoded(&header(OpCode::Text, true, None, 126)),
        b"\x81\x7e\x00\x7e"
    );
    assert_eq!(
        encoded(&header(OpCode::Text, true, None, 65535)),
        b"\x81\x7e\xff\xff"
    );
    assert_eq!(
        encoded(&header(OpCode::Text, true, None, 65536)),
        b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
    );
    // A client's 65 535-byte frame: the 16-bit form and a mask (Workerman's Ws sent the
    // 64-bit form).
    assert_eq!(
        encoded(&header(OpCode::Text, true, Some([1, 2, 3, 4]), 65535)),
        b"\x81\xfe\xff\xff\x01\x02\x03\x04"
    );
    for wire in [
        &b"\x81\x7e\x00\x7e"[..],
        b"\x81\x7e\xff\xff",
        b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00",
    ] {
        let (h, n) = parse(wire, &CLIENT).unwrap();
        assert_eq!((encoded(&h), n), (wire.to_vec(), wire.len()));
    }
}

#[test]
fn unmasked_client_frame_is_1002_even_when_short() {
    // Workerman closes without a code on `81 05 "hello"` and hangs on `81 02 "hi"`.
    for wire in [&b"\x81\x05hello"[..], b"\x81\x02hi"] {
        let e = parse(wire, &SERVER).unwrap_err();
        assert_eq!(e, FrameError::Unmasked);
        assert_eq!(e.close_code(), CloseCode::PROTOCOL_ERROR);
    }
    assert_eq!(
        parse(b"\x81\x85\x00\x00\x00\x00", &CLIENT).unwrap_err(),
        FrameError::Masked
    );
}

#[test]
fn reserved_bits_and_opcodes_are_1002_from_the_first_byte() {
    assert_eq!(
        parse(b"\xb1", &SERVER).unwrap_err(),
        FrameError::ReservedBits { rsv: 0b011 }
    );
    assert_eq!(
        parse(b"\x91", &SERVER).unwrap_err(),
        FrameError::ReservedBits { rsv: 0b001 }
    );
    assert_eq!(
        parse(b"\xc1", &SERVER).unwrap_err(),
        FrameError::ReservedBits { rsv: 0b100 }
    );
    let deflate = HeaderRules {
        rsv1_allowed: true,
        ..SERVER
    };
    let (h, _) = parse(b"\xc1\x80\x00\x00\x00\x00", &deflate).unwrap();
    assert!(h.rsv1);
    assert_eq!(encoded(&h), b"\xc1\x80\x00\x00\x00\x00");
    for op in [0x3u8, 0x7, 0xB, 0xF] {
        assert_eq!(
            parse(&[0x80 | op], &SERVER).unwrap_err(),
            FrameError::ReservedOpcode(op)
        );
    }
}

#[test]
fn control_frames_must_be_final_and_short() {
    assert_eq!(
        parse(b"\x09\x82\x00\x00\x00\x00pp", &SERVER).unwrap_err(),
        FrameError::FragmentedControl {
            opcode: OpCode::Ping
        }
    );
    assert_eq!(
        parse(b"\x89\xfe\x00\x7e", &SERVER).unwrap_err(),
        FrameError::ControlTooLong { length: 126 }
    );
    let (h, _) = parse(b"\x89\xfd\x00\x00\x00\x00", &SERVER).unwrap();
    assert_eq!(h.payload_length, 125);
}

#[test]
fn non_minimal_lengths_are_1002_only_when_asked_and_the_msb_always() {
    assert_eq!(
        parse(b"\x81\xfe\x00\x05", &STRICT).unwrap_err(),
        FrameError::NonMinimalLength { length: 5 }
    );
    assert_eq!(
        parse(b"\x81\xff\x00\x00\x00\x00\x00\x00\xff\xff", &STRICT).unwrap_err(),
        FrameError::NonMinimalLength { length: 65535 }
    );
    for rules in [&SERVER, &STRICT] {
        assert_eq!(
            parse(b"\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", rules).unwrap_err(),
            FrameError::LengthMsbSet
        );
    }
}

#[test]
fn workermans_65535_byte_header_parses_by_default() {
    // Workerman's ws:// client: 65535 in the 64-bit form, with its zero mask (spec §9 #14).
    let wire = b"\x81\xff\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x00\x00";
    let (h, n) = parse(wire, &SERVER).unwrap();
    assert_eq!((h.payload_length, h.mask, n), (65535, Some([0; 4]), 14));
    // Re-encoded, it takes its minimal form.
    assert_eq!(encoded(&h), b"\x81\xfe\xff\xff\x00\x00\x00\x00");
    let (h, n) = parse(b"\x82\xfe\x00\x05\x01\x02\x03\x04", &SERVER).unwrap();
    assert_eq!((h.payload_length, n), (5, 8));
    let (h, _) = parse(
        b"\x82\xff\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04",
        &SERVER,
    )
    .unwrap();
    assert_eq!(h.payload_length, 0);
}

#[test]
fn a_non_minimal_length_still_meets_the_frame_limit() {
    let rules = HeaderRules {
        max_payload: 100,
        ..SERVER
    };
    assert_eq!(
        parse(b"\x82\xff\x00\x00\x00\x00\x00\x00\x00\x65", &rules).unwrap_err(),
        FrameError::TooLarge {
            length: 101,
            limit: 100
        }
    );
}

#[test]
fn oversize_frame_is_1009_before_its_payload() {
    let rules = HeaderRules {
        max_payload: 1000,
        ..SERVER
    };
    let e = parse(b"\x82\xfe\x03\xe9", &rules).unwrap_err();
    assert_eq!(
        e,
        FrameError::TooLarge {
            length: 1001,
            limit: 1000
        }
    );
    assert_eq!(e.close_code(), CloseCode::MESSAGE_TOO_BIG);
    assert!(parse(b"\x82\xfe\x03\xe8\x00\x00\x00\x00", &rules).is_ok());
}

#[test]
fn errors_say_what_was_wrong() {
    assert_eq!(
        FrameError::NonMinimalLength { length: 5 }.to_string(),
        "payload length 5 is not in its minimal encoding"
    );
    assert_eq!(
        FrameError::ReservedOpcode(0xb).to_string(),
        "reserved opcode 0xb"
    );
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn any_header() -> impl Strategy<Value = (FrameHeader, Role)> {
        let opcode = prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong),
        ];
        (
            opcode,
            any::<bool>(),
            any::<bool>(),
            any::<[u8; 4]>(),
            prop_oneof![0u64..200, 0u64..70_000, 0u64..(1 << 40)],
        )
            .prop_map(|(opcode, fin, masked, key, len)| {
                let control = opcode.is_control();
                let h = FrameHeader {
                    fin: fin || control,
                    rsv1: false,
                    opcode,
                    mask: masked.then_some(key),
                    payload_length: if control { len % 126 } else { len },
                };
                (h, if masked { Role::Server } else { Role::Client })
            })
    }

    proptest! {
        #[test]
        fn encode_then_parse_is_identity((h, role) in any_header(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
            let rules = HeaderRules { role, rsv1_allowed: false, max_payload: u64::MAX, minimal_lengths: true };
            let mut wire = encoded(&h);
            let n = wire.len();
            prop_assert!(n <= MAX_HEADER_LENGTH);
            wire.extend_from_slice(&tail);
            prop_assert_eq!(parse(&wire, &rules).unwrap(), (h, n));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_prefixes_agree(
            wire in proptest::collection::vec(any::<u8>(), 0..16),
            client in any::<bool>(),
        ) {
            let _ = parse_checked(&wire, if client { &CLIENT } else { &SERVER });
        }
    }
}
