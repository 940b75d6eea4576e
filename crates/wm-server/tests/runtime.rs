//! Workerman's runtime API through real sockets: per-connection data, addresses, worker
//! lifecycle hooks, timers.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wm_server::protocols::Opening;
use wm_server::{Connection, Message, Timer, TimerError, Worker, WorkerThread};

/// A value that says when it is dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Name(String);

async fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    within("a line", reader.read_line(&mut line)).await.unwrap();
    line.trim_end().to_owned()
}

async fn text_client(handle: &wm_server::WorkerHandle) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(addr(handle)).await.unwrap())
}

#[tokio::test]
async fn connection_data_is_per_connection_typed_and_dropped_after_on_close() {
    let dropped = Arc::new(AtomicBool::new(false));
    let kept: Arc<Mutex<Vec<Connection>>> = Arc::default();
    let seen_in_close: Arc<Mutex<Vec<String>>> = Arc::default();
    let (flag, keep, close_log) = (dropped.clone(), kept.clone(), seen_in_close.clone());
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_connect(move |connection| {
            connection.set_data(AtomicUsize::new(0));
            connection.set_data(Dropped(flag.clone()));
            // A handle kept past the close must not keep the data alive.
            keep.lock().unwrap().push(connection.clone());
        })
        .on_message(|connection, message| {
            let Message::Text(line) = message else { return };
            if let Some(name) = line.strip_prefix("name ") {
                let old = connection.set_data(Name(name.to_owned()));
                let _ = connection.send(format!("was {}", old.map_or("-".into(), |n| n.0.clone())));
                return;
            }
            if line == "forget" {
                let removed = connection.remove_data::<Name>().is_some();
                let _ = connection.send(format!("removed {removed}"));
                return;
            }
            let count = connection
                .data::<AtomicUsize>()
                .unwrap()
                .fetch_add(1, Ordering::SeqCst)
                + 1;
            let name = connection
                .data::<Name>()
                .map_or("?".to_owned(), |n| n.0.clone());
            let _ = connection.send(format!("{name} {count}"));
        })
        .on_close(move |connection| {
            let name = connection.data::<Name>().map(|n| n.0.clone());
            close_log.lock().unwrap().push(name.unwrap_or_default());
        })
        .start()
        .unwrap();

    let mut ann = text_client(&server).await;
    let mut bob = text_client(&server).await;
    ann.get_mut()
        .write_all(b"name ann\nhi\nhi\n")
        .await
        .unwrap();
    assert_eq!(line(&mut ann).await, "was -");
    assert_eq!(line(&mut ann).await, "ann 1");
    assert_eq!(line(&mut ann).await, "ann 2");
    bob.get_mut()
        .write_all(b"hi\nname bob\nname bo\nhi\n")
        .await
        .unwrap();
    assert_eq!(
        line(&mut bob).await,
        "? 1",
        "bob has his own counter and no name yet"
    );
    assert_eq!(line(&mut bob).await, "was -");
    assert_eq!(
        line(&mut bob).await,
        "was bob",
        "set_data returns what it replaced"
    );
    assert_eq!(line(&mut bob).await, "bo 2");
    bob.get_mut()
        .write_all(b"forget\nforget\nhi\n")
        .await
        .unwrap();
    assert_eq!(line(&mut bob).await, "removed true");
    assert_eq!(line(&mut bob).await, "removed false");
    assert_eq!(line(&mut bob).await, "? 3");

    assert!(!dropped.load(Ordering::SeqCst));
    drop(ann);
    eventually("ann's close", || seen_in_close.lock().unwrap().len() == 1).await;
    assert_eq!(
        seen_in_close.lock().unwrap()[0],
        "ann",
        "on_close still sees the data"
    );
    eventually("ann's data dropped", || dropped.load(Ordering::SeqCst)).await;
    let ann_handle = kept.lock().unwrap()[0].clone();
    // Set after the close (a task that kept a handle): dropped at once, never kept.
    let late = Arc::new(AtomicBool::new(false));
    assert!(ann_handle.set_data(Dropped(late.clone())).is_none());
    assert!(
        late.load(Ordering::SeqCst),
        "a value set after the close is dropped"
    );
    assert!(ann_handle.data::<Dropped>().is_none());
    assert!(
        ann_handle.data::<AtomicUsize>().is_none(),
        "emptied though a handle is kept"
    );
    assert!(
        kept.lock().unwrap()[1].data::<AtomicUsize>().is_some(),
        "bob's is untouched"
    );
    drop(bob);
    server.stop();
}

#[tokio::test]
async fn addresses_are_the_sockets_on_text_http_and_websocket() {
    // text://: the handler reports what the connection says about both ends.
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, _| {
            let _ = connection.send(format!(
                "{} {} {} {} {}",
                connection.remote_ip().unwrap(),
                connection.remote_port().unwrap(),
                connection.local_ip().unwrap(),
                connection.local_port().unwrap(),
                connection.peer_addr()
            ));
        })
        .start()
        .unwrap();
    let mut client = text_client(&server).await;
    let mine = client.get_ref().local_addr().unwrap();
    client.get_mut().write_all(b"where\n").await.unwrap();
    assert_eq!(
        line(&mut client).await,
        format!(
            "127.0.0.1 {} 127.0.0.1 {} {mine}",
            mine.port(),
            addr(&server).port()
        )
    );
    server.stop();

    // http://: the request carries REMOTE_ADDR itself.
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            let Message::Request(request) = message else {
                return;
            };
            let from = request.remote_addr().unwrap();
            assert_eq!(Some(from), connection.peer_addr().socket_addr());
            let _ = connection.send(from.to_string());
        })
        .start()
        .unwrap();
    let mut tcp = TcpStream::connect(addr(&server)).await.unwrap();
    let mine = tcp.local_addr().unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = String::from_utf8(read_to_end(&mut tcp).await).unwrap();
    assert!(answer.ends_with(&format!("\r\n\r\n{mine}")), "{answer}");
    server.stop();

    // websocket://: the upgrade request, in on_open.
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .on_open(|connection, opening| {
            if let Opening::WebSocketRequest(request) = opening {
                let _ = connection.send(request.remote_addr().unwrap().to_string());
            }
        })
        .on_message(echo)
        .start()
        .unwrap();
    let mut ws = ws_client(&server).await;
    let mine = ws.get_ref().local_addr().unwrap();
    let greeting = within("on_open's message", ws.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(greeting, wm_websocket::Message::Text(mine.to_string()));
    ws.send(wm_websocket::Message::Close(None)).await.unwrap();
    server.stop();
}

#[cfg(unix)]
#[tokio::test]
async fn a_unix_peer_has_no_ip_or_port() {
    let dir = std::env::temp_dir().join(format!("wm-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.sock");
    let server = Worker::new(&format!("unix://{}", path.display()))
        .unwrap()
        .on_message(|connection, _| {
            let answer = format!(
                "{:?} {:?} {:?}",
                connection.remote_ip(),
                connection.remote_port(),
                connection.local_port()
            );
            connection.send(answer.into_bytes()).unwrap();
        })
        .start()
        .unwrap();
    // unix:// is bare bytes: the answer has no newline of its own.
    let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
    stream.write_all(b"x").await.unwrap();
    let expected = "None None None";
    let answer = read_n(&mut stream, expected.len()).await;
    assert_eq!(String::from_utf8(answer).unwrap(), expected);
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn worker_hooks_run_once_per_thread_and_stop_runs_before_connections_close() {
    let started: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let stopped: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
    let ticks = Arc::new(AtomicUsize::new(0));
    let (start_log, stop_log, tick_count) = (started.clone(), stopped.clone(), ticks.clone());
    // The timers, and whether each was still active when the connection closed (after
    // every on_worker_stop, on a runtime still running).
    let timers: Arc<Mutex<Vec<Timer>>> = Arc::default();
    let active_at_close: Arc<Mutex<Vec<bool>>> = Arc::default();
    let (kept, seen_at_close, close_log) =
        (timers.clone(), timers.clone(), active_at_close.clone());
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .name("lifecycle")
        .count(3)
        .on_worker_start(move |thread| {
            start_log
                .lock()
                .unwrap()
                .push((thread.id(), thread.name().to_owned()));
            let current = WorkerThread::current().expect("the hook runs on its thread");
            assert_eq!(current.id(), thread.id());
            let ticks = tick_count.clone();
            let timer = Timer::add(Duration::from_millis(10), move || {
                ticks.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
            kept.lock().unwrap().push(timer);
        })
        .on_worker_stop(move |thread| {
            // The thread's timers end after the hook.
            stop_log
                .lock()
                .unwrap()
                .push((thread.id(), thread.timer_count()));
            // The connections are still open: a goodbye reaches them.
            thread
                .endpoint()
                .broadcast(format!("bye from {}", thread.id()));
        })
        .on_close(move |_| {
            let timers = seen_at_close.lock().unwrap();
            close_log
                .lock()
                .unwrap()
                .extend(timers.iter().map(Timer::is_active));
        })
        .on_message(echo)
        .start()
        .unwrap();
    eventually("three threads started", || {
        started.lock().unwrap().len() == 3
    })
    .await;
    let mut ids: Vec<_> = started.lock().unwrap().clone();
    ids.sort();
    assert_eq!(
        ids,
        (0..3)
            .map(|id| (id, "lifecycle".to_owned()))
            .collect::<Vec<_>>()
    );
    eventually("each thread's timer ticks", || {
        ticks.load(Ordering::SeqCst) >= 9
    })
    .await;

    let mut client = text_client(&server).await;
    client.get_mut().write_all(b"ping\n").await.unwrap();
    assert_eq!(line(&mut client).await, "ping");
    let stopping = tokio::task::spawn_blocking(move || server.stop());
    let mut goodbyes: Vec<String> = Vec::new();
    for _ in 0..3 {
        goodbyes.push(line(&mut client).await);
    }
    goodbyes.sort();
    assert_eq!(goodbyes, ["bye from 0", "bye from 1", "bye from 2"]);
    assert_eq!(line(&mut client).await, "", "then the connection closes");
    within("the stop", stopping).await.unwrap();
    let mut stops = stopped.lock().unwrap().clone();
    stops.sort();
    assert_eq!(stops, [(0, 1), (1, 1), (2, 1)]);
    assert_eq!(
        *active_at_close.lock().unwrap(),
        [false, false, false],
        "each thread's timer ended after its on_worker_stop, before the connections closed"
    );
    assert!(timers.lock().unwrap().iter().all(|t| !t.is_active()));
}

#[tokio::test]
async fn timers_repeat_run_once_delete_and_end_on_panic() {
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_message(|connection, message| {
            let Message::Text(line) = message else { return };
            let connection = connection.clone();
            match line.as_str() {
                "every" => {
                    // Three ticks, then the timer deletes itself.
                    let sent = Arc::new(AtomicUsize::new(0));
                    let me: Arc<Mutex<Option<Timer>>> = Arc::default();
                    let slot = me.clone();
                    let timer = Timer::add(Duration::from_millis(5), move || {
                        let n = sent.fetch_add(1, Ordering::SeqCst) + 1;
                        let _ = connection.send(format!("tick {n}"));
                        if n == 3 {
                            slot.lock().unwrap().as_ref().unwrap().del();
                        }
                    })
                    .unwrap();
                    *me.lock().unwrap() = Some(timer);
                }
                "once" => {
                    let timer = Timer::once(Duration::from_millis(5), move || {
                        let _ = connection.send("once");
                    })
                    .unwrap();
                    assert!(timer.is_active());
                }
                "panic" => {
                    let timer =
                        Timer::add(Duration::from_millis(1), || panic!("in a timer")).unwrap();
                    let checker = connection.clone();
                    Timer::once(Duration::from_millis(50), move || {
                        let _ = checker.send(format!("active {}", timer.is_active()));
                    })
                    .unwrap();
                }
                "errors" => {
                    let zero = Timer::add(Duration::ZERO, || {}).unwrap_err();
                    let long =
                        Timer::once(Duration::from_secs(400 * 24 * 3600), || {}).unwrap_err();
                    let _ = connection.send(format!("{zero:?} {long:?}"));
                }
                "all" => {
                    for _ in 0..4 {
                        Timer::add(Duration::from_secs(60), || {}).unwrap();
                    }
                    let _ = connection.send(format!("deleted {}", Timer::del_all()));
                }
                _ => {}
            }
        })
        .start()
        .unwrap();
    let mut client = text_client(&server).await;
    client.get_mut().write_all(b"every\n").await.unwrap();
    for n in 1..=3 {
        assert_eq!(line(&mut client).await, format!("tick {n}"));
    }
    client.get_mut().write_all(b"once\n").await.unwrap();
    assert_eq!(line(&mut client).await, "once", "no fourth tick came first");
    client.get_mut().write_all(b"panic\n").await.unwrap();
    assert_eq!(line(&mut client).await, "active false");
    assert_eq!(
        server.stats().handler_panics,
        1,
        "the panic is counted once"
    );
    client.get_mut().write_all(b"errors\n").await.unwrap();
    assert_eq!(line(&mut client).await, "ZeroInterval TooLong");
    client.get_mut().write_all(b"all\n").await.unwrap();
    assert_eq!(line(&mut client).await, "deleted 4");
    server.stop();
}

#[test]
fn a_timer_needs_a_runtime_and_runs_on_an_applications_own() {
    assert_eq!(
        Timer::once(Duration::from_millis(1), || {}).unwrap_err(),
        TimerError::NoRuntime
    );
    assert!(WorkerThread::current().is_none());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    runtime.block_on(async move {
        let timer = Timer::add(Duration::from_millis(2), move || {
            count.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        eventually("ticks on the application's runtime", || {
            ran.load(Ordering::SeqCst) >= 3
        })
        .await;
        timer.del();
        eventually("deleted", || !timer.is_active()).await;
        let now = ran.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(ran.load(Ordering::SeqCst), now);
        assert_eq!(Timer::del_all(), 0, "off a worker thread there is no list");
    });
}

/// A listener that logs its connections' errors.
fn errors_of(worker: Worker) -> (wm_server::WorkerHandle, Arc<Mutex<Vec<String>>>) {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let errors = log.clone();
    let handle = worker
        .on_error(move |_, error| errors.lock().unwrap().push(error.to_string()))
        .start()
        .unwrap();
    (handle, log)
}

#[tokio::test]
async fn a_websocket_heartbeat_keeps_a_ponging_client_and_closes_a_silent_one() {
    let interval = Duration::from_millis(40);
    let options = wm_server::ConnectionOptions::default()
        .heartbeat(wm_server::Heartbeat::new(interval).not_responding_limit(2));
    let (server, errors) = errors_of(
        Worker::new("websocket://127.0.0.1:0")
            .unwrap()
            .options(options)
            .on_message(echo),
    );

    // A client that reads (its stream answers every ping with a pong) stays, here
    // through 12 pings, while the silent peer below is given up on.
    let mut alive = ws_client(&server).await;
    alive
        .send(wm_websocket::Message::Text("still here".into()))
        .await
        .unwrap();
    let alive = tokio::spawn(async move {
        let (mut pings, mut echoed) = (0, false);
        while pings < 12 || !echoed {
            match within("a ping", alive.next()).await.unwrap().unwrap() {
                wm_websocket::Message::Ping(payload) => {
                    assert!(payload.is_empty());
                    pings += 1;
                }
                wm_websocket::Message::Text(text) if text == "still here" => echoed = true,
                other => panic!("unexpected {other:?} after {pings} pings"),
            }
        }
        alive
    });

    // A peer that shakes hands and then answers nothing: two pings, then, one interval
    // after the second without an answer, a close frame.
    let mut silent = ws_by_hand(addr(&server)).await;
    let started = std::time::Instant::now();
    let wire = read_n(&mut silent, 8).await;
    let waited = started.elapsed();
    drop(silent);
    assert_eq!(
        &wire[..4],
        [0x89, 0x00, 0x89, 0x00],
        "two pings first: {wire:02x?}"
    );
    assert_eq!(
        &wire[4..8],
        [0x88, 0x02, 0x03, 0xe8],
        "then close 1000: {wire:02x?}"
    );
    // Pings at one and two intervals, the close at three: about three intervals after
    // the accept, a little less after the 101 was read here.
    assert!(waited >= interval * 5 / 2, "closed after {waited:?}");
    assert!(
        errors
            .lock()
            .unwrap()
            .iter()
            .any(|e| e == "heartbeat timeout"),
        "{errors:?}"
    );
    let mut alive = within("12 pings", alive).await.unwrap();
    assert_eq!(server.stats().timeouts, 1, "only the silent peer timed out");
    alive
        .send(wm_websocket::Message::Close(None))
        .await
        .unwrap();
    server.stop();
}

#[tokio::test]
async fn a_text_heartbeat_sends_ping_data_and_closes_after_the_limit_of_silence() {
    let interval = Duration::from_millis(30);
    let options = wm_server::ConnectionOptions::default().heartbeat(
        wm_server::Heartbeat::new(interval)
            .not_responding_limit(5)
            .data("ping"),
    );
    let (server, _errors) = errors_of(
        Worker::new("text://127.0.0.1:0")
            .unwrap()
            .options(options)
            .on_message(echo),
    );
    // A silent client reads five pings and is closed at the sixth beat; meanwhile a
    // client that talks every interval stays.
    let mut quiet = text_client(&server).await;
    let quiet = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let mut lines = Vec::new();
        loop {
            let got = line(&mut quiet).await;
            if got.is_empty() {
                return (started.elapsed(), lines);
            }
            lines.push(got);
        }
    });
    let mut talker = text_client(&server).await;
    let mut pings = 0;
    for round in 0..16 {
        talker
            .get_mut()
            .write_all(format!("m{round}\n").as_bytes())
            .await
            .unwrap();
        tokio::time::sleep(interval).await;
        loop {
            let got = line(&mut talker).await;
            if got == "ping" {
                pings += 1;
            } else {
                assert_eq!(got, format!("m{round}"), "the talker is still open");
                break;
            }
        }
    }
    assert!(pings >= 8, "{pings} pings");
    let (waited, lines) = within("the quiet client's close", quiet).await.unwrap();
    assert!(waited >= interval * 5, "{waited:?}");
    assert!(
        lines.len() == 5 && lines.iter().all(|l| l == "ping"),
        "{lines:?}"
    );
    server.stop();
}

/// A server that answers the WebSocket handshake and then never reads or writes again;
/// counts the connections it took.
async fn silent_websocket_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(tcp);
            let mut key = String::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).await.unwrap();
                if let Some(value) = header
                    .to_ascii_lowercase()
                    .strip_prefix("sec-websocket-key:")
                {
                    key = header[header.len() - value.len()..].trim().to_owned();
                }
                if header == "\r\n" {
                    break;
                }
            }
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {}\r\n\r\n",
                wm_websocket::handshake::accept_key(key.as_bytes())
            );
            reader.get_mut().write_all(answer.as_bytes()).await.unwrap();
            held.push(reader);
        }
    });
    (address, accepted)
}

#[tokio::test]
async fn a_client_heartbeat_reconnects_when_the_server_stops_answering() {
    let (address, accepted) = silent_websocket_server().await;
    let interval = Duration::from_millis(30);
    let closes = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let (close_count, open_count) = (closes.clone(), opened.clone());
    let client = wm_server::Client::new(&format!("ws://{address}/"))
        .unwrap()
        .options(
            wm_server::ConnectionOptions::default()
                .heartbeat(wm_server::Heartbeat::new(interval).not_responding_limit(1))
                // The silent server never answers the close either.
                .close_timeout(Duration::from_millis(20)),
        )
        .reconnect(Some(Duration::from_millis(10)))
        .on_open(move |_, _| {
            open_count.fetch_add(1, Ordering::SeqCst);
        })
        .on_close(move |_| {
            close_count.fetch_add(1, Ordering::SeqCst);
        })
        .start();
    eventually("three connections, two given up", || {
        accepted.load(Ordering::SeqCst) >= 3 && closes.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(
        opened.load(Ordering::SeqCst) >= 2,
        "each one opened before it was given up"
    );
    assert!(client.endpoint().stats().timeouts >= 2);
    client.stop().await;
}

#[test]
fn heartbeat_options_are_checked() {
    let zero = wm_server::ConnectionOptions::default()
        .heartbeat(wm_server::Heartbeat::new(Duration::ZERO));
    let error = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .options(zero)
        .start()
        .unwrap_err();
    assert!(
        error.to_string().contains("heartbeat interval of zero"),
        "{error}"
    );
    let long = wm_server::ConnectionOptions::default().heartbeat(
        wm_server::Heartbeat::new(Duration::from_secs(200 * 24 * 3600)).not_responding_limit(2),
    );
    let error = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .options(long)
        .start()
        .unwrap_err();
    assert!(error.to_string().contains("over a year"), "{error}");
}

fn text(message: Message) -> String {
    String::from_utf8(message.as_bytes().expect("a data message").to_vec()).unwrap()
}

/// A text echo server that closes a connection on "bye", and the number of connections
/// it took.
fn counting_echo_server() -> (wm_server::WorkerHandle, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_connect(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
        })
        .on_message(|connection, message| {
            if message.as_bytes() == Some(&b"bye"[..]) {
                connection.close();
            } else {
                let _ = connection.send(message);
            }
        })
        .start()
        .unwrap();
    (server, accepted)
}

#[tokio::test]
async fn a_clients_sends_before_the_connect_are_queued_in_order_and_bounded() {
    let (server, _) = counting_echo_server();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = wm_server::Client::new(&format!("text://{}", addr(&server)))
        .unwrap()
        .on_connect(|connection| {
            let _ = connection.send("from on_connect");
        })
        .on_message(move |_, message| drop(tx.send(message)))
        .start();
    // Nothing has run yet on this runtime: the connect has not even started.
    assert!(client.connection().is_none());
    for text in ["a", "b", "c"] {
        assert_eq!(client.send(text).unwrap(), wm_server::SendStatus::Queued);
    }
    for expected in ["a", "b", "c", "from on_connect"] {
        let got = within("an echo", rx.recv()).await.unwrap();
        assert_eq!(text(got), expected, "queued first, in order");
    }
    // Open now: a send goes straight to the connection.
    client.send("d").unwrap();
    assert_eq!(text(within("d", rx.recv()).await.unwrap()), "d");
    client.stop().await;

    // The queue holds the high watermark, 64 bytes a message on top of its payload.
    let client = wm_server::Client::new(&format!("text://{}", addr(&server)))
        .unwrap()
        .options(wm_server::ConnectionOptions::default().send_watermarks(400, 0))
        .start();
    let hundred = "x".repeat(100);
    client.send(hundred.clone()).unwrap();
    client.send(hundred.clone()).unwrap();
    match client.send(hundred) {
        Err(wm_server::SendError::BufferFull { buffered, limit }) => {
            assert_eq!((buffered, limit), (328, 400));
        }
        other => panic!("{other:?}"),
    }
    client.stop().await;
    server.stop();

    // ws://: what was queued goes out after the handshake, as frames.
    let ws_server = echo_server("websocket://127.0.0.1:0");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = wm_server::Client::new(&format!("ws://{}/", addr(&ws_server)))
        .unwrap()
        .on_message(move |_, message| drop(tx.send(message)))
        .start();
    client.send("early").unwrap();
    client
        .send(bytes::Bytes::from_static(b"\x00binary"))
        .unwrap();
    assert_eq!(text(within("early", rx.recv()).await.unwrap()), "early");
    let binary = within("binary", rx.recv()).await.unwrap();
    assert!(
        matches!(&binary, Message::Binary(b) if &b[..] == b"\x00binary"),
        "{binary:?}"
    );
    client.stop().await;
    ws_server.stop();
}

#[tokio::test]
async fn a_client_reconnects_by_hand_from_on_close_and_from_its_handle() {
    let (server, accepted) = counting_echo_server();
    let url = format!("text://{}", addr(&server));

    // From on_close, once, without the automatic reconnect: two connections, then done.
    let closes = Arc::new(AtomicUsize::new(0));
    let close_count = closes.clone();
    let client = wm_server::Client::new(&url)
        .unwrap()
        .on_connect(|connection| drop(connection.send("bye")))
        .on_close(move |connection| {
            if close_count.fetch_add(1, Ordering::SeqCst) == 0 {
                assert!(connection.reconnect(Duration::from_millis(10)));
            }
        })
        .start();
    within("the client gives up after the second close", client.join()).await;
    assert_eq!(closes.load(Ordering::SeqCst), 2);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    // From the handle, while connected: the connection closes, what is sent in the gap is
    // queued, and the next connection delivers it.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = wm_server::Client::new(&url)
        .unwrap()
        .on_message(move |_, message| drop(tx.send(message)))
        .start();
    client.send("one").unwrap();
    assert_eq!(text(within("one", rx.recv()).await.unwrap()), "one");
    let first = client.connection().unwrap();
    assert!(client.reconnect(Duration::from_millis(50)));
    eventually("the first connection closed", || {
        first.status() == wm_server::Status::Closed
    })
    .await;
    assert_eq!(client.send("two").unwrap(), wm_server::SendStatus::Queued);
    assert_eq!(text(within("two", rx.recv()).await.unwrap()), "two");
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
    assert_ne!(client.connection().unwrap(), first);
    client.stop().await;
    ended_client_refuses_send_and_reconnect().await;

    // A listener's connection has no reconnect.
    let listener_side: Arc<Mutex<Option<bool>>> = Arc::default();
    let seen = listener_side.clone();
    let other = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .on_connect(move |connection| {
            *seen.lock().unwrap() = Some(connection.reconnect(Duration::from_secs(1)));
        })
        .start()
        .unwrap();
    let _tcp = TcpStream::connect(addr(&other)).await.unwrap();
    eventually("on_connect", || listener_side.lock().unwrap().is_some()).await;
    assert_eq!(*listener_side.lock().unwrap(), Some(false));
    other.stop();
    server.stop();
}

/// A client that ended (its connect refused, no reconnect due) takes no send and no
/// reconnect.
async fn ended_client_refuses_send_and_reconnect() {
    let refused = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = refused.local_addr().unwrap();
    drop(refused);
    let client = wm_server::Client::new(&format!("text://{address}"))
        .unwrap()
        .start();
    within("the refused client ends", async {
        while client.send("x").is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(matches!(
        client.send("x"),
        Err(wm_server::SendError::Closed)
    ));
    assert!(!client.reconnect(Duration::from_millis(1)));
}

#[tokio::test]
async fn a_connections_package_size_is_its_own_within_the_listeners() {
    let options = wm_server::ConnectionOptions::default().max_package_size(1000);
    let applied: Arc<Mutex<Vec<usize>>> = Arc::default();
    let log = applied.clone();
    let (server, errors) = errors_of(
        Worker::new("text://127.0.0.1:0")
            .unwrap()
            .options(options)
            .on_message(move |connection, message| match message.as_bytes() {
                Some(b"small") => {
                    log.lock()
                        .unwrap()
                        .push(connection.set_max_package_size(16));
                    let _ = connection.send("ok");
                }
                Some(b"huge") => {
                    log.lock()
                        .unwrap()
                        .push(connection.set_max_package_size(1 << 30));
                    let _ = connection.send("ok");
                }
                _ => echo(connection, message),
            }),
    );
    let long = "x".repeat(40);
    // One connection lowers its own limit; its next long line is refused and it closes.
    let mut small = text_client(&server).await;
    small.get_mut().write_all(b"small\n").await.unwrap();
    assert_eq!(line(&mut small).await, "ok");
    // Workerman's rule: a line, `\n` included, one byte shorter than the package.
    small
        .get_mut()
        .write_all(b"fourteen chars\n")
        .await
        .unwrap();
    assert_eq!(line(&mut small).await, "fourteen chars");
    small
        .get_mut()
        .write_all(format!("{long}\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(line(&mut small).await, "", "closed on the long line");
    assert_eq!(
        *errors.lock().unwrap(),
        ["protocol error: line longer than the limit of 15 bytes (including its newline)"]
    );
    // Another one keeps the listener's; raising past it gives the listener's.
    let mut other = text_client(&server).await;
    other
        .get_mut()
        .write_all(format!("{long}\nhuge\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(line(&mut other).await, long);
    assert_eq!(line(&mut other).await, "ok");
    assert_eq!(*applied.lock().unwrap(), [16, 1000]);
    server.stop();

    // HTTP: the body limit, answered with 413.
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_connect(|connection| {
            connection.set_max_package_size(10);
        })
        .on_message(|connection, _| drop(connection.send("taken")))
        .start()
        .unwrap();
    let answer = exchange(
        &server,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789\
          POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n0123456789X",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("taken") && answer.contains("HTTP/1.1 413 "),
        "{answer}"
    );
    server.stop();

    // WebSocket: the message limit, answered with 1009.
    let server = Worker::new("websocket://127.0.0.1:0")
        .unwrap()
        .on_open(|connection, _| {
            connection.set_max_package_size(64);
        })
        .on_message(echo)
        .start()
        .unwrap();
    let mut ws = ws_client(&server).await;
    ws.send(wm_websocket::Message::Text("y".repeat(64)))
        .await
        .unwrap();
    let echoed = within("the echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echoed, wm_websocket::Message::Text("y".repeat(64)));
    ws.send(wm_websocket::Message::Text("y".repeat(65)))
        .await
        .unwrap();
    match within("the close", ws.next()).await.unwrap().unwrap() {
        wm_websocket::Message::Close(Some(close)) => assert_eq!(close.code.0, 1009),
        other => panic!("{other:?}"),
    }
    server.stop();
}

#[tokio::test]
async fn a_connections_send_buffer_limit_is_its_own_within_the_listeners() {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let (results, full) = (log.clone(), log.clone());
    let server = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .options(wm_server::ConnectionOptions::default().send_watermarks(4096, 1024))
        .on_connect(|connection| {
            assert_eq!(
                connection.set_max_send_buffer_size(10 << 20),
                4096,
                "the ceiling"
            );
            assert_eq!(connection.set_max_send_buffer_size(100), 100);
            assert_eq!(connection.max_send_buffer_size(), 100);
        })
        .on_message(move |connection, _| {
            // Three 60-byte lines in one callback: the first two are taken (the buffer
            // may overshoot by one message), the third is refused at 122 of 100.
            let line = "z".repeat(59);
            for _ in 0..3 {
                results
                    .lock()
                    .unwrap()
                    .push(match connection.send(line.clone()) {
                        Ok(_) => "ok".to_owned(),
                        Err(error) => error.to_string(),
                    });
            }
        })
        .on_buffer_full(move |_| full.lock().unwrap().push("full".into()))
        .start()
        .unwrap();
    let mut client = text_client(&server).await;
    client.get_mut().write_all(b"go\n").await.unwrap();
    assert_eq!(line(&mut client).await, "z".repeat(59));
    assert_eq!(line(&mut client).await, "z".repeat(59));
    eventually("three sends and the full event", || {
        log.lock().unwrap().len() == 4
    })
    .await;
    let log = log.lock().unwrap().clone();
    assert_eq!(&log[..2], ["ok", "ok"]);
    assert!(log[2].contains("120") && log[2].contains("100"), "{log:?}");
    assert_eq!(log[3], "full");
    server.stop();
}

#[tokio::test]
async fn http_sessions_count_visits_per_browser_through_an_http_listener() {
    use wm_http::session::{FileStore, SessionConfig, Sessions};
    let dir = std::env::temp_dir().join(format!("wm-runtime-sessions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sessions = Sessions::new(FileStore::new(&dir).unwrap(), SessionConfig::default());
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .on_message(move |connection, message| {
            let Message::Request(request) = message else {
                return;
            };
            let mut session = sessions.start(&request).unwrap();
            let visits = session.get::<u32>("visits").unwrap_or(0) + 1;
            session.set("visits", visits).unwrap();
            if request.path() == "/login" {
                session.regenerate();
            }
            let response = wm_http::Response::new(200).body(format!("visit {visits}"));
            let _ = connection.send(sessions.commit(session, response).unwrap());
        })
        .start()
        .unwrap();
    let get = |path: &str, cookie: Option<&str>| {
        let cookie = cookie.map_or(String::new(), |c| format!("Cookie: PHPSID={c}\r\n"));
        format!("GET {path} HTTP/1.1\r\nHost: h\r\n{cookie}Connection: close\r\n\r\n")
    };
    let cookie_of = |answer: &str| {
        let start = answer.find("Set-Cookie: PHPSID=")? + "Set-Cookie: PHPSID=".len();
        Some(answer[start..start + 40].to_owned())
    };
    let first = exchange(&server, get("/", None).as_bytes()).await;
    assert!(first.ends_with("visit 1"), "{first}");
    let id = cookie_of(&first).expect("a new session sets its cookie");
    let second = exchange(&server, get("/", Some(&id)).as_bytes()).await;
    assert!(
        second.ends_with("visit 2") && cookie_of(&second).is_none(),
        "{second}"
    );
    // Another browser has its own.
    let other = exchange(&server, get("/", None).as_bytes()).await;
    assert!(other.ends_with("visit 1"), "{other}");
    // A login moves the session to a new id; the old one is worth nothing after it.
    let login = exchange(&server, get("/login", Some(&id)).as_bytes()).await;
    assert!(login.ends_with("visit 3"), "{login}");
    let new_id = cookie_of(&login).expect("the new id is sent");
    assert_ne!(new_id, id);
    let stale = exchange(&server, get("/", Some(&id)).as_bytes()).await;
    assert!(stale.ends_with("visit 1"), "{stale}");
    let fresh = exchange(&server, get("/", Some(&new_id)).as_bytes()).await;
    assert!(fresh.ends_with("visit 4"), "{fresh}");
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

/// A directory of files for the static-file tests, removed on drop.
struct Site(std::path::PathBuf);

impl Site {
    fn new(name: &str, files: &[(&str, &[u8])]) -> Self {
        let dir = std::env::temp_dir().join(format!("wm-site-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, contents) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        Self(dir)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn ask(server: &wm_server::WorkerHandle, request: String) -> String {
    exchange(server, request.as_bytes()).await
}

fn get(path: &str, host: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
}

#[tokio::test]
async fn static_files_by_host_with_304_and_ranges_in_front_of_the_handler() {
    let main = Site::new(
        "main",
        &[("index.html", b"<h1>home</h1>"), ("a.txt", b"alpha")],
    );
    let docs = Site::new("docs", &[("b.txt", b"bravo")]);
    let roots = wm_server::StaticRoots::new(&main.0)
        .unwrap()
        .add_root("Docs.Example", &docs.0)
        .unwrap();
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .static_files(roots.clone())
        .on_message(|connection, message| {
            let Message::Request(request) = message else {
                return;
            };
            let _ = connection.send(format!(
                "handler: {} {}",
                request.method().as_str(),
                request.path()
            ));
        })
        .start()
        .unwrap();
    let answer = ask(&server, get("/a.txt", "h", "")).await;
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("\r\n\r\nalpha"),
        "{answer}"
    );
    assert!(answer.contains("Content-Type: text/plain"), "{answer}");
    let etag_start = answer.find("ETag: ").unwrap() + 6;
    let etag = &answer[etag_start..etag_start + answer[etag_start..].find("\r\n").unwrap()];
    let cached = ask(
        &server,
        get("/a.txt", "h", &format!("If-None-Match: {etag}\r\n")),
    )
    .await;
    assert!(
        cached.starts_with("HTTP/1.1 304 Not Modified\r\n"),
        "{cached}"
    );
    let part = ask(&server, get("/a.txt", "h", "Range: bytes=1-2\r\n")).await;
    assert!(
        part.starts_with("HTTP/1.1 206 ") && part.ends_with("\r\n\r\nlp"),
        "{part}"
    );
    assert!(ask(&server, get("/", "h", ""))
        .await
        .ends_with("<h1>home</h1>"));
    // Virtual hosts, by Host without its port, in any case.
    assert!(ask(&server, get("/b.txt", "docs.example:8080", ""))
        .await
        .ends_with("\r\n\r\nbravo"));
    assert!(ask(&server, get("/a.txt", "docs.example", ""))
        .await
        .ends_with("handler: GET /a.txt"));
    // Not files: the handler answers.
    assert!(ask(&server, get("/api/users", "h", ""))
        .await
        .ends_with("handler: GET /api/users"));
    assert!(ask(&server, get("/../../etc/passwd", "h", ""))
        .await
        .ends_with("handler: GET /../../etc/passwd"));
    let post = ask(
        &server,
        "POST /a.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(post.ends_with("handler: POST /a.txt"), "{post}");
    // Pipelined: a file, the handler, a file, answered in order.
    let pipelined = exchange(
        &server,
        b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /b.txt HTTP/1.1\r\nHost: docs.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (first, second, third) = (
        pipelined.find("alpha").unwrap(),
        pipelined.find("handler: GET /x").unwrap(),
        pipelined.find("bravo").unwrap(),
    );
    assert!(first < second && second < third, "{pipelined}");
    server.stop();

    // Without a handler, what is not a file is a 404; another scheme refuses the roots.
    let bare = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .static_files(roots.clone())
        .start()
        .unwrap();
    let missing = exchange(&bare, get("/nope", "h", "").as_bytes()).await;
    assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
    bare.stop();
    let error = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .static_files(roots)
        .start()
        .unwrap_err();
    assert!(error.to_string().contains("http://"), "{error}");
}

#[tokio::test]
async fn a_large_file_streams_within_the_send_buffer_and_holds_up_no_one() {
    let big: Vec<u8> = (0..16 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let site = Site::new("big", &[("big.bin", &big), ("small.txt", b"small")]);
    let high = 256 * 1024;
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .options(wm_server::ConnectionOptions::default().send_watermarks(high, 0))
        .static_files(wm_server::StaticRoots::new(&site.0).unwrap())
        .start()
        .unwrap();
    let mut slow = TcpStream::connect(addr(&server)).await.unwrap();
    slow.write_all(get("/big.bin", "h", "").as_bytes())
        .await
        .unwrap();
    // The slow client reads a little now and then; the send buffer stays bounded.
    let mut received = Vec::with_capacity(big.len() + 1024);
    let mut most_buffered = 0;
    let mut chunk = vec![0; 64 * 1024];
    for round in 0..40 {
        let n = within(
            "a piece",
            tokio::io::AsyncReadExt::read(&mut slow, &mut chunk),
        )
        .await
        .unwrap();
        received.extend_from_slice(&chunk[..n]);
        for connection in server.endpoint().connections() {
            most_buffered = most_buffered.max(connection.send_buffer_len());
        }
        if round == 10 {
            // Meanwhile another client is answered at once.
            let small = within(
                "the small file",
                exchange(&server, get("/small.txt", "h", "").as_bytes()),
            )
            .await;
            assert!(small.ends_with("\r\n\r\nsmall"), "{small}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        most_buffered <= high + 64 * 1024,
        "send buffer reached {most_buffered}"
    );
    received.extend_from_slice(&read_to_end(&mut slow).await);
    let body_start = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(received[..body_start].starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert_eq!(received.len() - body_start, big.len());
    assert!(
        received[body_start..] == big[..],
        "the bytes arrive whole and in order"
    );
    server.stop();
}

#[tokio::test]
async fn a_file_waits_for_the_answer_owed_before_it() {
    let site = Site::new("order", &[("a.txt", b"alpha")]);
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .static_files(wm_server::StaticRoots::new(&site.0).unwrap())
        .on_message(|connection, message| {
            let Message::Request(request) = message else {
                return;
            };
            // Answered later, from a task: the file pipelined after it must wait.
            let connection = connection.clone();
            let path = request.path().to_owned();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = connection.send(format!("late answer to {path}"));
            });
        })
        .start()
        .unwrap();
    let answers = exchange(
        &server,
        b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /a.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (slow, file) = (
        answers
            .find("late answer to /slow")
            .expect("the slow answer"),
        answers.find("alpha").expect("the file"),
    );
    assert!(slow < file, "answered in the order asked: {answers}");
    server.stop();
}

#[tokio::test]
async fn a_heartbeat_closes_a_peer_that_stopped_reading_with_its_buffer_full() {
    let interval = Duration::from_millis(40);
    let options = wm_server::ConnectionOptions::default()
        .send_watermarks(64 * 1024, 0)
        .heartbeat(wm_server::Heartbeat::new(interval).not_responding_limit(2));
    let (server, errors) = errors_of(
        Worker::new("websocket://127.0.0.1:0")
            .unwrap()
            .options(options)
            .on_open(|connection, _| {
                // A stream of updates, far more than the kernel's buffers take: once
                // they are full, the send buffer stays full.
                let connection = connection.clone();
                tokio::spawn(async move {
                    let piece = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
                    while connection.status() == wm_server::Status::Open {
                        if connection.send(piece.clone()).is_err() {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                    }
                });
            }),
    );
    // Shakes hands, then neither reads nor writes: gone without a FIN, as it looks.
    let _gone = ws_by_hand(addr(&server)).await;
    eventually("the heartbeat gives up on it", || {
        errors
            .lock()
            .unwrap()
            .iter()
            .any(|e| e == "heartbeat timeout")
    })
    .await;
    server.stop();
}

#[tokio::test]
async fn a_heartbeat_sends_nothing_on_http_where_it_would_be_taken_for_an_answer() {
    let options = wm_server::ConnectionOptions::default().heartbeat(
        wm_server::Heartbeat::new(Duration::from_millis(10))
            .not_responding_limit(0)
            .data("ping"),
    );
    let server = Worker::new("http://127.0.0.1:0")
        .unwrap()
        .options(options)
        .on_message(|connection, _| drop(connection.send("the answer")))
        .start()
        .unwrap();
    let mut tcp = TcpStream::connect(addr(&server)).await.unwrap();
    // Several beats pass on an idle keep-alive connection; then a request.
    tokio::time::sleep(Duration::from_millis(80)).await;
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = String::from_utf8(read_to_end(&mut tcp).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\nthe answer") && !answer.contains("ping"),
        "{answer}"
    );
    server.stop();
}
