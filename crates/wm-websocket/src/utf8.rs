//! UTF-8 checked as a text message arrives, so an invalid message fails at the first bad
//! byte (Autobahn 6.4.x), not when its last fragment is in.

/// Validates a byte stream in pieces. A code point may be split across pieces; only at the
/// end of the message must nothing be left incomplete.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// The start of a code point cut by the end of the last piece.
    partial: [u8; 4],
    partial_len: u8,
}

/// Where validation failed, counted from the start of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8 {
    /// How many leading bytes of the message were valid.
    pub valid_up_to: usize,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next piece of the message; `seen` is how many bytes of the message came
    /// before it (used only for the error's offset).
    pub fn feed(&mut self, piece: &[u8], seen: usize) -> Result<(), InvalidUtf8> {
        let mut rest = piece;
        let partial_len = usize::from(self.partial_len);
        if partial_len > 0 {
            // Finish the code point the last piece cut: at most three more bytes.
            let want = (utf8_width(self.partial[0]) - partial_len).min(rest.len());
            let mut buf = self.partial;
            buf[partial_len..partial_len + want].copy_from_slice(&rest[..want]);
            let have = partial_len + want;
            match std::str::from_utf8(&buf[..have]) {
                Ok(_) => {
                    self.partial_len = 0;
                    rest = &rest[want..];
                }
                Err(e) if e.error_len().is_none() => {
                    // Still incomplete: the piece was shorter than the code point's tail.
                    self.partial = buf;
                    self.partial_len = have as u8;
                    return Ok(());
                }
                Err(_) => {
                    return Err(InvalidUtf8 {
                        valid_up_to: seen - partial_len,
                    })
                }
            }
        }
        let offset = piece.len() - rest.len();
        match simdutf8::compat::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                // A code point cut by the end of the piece: keep its start for the next one.
                None => {
                    let tail = &rest[e.valid_up_to()..];
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
                Some(_) => Err(InvalidUtf8 {
                    valid_up_to: seen + offset + e.valid_up_to(),
                }),
            },
        }
    }

    /// Ends the message: a code point left incomplete is an error.
    pub fn finish(&mut self, seen: usize) -> Result<(), InvalidUtf8> {
        let partial_len = usize::from(std::mem::take(&mut self.partial_len));
        match partial_len {
            0 => Ok(()),
            n => Err(InvalidUtf8 {
                valid_up_to: seen - n,
            }),
        }
    }
}

/// The length of the code point a lead byte starts (1 for bytes that cannot lead, so that
/// validation reports them).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` cut at every pair of offsets; the verdict and offset must match std's.
    fn check_every_split(data: &[u8]) {
        let want = std::str::from_utf8(data)
            .map(|_| ())
            .map_err(|e| e.valid_up_to());
        for a in 0..=data.len() {
            for b in a..=data.len() {
                let mut v = Utf8Validator::new();
                let got = [&data[..a], &data[a..b], &data[b..]]
                    .iter()
                    .scan(0, |seen, piece| {
                        let r = v.feed(piece, *seen);
                        *seen += piece.len();
                        Some(r)
                    })
                    .find(Result::is_err)
                    .unwrap_or_else(|| v.finish(data.len()))
                    .map_err(|e| e.valid_up_to);
                match (got, want) {
                    (Ok(()), Ok(())) => {}
                    // The error must be found no later than std finds it, at the same place,
                    // or (for a truncated code point) when the message ends.
                    (Err(g), Err(w)) => assert_eq!(g, w, "{data:02x?} cut at {a},{b}"),
                    (g, w) => panic!("{data:02x?} cut at {a},{b}: got {g:?}, want {w:?}"),
                }
            }
        }
    }

    #[test]
    fn valid_text_in_every_split() {
        check_every_split("κόσμε héllo ✓ 😀 end".as_bytes());
        check_every_split(b"");
    }

    #[test]
    fn invalid_text_fails_at_the_same_offset_in_every_split() {
        for data in [
            &b"ab\xffcd"[..],
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", // surrogate
            b"\xf4\x90\x80\x80",                                               // > U+10FFFF
            b"\xc0\xaf",                                                       // overlong
            b"ok\xe2\x82",                                                     // truncated at end
            b"\xe2\x82(",
        ] {
            check_every_split(data);
        }
    }

    #[test]
    fn fails_fast_before_the_message_ends() {
        // Autobahn 6.4.1: the bad byte arrives in the middle of a fragment; the rest of the
        // message is never needed to see it.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed("κόσμε".as_bytes(), 0), Ok(()));
        assert_eq!(
            v.feed(b"\xf4\x90\x80\x80", 11),
            Err(InvalidUtf8 { valid_up_to: 11 })
        );
        // And one byte at a time, the first impossible byte fails: 0xf4 0x90 is already out
        // of range.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xf4", 0), Ok(()));
        assert_eq!(v.feed(b"\x90", 1), Err(InvalidUtf8 { valid_up_to: 0 }));
    }
}
