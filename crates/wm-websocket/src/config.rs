//! Limits and options of one connection.

/// Default largest message (after reassembling its fragments): Workerman's
/// `maxPackageSize`, 10 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = wm_protocol::DEFAULT_MAX_PACKAGE_SIZE;

/// Default largest payload of one frame: the message limit, since one frame may carry a
/// whole message.
pub const DEFAULT_MAX_FRAME_SIZE: usize = DEFAULT_MAX_MESSAGE_SIZE;

/// Default largest number of frames in one message. Fragments cost a header each and can
/// be empty, so without a count a peer could keep one message open with an endless run of
/// zero-length frames. 131 072 is twice what Autobahn's cases 9.3.1 / 9.4.1 send: a 4 MiB
/// message in 64-byte pieces, 65 537 frames.
pub const DEFAULT_MAX_FRAGMENTS: usize = 1 << 17;

/// Default cap on the opening handshake (request or response head, up to and including its
/// blank line): 16 KiB, the header-block cap Workerman's HTTP server uses. Browsers send
/// well under 4 KiB unless cookies are large.
pub const DEFAULT_MAX_HANDSHAKE_SIZE: usize = 16 * 1024;

/// The most header lines a handshake may have. More is answered with 431.
pub const MAX_HANDSHAKE_HEADERS: usize = 64;

/// What one connection accepts. Every limit is checked against the length a frame header
/// declares, before any of the payload is buffered.
///
/// ```
/// use wm_websocket::Config;
/// let config = Config::default().max_message_size(64 << 20).max_frame_size(16 << 20);
/// assert_eq!(config.max_message_size, 64 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest payload of one frame (close 1009 if over).
    pub max_frame_size: usize,
    /// Largest message, all fragments together (close 1009 if over).
    pub max_message_size: usize,
    /// Most frames one message may span (close 1009 if over).
    pub max_fragments: usize,
    /// Largest opening handshake head (431 from a server, an error in a client).
    pub max_handshake_size: usize,
    /// Refuse frame lengths not in their minimal encoding (close 1002). Off by default:
    /// RFC 6455 binds only the sender, and Workerman's `ws://` client sends a 65535-byte
    /// payload with the 64-bit length (spec §9 #14). The size limits apply to the decoded
    /// length either way, before any payload is buffered.
    pub minimal_lengths: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_fragments: DEFAULT_MAX_FRAGMENTS,
            max_handshake_size: DEFAULT_MAX_HANDSHAKE_SIZE,
            minimal_lengths: false,
        }
    }
}

impl Config {
    /// Sets [`max_frame_size`](Config::max_frame_size).
    pub fn max_frame_size(mut self, limit: usize) -> Self {
        self.max_frame_size = limit;
        self
    }

    /// Sets [`max_message_size`](Config::max_message_size).
    pub fn max_message_size(mut self, limit: usize) -> Self {
        self.max_message_size = limit;
        self
    }

    /// Sets [`max_fragments`](Config::max_fragments).
    pub fn max_fragments(mut self, limit: usize) -> Self {
        self.max_fragments = limit;
        self
    }

    /// Sets [`max_handshake_size`](Config::max_handshake_size).
    pub fn max_handshake_size(mut self, limit: usize) -> Self {
        self.max_handshake_size = limit;
        self
    }

    /// Sets [`minimal_lengths`](Config::minimal_lengths): the strict reading of RFC 6455
    /// §5.2 for received frames.
    pub fn minimal_lengths(mut self, strict: bool) -> Self {
        self.minimal_lengths = strict;
        self
    }
}
