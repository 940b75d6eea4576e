//! UTF-8 checking of whole reads instead of single lines.
//!
//! Checking each 20–200-byte line on its own spends most of the time starting and ending
//! the SIMD validator. Instead, when a line needs checking, everything buffered up to the
//! last `\n` is checked in one call and remembered as valid; the lines inside it then
//! become `&str`s without another look. A `\n` is ASCII, so every line end inside a valid
//! span is a character boundary. The bench `text/*/wm TextCodec (String)` measures this
//! module (README: about 1.4× faster than checking each line).
//!
//! This is the crate's only `unsafe`: turning bytes this module has validated into `&str`.
#![allow(unsafe_code)]

use memchr::memrchr;

/// How much of the front of the read buffer is known to be valid UTF-8.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValidatedPrefix {
    /// `buf[..valid]` is valid UTF-8 and ends on a character boundary.
    valid: usize,
    /// Offset of the first invalid byte found beyond `valid`, if the last check failed.
    invalid_at: Option<usize>,
}

impl ValidatedPrefix {
    /// `buf[..content]` as a `&str`, where `buf[..=newline]` is the first line of `buf`
    /// (so `buf[newline]` is `\n`) and `content <= newline`. `Err` holds how many
    /// leading bytes of the line are valid.
    #[inline]
    pub(crate) fn line<'a>(
        &mut self,
        buf: &'a [u8],
        newline: usize,
        content: usize,
    ) -> Result<&'a str, usize> {
        debug_assert!(content <= newline && buf[newline] == b'\n');
        if newline >= self.valid {
            self.extend(buf, newline);
        }
        if let Some(invalid_at) = self.invalid_at.filter(|&at| at < newline) {
            return Err(invalid_at.min(content));
        }
        let line = &buf[..content];
        debug_assert!(std::str::from_utf8(line).is_ok());
        // SAFETY: `buf[..self.valid]` passed UTF-8 validation in `extend`, and either
        // `newline < self.valid` or the first invalid byte lies beyond `newline` (checked
        // just above), so `buf[..newline]` is valid UTF-8. `content <= newline`, and
        // `buf[content]` is `\r` or `\n`, both ASCII, so `content` is a character boundary
        // and `line` is valid UTF-8 too.
        Ok(unsafe { std::str::from_utf8_unchecked(line) })
    }

    /// Validates from `self.valid` up to and including the last `\n` in `buf`, which is at
    /// or after `newline`.
    fn extend(&mut self, buf: &[u8], newline: usize) {
        let end = newline + memrchr(b'\n', &buf[newline..]).unwrap_or(0) + 1;
        match simdutf8::compat::from_utf8(&buf[self.valid..end]) {
            Ok(_) => {
                self.valid = end;
                self.invalid_at = None;
            }
            Err(error) => {
                self.invalid_at = Some(self.valid + error.valid_up_to());
                self.valid += error.valid_up_to();
            }
        }
    }

    /// The first `n` bytes of the buffer were taken off its front.
    #[inline]
    pub(crate) fn consumed(&mut self, n: usize) {
        self.valid = self.valid.saturating_sub(n);
        self.invalid_at = self.invalid_at.and_then(|at| at.checked_sub(n));
    }
}
