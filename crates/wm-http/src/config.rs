//! Limits of one connection, each checked before the bytes it limits are buffered.

use std::time::Duration;

/// Default cap on a request head (request line, headers, blank line): 16 KiB, Workerman's
/// `MAX_HEADER_LENGTH`. Over it: 431.
pub const DEFAULT_MAX_HEAD_SIZE: usize = 16 * 1024;

/// Default cap on the number of header lines. Over it: 431.
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// Default cap on the request target. Over it: 414. Browsers and proxies commonly stop
/// near 8 KiB.
pub const DEFAULT_MAX_TARGET_LENGTH: usize = 8 * 1024;

/// Default cap on a body, declared or de-chunked: Workerman's `maxPackageSize`, 10 MiB.
/// Over it: 413, before the body is buffered.
pub const DEFAULT_MAX_BODY_SIZE: usize = wm_protocol::DEFAULT_MAX_PACKAGE_SIZE;

/// Cap on one chunk-size line (size and extensions). A size needs at most 16 hex digits;
/// the rest is room for extensions, which are ignored. Over it: 400.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Default cap on the trailer section of a chunked body. Over it: 431.
pub const DEFAULT_MAX_TRAILER_SIZE: usize = 8 * 1024;

/// Default time a request head may take to arrive once its first byte has: 30 s. A
/// slowloris client that sends a header line every few seconds is cut off here (Workerman:
/// unbounded; nginx's `client_header_timeout` is 60 s; browsers send a head in one packet).
/// `serve` (feature `tokio`) and wm-server's `http://` listeners both use it.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Default time a kept-alive connection may sit with no request in `serve` (feature `tokio`):
/// 60 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What one connection accepts.
///
/// ```
/// let config = wm_http::Config::default().max_body_size(1 << 20);
/// assert_eq!(config.max_body_size, 1 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest request head, blank line included.
    pub max_head_size: usize,
    /// Most header lines in a head (and in a trailer section).
    pub max_headers: usize,
    /// Longest request target.
    pub max_target_length: usize,
    /// Largest body.
    pub max_body_size: usize,
    /// Largest trailer section of a chunked body.
    pub max_trailer_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_head_size: DEFAULT_MAX_HEAD_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            max_target_length: DEFAULT_MAX_TARGET_LENGTH,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            max_trailer_size: DEFAULT_MAX_TRAILER_SIZE,
        }
    }
}

impl Config {
    /// Sets [`max_head_size`](Config::max_head_size).
    pub fn max_head_size(mut self, limit: usize) -> Self {
        self.max_head_size = limit;
        self
    }

    /// Sets [`max_headers`](Config::max_headers).
    pub fn max_headers(mut self, limit: usize) -> Self {
        self.max_headers = limit;
        self
    }

    /// Sets [`max_target_length`](Config::max_target_length).
    pub fn max_target_length(mut self, limit: usize) -> Self {
        self.max_target_length = limit;
        self
    }

    /// Sets [`max_body_size`](Config::max_body_size).
    pub fn max_body_size(mut self, limit: usize) -> Self {
        self.max_body_size = limit;
        self
    }

    /// Sets [`max_trailer_size`](Config::max_trailer_size).
    pub fn max_trailer_size(mut self, limit: usize) -> Self {
        self.max_trailer_size = limit;
        self
    }
}
