//! permessage-deflate (RFC 7692).
//!
//! [`negotiation`]: the `Sec-WebSocket-Extensions` offers and answers, parsed and checked,
//! and how a server picks among offers ([`DeflateConfig::accept`]) and a client checks the
//! answer ([`DeflateConfig::check_answer`]). The handshakes do not offer or accept the
//! extension yet: compressed frames (RSV1) are still refused with 1002 until the
//! per-message compressor lands.

pub mod negotiation;

pub use negotiation::{Agreement, DeflateConfig, NegotiationError, Offer};
