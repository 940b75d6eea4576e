//! One connection's WebSocket state machine: the opening handshake (optionally), then
//! frames reassembled into messages, control frames answered, and the close handshake.
//! Sans-IO: bytes in through [`Protocol::decode`], bytes out through
//! [`Protocol::take_output`] and [`Encode`].

use bytes::{Buf, BufMut, Bytes, BytesMut};
use wm_protocol::{Protocol, MAX_RESERVE_AHEAD};

use crate::close::{CloseFrame, MAX_REASON_LENGTH};
use crate::config::Config;
use crate::deflate::{Agreement, DeflateConfig};
use crate::error::Error;
use crate::error::FrameError;
use crate::frame::{FrameHeader, HeaderRules, OpCode, Role, MAX_CONTROL_PAYLOAD};
use crate::handshake::client::ResponseReader;
use crate::handshake::server::RequestReader;
use crate::handshake::{ClientRequest, Reject, Request, Response, ServerOptions};
use crate::mask::apply_mask;
use crate::message::Message;
use crate::utf8::Utf8Validator;

mod compression;
mod encode;

use compression::Compression;
use encode::put_frame;

/// The most bytes of pong frames queued and not yet taken. Every ping is answered while
/// they fit (Autobahn 2.10 sends 10 pings in one write and wants 10 pongs); past this, only
/// the latest is, until the output is taken. 64 KiB is 500 pongs of the largest payload,
/// and bounds what a peer that pings and never reads can make a connection hold.
pub const MAX_QUEUED_PONGS: usize = 64 * 1024;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is not finished.
    Handshake,
    /// Messages flow both ways.
    Open,
    /// This end sent a close and waits for the peer's (the driver bounds the wait).
    Closing,
    /// Both closes were exchanged, or the connection failed. The driver writes what
    /// [`Protocol::take_output`] still gives and closes the transport. [`WebSocketStream`]
    /// shuts its write side down at once in both roles; RFC 6455 §7.1.1 would rather a
    /// client waited a little for the server to close first, which a driver of its own may
    /// do.
    ///
    /// [`WebSocketStream`]: crate::WebSocketStream
    Closed,
}

enum Phase {
    Open,
    Accepting {
        reader: RequestReader,
        options: ServerOptions,
    },
    Connecting {
        reader: ResponseReader,
        request: ClientRequest,
    },
}

/// The frame being received: its header, and how much of its payload has been unmasked
/// (and, for text, UTF-8 checked) in place in the read buffer.
#[derive(Debug, Clone, Copy)]
struct InFrame {
    header: FrameHeader,
    header_length: usize,
    unmasked: usize,
    validated: usize,
}

/// A fragmented message being reassembled.
#[derive(Debug)]
struct Partial {
    text: bool,
    /// The payload so far, uncompressed: the first fragment is a slice of the read buffer.
    data: BytesMut,
    /// A compressed message (RSV1 on its first frame): its frames are inflated onto
    /// `inflated` as they complete, and `data` stays empty.
    compressed: bool,
    inflated: Vec<u8>,
    fragments: usize,
}

impl Partial {
    fn len(&self) -> usize {
        self.data.len() + self.inflated.len()
    }
}

/// The WebSocket protocol for one connection, server or client.
///
/// * Built with [`WebSocket::server`] / [`WebSocket::client`] it starts open, for a
///   connection whose handshake was done elsewhere (by [`accept`](crate::accept) or
///   [`connect`](crate::connect), or by hand with the [`handshake`](crate::handshake)
///   module).
/// * Built with [`WebSocket::accepting`] or [`WebSocket::connecting`] it runs the opening
///   handshake itself: the first bytes it decodes are the request (or the `101`), and the
///   answer (or the request) comes out of [`take_output`](Protocol::take_output).
///
/// Decoding yields [`Message`]s. Pings are answered and closes echoed by queueing the
/// reply in the output; a protocol error queues a close frame with the code it calls for,
/// and a handshake error queues the HTTP answer, before `decode` returns the error.
pub struct WebSocket {
    role: Role,
    config: Config,
    phase: Phase,
    state: State,
    frame: Option<InFrame>,
    message: Option<Partial>,
    utf8: Utf8Validator,
    output: BytesMut,
    /// Pong frames owed, one per ping, in order, not yet taken; at most
    /// [`MAX_QUEUED_PONGS`] bytes.
    pongs: BytesMut,
    /// Past that cap, the payload of the latest ping: only it is answered (RFC 6455
    /// §5.5.3 allows it), so a peer that floods pings and never reads cannot make the
    /// output grow.
    pong_overflow: Option<Bytes>,
    /// Messages and control frames encoded before the handshake finished, encoded and
    /// sent right after it (compressed, if it agreed to that).
    early: Vec<(OpCode, Bytes)>,
    /// Their payload bytes and the largest header each could take, at most the message
    /// limit.
    early_bytes: usize,
    /// A close was encoded before the handshake finished: the connection opens in
    /// `Closing`.
    close_queued: bool,
    request: Option<Request>,
    response: Option<Response>,
    /// permessage-deflate, when it was agreed.
    compression: Option<Box<Compression>>,
    /// The small-frame fast path: payloads of up to 125 bytes, or less if a limit is
    /// lower.
    small: SmallFrames,
    /// Payload bytes unmasked or UTF-8 checked so far, for the never-rescan tests.
    #[cfg(test)]
    processed: usize,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("config", &self.config)
            .field("frame", &self.frame)
            .field("message", &self.message)
            .field("output", &self.output.len())
            .finish_non_exhaustive()
    }
}

/// The largest payload the small-frame path takes: a control frame's, or less if a limit
/// is lower.
fn small_frame_limit(config: &Config) -> usize {
    MAX_CONTROL_PAYLOAD
        .min(config.max_frame_size)
        .min(config.max_message_size)
}

impl WebSocket {
    /// An open server-side connection with the default [`Config`].
    pub fn server() -> Self {
        Self::new(Role::Server, Config::default())
    }

    /// An open client-side connection with the default [`Config`].
    pub fn client() -> Self {
        Self::new(Role::Client, Config::default())
    }

    /// An open connection for `role`.
    pub fn new(role: Role, config: Config) -> Self {
        Self {
            role,
            config,
            phase: Phase::Open,
            state: State::Open,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            output: BytesMut::new(),
            pongs: BytesMut::new(),
            pong_overflow: None,
            early: Vec::new(),
            early_bytes: 0,
            close_queued: false,
            request: None,
            response: None,
            compression: None,
            small: SmallFrames {
                role,
                limit: small_frame_limit(&config),
            },
            #[cfg(test)]
            processed: 0,
        }
    }

    /// A server connection that first reads the upgrade request and answers it as
    /// `options` decide.
    pub fn accepting(config: Config, options: ServerOptions) -> Self {
        Self {
            phase: Phase::Accepting {
                reader: RequestReader::default(),
                options,
            },
            state: State::Handshake,
            ..Self::new(Role::Server, config)
        }
    }

    /// A client connection whose upgrade request is already queued in the output; the
    /// first bytes it decodes are the server's answer.
    pub fn connecting(config: Config, request: ClientRequest) -> Result<Self, Error> {
        let mut output = BytesMut::new();
        request.encode(&mut output)?;
        Ok(Self {
            phase: Phase::Connecting {
                reader: ResponseReader::default(),
                request,
            },
            state: State::Handshake,
            output,
            ..Self::new(Role::Client, config)
        })
    }

    /// Uses permessage-deflate as `agreement` says, for a connection whose handshake was
    /// done elsewhere: compressed messages (RSV1) are then accepted, and messages of at
    /// least `config.threshold` bytes are sent compressed, at `config.level`. A
    /// connection that runs its own handshake does this itself when
    /// [`ServerOptions::deflate`] or [`ClientRequest::deflate`] negotiated it.
    ///
    /// ```
    /// use wm_websocket::deflate::{Agreement, DeflateConfig};
    /// use wm_websocket::{Message, WebSocket};
    /// use wm_protocol::Encode;
    ///
    /// let mut ws = WebSocket::server().with_deflate(Agreement::default(), &DeflateConfig::default());
    /// let mut wire = bytes::BytesMut::new();
    /// ws.encode(Message::Text("hello ".repeat(40)), &mut wire)?;
    /// assert_eq!(wire[0], 0xC1, "FIN, RSV1, text");
    /// assert!(wire.len() < 40, "{} bytes", wire.len());
    /// # Ok::<(), wm_websocket::Error>(())
    /// ```
    pub fn with_deflate(mut self, agreement: Agreement, config: &DeflateConfig) -> Self {
        self.compression = Some(Box::new(Compression::new(self.role, agreement, config)));
        self
    }

    /// What permessage-deflate agreement is in force, if any.
    pub fn deflate(&self) -> Option<&Agreement> {
        self.compression.as_deref().map(Compression::agreement)
    }

    /// Whether this connection holds a zlib context between messages: only where context
    /// takeover was agreed and a message has used it.
    pub fn holds_compression_context(&self) -> bool {
        self.compression
            .as_deref()
            .is_some_and(Compression::holds_context)
    }

    /// Where the connection is.
    pub fn state(&self) -> State {
        self.state
    }

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the frame and message limits for the frames whose header is read from now
    /// on (Workerman's per-connection `maxPackageSize`); a message in progress is held to
    /// the new message limit by its next fragment.
    pub fn set_max_sizes(&mut self, max_frame_size: usize, max_message_size: usize) {
        self.config.max_frame_size = max_frame_size;
        self.config.max_message_size = max_message_size;
        self.small.limit = small_frame_limit(&self.config);
    }

    /// The upgrade request this server accepted (after a handshake it ran itself).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }

    /// The `101` this client received (after a handshake it ran itself).
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
    }

    /// Moves the accepted upgrade request out, for a server that hands it to the
    /// application once and does not keep its headers for the life of the connection.
    pub fn take_request(&mut self) -> Option<Request> {
        self.request.take()
    }

    /// Moves the `101` this client received out (see [`take_request`](Self::take_request)).
    pub fn take_response(&mut self) -> Option<Response> {
        self.response.take()
    }

    /// Whether bytes are waiting in [`take_output`](Protocol::take_output).
    pub fn has_output(&self) -> bool {
        !self.output.is_empty() || !self.pongs.is_empty() || self.pong_overflow.is_some()
    }

    /// Answers a ping: its pong is queued behind the ones owed, or, past
    /// [`MAX_QUEUED_PONGS`], replaces the one owed past the cap.
    fn owe_pong(&mut self, payload: Bytes) {
        let frame_length = 2 + payload.len() + if self.role == Role::Client { 4 } else { 0 };
        if self.pong_overflow.is_none() && self.pongs.len() + frame_length <= MAX_QUEUED_PONGS {
            put_frame(self.role, &mut self.pongs, OpCode::Pong, &payload);
        } else {
            self.pong_overflow = Some(payload);
        }
    }

    /// Moves the pongs owed into the output, ahead of a close frame about to be queued.
    fn settle_pongs(&mut self) {
        wm_protocol::move_output(&mut self.pongs, &mut self.output);
        if let Some(payload) = self.pong_overflow.take() {
            put_frame(self.role, &mut self.output, OpCode::Pong, &payload);
        }
    }

    /// Runs the opening handshake on what `src` holds: `Ok(true)` once the connection is
    /// open (at once if it started open), `Ok(false)` to wait for more bytes. Bytes after
    /// the head stay in `src`: they are frames, for [`decode`](Protocol::decode). The
    /// answer (server) is queued in the output either way; on an error the connection is
    /// closed.
    pub fn decode_handshake(&mut self, src: &mut BytesMut) -> Result<bool, Error> {
        if self.state == State::Closed {
            return Ok(false);
        }
        let limit = self.config.max_handshake_size;
        let result = match &mut self.phase {
            Phase::Open => return Ok(true),
            Phase::Accepting { reader, options } => match reader.read(src, limit) {
                Ok(None) => return Ok(false),
                Ok(Some((mut request, length))) => {
                    src.advance(length);
                    request.remote_addr = options.remote_addr;
                    let answer = options.answer(&request);
                    let written = match answer {
                        Ok(accept) => {
                            let written = accept.write_response(&request, &mut self.output);
                            if let (Ok(()), Some(agreement)) = (&written, accept.deflate()) {
                                let config = options.deflate_config().unwrap_or_default();
                                self.compression = Some(Box::new(Compression::new(
                                    Role::Server,
                                    *agreement,
                                    &config,
                                )));
                            }
                            written
                        }
                        Err(reject) => {
                            reject.write_response(&mut self.output);
                            Err(crate::handshake::HandshakeError::Rejected(reject.status()))
                        }
                    };
                    self.request = Some(request);
                    written
                }
                Err(error) => Err(error),
            },
            Phase::Connecting { reader, request } => match reader.read(src, limit, request) {
                Ok(None) => return Ok(false),
                Ok(Some((response, length))) => {
                    src.advance(length);
                    if let Some(agreement) = response.deflate() {
                        let config = request.deflate_config().unwrap_or_default();
                        self.compression = Some(Box::new(Compression::new(
                            Role::Client,
                            *agreement,
                            &config,
                        )));
                    }
                    self.response = Some(response);
                    Ok(())
                }
                Err(error) => Err(error),
            },
        };
        if let Err(error) = result {
            if self.role == Role::Server
                && !matches!(error, crate::handshake::HandshakeError::Rejected(_))
            {
                Reject::for_error(&error).write_response(&mut self.output);
            }
            self.state = State::Closed;
            src.clear();
            return Err(error.into());
        }
        self.phase = Phase::Open;
        self.state = if self.close_queued {
            State::Closing
        } else {
            State::Open
        };
        self.put_early();
        Ok(true)
    }

    /// Checks a new frame against the message in progress and the limits, before any of
    /// its payload is buffered.
    fn check_sequence(&mut self, header: &FrameHeader) -> Result<(), Error> {
        let length = header.payload_length;
        let limit = self.config.max_message_size;
        match (header.opcode, &self.message) {
            (OpCode::Continuation, None) => Err(Error::UnexpectedContinuation),
            (opcode @ (OpCode::Text | OpCode::Binary), Some(_)) => {
                Err(Error::UnfinishedMessage { opcode })
            }
            (OpCode::Continuation, Some(partial)) => {
                // A compressed message's limit applies to what it inflates to, as it does.
                let total = partial.len() as u64 + if partial.compressed { 0 } else { length };
                if total > limit as u64 {
                    Err(Error::MessageTooLarge {
                        length: total,
                        limit,
                    })
                } else if partial.fragments >= self.config.max_fragments {
                    Err(Error::TooManyFragments {
                        limit: self.config.max_fragments,
                    })
                } else {
                    Ok(())
                }
            }
            (OpCode::Text | OpCode::Binary, None) => {
                self.utf8 = Utf8Validator::new();
                if length > limit as u64 && !header.rsv1 {
                    Err(Error::MessageTooLarge { length, limit })
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    fn is_text(&self, opcode: OpCode) -> bool {
        match opcode {
            OpCode::Text => true,
            OpCode::Continuation => self.message.as_ref().is_some_and(|m| m.text),
            _ => false,
        }
    }

    fn message_length(&self) -> usize {
        self.message.as_ref().map_or(0, Partial::len)
    }

    /// Whether the frame belongs to a compressed message (RSV1 on the message's first
    /// frame).
    fn is_compressed(&self, header: &FrameHeader) -> bool {
        match header.opcode {
            OpCode::Continuation => self.message.as_ref().is_some_and(|m| m.compressed),
            _ => header.rsv1,
        }
    }

    /// Fails the connection: queues a close frame with the error's code (unless a close
    /// was already sent) and forgets the partial frame and message.
    fn fail(&mut self, error: Error) -> Error {
        if let (Some(code), State::Open) = (error.close_code(), self.state) {
            // Pings that came before the bad frame are answered before the close.
            self.settle_pongs();
            // The reason is the error's text, cut to what a close frame holds.
            let frame = CloseFrame {
                code,
                reason: error.to_string(),
            };
            let mut payload = BytesMut::with_capacity(2 + MAX_REASON_LENGTH);
            frame.encode(&mut payload);
            put_frame(self.role, &mut self.output, OpCode::Close, &payload);
        }
        self.close_now();
        error
    }

    /// Nothing more is received: forgets the partial frame and message and the pongs owed
    /// (those that go out were settled ahead of the close frame).
    fn close_now(&mut self) {
        self.state = State::Closed;
        self.frame = None;
        self.message = None;
        self.pongs.clear();
        self.pong_overflow = None;
    }

    /// A complete data frame: a message if it ends one.
    fn data_frame(
        &mut self,
        header: FrameHeader,
        payload: BytesMut,
        validated: usize,
    ) -> Result<Option<Message>, Error> {
        if self.is_compressed(&header) {
            return self.compressed_frame(header, &payload);
        }
        let text = self.is_text(header.opcode);
        let single = header.fin && self.message.is_none();
        if text && !(single && validated == 0) {
            let seen = self.message_length() + validated;
            self.utf8
                .feed(&payload[validated..], seen)
                .and_then(|()| {
                    if header.fin {
                        self.utf8.finish(seen + payload.len() - validated)
                    } else {
                        Ok(())
                    }
                })
                .map_err(|e| Error::InvalidUtf8 {
                    valid_up_to: e.valid_up_to,
                })?;
        }
        let data = match self.message.take() {
            None if header.fin => payload,
            None => {
                self.message = Some(Partial {
                    text,
                    data: payload,
                    compressed: false,
                    inflated: Vec::new(),
                    fragments: 1,
                });
                return Ok(None);
            }
            Some(mut partial) => {
                partial.data.extend_from_slice(&payload);
                partial.fragments += 1;
                if !header.fin {
                    self.message = Some(partial);
                    return Ok(None);
                }
                partial.data
            }
        };
        Ok(Some(if !text {
            Message::Binary(data.freeze())
        } else if single && validated == 0 {
            // Unfragmented and complete in one read: one SIMD pass checks it.
            let text = simdutf8::compat::from_utf8(&data).map_err(|e| Error::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            })?;
            Message::Text(text.to_owned())
        } else {
            // Already checked piece by piece (which is what fails fast); turning the bytes
            // into a `String` without `unsafe` checks them once more, and cannot fail.
            let text = String::from_utf8(Vec::from(data)).map_err(|e| Error::InvalidUtf8 {
                valid_up_to: e.utf8_error().valid_up_to(),
            })?;
            Message::Text(text)
        }))
    }

    /// A complete frame of a compressed message: inflated onto the message so far, its
    /// text checked as it comes out; a message if it ends one.
    fn compressed_frame(
        &mut self,
        header: FrameHeader,
        payload: &[u8],
    ) -> Result<Option<Message>, Error> {
        let text = self.is_text(header.opcode);
        let Some(compression) = self.compression.as_deref_mut() else {
            // The header rules let RSV1 through only with compression agreed.
            return Err(FrameError::ReservedBits { rsv: 0b100 }.into());
        };
        let mut partial = self.message.take().unwrap_or(Partial {
            text,
            data: BytesMut::new(),
            compressed: true,
            inflated: Vec::new(),
            fragments: 0,
        });
        let before = partial.inflated.len();
        compression.inflate(
            payload,
            header.fin,
            &mut partial.inflated,
            self.config.max_message_size,
        )?;
        partial.fragments += 1;
        let single = header.fin && partial.fragments == 1;
        if text && !single {
            // Fail fast on a fragmented message: each frame's text is checked as it is
            // inflated.
            self.utf8
                .feed(&partial.inflated[before..], before)
                .and_then(|()| {
                    if header.fin {
                        self.utf8.finish(partial.inflated.len())
                    } else {
                        Ok(())
                    }
                })
                .map_err(|e| Error::InvalidUtf8 {
                    valid_up_to: e.valid_up_to,
                })?;
        }
        if !header.fin {
            self.message = Some(partial);
            return Ok(None);
        }
        let data = partial.inflated;
        Ok(Some(if text {
            // Takes the buffer as it is, without a copy. One pass checks an unfragmented
            // message; a fragmented one was checked piece by piece (which is what fails
            // fast), and this checks it once more without `unsafe`.
            Message::Text(String::from_utf8(data).map_err(|e| Error::InvalidUtf8 {
                valid_up_to: e.utf8_error().valid_up_to(),
            })?)
        } else {
            Message::Binary(data.into())
        }))
    }

    /// The decoder of whole, unfragmented text and binary frames of up to 125 bytes, if
    /// the connection is where it may take the next frame: open (or closing) and between
    /// messages and frames. While that holds, and until this protocol decodes again, the
    /// next such frame needs nothing of this state: a server may decode it with the
    /// returned decoder alone, without the lock that guards the protocol, and hand the rest
    /// (control frames, fragments, anything wrong) to [`decode`](Protocol::decode).
    #[inline]
    pub fn small_frames(&self) -> Option<SmallFrames> {
        (matches!(self.phase, Phase::Open)
            && self.frame.is_none()
            && self.message.is_none()
            && matches!(self.state, State::Open | State::Closing))
        .then_some(self.small)
    }

    #[inline(never)]
    fn decode_general(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        if self.state == State::Closed {
            src.clear();
            return Ok(None);
        }
        if !matches!(self.phase, Phase::Open) && !self.decode_handshake(src)? {
            return Ok(None);
        }
        self.decode_frames(src).map_err(|error| self.fail(error))
    }

    /// Decodes after the handshake; errors are not yet turned into a failed connection.
    fn decode_frames(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        loop {
            if self.state == State::Closed {
                // Nothing may follow a close; whatever does is dropped.
                src.clear();
                return Ok(None);
            }
            let mut frame = match self.frame {
                Some(frame) => frame,
                None => {
                    let rules = HeaderRules {
                        role: self.role,
                        rsv1_allowed: self.compression.is_some(),
                        max_payload: self.config.max_frame_size as u64,
                        minimal_lengths: self.config.minimal_lengths,
                    };
                    let Some((header, header_length)) = FrameHeader::parse(src, &rules)? else {
                        return Ok(None);
                    };
                    self.check_sequence(&header)?;
                    InFrame {
                        header,
                        header_length,
                        unmasked: 0,
                        validated: 0,
                    }
                }
            };
            // Within the frame limit, which is a usize.
            let payload_length = frame.header.payload_length as usize;
            // Saturating: a caller that swapped the buffer gets no message, not a panic.
            let available = src
                .len()
                .saturating_sub(frame.header_length)
                .min(payload_length);
            if available > frame.unmasked {
                let piece =
                    &mut src[frame.header_length + frame.unmasked..][..available - frame.unmasked];
                if let Some(key) = frame.header.mask {
                    apply_mask(piece, key, frame.unmasked);
                }
                #[cfg(test)]
                {
                    self.processed += piece.len();
                }
                frame.unmasked = available;
            }
            if available < payload_length || src.len() < frame.header_length {
                // Fail fast: check the text that has arrived (Autobahn 6.4.x); compressed
                // text is checked as it is inflated, when its frame is complete.
                if self.is_text(frame.header.opcode)
                    && !self.is_compressed(&frame.header)
                    && available > frame.validated
                {
                    let seen = self.message_length() + frame.validated;
                    let piece = &src[frame.header_length + frame.validated..]
                        [..available - frame.validated];
                    self.utf8
                        .feed(piece, seen)
                        .map_err(|e| Error::InvalidUtf8 {
                            valid_up_to: e.valid_up_to,
                        })?;
                    #[cfg(test)]
                    {
                        self.processed += piece.len();
                    }
                    frame.validated = available;
                }
                self.frame = Some(frame);
                src.reserve((payload_length - available).min(MAX_RESERVE_AHEAD));
                return Ok(None);
            }
            self.frame = None;
            src.advance(frame.header_length);
            let payload = src.split_to(payload_length);
            match frame.header.opcode {
                OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                    if let Some(message) =
                        self.data_frame(frame.header, payload, frame.validated)?
                    {
                        return Ok(Some(message));
                    }
                }
                OpCode::Ping => {
                    let payload = payload.freeze();
                    if self.state == State::Open {
                        self.owe_pong(payload.clone());
                    }
                    return Ok(Some(Message::Ping(payload)));
                }
                OpCode::Pong => return Ok(Some(Message::Pong(payload.freeze()))),
                OpCode::Close => {
                    let close = CloseFrame::parse(&payload)?;
                    if self.state == State::Open {
                        self.settle_pongs();
                        let mut echo = BytesMut::new();
                        if let Some(close) = &close {
                            echo.put_u16(close.code.0);
                        }
                        put_frame(self.role, &mut self.output, OpCode::Close, &echo);
                    }
                    self.close_now();
                    src.clear();
                    return Ok(Some(Message::Close(close)));
                }
            }
        }
    }
}

/// The common case in one place: a whole, unfragmented text or binary frame of at most
/// 125 bytes (less if a limit is lower), from a client to a server or the other way. See
/// [`WebSocket::small_frames`]: valid only between messages of an open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmallFrames {
    role: Role,
    limit: usize,
}

impl SmallFrames {
    /// The frame at the front of `src` as a message, if it is one this decoder takes
    /// (whole, FIN, text or binary, no reserved bits, masked as the role requires, within
    /// the limit, its text UTF-8). Anything else, or anything wrong, returns `None` with
    /// `src` as it was, for the protocol's general path.
    #[inline]
    pub fn decode(&self, src: &mut BytesMut) -> Option<Message> {
        let (&[b0, b1], _) = src.split_first_chunk::<2>()?;
        let length = usize::from(b1 & 0x7F);
        let masked = b1 & 0x80 != 0;
        // 0x81 / 0x82: FIN, no reserved bits, text / binary.
        if (b0 != 0x81 && b0 != 0x82)
            || length > self.limit
            || masked != (self.role == Role::Server)
        {
            return None;
        }
        let header_length = if masked { 6 } else { 2 };
        let frame = src.get_mut(..header_length + length)?;
        let (header, payload) = frame.split_at_mut(header_length);
        let key = header.last_chunk::<4>().copied();
        if let (true, Some(key)) = (masked, key) {
            apply_mask(payload, key, 0);
        }
        let message = if b0 == 0x82 {
            // Cut header and payload off together, then step over the header in the
            // `Bytes`: a pointer bump, where `BytesMut::advance` on the read buffer is an
            // out-of-line call per frame (callgrind: 23 instructions a frame).
            let mut payload = src.split_to(header_length + length).freeze();
            payload.advance(header_length);
            Message::Binary(payload)
        } else {
            match simdutf8::basic::from_utf8(payload) {
                Ok(text) => {
                    let text = text.to_owned();
                    src.advance(header_length + length);
                    Message::Text(text)
                }
                Err(_) => {
                    // Put the mask back; the general path reports where it went wrong.
                    if let (true, Some(key)) = (masked, key) {
                        apply_mask(payload, key, 0);
                    }
                    return None;
                }
            }
        };
        Some(message)
    }
}

impl Protocol for WebSocket {
    type Message = Message;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        if self.frame.is_none()
            && self.message.is_none()
            && matches!(self.state, State::Open | State::Closing)
        {
            if let Some(message) = self.small.decode(src) {
                return Ok(Some(message));
            }
        }
        self.decode_general(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        match self.decode(src)? {
            Some(message) => Ok(Some(message)),
            None if src.is_empty() => Ok(None),
            None => {
                // The transport is gone: no close frame can be sent.
                self.close_now();
                Err(Error::UnexpectedEof {
                    buffered: src.len(),
                })
            }
        }
    }

    // Inlined: `Codec`'s `Encoder` calls it before every message, and out of line the
    // call cost the encoder a sixth of its time on small frames (benches
    // `websocket/encode/small`); with nothing queued it is three comparisons.
    #[inline]
    fn take_output(&mut self, dst: &mut BytesMut) -> usize {
        if self.output.is_empty() && self.pongs.is_empty() && self.pong_overflow.is_none() {
            return 0;
        }
        self.move_queued_output(dst)
    }
}

impl WebSocket {
    #[inline(never)]
    fn move_queued_output(&mut self, dst: &mut BytesMut) -> usize {
        let before = dst.len();
        wm_protocol::move_output(&mut self.output, dst);
        wm_protocol::move_output(&mut self.pongs, dst);
        if let Some(pong) = self.pong_overflow.take() {
            put_frame(self.role, dst, OpCode::Pong, &pong);
        }
        dst.len() - before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame (key `01 02 03 04`).
    fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
        let key = [1, 2, 3, 4];
        let mut wire = vec![b0];
        match payload.len() {
            n @ 0..=125 => wire.push(0x80 | n as u8),
            n @ 126..=0xFFFF => {
                wire.push(0x80 | 126);
                wire.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                wire.push(0x80 | 127);
                wire.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        wire.extend_from_slice(&key);
        wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        wire
    }

    /// Feeds `wire` one byte per read; returns the messages and the bytes processed.
    fn drip(wire: &[u8]) -> (Vec<Message>, usize) {
        let mut ws = WebSocket::server();
        let mut buf = BytesMut::new();
        let mut messages = Vec::new();
        for &byte in wire {
            buf.extend_from_slice(&[byte]);
            while let Some(message) = ws.decode(&mut buf).unwrap() {
                messages.push(message);
            }
        }
        (messages, ws.processed)
    }

    #[test]
    fn a_one_byte_drip_unmasks_and_checks_each_text_byte_once() {
        let text = "ab✓".repeat(64 * 1024 / 5);
        let (messages, processed) = drip(&masked(0x81, text.as_bytes()));
        // Unmasked once and checked once while the frame was incomplete; the last byte
        // completes the frame and is checked with it.
        assert_eq!(processed, 2 * text.len() - 1);
        assert_eq!(messages, [Message::Text(text)]);
    }

    #[test]
    fn a_one_byte_drip_of_fragments_is_linear_too() {
        let a = vec![7u8; 40_000];
        let b = vec![9u8; 30_000];
        let mut wire = masked(0x02, &a);
        wire.extend_from_slice(&masked(0x80, &b));
        let (messages, processed) = drip(&wire);
        assert_eq!(
            processed,
            a.len() + b.len(),
            "binary: unmasked once, not checked"
        );
        assert_eq!(messages, [Message::Binary([a, b].concat().into())]);
    }
}
