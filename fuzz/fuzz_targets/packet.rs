//! `wm_protocol::packet::PacketProtocol` with a tiny format (one length byte, then that
//! many body bytes) that skips over-limit packets: no panic, and the chunking never matters.
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
    Oversize(Option<usize>),
}

struct ShortPackets;

impl PacketFormat for ShortPackets {
    type Message = Message;

    fn input(&mut self, buf: &[u8], _examined: usize) -> Result<Input, Error> {
        Ok(match buf.first() {
            Some(&len) => Input::Packet(1 + usize::from(len)),
            None => Input::NeedMore,
        })
    }

    fn decode(&mut self, mut packet: Bytes) -> Result<Option<Message>, Error> {
        // An empty body is skipped, to cover `decode` returning `Ok(None)`.
        Ok((packet.len() > 1).then(|| Message::Body(packet.split_off(1))))
    }

    // The length is always known here (it is the first byte), so it may be reported.
    fn oversize(&mut self, length: Option<usize>, _limit: usize) -> Result<Message, Error> {
        Ok(Message::Oversize(length))
    }
}

fuzz_target!(|input: (&[u8], Vec<u16>)| {
    let (data, cuts) = input;
    let small = || PacketProtocol::with_max_package_size(ShortPackets, 16);
    assert_split_equivalence(small, data, &cuts);
    decode_whole(&mut PacketProtocol::new(ShortPackets), data);
});
