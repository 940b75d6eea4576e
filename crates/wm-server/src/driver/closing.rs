//! The end of a connection: writing what is queued (and, for a protocol that waits for
//! its peer, reading its answer), then lingering for the peer's FIN.

use std::task::{Context, Poll};

use tokio::time::Instant;

use super::{Driver, Io, Phase, READ_SIZE};
use crate::connection::{lock, CloseRequest};
use crate::protocols::{decode_guarded, DynProtocol};
use crate::stats::Counters;
use crate::{ConnectionError, TimeoutKind};

impl<S: Io> Driver<S> {
    pub(super) fn poll_closing(
        &mut self,
        cx: &mut Context<'_>,
        wait_for_peer: bool,
        deadline: Instant,
    ) -> Poll<Phase> {
        loop {
            if let Some(CloseRequest::Abort) = lock(&self.conn.0.state).close.take() {
                return Poll::Ready(Phase::Done);
            }
            let mut progress = false;
            if wait_for_peer && !self.eof {
                // Read on for the peer's answer; what it still sends is not handed out.
                match self.poll_read(cx) {
                    Poll::Ready(Ok(0)) => {
                        self.eof = true;
                        progress = true;
                    }
                    Poll::Ready(Ok(n)) => {
                        Counters::add(&self.conn.0.endpoint.counters.bytes_read, n as u64);
                        if !self.drain_decoded() {
                            // The peer broke the protocol (or the protocol broke): there
                            // is no close handshake left to wait for.
                            return Poll::Ready(self.shutdown_phase());
                        }
                        progress = true;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(Phase::Done),
                    Poll::Pending => {}
                }
            }
            let (written, snapshot) = self.poll_write_out(cx);
            if snapshot.close_pending {
                continue;
            }
            let written = match written {
                Poll::Ready(Ok(())) => true,
                Poll::Ready(Err(_)) => return Poll::Ready(Phase::Done),
                Poll::Pending => false,
            };
            let finished = snapshot.finished;
            let peer_gone = self.eof && !self.answers_after_eof;
            if written && (!wait_for_peer || finished || peer_gone) {
                return Poll::Ready(self.shutdown_phase());
            }
            if progress {
                continue;
            }
            if self.poll_timer(cx, deadline) {
                if wait_for_peer && !finished {
                    Counters::add(&self.conn.0.endpoint.counters.timeouts, 1);
                    self.error(ConnectionError::Timeout(TimeoutKind::Close));
                }
                return Poll::Ready(if written {
                    self.shutdown_phase()
                } else {
                    Phase::Done
                });
            }
            return Poll::Pending;
        }
    }

    /// Decodes what arrived while closing, for the protocol's sake (a WebSocket sees the
    /// peer's close), and drops the messages; `false` if decoding failed.
    fn drain_decoded(&mut self) -> bool {
        let mut guard = match self.decoder {
            Some(_) => None,
            None => Some(lock(&self.conn.0.state)),
        };
        loop {
            let counters = &self.conn.0.endpoint.counters;
            let protocol: &mut dyn DynProtocol = match (&mut self.decoder, &mut guard) {
                (Some(decoder), _) => &mut **decoder,
                (None, Some(state)) => &mut *state.protocol,
                (None, None) => return true,
            };
            let decoded = decode_guarded(protocol, &mut self.read, false, counters);
            match decoded {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(_) => {
                    self.read.clear();
                    return false;
                }
            }
        }
    }

    pub(super) fn poll_linger(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        loop {
            self.read.clear();
            match self.io.poll_read_into(cx, &mut self.read, READ_SIZE) {
                Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(_)) => continue,
                Poll::Pending => {}
            }
            if self.poll_timer(cx, deadline) {
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
    }
}
