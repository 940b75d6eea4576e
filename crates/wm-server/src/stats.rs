//! Per-listener counters, readable from code and printed by the `wm` tool.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a listener's (or client's) counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted (or made) so far.
    pub connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Messages received (decoded).
    pub messages_received: u64,
    /// Messages sent (encoded into a send buffer or a datagram).
    pub messages_sent: u64,
    /// Bytes read from peers.
    pub bytes_read: u64,
    /// Bytes written to peers.
    pub bytes_written: u64,
    /// Sends refused (buffer full, closed, unencodable, unsupported).
    pub send_failures: u64,
    /// Connections closed for a protocol error.
    pub protocol_errors: u64,
    /// Connections closed by a timeout.
    pub timeouts: u64,
    /// Callbacks that panicked.
    pub handler_panics: u64,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "connections {} (open {}), messages in {} out {}, bytes in {} out {}, \
             send failures {}, protocol errors {}, timeouts {}, handler panics {}",
            self.connections,
            self.open_connections,
            self.messages_received,
            self.messages_sent,
            self.bytes_read,
            self.bytes_written,
            self.send_failures,
            self.protocol_errors,
            self.timeouts,
            self.handler_panics,
        )
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicU64,
    pub(crate) open_connections: AtomicU64,
    pub(crate) messages_received: AtomicU64,
    pub(crate) messages_sent: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) send_failures: AtomicU64,
    pub(crate) protocol_errors: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) handler_panics: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n != 0 {
            counter.fetch_add(n, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            connections: self.connections.load(Relaxed),
            open_connections: self.open_connections.load(Relaxed),
            messages_received: self.messages_received.load(Relaxed),
            messages_sent: self.messages_sent.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            send_failures: self.send_failures.load(Relaxed),
            protocol_errors: self.protocol_errors.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            handler_panics: self.handler_panics.load(Relaxed),
        }
    }
}
