//! RFC 6455 WebSocket for Workerman's `websocket://` (server) and `ws://` (client)
//! schemes: a sans-IO protocol per connection, a tokio-util codec, and async
//! `accept` / `connect`.
//!
//! Autobahn TestSuite cases 1–10 pass for both roles with no NON-STRICT result
//! (`conformance/autobahn.sh`).
//!
//! # Layers
//!
//! * [`frame`]: the header, with every rule of §5.2 checked as soon as its bytes arrive;
//!   [`apply_mask`], eight bytes at a time and resumable mid-payload.
//! * [`WebSocket`]: one connection's state machine ([`State`]): frames into
//!   [`Message`]s, fragments reassembled around interleaved control frames, text checked
//!   as UTF-8 while it arrives (an invalid message fails at its first bad byte), pings
//!   answered and closes echoed through [`Protocol::take_output`], limits ([`Config`])
//!   checked on each header before any payload is buffered. A protocol error queues a
//!   close frame with the code it calls for ([`Error::close_code`]: 1002, 1007, 1009).
//! * [`deflate`]: permessage-deflate (RFC 7692), off unless asked for: negotiated by both
//!   handshakes ([`handshake::ServerOptions::deflate`], [`handshake::ClientRequest::deflate`]),
//!   messages inflated frame by frame with the message limit applied to the inflated size
//!   (a bomb is a 1009 after at most the limit was produced), messages from a threshold on
//!   sent compressed, zlib contexts held only where context takeover was agreed.
//! * [`handshake`]: the opening handshake for both ends, parsed without rescanning;
//!   refusals answered 400 / 426 / 431; [`handshake::ServerOptions`] selects a
//!   subprotocol and may refuse a request by path, headers or `Origin`.
//! * [`WebSocketCodec`] (feature `tokio-util`): the protocol as a `Decoder` + `Encoder`
//!   for `Framed`.
//! * [`accept`], [`connect`] and [`WebSocketStream`] (feature `tokio`, on by default):
//!   the handshake over any tokio stream, then a `Stream` + `Sink` of messages that
//!   answers pings and closes while it is polled. [`connect_url`] (feature `net`, on by
//!   default) opens the TCP connection for a `ws://` URL itself, and TLS for `wss://`
//!   with feature `rustls`.
//!
//! # Dependencies
//!
//! ```toml
//! [dependencies]
//! wm-websocket = "0.1"
//! tokio = { version = "1", features = ["net", "io-util", "rt", "macros"] }   # a runtime and sockets of your choice
//! futures-util = { version = "0.3", features = ["sink"] }
//! ```
//!
//! Features: `tokio` (default) for [`accept`], [`connect`] and [`WebSocketStream`] over
//! any tokio stream (it needs only tokio's `io-util` and `time`); `net` (default) for
//! [`connect_url`], which opens the TCP connection itself; `rustls` for `wss://` in
//! `connect_url` (rustls with ring, the Mozilla roots or a `ClientConfig` of your own);
//! `tokio-util` for [`WebSocketCodec`] alone. `default-features = false` leaves the
//! sans-IO protocol and handshake.
//!
//! # Example: a server and a client over `accept` / `connect_url`
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use wm_websocket::{accept, connect_url, Message};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wm_websocket::Error> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("ws://{}/chat", listener.local_addr()?);
//! let server = tokio::spawn(async move {
//!     let (tcp, _) = listener.accept().await?;
//!     let mut ws = accept(tcp).await?;
//!     while let Some(message) = ws.next().await {
//!         let message = message?;
//!         if message.is_data() {
//!             ws.send(message).await?; // echo, same type
//!         }
//!     }
//!     Ok::<_, wm_websocket::Error>(())
//! });
//!
//! // connect_url opens the TCP connection itself; connect(stream, url) takes one you opened.
//! let (mut ws, _response) = connect_url(&url).await?;
//! ws.send(Message::Text("hello".into())).await?;
//! assert_eq!(ws.next().await.unwrap()?, Message::Text("hello".into()));
//! ws.close(None, std::time::Duration::from_secs(1)).await?;
//! server.await.unwrap()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Example: `Framed` with `WebSocketCodec`
//!
//! On a connection whose handshake is done (here, an in-memory pipe), each end is a
//! `Framed` with the codec for its role:
//!
//! ```
//! use bytes::Bytes;
//! use futures_util::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//! use wm_websocket::{Message, WebSocket, WebSocketCodec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (client, server) = tokio::io::duplex(1024);
//! let mut client = Framed::new(client, WebSocketCodec::from(WebSocket::client()));
//! let mut server = Framed::new(server, WebSocketCodec::from(WebSocket::server()));
//! client.send(Message::Binary(Bytes::from_static(b"\x00\x01"))).await.unwrap();
//! assert_eq!(server.next().await.unwrap().unwrap(), Message::Binary(Bytes::from_static(b"\x00\x01")));
//! # }
//! ```
//!
//! With `Framed`, what the protocol queues by itself (a pong, a close echo) is written
//! ahead of the next item sent; [`WebSocketStream`] writes it at once.
//!
//! # Where this differs from Workerman
//!
//! Workerman's server leaves most of RFC 6455 unchecked (spec §4.9): unmasked frames,
//! reserved bits and opcodes, control-frame rules, fragmentation order, UTF-8, close
//! codes; and it fails with a bare TCP close. Here each is checked, and each failure is a
//! close frame with the RFC's code. Control frames between fragments are handled as the
//! RFC says (Workerman glues them into the message), the close handshake is real (the
//! peer's code is echoed, not always 1000), the message type travels with each message,
//! the `101` says `Switching Protocols` without `Sec-WebSocket-Version`, and a client
//! masks with a fresh random key (Workerman's `ws://` uses `00 00 00 00`) and keeps the
//! frames that arrive with the `101`.

pub mod close;
mod config;
#[cfg(feature = "net")]
mod connect;
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
mod mask;
mod message;
mod protocol;
#[cfg(feature = "tokio")]
mod stream;
pub mod utf8;

pub use config::{
    Config, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_HANDSHAKE_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE, MAX_HANDSHAKE_HEADERS,
};
#[cfg(feature = "rustls")]
pub use connect::connect_url_with_tls;
#[cfg(feature = "net")]
pub use connect::{connect_url, connect_url_with, ClientStream};
pub use error::{CloseCode, Error, FrameError};
pub use frame::Role;
pub use mask::apply_mask;
pub use message::Message;
pub use protocol::{SmallFrames, State, WebSocket, MAX_QUEUED_PONGS};
#[cfg(feature = "tokio")]
pub use stream::{accept, accept_with, connect, connect_with, WebSocketStream};
// The shared pieces this crate's protocols are built on, re-exported so that a project
// depending on this crate alone can name them: the sans-IO traits, the limits, the
// framing error, and (feature `tokio-util`) the `Framed` adapter.
#[cfg(feature = "tokio-util")]
pub use wm_protocol::Codec;
pub use wm_protocol::{Encode, Limits, Protocol};

/// [`WebSocket`] as a tokio-util `Decoder` + `Encoder`, for `Framed`.
#[cfg(feature = "tokio-util")]
pub type WebSocketCodec = wm_protocol::Codec<WebSocket>;
