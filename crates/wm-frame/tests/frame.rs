//! The frame protocol against the spec's vectors (§10.1), its limits, every chunking, and
//! real sockets.

use bytes::{Bytes, BytesMut};
use wm_frame::{Error, Frame, DEFAULT_MAX_FRAME_LENGTH};
use wm_protocol::testing::{assert_every_split, decode_split_at};
use wm_protocol::{Encode, Limits, Protocol};

#[test]
fn spec_encode_counts_the_header() {
    let mut dst = BytesMut::new();
    Frame::new().encode("hello", &mut dst).unwrap();
    assert_eq!(&dst[..], b"\x00\x00\x00\x09hello");
    dst.clear();
    Frame::new().encode(b"", &mut dst).unwrap();
    assert_eq!(&dst[..], b"\x00\x00\x00\x04");
}

#[test]
fn spec_decode_vectors() {
    // The spec's `decode(00 00 00 05 "jhdxr")` is Workerman's decode(), which ignores the
    // length. On a stream, that length makes a 1-byte frame, and "hdxr" the next header.
    let t = assert_every_split(Frame::new, b"\x00\x00\x00\x05jhdxr");
    assert_eq!(t.messages, [r#"b"j""#]);
    assert_eq!(
        t.error,
        Some(format!(
            "PacketTooLarge {{ length: {}, limit: {DEFAULT_MAX_FRAME_LENGTH} }}",
            u32::from_be_bytes(*b"hdxr")
        ))
    );
    let t = assert_every_split(Frame::new, b"\x00\x00\x00\x09jhdxr");
    assert_eq!(t.messages, [r#"b"jhdxr""#]);
    let t = assert_every_split(Frame::new, b"\x00\x00\x00\x04");
    assert_eq!(t.messages, [r#"b"""#]);
    assert_eq!(t.error, None);
}

#[test]
fn spec_stream_split_over_two_reads() {
    let wire = b"\x00\x00\x00\x09hello\x00\x00\x00\x07abc";
    let t = decode_split_at(&mut Frame::new(), wire, &[13]);
    assert_eq!(t.messages, [r#"b"hello""#, r#"b"abc""#]);
    let t = assert_every_split(Frame::new, wire);
    assert_eq!(t.messages, [r#"b"hello""#, r#"b"abc""#]);
}

#[test]
fn spec_input_needs_four_bytes() {
    let mut frame = Frame::new();
    let mut buf = BytesMut::from(&b"\x00\x00\x00"[..]);
    assert_eq!(frame.decode(&mut buf).unwrap(), None);
    // 42 declared, so 42 bytes are awaited and reserved.
    buf.extend_from_slice(b"\x2a");
    assert_eq!(frame.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() >= 42);
}

#[test]
fn a_large_declared_length_reserves_only_a_window_ahead() {
    // 8 MiB declared (within the 10 MiB limit), 4 bytes sent: the reservation is bounded so
    // that idle peers cannot pin the full package size each.
    let mut frame = Frame::new();
    let mut buf = BytesMut::from(&b"\x00\x80\x00\x00"[..]);
    assert_eq!(frame.decode(&mut buf).unwrap(), None);
    assert!(
        buf.capacity() <= 4 + wm_protocol::MAX_RESERVE_AHEAD + 64,
        "{}",
        buf.capacity()
    );
    assert!(buf.capacity() >= wm_protocol::MAX_RESERVE_AHEAD);
}

#[test]
fn lengths_below_the_header_are_refused() {
    // Workerman stalls on 0 and desynchronises on 1..=3.
    for length in 0u8..4 {
        let wire = [0, 0, 0, length, b'x', b'y', b'z', b'w'];
        let t = assert_every_split(Frame::new, &wire);
        assert!(t.messages.is_empty());
        assert_eq!(
            t.error,
            Some(format!(
                "LengthBelowHeader {{ length: {length}, header: 4 }}"
            ))
        );
    }
}

#[test]
fn length_over_the_limit_is_refused_before_reserving() {
    let mut frame = Frame::with_max_frame_length(1024);
    let mut buf = BytesMut::with_capacity(8);
    buf.extend_from_slice(b"\x00\x00\x04\x01");
    let capacity = buf.capacity();
    assert!(matches!(
        frame.decode(&mut buf),
        Err(Error::PacketTooLarge {
            length: 1025,
            limit: 1024
        })
    ));
    assert_eq!(
        buf.capacity(),
        capacity,
        "memory reserved for a refused frame"
    );
}

#[test]
fn length_at_the_limit_is_accepted() {
    let mut wire = BytesMut::new();
    Frame::new().encode([7u8; 1020], &mut wire).unwrap();
    let t = assert_every_split(|| Frame::with_max_frame_length(1024), &wire);
    assert_eq!(t.messages.len(), 1);
    assert_eq!(t.error, None);
    let t = assert_every_split(|| Frame::with_max_frame_length(1023), &wire);
    assert_eq!(
        t.error.as_deref(),
        Some("PacketTooLarge { length: 1024, limit: 1023 }")
    );
}

#[test]
fn huge_declared_length_is_refused_by_the_default_limit() {
    let t = assert_every_split(Frame::new, b"\xff\xff\xff\xffbody");
    assert_eq!(
        t.error,
        Some(format!(
            "PacketTooLarge {{ length: 4294967295, limit: {DEFAULT_MAX_FRAME_LENGTH} }}"
        ))
    );
}

#[test]
fn defaults_follow_workerman() {
    assert_eq!(Frame::new().max_frame_length(), 10 * 1024 * 1024);
    assert_eq!(
        Frame::default().max_frame_length(),
        DEFAULT_MAX_FRAME_LENGTH
    );
    let limits = Limits::new().max_package_size(100);
    assert_eq!(Frame::with_limits(&limits).max_frame_length(), 100);
}

#[test]
fn end_of_input_inside_a_frame_is_an_error() {
    let t = assert_every_split(Frame::new, b"\x00\x00\x00\x06ok\x00\x00\x00\x09hel");
    assert_eq!(t.messages, [r#"b"ok""#]);
    assert_eq!(t.error.as_deref(), Some("UnexpectedEof { buffered: 7 }"));
    let t = assert_every_split(Frame::new, b"\x00\x00");
    assert_eq!(t.error.as_deref(), Some("UnexpectedEof { buffered: 2 }"));
}

#[test]
fn bodies_are_slices_of_the_read_buffer() {
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x08body\x00\x00\x00\x04"[..]);
    let base = buf.as_ptr();
    let body = Frame::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(body, "body");
    assert_eq!(body.as_ptr(), base.wrapping_add(4), "the body was copied");
}

#[test]
fn drip_keeps_the_header_it_already_read() {
    // The length is parsed once; later reads only wait for the body.
    let mut wire = BytesMut::new();
    Frame::new().encode(vec![1u8; 10_000], &mut wire).unwrap();
    let mut frame = Frame::new();
    let mut buf = BytesMut::new();
    for (i, byte) in wire.iter().enumerate() {
        buf.extend_from_slice(&[*byte]);
        let got = frame.decode(&mut buf).unwrap();
        assert_eq!(got.is_some(), i == wire.len() - 1);
        if i == 4 {
            // Corrupting the header after it was read changes nothing: it is not reread.
            buf[0] = 0xff;
        }
    }
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bodies_survive_any_chunking(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
            cuts in proptest::collection::vec(0usize..7000, 0..12),
        ) {
            let mut wire = BytesMut::new();
            for b in &bodies {
                Frame::new().encode(b, &mut wire).unwrap();
            }
            let t = decode_split_at(&mut Frame::new(), &wire, &cuts);
            let want: Vec<String> = bodies.iter().map(|b| format!("{:?}", Bytes::from(b.clone()))).collect();
            prop_assert_eq!(t.messages, want);
            prop_assert_eq!(t.error, None);
        }

        #[test]
        fn arbitrary_bytes_decode_the_same_in_any_chunking(
            data in proptest::collection::vec(prop_oneof![Just(0u8), Just(4u8), Just(9u8), any::<u8>()], 0..200),
            cuts in proptest::collection::vec(any::<u16>(), 0..12),
        ) {
            wm_protocol::testing::assert_split_equivalence(|| Frame::with_max_frame_length(64), &data, &cuts);
        }
    }
}
