//! The text protocol against the spec's vectors (§10.2), its limits, every chunking, and
//! real sockets.

use bytes::{Bytes, BytesMut};
use wm_protocol::testing::{assert_every_split, decode_split_at};
use wm_protocol::{Encode, Limits, Protocol};
use wm_text::{Error, Text, TextBytes, TextLines, DEFAULT_MAX_LINE_LENGTH};

fn strings(t: &wm_protocol::testing::Transcript) -> Vec<&str> {
    t.messages.iter().map(String::as_str).collect()
}

#[test]
fn spec_encode_appends_one_newline() {
    let mut dst = BytesMut::new();
    Text::new().encode("hello", &mut dst).unwrap();
    assert_eq!(&dst[..], b"\x68\x65\x6c\x6c\x6f\x0a");
}

#[test]
fn spec_trailing_cr_and_lf_are_stripped() {
    for (wire, want) in [("hi\r\n", "hi"), ("x\n", "x"), ("a\r\r\n", "a")] {
        let t = assert_every_split(Text::new, wire.as_bytes());
        assert_eq!(t.messages, [format!("{want:?}")], "{wire:?}");
    }
    // Workerman's decode("a\r\n\r\n") is "a"; on a stream the first LF ends the line.
    let t = assert_every_split(Text::new, b"a\r\n\r\n");
    assert_eq!(strings(&t), [r#""a""#, r#""""#]);
}

#[test]
fn spec_stream_vectors() {
    let t = assert_every_split(Text::new, b"a\r\nb\n");
    assert_eq!(strings(&t), [r#""a""#, r#""b""#]);
    let t = decode_split_at(&mut Text::new(), b"hello\nworld\n", &[3, 9]);
    assert_eq!(strings(&t), [r#""hello""#, r#""world""#]);
    let t = assert_every_split(Text::new, b"\n\r\n");
    assert_eq!(strings(&t), [r#""""#, r#""""#]);
}

#[test]
fn cr_inside_a_line_is_kept() {
    let t = assert_every_split(Text::new, b"a\rb\n");
    assert_eq!(strings(&t), [r#""a\rb""#]);
}

#[test]
fn spec_max_package_size_5_accepts_a_4_byte_line() {
    let limits = Limits::new().max_package_size(5);
    let t = assert_every_split(|| Text::with_limits(&limits), b"abc\n");
    assert_eq!(strings(&t), [r#""abc""#]);
    assert_eq!(t.error, None);
}

#[test]
fn spec_max_package_size_5_refuses_a_5_byte_line() {
    let limits = Limits::new().max_package_size(5);
    let t = assert_every_split(|| Text::with_limits(&limits), b"abcd\n");
    assert!(t.messages.is_empty());
    assert_eq!(t.error.as_deref(), Some("LineTooLong { limit: 4 }"));
}

#[test]
fn complete_lines_before_an_over_long_one_are_delivered() {
    // Workerman closes without delivering "ab" (spec §10.2); we deliver it, then fail.
    let limits = Limits::new().max_package_size(5);
    let t = assert_every_split(|| Text::with_limits(&limits), b"ab\ncdefgh");
    assert_eq!(strings(&t), [r#""ab""#]);
    assert_eq!(t.error.as_deref(), Some("LineTooLong { limit: 4 }"));
}

#[test]
fn limit_fires_before_the_newline_arrives() {
    let mut text = Text::with_max_line_length(8);
    let mut buf = BytesMut::from(&b"1234567"[..]);
    assert_eq!(text.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"8");
    assert!(matches!(
        text.decode(&mut buf),
        Err(Error::LineTooLong { limit: 8 })
    ));
}

#[test]
fn zero_limit_refuses_any_byte_but_not_silence() {
    let t = assert_every_split(|| Text::with_max_line_length(0), b"");
    assert_eq!(t.error, None);
    let t = assert_every_split(|| Text::with_max_line_length(0), b"\n");
    assert_eq!(t.error.as_deref(), Some("LineTooLong { limit: 0 }"));
}

#[test]
fn line_exactly_at_the_limit_is_accepted() {
    let t = assert_every_split(|| Text::with_max_line_length(4), b"abc\r\nabc\n");
    // "abc\r\n" is 5 bytes: over; nothing before it.
    assert_eq!(t.error.as_deref(), Some("LineTooLong { limit: 4 }"));
    let t = assert_every_split(|| Text::with_max_line_length(5), b"abc\r\nabc\n");
    assert_eq!(strings(&t), [r#""abc""#, r#""abc""#]);
}

#[test]
fn default_limit_is_workermans_package_size_minus_one() {
    assert_eq!(Text::new().max_line_length(), 10 * 1024 * 1024 - 1);
    assert_eq!(DEFAULT_MAX_LINE_LENGTH, 10 * 1024 * 1024 - 1);
    assert_eq!(
        TextBytes::default().max_line_length(),
        DEFAULT_MAX_LINE_LENGTH
    );
    assert_eq!(
        Text::with_limits(&Limits::new()).max_line_length(),
        DEFAULT_MAX_LINE_LENGTH
    );
}

#[test]
fn invalid_utf8_is_a_typed_error_after_the_good_lines() {
    let t = assert_every_split(Text::new, b"ok\nab\xffcd\nnever\n");
    assert_eq!(strings(&t), [r#""ok""#]);
    assert_eq!(t.error.as_deref(), Some("InvalidUtf8 { valid_up_to: 2 }"));
    // A code point cut short by the line end is invalid too.
    let t = assert_every_split(Text::new, b"\xc3\n");
    assert_eq!(t.error.as_deref(), Some("InvalidUtf8 { valid_up_to: 0 }"));
}

#[test]
fn decoding_goes_on_after_an_invalid_line_when_driven_directly() {
    // The bad line is consumed, so a caller that chooses to go on gets the next line.
    let mut text = Text::new();
    let mut buf = BytesMut::from(&b"ok1\nba\xffd\nok2\n\xe2\x82\n"[..]);
    assert_eq!(text.decode(&mut buf).unwrap().unwrap(), "ok1");
    assert!(matches!(
        text.decode(&mut buf),
        Err(Error::InvalidUtf8 { valid_up_to: 2 })
    ));
    assert_eq!(text.decode(&mut buf).unwrap().unwrap(), "ok2");
    assert!(matches!(
        text.decode(&mut buf),
        Err(Error::InvalidUtf8 { valid_up_to: 0 })
    ));
    assert!(buf.is_empty());
}

#[test]
fn invalid_utf8_deep_in_one_read_spares_the_lines_before_it() {
    // One read holds many lines; the whole read is checked at once, yet every line before
    // the bad one arrives and the error names the offset within the bad line.
    let mut wire = Vec::new();
    for i in 0..500 {
        wire.extend_from_slice(format!("línea {i}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"x\xed\xa0\x80y\n"); // an encoded surrogate: invalid
    wire.extend_from_slice("after\n".as_bytes());
    let t = wm_protocol::testing::decode_whole(&mut Text::new(), &wire);
    assert_eq!(t.messages.len(), 500);
    assert_eq!(t.messages[499], r#""línea 499""#);
    assert_eq!(t.error.as_deref(), Some("InvalidUtf8 { valid_up_to: 1 }"));
}

#[test]
fn a_different_shorter_buffer_does_not_panic() {
    // The protocol remembers how far it searched; a caller that swaps buffers gets
    // nonsense at worst, never a panic.
    let mut text = Text::new();
    let mut bytes = TextBytes::new();
    let mut long = BytesMut::from(&b"no newline yet, quite a few bytes"[..]);
    assert_eq!(text.decode(&mut long).unwrap(), None);
    assert_eq!(bytes.decode(&mut long).unwrap(), None);
    let mut short = BytesMut::from(&b"x\n"[..]);
    let _ = text.decode(&mut short);
    let mut short = BytesMut::from(&b"x\n"[..]);
    let _ = bytes.decode(&mut short);
}

#[test]
fn lines_after_a_batch_boundary_keep_their_order_and_limits() {
    // Several 64-line batches in one read, then an over-long line.
    let mut wire = Vec::new();
    for i in 0..200 {
        wire.extend_from_slice(format!("{i:0>width$}\n", width = 10 + i * 3).as_bytes());
    }
    wire.extend_from_slice(&wire.clone());
    assert!(wire.len() > 64 * 1024);
    wire.extend_from_slice(&[b'z'; 700]);
    wire.push(b'\n');
    let t = wm_protocol::testing::decode_whole(&mut Text::with_max_line_length(700), &wire);
    assert_eq!(t.messages.len(), 400);
    assert_eq!(t.messages[199], format!("\"{:0>607}\"", 199));
    assert_eq!(t.messages[399], format!("\"{:0>607}\"", 199));
    assert_eq!(t.error.as_deref(), Some("LineTooLong { limit: 700 }"));
}

#[test]
fn lines_not_yet_handed_out_stay_in_the_buffer() {
    // A user may switch codecs between messages; lines already checked but not handed
    // out must still be in the read buffer for the next codec.
    let mut buf = BytesMut::from(&b"HELLO\nl1\nl2\npartial"[..]);
    assert_eq!(Text::new().decode(&mut buf).unwrap().unwrap(), "HELLO");
    assert_eq!(&buf[..], b"l1\nl2\npartial");
    let mut bytes = TextBytes::new();
    assert_eq!(bytes.decode(&mut buf).unwrap().unwrap(), "l1");
    assert_eq!(bytes.decode(&mut buf).unwrap().unwrap(), "l2");
}

#[test]
fn multibyte_utf8_split_across_reads_decodes() {
    let t = assert_every_split(Text::new, "héllo wörld ✓ 😀\n".as_bytes());
    assert_eq!(strings(&t), [r#""héllo wörld ✓ 😀""#]);
}

#[test]
fn bytes_variant_does_not_check_utf8() {
    let t = assert_every_split(TextBytes::new, b"ab\xffcd\r\n\n");
    assert_eq!(strings(&t), [r#"b"ab\xffcd""#, r#"b"""#]);
}

/// [`TextBytes::decode_with`] as a protocol, to put it through the same harness.
struct CopiedLines(TextBytes);

impl Protocol for CopiedLines {
    type Message = Bytes;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        self.0.decode_with(src, Bytes::copy_from_slice)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        match self.decode(src)? {
            Some(line) => Ok(Some(line)),
            None => Error::check_eof(src.len()).map(|()| None),
        }
    }
}

#[test]
fn lines_lent_to_a_closure_are_the_lines_split_off() {
    for wire in [
        &b"ab\xffcd\r\n\nlast\r\r\n"[..],
        b"done\npartial",
        b"\n\r\n",
    ] {
        let lent = assert_every_split(|| CopiedLines(TextBytes::new()), wire);
        let split = assert_every_split(TextBytes::new, wire);
        assert_eq!(lent.messages, split.messages, "{wire:?}");
        assert_eq!(lent.error, split.error, "{wire:?}");
    }
    // Over-long lines fail the same way.
    let lent = assert_every_split(
        || CopiedLines(TextBytes::with_max_line_length(4)),
        b"abc\nabcd\n",
    );
    assert_eq!(lent.messages, [r#"b"abc""#]);
    assert_eq!(
        lent.error,
        assert_every_split(|| TextBytes::with_max_line_length(4), b"abc\nabcd\n").error
    );
}

#[test]
fn bytes_variant_slices_the_read_buffer() {
    let mut buf = BytesMut::from(&b"first line\nsecond\n"[..]);
    let base = buf.as_ptr();
    let line = TextBytes::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(line, "first line");
    assert_eq!(line.as_ptr(), base, "the message was copied");
}

#[test]
fn end_of_input_inside_a_line_is_an_error() {
    let t = assert_every_split(Text::new, b"done\npartial");
    assert_eq!(strings(&t), [r#""done""#]);
    assert_eq!(t.error.as_deref(), Some("UnexpectedEof { buffered: 7 }"));
    let t = assert_every_split(TextBytes::new, b"partial");
    assert_eq!(t.error.as_deref(), Some("UnexpectedEof { buffered: 7 }"));
}

#[test]
fn encode_refuses_a_message_that_would_split() {
    let mut dst = BytesMut::new();
    assert!(matches!(
        Text::new().encode("a\nb", &mut dst),
        Err(Error::LineBreakInMessage { offset: 1 })
    ));
    assert!(matches!(
        Text::new().encode("ab\r", &mut dst),
        Err(Error::LineBreakInMessage { offset: 2 })
    ));
    assert!(matches!(
        TextBytes::new().encode(Bytes::from_static(b"\n"), &mut dst),
        Err(Error::LineBreakInMessage { offset: 0 })
    ));
    assert!(dst.is_empty(), "a refused message wrote bytes");
    // A CR inside the message round-trips, so it is allowed.
    Text::new().encode(String::from("a\rb"), &mut dst).unwrap();
    assert_eq!(&dst[..], b"a\rb\n");
}

#[test]
fn errors_say_what_was_wrong() {
    let e = Error::LineTooLong { limit: 4 };
    assert_eq!(
        e.to_string(),
        "line longer than the limit of 4 bytes (including its newline)"
    );
    let e = Error::InvalidUtf8 { valid_up_to: 2 };
    assert_eq!(
        e.to_string(),
        "message is not valid UTF-8 (valid up to byte 2)"
    );
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = String> {
        // Any text without LF, not ending in CR.
        "[^\n]{0,60}".prop_filter("ends in CR", |s| !s.ends_with('\r'))
    }

    proptest! {
        #[test]
        fn strings_survive_any_chunking(
            lines in proptest::collection::vec(line(), 0..30),
            cuts in proptest::collection::vec(0usize..4000, 0..12),
        ) {
            let mut wire = BytesMut::new();
            for l in &lines {
                Text::new().encode(l, &mut wire).unwrap();
            }
            let t = decode_split_at(&mut Text::new(), &wire, &cuts);
            let want: Vec<String> = lines.iter().map(|l| format!("{l:?}")).collect();
            prop_assert_eq!(t.messages, want);
            prop_assert_eq!(t.error, None);
        }

        #[test]
        fn mixed_lines_survive_any_chunking_as_text_lines(
            lines in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(0xc3), Just(0xa9), Just(0xff), Just(b'\r')], 0..20)
                    .prop_filter("line break", |l| l.last() != Some(&b'\r')),
                0..30),
            cuts in proptest::collection::vec(0usize..1000, 0..12),
        ) {
            let mut wire = BytesMut::new();
            for l in &lines {
                TextLines::new().encode(l, &mut wire).unwrap();
            }
            let t = decode_split_at(&mut TextLines::new(), &wire, &cuts);
            let got: Vec<String> = t.messages;
            prop_assert_eq!(got.len(), lines.len());
            for (message, l) in got.iter().zip(&lines) {
                match std::str::from_utf8(l) {
                    Ok(text) => prop_assert_eq!(message, &format!("{:?}", Ok::<_, ()>(text))),
                    Err(e) => {
                        prop_assert!(message.starts_with("Err(NotUtf8"), "{}", message);
                        let valid = format!("valid_up_to: {} }}", e.valid_up_to());
                        prop_assert!(message.contains(&valid), "{}", message);
                    }
                }
            }
            prop_assert_eq!(t.error, None);
            // TextBytes::decode_text gives the same items, one line at a time.
            let mut buf = BytesMut::from(&wire[..]);
            let mut one_at_a_time = TextBytes::new();
            let mut batched = TextLines::new();
            let mut batched_buf = BytesMut::from(&wire[..]);
            while let Some(line) = one_at_a_time.decode_text(&mut buf).unwrap() {
                prop_assert_eq!(Some(line), batched.decode(&mut batched_buf).unwrap());
            }
            prop_assert_eq!(batched.decode(&mut batched_buf).unwrap(), None);
        }

        #[test]
        fn bytes_survive_any_chunking(
            lines in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..60)
                    .prop_filter("line break", |l| !l.contains(&b'\n') && l.last() != Some(&b'\r')),
                0..30),
            cuts in proptest::collection::vec(0usize..4000, 0..12),
        ) {
            let mut wire = BytesMut::new();
            for l in &lines {
                TextBytes::new().encode(l, &mut wire).unwrap();
            }
            let t = decode_split_at(&mut TextBytes::new(), &wire, &cuts);
            let want: Vec<String> = lines.iter().map(|l| format!("{:?}", Bytes::from(l.clone()))).collect();
            prop_assert_eq!(t.messages, want);
            prop_assert_eq!(t.error, None);
        }

        /// Against a model that does it the obvious way: split at each `\n`, strip
        /// trailing `\r`, check the line with `std::str::from_utf8`.
        #[test]
        fn arbitrary_bytes_decode_as_the_obvious_model_says(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(0xc3), Just(0xa9), Just(0xe2), any::<u8>(), 0x20u8..0x7f], 0..300),
            cuts in proptest::collection::vec(0usize..400, 0..8),
        ) {
            let mut want = Vec::new();
            let mut want_error = None;
            let mut rest = &data[..];
            while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
                let mut line = &rest[..nl];
                while let [head @ .., b'\r'] = line {
                    line = head;
                }
                match std::str::from_utf8(line) {
                    Ok(s) => want.push(format!("{s:?}")),
                    Err(e) => {
                        want_error = Some(format!("InvalidUtf8 {{ valid_up_to: {} }}", e.valid_up_to()));
                        break;
                    }
                }
                rest = &rest[nl + 1..];
            }
            if want_error.is_none() && !rest.is_empty() {
                want_error = Some(format!("UnexpectedEof {{ buffered: {} }}", rest.len()));
            }
            let t = decode_split_at(&mut Text::new(), &data, &cuts);
            prop_assert_eq!(t.messages, want);
            prop_assert_eq!(t.error, want_error);
        }

        #[test]
        fn arbitrary_bytes_decode_the_same_in_any_chunking(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..200),
            cuts in proptest::collection::vec(any::<u16>(), 0..12),
        ) {
            wm_protocol::testing::assert_split_equivalence(|| Text::with_max_line_length(16), &data, &cuts);
            wm_protocol::testing::assert_split_equivalence(|| TextBytes::with_max_line_length(16), &data, &cuts);
        }
    }
}

#[test]
fn a_line_that_is_not_utf8_is_an_item_and_the_stream_goes_on() {
    // Workerman echoes all three lines; a GBK or Latin-1 client must not be cut off.
    let wire = b"ok\n\xc3(\nafter\r\n\xff\n\n";
    let t = assert_every_split(TextLines::new, wire);
    assert_eq!(t.error, None);
    let bad = |line: &'static [u8], valid_up_to| {
        format!(
            "{:?}",
            Err::<String, _>(NotUtf8Fields { line, valid_up_to }.make())
        )
    };
    assert_eq!(
        t.messages,
        [
            format!("{:?}", Ok::<_, ()>("ok")),
            bad(b"\xc3(", 0),
            format!("{:?}", Ok::<_, ()>("after")),
            bad(b"\xff", 0),
            format!("{:?}", Ok::<_, ()>("")),
        ]
    );
    // Text itself still fails at the bad line, once the lines before it are out.
    let t = assert_every_split(Text::new, wire);
    assert_eq!(strings(&t), [r#""ok""#]);
    assert!(
        matches!(t.error.as_deref(), Some(e) if e.contains("InvalidUtf8")),
        "{:?}",
        t.error
    );
}

/// Builds the `NotUtf8` the decoder is expected to hand out (its fields are public, the
/// struct is `non_exhaustive`: it is made by decoding).
struct NotUtf8Fields {
    line: &'static [u8],
    valid_up_to: usize,
}

impl NotUtf8Fields {
    fn make(&self) -> wm_text::NotUtf8 {
        let mut lines = TextLines::new();
        let mut wire = BytesMut::from(self.line);
        wire.extend_from_slice(b"\n");
        let bad = lines.decode(&mut wire).unwrap().unwrap().unwrap_err();
        assert_eq!(
            (&bad.line[..], bad.valid_up_to),
            (self.line, self.valid_up_to)
        );
        bad
    }
}

#[test]
fn a_bad_line_keeps_its_partial_validity_and_the_line_limit_still_holds() {
    let mut lines = TextLines::with_max_line_length(8);
    let mut buf = BytesMut::from(&b"caf\xc3\xa9\xe9\n123456789\n"[..]);
    let bad = lines.decode(&mut buf).unwrap().unwrap().unwrap_err();
    assert_eq!(
        (&bad.line[..], bad.valid_up_to),
        (&b"caf\xc3\xa9\xe9"[..], 5)
    );
    assert!(bad.to_string().contains("valid up to byte 5"), "{bad}");
    assert!(matches!(
        lines.decode(&mut buf),
        Err(Error::LineTooLong { limit: 8 })
    ));
}

#[test]
fn text_lines_round_trip_bytes_and_strings() {
    let mut dst = BytesMut::new();
    let mut lines = TextLines::new();
    lines.encode("héllo", &mut dst).unwrap();
    lines.encode(&b"\xc3("[..], &mut dst).unwrap();
    assert_eq!(&dst[..], b"h\xc3\xa9llo\n\xc3(\n");
    assert!(matches!(
        lines.encode("a\nb", &mut dst),
        Err(Error::LineBreakInMessage { offset: 1 })
    ));
}
