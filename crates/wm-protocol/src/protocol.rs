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
/// An `Err` means the connection should be closed (with the wire reaction the error
/// names, if any). The built-in protocols consume the offending packet where they can tell
/// its end, so calling `decode` again does not panic or loop, but what it then yields is not
/// part of their contract.
///
/// A protocol keeps positions into the buffer between calls (how far it searched, the
/// length it read), so it must be given the same buffer each time, only appended to and
/// consumed by the protocol itself. Any other buffer gives wrong messages, never a panic or
/// undefined behaviour.
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
    /// The default turns leftover bytes into an [`io::ErrorKind::UnexpectedEof`] error,
    /// since it knows nothing of `Self::Error`; the framing protocols override it to give
    /// [`Error::UnexpectedEof`](crate::Error::UnexpectedEof) (see
    /// [`Error::check_eof`](crate::Error::check_eof)).
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

/// Moves bytes a protocol queued on its own (`queued`) to the end of `dst`, and returns how
/// many: the body of a [`Protocol::take_output`].
///
/// Both buffers keep their allocations. `BytesMut::unsplit(queued.split())`, the obvious
/// one-liner, replaces an empty `dst` with the (possibly empty, capacity 0) split-off piece:
/// `Framed`'s write buffer is empty after every flush, so each message after a flush would
/// allocate again. Here an empty `dst` with too little room trades buffers with `queued`
/// (no copy); otherwise the bytes are copied, which for what protocols queue by themselves
/// (pongs, a close echo, a `100 Continue`, a refusal) is a few dozen bytes.
///
/// ```
/// use bytes::BytesMut;
///
/// let mut queued = BytesMut::from(&b"pong"[..]);
/// let mut dst = BytesMut::with_capacity(8192);
/// assert_eq!(wm_protocol::move_output(&mut queued, &mut dst), 4);
/// assert_eq!(&dst[..], b"pong");
/// assert!(dst.capacity() >= 8192 && queued.is_empty());
/// ```
#[inline]
pub fn move_output(queued: &mut BytesMut, dst: &mut BytesMut) -> usize {
    let length = queued.len();
    if length == 0 {
        return 0;
    }
    if dst.is_empty() && dst.capacity() < length {
        std::mem::swap(queued, dst);
    } else {
        dst.extend_from_slice(queued);
        queued.clear();
    }
    length
}
