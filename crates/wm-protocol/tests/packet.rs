//! The Workerman-style helper: limits, skipping, resumption and end of input.

use std::cell::Cell;
use std::rc::Rc;

use bytes::{BufMut, Bytes, BytesMut};
use wm_protocol::packet::{EncodePacket, Input, PacketFormat, PacketProtocol};
use wm_protocol::testing::{assert_every_split, decode_drip, decode_whole};
use wm_protocol::{Error, Limits, Protocol};

/// NUL-terminated packets. Counts every byte its `input` looks at, to prove resumption.
#[derive(Default)]
struct NulTerminated {
    scanned: Rc<Cell<usize>>,
    skip_oversize: bool,
}

impl PacketFormat for NulTerminated {
    type Message = Result<Bytes, String>;

    fn input(&mut self, buf: &[u8], examined: usize) -> Result<Input, Error> {
        let fresh = &buf[examined..];
        match memchr::memchr(0, fresh) {
            Some(i) => {
                self.scanned.set(self.scanned.get() + i + 1);
                Ok(Input::Packet(examined + i + 1))
            }
            None => {
                self.scanned.set(self.scanned.get() + fresh.len());
                Ok(Input::NeedMore)
            }
        }
    }

    fn decode(&mut self, mut packet: Bytes) -> Result<Option<Self::Message>, Error> {
        packet.truncate(packet.len() - 1);
        Ok(Some(Ok(packet)))
    }

    fn oversize(&mut self, length: Option<usize>, limit: usize) -> Result<Self::Message, Error> {
        if self.skip_oversize {
            // Whether the length is known depends on how the bytes arrived.
            let _ = length;
            Ok(Err(format!("skipped, over {limit}")))
        } else {
            Err(Error::PacketEndNotFound { limit })
        }
    }
}

impl EncodePacket<&[u8]> for NulTerminated {
    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_slice(item);
        dst.put_u8(0);
        Ok(())
    }
}

/// One length byte, then that many bytes; a length byte of 0xff is a protocol error.
#[derive(Default)]
struct LengthByte {
    skip_oversize: bool,
}

impl PacketFormat for LengthByte {
    type Message = Result<Bytes, String>;

    fn input(&mut self, buf: &[u8], _examined: usize) -> Result<Input, Error> {
        match buf.first() {
            None => Ok(Input::NeedMore),
            Some(0xff) => Err(Error::malformed("length byte 0xff is reserved")),
            Some(&len) => Ok(Input::Packet(1 + usize::from(len))),
        }
    }

    fn decode(&mut self, packet: Bytes) -> Result<Option<Self::Message>, Error> {
        // An empty body is a keep-alive: no message.
        Ok((packet.len() > 1).then(|| Ok(packet.slice(1..))))
    }

    fn oversize(&mut self, length: Option<usize>, limit: usize) -> Result<Self::Message, Error> {
        match (self.skip_oversize, length) {
            (true, Some(length)) => Ok(Err(format!("skipped {length} > {limit}"))),
            _ => Err(Error::PacketTooLarge {
                length: length.unwrap_or(0) as u64,
                limit,
            }),
        }
    }
}

fn nul(max: usize) -> PacketProtocol<NulTerminated> {
    PacketProtocol::with_max_package_size(NulTerminated::default(), max)
}

fn skipping_nul(max: usize) -> PacketProtocol<NulTerminated> {
    let format = NulTerminated {
        skip_oversize: true,
        ..Default::default()
    };
    PacketProtocol::with_max_package_size(format, max)
}

fn length_byte(max: usize, skip_oversize: bool) -> PacketProtocol<LengthByte> {
    PacketProtocol::with_max_package_size(LengthByte { skip_oversize }, max)
}

#[test]
fn delimited_packets_decode_the_same_in_every_split() {
    let t = assert_every_split(|| nul(16), b"one\0\0three\0");
    assert_eq!(
        t.messages,
        [r#"Ok(b"one")"#, r#"Ok(b"")"#, r#"Ok(b"three")"#]
    );
    assert_eq!(t.error, None);
}

#[test]
fn one_byte_drip_examines_each_byte_once() {
    // 64 KiB packet fed one byte per read: `input` must resume, not rescan.
    let mut data = vec![b'x'; 64 * 1024];
    data.push(0);
    let mut protocol = nul(1 << 20);
    let scanned = protocol.format().scanned.clone();
    let t = decode_drip(&mut protocol, &data);
    assert_eq!(t.messages.len(), 1);
    assert_eq!(scanned.get(), data.len(), "bytes examined by input()");
}

#[test]
fn unknown_length_over_the_limit_fails_before_the_end_arrives() {
    // limit 4: "abc\0" (4 bytes) is fine, "abcd" without a NUL cannot be.
    let t = assert_every_split(|| nul(4), b"abc\0abcd");
    assert_eq!(t.messages, [r#"Ok(b"abc")"#]);
    assert_eq!(t.error.as_deref(), Some("PacketEndNotFound { limit: 4 }"));
}

#[test]
fn known_length_over_the_limit_fails_with_the_length() {
    let t = assert_every_split(|| length_byte(4, false), b"\x02hi\x09123456789");
    assert_eq!(t.messages, [r#"Ok(b"hi")"#]);
    assert_eq!(
        t.error.as_deref(),
        Some("PacketTooLarge { length: 10, limit: 4 }")
    );
}

#[test]
fn known_length_over_the_limit_is_skipped_when_the_format_says_so() {
    let t = assert_every_split(|| length_byte(4, true), b"\x02hi\x09123456789\x01z");
    assert_eq!(
        t.messages,
        [r#"Ok(b"hi")"#, r#"Err("skipped 10 > 4")"#, r#"Ok(b"z")"#]
    );
    assert_eq!(t.error, None);
}

#[test]
fn unknown_length_over_the_limit_is_skipped_to_its_end() {
    let t = assert_every_split(|| skipping_nul(4), b"ok\0much too long\0ok2\0");
    assert_eq!(
        t.messages,
        [r#"Ok(b"ok")"#, r#"Err("skipped, over 4")"#, r#"Ok(b"ok2")"#]
    );
}

#[test]
fn skipping_never_buffers_the_skipped_packet() {
    let mut protocol = skipping_nul(8);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(b"0123456789");
    assert!(protocol.decode(&mut buf).unwrap().unwrap().is_err());
    for _ in 0..1000 {
        buf.extend_from_slice(&[b'y'; 1000]);
        assert!(protocol.decode(&mut buf).unwrap().is_none());
        assert!(buf.is_empty(), "skipped bytes were kept");
    }
    buf.extend_from_slice(b"\0next\0");
    assert_eq!(
        protocol.decode(&mut buf).unwrap().unwrap().unwrap(),
        "next".as_bytes()
    );
}

/// `\r\n`-terminated packets whose `input` refuses to look at an empty buffer.
struct CrLf;

impl PacketFormat for CrLf {
    type Message = Result<Bytes, ()>;
    const DELIMITER_OVERLAP: usize = 1;

    fn input(&mut self, buf: &[u8], examined: usize) -> Result<Input, Error> {
        assert!(!buf.is_empty(), "input() called on an empty buffer");
        // Resume one byte early: the `\r` may have been the last byte examined.
        let from = examined.saturating_sub(1);
        Ok(match memchr::memmem::find(&buf[from..], b"\r\n") {
            Some(i) => Input::Packet(from + i + 2),
            None => Input::NeedMore,
        })
    }

    fn decode(&mut self, packet: Bytes) -> Result<Option<Self::Message>, Error> {
        Ok(Some(Ok(packet.slice(..packet.len() - 2))))
    }

    fn oversize(&mut self, _: Option<usize>, _: usize) -> Result<Self::Message, Error> {
        Ok(Err(()))
    }
}

#[test]
fn input_never_sees_an_empty_buffer() {
    // Measuring, and skipping an over-long packet to its end, both with empty reads
    // between the bytes.
    let make = || PacketProtocol::with_max_package_size(CrLf, 8);
    let wire = b"ok\r\n0123456789abc\r\nnext\r\n";
    let mut cuts: Vec<usize> = (0..=wire.len()).collect();
    cuts.extend(0..=wire.len());
    let t = wm_protocol::testing::decode_split_at(&mut make(), wire, &cuts);
    assert_eq!(t.messages, [r#"Ok(b"ok")"#, "Err(())", r#"Ok(b"next")"#]);
    assert_eq!(t.error, None);
    let t = assert_every_split(|| nul(0), b"");
    assert_eq!(t.messages.len() + t.error.iter().len(), 0);
    let t = assert_every_split(|| nul(0), b"a\0");
    assert_eq!(t.error.as_deref(), Some("PacketEndNotFound { limit: 0 }"));
}

#[test]
fn skipping_to_the_end_finds_a_delimiter_split_across_reads() {
    // The `\r` arrives in the read that passes the limit, the `\n` in the next one.
    let make = || PacketProtocol::with_max_package_size(CrLf, 8);
    let t = assert_every_split(make, b"0123456789\r\nnext\r\n");
    assert_eq!(t.messages, ["Err(())", r#"Ok(b"next")"#]);
    let t = wm_protocol::testing::decode_split_at(&mut make(), b"0123456789\r\nnext\r\n", &[11]);
    assert_eq!(t.messages, ["Err(())", r#"Ok(b"next")"#]);
}

#[test]
fn a_different_shorter_buffer_does_not_panic() {
    let mut protocol = nul(64);
    let mut long = BytesMut::from(&b"no terminator yet"[..]);
    assert!(protocol.decode(&mut long).unwrap().is_none());
    let mut short = BytesMut::from(&b"x"[..]);
    assert!(protocol.decode(&mut short).unwrap().is_none());
}

#[test]
fn input_error_fails_the_connection() {
    let t = assert_every_split(|| length_byte(64, false), b"\x01a\xff");
    assert_eq!(t.messages, [r#"Ok(b"a")"#]);
    assert_eq!(
        t.error.as_deref(),
        Some(r#"Malformed("length byte 0xff is reserved")"#)
    );
}

#[test]
fn decode_may_skip_a_packet() {
    let t = assert_every_split(|| length_byte(64, false), b"\x00\x01a\x00");
    assert_eq!(t.messages, [r#"Ok(b"a")"#]);
}

#[test]
fn zero_length_packet_is_a_format_bug_not_a_hang() {
    struct Zero;
    impl PacketFormat for Zero {
        type Message = ();
        fn input(&mut self, _: &[u8], _: usize) -> Result<Input, Error> {
            Ok(Input::Packet(0))
        }
        fn decode(&mut self, _: Bytes) -> Result<Option<()>, Error> {
            Ok(Some(()))
        }
    }
    let t = decode_whole(&mut PacketProtocol::new(Zero), b"x");
    assert!(t.error.unwrap().contains("0 bytes"));
}

#[test]
fn end_of_input_inside_a_packet_is_an_error() {
    let t = assert_every_split(|| nul(64), b"done\0half");
    assert_eq!(t.messages, [r#"Ok(b"done")"#]);
    assert_eq!(t.error.as_deref(), Some("UnexpectedEof { buffered: 4 }"));
    let t = assert_every_split(|| length_byte(64, false), b"\x05abc");
    assert_eq!(t.error.as_deref(), Some("UnexpectedEof { buffered: 4 }"));
}

#[test]
fn end_of_input_while_skipping_is_not_an_error() {
    let t = assert_every_split(|| skipping_nul(4), b"much too long");
    assert_eq!(t.messages, [r#"Err("skipped, over 4")"#]);
    assert_eq!(t.error, None);
}

#[test]
fn limits_default_to_workermans_package_size() {
    assert_eq!(Limits::default().max_package_size, 10 * 1024 * 1024);
    let protocol = PacketProtocol::new(NulTerminated::default());
    assert_eq!(protocol.max_package_size(), 10 * 1024 * 1024);
    let limits = Limits::new().max_package_size(100);
    let protocol = PacketProtocol::with_limits(NulTerminated::default(), &limits);
    assert_eq!(protocol.max_package_size(), 100);
}

#[test]
fn encode_goes_through_the_format() {
    let mut protocol = nul(64);
    let mut dst = BytesMut::new();
    wm_protocol::Encode::encode(&mut protocol, &b"ab"[..], &mut dst).unwrap();
    assert_eq!(&dst[..], b"ab\0");
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;
    use wm_protocol::testing::decode_split_at;
    use wm_protocol::Encode;

    proptest! {
        #[test]
        fn encode_then_decode_in_any_chunking_is_identity(
            packets in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..40), 0..20),
            cuts in proptest::collection::vec(0usize..2000, 0..10),
        ) {
            let mut protocol = nul(64);
            let mut wire = BytesMut::new();
            for p in &packets {
                protocol.encode(&p[..], &mut wire).unwrap();
            }
            let t = decode_split_at(&mut nul(64), &wire, &cuts);
            let expected: Vec<String> =
                packets.iter().map(|p| format!("{:?}", Ok::<_, String>(Bytes::from(p.clone())))).collect();
            prop_assert_eq!(t.messages, expected);
            prop_assert_eq!(t.error, None);
        }
    }
}
