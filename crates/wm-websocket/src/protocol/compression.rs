//! permessage-deflate on one connection: the agreement turned into this end's compressor
//! and decompressor, each with the window and context takeover of its direction.

use bytes::BytesMut;

use crate::deflate::{Agreement, DeflateConfig, InflateError, MessageDeflater, MessageInflater};
use crate::frame::{FrameHeader, OpCode, Role};
use crate::mask::apply_mask;

use super::encode::put_frame;

/// What a connection that negotiated permessage-deflate keeps. Boxed in [`WebSocket`], so
/// that a connection without it pays one pointer; the zlib contexts inside are created
/// when a message needs one and, without context takeover, returned to the thread's pool
/// when it ends.
///
/// [`WebSocket`]: super::WebSocket
#[derive(Debug)]
pub(super) struct Compression {
    agreement: Agreement,
    deflater: MessageDeflater,
    inflater: MessageInflater,
    threshold: usize,
    /// This end's compressor starts every message afresh, so a message that does not
    /// shrink can go out uncompressed: nothing on the other side depends on its having
    /// gone through the compressor.
    sends_independent_messages: bool,
}

impl Compression {
    /// `agreement` as seen from `role`, compressing as `config` says (level, threshold,
    /// and a client's own choice not to take its context over).
    pub(super) fn new(role: Role, agreement: Agreement, config: &DeflateConfig) -> Self {
        let a = &agreement;
        let (send_bits, send_reset, receive_bits, receive_reset) = match role {
            Role::Server => (
                a.server_max_window_bits,
                a.server_no_context_takeover || config.server_no_context_takeover,
                a.client_max_window_bits,
                a.client_no_context_takeover,
            ),
            Role::Client => (
                a.client_max_window_bits,
                a.client_no_context_takeover || config.client_no_context_takeover,
                a.server_max_window_bits,
                a.server_no_context_takeover,
            ),
        };
        Self {
            agreement,
            deflater: MessageDeflater::new(send_bits, config.level, !send_reset),
            inflater: MessageInflater::new(receive_bits, !receive_reset),
            threshold: config.threshold,
            sends_independent_messages: send_reset,
        }
    }

    pub(super) fn agreement(&self) -> &Agreement {
        &self.agreement
    }

    /// Whether a message of `length` bytes is sent compressed.
    #[inline]
    pub(super) fn compresses(&self, length: usize) -> bool {
        length >= self.threshold
    }

    /// Whether a zlib context is held between messages (for the memory tests).
    pub(super) fn holds_context(&self) -> bool {
        self.deflater.holds_context() || self.inflater.holds_context()
    }

    /// Inflates one frame of a compressed message onto `out` (see
    /// [`MessageInflater::inflate`]).
    pub(super) fn inflate(
        &mut self,
        payload: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        self.inflater.inflate(payload, last, out, limit)
    }

    /// Appends `payload` as one compressed frame (RSV1 set), masked from a client; or
    /// uncompressed where it would not shrink and nothing depends on its going through
    /// the compressor.
    ///
    /// The compressed bytes are written once, straight after room left for the header
    /// that a payload of the original's length would need; only where the compressed
    /// length needs another header size (a 200-byte message compressed below 126, say)
    /// are they moved, and a move is cheap beside compressing them.
    #[inline(never)]
    pub(super) fn put_frame(
        &mut self,
        role: Role,
        dst: &mut BytesMut,
        opcode: OpCode,
        payload: &[u8],
    ) {
        let masked = role == Role::Client;
        let guess = header_length(payload.len() as u64, masked);
        let start = dst.len();
        dst.resize(start + guess, 0);
        self.deflater.compress(payload, dst);
        let length = dst.len() - start - guess;
        if self.sends_independent_messages && length >= payload.len() {
            dst.truncate(start);
            return put_frame(role, dst, opcode, payload);
        }
        let header = FrameHeader {
            fin: true,
            rsv1: true,
            opcode,
            mask: masked.then(rand::random),
            payload_length: length as u64,
        };
        let size = header.encoded_length();
        if size != guess {
            dst.resize(start + size.max(guess) + length, 0);
            dst.copy_within(start + guess..start + guess + length, start + size);
            dst.truncate(start + size + length);
        }
        header.encode(&mut &mut dst[start..start + size]);
        if let Some(key) = header.mask {
            apply_mask(&mut dst[start + size..], key, 0);
        }
    }
}

/// The header a payload of `length` bytes gets, in its minimal form.
fn header_length(length: u64, masked: bool) -> usize {
    FrameHeader {
        fin: true,
        rsv1: true,
        opcode: OpCode::Binary,
        mask: masked.then_some([0; 4]),
        payload_length: length,
    }
    .encoded_length()
}
