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

/// Why a WebSocket connection cannot go on. [`Error::close_code`] names the close code
/// the connection was failed with (the close frame is already queued in the protocol's
/// output); a handshake error is answered with an HTTP status instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame header broke a rule of RFC 6455 §5 (1002), or was over the frame limit
    /// (1009).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A close frame with a bad payload (1002, or 1007 for a reason that is not UTF-8).
    #[error("invalid close frame: {0}")]
    Close(#[from] crate::close::CloseError),
    /// A text message that is not UTF-8 (1007), noticed at its first bad byte.
    #[error("text message is not valid UTF-8 after byte {valid_up_to}")]
    InvalidUtf8 {
        /// How many bytes of the message were valid.
        valid_up_to: usize,
    },
    /// A message whose fragments add up to more than the limit (1009), refused when the
    /// header of the frame that would cross it arrives.
    #[error("message of at least {length} bytes is over the limit of {limit} bytes")]
    MessageTooLarge {
        /// The size the message would reach.
        length: u64,
        /// [`Config::max_message_size`](crate::Config::max_message_size).
        limit: usize,
    },
    /// A message in more frames than the limit (1009).
    #[error("message has more than {limit} fragments")]
    TooManyFragments {
        /// [`Config::max_fragments`](crate::Config::max_fragments).
        limit: usize,
    },
    /// A continuation frame with no message in progress (1002).
    #[error("continuation frame without a message in progress")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is unfinished (1002).
    #[error("{opcode:?} frame while a fragmented message is unfinished")]
    UnfinishedMessage {
        /// The opcode of the frame that came too early.
        opcode: OpCode,
    },
    /// The opening handshake failed; [`HandshakeError::status`] is the HTTP answer a
    /// server has queued.
    ///
    /// [`HandshakeError::status`]: crate::handshake::HandshakeError::status
    #[error("opening handshake failed: {0}")]
    Handshake(#[from] crate::handshake::HandshakeError),
    /// The transport ended in the middle of a frame or handshake.
    #[error("connection ended with {buffered} bytes of an unfinished frame or handshake")]
    UnexpectedEof {
        /// Bytes that were left.
        buffered: usize,
    },
    /// A message given to the encoder after this end sent or received a close.
    #[error("cannot send after the close handshake started")]
    SendAfterClose,
    /// A ping or pong to send with more than 125 bytes.
    #[error("control frame payload of {length} bytes; at most 125 are allowed")]
    ControlPayloadTooLong {
        /// The payload length.
        length: usize,
    },
    /// A close code that may not be sent: anything but 1000–1003, 1007–1014 and 3000–4999.
    #[error("close code {0} may not be sent")]
    UnsendableCloseCode(u16),
    /// Too many bytes queued before the handshake completed.
    #[error("{queued} bytes queued before the handshake completed; the limit is {limit}")]
    QueueFull {
        /// Bytes already queued.
        queued: usize,
        /// The limit (the message size limit).
        limit: usize,
    },
    /// A compressed message could not be inflated: it is larger than
    /// [`Config::max_message_size`](crate::Config::max_message_size) once inflated (close
    /// 1009, found before more than the limit was produced), or it is not valid DEFLATE
    /// (close 1007).
    #[error(transparent)]
    Inflate(#[from] crate::deflate::InflateError),
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The close code this error fails the connection with, or `None` for errors that end
    /// it without a close frame (handshake, transport, end of input) or concern only what
    /// the application tried to send.
    pub fn close_code(&self) -> Option<CloseCode> {
        Some(match self {
            Self::Frame(e) => e.close_code(),
            Self::Close(e) => e.close_code(),
            Self::InvalidUtf8 { .. } => CloseCode::INVALID_PAYLOAD,
            Self::MessageTooLarge { .. } | Self::TooManyFragments { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            Self::UnexpectedContinuation | Self::UnfinishedMessage { .. } => {
                CloseCode::PROTOCOL_ERROR
            }
            Self::Inflate(crate::deflate::InflateError::TooLarge { .. }) => {
                CloseCode::MESSAGE_TOO_BIG
            }
            Self::Inflate(_) => CloseCode::INVALID_PAYLOAD,
            _ => return None,
        })
    }
}
