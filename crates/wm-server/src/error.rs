//! One error enum per layer: configuration, a connection's life, a send.

use std::error::Error as StdError;
use std::io;

use crate::protocols::DecodeError;

/// A listener or client cannot be set up as asked. Raised by [`Worker::new`],
/// [`Client::new`] and when binding, never later.
///
/// [`Worker::new`]: crate::Worker::new
/// [`Client::new`]: crate::Client::new
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL is not `scheme://address`, or its address does not suit its transport.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No protocol is registered under this scheme.
    #[error("unknown scheme {0:?}: not a transport (tcp, udp, unix) nor a registered protocol")]
    UnknownScheme(String),
    /// The scheme only makes sense for a client (`ws`, `wss`) or only for a server.
    #[error("scheme {scheme:?} is for {side} only")]
    WrongSide {
        /// The scheme.
        scheme: String,
        /// `"clients"` or `"servers"`.
        side: &'static str,
    },
    /// The protocol cannot run over this transport (WebSocket over UDP, say).
    #[error("scheme {scheme:?} cannot run over {transport}")]
    UnsupportedTransport {
        /// The scheme.
        scheme: String,
        /// The transport asked for.
        transport: &'static str,
    },
    /// An option has a value that cannot work (a low watermark above the high one).
    #[error("invalid option: {0}")]
    InvalidOption(&'static str),
    /// The address could not be resolved.
    #[error("cannot resolve {address:?}: {source}")]
    Resolve {
        /// The address.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// The socket could not be bound or listened on.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why (address in use, permission denied, …).
        source: io::Error,
    },
    /// The TLS certificate, key or settings are unusable, or a TLS scheme (`wss`,
    /// `https`, `ssl`) has none.
    #[error("TLS: {0}")]
    Tls(String),
    /// The worker threads or runtimes could not be started.
    #[error("cannot start the worker: {0}")]
    Runtime(io::Error),
}

/// What went wrong on one connection, as [`Handler::on_error`](crate::Handler::on_error)
/// hears it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer broke the protocol; the protocol's answer was queued and the connection
    /// closes after it.
    #[error("protocol error: {0}")]
    Protocol(#[from] DecodeError),
    /// A send was refused: the send buffer already held its high watermark (Workerman's
    /// `SEND_FAIL`, "send buffer full and drop package").
    #[error("send buffer full ({buffered} bytes, limit {limit}); message dropped")]
    SendBufferFull {
        /// Bytes waiting to be written.
        buffered: usize,
        /// The high watermark.
        limit: usize,
    },
    /// A timeout ran out; the connection closes.
    #[error("{0} timeout")]
    Timeout(TimeoutKind),
    /// A callback panicked; the connection closes.
    #[error("handler panicked: {0}")]
    HandlerPanicked(String),
    /// A client could not connect (Workerman's `CONNECT_FAIL`).
    #[error("connect failed: {0}")]
    Connect(io::Error),
    /// The transport failed.
    #[error("transport error: {0}")]
    Io(#[from] io::Error),
}

/// Which timeout ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// The opening handshake (WebSocket) did not finish in time.
    Handshake,
    /// A request head (or handshake request) was still incomplete: a slowloris client.
    Header,
    /// Nothing was received for the idle timeout.
    Idle,
    /// The peer did not answer our close (WebSocket close frame) in time.
    Close,
    /// The peer sent nothing for the heartbeat's limit of intervals
    /// ([`Heartbeat`](crate::Heartbeat)).
    Heartbeat,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Handshake => "handshake",
            Self::Header => "header read",
            Self::Idle => "idle",
            Self::Close => "close",
            Self::Heartbeat => "heartbeat",
        })
    }
}

/// How [`Connection::send`](crate::Connection::send) took a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// The transport took it before `send` returned (a datagram).
    Written,
    /// It is in the send buffer. The connection's task writes the buffer in order, once
    /// the messages of the current read are handled (one write for all their replies) or
    /// at once when sent from elsewhere.
    Queued,
}

/// Why [`Connection::send`](crate::Connection::send) refused a message. Nothing of it was
/// queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closing or closed.
    #[error("connection is closed")]
    Closed,
    /// The send buffer already held its high watermark (see
    /// [`Handler::on_buffer_full`](crate::Handler::on_buffer_full)).
    #[error("send buffer full ({buffered} bytes, limit {limit})")]
    BufferFull {
        /// Bytes waiting to be written.
        buffered: usize,
        /// The high watermark.
        limit: usize,
    },
    /// The scheme has no wire form for this kind of message (a `Request` over `text://`).
    #[error("{scheme}:// cannot send a {kind} message")]
    Unsupported {
        /// The connection's scheme.
        scheme: &'static str,
        /// [`Message::kind`](crate::Message::kind).
        kind: &'static str,
    },
    /// The protocol refused the message (a line break inside a `text://` line, an HTTP
    /// response out of turn, a WebSocket ping over 125 bytes).
    #[error("cannot encode: {0}")]
    Encode(Box<dyn StdError + Send + Sync>),
    /// The datagram could not be sent.
    #[error("send failed: {0}")]
    Io(#[from] io::Error),
}
