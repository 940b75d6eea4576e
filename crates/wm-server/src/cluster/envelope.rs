//! What travels between nodes on a Redis channel: one operation, its origin, its target,
//! and the message, in a small binary frame. Pure encode / decode; anything published on
//! the channels that is not a frame of this version is an [`EnvelopeError`], counted and
//! ignored, never a panic.

use bytes::{BufMut, Bytes, BytesMut};

use super::ClientId;

/// The first byte of every envelope. A node meeting another version ignores the envelope
/// (and counts it), so that nodes of two versions side by side fail visibly, not oddly.
pub(crate) const VERSION: u8 = 1;

/// Longest target (uid, group or topic name) an envelope carries: a target is a key in
/// every node's maps, and a longer one is refused at the sender.
pub(crate) const MAX_TARGET: usize = 1024;

/// Exclusions one envelope carries (GatewayWorker's `$exclude_client_id`), each 16 bytes.
pub(crate) const MAX_EXCEPT: usize = 4096;

/// What an envelope asks the nodes that read it to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Deliver to every connection.
    All = 1,
    /// Deliver to the connections bound to the target uid.
    Uid = 2,
    /// Deliver to the members of the target group.
    Group = 3,
    /// Deliver to one connection (the target is its local id).
    Client = 4,
    /// Close one connection.
    Close = 5,
    /// Bind one connection to the uid in the body.
    BindUid = 6,
    /// Unbind one connection from its uid.
    UnbindUid = 7,
    /// Add one connection to the group in the body.
    JoinGroup = 8,
    /// Take one connection out of the group in the body.
    LeaveGroup = 9,
    /// An application message on the target topic.
    Topic = 10,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => Self::All,
            2 => Self::Uid,
            3 => Self::Group,
            4 => Self::Client,
            5 => Self::Close,
            6 => Self::BindUid,
            7 => Self::UnbindUid,
            8 => Self::JoinGroup,
            9 => Self::LeaveGroup,
            10 => Self::Topic,
            _ => return None,
        })
    }
}

/// The message an envelope carries, as the cluster sends it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    /// No message (a close, a membership change).
    None,
    /// A text message (WebSocket text, a `text://` line).
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A JSON value, serialised.
    Json(Bytes),
    /// A topic's data.
    Data(Bytes),
}

impl Payload {
    fn tag(&self) -> u8 {
        match self {
            Self::None => 0,
            Self::Text(_) => 1,
            Self::Binary(_) => 2,
            Self::Json(_) => 3,
            Self::Data(_) => 4,
        }
    }

    fn body(&self) -> &[u8] {
        match self {
            Self::None => &[],
            Self::Text(b) | Self::Binary(b) | Self::Json(b) | Self::Data(b) => b,
        }
    }
}

/// One decoded envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope {
    pub(crate) kind: Kind,
    /// The node that sent it: a node skips its own (it delivered locally already).
    pub(crate) origin: u64,
    /// A uid, group or topic name, or a connection's local id as 8 bytes.
    pub(crate) target: Bytes,
    /// Connections not to deliver to.
    pub(crate) except: Vec<ClientId>,
    pub(crate) payload: Payload,
}

/// Why bytes read from a channel are not an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Shorter than its header or its own lengths say.
    #[error("the envelope is truncated")]
    Truncated,
    /// Another version of wm (or not wm at all) published on the channel.
    #[error("envelope version {0}, this node reads {VERSION}")]
    Version(u8),
    /// An operation this version does not know.
    #[error("unknown operation {0}")]
    Kind(u8),
    /// A payload type this version does not know.
    #[error("unknown payload type {0}")]
    PayloadType(u8),
    /// A text payload or a name that is not UTF-8.
    #[error("a text payload or a name is not UTF-8")]
    Utf8,
    /// More exclusions or a longer target than a sender may put in.
    #[error("the envelope is over its limits")]
    TooLarge,
    /// The payload is not what its type says (JSON that does not parse), or a message
    /// operation carries none.
    #[error("the payload is not what its type says")]
    Payload,
}

/// Fixed header: version, kind, origin, payload type, target length, exclusions.
const HEADER: usize = 1 + 1 + 8 + 1 + 2 + 2;

impl Envelope {
    /// The frame, in one allocation.
    pub(crate) fn encode(&self) -> Bytes {
        let body = self.payload.body();
        let mut out = BytesMut::with_capacity(
            HEADER + self.target.len() + 16 * self.except.len() + body.len(),
        );
        out.put_u8(VERSION);
        out.put_u8(self.kind as u8);
        out.put_u64(self.origin);
        out.put_u8(self.payload.tag());
        // The sender checked both against MAX_TARGET and MAX_EXCEPT.
        out.put_u16(self.target.len() as u16);
        out.put_u16(self.except.len() as u16);
        out.put_slice(&self.target);
        for id in &self.except {
            out.put_u64(id.node);
            out.put_u64(id.connection);
        }
        out.put_slice(body);
        out.freeze()
    }

    /// Reads a frame; the target and the payload are slices of `frame`.
    pub(crate) fn decode(frame: Bytes) -> Result<Self, EnvelopeError> {
        if frame.len() < HEADER {
            return Err(EnvelopeError::Truncated);
        }
        if frame[0] != VERSION {
            return Err(EnvelopeError::Version(frame[0]));
        }
        let kind = Kind::from_byte(frame[1]).ok_or(EnvelopeError::Kind(frame[1]))?;
        let origin = u64::from_be_bytes(frame[2..10].try_into().expect("8 bytes"));
        let tag = frame[10];
        let target_len = usize::from(u16::from_be_bytes([frame[11], frame[12]]));
        let except_len = usize::from(u16::from_be_bytes([frame[13], frame[14]]));
        if target_len > MAX_TARGET || except_len > MAX_EXCEPT {
            return Err(EnvelopeError::TooLarge);
        }
        let body_at = HEADER + target_len + 16 * except_len;
        if frame.len() < body_at {
            return Err(EnvelopeError::Truncated);
        }
        let target = frame.slice(HEADER..HEADER + target_len);
        let except = frame[HEADER + target_len..body_at]
            .chunks_exact(16)
            .map(|id| ClientId {
                node: u64::from_be_bytes(id[..8].try_into().expect("8 bytes")),
                connection: u64::from_be_bytes(id[8..].try_into().expect("8 bytes")),
            })
            .collect();
        let body = frame.slice(body_at..);
        let payload = match tag {
            0 => Payload::None,
            1 => {
                simdutf8::basic::from_utf8(&body).map_err(|_| EnvelopeError::Utf8)?;
                Payload::Text(body)
            }
            2 => Payload::Binary(body),
            3 => Payload::Json(body),
            4 => Payload::Data(body),
            other => return Err(EnvelopeError::PayloadType(other)),
        };
        Ok(Self {
            kind,
            origin,
            target,
            except,
            payload,
        })
    }

    /// The target as a name (uid, group, topic).
    pub(crate) fn target_name(&self) -> Result<&str, EnvelopeError> {
        std::str::from_utf8(&self.target).map_err(|_| EnvelopeError::Utf8)
    }

    /// The target as a connection's local id.
    pub(crate) fn target_connection(&self) -> Result<u64, EnvelopeError> {
        let bytes: [u8; 8] = self.target[..]
            .try_into()
            .map_err(|_| EnvelopeError::Truncated)?;
        Ok(u64::from_be_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            kind: Kind::Group,
            origin: 0x0123_4567_89ab_cdef,
            target: Bytes::from_static("room-é".as_bytes()),
            except: vec![
                ClientId {
                    node: 1,
                    connection: 2,
                },
                ClientId {
                    node: u64::MAX,
                    connection: 7,
                },
            ],
            payload: Payload::Text(Bytes::from_static(b"hello")),
        }
    }

    #[test]
    fn every_kind_and_payload_round_trips() {
        let payloads = [
            Payload::None,
            Payload::Text(Bytes::from_static(b"t")),
            Payload::Binary(Bytes::from_static(&[0, 255])),
            Payload::Json(Bytes::from_static(b"{\"a\":1}")),
            Payload::Data(Bytes::new()),
        ];
        for kind in 1..=10 {
            for payload in &payloads {
                let envelope = Envelope {
                    kind: Kind::from_byte(kind).unwrap(),
                    payload: payload.clone(),
                    ..sample()
                };
                assert_eq!(Envelope::decode(envelope.encode()), Ok(envelope));
            }
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let frame = sample().encode();
        for end in 0..frame.len() - b"hello".len() {
            assert_eq!(
                Envelope::decode(frame.slice(..end)),
                Err(EnvelopeError::Truncated),
                "cut at {end}"
            );
        }
    }

    #[test]
    fn foreign_bytes_are_refused_by_name() {
        let frame = sample().encode().to_vec();
        let with = |at: usize, byte: u8| {
            let mut copy = frame.clone();
            copy[at] = byte;
            Envelope::decode(Bytes::from(copy))
        };
        assert_eq!(with(0, 2), Err(EnvelopeError::Version(2)));
        assert_eq!(with(1, 0), Err(EnvelopeError::Kind(0)));
        assert_eq!(with(10, 9), Err(EnvelopeError::PayloadType(9)));
        assert_eq!(with(11, 0xff), Err(EnvelopeError::TooLarge));
        let mut bad_text = frame.clone();
        *bad_text.last_mut().unwrap() = 0xff;
        assert_eq!(
            Envelope::decode(Bytes::from(bad_text)),
            Err(EnvelopeError::Utf8)
        );
        assert_eq!(
            Envelope::decode(Bytes::from_static(b"hello from redis-cli")),
            Err(EnvelopeError::Version(b'h'))
        );
    }

    #[test]
    fn target_and_payload_are_slices_of_the_frame() {
        let frame = sample().encode();
        let decoded = Envelope::decode(frame.clone()).unwrap();
        let Payload::Text(text) = &decoded.payload else {
            panic!("text expected")
        };
        let range = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
        assert!(range.contains(&(text.as_ptr() as usize)));
        assert!(range.contains(&(decoded.target.as_ptr() as usize)));
    }
}
