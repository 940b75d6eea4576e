//! The frame header (RFC 6455 §5.2): parse with every rule checked, encode in its minimal
//! form. Pure functions over bytes; payloads are the caller's business.
//!
//! A length in a longer form than it needs (`81 fe 00 05` for 5 bytes) is accepted unless
//! [`HeaderRules::minimal_lengths`] asks otherwise: RFC 6455 §5.2 puts "minimal" on the
//! sender, and Workerman's own `ws://` client sends a 65535-byte payload in the 64-bit
//! form (spec §9 #14). Every size limit applies to the decoded length either way.

use bytes::BufMut;

use crate::error::FrameError;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: the next fragment of a message.
    Continuation,
    /// 0x1: the first (or only) frame of a UTF-8 text message.
    Text,
    /// 0x2: the first (or only) frame of a binary message.
    Binary,
    /// 0x8: the close handshake.
    Close,
    /// 0x9: a ping; the peer answers with a pong.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` for the reserved ones (0x3–0x7, 0xB–0xF).
    pub const fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit value on the wire.
    pub const fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong: never fragmented, at most 125 bytes of payload.
    pub const fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// Which end of the connection this is. A server receives only masked frames and sends
/// unmasked ones; a client the other way round (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Accepted the connection (Workerman's `websocket://`).
    Server,
    /// Opened the connection (Workerman's `ws://`).
    Client,
}

impl Role {
    /// The other end's role.
    pub fn peer(self) -> Self {
        match self {
            Self::Server => Self::Client,
            Self::Client => Self::Server,
        }
    }
}

/// The largest payload a control frame may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The longest header: 2 bytes, an 8-byte length and a 4-byte mask key.
pub const MAX_HEADER_LENGTH: usize = 14;

/// What a received header must satisfy beyond the RFC's fixed rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRules {
    /// Which end is receiving: decides whether frames must or must not be masked.
    pub role: Role,
    /// Whether RSV1 may be set on the first frame of a text or binary message
    /// (permessage-deflate owns it); never on a control frame or a continuation.
    pub rsv1_allowed: bool,
    /// The largest payload accepted in one frame ([`FrameError::TooLarge`], close 1009).
    pub max_payload: u64,
    /// Refuse a length not in its minimal encoding ([`FrameError::NonMinimalLength`],
    /// close 1002). Off by default: real peers send such lengths (see the module docs).
    pub minimal_lengths: bool,
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of its message.
    pub fin: bool,
    /// RSV1, meaningful only with an extension that owns it.
    pub rsv1: bool,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The masking key, present on frames a client sends.
    pub mask: Option<[u8; 4]>,
    /// Length of the payload that follows the header.
    pub payload_length: u64,
}

impl FrameHeader {
    /// Parses the header at the front of `buf`, returning it and its length in bytes, or
    /// `Ok(None)` if more bytes are needed. Each rule is checked as soon as the bytes it
    /// needs are there, so a bad first byte fails at once, not after the payload arrives.
    pub fn parse(buf: &[u8], rules: &HeaderRules) -> Result<Option<(Self, usize)>, FrameError> {
        let Some(&b0) = buf.first() else {
            return Ok(None);
        };
        let rsv = (b0 >> 4) & 0b111;
        let opcode = OpCode::from_bits(b0 & 0x0F);
        // permessage-deflate marks a compressed message on its first frame only
        // (RFC 7692 §6.1): RSV1 on a control frame or a continuation is an error there too.
        let rsv1_allowed =
            rules.rsv1_allowed && matches!(opcode, Some(OpCode::Text | OpCode::Binary));
        if rsv & 0b011 != 0 || (rsv & 0b100 != 0 && !rsv1_allowed) {
            return Err(FrameError::ReservedBits { rsv });
        }
        let opcode = opcode.ok_or(FrameError::ReservedOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(FrameError::FragmentedControl { opcode });
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(None);
        };
        let masked = b1 & 0x80 != 0;
        match (rules.role, masked) {
            (Role::Server, false) => return Err(FrameError::Unmasked),
            (Role::Client, true) => return Err(FrameError::Masked),
            _ => {}
        }
        let (payload_length, mut at) = match b1 & 0x7F {
            126 => {
                let Some(ext) = buf.get(2..4) else {
                    return Ok(None);
                };
                let length = u64::from(u16::from_be_bytes([ext[0], ext[1]]));
                if rules.minimal_lengths && length < 126 {
                    return Err(FrameError::NonMinimalLength { length });
                }
                (length, 4)
            }
            127 => {
                let Some(ext) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut bytes = [0; 8];
                bytes.copy_from_slice(ext);
                let length = u64::from_be_bytes(bytes);
                if length >> 63 != 0 {
                    return Err(FrameError::LengthMsbSet);
                }
                if rules.minimal_lengths && length <= 0xFFFF {
                    return Err(FrameError::NonMinimalLength { length });
                }
                (length, 10)
            }
            short => (u64::from(short), 2),
        };
        if opcode.is_control() && payload_length > MAX_CONTROL_PAYLOAD as u64 {
            return Err(FrameError::ControlTooLong {
                length: payload_length,
            });
        }
        if payload_length > rules.max_payload {
            return Err(FrameError::TooLarge {
                length: payload_length,
                limit: rules.max_payload,
            });
        }
        let mask = if masked {
            let Some(key) = buf.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        Ok(Some((
            Self {
                fin,
                rsv1: rsv & 0b100 != 0,
                opcode,
                mask,
                payload_length,
            },
            at,
        )))
    }

    /// Length of this header on the wire, in its minimal form.
    pub fn encoded_length(&self) -> usize {
        let length = match self.payload_length {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        length + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Appends this header in its minimal form.
    pub fn encode(&self, dst: &mut impl BufMut) {
        let b0 = u8::from(self.fin) << 7 | u8::from(self.rsv1) << 6 | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        dst.put_u8(b0);
        match self.payload_length {
            short @ 0..=125 => dst.put_u8(mask_bit | short as u8),
            medium @ 126..=0xFFFF => {
                dst.put_u8(mask_bit | 126);
                dst.put_u16(medium as u16);
            }
            long => {
                dst.put_u8(mask_bit | 127);
                dst.put_u64(long);
            }
        }
        if let Some(key) = self.mask {
            dst.put_slice(&key);
        }
    }
}
