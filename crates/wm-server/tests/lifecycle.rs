//! A connection's life through real sockets: backpressure, limits, timeouts, a graceful
//! stop, a panicking handler.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wm_server::{
    Connection, ConnectionError, ConnectionOptions, Handler, Message, SendError, Status,
    TimeoutKind, Worker,
};
use wm_websocket::close::CloseFrame;
use wm_websocket::CloseCode;

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Sends numbered 16 KiB frames on request; stops when the buffer is full and goes on
/// when it drains, as Workerman's `pipe()` does. Every frame sent is accepted whole, so
/// nothing may be lost.
struct Producer {
    total: usize,
    next: AtomicUsize,
    log: Log,
}

const CHUNK: usize = 16 * 1024;

impl Producer {
    fn produce(&self, connection: &Connection) {
        loop {
            let n = self.next.load(Ordering::SeqCst);
            if n == self.total {
                return;
            }
            let mut payload = vec![b'.'; CHUNK];
            payload[..8].copy_from_slice(&(n as u64).to_be_bytes());
            match connection.send(Bytes::from(payload)) {
                Ok(_) => {
                    self.next.fetch_add(1, Ordering::SeqCst);
                }
                Err(SendError::BufferFull { .. }) => {
                    self.log.lock().unwrap().push(format!("refused at {n}"));
                    return;
                }
                Err(other) => panic!("{other}"),
            }
        }
    }
}

impl Handler for Producer {
    fn on_message(&self, connection: &Connection, _: Message) {
        self.produce(connection);
    }

    fn on_buffer_full(&self, connection: &Connection) {
        let n = self.next.load(Ordering::SeqCst);
        self.log.lock().unwrap().push(format!("full after {n}"));
        // Backpressure the other way too: read nothing more from this peer.
        connection.pause_recv();
    }

    fn on_buffer_drain(&self, connection: &Connection) {
        self.log.lock().unwrap().push("drain".to_owned());
        connection.resume_recv();
        self.produce(connection);
    }
}

#[tokio::test]
async fn a_slow_reader_gets_buffer_full_then_drain_and_nothing_is_lost() {
    let log = log();
    let total = 200; // 3.2 MiB through a 256 KiB buffer
    let server = Worker::new("frame://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().send_watermarks(256 * 1024, 64 * 1024))
        .handler(Producer {
            total,
            next: AtomicUsize::new(0),
            log: log.clone(),
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(&frame(b"go")).await.unwrap();
    // Read nothing until the server's buffer filled up.
    eventually("buffer full", || {
        entries(&log).iter().any(|e| e.starts_with("full"))
    })
    .await;
    let mut expected = 0u64;
    while expected < total as u64 {
        let wire = read_n(&mut stream, CHUNK + 4).await;
        assert_eq!(&wire[..4], &((CHUNK + 4) as u32).to_be_bytes());
        assert_eq!(
            &wire[4..12],
            &expected.to_be_bytes(),
            "frames in order, none lost"
        );
        expected += 1;
        if expected % 16 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let events = entries(&log);
    let fulls = events.iter().filter(|e| e.starts_with("full")).count();
    let drains = events.iter().filter(|e| *e == "drain").count();
    assert!(fulls >= 1, "{events:?}");
    assert!(drains >= fulls - 1 && drains <= fulls, "{events:?}");
    // Each refusal came after a full, and the producer resumed on the next drain.
    assert!(
        events.iter().any(|e| e.starts_with("refused")),
        "{events:?}"
    );
    let stats = server.stop();
    assert_eq!(stats.messages_sent, total as u64);
    assert!(stats.send_failures >= 1);
}

#[tokio::test]
async fn pause_recv_holds_messages_until_resume_and_keeps_their_order() {
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            let Message::Text(line) = message else { return };
            if line == "pause" {
                connection.pause_recv();
                let connection = connection.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = connection.send("resumed");
                    connection.resume_recv();
                });
            } else {
                let _ = connection.send(line);
            }
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    // "a" and "b" arrive in the same read as "pause": they wait for the resume.
    stream.write_all(b"pause\na\nb\n").await.unwrap();
    assert_eq!(read_n(&mut stream, 12).await, b"resumed\na\nb\n");
}

/// A listener that logs each text or binary message it hands out and echoes it, except
/// `close`, on which it closes the connection.
fn echo_until_close(url: &str, seen: &Log) -> wm_server::WorkerHandle {
    let handled = seen.clone();
    Worker::new(url)
        .unwrap()
        .on_message(move |connection, message| {
            let text = match &message {
                Message::Text(text) => text.clone(),
                Message::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => return,
            };
            handled.lock().unwrap().push(text.clone());
            if text == "close" {
                connection.close();
            } else {
                let _ = connection.send(message);
            }
        })
        .start()
        .unwrap()
}

/// Text and frame connections decode without the connection's lock while nothing can stop
/// the next message: a close or a pause from inside a callback must still stop the
/// messages behind it in the same read.
#[tokio::test]
async fn a_close_or_pause_in_a_callback_stops_the_messages_behind_it_in_the_same_read() {
    for (url, wire) in [
        ("text://127.0.0.1:0", b"a\nclose\nb\nc\n".to_vec()),
        (
            "frame://127.0.0.1:0",
            [frame(b"a"), frame(b"close"), frame(b"b"), frame(b"c")].concat(),
        ),
    ] {
        let seen = log();
        let server = echo_until_close(url, &seen);
        let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
        stream.write_all(&wire).await.unwrap();
        let echoed = read_to_end(&mut stream).await;
        let expected = if url.starts_with("text") {
            b"a\n".to_vec()
        } else {
            frame(b"a")
        };
        assert_eq!(echoed, expected, "{url}");
        assert_eq!(entries(&seen), ["a", "close"], "{url}");
        server.stop();
    }
    // A WebSocket decodes its small frames without the lock too: the same holds, with a
    // ping (decoded under the lock) among them.
    let seen = log();
    let server = echo_until_close("websocket://127.0.0.1:0", &seen);
    let mut stream = ws_by_hand(addr(&server)).await;
    // Masked with a zero key: the payload goes as it is.
    let masked = |b0: u8, payload: &[u8]| {
        [&[b0, 0x80 | payload.len() as u8, 0, 0, 0, 0][..], payload].concat()
    };
    let wire = [
        masked(0x81, b"a"),
        masked(0x89, b""),
        masked(0x81, b"close"),
        masked(0x81, b"b"),
    ]
    .concat();
    stream.write_all(&wire).await.unwrap();
    // The echo of "a", the pong, then the close (1000): nothing for "b".
    assert_eq!(
        read_n(&mut stream, 9).await,
        [0x81, 1, b'a', 0x8a, 0, 0x88, 2, 0x03, 0xe8]
    );
    assert_eq!(entries(&seen), ["a", "close"]);
    stream
        .write_all(&masked(0x88, &[0x03, 0xe8]))
        .await
        .unwrap();
    assert_eq!(read_to_end(&mut stream).await, b"");
    server.stop();

    // A pause from the callback, and a resume from elsewhere: the lines behind it wait.
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            let Message::Text(line) = message else { return };
            let _ = connection.send(line.as_str());
            if line == "pause" {
                connection.pause_recv();
                let connection = connection.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(100));
                    let _ = connection.send("resumed");
                    connection.resume_recv();
                });
            }
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(b"pause\nx\ny\n").await.unwrap();
    assert_eq!(read_n(&mut stream, 18).await, b"pause\nresumed\nx\ny\n");
}

#[tokio::test]
async fn an_oversized_text_line_closes_the_connection_with_a_protocol_error() {
    let errors = log();
    let seen = errors.clone();
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().max_package_size(1024))
        .on_message(common::echo)
        .on_error(move |_, error| seen.lock().unwrap().push(error.to_string()))
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(b"short\n").await.unwrap();
    stream.write_all(&[b'x'; 2048]).await.unwrap();
    // The short line is answered; then the connection closes, without the line buffered.
    // (Workerman's text rule: a line, its newline included, is under the package size.)
    assert_eq!(read_to_end(&mut stream).await, b"short\n");
    eventually("on_error", || !entries(&errors).is_empty()).await;
    assert!(
        entries(&errors)[0].contains("longer than the limit of 1023"),
        "{:?}",
        entries(&errors)
    );
    assert_eq!(server.stop().protocol_errors, 1);
}

#[tokio::test]
async fn an_oversized_websocket_message_is_closed_with_1009() {
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().max_package_size(1000))
        .on_message(common::echo)
        .start()
        .unwrap();
    let mut ws = ws_client(&server).await;
    ws.send(wm_websocket::Message::Binary(vec![0; 2000].into()))
        .await
        .unwrap();
    let close = within("close", ws.next()).await.unwrap().unwrap();
    assert!(
        matches!(&close, wm_websocket::Message::Close(Some(frame)) if frame.code == CloseCode::MESSAGE_TOO_BIG),
        "{close:?}"
    );
}

#[tokio::test]
async fn an_oversized_http_body_gets_413_before_it_is_read() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().max_package_size(1000))
        .start()
        .unwrap();
    let text = exchange(
        &server,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
}

#[tokio::test]
async fn a_slowloris_http_client_is_cut_off_at_the_header_timeout() {
    let errors = log();
    let seen = errors.clone();
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().header_timeout(Some(Duration::from_millis(300))))
        .on_message(|connection, _| drop(connection.send("ok")))
        .on_error(move |_, error| seen.lock().unwrap().push(error.to_string()))
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    // A whole request first: the timeout is per head, not per connection.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0; 64];
    let n = within("answer", stream.read(&mut answer)).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK"));
    let started = std::time::Instant::now();
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break;
        }
    }
    read_to_end(&mut stream).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(entries(&errors), ["header read timeout"]);
    assert_eq!(server.stop().timeouts, 1);
}

#[tokio::test]
async fn a_websocket_handshake_that_never_comes_times_out() {
    let errors = log();
    let seen = errors.clone();
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().handshake_timeout(Some(Duration::from_millis(200))))
        .on_error(move |_, error| {
            if let ConnectionError::Timeout(kind) = error {
                seen.lock().unwrap().push(format!("{kind:?}"));
            }
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    assert!(read_to_end(&mut stream).await.is_empty());
    assert_eq!(entries(&errors), [format!("{:?}", TimeoutKind::Handshake)]);
}

#[tokio::test]
async fn an_idle_websocket_gets_a_close_frame() {
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().idle_timeout(Some(Duration::from_millis(300))))
        .on_message(common::echo)
        .start()
        .unwrap();
    let mut ws = ws_client(&server).await;
    // Activity keeps it open past the timeout.
    for i in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ws.send(wm_websocket::Message::Text(i.to_string()))
            .await
            .unwrap();
        assert!(within("echo", ws.next()).await.unwrap().is_ok());
    }
    let close = within("close", ws.next()).await.unwrap().unwrap();
    assert!(
        matches!(&close, wm_websocket::Message::Close(Some(CloseFrame { code, .. })) if *code == CloseCode::NORMAL),
        "{close:?}"
    );
    assert_eq!(server.stop().timeouts, 1);
}

#[tokio::test]
async fn stop_delivers_what_was_queued_then_closes_each_protocol_its_way() {
    let ws_server = echo_server("websocket://127.0.0.1:0");
    let text_server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_connect(|connection| {
            // 1 MiB queued before the stop: all of it must arrive.
            for _ in 0..64 {
                let _ = connection.send("x".repeat(16 * 1024 - 1));
            }
        })
        .start()
        .unwrap();
    let mut ws = ws_client(&ws_server).await;
    ws.send(wm_websocket::Message::Text("before".into()))
        .await
        .unwrap();
    assert!(within("echo", ws.next()).await.unwrap().is_ok());
    let mut text = TcpStream::connect(addr(&text_server)).await.unwrap();
    eventually("text connected", || {
        text_server.endpoint().connection_count() == 1
    })
    .await;

    let stopping = std::thread::spawn(move || (ws_server.stop(), text_server.stop()));
    let close = within("close", ws.next()).await.unwrap().unwrap();
    assert!(
        matches!(&close, wm_websocket::Message::Close(Some(CloseFrame { code, .. })) if *code == CloseCode::GOING_AWAY),
        "{close:?}"
    );
    assert!(
        within("end", ws.next()).await.is_none(),
        "the server closes after the echo"
    );
    assert_eq!(read_to_end(&mut text).await.len(), 64 * 16 * 1024);
    let (ws_stats, text_stats) = stopping.join().unwrap();
    assert_eq!(ws_stats.open_connections, 0);
    assert_eq!(text_stats.open_connections, 0);
}

#[tokio::test]
async fn stop_lets_an_http_request_in_hand_be_answered() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, _| {
            let connection = connection.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let _ = connection.send("late but delivered");
            });
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    eventually("request in hand", || server.stats().messages_received == 1).await;
    let stopping = std::thread::spawn(move || server.stop());
    let text = String::from_utf8(read_to_end(&mut stream).await).unwrap();
    assert!(text.ends_with("late but delivered"), "{text}");
    stopping.join().unwrap();
}

#[tokio::test]
async fn a_panicking_handler_closes_its_connection_only() {
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            if message.as_text() == Some("panic") {
                panic!("handler bug");
            }
            common::echo(connection, message);
        })
        .start()
        .unwrap();
    let mut bad = ws_client(&server).await;
    let mut good = ws_client(&server).await;
    bad.send(wm_websocket::Message::Text("panic".into()))
        .await
        .unwrap();
    let close = within("close", bad.next()).await.unwrap().unwrap();
    assert!(
        matches!(&close, wm_websocket::Message::Close(Some(CloseFrame { code, .. })) if *code == CloseCode::INTERNAL_ERROR),
        "{close:?}"
    );
    good.send(wm_websocket::Message::Text("still here".into()))
        .await
        .unwrap();
    assert_eq!(
        within("echo", good.next()).await.unwrap().unwrap(),
        wm_websocket::Message::Text("still here".into())
    );
    assert_eq!(server.stats().handler_panics, 1);
}

#[tokio::test]
async fn a_panicking_http_handler_answers_500() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(|_, _| panic!("handler bug"))
        .start()
        .unwrap();
    let text = exchange(&server, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(
        text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{text}"
    );
    assert!(text.contains("Connection: close\r\n"), "{text}");
}

#[tokio::test]
async fn close_sends_the_final_message_then_fin_and_abort_drops_everything() {
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| match message.as_text() {
            Some("bye") => {
                let _ = connection.send_and_close("goodbye");
                // Closing: further sends are refused.
                assert!(matches!(connection.send("late"), Err(SendError::Closed)));
                assert_eq!(connection.status(), Status::Closing);
            }
            Some("abort") => {
                let _ = connection.send("never sent");
                connection.abort();
            }
            _ => {}
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(b"bye\n").await.unwrap();
    assert_eq!(read_to_end(&mut stream).await, b"goodbye\n");
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream.write_all(b"abort\n").await.unwrap();
    let mut buf = Vec::new();
    // Aborted: nothing queued is written (the read ends, cleanly or with a reset).
    let _ = within("abort", stream.read_to_end(&mut buf)).await;
    assert!(buf.is_empty(), "{buf:?}");
    eventually("closed", || server.stats().open_connections == 0).await;
    assert_eq!(server.stop().handler_panics, 0);
}

#[tokio::test]
async fn on_connect_and_on_close_bracket_every_connection() {
    let events = log();
    let (a, b) = (events.clone(), events.clone());
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_connect(move |connection| {
            a.lock()
                .unwrap()
                .push(format!("connect {}", connection.id()))
        })
        .on_close(move |connection| {
            assert_eq!(connection.status(), Status::Closed);
            assert!(connection.endpoint().connection(connection.id()).is_none());
            b.lock().unwrap().push(format!("close {}", connection.id()));
        })
        .start()
        .unwrap();
    for _ in 0..3 {
        let stream = TcpStream::connect(addr(&server)).await.unwrap();
        eventually("accepted", || server.endpoint().connection_count() == 1).await;
        drop(stream);
        eventually("closed", || server.endpoint().connection_count() == 0).await;
    }
    let events = entries(&events);
    assert_eq!(events.len(), 6, "{events:?}");
    for pair in events.chunks(2) {
        assert_eq!(pair[0].replace("connect", "close"), pair[1]);
    }
}

#[tokio::test]
async fn closing_after_the_first_of_pipelined_requests_answers_it_and_closes_at_once() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            if let Message::Request(request) = message {
                let _ = connection.send(request.path().to_owned());
                connection.close();
            }
        })
        .start()
        .unwrap();
    let started = std::time::Instant::now();
    let text = exchange(
        &server,
        b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n",
    )
    .await;
    // Nothing is decoded ahead of the handler: the requests after the close are not read
    // (as in Workerman, whose send refuses while closing), and the close does not wait
    // for the close timeout.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(text.contains("\r\n\r\n/1"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert_eq!(server.stop().timeouts, 0);
}

#[tokio::test]
async fn a_peer_that_pipelines_and_never_reads_stops_being_read_at_the_high_watermark() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().send_watermarks(64 * 1024, 0))
        .on_message(|connection, _| drop(connection.send("x".repeat(16 * 1024))))
        .start()
        .unwrap();
    let stream = TcpStream::connect(addr(&server)).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let total: u64 = 2000;
    let writer = tokio::spawn(async move {
        for _ in 0..total {
            if write
                .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
                .await
                .is_err()
            {
                break;
            }
        }
        write
    });
    // Without reading: the server answers until its send buffer (and the kernel's) is
    // full, then stops reading; it does not hold 2000 answers of 16 KiB.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = server.stats().messages_received;
    assert!(
        received < total / 2,
        "{received} requests read while the peer read nothing"
    );
    let connection = server.endpoint().connections().pop().unwrap();
    assert!(connection.send_buffer_len() < 64 * 1024 + 16 * 1024 + 512);
    // Once the peer reads, every request is answered.
    let mut answered = 0;
    let mut buf = vec![0; 1 << 16];
    let mut pending = Vec::new();
    while answered < total {
        let n = within("answers", read.read(&mut buf)).await.unwrap();
        assert!(n > 0, "closed after {answered}");
        pending.extend_from_slice(&buf[..n]);
        answered += count_and_trim(&mut pending, b"HTTP/1.1 200 OK") as u64;
    }
    drop(within("writer", writer).await.unwrap());
}

/// Counts the complete occurrences of `needle` in `haystack` and keeps the bytes that may
/// hold the start of the next one.
fn count_and_trim(haystack: &mut Vec<u8>, needle: &[u8]) -> usize {
    let count = haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count();
    let keep = haystack.len().saturating_sub(needle.len() - 1);
    haystack.drain(..keep);
    count
}

#[tokio::test]
async fn a_client_that_half_closes_still_gets_the_answer_a_handler_sends_later() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, _| {
            let connection = connection.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                connection.send("worth the wait").unwrap();
            });
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    // FIN: nothing more from this client, but it reads on.
    stream.shutdown().await.unwrap();
    let text = String::from_utf8(read_to_end(&mut stream).await).unwrap();
    assert!(text.ends_with("worth the wait"), "{text}");
    assert_eq!(server.stop().timeouts, 0);
}

#[tokio::test]
async fn requests_held_back_by_a_pause_do_not_trip_the_header_timeout() {
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().header_timeout(Some(Duration::from_millis(200))))
        .on_message(|connection, message| {
            let Message::Request(request) = message else {
                return;
            };
            let _ = connection.send(request.path().to_owned());
            if request.path() == "/pause" {
                connection.pause_recv();
                let connection = connection.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    connection.resume_recv();
                });
            }
        })
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    // Eight requests in one write: the first pauses receiving for three header timeouts,
    // while the rest wait, some decoded and held, some still bytes in the read buffer.
    let mut wire = b"GET /pause HTTP/1.1\r\nHost: h\r\n\r\n".to_vec();
    for _ in 0..6 {
        wire.extend_from_slice(b"GET /more HTTP/1.1\r\nHost: h\r\n\r\n");
    }
    wire.extend_from_slice(b"GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    stream.write_all(&wire).await.unwrap();
    let text = String::from_utf8(read_to_end(&mut stream).await).unwrap();
    assert!(text.ends_with("/after"), "{text}");
    assert_eq!(server.stop().timeouts, 0);
}
