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

/// [`eventually`] for a condition that has to be awaited (a query to another process),
/// asked every 10 ms.
pub async fn eventually_async<F: Future<Output = bool>>(
    what: &str,
    mut condition: impl FnMut() -> F,
) {
    within(what, async {
        while !condition().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
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

/// A TCP connection to a `websocket://` listener at `address`, its opening handshake done
/// by hand: what follows is up to the test, byte by byte.
pub async fn ws_by_hand(address: SocketAddr) -> tokio::net::TcpStream {
    let mut stream = within("connect", tokio::net::TcpStream::connect(address))
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stream,
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(read_n(&mut stream, 1).await[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    stream
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
