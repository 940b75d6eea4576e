use std::io;

/// Why a framing-layer protocol (text, frame, JSON lines, a [`packet`](crate::packet)
/// protocol) gave up on a connection.
///
/// Every variant is fatal for the connection it came from: Workerman closes the
/// connection in each of these cases, and so does wm-server. Problems a protocol can
/// recover from are reported as items instead (see `wm-jsonnl`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A line grew past its limit before its `\n` arrived (or with it).
    #[error("line longer than the limit of {limit} bytes (including its newline)")]
    LineTooLong {
        /// The largest accepted line, `\n` included.
        limit: usize,
    },
    /// A packet's declared length is over the limit. Raised as soon as the length is
    /// known, before any memory is reserved for the body.
    #[error("packet of {length} bytes is over the limit of {limit} bytes")]
    PacketTooLarge {
        /// The packet length, header included, as declared or as it would be encoded.
        length: u64,
        /// The largest accepted packet.
        limit: usize,
    },
    /// No end of packet was found within the limit, so its length is over the limit.
    #[error("no end of packet within the first {limit} bytes")]
    PacketEndNotFound {
        /// The largest accepted packet.
        limit: usize,
    },
    /// A declared length is shorter than the header that carries it.
    #[error("declared packet length {length} is shorter than its {header}-byte header")]
    LengthBelowHeader {
        /// The declared total length.
        length: u64,
        /// The size of the length header that counts itself.
        header: usize,
    },
    /// A message that must be text is not UTF-8.
    #[error("message is not valid UTF-8 (valid up to byte {valid_up_to})")]
    InvalidUtf8 {
        /// How many leading bytes were valid UTF-8.
        valid_up_to: usize,
    },
    /// A message to encode holds a byte that would end the line early, so the peer would
    /// not receive it as one message: a `\n` anywhere, or a `\r` at its end.
    #[error("message has a line break at byte {offset}; it would not arrive as one line")]
    LineBreakInMessage {
        /// Offset of the offending byte within the message.
        offset: usize,
    },
    /// The connection ended in the middle of a packet.
    #[error("connection closed inside a packet ({buffered} bytes of it buffered)")]
    UnexpectedEof {
        /// Bytes of the unfinished packet that were buffered.
        buffered: usize,
    },
    /// A packet broke the rules of a custom [`packet`](crate::packet) protocol.
    #[error("malformed packet: {0}")]
    Malformed(Box<dyn std::error::Error + Send + Sync>),
    /// A message could not be put into the protocol's wire form (a value serde cannot
    /// write as JSON, say). Nothing was written.
    #[error("message cannot be encoded: {0}")]
    Unencodable(Box<dyn std::error::Error + Send + Sync>),
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Error {
    /// What end of input means for a protocol with `buffered` bytes left over: nothing if
    /// there are none, [`Error::UnexpectedEof`] otherwise.
    pub fn check_eof(buffered: usize) -> Result<(), Self> {
        match buffered {
            0 => Ok(()),
            buffered => Err(Self::UnexpectedEof { buffered }),
        }
    }

    /// A [`Error::Malformed`] from anything that describes the problem.
    pub fn malformed(reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Malformed(reason.into())
    }
}
