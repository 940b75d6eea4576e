//! How `wm connect` prints a message as one line.
//!
//! Valid UTF-8 is printed as it is, except: `\` as `\\`, newline as `\n`, carriage
//! return as `\r`, tab as `\t`, every other control character (U+0000–U+001F, U+007F)
//! and every byte that is not part of valid UTF-8 as `\xHH`. So a line always holds
//! exactly one message, and the bytes can be recovered from it.

/// `bytes` as one printable line (without the newline).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn printable_text_is_unchanged() {
        assert_eq!(escape("héllo ✓ world".as_bytes()), "héllo ✓ world");
    }

    #[test]
    fn line_breaks_backslashes_and_controls_are_escaped() {
        assert_eq!(
            escape(b"a\nb\rc\td\\e\x00\x1b\x7f"),
            "a\\nb\\rc\\td\\\\e\\x00\\x1b\\x7f"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_hex() {
        assert_eq!(escape(b"\xff\xfe ok \xe2\x9c"), "\\xff\\xfe ok \\xe2\\x9c");
    }
}
