//! One task per stream connection: read, decode, call the handler, write what it sent;
//! timeouts; the graceful close. Workerman's `TcpConnection::baseRead` / `baseWrite`.
//!
//! Replies are batched: the messages of one read are all handled before the send buffer
//! is written, so a client with 16 requests in flight gets its 16 replies in one write.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::time::{Instant, Sleep};

use crate::buffers;

mod closing;
mod transport;

use crate::connection::{lock, CloseRequest, Connection, Events, Status};
use crate::protocols::{decode_guarded, CloseReason, DecodeError, DynProtocol};
use crate::stats::Counters;
use crate::{ConnectionError, TimeoutKind};
pub(crate) use transport::Io;

/// How much room a read gets at first, and at least.
pub(crate) const READ_SIZE: usize = 8 * 1024;

/// How much room a read gets at most. A read that fills its room doubles the next one's
/// (fewer system calls for a peer that sends a lot at once: 16 messages of 16 KiB in
/// flight); reads that use little of it halve it again.
const MAX_READ_SIZE: usize = 256 * 1024;

/// `at + timeout`, or a year after `at` for a timeout too long to add (a client's options
/// are not checked the way a worker's are).
fn later(at: Instant, timeout: Duration) -> Instant {
    at.checked_add(timeout.min(crate::MAX_TIMEOUT))
        .unwrap_or(at)
}

/// The shortest heartbeat interval the driver runs: a client's options are not checked
/// the way a worker's are (a zero interval would beat in a loop without yielding).
const MIN_HEARTBEAT: Duration = Duration::from_millis(1);

fn heartbeat_interval(heartbeat: &crate::Heartbeat) -> Duration {
    heartbeat.interval.max(MIN_HEARTBEAT)
}

/// The protocol's state as the driver needs it after a write.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    /// A close request waits (nothing was written).
    close_pending: bool,
    /// The send buffer drained below the low watermark (reading may go on), or the
    /// protocol's own output filled it (`on_buffer_full` is owed): another pass is due.
    another_pass: bool,
    finished: bool,
    handshaking: bool,
    reading_head: bool,
    /// Receiving is paused, or held back by a full send buffer.
    paused: bool,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading, handling, writing.
    Open,
    /// Writing what is queued; with `wait_for_peer`, also reading until the protocol is
    /// finished (the peer's WebSocket close).
    Closing {
        wait_for_peer: bool,
        deadline: Instant,
    },
    /// Sending FIN (and, over TLS, close_notify); the deadline also ends the linger.
    Shutdown {
        deadline: Instant,
    },
    /// Reading and dropping until the peer's FIN or the deadline.
    Linger {
        deadline: Instant,
    },
    Done,
}

pub(crate) struct Driver<S> {
    io: S,
    conn: Connection,
    /// The protocol's decoding side, for a protocol that
    /// [decodes apart](crate::protocols::DynProtocol::decodes_apart): used without the
    /// connection's lock.
    decoder: Option<Box<dyn DynProtocol>>,
    /// A WebSocket's small-frame decoder, while the protocol (as the last locked decode
    /// left it) lets it take the next frame: used without the connection's lock.
    small_frames: Option<wm_websocket::SmallFrames>,
    read: BytesMut,
    /// The room the next read gets (see [`MAX_READ_SIZE`]).
    read_size: usize,
    eof: bool,
    /// Bytes arrived that were not decoded yet (receiving was paused or held back).
    undecoded: bool,
    phase: Phase,
    timer: Option<Pin<Box<Sleep>>>,
    accepted: Instant,
    last_read: Instant,
    /// When the next heartbeat is due (with [`Heartbeat`](crate::Heartbeat) set).
    next_beat: Option<Instant>,
    /// Heartbeats since the peer last sent a byte.
    silent_beats: u32,
    head_started: Option<Instant>,
    /// on_close ran.
    finished: bool,
    /// The protocol's opening handshake is done and `on_open` had its chance.
    opened: bool,
    /// Bytes were written that the transport may hold until flushed (TLS).
    flush_owed: bool,
    /// The peer half-closed while answers were owed to it: the close waits for them.
    answers_after_eof: bool,
    /// The read buffer holds an allocation (to give back to the pool when empty).
    read_allocated: bool,
}

impl<S> Drop for Driver<S> {
    fn drop(&mut self) {
        let endpoint = &self.conn.0.endpoint;
        if !self.finished {
            // The task ended before the connection did (a panic in a protocol, the
            // runtime going away): take it out of the lists without calling back.
            self.finished = true;
            lock(&self.conn.0.state).status = Status::Closed;
            self.conn.0.drained.notify_waiters();
            endpoint.remove(&self.conn);
            endpoint
                .counters
                .open_connections
                .fetch_sub(1, Ordering::Relaxed);
            self.conn.clear_data();
        }
        endpoint.drivers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S: Io> Driver<S> {
    pub(crate) fn new(io: S, conn: Connection) -> Self {
        // Counted until dropped, lingering included: a stop waits for it.
        conn.0.endpoint.drivers.fetch_add(1, Ordering::AcqRel);
        let now = Instant::now();
        let apart = lock(&conn.0.state).protocol.decodes_apart();
        let next_beat = conn
            .0
            .endpoint
            .options
            .heartbeat
            .map(|h| later(now, heartbeat_interval(&h)));
        // A factory that panics the second time leaves decoding under the lock.
        let decoder = if apart {
            conn.0.endpoint.protocol(&conn.0.peer)
        } else {
            None
        };
        Self {
            io,
            conn,
            decoder,
            small_frames: None,
            read: BytesMut::new(),
            read_size: READ_SIZE,
            eof: false,
            undecoded: false,
            phase: Phase::Open,
            timer: None,
            accepted: now,
            last_read: now,
            next_beat,
            silent_beats: 0,
            head_started: None,
            finished: false,
            opened: false,
            flush_owed: false,
            answers_after_eof: false,
            read_allocated: false,
        }
    }

    /// Runs the connection to its end.
    pub(crate) async fn run(mut self) {
        let endpoint = self.conn.0.endpoint.clone();
        Counters::add(&endpoint.counters.connections, 1);
        endpoint
            .counters
            .open_connections
            .fetch_add(1, Ordering::Relaxed);
        endpoint.add(&self.conn);
        if endpoint.stopping.load(Ordering::Acquire) {
            self.conn.close_with(CloseReason::GoingAway);
        }
        self.conn.callback(|handler, conn| handler.on_connect(conn));
        poll_fn(|cx| self.poll(cx)).await;
        self.finish();
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.conn.0.waker.register(cx.waker());
        loop {
            let next = match self.phase {
                Phase::Open => match self.poll_open(cx) {
                    Poll::Ready(next) => next,
                    Poll::Pending => return Poll::Pending,
                },
                Phase::Closing {
                    wait_for_peer,
                    deadline,
                } => match self.poll_closing(cx, wait_for_peer, deadline) {
                    Poll::Ready(next) => next,
                    Poll::Pending => return Poll::Pending,
                },
                Phase::Shutdown { deadline } => {
                    // A TLS shutdown writes close_notify, which a peer that reads nothing
                    // can hold up: it gets the linger time, no more.
                    let result = match Pin::new(&mut self.io).poll_shutdown(cx) {
                        Poll::Ready(result) => result,
                        Poll::Pending if self.poll_timer(cx, deadline) => {
                            Err(io::ErrorKind::TimedOut.into())
                        }
                        Poll::Pending => return Poll::Pending,
                    };
                    self.finish();
                    // A failed shutdown leaves nothing to linger for.
                    match result {
                        Ok(()) if !self.eof => Phase::Linger { deadline },
                        _ => Phase::Done,
                    }
                }
                Phase::Linger { deadline } => match self.poll_linger(cx, deadline) {
                    Poll::Ready(()) => Phase::Done,
                    Poll::Pending => return Poll::Pending,
                },
                Phase::Done => return Poll::Ready(()),
            };
            self.phase = next;
        }
    }

    fn options(&self) -> &crate::ConnectionOptions {
        &self.conn.0.endpoint.options
    }

    /// Reads, handles and writes until the connection starts closing.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Phase> {
        // The state as the last pass's write saw it, when nothing has happened since: the
        // pass after a message (which finds the socket empty) then takes no lock. Anything
        // another thread does meanwhile (a send, a close) wakes the task for a new poll.
        let mut seen: Option<Snapshot> = None;
        loop {
            let (close, paused) = match &seen {
                Some(snapshot) => (None, snapshot.paused),
                // Nothing has happened since the state was last found open and not held
                // back, with no callbacks owed (see `Shared::attention`).
                None if !self.conn.0.attention.load(Ordering::Acquire) => (None, false),
                None => {
                    let mut state = lock(&self.conn.0.state);
                    let events = state.events.take();
                    if !events.is_empty() {
                        // Owed by sends from elsewhere; the callbacks may pause or close.
                        drop(state);
                        self.run_events(events);
                        continue;
                    }
                    (state.close.take(), state.held_back())
                }
            };
            if let Some(request) = close {
                return Poll::Ready(self.closing_phase(request));
            }
            let mut progress = false;
            if !paused && self.undecoded {
                self.dispatch(false);
                progress = true;
            } else if !paused && !self.eof {
                match self.poll_read(cx) {
                    Poll::Ready(Ok(0)) => {
                        self.eof = true;
                        self.dispatch(true);
                        self.peer_done();
                        progress = true;
                    }
                    Poll::Ready(Ok(n)) => {
                        Counters::add(&self.conn.0.endpoint.counters.bytes_read, n as u64);
                        if self.options().idle_timeout.is_some() {
                            self.last_read = Instant::now();
                        }
                        self.silent_beats = 0;
                        self.undecoded = true;
                        self.dispatch(false);
                        progress = true;
                    }
                    Poll::Ready(Err(error)) => {
                        self.error(ConnectionError::Io(error));
                        return Poll::Ready(Phase::Done);
                    }
                    Poll::Pending => {}
                }
            }
            let (written, snapshot) = match seen.take() {
                // Nothing read, nothing handed out: nothing new to write.
                Some(snapshot) if !progress => (Poll::Ready(Ok(())), snapshot),
                _ => self.poll_write_out(cx),
            };
            progress |= snapshot.another_pass;
            if snapshot.close_pending {
                // Not written: an abort drops what the handler just queued; a graceful
                // close writes it in its own phase.
                continue;
            }
            match written {
                Poll::Ready(Err(error)) => {
                    self.error(ConnectionError::Io(error));
                    return Poll::Ready(Phase::Done);
                }
                Poll::Ready(Ok(())) if snapshot.finished => {
                    self.request_close(false);
                    continue;
                }
                _ => {}
            }
            if self.read_allocated && self.read.is_empty() && !self.undecoded {
                self.read_allocated = false;
                // Nothing partial is buffered: give the buffer back (an idle connection
                // holds none; the messages handed out keep their own slices alive).
                buffers::give(std::mem::take(&mut self.read));
            }
            if progress {
                // Only a clean pass is remembered: everything written, no callback run.
                let clean = matches!(written, Poll::Ready(Ok(())))
                    && !snapshot.another_pass
                    && !snapshot.finished;
                seen = clean.then_some(snapshot);
                continue;
            }
            if let Some(kind) = self.poll_open_timers(cx, &snapshot, paused) {
                if kind != TimeoutKind::Heartbeat || self.beat(&snapshot) {
                    self.timeout(kind);
                }
                continue;
            }
            return Poll::Pending;
        }
    }

    /// Reads into the read buffer, adapting the room given to how much came last time.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let result = self.io.poll_read_into(cx, &mut self.read, self.read_size);
        self.read_allocated |= self.read.capacity() > 0;
        if let Poll::Ready(Ok(n)) = result {
            if n >= self.read_size {
                self.read_size = (self.read_size * 2).min(MAX_READ_SIZE);
            } else if n < self.read_size / 8 {
                self.read_size = (self.read_size / 2).max(READ_SIZE);
            }
        }
        result
    }

    fn shutdown_phase(&self) -> Phase {
        Phase::Shutdown {
            deadline: later(Instant::now(), self.options().linger),
        }
    }

    /// The phase a close asked for (through the handle, or by the driver itself) leads to.
    fn closing_phase(&self, request: CloseRequest) -> Phase {
        match request {
            CloseRequest::Abort => Phase::Done,
            CloseRequest::Graceful { wait_for_peer } => Phase::Closing {
                wait_for_peer: wait_for_peer && (!self.eof || self.answers_after_eof),
                deadline: later(Instant::now(), self.options().close_timeout),
            },
        }
    }

    /// The peer sent FIN: it may still read (a half-close). Answers the protocol still
    /// owes it (HTTP requests a handler answers later) are waited for, up to the close
    /// timeout; otherwise the connection closes once what is queued is written, with no
    /// protocol close (a WebSocket close frame would wait for an answer that cannot come).
    fn peer_done(&mut self) {
        let owed = {
            let mut guard = lock(&self.conn.0.state);
            let state = &mut *guard;
            let owed = state.status == Status::Open && state.protocol.owes_answers();
            if owed {
                state.protocol.take_output(&mut state.out);
                state.protocol.close(&CloseReason::Normal, &mut state.out);
                state.status = Status::Closing;
                state.draining = true;
                state.close = Some(CloseRequest::Graceful {
                    wait_for_peer: true,
                });
                self.conn.0.attention.store(true, Ordering::Release);
            }
            owed
        };
        self.answers_after_eof = owed;
        if !owed {
            self.request_close(false);
        }
    }

    /// Starts closing without a protocol-level close (the peer left, the protocol is
    /// finished, a decode error already queued its answer, a timeout).
    fn request_close(&mut self, wait_for_peer: bool) {
        let mut state = lock(&self.conn.0.state);
        if state.status == Status::Open {
            state.status = Status::Closing;
            state.close = Some(CloseRequest::Graceful { wait_for_peer });
            self.conn.0.attention.store(true, Ordering::Release);
        }
    }

    /// Decodes and hands out the messages in the read buffer one at a time, while the
    /// connection is open and not held back.
    ///
    /// Nothing is decoded ahead of the handler: a message's replies are queued before the
    /// next message is decoded, so when that one breaks the protocol, the close it causes
    /// (a WebSocket 1002, an HTTP 400) goes out after them (Autobahn 5.15 and friends); a
    /// pause or a close in a callback stops before the next message, which stays in the
    /// read buffer.
    fn dispatch(&mut self, eof: bool) {
        let shared = &self.conn.0;
        shared.dispatching.store(true, Ordering::Release);
        let mut received = 0u64;
        let mut failure = None;
        loop {
            if received > 0
                && self.read.is_empty()
                && !eof
                && !shared.attention.load(Ordering::Acquire)
            {
                // Nothing left to decode after a message, and no callbacks owed (they
                // must run before the write, whose drain may follow them): no lock and no
                // decode, which could only find nothing. What the protocol answered by
                // itself meanwhile (a pong) joins the send buffer in `poll_write_out`,
                // counted there.
                self.undecoded = false;
                break;
            }
            let counters = &shared.endpoint.counters;
            // Nothing has happened that could stop the next message (a close, a pause, a
            // full buffer, callbacks owed): it may be decoded without the lock, by the
            // protocol's own decoder or, for a WebSocket between messages, as a small
            // frame (anything else goes on to the locked path).
            let calm = !shared.attention.load(Ordering::Acquire);
            let quick = match (&mut self.decoder, self.small_frames) {
                (Some(decoder), _) if calm => Some(decode_guarded(
                    &mut **decoder,
                    &mut self.read,
                    eof,
                    counters,
                )),
                // A small frame is text or binary, never a close.
                (None, Some(small)) if calm => small
                    .decode(&mut self.read)
                    .and_then(crate::protocols::websocket::message)
                    .map(|message| Ok(Some(message))),
                _ => None,
            };
            let (decoded, opening, events) = if let Some(decoded) = quick {
                (decoded, None, Events::default())
            } else {
                let mut guard = lock(&shared.state);
                let state = &mut *guard;
                let events = state.events.take();
                // What the protocol answered by itself to the messages before (pongs)
                // joins the send buffer and counts against the high watermark: a peer
                // that pings and never reads is held back like one that sends requests
                // and never reads.
                take_output_counted(state, &shared.attention);
                if let (Some(limit), Some(decoder)) =
                    (state.package_limit.take(), &mut self.decoder)
                {
                    decoder.set_max_package_size(limit);
                }
                if state.status != Status::Open || state.held_back() {
                    drop(guard);
                    self.run_events(events);
                    break;
                }
                // The events owed are taken, and nothing stops the next message.
                shared.attention.store(false, Ordering::Relaxed);
                let protocol = match &mut self.decoder {
                    Some(decoder) => &mut **decoder,
                    None => &mut *state.protocol,
                };
                let decoded = decode_guarded(protocol, &mut self.read, eof, counters);
                // The handshake ends before the first message after it is decoded; a
                // refused upgrade finishes the protocol: no on_open for it.
                let opening = if self.opened
                    || decoded.is_err()
                    || state.protocol.handshaking()
                    || state.protocol.finished()
                {
                    None
                } else {
                    self.opened = true;
                    state.protocol.take_opening()
                };
                // Only after on_open's turn: the quick path hands out no opening.
                self.small_frames = if self.opened {
                    state.protocol.small_frames()
                } else {
                    None
                };
                (decoded, opening, events)
            };
            self.run_events(events);
            if let Some(opening) = opening {
                if !self
                    .conn
                    .callback(|handler, conn| handler.on_open(conn, &opening))
                {
                    break;
                }
            }
            match decoded {
                Ok(Some(message)) => {
                    received += 1;
                    self.conn
                        .callback(|handler, conn| handler.on_message(conn, message));
                }
                Ok(None) => {
                    self.undecoded = false;
                    break;
                }
                Err(error) => {
                    self.undecoded = false;
                    failure = Some(error);
                    break;
                }
            }
        }
        shared.dispatching.store(false, Ordering::Release);
        Counters::add(&shared.endpoint.counters.messages_received, received);
        if let Some(error) = failure {
            self.protocol_error(error);
        }
    }

    /// Runs the callbacks that sends from anywhere owe this connection, here on its own
    /// task: `on_buffer_full`, and `on_error` for each send refused on a full buffer.
    #[inline]
    fn run_events(&self, events: Events) {
        if !events.is_empty() {
            self.run_owed_events(events);
        }
    }

    #[cold]
    #[inline(never)]
    fn run_owed_events(&self, events: Events) {
        if events.buffer_full {
            self.conn
                .callback(|handler, conn| handler.on_buffer_full(conn));
        }
        if let Some((buffered, limit)) = events.refused_at {
            let error = ConnectionError::SendBufferFull { buffered, limit };
            for _ in 0..events.refused {
                self.error_ref(&error);
            }
        }
    }

    fn protocol_error(&mut self, error: DecodeError) {
        Counters::add(&self.conn.0.endpoint.counters.protocol_errors, 1);
        tracing::debug!(connection = self.conn.id(), %error, "protocol error");
        self.request_close(false);
        self.error(ConnectionError::Protocol(error));
    }

    fn error(&self, error: ConnectionError) {
        self.error_ref(&error);
    }

    fn error_ref(&self, error: &ConnectionError) {
        self.conn
            .callback(|handler, conn| handler.on_error(conn, error));
    }

    fn timeout(&mut self, kind: TimeoutKind) {
        Counters::add(&self.conn.0.endpoint.counters.timeouts, 1);
        tracing::debug!(connection = self.conn.id(), %kind, "timeout");
        self.error(ConnectionError::Timeout(kind));
        match kind {
            // An idle peer gets a proper close (a WebSocket close frame).
            TimeoutKind::Idle | TimeoutKind::Heartbeat => {
                self.conn.close_with(CloseReason::Normal);
            }
            _ => self.request_close(false),
        }
    }

    /// Writes the send buffer (and what the protocol queued by itself) until it is empty
    /// or the transport is full; fires `on_buffer_drain` when it drains. Nothing is written
    /// while a close request waits. Returns, with the result, what the driver needs of the
    /// protocol's state, read under the same lock.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> (Poll<io::Result<()>>, Snapshot) {
        let shared = &self.conn.0;
        let mut written = 0;
        let mut drained = false;
        let (result, snapshot) = {
            let mut guard = lock(&shared.state);
            let state = &mut *guard;
            let snapshot = Snapshot {
                close_pending: state.close.is_some(),
                another_pass: false,
                finished: false,
                handshaking: false,
                reading_head: false,
                paused: state.held_back(),
            };
            if snapshot.close_pending {
                return (Poll::Ready(Ok(())), snapshot);
            }
            let full_before = state.full;
            take_output_counted(state, &shared.attention);
            // Protocol output reached the watermark here: on_buffer_full is owed now.
            let events_owed = state.full && !full_before;
            let result = loop {
                if state.out.is_empty() {
                    break Poll::Ready(Ok(()));
                }
                match Pin::new(&mut self.io).poll_write(cx, &state.out) {
                    Poll::Ready(Ok(0)) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => {
                        if n == state.out.len() {
                            // All written: the buffer's room is whole again, without the
                            // reclaim an advanced buffer needs before it is pooled.
                            state.out.clear();
                        } else {
                            state.out.advance(n);
                        }
                        written += n;
                    }
                    Poll::Ready(Err(error)) => break Poll::Ready(Err(error)),
                    Poll::Pending => break Poll::Pending,
                }
            };
            if state.full && state.out.len() <= state.send_low {
                state.full = false;
                drained = true;
            }
            if state.out.is_empty() && state.out.capacity() > 0 {
                buffers::give(std::mem::take(&mut state.out));
            }
            let sent = std::mem::take(&mut state.messages_sent);
            Counters::add(&shared.endpoint.counters.messages_sent, sent);
            let snapshot = Snapshot {
                another_pass: drained || events_owed,
                finished: state.protocol.finished(),
                handshaking: state.protocol.handshaking(),
                reading_head: state.protocol.reading_head(),
                paused: state.held_back(),
                ..snapshot
            };
            (result, snapshot)
        };
        Counters::add(&shared.endpoint.counters.bytes_written, written as u64);
        // A TLS stream takes bytes into its own buffer and writes them on flush; a flush
        // that waits is retried on every pass until it is done.
        self.flush_owed |= written > 0;
        let mut result = result;
        if self.flush_owed {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.flush_owed = false,
                Poll::Ready(Err(error)) => return (Poll::Ready(Err(error)), snapshot),
                Poll::Pending => {
                    if let Poll::Ready(Ok(())) = result {
                        result = Poll::Pending;
                    }
                }
            }
        }
        if drained {
            shared.drained.notify_waiters();
            self.conn
                .callback(|handler, conn| handler.on_buffer_drain(conn));
        }
        (result, snapshot)
    }

    /// Arms the timer for the nearest deadline; returns the timeout that ran out, if any.
    fn poll_open_timers(
        &mut self,
        cx: &mut Context<'_>,
        snapshot: &Snapshot,
        paused: bool,
    ) -> Option<TimeoutKind> {
        let options = &self.conn.0.endpoint.options;
        let Snapshot {
            handshaking,
            reading_head,
            ..
        } = *snapshot;
        let mut nearest: Option<(Instant, TimeoutKind)> = None;
        let mut consider = |deadline: Instant, kind| {
            if nearest.map_or(true, |(at, _)| deadline < at) {
                nearest = Some((deadline, kind));
            }
        };
        if handshaking {
            if let Some(timeout) = options.handshake_timeout {
                consider(later(self.accepted, timeout), TimeoutKind::Handshake);
            }
        }
        // Only while waiting for more of a head: bytes held back by a pause (or a full
        // send buffer) may be whole requests, and the peer is not the one to blame.
        let waiting_for_peer = !paused && !self.undecoded;
        if reading_head && waiting_for_peer && !self.read.is_empty() {
            let started = *self.head_started.get_or_insert_with(Instant::now);
            if let Some(timeout) = options.header_timeout {
                consider(later(started, timeout), TimeoutKind::Header);
            }
        } else {
            self.head_started = None;
        }
        if let Some(timeout) = options.idle_timeout {
            consider(later(self.last_read, timeout), TimeoutKind::Idle);
        }
        if let Some(beat) = self.next_beat {
            consider(beat, TimeoutKind::Heartbeat);
        }
        let Some((deadline, kind)) = nearest else {
            // A timer left registered (the handshake's, once it is done) would make the
            // runtime read the clock each time it waits for events.
            if self.timer.is_some() {
                self.timer = None;
            }
            return None;
        };
        if self.poll_timer(cx, deadline) {
            return Some(kind);
        }
        None
    }

    /// A heartbeat is due: `true` if the peer sent nothing since the last
    /// `not_responding_limit` beats (it is to be closed: each of those beats' pings had a
    /// whole interval for its answer), else the ping goes out and the next beat is set, as
    /// GatewayWorker counts. A peer whose bytes wait because the application paused
    /// receiving (or an answer is being made) is not blamed; one whose send buffer is
    /// full is (a peer gone without a FIN stops reading first), and gets no ping it could
    /// not take. No ping goes out during an opening handshake (the handshake timeout
    /// watches that).
    fn beat(&mut self, snapshot: &Snapshot) -> bool {
        let Some(heartbeat) = self.options().heartbeat else {
            return false;
        };
        let limit = heartbeat.not_responding_limit;
        // One look at the state: whether we hold the peer back, and the ping it can take.
        let (held_by_us, ping) = {
            let state = lock(&self.conn.0.state);
            let ping = if snapshot.handshaking || state.full {
                None
            } else {
                state.protocol.heartbeat(heartbeat.data)
            };
            (state.paused || state.answering, ping)
        };
        if held_by_us {
            self.silent_beats = 0;
        } else if limit > 0 && self.silent_beats >= limit {
            return true;
        }
        self.silent_beats = self.silent_beats.saturating_add(1);
        self.next_beat = Some(later(Instant::now(), heartbeat_interval(&heartbeat)));
        if let Some(ping) = ping {
            let _ = self.conn.send(ping);
        }
        false
    }

    /// Whether `deadline` has passed; if not, the task wakes at it.
    fn poll_timer(&mut self, cx: &mut Context<'_>, deadline: Instant) -> bool {
        if Instant::now() >= deadline {
            return true;
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready()
    }

    /// The connection is closed for the application: out of the endpoint's list, status
    /// `Closed`, `on_close` called. Runs once.
    fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let endpoint = &self.conn.0.endpoint;
        let events = {
            let mut state = lock(&self.conn.0.state);
            state.status = Status::Closed;
            state.out = BytesMut::new();
            state.events.take()
        };
        self.run_events(events);
        self.conn.0.drained.notify_waiters();
        endpoint.remove(&self.conn);
        endpoint
            .counters
            .open_connections
            .fetch_sub(1, Ordering::Relaxed);
        self.conn.callback(|handler, conn| handler.on_close(conn));
        self.conn.clear_data();
    }
}

/// Moves what the protocol queued by itself (a 101, a pong, a close) into the send buffer,
/// counting it against the high watermark as a send is: a peer that pings and never reads
/// is held back like one that sends requests and never reads.
fn take_output_counted(state: &mut crate::connection::State, attention: &AtomicBool) {
    if state.protocol.take_output(&mut state.out) > 0
        && !state.full
        && state.out.len() >= state.send_high
    {
        state.full = true;
        state.events.buffer_full = true;
        attention.store(true, Ordering::Release);
    }
}
