//! Custom protocols the Workerman way: say how long a packet is once you can tell, how to
//! decode one packet and how to encode one message; [`PacketProtocol`] does the rest
//! incrementally.
//!
//! The differences from Workerman's `input($buffer)` are what make it linear and bounded:
//!
//! * [`PacketFormat::input`] is told how many leading bytes it has already examined, so a
//!   delimiter search resumes where it stopped instead of rescanning the buffer.
//! * Once `input` has named a length, it is not called again for that packet.
//! * The limit is applied to the declared length *and* to bytes buffered while the length
//!   is unknown, before any memory is reserved. An over-limit packet is fatal by default;
//!   a format can choose to skip it and report an item instead
//!   ([`PacketFormat::oversize`]).

use bytes::{Buf, Bytes, BytesMut};

use crate::{Encode, Error, Limits, Protocol};

/// The most memory reserved ahead for a packet whose length is known but whose bytes
/// have not arrived. A peer's 4-byte header may declare the full package size; reserving
/// all of it at once would let idle connections pin that much memory each.
pub const MAX_RESERVE_AHEAD: usize = 64 * 1024;

/// What [`PacketFormat::input`] learned from the buffered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The packet's length cannot be told yet; call again when more bytes arrive.
    NeedMore,
    /// The packet at the front of the buffer is this many bytes long, header and delimiter
    /// included. Must be at least 1.
    Packet(usize),
}

/// A packet format, described the way Workerman's protocol classes describe one.
pub trait PacketFormat {
    /// What one packet decodes to.
    type Message;

    /// Tells the length of the packet at the front of `buf`, if it can be told yet.
    ///
    /// `examined` is how many leading bytes of `buf` earlier calls for this same packet
    /// already looked at (0 on the first call); a delimiter search starts there. Returning
    /// `Err` fails the connection.
    fn input(&mut self, buf: &[u8], examined: usize) -> Result<Input, Error>;

    /// Decodes one whole packet, exactly the bytes `input` measured. `Ok(None)` skips the
    /// packet without producing a message.
    fn decode(&mut self, packet: Bytes) -> Result<Option<Self::Message>, Error>;

    /// Bytes kept from the end of what was examined while skipping an over-limit packet
    /// of unknown length, so that an end delimiter split across two reads is still
    /// found. A format whose delimiter is `n` bytes long sets `n - 1`.
    const DELIMITER_OVERLAP: usize = 0;

    /// Decides what an over-limit packet becomes. `length` is its length if `input` named
    /// one, `None` if no end was found within `limit` bytes.
    ///
    /// The default fails the connection with [`Error::PacketTooLarge`] or
    /// [`Error::PacketEndNotFound`]. Returning `Ok(message)` instead reports `message`,
    /// skips the packet's bytes as they arrive (never buffering them) and goes on with the
    /// next packet. Skipping a packet whose length is unknown relies on `input` finding its
    /// end in the bytes that follow, as a delimiter search does (see
    /// [`DELIMITER_OVERLAP`](PacketFormat::DELIMITER_OVERLAP) for delimiters longer than
    /// a byte).
    ///
    /// For a delimited format, whether `length` is known depends on how the bytes arrived
    /// (the delimiter may or may not be buffered yet); a message that must not depend on
    /// the chunking should not depend on `length`.
    fn oversize(&mut self, length: Option<usize>, limit: usize) -> Result<Self::Message, Error> {
        Err(match length {
            Some(length) => Error::PacketTooLarge {
                length: length as u64,
                limit,
            },
            None => Error::PacketEndNotFound { limit },
        })
    }
}

/// The encode half of a [`PacketFormat`], once per item type it accepts.
pub trait EncodePacket<Item>: PacketFormat {
    /// Appends the wire form of `item` to `dst`; on error appends nothing.
    fn encode(&mut self, item: Item, dst: &mut BytesMut) -> Result<(), Error>;
}

/// Where the decoder is within the current packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Length unknown; `input` has examined this many leading bytes.
    Measuring { examined: usize },
    /// Length known; waiting for the whole packet.
    Awaiting { length: usize },
    /// Dropping an over-limit packet whose remaining length is known.
    Skipping { remaining: usize },
    /// Dropping an over-limit packet until `input` finds its end.
    SkippingToEnd,
}

/// A [`Protocol`] made from a [`PacketFormat`]: the incremental read loop Workerman runs
/// around `input()` and `decode()`, with its package-size limit.
#[derive(Debug, Clone)]
pub struct PacketProtocol<F> {
    format: F,
    max_package_size: usize,
    state: State,
}

impl<F> PacketProtocol<F> {
    /// The format with the default [`Limits`].
    pub fn new(format: F) -> Self {
        Self::with_limits(format, &Limits::default())
    }

    /// The format with the package-size limit of `limits`.
    pub fn with_limits(format: F, limits: &Limits) -> Self {
        Self::with_max_package_size(format, limits.max_package_size)
    }

    /// The format with its own limit on a packet's length, delimiters and headers included.
    pub fn with_max_package_size(format: F, max_package_size: usize) -> Self {
        Self {
            format,
            max_package_size,
            state: State::Measuring { examined: 0 },
        }
    }

    /// The largest packet accepted.
    pub fn max_package_size(&self) -> usize {
        self.max_package_size
    }

    /// Changes the limit for what is decoded from now on (Workerman's per-connection
    /// `$connection->maxPackageSize`): a packet whose length is already known and
    /// accepted finishes under the old one; one still being measured is held to the new.
    pub fn set_max_package_size(&mut self, max_package_size: usize) {
        self.max_package_size = max_package_size;
    }

    /// The format inside.
    pub fn format(&self) -> &F {
        &self.format
    }

    /// The format inside, mutably.
    pub fn format_mut(&mut self) -> &mut F {
        &mut self.format
    }
}

impl<F: Default> Default for PacketProtocol<F> {
    fn default() -> Self {
        Self::new(F::default())
    }
}

impl<F: PacketFormat> PacketProtocol<F> {
    /// Reports an over-limit packet (or fails) and starts skipping its bytes.
    fn oversize(
        &mut self,
        length: Option<usize>,
        src: &mut BytesMut,
    ) -> Result<Option<F::Message>, Error> {
        let message = self.format.oversize(length, self.max_package_size)?;
        self.state = match length {
            Some(length) => {
                let now = length.min(src.len());
                src.advance(now);
                State::Skipping {
                    remaining: length - now,
                }
            }
            None => {
                keep_overlap::<F>(src);
                State::SkippingToEnd
            }
        };
        // A packet skipped whole leaves `Skipping { remaining: 0 }`, which the next
        // `decode` passes straight through.
        Ok(Some(message))
    }

    /// Cuts the whole packet of `length` bytes off `src` and decodes it.
    #[inline]
    fn take_packet(
        &mut self,
        length: usize,
        src: &mut BytesMut,
    ) -> Result<Option<F::Message>, Error> {
        self.state = State::Measuring { examined: 0 };
        self.format.decode(src.split_to(length).freeze())
    }
}

/// Drops what was examined of a skipped packet but its last [`PacketFormat::DELIMITER_OVERLAP`]
/// bytes.
fn keep_overlap<F: PacketFormat>(src: &mut BytesMut) {
    let keep = F::DELIMITER_OVERLAP.min(src.len());
    src.advance(src.len() - keep);
}

/// A length from `input`, which must be at least 1.
fn measured(length: usize) -> Result<usize, Error> {
    match length {
        0 => Err(Error::malformed("input() measured a packet of 0 bytes")),
        length => Ok(length),
    }
}

impl<F: PacketFormat> Protocol for PacketProtocol<F> {
    type Message = F::Message;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<F::Message>, Error> {
        loop {
            match self.state {
                // Like Workerman's read loop, `input` only ever sees a started packet.
                State::Measuring { .. } | State::SkippingToEnd if src.is_empty() => {
                    return Ok(None)
                }
                // `min`: a caller may hand in a different, shorter buffer; formats slice at
                // `examined`, which must not panic.
                State::Measuring { examined } => {
                    match self.format.input(src, examined.min(src.len()))? {
                        Input::NeedMore => {
                            // The packet is at least one byte longer than what is buffered.
                            if src.len() >= self.max_package_size {
                                return self.oversize(None, src);
                            }
                            self.state = State::Measuring {
                                examined: src.len(),
                            };
                            return Ok(None);
                        }
                        Input::Packet(length) => {
                            let length = measured(length)?;
                            if length > self.max_package_size {
                                return self.oversize(Some(length), src);
                            }
                            self.state = State::Awaiting { length };
                            if src.len() >= length {
                                // The common case, a whole packet already buffered.
                                if let Some(message) = self.take_packet(length, src)? {
                                    return Ok(Some(message));
                                }
                            }
                        }
                    }
                }
                State::Awaiting { length } => {
                    if src.len() < length {
                        src.reserve((length - src.len()).min(MAX_RESERVE_AHEAD));
                        return Ok(None);
                    }
                    if let Some(message) = self.take_packet(length, src)? {
                        return Ok(Some(message));
                    }
                }
                State::Skipping { remaining } => {
                    let now = remaining.min(src.len());
                    src.advance(now);
                    if now < remaining {
                        self.state = State::Skipping {
                            remaining: remaining - now,
                        };
                        return Ok(None);
                    }
                    self.state = State::Measuring { examined: 0 };
                }
                State::SkippingToEnd => match self.format.input(src, 0)? {
                    Input::NeedMore => {
                        keep_overlap::<F>(src);
                        return Ok(None);
                    }
                    Input::Packet(length) => {
                        self.state = State::Skipping {
                            remaining: measured(length)?,
                        }
                    }
                },
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<F::Message>, Error> {
        if let Some(message) = self.decode(src)? {
            return Ok(Some(message));
        }
        match self.state {
            // Whatever is left of a skipped packet was already reported.
            State::Skipping { .. } | State::SkippingToEnd => {
                src.clear();
                Ok(None)
            }
            _ => Error::check_eof(src.len()).map(|()| None),
        }
    }
}

impl<F: EncodePacket<T>, T> Encode<T> for PacketProtocol<F> {
    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        self.format.encode(item, dst)
    }
}
