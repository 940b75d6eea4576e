use std::io;

use bytes::BytesMut;

/// One connection's view of a wire protocol: the incremental, sans-IO form of Workerman's
/// `input()` + `decode()`.
///
/// The caller appends whatever the transport read to one `BytesMut` and calls
/// [`decode`](Protocol::decode) until it returns `Ok(None)`. The protocol cuts complete
/// packets off the front of the buffer and remembers how far it has looked into the rest,
/// so a sender that trickles one byte at a time costs O(n), not O(n²).
///
/// An `Err` is fatal for the connection; the buffer's contents are then unspecified.
pub trait Protocol {
    /// What one decoded packet becomes.
    type Message;
    /// Why the connection cannot go on. Transport errors convert into it, which is what
    /// tokio-util's `Decoder` needs.
    type Error: From<io::Error>;

    /// Cuts the next message off the front of `src`, or returns `Ok(None)` when more bytes
    /// are needed (having noted how far it looked, so that nothing is scanned twice).
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Message>, Self::Error>;

    /// Like [`decode`](Protocol::decode), for when the peer has closed its side: bytes that
    /// do not form a whole message are an error rather than a reason to wait.
    ///
    /// The default turns leftover bytes into an [`io::ErrorKind::UnexpectedEof`] error;
    /// protocols with a typed error override it.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Message>, Self::Error> {
        match self.decode(src)? {
            Some(message) => Ok(Some(message)),
            None if src.is_empty() => Ok(None),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed with {} bytes of a partial packet",
                    src.len()
                ),
            )
            .into()),
        }
    }

    /// Moves bytes the protocol must send on its own account (a handshake reply, an
    /// automatic pong, the echo of a close) into `dst`, returning how many it appended.
    ///
    /// The I/O driver calls this after every [`decode`](Protocol::decode) and writes the
    /// result before anything else. Protocols that never answer by themselves (text, frame,
    /// JSON lines) keep the default, which appends nothing.
    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        let _ = dst;
        0
    }
}

/// The encode half of a [`Protocol`]: Workerman's `encode()`, for one kind of item.
///
/// A protocol implements it once per item type it accepts (`&str`, `String`, `Bytes`, a
/// typed value, ...).
pub trait Encode<Item>: Protocol {
    /// Appends the wire form of `item` to `dst`. On error nothing is appended.
    fn encode(&mut self, item: Item, dst: &mut BytesMut) -> Result<(), Self::Error>;
}
