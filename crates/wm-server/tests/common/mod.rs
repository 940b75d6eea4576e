//! Helpers for the wm-server integration tests: every wait is bounded.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use wm_server::{Connection, Message, Worker, WorkerHandle};

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test after [`WAIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Echoes every data message back.
pub fn echo(connection: &Connection, message: Message) {
    if message.is_data() {
        let _ = connection.send(message);
    }
}

/// An echo listener on `url` (use port 0).
pub fn echo_server(url: &str) -> WorkerHandle {
    Worker::new(url).unwrap().on_message(echo).start().unwrap()
}

pub fn addr(handle: &WorkerHandle) -> SocketAddr {
    handle.socket_addr().expect("an inet listener")
}

/// Reads exactly `n` bytes.
pub async fn read_n<R: AsyncRead + Unpin>(reader: &mut R, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    within("read", reader.read_exact(&mut buf))
        .await
        .expect("read");
    buf
}

/// Reads until the peer closes; returns everything read.
pub async fn read_to_end<R: AsyncRead + Unpin>(reader: &mut R) -> Vec<u8> {
    let mut buf = Vec::new();
    within("read to end", reader.read_to_end(&mut buf))
        .await
        .expect("read to end");
    buf
}

/// Polls `condition` every few milliseconds until it holds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A 4-byte big-endian length that counts itself, then `payload`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut wire = ((payload.len() + 4) as u32).to_be_bytes().to_vec();
    wire.extend_from_slice(payload);
    wire
}

/// A WebSocket client connected to `handle`'s listener (the opening handshake done).
pub async fn ws_client(
    handle: &WorkerHandle,
) -> wm_websocket::WebSocketStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr(handle)).await.unwrap();
    let url = format!("ws://{}/", addr(handle));
    within("handshake", wm_websocket::connect(tcp, &url))
        .await
        .unwrap()
        .0
}

/// Connects to `handle`'s listener, writes `request`, and reads, as text, everything the
/// server sends until it closes.
pub async fn exchange(handle: &WorkerHandle, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr(handle)).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, request)
        .await
        .unwrap();
    String::from_utf8(read_to_end(&mut stream).await).unwrap()
}
