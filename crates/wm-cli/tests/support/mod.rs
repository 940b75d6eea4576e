//! What the tool's tests share: a proxy that records the bytes of a connection, and the
//! WebSocket frames in a recording.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What went through a [`recording_proxy`], each direction as it was on the wire.
#[derive(Default)]
pub struct Recorded {
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
}

/// A TCP proxy on 127.0.0.1 in front of `target` that keeps a copy of every byte of its
/// first connection, both ways.
pub async fn recording_proxy(target: SocketAddr) -> (SocketAddr, Arc<Mutex<Recorded>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let log = recorded.clone();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = TcpStream::connect(target).await.unwrap();
        let (mut from_client, mut to_client) = client.into_split();
        let (mut from_server, mut to_server) = server.into_split();
        let up_log = log.clone();
        let up = async move {
            let mut buf = vec![0; 16 * 1024];
            while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                up_log
                    .lock()
                    .unwrap()
                    .to_server
                    .extend_from_slice(&buf[..n]);
                if to_server.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = to_server.shutdown().await;
        };
        let down = async move {
            let mut buf = vec![0; 16 * 1024];
            while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                log.lock().unwrap().to_client.extend_from_slice(&buf[..n]);
                if to_client.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = to_client.shutdown().await;
        };
        tokio::join!(up, down);
    });
    (address, recorded)
}

/// The frames after the HTTP head in one direction of a recording, as (first byte,
/// payload length): enough to see RSV1 (0x40) and the opcode.
pub fn frames(stream: &[u8]) -> (String, Vec<(u8, usize)>) {
    let end = stream
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head")
        + 4;
    let head = String::from_utf8_lossy(&stream[..end]).into_owned();
    let mut frames = Vec::new();
    let mut rest = &stream[end..];
    while rest.len() >= 2 {
        let (b0, b1) = (rest[0], rest[1]);
        let (length, mut at) = match b1 & 0x7f {
            126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 if rest.len() >= 10 => (
                u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                10,
            ),
            126 | 127 => break,
            n => (usize::from(n), 2),
        };
        if b1 & 0x80 != 0 {
            at += 4;
        }
        if rest.len() < at + length {
            break;
        }
        frames.push((b0, length));
        rest = &rest[at + length..];
    }
    (head, frames)
}
