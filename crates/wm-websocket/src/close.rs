//! The close frame's payload (RFC 6455 §5.5.1, §7.4): an optional code and a UTF-8 reason.

use bytes::BufMut;

use crate::error::CloseCode;

/// A close frame's code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Why the connection is closing.
    pub code: CloseCode,
    /// A human-readable reason, at most 123 bytes of UTF-8 so the frame fits in 125.
    pub reason: String,
}

/// Why a received close payload is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseError {
    /// One byte: too short for a code, too long for none.
    #[error("close payload of 1 byte; a code needs 2")]
    OneByte,
    /// A code that may not be sent (0–999, 1004–1006, 1015, 1016–2999, 5000 and up).
    #[error("close code {0} may not be sent")]
    InvalidCode(u16),
    /// A reason that is not UTF-8.
    #[error("close reason is not valid UTF-8")]
    InvalidReason,
}

impl CloseError {
    /// The code to answer with: 1007 for a reason that is not UTF-8, 1002 otherwise.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidReason => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl CloseCode {
    /// Whether a peer may put this code in a close frame: 1000–1003, 1007–1014 (those
    /// defined or registered with IANA) and 3000–4999 (libraries and applications).
    /// 1005, 1006 and 1015 are reserved for reporting, never for the wire.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// The largest reason that fits a control frame: 125 bytes less the 2-byte code.
pub const MAX_REASON_LENGTH: usize = 123;

impl CloseFrame {
    /// Parses a received close payload: `Ok(None)` for an empty one (no code given).
    pub fn parse(payload: &[u8]) -> Result<Option<Self>, CloseError> {
        match payload {
            [] => Ok(None),
            [_] => Err(CloseError::OneByte),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_sendable() {
                    return Err(CloseError::InvalidCode(code.0));
                }
                let reason =
                    simdutf8::basic::from_utf8(reason).map_err(|_| CloseError::InvalidReason)?;
                Ok(Some(Self {
                    code,
                    reason: reason.to_owned(),
                }))
            }
        }
    }

    /// Appends the payload: the code, then the reason cut to [`MAX_REASON_LENGTH`] bytes at
    /// a character boundary.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_u16(self.code.0);
        let mut end = self.reason.len().min(MAX_REASON_LENGTH);
        while !self.reason.is_char_boundary(end) {
            end -= 1;
        }
        dst.put_slice(&self.reason.as_bytes()[..end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_payload_has_no_code() {
        assert_eq!(CloseFrame::parse(b""), Ok(None));
    }

    #[test]
    fn spec_code_and_reason() {
        // Spec 10.5: a client closing with 1001 "bye".
        let frame = CloseFrame::parse(b"\x03\xe9bye").unwrap().unwrap();
        assert_eq!(
            frame,
            CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: "bye".into()
            }
        );
        let mut out = Vec::new();
        frame.encode(&mut out);
        assert_eq!(out, b"\x03\xe9bye");
        let mut out = Vec::new();
        CloseFrame {
            code: CloseCode::NORMAL,
            reason: String::new(),
        }
        .encode(&mut out);
        assert_eq!(out, b"\x03\xe8");
    }

    #[test]
    fn one_byte_and_reserved_codes_are_1002() {
        assert_eq!(CloseFrame::parse(b"\x03"), Err(CloseError::OneByte));
        assert_eq!(CloseError::OneByte.close_code(), CloseCode::PROTOCOL_ERROR);
        // Autobahn 7.9.x's invalid codes, and the reserved-for-reporting ones.
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            let payload = code.to_be_bytes();
            assert_eq!(
                CloseFrame::parse(&payload),
                Err(CloseError::InvalidCode(code)),
                "{code}"
            );
        }
        // Autobahn 7.7.x's valid codes.
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            let payload = code.to_be_bytes();
            assert!(CloseFrame::parse(&payload).unwrap().is_some(), "{code}");
        }
    }

    #[test]
    fn reason_must_be_utf8_else_1007() {
        let e =
            CloseFrame::parse(b"\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")
                .unwrap_err();
        assert_eq!(e, CloseError::InvalidReason);
        assert_eq!(e.close_code(), CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn long_reasons_are_cut_at_a_character_boundary() {
        let frame = CloseFrame {
            code: CloseCode::NORMAL,
            reason: "é".repeat(100),
        };
        let mut out = Vec::new();
        frame.encode(&mut out);
        assert_eq!(
            out.len(),
            2 + 122,
            "61 two-byte characters fit in 123 bytes"
        );
        assert!(CloseFrame::parse(&out).is_ok());
    }
}
