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
//! The handshakes do not offer or accept the extension yet, and the protocol does not use
//! the codec: compressed frames (RSV1) are still refused with 1002.

pub mod codec;
pub mod negotiation;

pub use codec::{InflateError, MessageDeflater, MessageInflater};
pub use negotiation::{Agreement, DeflateConfig, NegotiationError, Offer};
