//! What peers nobody here wrote found in the server (issue 12): the Autobahn fuzzing
//! client, Workerman's own `ws://` client, foreign threads sending. Each test names what
//! it guards; each went red on the server before its fix.

mod common;

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use bytes::BytesMut;
use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use wm_server::protocols::{Custom, DecodeError, DynProtocol};
use wm_server::{
    CloseReason, Connection, ConnectionError, ConnectionOptions, Handler, Message, Registry,
    Transport, Worker,
};

const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

/// A client frame: `b0`, masked with `KEY`, length in its minimal form.
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut wire = vec![b0];
    match payload.len() {
        n @ 0..=125 => wire.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            wire.push(0x80 | 126);
            wire.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            wire.push(0x80 | 127);
            wire.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    wire.extend_from_slice(&KEY);
    wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    wire
}

async fn raw_ws(handle: &wm_server::WorkerHandle) -> TcpStream {
    ws_by_hand(addr(handle)).await
}

#[tokio::test]
async fn a_message_then_a_bad_frame_in_one_read_gets_its_echo_then_the_close() {
    let server = echo_server("websocket://127.0.0.1:0");
    // Text "hello", a frame with RSV2 set, a ping: whatever the reads, the echo of the
    // message goes out, then the close 1002, and nothing after the bad frame is answered.
    let wire = [
        masked(0x81, b"hello"),
        masked(0xa1, b"bad"),
        masked(0x89, b"ping"),
    ]
    .concat();
    let bad_at = masked(0x81, b"hello").len();
    for split in [
        None,
        Some(1),
        Some(bad_at - 1),
        Some(bad_at),
        Some(bad_at + 1),
    ] {
        let mut stream = raw_ws(&server).await;
        match split {
            None => stream.write_all(&wire).await.unwrap(),
            Some(at) => {
                stream.write_all(&wire[..at]).await.unwrap();
                stream.write_all(&wire[at..]).await.unwrap();
            }
        }
        let answer = read_to_end(&mut stream).await;
        assert_eq!(
            &answer[..7],
            b"\x81\x05hello",
            "split {split:?}: {answer:02x?}"
        );
        assert_eq!(answer[7], 0x88, "split {split:?}: {answer:02x?}");
        assert_eq!(
            &answer[9..11],
            b"\x03\xea",
            "split {split:?}: {answer:02x?}"
        );
        assert_eq!(
            answer.len(),
            9 + usize::from(answer[8]),
            "split {split:?}: {answer:02x?}"
        );
    }
}

#[tokio::test]
async fn ten_pings_in_one_read_get_ten_pongs() {
    // Autobahn 2.10: ten pings with payloads in one write.
    let server = echo_server("websocket://127.0.0.1:0");
    let mut stream = raw_ws(&server).await;
    let wire: Vec<u8> = (0..10u8).flat_map(|i| masked(0x89, &[i; 8])).collect();
    stream.write_all(&wire).await.unwrap();
    let pongs = read_n(&mut stream, 10 * 10).await;
    for (i, pong) in pongs.chunks(10).enumerate() {
        assert_eq!(pong, [&[0x8a, 8][..], &[i as u8; 8]].concat(), "pong {i}");
    }
}

#[tokio::test]
async fn a_peer_that_pings_and_never_reads_stops_being_read() {
    let high = 64 * 1024;
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().send_watermarks(high, 0))
        .on_message(echo)
        .start()
        .unwrap();
    let stream = raw_ws(&server).await;
    let (_read, mut write) = stream.into_split();
    let ping = masked(0x89, &[7; 125]);
    // 26 MB of pings, 25 MB of pongs owed: far more than the kernel's buffers hold.
    let total: u64 = 200_000;
    let writer = tokio::spawn(async move {
        let burst = ping.repeat(100);
        for _ in 0..total / 100 {
            if write.write_all(&burst).await.is_err() {
                break;
            }
        }
        write
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = server.stats().messages_received;
    assert!(
        received < total / 2,
        "{received} pings read while the peer read nothing"
    );
    let connection = server.endpoint().connections().pop().unwrap();
    // The watermark, one read's worth of pongs and the pong queue's cap, at most.
    let bound = high + 256 * 1024 + wm_websocket::MAX_QUEUED_PONGS;
    assert!(
        connection.send_buffer_len() <= bound,
        "{} bytes queued",
        connection.send_buffer_len()
    );
    writer.abort();
}

#[tokio::test]
async fn workermans_65535_byte_frame_with_a_64_bit_length_is_echoed() {
    // Workerman's ws:// client: `81 ff 00 00 00 00 00 00 ff ff`, a zero mask, the payload.
    let server = echo_server("websocket://127.0.0.1:0");
    let mut stream = raw_ws(&server).await;
    let payload = vec![b'w'; 65535];
    let mut wire = b"\x81\xff\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x00\x00".to_vec();
    wire.extend_from_slice(&payload);
    stream.write_all(&wire).await.unwrap();
    // The echo carries the minimal form.
    let answer = read_n(&mut stream, 4 + 65535).await;
    assert_eq!(&answer[..4], b"\x81\x7e\xff\xff");
    assert!(answer[4..] == payload[..]);
}

/// Where each callback of the connection under test ran.
#[derive(Default, Clone)]
struct Threads {
    seen: Arc<Mutex<Vec<(&'static str, ThreadId)>>>,
}

impl Handler for Threads {
    fn on_connect(&self, _: &Connection) {
        self.record("connect");
    }
    fn on_message(&self, _: &Connection, _: Message) {
        self.record("message");
    }
    fn on_error(&self, _: &Connection, error: &ConnectionError) {
        if matches!(error, ConnectionError::SendBufferFull { .. }) {
            self.record("error");
        }
    }
    fn on_buffer_full(&self, _: &Connection) {
        self.record("full");
    }
}

impl Threads {
    fn record(&self, what: &'static str) {
        self.seen
            .lock()
            .unwrap()
            .push((what, std::thread::current().id()));
    }
}

#[tokio::test]
async fn buffer_full_and_refused_sends_are_reported_on_the_connections_own_task() {
    let threads = Threads::default();
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .options(ConnectionOptions::default().send_watermarks(1024, 0))
        .handler(threads.clone())
        .start()
        .unwrap();
    // A peer that never reads; another thread fills its send buffer and goes on sending.
    let _stream = TcpStream::connect(addr(&server)).await.unwrap();
    eventually("connected", || server.endpoint().connection_count() == 1).await;
    let connection = server.endpoint().connections().pop().unwrap();
    // The driver writes what it can into the kernel's buffers as it goes, so the sends
    // are refused once those are full too: send 64 KiB lines until 3 are refused.
    let sender = std::thread::spawn(move || {
        let line = "x".repeat(64 * 1024);
        let mut refused = 0;
        for _ in 0..10_000 {
            if connection.send(line.as_str()).is_err() {
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
        }
        (refused, std::thread::current().id())
    });
    let (refused, sender_id) = sender.join().unwrap();
    assert_eq!(refused, 3);
    let count = |kind: &str| {
        let seen = threads.seen.lock().unwrap();
        seen.iter().filter(|(what, _)| *what == kind).count()
    };
    eventually("on_error for each refused send", || count("error") == 3).await;
    assert!(count("full") >= 1);
    let seen = threads.seen.lock().unwrap().clone();
    let (first, task) = seen[0];
    assert_eq!(first, "connect");
    for (what, id) in &seen {
        assert_ne!(*id, sender_id, "{what} ran on the sending thread");
        assert_eq!(*id, task, "{what} ran off the connection's task");
    }
}

/// A protocol of the application's own that panics on a datagram starting with `!`.
#[derive(Default)]
struct Fragile;

impl wm_protocol::Protocol for Fragile {
    type Message = Message;
    type Error = wm_protocol::Error;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Self::Error> {
        if src.is_empty() {
            return Ok(None);
        }
        assert!(src[0] != b'!', "a bug in the application's protocol");
        Ok(Some(Message::Binary(src.split().freeze())))
    }
}

impl wm_protocol::Encode<Message> for Fragile {
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), Self::Error> {
        dst.extend_from_slice(message.as_bytes().unwrap_or_default());
        Ok(())
    }
}

#[tokio::test]
async fn a_protocol_that_panics_on_a_datagram_fails_that_datagram_not_the_listener() {
    let mut registry = Registry::new();
    registry.register_datagram("fragile", |_| Box::new(Custom::new("fragile", Fragile)));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    let server = Worker::with_registry("fragile://127.0.0.1:0", &registry)
        .unwrap()
        .transport(Transport::Udp)
        .unwrap()
        .on_message(echo)
        .on_error(move |_, error| seen.lock().unwrap().push(error.to_string()))
        .start()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(addr(&server)).await.unwrap();
    let mut buf = [0; 64];
    for datagram in [&b"first"[..], b"!boom", b"after"] {
        socket.send(datagram).await.unwrap();
        if datagram[0] == b'!' {
            eventually("the error", || !errors.lock().unwrap().is_empty()).await;
            continue;
        }
        let n = within("datagram", socket.recv(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], datagram);
    }
    assert!(errors.lock().unwrap()[0].contains("panicked"), "{errors:?}");
    assert_eq!(server.stop().handler_panics, 1);
}

/// A protocol that waits for the peer when it closes, and panics on what it reads then.
#[derive(Default)]
struct PanicsWhileClosing {
    closing: bool,
}

impl DynProtocol for PanicsWhileClosing {
    fn scheme(&self) -> &'static str {
        "closing"
    }
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        assert!(!self.closing, "a bug in the application's protocol");
        Ok((!src.is_empty()).then(|| Message::Binary(src.split().freeze())))
    }
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        self.decode(src)
    }
    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), wm_server::SendError> {
        dst.extend_from_slice(message.as_bytes().unwrap_or_default());
        Ok(())
    }
    fn close(&mut self, _: &CloseReason, _: &mut BytesMut) -> bool {
        self.closing = true;
        true
    }
}

#[tokio::test]
async fn a_protocol_that_panics_while_closing_ends_only_its_connection() {
    let mut registry = Registry::new();
    registry.register("closing", |_| Box::new(PanicsWhileClosing::default()));
    let closed = Arc::new(Mutex::new(0));
    let count = closed.clone();
    let server = Worker::with_registry("closing://127.0.0.1:0", &registry)
        .unwrap()
        .options(ConnectionOptions::default().close_timeout(Duration::from_secs(3)))
        .on_message(|connection, message| {
            let _ = connection.send(message);
            connection.close();
        })
        .on_close(move |_| *count.lock().unwrap() += 1)
        .start()
        .unwrap();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
        stream.write_all(b"x").await.unwrap();
        assert_eq!(read_n(&mut stream, 1).await, b"x");
        // The server waits for us; what we send now is decoded on its close path.
        let started = std::time::Instant::now();
        stream.write_all(b"y").await.unwrap();
        assert_eq!(read_to_end(&mut stream).await, b"");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    eventually("on_close twice", || *closed.lock().unwrap() == 2).await;
    assert_eq!(server.stop().handler_panics, 2);
}

#[tokio::test]
async fn a_text_line_that_is_not_utf8_is_echoed_as_bytes_and_the_connection_stays_open() {
    // Workerman passes bytes through: a GBK or Latin-1 client must not be cut off. Split
    // at every position.
    let server = echo_server("text://127.0.0.1:0");
    let wire = b"ok\n\xc3(\nafter\n";
    for at in 0..=wire.len() {
        let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
        stream.write_all(&wire[..at]).await.unwrap();
        stream.write_all(&wire[at..]).await.unwrap();
        assert_eq!(read_n(&mut stream, wire.len()).await, wire, "split at {at}");
        stream.write_all(b"still open\n").await.unwrap();
        assert_eq!(read_n(&mut stream, 11).await, b"still open\n");
    }
    let stats = server.stop();
    assert_eq!(stats.protocol_errors, 0);
}
