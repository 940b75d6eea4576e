use crate::frame::OpCode;

/// A WebSocket close code (RFC 6455 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page left).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a kind of data this endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1007: data inconsistent with the message type (text that is not UTF-8).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message that violates the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
}

/// Why a received frame header was refused. Each maps to the close code the connection
/// is closed with ([`FrameError::close_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// RSV2 or RSV3 set, or RSV1 without an extension that owns it.
    #[error("reserved bits set (RSV1-3 = {rsv:03b}) without an extension that owns them")]
    ReservedBits {
        /// RSV1, RSV2, RSV3 as the three low bits, RSV1 highest.
        rsv: u8,
    },
    /// An opcode RFC 6455 reserves (0x3–0x7, 0xB–0xF).
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A close, ping or pong with FIN clear.
    #[error("{opcode:?} frame is fragmented; control frames must have FIN set")]
    FragmentedControl {
        /// The control opcode.
        opcode: OpCode,
    },
    /// A control frame with more than 125 bytes of payload.
    #[error("control frame payload of {length} bytes; at most 125 are allowed")]
    ControlTooLong {
        /// Its declared payload length.
        length: u64,
    },
    /// A length in a longer form than needed (a 16-bit length under 126, a 64-bit length
    /// under 65 536).
    #[error("payload length {length} is not in its minimal encoding")]
    NonMinimalLength {
        /// The declared length.
        length: u64,
    },
    /// A 64-bit length with its most significant bit set.
    #[error("64-bit payload length has its most significant bit set")]
    LengthMsbSet,
    /// A client frame without a mask.
    #[error("frame from the client is not masked")]
    Unmasked,
    /// A server frame with a mask.
    #[error("frame from the server is masked")]
    Masked,
    /// A frame whose payload is over the limit; refused before any of it is buffered.
    #[error("frame payload of {length} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The declared payload length.
        length: u64,
        /// The largest accepted payload.
        limit: u64,
    },
}

impl FrameError {
    /// The close code to send before closing: 1009 for an oversize frame, 1002 for the
    /// rest.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::TooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}
