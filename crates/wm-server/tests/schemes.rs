//! Every scheme and transport through real sockets on 127.0.0.1: listeners from a URL,
//! the registry, clients.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};
use wm_server::protocols::Custom;
use wm_server::{Client, ConfigError, Message, PeerAddr, Registry, SendError, Transport, Worker};

#[tokio::test]
async fn text_lines_are_echoed_in_order_and_pipelined() {
    let server = echo_server("text://127.0.0.1:0");
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    // Three lines in one write, the last split over two writes.
    stream.write_all(b"one\ntwo\r\nthr").await.unwrap();
    stream.write_all(b"ee\n").await.unwrap();
    assert_eq!(read_n(&mut stream, 14).await, b"one\ntwo\nthree\n");
    drop(stream);
    eventually("closed", || server.stats().open_connections == 0).await;
    let stats = server.stop();
    assert_eq!((stats.messages_received, stats.messages_sent), (3, 3));
    assert_eq!(stats.bytes_read, 15);
    assert_eq!(stats.bytes_written, 14);
}

#[tokio::test]
async fn frame_packets_are_echoed_byte_for_byte() {
    let server = echo_server("frame://127.0.0.1:0");
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    let mut wire = frame(b"hello");
    wire.extend_from_slice(&frame(b""));
    wire.extend_from_slice(&frame(&[0, 1, 2, 255]));
    stream.write_all(&wire).await.unwrap();
    assert_eq!(read_n(&mut stream, wire.len()).await, wire);
}

#[tokio::test]
async fn jsonnl_values_are_echoed_and_a_bad_line_does_not_end_the_stream() {
    let bad = Arc::new(AtomicUsize::new(0));
    let seen = bad.clone();
    let server = Worker::new("jsonnl://127.0.0.1:0")
        .unwrap()
        .on_message(move |connection, message| match message {
            Message::BadJson(_) => {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            other => drop(connection.send(other)),
        })
        .start()
        .unwrap();
    let stream = TcpStream::connect(addr(&server)).await.unwrap();
    let (read, mut write) = stream.into_split();
    write
        .write_all(b"{\"a\": [1, 2]}\nnot json\n\"s\"\n")
        .await
        .unwrap();
    let mut lines = BufReader::new(read).lines();
    let first = within("line", lines.next_line()).await.unwrap().unwrap();
    let second = within("line", lines.next_line()).await.unwrap().unwrap();
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("{\"a\":[1,2]}", "\"s\"")
    );
    assert_eq!(bad.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn websocket_echo_keeps_the_message_type_and_answers_pings() {
    let server = echo_server("websocket://127.0.0.1:0");
    let tcp = TcpStream::connect(addr(&server)).await.unwrap();
    let url = format!("ws://{}/chat", addr(&server));
    let (mut ws, _) = within("handshake", wm_websocket::connect(tcp, &url))
        .await
        .unwrap();
    ws.send(wm_websocket::Message::Text("hé".into()))
        .await
        .unwrap();
    ws.send(wm_websocket::Message::Binary(Bytes::from_static(&[0, 255])))
        .await
        .unwrap();
    ws.send(wm_websocket::Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(within("message", ws.next()).await.unwrap().unwrap());
    }
    // The echoes keep their order. The pong is the protocol's own answer, written as soon
    // as it is queued (RFC 6455 §5.5.3: "as soon as is practical"): when the three frames
    // arrive in one read it can overtake the echoes of the frames before its ping.
    let pong = wm_websocket::Message::Pong(Bytes::from_static(b"p"));
    assert!(got.contains(&pong), "{got:?}");
    got.retain(|message| *message != pong);
    assert_eq!(
        got,
        [
            wm_websocket::Message::Text("hé".into()),
            wm_websocket::Message::Binary(Bytes::from_static(&[0, 255])),
        ]
    );
    ws.close(None, WAIT).await.unwrap();
    eventually("closed", || server.stats().open_connections == 0).await;
}

#[tokio::test]
async fn http_requests_are_answered_in_order_and_close_is_honoured() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            if let Message::Request(request) = message {
                let _ =
                    connection.send(format!("{} {}", request.method().as_str(), request.path()));
            }
        })
        .start()
        .unwrap();
    let text = exchange(
        &server,
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )
    .await;
    let bodies: Vec<&str> = text
        .split("HTTP/1.1 200 OK\r\n")
        .skip(1)
        .map(|response| response.split("\r\n\r\n").nth(1).unwrap())
        .collect();
    assert_eq!(bodies, ["GET /a", "POST /b", "GET /c"]);
    // The last request asked to close: its response says so, and the server closed.
    let last = text.rsplit("HTTP/1.1 200 OK\r\n").next().unwrap();
    assert!(last.contains("Connection: close\r\n"), "{text}");
}

#[tokio::test]
async fn a_bad_http_request_gets_its_status_and_the_connection_closes() {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_error(move |_, error| seen.lock().unwrap().push(error.to_string()))
        .start()
        .unwrap();
    let text = exchange(
        &server,
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    eventually("on_error", || errors.lock().unwrap().len() == 1).await;
    assert_eq!(server.stop().protocol_errors, 1);
}

#[tokio::test]
async fn raw_tcp_echoes_bytes_as_they_come() {
    let server = echo_server("tcp://127.0.0.1:0");
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(b"\x00raw\xff").await.unwrap();
    assert_eq!(read_n(&mut stream, 5).await, b"\x00raw\xff");
}

#[tokio::test]
async fn udp_datagrams_are_answered_and_closing_a_peer_keeps_the_listener() {
    let server = Worker::new("udp://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            let _ = connection.send(message);
            // Workerman 5.1.5+ closed the listening socket here; this must not.
            connection.close();
        })
        .start()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(addr(&server)).await.unwrap();
    let mut buf = [0; 64];
    for datagram in [&b"first"[..], b"second"] {
        socket.send(datagram).await.unwrap();
        let n = within("datagram", socket.recv(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], datagram);
    }
    let stats = server.stop();
    assert_eq!((stats.messages_received, stats.messages_sent), (2, 2));
    assert_eq!(stats.connections, 0, "UDP peers are not connections");
}

#[tokio::test]
async fn text_over_udp_decodes_each_datagram() {
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .transport(Transport::Udp)
        .unwrap()
        .on_message(|connection, message| {
            if let Message::Text(line) = message {
                let _ = connection.send(line.to_uppercase());
            }
        })
        .start()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(addr(&server)).await.unwrap();
    socket.send(b"a\nb\n").await.unwrap();
    let mut buf = [0; 64];
    let mut got = Vec::new();
    for _ in 0..2 {
        let n = within("datagram", socket.recv(&mut buf)).await.unwrap();
        got.push(buf[..n].to_vec());
    }
    assert_eq!(got, [b"A\n".to_vec(), b"B\n".to_vec()]);
}

#[cfg(unix)]
#[tokio::test]
async fn unix_sockets_carry_raw_bytes_and_protocols() {
    let dir = std::env::temp_dir();
    let raw = dir.join(format!("wm-test-raw-{}.sock", std::process::id()));
    let text = dir.join(format!("wm-test-text-{}.sock", std::process::id()));
    let raw_server = echo_server(&format!("unix://{}", raw.display()));
    let text_server = echo_server(&format!("text://{}", text.display()));
    assert_eq!(
        raw_server.local_addr(),
        Some(&PeerAddr::Unix(Some(raw.clone())))
    );

    let mut stream = tokio::net::UnixStream::connect(&raw).await.unwrap();
    stream.write_all(b"bytes").await.unwrap();
    assert_eq!(read_n(&mut stream, 5).await, b"bytes");
    let mut stream = tokio::net::UnixStream::connect(&text).await.unwrap();
    stream.write_all(b"line\n").await.unwrap();
    assert_eq!(read_n(&mut stream, 5).await, b"line\n");
    drop(stream);
    raw_server.stop();
    text_server.stop();
    assert!(
        !raw.exists() && !text.exists(),
        "socket files are removed on stop"
    );
}

#[test]
fn schemes_are_checked_when_the_worker_is_built() {
    type Expected = fn(&ConfigError) -> bool;
    let cases: Vec<(&str, Expected)> = vec![
        (
            "gopher://127.0.0.1:1",
            |e| matches!(e, ConfigError::UnknownScheme(s) if s == "gopher"),
        ),
        ("ws://127.0.0.1:1", |e| {
            matches!(e, ConfigError::WrongSide { .. })
        }),
        ("127.0.0.1:1", |e| {
            matches!(e, ConfigError::InvalidUrl { .. })
        }),
        ("text://127.0.0.1", |e| {
            matches!(e, ConfigError::InvalidUrl { .. })
        }),
        ("tcp:///tmp/x.sock", |e| {
            matches!(e, ConfigError::InvalidUrl { .. })
        }),
        ("unix://127.0.0.1:1", |e| {
            matches!(e, ConfigError::InvalidUrl { .. })
        }),
    ];
    for (url, expected) in cases {
        let error = Worker::new(url).unwrap_err();
        assert!(expected(&error), "{url}: {error}");
    }
    // Case-insensitive, as Workerman's JsonNL://.
    assert!(Worker::new("JsonNL://127.0.0.1:1").is_ok());
    assert!(Worker::new("WebSocket://127.0.0.1:1").is_ok());
    let error = Worker::new("websocket://127.0.0.1:1")
        .unwrap()
        .transport(Transport::Udp)
        .unwrap_err();
    assert!(
        matches!(error, ConfigError::UnsupportedTransport { .. }),
        "{error}"
    );
}

#[test]
fn a_port_in_use_is_a_bind_error() {
    let first = echo_server("text://127.0.0.1:0");
    let error = Worker::new(&format!("text://{}", addr(&first)))
        .unwrap()
        .reuse_port(false)
        .start()
        .unwrap_err();
    assert!(matches!(error, ConfigError::Bind { .. }), "{error}");
}

#[test]
fn sends_the_scheme_cannot_encode_are_refused_not_panics() {
    let result = Arc::new(Mutex::new(None));
    let seen = result.clone();
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_message(move |connection, _| {
            let refused = connection.send(wm_http::Response::new(200));
            let line_break = connection.send("two\nlines");
            *seen.lock().unwrap() = Some((refused, line_break));
        })
        .start()
        .unwrap();
    let mut stream = std::net::TcpStream::connect(addr(&server)).unwrap();
    std::io::Write::write_all(&mut stream, b"go\n").unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while result.lock().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let (refused, line_break) = result.lock().unwrap().take().unwrap();
    assert!(matches!(
        refused,
        Err(SendError::Unsupported {
            scheme: "text",
            kind: "response"
        })
    ));
    assert!(
        matches!(line_break, Err(SendError::Encode(_))),
        "{line_break:?}"
    );
    assert_eq!(server.stop().send_failures, 2);
}

/// A 2-byte length prefix: a protocol of the application's own.
#[derive(Default)]
struct Short;

impl wm_protocol::Protocol for Short {
    type Message = Message;
    type Error = wm_protocol::Error;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Self::Error> {
        if src.len() < 2 {
            return Ok(None);
        }
        let length = u16::from_be_bytes([src[0], src[1]]) as usize;
        if src.len() < 2 + length {
            return Ok(None);
        }
        Ok(Some(Message::Binary(
            src.split_to(2 + length).split_off(2).freeze(),
        )))
    }
}

impl wm_protocol::Encode<Message> for Short {
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let data = message.as_bytes().unwrap_or_default();
        let length = u16::try_from(data.len()).map_err(wm_protocol::Error::malformed)?;
        dst.extend_from_slice(&length.to_be_bytes());
        dst.extend_from_slice(data);
        Ok(())
    }
}

#[tokio::test]
async fn a_registered_protocol_serves_like_a_built_in_one() {
    let mut registry = Registry::new();
    registry.register("short", |_| Box::new(Custom::new("short", Short)));
    let server = Worker::with_registry("Short://127.0.0.1:0", &registry)
        .unwrap()
        .on_message(common::echo)
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(b"\x00\x03abc\x00\x00").await.unwrap();
    assert_eq!(read_n(&mut stream, 7).await, b"\x00\x03abc\x00\x00");
    assert!(matches!(
        Worker::new("short://127.0.0.1:0"),
        Err(ConfigError::UnknownScheme(_))
    ));
}

#[tokio::test]
async fn connections_are_listed_and_broadcast_reaches_them_all() {
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            if let Message::Text(line) = message {
                connection.endpoint().broadcast(line);
            }
        })
        .start()
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    eventually("three connections", || {
        server.endpoint().connection_count() == 3
    })
    .await;
    clients[1].write_all(b"to all\n").await.unwrap();
    for client in &mut clients {
        assert_eq!(read_n(client, 7).await, b"to all\n");
    }
    let ids: Vec<u64> = server
        .endpoint()
        .connections()
        .iter()
        .map(|c| c.id())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids
        .iter()
        .all(|&id| server.endpoint().connection(id).is_some()));
}

#[tokio::test]
async fn count_threads_with_reuse_port_serve_every_connection() {
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .count(2)
        .on_message(common::echo)
        .start()
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let address = addr(&server);
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            let line = format!("client {i}\n");
            stream.write_all(line.as_bytes()).await.unwrap();
            assert_eq!(read_n(&mut stream, line.len()).await, line.as_bytes());
        }));
    }
    for task in tasks {
        within("client", task).await.unwrap();
    }
    eventually("all closed", || server.stats().open_connections == 0).await;
    assert_eq!(server.stop().messages_received, 40);
}

#[tokio::test]
async fn clients_speak_ws_text_frame_and_jsonnl_to_the_servers() {
    for (server_url, client_scheme, message) in [
        (
            "websocket://127.0.0.1:0",
            "ws",
            Message::Text("over ws".into()),
        ),
        (
            "text://127.0.0.1:0",
            "text",
            Message::Text("over text".into()),
        ),
        (
            "frame://127.0.0.1:0",
            "frame",
            Message::Binary(Bytes::from_static(b"\x00frame")),
        ),
        (
            "jsonnl://127.0.0.1:0",
            "jsonnl",
            Message::from(serde_json::json!({"k": [1]})),
        ),
    ] {
        let server = echo_server(server_url);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let expected = format!("{message:?}");
        let outgoing = Mutex::new(Some(message));
        let client = Client::new(&format!("{client_scheme}://{}/path", addr(&server)))
            .unwrap()
            .on_connect(move |connection| {
                let _ = connection.send(outgoing.lock().unwrap().take().unwrap());
            })
            .on_message(move |_, message| drop(tx.send(format!("{message:?}"))))
            .start();
        let echoed = within("echo", rx.recv()).await.unwrap();
        assert_eq!(echoed, expected, "{client_scheme}");
        within("stop", client.stop()).await;
        eventually("server side closed", || {
            server.stats().open_connections == 0
        })
        .await;
    }
}

#[tokio::test]
async fn a_client_that_cannot_connect_hears_on_error_then_on_close() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let (e1, e2) = (events.clone(), events.clone());
    let client = Client::new(&format!("text://{free}"))
        .unwrap()
        .on_error(move |_, error| e1.lock().unwrap().push(format!("error: {error}")))
        .on_close(move |_| e2.lock().unwrap().push("close".to_owned()))
        .start();
    within("client end", client.join()).await;
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("error: connect failed"), "{events:?}");
    assert_eq!(events[1], "close");
}

#[tokio::test]
async fn a_reconnecting_client_connects_once_the_server_is_up() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let connects = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let (c, f) = (connects.clone(), failures.clone());
    let client = Client::new(&format!("text://{free}"))
        .unwrap()
        .reconnect(Some(Duration::from_millis(20)))
        .on_connect(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .on_error(move |_, _| {
            f.fetch_add(1, Ordering::SeqCst);
        })
        .start();
    eventually("a failed attempt", || failures.load(Ordering::SeqCst) > 0).await;
    let server = Worker::new(&format!("text://{free}"))
        .unwrap()
        .on_message(common::echo)
        .start()
        .unwrap();
    eventually("connected", || connects.load(Ordering::SeqCst) == 1).await;
    // The server goes away: the client reconnects when it is back.
    drop(server);
    let server = echo_server(&format!("text://{free}"));
    eventually("reconnected", || connects.load(Ordering::SeqCst) == 2).await;
    within("stop", client.stop()).await;
    drop(server);
}

#[tokio::test]
async fn on_open_hands_over_the_websocket_upgrade_request_once() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .on_open(move |connection, opening| {
            // Sent from on_open: it must follow the 101 on the wire (the client would fail
            // the handshake otherwise).
            let _ = connection.send("welcome");
            if let wm_server::protocols::Opening::WebSocketRequest(request) = opening {
                log.lock().unwrap().push(format!(
                    "{} {:?} {:?}",
                    request.path(),
                    request.query(),
                    request.header("x-token")
                ));
            }
        })
        .on_message(common::echo)
        .start()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = Client::new(&format!("ws://{}/room/7?user=ann", addr(&server)))
        .unwrap()
        .header("X-Token", "secret")
        .on_open(move |connection, opening| {
            assert!(matches!(
                opening,
                wm_server::protocols::Opening::WebSocketResponse(_)
            ));
            let _ = connection.send("after the 101");
        })
        .on_message(move |_, message| drop(tx.send(message)))
        .start();
    let welcome = within("welcome", rx.recv()).await.unwrap();
    assert_eq!(welcome.as_text(), Some("welcome"));
    let echoed = within("echo", rx.recv()).await.unwrap();
    assert_eq!(echoed.as_text(), Some("after the 101"));
    assert_eq!(
        *seen.lock().unwrap(),
        ["/room/7 Some(\"user=ann\") Some(\"secret\")"]
    );
    within("stop", client.stop()).await;
}

#[tokio::test]
async fn a_response_to_a_request_that_expected_100_continue_follows_the_100() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, _| drop(connection.send("done")))
        .start()
        .unwrap();
    // Head and body in one write: the body is decoded in the same read as the head.
    let text = exchange(&server, b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi").await;
    assert!(
        text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{text}"
    );
}

#[tokio::test]
async fn stopping_a_reconnecting_client_does_not_wait_out_its_delay() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let failures = Arc::new(AtomicUsize::new(0));
    let f = failures.clone();
    let client = Client::new(&format!("text://{free}"))
        .unwrap()
        .reconnect(Some(Duration::from_secs(60)))
        .on_error(move |_, _| {
            f.fetch_add(1, Ordering::SeqCst);
        })
        .start();
    eventually("a failed attempt", || failures.load(Ordering::SeqCst) > 0).await;
    let started = std::time::Instant::now();
    within("stop", client.stop()).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn options_that_cannot_work_are_refused_when_the_worker_starts() {
    use wm_server::ConnectionOptions;
    for options in [
        ConnectionOptions::default().send_watermarks(10, 20),
        ConnectionOptions::default().send_watermarks(0, 0),
        ConnectionOptions::default().idle_timeout(Some(Duration::MAX)),
        ConnectionOptions::default().close_timeout(Duration::from_secs(400 * 24 * 3600)),
    ] {
        let error = Worker::new("text://127.0.0.1:0")
            .unwrap()
            .options(options)
            .start()
            .unwrap_err();
        assert!(matches!(error, ConfigError::InvalidOption(_)), "{error}");
    }
}
