//! Through real sockets on 127.0.0.1: `accept` / `connect`, `WebSocketStream` answering
//! pings and closes on its own, `Framed` with `WebSocketCodec`, a reader that gets one
//! byte per poll and `Pending` between bytes, and Python's `websockets` as the other end.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::codec::Framed;
use wm_protocol::testing::{interop_node, interop_python};
use wm_websocket::close::CloseFrame;
use wm_websocket::deflate::{Agreement, DeflateConfig};
use wm_websocket::handshake::{ClientRequest, ServerOptions};
use wm_websocket::{
    accept, accept_with, connect, connect_with, CloseCode, Config, Message, Role, State, WebSocket,
    WebSocketCodec, WebSocketStream,
};

const LIMIT: Duration = Duration::from_secs(10);

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/echo?x=1", listener.local_addr().unwrap());
    (listener, url)
}

/// Echoes data messages until the stream ends; returns what else it saw.
async fn echo<S>(mut ws: WebSocketStream<S>) -> Vec<Message>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut control = Vec::new();
    while let Some(message) = ws.next().await {
        match message {
            Ok(message) if message.is_data() => ws.send(message).await.unwrap(),
            Ok(other) => control.push(other),
            Err(error) => panic!("echo: {error}"),
        }
    }
    control
}

#[tokio::test]
async fn accept_and_connect_echo_ping_and_close() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = accept(tcp).await.unwrap();
        assert_eq!(ws.protocol().request().unwrap().query(), Some("x=1"));
        echo(ws).await
    });
    let tcp = TcpStream::connect(url.trim_start_matches("ws://").split('/').next().unwrap())
        .await
        .unwrap();
    let (mut ws, response) = connect(tcp, &url).await.unwrap();
    assert_eq!(response.protocol(), None);
    for message in [
        Message::Text("hello".into()),
        Message::Binary(Bytes::from_static(b"\x00\xff")),
        Message::Text("✓".repeat(100_000)),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(
            timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap(),
            message
        );
    }
    // The server answers the ping by itself, while its application only echoes data.
    ws.send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    assert_eq!(
        timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"p"))
    );
    let close = CloseFrame {
        code: CloseCode::NORMAL,
        reason: "bye".into(),
    };
    ws.close(Some(close), LIMIT).await.unwrap();
    assert_eq!(ws.protocol().state(), State::Closed);
    let seen = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(
        seen,
        [
            Message::Ping(Bytes::from_static(b"p")),
            Message::Close(Some(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "bye".into()
            }))
        ]
    );
}

#[tokio::test]
async fn a_protocol_error_reaches_the_peer_as_its_close_code() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = Config::default().max_message_size(1000);
        let mut ws = accept_with(tcp, config, ServerOptions::new())
            .await
            .unwrap();
        let error = ws.next().await.unwrap().unwrap_err();
        assert_eq!(error.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
        assert!(
            ws.next().await.is_none(),
            "the stream ends after the failure"
        );
    });
    let tcp = TcpStream::connect(url[5..].split('/').next().unwrap())
        .await
        .unwrap();
    let (mut ws, _) = connect(tcp, &url).await.unwrap();
    ws.send(Message::Binary(vec![0; 2000].into()))
        .await
        .unwrap();
    let answer = timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap();
    let Message::Close(Some(close)) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(close.code, CloseCode::MESSAGE_TOO_BIG);
    timeout(LIMIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_plain_http_get_gets_400_with_the_version() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        accept(tcp).await.unwrap_err()
    });
    let mut tcp = TcpStream::connect(url[5..].split('/').next().unwrap())
        .await
        .unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    timeout(LIMIT, tcp.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    let error = server.await.unwrap();
    assert!(error.to_string().contains("Upgrade"), "{error}");
}

/// Reads one byte per poll and returns `Pending` (after waking itself) between bytes.
struct Trickle<S> {
    inner: S,
    ready: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Trickle<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !std::mem::replace(&mut self.ready, false) {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut one = [0u8; 1];
        let mut small = ReadBuf::new(&mut one);
        let result = Pin::new(&mut self.inner).poll_read(cx, &mut small);
        if let Poll::Ready(Ok(())) = result {
            buf.put_slice(small.filled());
        } else {
            self.ready = true;
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Trickle<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_server_reading_one_byte_per_poll_sees_the_same_messages() {
    let (client, server) = tokio::io::duplex(64);
    let server = tokio::spawn(async move {
        let ws = accept(Trickle {
            inner: server,
            ready: false,
        })
        .await
        .unwrap();
        echo(ws).await
    });
    let (mut ws, _) = connect(client, "ws://localhost/").await.unwrap();
    let messages: Vec<Message> = (0..20)
        .map(|i| match i % 3 {
            0 => Message::Text("é".repeat(i * 37)),
            1 => Message::Binary(vec![i as u8; i * 300].into()),
            _ => Message::Ping(Bytes::from(vec![b'p'; i])),
        })
        .collect();
    for message in &messages {
        ws.send(message.clone()).await.unwrap();
        let expected = match message {
            Message::Ping(payload) => Message::Pong(payload.clone()),
            other => other.clone(),
        };
        assert_eq!(
            timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap(),
            expected
        );
    }
    ws.close(None, LIMIT).await.unwrap();
    let control = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(control.last(), Some(&Message::Close(None)));
}

#[tokio::test]
async fn framed_with_the_codec_both_ways() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        // Handshake with accept, then plain Framed over the same connection.
        let ws = accept(tcp).await.unwrap();
        assert_eq!(ws.protocol().role(), Role::Server);
        let mut framed = Framed::new(ws.into_inner(), WebSocketCodec::from(WebSocket::server()));
        while let Some(message) = framed.next().await {
            let message = message.unwrap();
            if message.is_data() {
                framed.send(message).await.unwrap();
            } else if let Message::Close(_) = message {
                // The echo is queued; sending a close writes it (and nothing more).
                framed.send(Message::Close(None)).await.unwrap();
                break;
            }
        }
    });
    let tcp = TcpStream::connect(url[5..].split('/').next().unwrap())
        .await
        .unwrap();
    let (ws, _) = connect(tcp, &url).await.unwrap();
    let mut framed = Framed::new(ws.into_inner(), WebSocketCodec::from(WebSocket::client()));
    framed
        .send(Message::Text("over Framed".into()))
        .await
        .unwrap();
    assert_eq!(
        timeout(LIMIT, framed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap(),
        Message::Text("over Framed".into())
    );
    framed
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: String::new(),
        })))
        .await
        .unwrap();
    let answer = timeout(LIMIT, framed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        answer,
        Message::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: String::new()
        }))
    );
    timeout(LIMIT, server).await.unwrap().unwrap();
}

// ---- against Python's `websockets` ----

/// A second, independent implementation run as a child process: Python's `websockets`
/// (`interop/peer.py`) or Node's `ws` (`interop/peer.js`), each with a `server` and a
/// `client URL` mode.
enum Peer {
    Python(String),
    Node { node_path: String },
}

impl Peer {
    fn python() -> Option<Self> {
        interop_python("websockets").map(Self::Python)
    }

    fn node() -> Option<Self> {
        interop_node("ws").map(|node_path| Self::Node { node_path })
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/");
        let mut command = match self {
            Self::Python(python) => {
                let mut command = tokio::process::Command::new(python);
                command.arg(format!("{dir}peer.py"));
                command
            }
            Self::Node { node_path } => {
                let mut command = tokio::process::Command::new("node");
                command
                    .env("NODE_PATH", node_path)
                    .arg(format!("{dir}peer.js"));
                command
            }
        };
        command.args(args).kill_on_drop(true);
        command
    }
}

#[tokio::test]
async fn python_websockets_client_against_this_server() {
    if let Some(peer) = Peer::python() {
        peer_client_against_this_server(peer, None).await;
    }
}

/// `websockets` offers permessage-deflate by default and compresses every message.
#[tokio::test]
async fn python_websockets_client_against_this_server_with_deflate() {
    if let Some(peer) = Peer::python() {
        peer_client_against_this_server(peer, Some(DeflateConfig::default())).await;
    }
}

/// Node's `ws` client offers permessage-deflate and, with a threshold of 0, compresses
/// every message.
#[tokio::test]
async fn node_ws_client_against_this_server_with_deflate() {
    if let Some(peer) = Peer::node() {
        peer_client_against_this_server(peer, Some(DeflateConfig::default())).await;
    }
}

async fn peer_client_against_this_server(peer: Peer, deflate: Option<DeflateConfig>) {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut options = ServerOptions::new().protocols(["chat"]);
        if let Some(config) = deflate {
            options = options.deflate(config);
        }
        let ws = accept_with(tcp, Config::default(), options).await.unwrap();
        assert_eq!(ws.protocol().deflate().is_some(), deflate.is_some());
        echo(ws).await
    });
    let output = timeout(
        Duration::from_secs(40),
        peer.command(&["client", &url]).output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    if let Peer::Python(_) = peer {
        // (`ws` offers no subprotocol here.)
        assert!(stdout.contains("protocol chat"), "{stdout}");
    }
    let extensions = match deflate {
        Some(_) => "extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover\n",
        None => "extensions None\n",
    };
    assert!(stdout.contains(extensions), "{stdout}");
    assert!(stdout.contains("OK echoes and pong"), "{stdout}");
    assert!(stdout.contains("OK closed 1000"), "{stdout}");
    let control = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(
        control.last(),
        Some(&Message::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: "done".into()
        })))
    );
}

#[tokio::test]
async fn this_client_against_a_python_websockets_server() {
    if let Some(peer) = Peer::python() {
        this_client_against(peer, None).await;
    }
}

/// `websockets` accepts with 12-bit windows both ways and context takeover: the client
/// compresses and inflates with what its answer says.
#[tokio::test]
async fn this_client_against_a_python_websockets_server_with_deflate() {
    if let Some(peer) = Peer::python() {
        let agreement = Agreement {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 12,
            client_max_window_bits: 12,
        };
        this_client_against(peer, Some(agreement)).await;
    }
}

/// Node's `ws` server accepts with context takeover and full windows, and compresses
/// every message.
#[tokio::test]
async fn this_client_against_a_node_ws_server_with_deflate() {
    if let Some(peer) = Peer::node() {
        this_client_against(peer, Some(Agreement::default())).await;
    }
}

/// Connects to `peer`'s server, offering permessage-deflate if an `agreement` is expected.
async fn this_client_against(peer: Peer, agreement: Option<Agreement>) {
    let deflate = agreement.is_some();
    let mut child = peer
        .command(&["server"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let tcp = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let mut request = ClientRequest::new(&format!("ws://127.0.0.1:{port}/")).unwrap();
    if deflate {
        request = request.deflate(DeflateConfig::client());
    }
    let (mut ws, response) = connect_with(tcp, request, Config::default()).await.unwrap();
    assert_eq!(response.deflate(), agreement.as_ref());
    let json = r#"{"user":"bo","text":"a JSON message, a JSON message"}"#.repeat(30);
    for message in [
        Message::Text("hello from rust".into()),
        Message::Binary(Bytes::from_static(b"\x00\x01\x02")),
        Message::Text("z".repeat(300_000)),
        Message::Text(json.clone()),
        Message::Binary(json.into()),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(
            timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap(),
            message
        );
    }
    ws.send(Message::Ping(Bytes::from_static(b"hi")))
        .await
        .unwrap();
    assert_eq!(
        timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"hi"))
    );
    let close = CloseFrame {
        code: CloseCode::GOING_AWAY,
        reason: "leaving".into(),
    };
    ws.close(Some(close), LIMIT).await.unwrap();
    assert_eq!(ws.protocol().state(), State::Closed);
    drop(child.stdin.take());
    let status = timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

/// Guards issue 14's first finding: `Codec`'s encoder moved the protocol's own output with
/// `BytesMut::unsplit`, which replaced `Framed`'s write buffer, empty after every flush, by
/// a piece of capacity 0, so every message after a flush allocated its buffer again. The
/// pongs in between take the path that has something to move.
#[tokio::test]
async fn framed_write_buffer_keeps_its_capacity_across_flushes() {
    let (ours, mut theirs) = tokio::io::duplex(1 << 20);
    let mut framed = Framed::new(ours, WebSocketCodec::from(WebSocket::server()));
    let initial = framed.write_buffer().capacity();
    assert!(initial >= 4096, "Framed starts with {initial} bytes");
    let mut expected = Vec::new();
    for i in 0..100 {
        if i % 10 == 0 {
            // A ping (empty, zero mask) and a one-byte text message, both masked.
            tokio::io::AsyncWriteExt::write_all(
                &mut theirs,
                &[0x89, 0x80, 0, 0, 0, 0, 0x81, 0x81, 0, 0, 0, 0, b'x'],
            )
            .await
            .unwrap();
            for want in [Message::Ping(Bytes::new()), Message::Text("x".into())] {
                let message = timeout(LIMIT, framed.next()).await.unwrap().unwrap();
                assert_eq!(message.unwrap(), want);
            }
            expected.extend_from_slice(&[0x8a, 0x00]);
        }
        framed.send(&b"hi"[..]).await.unwrap();
        expected.extend_from_slice(&[0x82, 0x02, b'h', b'i']);
        let capacity = framed.write_buffer().capacity();
        assert!(
            capacity >= initial / 2,
            "after send {i} the write buffer has {capacity} bytes of room (started with {initial})"
        );
    }
    drop(framed);
    let mut written = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut theirs, &mut written)
        .await
        .unwrap();
    assert_eq!(written, expected);
}
