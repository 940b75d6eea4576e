//! `wm_protocol::packet::PacketProtocol` with two tiny formats that skip over-limit
//! packets: one length byte then the body (length known at once), and `\r\n`-terminated
//! lines (length unknown until the end; the end may straddle reads). No panic, and the
//! chunking never matters.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wm_protocol::packet::{Input, PacketFormat, PacketProtocol};
use wm_protocol::testing::{assert_split_equivalence, decode_whole};
use wm_protocol::Error;

/// Compared through `Debug` only, hence never read.
#[allow(dead_code)]
#[derive(Debug)]
enum Message {
    Body(Bytes),
    Oversize,
}

struct ShortPackets;

impl PacketFormat for ShortPackets {
    type Message = Message;

    fn input(&mut self, buf: &[u8], _examined: usize) -> Result<Input, Error> {
        assert!(!buf.is_empty());
        Ok(Input::Packet(1 + usize::from(buf[0])))
    }

    fn decode(&mut self, mut packet: Bytes) -> Result<Option<Message>, Error> {
        // An empty body is skipped, to cover `decode` returning `Ok(None)`.
        Ok((packet.len() > 1).then(|| Message::Body(packet.split_off(1))))
    }

    fn oversize(&mut self, _length: Option<usize>, _limit: usize) -> Result<Message, Error> {
        Ok(Message::Oversize)
    }
}

struct CrLfLines;

impl PacketFormat for CrLfLines {
    type Message = Message;
    const DELIMITER_OVERLAP: usize = 1;

    fn input(&mut self, buf: &[u8], examined: usize) -> Result<Input, Error> {
        assert!(!buf.is_empty());
        let from = examined.saturating_sub(1);
        Ok(match memchr::memmem::find(&buf[from..], b"\r\n") {
            Some(i) => Input::Packet(from + i + 2),
            None => Input::NeedMore,
        })
    }

    fn decode(&mut self, packet: Bytes) -> Result<Option<Message>, Error> {
        Ok(Some(Message::Body(packet.slice(..packet.len() - 2))))
    }

    // Whether the length is known depends on the chunking, so it is not reported.
    fn oversize(&mut self, _length: Option<usize>, _limit: usize) -> Result<Message, Error> {
        Ok(Message::Oversize)
    }
}

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    assert_split_equivalence(
        || PacketProtocol::with_max_package_size(ShortPackets, 16),
        data,
        &cuts,
    );
    assert_split_equivalence(
        || PacketProtocol::with_max_package_size(CrLfLines, 16),
        data,
        &cuts,
    );
    decode_whole(&mut PacketProtocol::new(ShortPackets), data);
});
