//! Per-message compression (RFC 7692 §7.2): a message deflated with a sync flush and the
//! flush's `00 00 ff ff` tail removed; inflated frame by frame with the tail put back at
//! the end, its size checked at every step so that a small frame cannot make memory grow
//! past the message limit.
//!
//! Contexts are created when a message needs one. Without context takeover, a context is
//! reset and handed back to a small per-thread pool when its message ends, so that idle
//! connections hold none: a zlib deflate context at 15 window bits is about a quarter of a
//! megabyte.

use std::cell::RefCell;
use std::thread::LocalKey;

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What a sync flush ends with, removed from every compressed message (§7.2.1) and put
/// back before its end is inflated (§7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The room an inflate step adds once the first guess is used up, unless the output is
/// already larger (then the room doubles it). The size is checked between steps, and each
/// step's room is capped at what the limit still allows.
const INFLATE_STEP: usize = 16 * 1024;

/// The least room a frame's first inflate step gets.
const MIN_INFLATE_ROOM: usize = 256;

/// Contexts kept per thread, per direction, for connections without context takeover.
const POOLED_CONTEXTS: usize = 8;

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the limit (a WebSocket closes with 1009). Found
    /// before more than `limit + 1` bytes were produced.
    #[error("the message inflates to more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The compressed data is not valid DEFLATE (a WebSocket closes with 1007).
    #[error("the compressed data is invalid: {0}")]
    Corrupt(String),
}

/// The window zlib's deflate is given for `bits` agreed: zlib-style deflaters cannot use an
/// 8-bit window and take 9 instead, which is still within an 8-bit window for the peer,
/// since their matches reach back at most the window less 262 bytes (250 at 9 bits).
fn deflate_window(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// The window an inflater gets for `bits` agreed: any window at least as large as the
/// sender's reads its stream, and flate2 takes 9 to 15.
fn inflate_window(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// A thread's idle contexts of one direction, each under the parameters it was made with.
type Pool<K, C> = RefCell<Vec<(K, Box<C>)>>;

thread_local! {
    /// Keyed by window bits and level.
    static DEFLATERS: Pool<(u8, u32), Compress> = const { RefCell::new(Vec::new()) };
    /// Keyed by window bits.
    static INFLATERS: Pool<u8, Decompress> = const { RefCell::new(Vec::new()) };
}

/// An idle context made with `key`, from the thread's pool.
fn take_pooled<K: PartialEq, C>(pool: &'static LocalKey<Pool<K, C>>, key: &K) -> Option<Box<C>> {
    pool.with(|pool| {
        let mut pool = pool.borrow_mut();
        let at = pool.iter().rposition(|(k, _)| k == key)?;
        Some(pool.swap_remove(at).1)
    })
}

/// Keeps a reset context for the next message that needs one, up to [`POOLED_CONTEXTS`].
fn give_pooled<K, C>(pool: &'static LocalKey<Pool<K, C>>, key: K, context: Box<C>) {
    pool.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOLED_CONTEXTS {
            pool.push((key, context));
        }
    });
}

/// Compresses whole messages with one side's agreed window and context takeover.
#[derive(Debug)]
pub struct MessageDeflater {
    window_bits: u8,
    level: u32,
    takeover: bool,
    context: Option<Box<Compress>>,
}

impl MessageDeflater {
    /// A deflater with `window_bits` (8 to 15) at zlib `level` (0 to 9); with `takeover`,
    /// each message may refer to the ones before (one context for the connection's life).
    pub fn new(window_bits: u8, level: u32, takeover: bool) -> Self {
        Self {
            window_bits,
            level: level.min(9),
            takeover,
            context: None,
        }
    }

    /// Whether a compression context is held between messages.
    pub fn holds_context(&self) -> bool {
        self.context.is_some()
    }

    fn context(&mut self) -> &mut Compress {
        let (bits, level) = (deflate_window(self.window_bits), self.level);
        self.context.get_or_insert_with(|| {
            take_pooled(&DEFLATERS, &(bits, level)).unwrap_or_else(|| {
                Box::new(Compress::new_with_window_bits(
                    Compression::new(level),
                    false,
                    bits,
                ))
            })
        })
    }

    /// Appends `payload` (a whole message) to `dst`, compressed, without the tail.
    pub fn compress(&mut self, payload: &[u8], dst: &mut BytesMut) {
        let start = dst.len();
        let context = self.context();
        let mut input = payload;
        // zlib's bound for raw deflate is the input plus about 0.03%, plus a few bytes per
        // stored block and the flush's empty block: an eighth more is room to spare.
        let mut room = input.len() + input.len() / 8 + 64;
        loop {
            let len = dst.len();
            dst.resize(len + room, 0);
            let (in_before, out_before) = (context.total_in(), context.total_out());
            let status = context.compress(input, &mut dst[len..], FlushCompress::Sync);
            let consumed = (context.total_in() - in_before) as usize;
            let produced = (context.total_out() - out_before) as usize;
            dst.truncate(len + produced);
            input = &input[consumed..];
            // Only a full output can hold the flush back: a stream error cannot happen
            // with a context this code made, and would end the loop the same way.
            if status.is_err() || (input.is_empty() && produced < room) {
                break;
            }
            room = input.len() + 4096;
        }
        if dst[start..].ends_with(&TAIL) {
            dst.truncate(dst.len() - TAIL.len());
        }
        if dst.len() == start {
            // Nothing to flush (an empty message after another, with the context taken
            // over): one empty stored block's first byte, which the receiver's tail
            // completes (RFC 7692 §7.2.3.6). Sent as nothing, the tail alone would be
            // read as a block header.
            dst.extend_from_slice(&[0x00]);
        }
        if !self.takeover {
            self.release();
        }
    }

    /// Hands the context back to the thread's pool (reset), or drops it.
    fn release(&mut self) {
        if let Some(mut context) = self.context.take() {
            context.reset();
            let key = (deflate_window(self.window_bits), self.level);
            give_pooled(&DEFLATERS, key, context);
        }
    }
}

impl Drop for MessageDeflater {
    fn drop(&mut self) {
        // A context with takeover holds the connection's history: not for another one.
        if self.takeover {
            self.context = None;
        }
        self.release();
    }
}

/// Inflates compressed messages frame by frame with one side's agreed window and context
/// takeover, within a size limit.
#[derive(Debug)]
pub struct MessageInflater {
    window_bits: u8,
    takeover: bool,
    context: Option<Box<Decompress>>,
}

impl MessageInflater {
    /// An inflater for a peer compressing with `window_bits` (8 to 15); with `takeover`,
    /// its messages may refer to the ones before.
    pub fn new(window_bits: u8, takeover: bool) -> Self {
        Self {
            window_bits,
            takeover,
            context: None,
        }
    }

    /// Whether a decompression context is held between messages.
    pub fn holds_context(&self) -> bool {
        self.context.is_some()
    }

    fn context(&mut self) -> &mut Decompress {
        let bits = inflate_window(self.window_bits);
        self.context.get_or_insert_with(|| {
            take_pooled(&INFLATERS, &bits)
                .unwrap_or_else(|| Box::new(Decompress::new_with_window_bits(false, bits)))
        })
    }

    /// Inflates one frame's `payload` of a compressed message, appending to `out`, which
    /// holds what the message's frames before inflated to; `last` marks its final frame
    /// (the tail is then inflated too, and a context without takeover goes back to the
    /// pool).
    ///
    /// # Errors
    ///
    /// [`InflateError::TooLarge`] as soon as `out` would pass `limit` bytes (it never
    /// holds more than `limit + 1`), [`InflateError::Corrupt`] for data that is not
    /// DEFLATE. The inflater is then reset: the connection is to be closed anyway.
    pub fn inflate(
        &mut self,
        payload: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let result = self.feed(payload, out, limit).and_then(|ended| {
            // After a final block (BFINAL) the tail has no block to complete.
            if last && !ended {
                self.feed(&TAIL, out, limit).map(drop)
            } else {
                Ok(())
            }
        });
        if result.is_err() {
            self.context = None;
        } else if last && !self.takeover {
            self.release();
        }
        result
    }

    /// Inflates `input`; `Ok(true)` if it ended exactly at the end of a final block.
    fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<bool, InflateError> {
        let context = self.context();
        // A first guess of what this input inflates to (text compresses 3-10 times),
        // then room that doubles with the output: amortized growth, and capacity never
        // past the limit plus one byte, whatever the input claims.
        let mut guess = (input.len() * 4 + 64).clamp(MIN_INFLATE_ROOM, INFLATE_STEP);
        loop {
            let allowed = (limit + 1).saturating_sub(out.len());
            if allowed == 0 {
                return Err(InflateError::TooLarge { limit });
            }
            let room = allowed.min(guess.max(out.len()));
            guess = INFLATE_STEP;
            out.reserve_exact(room);
            // `decompress_vec` writes into the spare capacity, without zeroing it first.
            let spare = out.capacity() - out.len();
            let (in_before, out_before) = (context.total_in(), context.total_out());
            let status = context.decompress_vec(input, out, FlushDecompress::None);
            let consumed = (context.total_in() - in_before) as usize;
            let produced = (context.total_out() - out_before) as usize;
            let status = status.map_err(|e| InflateError::Corrupt(e.to_string()))?;
            input = &input[consumed..];
            if out.len() > limit {
                return Err(InflateError::TooLarge { limit });
            }
            if status == Status::StreamEnd {
                // A final block (BFINAL) ends the DEFLATE stream; what follows in the
                // message, if anything, starts a new one.
                context.reset(false);
                if input.is_empty() {
                    return Ok(true);
                }
                continue;
            }
            if input.is_empty() && produced < spare {
                return Ok(false);
            }
            if consumed == 0 && produced == 0 {
                // Room and input, and no progress: never silently drop what is left.
                return Err(InflateError::Corrupt("inflate made no progress".to_owned()));
            }
        }
    }

    fn release(&mut self) {
        if let Some(mut context) = self.context.take() {
            context.reset(false);
            give_pooled(&INFLATERS, inflate_window(self.window_bits), context);
        }
    }
}

impl Drop for MessageInflater {
    fn drop(&mut self) {
        if self.takeover {
            self.context = None;
        }
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(deflater: &mut MessageDeflater, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        deflater.compress(payload, &mut out);
        out.to_vec()
    }

    fn inflate(
        inflater: &mut MessageInflater,
        compressed: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        inflater.inflate(compressed, true, &mut out, limit)?;
        Ok(out)
    }

    /// RFC 7692 §7.2.3.1–2 and spec §10: "Hello" compressed, then again with the context
    /// taken over (the second refers back to the first).
    #[test]
    fn the_rfc_examples_inflate_and_takeover_shortens_the_second_message() {
        let mut inflater = MessageInflater::new(15, true);
        assert_eq!(
            inflate(
                &mut inflater,
                &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
                100
            )
            .unwrap(),
            b"Hello"
        );
        assert_eq!(
            inflate(&mut inflater, &[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap(),
            b"Hello"
        );
        // A message split over frames, each inflated as it comes.
        let mut inflater = MessageInflater::new(15, false);
        let mut out = Vec::new();
        inflater
            .inflate(&[0xf2, 0x48], false, &mut out, 100)
            .unwrap();
        inflater
            .inflate(&[0xcd, 0xc9, 0xc9, 0x07, 0x00], true, &mut out, 100)
            .unwrap();
        assert_eq!(&out[..], b"Hello");

        let mut deflater = MessageDeflater::new(15, 6, true);
        let first = deflate(&mut deflater, b"Hello");
        let second = deflate(&mut deflater, b"Hello");
        assert!(second.len() < first.len(), "{first:02x?} {second:02x?}");
        let mut inflater = MessageInflater::new(15, true);
        assert_eq!(inflate(&mut inflater, &first, 100).unwrap(), b"Hello");
        assert_eq!(inflate(&mut inflater, &second, 100).unwrap(), b"Hello");
    }

    #[test]
    fn round_trips_at_every_window_with_and_without_takeover() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{{\"seq\":{i},\"user\":\"u{}\"}}", i % 37).into_bytes())
            .take(100_000)
            .collect();
        for bits in 8..=15 {
            for takeover in [false, true] {
                let mut deflater = MessageDeflater::new(bits, 6, takeover);
                let mut inflater = MessageInflater::new(bits, takeover);
                for message in [&text[..], b"", b"", b"x", &text[..1000]] {
                    let compressed = deflate(&mut deflater, message);
                    assert!(!compressed.is_empty() && !compressed.ends_with(&TAIL));
                    assert_eq!(
                        inflate(&mut inflater, &compressed, 1 << 20).unwrap(),
                        message,
                        "bits {bits}, takeover {takeover}"
                    );
                }
                assert_eq!(deflater.holds_context(), takeover);
                assert_eq!(inflater.holds_context(), takeover);
            }
        }
    }

    /// At 8 window bits the deflater runs zlib's algorithm at 9, whose matches reach back
    /// at most 250 bytes: a reference zlib (CPython's, C zlib) inflating with a 256-byte
    /// window must read every message, takeover included. Skipped without python3,
    /// except under CI.
    #[test]
    fn an_eight_bit_window_is_read_by_a_reference_zlib_with_an_eight_bit_window() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let script = "import sys, zlib\n\
            data = sys.stdin.buffer.read()\n\
            d = zlib.decompressobj(-8)\n\
            out = []\n\
            while data:\n\
            \x20   n = int.from_bytes(data[:4], 'big'); m, data = data[4:4 + n], data[4 + n:]\n\
            \x20   out.append(d.decompress(m + b'\\x00\\x00\\xff\\xff'))\n\
            sys.stdout.buffer.write(b''.join(out))\n";
        let child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            assert!(
                std::env::var_os("CI").is_none(),
                "python3 is needed under CI"
            );
            eprintln!("skipped: no python3");
            return;
        };
        // Pseudo-random messages of 600 bytes: no repeats within an 8-bit window's reach.
        let mut seed = 0x2545_f491_u32;
        let mut block = || -> Vec<u8> {
            (0..600)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect()
        };
        // Every other message repeats the one before: with the context taken over, its
        // matches reach into the message before, which an inflater keeps only as far as
        // its window (within one message zlib reads back from its output whatever the
        // window).
        let messages: Vec<Vec<u8>> = (0..10)
            .flat_map(|_| {
                let message = block();
                [message.clone(), message]
            })
            .collect();
        let mut deflater = MessageDeflater::new(8, 9, true);
        let mut wire = Vec::new();
        for message in &messages {
            let compressed = deflate(&mut deflater, message);
            wire.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
            wire.extend_from_slice(&compressed);
        }
        child.stdin.take().unwrap().write_all(&wire).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.stdout, messages.concat());
    }

    /// A compressed message split into two frames at every byte, and into one frame per
    /// byte, inflates the same.
    #[test]
    fn a_message_split_at_every_byte_inflates_the_same() {
        let message = b"{\"user\":\"ana\",\"text\":\"hello hello hello, world\"}".repeat(4);
        let compressed = deflate(&mut MessageDeflater::new(15, 6, false), &message);
        for cut in 0..=compressed.len() {
            let mut inflater = MessageInflater::new(15, false);
            let mut out = Vec::new();
            inflater
                .inflate(&compressed[..cut], false, &mut out, 1024)
                .unwrap();
            inflater
                .inflate(&compressed[cut..], true, &mut out, 1024)
                .unwrap();
            assert_eq!(&out[..], &message[..], "cut at {cut}");
        }
        let mut inflater = MessageInflater::new(15, false);
        let mut out = Vec::new();
        for (i, byte) in compressed.iter().enumerate() {
            let last = i + 1 == compressed.len();
            inflater
                .inflate(std::slice::from_ref(byte), last, &mut out, 1024)
                .unwrap();
        }
        assert_eq!(&out[..], &message[..]);
    }

    /// A decompression bomb: 16 MiB of zeros is a few KiB compressed; with a 64 KiB limit
    /// the inflater stops after at most the limit plus one byte.
    #[test]
    fn a_decompression_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 16 << 20];
        let bomb = deflate(&mut MessageDeflater::new(15, 9, false), &zeros);
        assert!(bomb.len() < 32 * 1024, "{}", bomb.len());
        let limit = 64 * 1024;
        let mut out = Vec::new();
        let error = MessageInflater::new(15, false)
            .inflate(&bomb, true, &mut out, limit)
            .unwrap_err();
        assert_eq!(error, InflateError::TooLarge { limit });
        assert!(out.len() <= limit + 1, "{}", out.len());
        // The buffer is bounded by the limit, not by the bomb.
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());
        // Fed a frame at a time, the same: the limit counts the whole message.
        let mut inflater = MessageInflater::new(15, false);
        let mut out = Vec::new();
        let mut failed = None;
        for (i, piece) in bomb.chunks(64).enumerate() {
            let last = (i + 1) * 64 >= bomb.len();
            if let Err(error) = inflater.inflate(piece, last, &mut out, limit) {
                failed = Some(error);
                break;
            }
        }
        assert_eq!(failed, Some(InflateError::TooLarge { limit }));
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for garbage in [&[0xff; 16][..], &[0x07], &[0x00, 0x05, 0x00, 0x12, 0x34]] {
            let mut out = Vec::new();
            let result = MessageInflater::new(15, false).inflate(garbage, true, &mut out, 1024);
            assert!(
                matches!(result, Err(InflateError::Corrupt(_))),
                "{garbage:02x?}: {result:?}"
            );
        }
    }

    /// A message whose data ends with a final block (BFINAL, as some senders write): the
    /// tail after it is not an error, and the next message starts a new stream.
    #[test]
    fn a_message_ending_in_a_final_block_is_accepted() {
        let mut raw = Compress::new(Compression::default(), false);
        let mut stream = vec![0; 64];
        raw.compress(b"Hello", &mut stream, FlushCompress::Finish)
            .unwrap();
        stream.truncate(raw.total_out() as usize);
        let mut inflater = MessageInflater::new(15, true);
        assert_eq!(inflate(&mut inflater, &stream, 100).unwrap(), b"Hello");
        assert_eq!(inflate(&mut inflater, &stream, 100).unwrap(), b"Hello");
    }
}
