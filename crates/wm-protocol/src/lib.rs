//! The protocol layer shared by the `wm-*` crates: Workerman's `input` / `decode` /
//! `encode` contract, done incrementally and per connection, without sockets or clocks.
//!
//! * [`Protocol`] and [`Encode`]: the sans-IO core every wire protocol implements. One value
//!   per connection holds all of that connection's parsing state, so a partial packet is
//!   never scanned twice and nothing is shared between connections (Workerman 5's
//!   process-wide decode cache is deliberately absent).
//! * [`Limits`]: the package-size limit every protocol derives its own limits from
//!   (10 MiB by default, as in Workerman).
//! * [`Error`]: the typed error of the framing layer (lines and length-prefixed packets).
//! * [`Codec`] (cargo feature `tokio-util`, on by default): the one adapter that turns any
//!   [`Protocol`] into a `tokio_util::codec::Decoder` + `Encoder`.
//! * [`packet`]: a Workerman-style helper for custom protocols: describe "the packet length
//!   once it is known", "decode one packet" and "encode one message", get an incremental
//!   [`Protocol`].
//!
//! # Dependencies
//!
//! ```toml
//! [dependencies]
//! wm-protocol = "0.1"   # feature "tokio-util" (default): Codec<P> for Framed
//! bytes = "1"
//! tokio-util = { version = "0.7", features = ["codec"] }   # for Framed
//! tokio = { version = "1", features = ["net", "io-util", "rt", "macros"] }
//! futures-util = { version = "0.3", features = ["sink"] }   # SinkExt::send, StreamExt::next
//! ```
//!
//! Features: `tokio-util` (default) for [`Codec`]; `testing` for the split-everywhere
//! helpers the wm tests use. Without default features the crate has no tokio dependency
//! at all.
//!
//! # Example: a custom protocol with `Framed`
//!
//! A protocol whose packets are one length byte followed by that many bytes of body:
//!
//! ```
//! use bytes::{BufMut, Bytes, BytesMut};
//! use futures_util::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//! use wm_protocol::packet::{EncodePacket, Input, PacketFormat, PacketProtocol};
//! use wm_protocol::{Codec, Error};
//!
//! struct ShortPackets;
//!
//! impl PacketFormat for ShortPackets {
//!     type Message = Bytes;
//!     fn input(&mut self, buf: &[u8], _examined: usize) -> Result<Input, Error> {
//!         Ok(match buf.first() {
//!             Some(&len) => Input::Packet(1 + usize::from(len)),
//!             None => Input::NeedMore,
//!         })
//!     }
//!     fn decode(&mut self, mut packet: Bytes) -> Result<Option<Bytes>, Error> {
//!         Ok(Some(packet.split_off(1)))
//!     }
//! }
//!
//! impl EncodePacket<&str> for ShortPackets {
//!     fn encode(&mut self, msg: &str, dst: &mut BytesMut) -> Result<(), Error> {
//!         let len = u8::try_from(msg.len())
//!             .map_err(|_| Error::PacketTooLarge { length: 1 + msg.len() as u64, limit: 256 })?;
//!         dst.put_u8(len);
//!         dst.put_slice(msg.as_bytes());
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (client, server) = tokio::io::duplex(64);
//! let mut client = Framed::new(client, Codec::from(PacketProtocol::new(ShortPackets)));
//! let mut server = Framed::new(server, Codec::from(PacketProtocol::new(ShortPackets)));
//! client.send("hello").await.unwrap();
//! assert_eq!(server.next().await.unwrap().unwrap(), "hello");
//! # }
//! ```
//!
//! # How stateful protocols fit
//!
//! The trait is shaped for the protocols that are more than "cut the next packet":
//!
//! * **WebSocket** is one [`Protocol`] value per connection whose state moves from
//!   *handshake* to *open* to *closing*. While in *handshake*, [`Protocol::decode`] consumes
//!   the request head and yields a handshake event; once open it yields messages and
//!   control events. Bytes the protocol must send **on its own** (the `101` reply, the
//!   automatic pong, the echo of a close frame) are queued inside the value and handed out
//!   by [`Protocol::take_output`]. An I/O driver (wm-server, or the websocket crate's own
//!   `accept`) calls `take_output` after every `decode` and writes what it gets; the
//!   [`Codec`] adapter writes it ahead of the next item sent through the `Framed` sink.
//! * **HTTP keep-alive** is the same value decoding request after request: the head, then
//!   the body by `Content-Length` or chunks, then back to the next head. Pipelined requests
//!   come out in order because they are cut from the buffer in order; the encoder keeps the
//!   matching state (HEAD, `Connection: close`) the decoder saw.
//! * A protocol error that has a wire reaction (an HTTP status, a WebSocket close code)
//!   is a variant of that protocol's own error type, which names the reaction; the driver
//!   writes it and closes. Recoverable problems are items, not errors.
//!
//! Decoding never needs a clock: timeouts (handshake, idle, slowloris) belong to the driver.

mod error;
pub mod http1;
mod limits;
pub mod packet;
mod protocol;
pub mod url;

#[cfg(feature = "tokio-util")]
mod codec;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(feature = "tokio-util")]
pub use codec::Codec;
pub use error::Error;
pub use limits::{Limits, DEFAULT_MAX_PACKAGE_SIZE};
pub use packet::MAX_RESERVE_AHEAD;
pub use protocol::{move_output, Encode, Protocol};
