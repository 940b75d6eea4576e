//! Workerman's `Worker` for Rust: listeners (and clients) built from a URL, on the wm
//! codec crates, and the `wm` command-line tool.
//!
//! This crate is thin on purpose: the protocols are the codec crates'
//! ([`wm_text`], [`wm_frame`], [`wm_jsonnl`], [`wm_websocket`], [`wm_http`]); here they are
//! put behind one object-safe trait ([`protocols::DynProtocol`]) picked by scheme from a
//! [`Registry`], and run by one connection driver: read, decode, call the [`Handler`],
//! write what it sent, in one write per read.
//!
//! # Layers
//!
//! * [`Worker`]: a URL (`websocket://0.0.0.0:2345`, `text://`, `frame://`, `jsonnl://`,
//!   `http://`, bare `tcp://`, `udp://`, `unix:///path`), callbacks or a [`Handler`],
//!   [`ConnectionOptions`] (package size, send-buffer watermarks, handshake / header /
//!   idle timeouts), `count` threads; [`Worker::run`] serves until SIGINT or SIGTERM and
//!   stops gracefully.
//! * [`Connection`]: one peer: [`send`](Connection::send) (`Result<SendStatus,
//!   SendError>`), [`close`](Connection::close) (the protocol's close, then FIN),
//!   [`pause_recv`](Connection::pause_recv) / [`resume_recv`](Connection::resume_recv),
//!   its addresses ([`remote_ip`](Connection::remote_ip), …), typed data of the
//!   application's ([`set_data`](Connection::set_data) / [`data`](Connection::data)),
//!   and its [`Endpoint`] (every connection of the listener, for a broadcast; counters).
//! * [`WorkerThread`]: one of a worker's threads, for
//!   [`on_worker_start`](Worker::on_worker_start) / [`on_worker_stop`](Worker::on_worker_stop)
//!   (its id and name); [`Timer`]s run on it and end with it.
//! * `cluster::Cluster` (feature `cluster`): the same connections reached from other
//!   processes and machines, by client id, uid and group, through Redis.
//! * [`Message`]: what handlers receive and send, whatever the scheme.
//!
//! # Dependencies
//!
//! ```toml
//! [dependencies]
//! wm-server = "0.1"   # brings its own tokio runtime per worker thread
//! # for your own async code beside it (the example's client)
//! tokio = { version = "1", features = ["net", "io-util", "rt", "macros"] }
//! ```
//!
//! One feature, off by default: `cluster`, [`cluster::Cluster`]: GatewayWorker's and
//! Channel's operations across processes and machines on Redis pub/sub (it brings the
//! `redis` crate, and needs Rust 1.88). The `wm` command-line tool is the separate
//! `wm-cli` crate.
//!
//! # Example: an echo server on `text://`, and a client
//!
//! ```
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//! use wm_server::{Message, Worker};
//!
//! let server = Worker::new("text://127.0.0.1:0")?
//!     .on_message(|connection, message| {
//!         if let Message::Text(line) = message {
//!             let _ = connection.send(line.to_uppercase());
//!         }
//!     })
//!     .start()?;
//! let address = server.socket_addr().unwrap();
//!
//! tokio::runtime::Runtime::new()?.block_on(async {
//!     let mut stream = tokio::net::TcpStream::connect(address).await?;
//!     stream.write_all(b"hello\n").await?;
//!     let mut reply = String::new();
//!     BufReader::new(stream).read_line(&mut reply).await?;
//!     assert_eq!(reply, "HELLO\n");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! let stats = server.stop();
//! assert_eq!(stats.messages_received, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where this differs from Workerman
//!
//! `send` returns a `Result` instead of `true` / `null` / `false`; backpressure has a low
//! watermark as well as a high one; `close` is Workerman's `end()` (FIN, then linger) and
//! closes a WebSocket with a real close frame, while `abort` is `destroy()`; a panicking
//! callback closes its connection only; the handshake and header-read timeouts that
//! Workerman lacks are on by default; `close` on a UDP peer never closes the listener;
//! `count` workers are threads, not processes (and [`run_all`] serves a lone listener with
//! one thread on the calling thread, so that the process has one thread).

mod buffers;
mod client;
#[cfg(feature = "cluster")]
pub mod cluster;
mod connection;
mod driver;
mod error;
mod handler;
mod listener;
mod message;
mod options;
pub mod protocols;
mod registry;
mod run;
mod stats;
mod timer;
mod tls;
mod url;
mod web;
mod worker;
mod worker_thread;

pub use client::{Client, ClientHandle};
pub use connection::{Connection, Endpoint, PeerAddr, Status};
pub use error::{ConfigError, ConnectionError, SendError, SendStatus, TimeoutKind};
pub use handler::{Callbacks, Handler};
pub use message::Message;
pub use options::{
    ConnectionOptions, Heartbeat, DEFAULT_CLOSE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT, DEFAULT_LINGER, DEFAULT_SEND_HIGH_WATERMARK,
    DEFAULT_SEND_LOW_WATERMARK, MAX_TIMEOUT,
};
pub use protocols::CloseReason;
pub use registry::{ProtocolFactory, Registry, Transport};
pub use run::{run_all, run_all_with, StopSignals};
pub use stats::Stats;
pub use timer::{Timer, TimerError};
pub use tls::{TlsClient, TlsServer};
pub use web::StaticRoots;
pub use wm_websocket::deflate::DeflateConfig;
pub use worker::{Worker, WorkerHandle};
pub use worker_thread::WorkerThread;
