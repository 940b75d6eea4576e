//! Per-connection limits and timeouts, with Workerman's defaults where it has them.

use std::time::Duration;

use wm_protocol::Limits;
use wm_websocket::deflate::DeflateConfig;

/// Workerman's `TcpConnection::$defaultMaxSendBufferSize`: 1 MiB.
pub const DEFAULT_SEND_HIGH_WATERMARK: usize = 1024 * 1024;

/// Workerman fires `onBufferDrain` when the buffer is empty.
pub const DEFAULT_SEND_LOW_WATERMARK: usize = 0;

/// How long the WebSocket opening handshake may take from accept (Workerman: unbounded).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request head may take from its first byte: wm-http's own default (30 s), so
/// that `wm_http::serve` and an `http://` listener cut a slowloris client off alike.
pub use wm_http::DEFAULT_HEADER_TIMEOUT;

/// How long a closing WebSocket waits for the peer's close frame, and a stopping server
/// for its connections: Workerman's `Worker::$stopTimeout`, 2 s.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a closed connection keeps reading (and dropping) after its FIN, so that the
/// peer reads our last bytes instead of a reset: Workerman's `$defaultLingerTimeout`.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(1);

/// The longest timeout accepted: a year.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Heartbeats (GatewayWorker's `pingInterval`, `pingNotResponseLimit`, `pingData`): every
/// `interval` the connection sends a ping (a WebSocket ping frame, or [`data`](Self::data)
/// as a text message), and a peer that sent nothing since the last
/// `not_responding_limit` pings is closed at the next beat
/// ([`TimeoutKind::Heartbeat`](crate::TimeoutKind::Heartbeat)): after between `limit`
/// and `limit + 1` intervals of silence, each ping having had a whole interval for its
/// answer. Any bytes from the peer count, a WebSocket pong included: with a limit of 1,
/// a WebSocket peer must answer each ping before the next one is due. For a listener this finds
/// dead and silent clients; for a [`Client`](crate::Client) with a reconnect, it
/// reconnects when the server stops answering.
///
/// ```
/// use std::time::Duration;
/// use wm_server::{ConnectionOptions, Heartbeat};
/// // Ping every 25 s; close a client that sent nothing for two of them.
/// let options = ConnectionOptions::default()
///     .heartbeat(Heartbeat::new(Duration::from_secs(25)).not_responding_limit(2));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Heartbeat {
    /// How often to ping and check.
    pub interval: Duration,
    /// Pings in a row that the peer may leave without a byte before it is closed; 0
    /// never closes, and only pings (Workerman's default for `pingNotResponseLimit`).
    /// Default 2.
    pub not_responding_limit: u32,
    /// Sent as a text message each interval (Workerman's `pingData`), on every scheme
    /// but `http://`, where a message nobody asked for would be taken as the answer to
    /// the next request (there only the silence is watched). Without it a WebSocket
    /// sends a ping frame, and other schemes send nothing.
    pub data: Option<&'static str>,
}

impl Heartbeat {
    /// A ping every `interval`, and a close after two silent intervals.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            not_responding_limit: 2,
            data: None,
        }
    }

    /// Sets [`not_responding_limit`](Self::not_responding_limit).
    #[must_use]
    pub fn not_responding_limit(mut self, intervals: u32) -> Self {
        self.not_responding_limit = intervals;
        self
    }

    /// Sets [`data`](Self::data).
    #[must_use]
    pub fn data(mut self, data: &'static str) -> Self {
        self.data = Some(data);
        self
    }
}

/// The limits and timeouts of each connection of a listener or client.
///
/// ```
/// use std::time::Duration;
/// let options = wm_server::ConnectionOptions::default()
///     .max_package_size(64 * 1024)
///     .send_watermarks(256 * 1024, 64 * 1024)
///     .idle_timeout(Some(Duration::from_secs(120)));
/// assert_eq!(options.limits.max_package_size, 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionOptions {
    /// What the protocols may buffer (the package size: 10 MiB by default).
    pub limits: Limits,
    /// Sends are refused while the send buffer holds this many bytes or more, and
    /// `on_buffer_full` fires when a send reaches it. Default 1 MiB.
    pub send_high_watermark: usize,
    /// `on_buffer_drain` fires when a full buffer drains to this many bytes. Default 0.
    pub send_low_watermark: usize,
    /// The WebSocket opening handshake must finish within this of the accept.
    pub handshake_timeout: Option<Duration>,
    /// A request head (HTTP, the WebSocket handshake) must complete within this of its
    /// first byte.
    pub header_timeout: Option<Duration>,
    /// A connection that receives nothing for this long is closed. Default none, as in
    /// Workerman.
    pub idle_timeout: Option<Duration>,
    /// How long a close waits for the peer (its WebSocket close, responses owed to it).
    pub close_timeout: Duration,
    /// How long to read and drop after our FIN before the socket is closed.
    pub linger: Duration,
    /// permessage-deflate (RFC 7692) for WebSocket connections: the policy a
    /// `websocket://` listener answers offers with, and what a `ws://` client offers
    /// (there, [`DeflateConfig::client`] offers what browsers do). Default off.
    pub deflate: Option<DeflateConfig>,
    /// Pings, and the close of a peer gone silent. Default none, as in Workerman.
    pub heartbeat: Option<Heartbeat>,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        Self {
            limits: Limits::new(),
            send_high_watermark: DEFAULT_SEND_HIGH_WATERMARK,
            send_low_watermark: DEFAULT_SEND_LOW_WATERMARK,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            header_timeout: Some(DEFAULT_HEADER_TIMEOUT),
            idle_timeout: None,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            linger: DEFAULT_LINGER,
            deflate: None,
            heartbeat: None,
        }
    }
}

impl ConnectionOptions {
    /// Sets the largest package a peer may send.
    #[must_use]
    pub fn max_package_size(mut self, bytes: usize) -> Self {
        self.limits = self.limits.max_package_size(bytes);
        self
    }

    /// Sets the send buffer's high and low watermarks.
    #[must_use]
    pub fn send_watermarks(mut self, high: usize, low: usize) -> Self {
        self.send_high_watermark = high;
        self.send_low_watermark = low;
        self
    }

    /// Sets the handshake timeout.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets the header-read timeout.
    #[must_use]
    pub fn header_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets the idle timeout.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the close timeout.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Turns permessage-deflate on for WebSocket connections (see
    /// [`deflate`](Self::deflate)).
    ///
    /// ```
    /// use wm_server::{ConnectionOptions, DeflateConfig, Worker};
    /// let worker = Worker::new("websocket://127.0.0.1:0")?
    ///     .options(ConnectionOptions::default().deflate(DeflateConfig::default()));
    /// # Ok::<(), wm_server::ConfigError>(())
    /// ```
    #[must_use]
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// Sets the heartbeat (see [`Heartbeat`]).
    #[must_use]
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = Some(heartbeat);
        self
    }

    /// Sets the linger time.
    #[must_use]
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    pub(crate) fn check(&self) -> Result<(), crate::ConfigError> {
        if self.send_low_watermark > self.send_high_watermark {
            return Err(crate::ConfigError::InvalidOption(
                "the send low watermark is above the high watermark",
            ));
        }
        // Deadlines are computed as now + timeout: a timeout of centuries would overflow.
        let longest = [
            self.handshake_timeout,
            self.header_timeout,
            self.idle_timeout,
            Some(self.close_timeout),
            Some(self.linger),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or_default();
        if longest > MAX_TIMEOUT {
            return Err(crate::ConfigError::InvalidOption(
                "a timeout over a year (use None for no timeout)",
            ));
        }
        if let Some(heartbeat) = self.heartbeat {
            if heartbeat.interval.is_zero() {
                return Err(crate::ConfigError::InvalidOption(
                    "a heartbeat interval of zero",
                ));
            }
            let silence = heartbeat
                .interval
                .checked_mul(heartbeat.not_responding_limit.max(1));
            if silence.map_or(true, |silence| silence > MAX_TIMEOUT) {
                return Err(crate::ConfigError::InvalidOption(
                    "a heartbeat interval times its limit over a year",
                ));
            }
        }
        if self.send_high_watermark == 0 {
            return Err(crate::ConfigError::InvalidOption(
                "a send high watermark of 0 refuses every send",
            ));
        }
        Ok(())
    }
}
