//! permessage-deflate (RFC 7692).
//!
//! [`negotiation`]: the `Sec-WebSocket-Extensions` offers and answers, parsed and checked,
//! and how a server picks among offers ([`DeflateConfig::accept`]) and a client checks the
//! answer ([`DeflateConfig::check_answer`]).
//!
//! [`codec`]: a message compressed ([`MessageDeflater`]) and inflated frame by frame
//! within a size limit ([`MessageInflater`]), contexts pooled per thread where no context
//! is taken over (flate2 over zlib-rs).
//!
//! It is off unless asked for: a server accepts offers with [`ServerOptions::deflate`], a
//! client offers with [`ClientRequest::deflate`], and a connection whose handshake was
//! done elsewhere takes an agreement with [`WebSocket::with_deflate`]. Without it,
//! compressed frames (RSV1) are refused with 1002.
//!
//! [`ServerOptions::deflate`]: crate::handshake::ServerOptions::deflate
//! [`ClientRequest::deflate`]: crate::handshake::ClientRequest::deflate
//! [`WebSocket::with_deflate`]: crate::WebSocket::with_deflate

pub mod codec;
pub mod negotiation;

pub use codec::{InflateError, MessageDeflater, MessageInflater};
pub use negotiation::{
    Agreement, DeflateConfig, NegotiationError, Offer, DEFAULT_LEVEL, DEFAULT_THRESHOLD,
};
