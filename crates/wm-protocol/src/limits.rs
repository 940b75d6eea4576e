/// Workerman's `TcpConnection::$defaultMaxPackageSize`: 10 MiB.
pub const DEFAULT_MAX_PACKAGE_SIZE: usize = 10 * 1024 * 1024;

/// Connection-wide limits that every protocol derives its own limits from.
///
/// Protocols add finer limits of their own on top (a text line, a WebSocket handshake,
/// an HTTP header block); each documents how it derives its default from these.
///
/// ```
/// let limits = wm_protocol::Limits::new().max_package_size(64 * 1024);
/// assert_eq!(limits.max_package_size, 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest packet a peer may send, headers and delimiters included, in bytes.
    /// Default [`DEFAULT_MAX_PACKAGE_SIZE`].
    pub max_package_size: usize,
}

impl Limits {
    /// The defaults: Workerman's 10 MiB package size.
    pub const fn new() -> Self {
        Self {
            max_package_size: DEFAULT_MAX_PACKAGE_SIZE,
        }
    }

    /// Sets the largest packet a peer may send.
    #[must_use]
    pub const fn max_package_size(mut self, bytes: usize) -> Self {
        self.max_package_size = bytes;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}
