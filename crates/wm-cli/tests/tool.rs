//! The `wm` binary end to end, over 127.0.0.1 (and one Unix socket) only.
//!
//! Every listener binds port 0 and the tests learn the ports from what `wm` prints; every
//! wait is bounded; every process started is killed when its [`Proc`] guard drops, so a
//! failing assertion leaves nothing running.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpStream, UdpSocket, UnixStream};
use tokio::process::{Child, ChildStdout, Command};
use wm_websocket::close::CloseFrame;
use wm_websocket::{CloseCode, Message as WsMessage, WebSocketStream};

/// The bound on every single wait.
const WAIT: Duration = Duration::from_secs(5);

type Ws = WebSocketStream<TcpStream>;

/// `future`, or a panic naming `what` after [`WAIT`].
mod support;

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?}: {what}"))
}

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// A running `wm`, killed on drop unless it already exited.
struct Proc {
    child: Child,
    stdout: Option<Lines<BufReader<ChildStdout>>>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wm"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn wm");
        let stdout = child.stdout.take().map(|out| BufReader::new(out).lines());
        Self { child, stdout }
    }

    /// The next stdout line, within [`WAIT`].
    async fn read_line(&mut self) -> String {
        let lines = self.stdout.as_mut().expect("stdout");
        within("a line from wm's stdout", lines.next_line())
            .await
            .expect("read wm's stdout")
            .expect("wm closed its stdout")
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("wm is running")
    }

    /// SIGTERM, as `kill -TERM` sends it.
    fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits for the exit, within `limit`; returns the status and what went to stderr.
    async fn wait(&mut self, limit: Duration) -> (ExitStatus, String) {
        let stderr = self.child.stderr.take().expect("stderr");
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("wm did not exit within {limit:?}"))
            .expect("wait for wm");
        (status, read_all(stderr).await)
    }

    /// SIGTERM, then the exit status (within a few seconds) and stderr.
    async fn stop(&mut self) -> (ExitStatus, String) {
        self.terminate();
        self.wait(WAIT).await
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Harmless if it already exited and was reaped.
        let _ = self.child.start_kill();
    }
}

/// Everything left on a pipe whose writer has exited.
async fn read_all(mut pipe: impl AsyncRead + Unpin) -> String {
    let mut out = Vec::new();
    within("the rest of a pipe", pipe.read_to_end(&mut out))
        .await
        .expect("read pipe");
    String::from_utf8_lossy(&out).into_owned()
}

/// A Unix socket path of this process and test, removed on drop.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("wm-tool-{}-{test}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Self(path)
    }

    fn url(&self) -> String {
        format!("unix://{}", self.0.display())
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `wm echo URL...`; the addresses it printed, in the order of `urls` (for `unix://`, what
/// follows "listening on", e.g. `unix:/tmp/x.sock`).
async fn spawn_echo(urls: &[&str]) -> (Proc, Vec<String>) {
    spawn_echo_with(&[], urls).await
}

/// `wm echo FLAGS... URL...`, as [`spawn_echo`].
async fn spawn_echo_with(flags: &[&str], urls: &[&str]) -> (Proc, Vec<String>) {
    let mut args = vec!["echo"];
    args.extend_from_slice(flags);
    args.extend_from_slice(urls);
    let mut wm = Proc::spawn(&args);
    let mut addresses = Vec::new();
    for url in urls {
        let line = wm.read_line().await;
        let (printed, address) = line
            .split_once(" listening on ")
            .unwrap_or_else(|| panic!("unexpected line from wm echo: {line:?}"));
        assert_eq!(printed, *url, "wm echo lists its URLs in order");
        addresses.push(address.to_owned());
    }
    (wm, addresses)
}

fn inet(address: &str) -> SocketAddr {
    address
        .parse()
        .unwrap_or_else(|_| panic!("not an IP address: {address:?}"))
}

/// `wm demo` on port 0 twice: the process, the page's address and the chat's port.
async fn spawn_demo() -> (Proc, SocketAddr, u16) {
    spawn_demo_with(&[]).await
}

/// [`spawn_demo`] with more flags.
async fn spawn_demo_with(flags: &[&str]) -> (Proc, SocketAddr, u16) {
    let mut args = vec!["demo", "--http", "127.0.0.1:0", "--ws", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    let mut wm = Proc::spawn(&args);
    let line = wm.read_line().await;
    let http = line
        .strip_prefix("wm demo: open http://")
        .and_then(|rest| rest.split_once("/ "))
        .map(|(address, _)| inet(address))
        .unwrap_or_else(|| panic!("unexpected line from wm demo: {line:?}"));
    let ws_port = line
        .split_once("ws://127.0.0.1:")
        .and_then(|(_, rest)| rest.split_once("/chat"))
        .and_then(|(port, _)| port.parse().ok())
        .unwrap_or_else(|| panic!("no chat port in: {line:?}"));
    (wm, http, ws_port)
}

/// What `wm connect` printed and how it ended.
struct Connected {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// `wm connect ARGS...` with `input` on stdin (then closed), within [`WAIT`].
async fn run_connect(args: &[&str], input: impl AsRef<[u8]>) -> Connected {
    let started = Instant::now();
    let mut all = vec!["connect"];
    all.extend_from_slice(args);
    let mut wm = Proc::spawn(&all);
    let mut stdin = wm.child.stdin.take().expect("stdin");
    // A client that failed early may have closed its stdin already: not an error here.
    let _ = within(
        "writing wm connect's stdin",
        stdin.write_all(input.as_ref()),
    )
    .await;
    drop(stdin);
    let stdout = wm.stdout.take().expect("stdout").into_inner();
    let (stdout, (status, stderr)) = tokio::join!(read_all(stdout), wm.wait(WAIT));
    Connected {
        status,
        stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/// A WebSocket client on `ws://ADDRESS/PATH`.
async fn ws_connect(address: SocketAddr, path: &str) -> Ws {
    let tcp = within("connect", TcpStream::connect(address))
        .await
        .expect("connect");
    let url = format!("ws://{address}{path}");
    let (ws, _response) = within("the WebSocket handshake", wm_websocket::connect(tcp, &url))
        .await
        .expect("WebSocket handshake");
    ws
}

/// The next message that is not a ping or pong.
async fn ws_next(ws: &mut Ws) -> WsMessage {
    within("a WebSocket message", async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(message)) => return message,
                Some(Err(error)) => panic!("WebSocket error: {error}"),
                None => panic!("WebSocket ended"),
            }
        }
    })
    .await
}

/// The next message, which must be a JSON text.
async fn ws_json(ws: &mut Ws) -> Value {
    match ws_next(ws).await {
        WsMessage::Text(text) => serde_json::from_str(&text).expect("a JSON text message"),
        other => panic!("expected a JSON text message, got {other:?}"),
    }
}

async fn ws_send(ws: &mut Ws, message: WsMessage) {
    within("a WebSocket send", ws.send(message))
        .await
        .expect("WebSocket send");
}

async fn ws_close(mut ws: Ws) {
    within(
        "the close handshake",
        ws.close(None, Duration::from_secs(2)),
    )
    .await
    .expect("close");
}

/// Reads from `stream` until `len` bytes arrived.
async fn read_exactly(stream: &mut (impl AsyncRead + Unpin), len: usize) -> Vec<u8> {
    let mut buffer = vec![0; len];
    within("bytes back", stream.read_exact(&mut buffer))
        .await
        .expect("read");
    buffer
}

/// One HTTP/1.1 response, read by its Content-Length: status code, head, body.
async fn read_http_response(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    within("an HTTP response", async {
        let mut data = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let n = stream.read(&mut chunk).await.expect("read response");
            assert!(n > 0, "connection closed before the response head");
            data.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(data[..head_end].to_vec()).expect("ASCII head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line: {head:?}"));
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().expect("Content-Length"))
            })
            .unwrap_or_else(|| panic!("no Content-Length: {head:?}"));
        while data.len() < head_end + length {
            let n = stream.read(&mut chunk).await.expect("read body");
            assert!(n > 0, "connection closed in the body");
            data.extend_from_slice(&chunk[..n]);
        }
        (status, head, data[head_end..head_end + length].to_vec())
    })
    .await
}

/// Writes `line` to a `jsonnl://` connection and reads one JSON line back.
async fn json_exchange(stream: &mut BufReader<TcpStream>, line: &[u8]) -> Value {
    stream.write_all(line).await.expect("write");
    let mut reply = String::new();
    within("a JSON line back", stream.read_line(&mut reply))
        .await
        .expect("read");
    serde_json::from_str(&reply).unwrap_or_else(|_| panic!("not JSON: {reply:?}"))
}

async fn http_get(address: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    let mut stream = within("connect", TcpStream::connect(address))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    read_http_response(&mut stream).await
}

/// A 127.0.0.1 port where nothing listens (just bound and released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address").port()
}

// ---------------------------------------------------------------------------------------
// wm echo
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_serves_every_scheme_in_one_process() {
    let unix = SocketPath::new("echo-all");
    let unix_url = unix.url();
    let (mut wm, addresses) = spawn_echo(&[
        "text://127.0.0.1:0",
        "frame://127.0.0.1:0",
        "jsonnl://127.0.0.1:0",
        "websocket://127.0.0.1:0",
        "http://127.0.0.1:0",
        "tcp://127.0.0.1:0",
        "udp://127.0.0.1:0",
        &unix_url,
    ])
    .await;
    let [text, frame, jsonnl, websocket, http, tcp, udp] =
        std::array::from_fn(|i| inet(&addresses[i]));
    assert_eq!(addresses[7], format!("unix:{}", unix.0.display()));

    // text://: a line comes back identical.
    {
        let stream = TcpStream::connect(text).await.expect("connect text://");
        let mut stream = BufReader::new(stream);
        stream.write_all(b"hello, wm\n").await.expect("write");
        let mut line = String::new();
        within("the text:// echo", stream.read_line(&mut line))
            .await
            .expect("read");
        assert_eq!(line, "hello, wm\n");
    }

    // frame://: a 4-byte big-endian length that counts itself, then the payload.
    {
        let mut stream = TcpStream::connect(frame).await.expect("connect frame://");
        let payload = b"\x00\x01binary\xff";
        let mut packet = u32::try_from(4 + payload.len())
            .unwrap()
            .to_be_bytes()
            .to_vec();
        packet.extend_from_slice(payload);
        stream.write_all(&packet).await.expect("write");
        assert_eq!(read_exactly(&mut stream, packet.len()).await, packet);
    }

    // jsonnl://: the same value back; a line that is not JSON gets {"error": …} and the
    // stream goes on.
    {
        let stream = TcpStream::connect(jsonnl).await.expect("connect jsonnl://");
        let mut stream = BufReader::new(stream);
        let value = json!({"a": [1, 2.5, "three", null], "b": {"c": true}});
        let line = format!("{value}\n");
        assert_eq!(json_exchange(&mut stream, line.as_bytes()).await, value);
        let error = json_exchange(&mut stream, b"this is not json\n").await;
        assert!(error.get("error").is_some(), "no error key: {error}");
        assert_eq!(json_exchange(&mut stream, b"[1,2]\n").await, json!([1, 2]));
    }

    // websocket://: text stays text, binary stays binary.
    {
        let mut ws = ws_connect(websocket, "/").await;
        ws_send(&mut ws, WsMessage::Text("héllo".into())).await;
        assert_eq!(ws_next(&mut ws).await, WsMessage::Text("héllo".into()));
        let binary = WsMessage::Binary(bytes::Bytes::from_static(b"\x00\xff\x10"));
        ws_send(&mut ws, binary.clone()).await;
        assert_eq!(ws_next(&mut ws).await, binary);
        ws_close(ws).await;
    }

    // http://: a JSON description of the request.
    {
        let mut stream = TcpStream::connect(http).await.expect("connect http://");
        stream
            .write_all(
                b"POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\
                  Content-Length: 3\r\n\r\nabc",
            )
            .await
            .expect("write");
        let (status, head, body) = read_http_response(&mut stream).await;
        assert_eq!(status, 200, "{head}");
        let body: Value = serde_json::from_slice(&body).expect("a JSON body");
        assert_eq!(
            body,
            json!({
                "method": "POST",
                "path": "/a/b",
                "query": "x=1",
                "headers_count": 3,
                "body_length": 3,
                "protocol_version": "1.1",
            })
        );
    }

    // tcp://: the bytes, as they are.
    {
        let mut stream = TcpStream::connect(tcp).await.expect("connect tcp://");
        let data = b"raw \x00\x01\x02 bytes\r\n";
        stream.write_all(data).await.expect("write");
        assert_eq!(read_exactly(&mut stream, data.len()).await, data);
    }

    // udp://: the datagram.
    {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        socket.send_to(b"datagram", udp).await.expect("send_to");
        let mut buffer = [0u8; 64];
        let (n, from) = within("the udp:// echo", socket.recv_from(&mut buffer))
            .await
            .expect("recv_from");
        assert_eq!(&buffer[..n], b"datagram");
        assert_eq!(from, udp);
    }

    // unix://: the bytes.
    {
        let mut stream = UnixStream::connect(&unix.0).await.expect("connect unix://");
        stream
            .write_all(b"over a unix socket")
            .await
            .expect("write");
        assert_eq!(read_exactly(&mut stream, 18).await, b"over a unix socket");
    }

    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
    assert!(
        stderr.contains("text://127.0.0.1:0: connections"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_sigterm_closes_websockets_with_going_away_and_exits_0() {
    let (mut wm, addresses) = spawn_echo(&["websocket://127.0.0.1:0"]).await;
    let mut ws = ws_connect(inet(&addresses[0]), "/").await;
    // A round trip: the server has surely accepted the connection.
    ws_send(&mut ws, WsMessage::Text("before".into())).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::Text("before".into()));
    // One listener with one thread is served on the main thread: the process has no other
    // (which makes each socket call cheaper), and the graceful stop below runs there too.
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string(format!("/proc/{}/status", wm.pid()))
            .expect("the server's /proc status");
        let threads = status.lines().find(|l| l.starts_with("Threads:"));
        assert_eq!(
            threads.map(|l| l.split_whitespace().nth(1)),
            Some(Some("1")),
            "{status}"
        );
    }

    wm.terminate();
    match ws_next(&mut ws).await {
        WsMessage::Close(Some(CloseFrame { code, .. })) => {
            assert_eq!(code, CloseCode::GOING_AWAY);
        }
        other => panic!("expected a close frame with 1001, got {other:?}"),
    }
    // Our echo of the close has been written by the stream; the server now finishes.
    let (status, stderr) = wm.wait(WAIT).await;
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
    assert!(
        stderr.contains("websocket://127.0.0.1:0: connections 1"),
        "{stderr}"
    );
}

/// A WebSocket on `address` whose opening handshake is done by hand: a peer that then
/// never reads nor answers a close.
async fn ws_by_hand(address: SocketAddr) -> TcpStream {
    let mut stream = within("connect", TcpStream::connect(address))
        .await
        .unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.extend_from_slice(&read_exactly(&mut stream, 1).await);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_every_listener_at_once() {
    let urls = ["websocket://127.0.0.1:0"; 5];
    let (mut wm, addresses) = spawn_echo(&urls).await;
    // Idle peers on the first three listeners: each makes its listener's stop wait one
    // close timeout (2 s) and one linger (1 s).
    let mut idle = Vec::new();
    for address in &addresses[..3] {
        // Handshakes done by hand; these peers never read nor answer a close.
        idle.push(ws_by_hand(inet(address)).await);
    }
    let started = Instant::now();
    wm.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The last listener stopped accepting with the first, not after their connections.
    let late = TcpStream::connect(inet(&addresses[4])).await;
    assert!(
        late.is_err(),
        "the fifth listener still accepts 300 ms after SIGTERM"
    );
    let (status, stderr) = wm.wait(Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
    // One close timeout and one linger for all of them, not one each.
    assert!(took < Duration::from_millis(4500), "the stop took {took:?}");
    assert!(
        took >= Duration::from_secs(2),
        "the close timeout was not waited: {took:?}"
    );
    drop(idle);
}

/// A SIGTERM sent as soon as the "listening" line is read stops gracefully (the handlers
/// are set before that line is printed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_right_after_the_ready_line_stops_gracefully() {
    for _ in 0..5 {
        let (mut wm, _) = spawn_echo(&["text://127.0.0.1:0"]).await;
        let (status, stderr) = wm.stop().await;
        assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
        assert!(
            stderr.contains("text://127.0.0.1:0: connections 0"),
            "{stderr}"
        );

        let (mut wm, _, _) = spawn_demo().await;
        let (status, stderr) = wm.stop().await;
        assert!(status.success(), "wm demo: {status}; stderr:\n{stderr}");
        assert!(stderr.contains("chat: connections 0"), "{stderr}");
    }
}

// ---------------------------------------------------------------------------------------
// wm connect
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_pipes_stdin_through_each_scheme() {
    let (mut wm, addresses) = spawn_echo(&[
        "text://127.0.0.1:0",
        "frame://127.0.0.1:0",
        "jsonnl://127.0.0.1:0",
        "websocket://127.0.0.1:0",
    ])
    .await;
    let [text, frame, jsonnl, websocket] = std::array::from_fn(|i| addresses[i].clone());

    let out = run_connect(&[&format!("text://{text}")], "first line\nsecond line\n").await;
    assert!(out.status.success(), "text://: {}", out.stderr);
    assert_eq!(out.stdout, "first line\nsecond line\n");

    // A tab and a backslash are printed escaped, so that a line holds one message.
    let out = run_connect(&[&format!("frame://{frame}")], "tab\there back\\slash\n").await;
    assert!(out.status.success(), "frame://: {}", out.stderr);
    assert_eq!(out.stdout, "tab\\there back\\\\slash\n");

    let out = run_connect(&[&format!("jsonnl://{jsonnl}")], "{\"a\":1}\n").await;
    assert!(out.status.success(), "jsonnl://: {}", out.stderr);
    assert_eq!(out.stdout, "{\"a\":1}\n");

    let out = run_connect(&[&format!("ws://{websocket}/")], "hello\nwebsocket\n").await;
    assert!(out.status.success(), "ws://: {}", out.stderr);
    assert_eq!(out.stdout, "hello\nwebsocket\n");

    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_that_are_not_utf8_go_through_where_the_protocol_carries_bytes() {
    let (mut wm, addresses) = spawn_echo(&[
        "text://127.0.0.1:0",
        "frame://127.0.0.1:0",
        "websocket://127.0.0.1:0",
        "tcp://127.0.0.1:0",
    ])
    .await;
    let [text, frame, websocket, tcp] = std::array::from_fn(|i| addresses[i].clone());
    let input = b"ok1\n\xff\xfe\nok2\n";
    for url in [format!("text://{text}"), format!("frame://{frame}")] {
        let out = run_connect(&[&url], input).await;
        assert!(out.status.success(), "{url}: {}", out.stderr);
        assert_eq!(out.stdout, "ok1\n\\xff\\xfe\nok2\n", "{url}");
    }
    // tcp:// prints the bytes as they come (read here lossily).
    let out = run_connect(&[&format!("tcp://{tcp}")], input).await;
    assert!(out.status.success(), "tcp://: {}", out.stderr);
    assert_eq!(out.stdout, "ok1\n\u{fffd}\u{fffd}\nok2\n");
    let ws = format!("ws://{websocket}/");
    let out = run_connect(&["--binary", &ws], input).await;
    assert!(out.status.success(), "--binary: {}", out.stderr);
    assert_eq!(out.stdout, "ok1\n\\xff\\xfe\nok2\n");
    // A text message must be UTF-8: that line is refused with the reason, the rest goes.
    let out = run_connect(&[&ws], input).await;
    assert!(out.status.success(), "ws text: {}", out.stderr);
    assert_eq!(out.stdout, "ok1\nok2\n");
    assert!(
        out.stderr.contains("line not sent: not UTF-8"),
        "{}",
        out.stderr
    );

    // wm echo text:// itself: a line in Latin-1 comes back byte for byte, and the
    // connection stays open for the next (Workerman passes bytes through).
    let mut stream = TcpStream::connect(inet(&text)).await.unwrap();
    stream
        .write_all(b"ok\n\xc3(\ncaf\xe9\r\nafter\n")
        .await
        .unwrap();
    let expected = b"ok\n\xc3(\ncaf\xe9\nafter\n";
    assert_eq!(read_exactly(&mut stream, expected.len()).await, expected);

    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonnl_keeps_the_order_of_object_keys() {
    let (mut wm, addresses) = spawn_echo(&["jsonnl://127.0.0.1:0"]).await;
    let line = "{\"b\":1,\"a\":{\"z\":2,\"y\":3}}";
    let out = run_connect(
        &[&format!("jsonnl://{}", addresses[0])],
        format!("{line}\n"),
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{line}\n"));
    let mut stream = TcpStream::connect(inet(&addresses[0])).await.unwrap();
    stream
        .write_all(format!("{line}\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        read_exactly(&mut stream, line.len() + 1).await,
        format!("{line}\n").as_bytes()
    );
    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_refused_exits_1_with_a_message() {
    let url = format!("text://127.0.0.1:{}", closed_port());
    let out = run_connect(&[&url, "--timeout", "3"], "hello\n").await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert!(
        out.stderr.contains("wm connect: cannot connect to"),
        "stderr: {:?}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_ws_to_a_text_listener_fails_fast() {
    let (mut wm, addresses) = spawn_echo(&["text://127.0.0.1:0"]).await;
    // The text:// echo sends the request line back, which is no `HTTP/` answer.
    let url = format!("ws://{}/", addresses[0]);
    let out = run_connect(&[&url, "--timeout", "10"], "hello\n").await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", out.stderr);
    assert!(
        out.stderr.contains("wm connect:"),
        "stderr: {:?}",
        out.stderr
    );
    assert!(
        out.elapsed < Duration::from_secs(3),
        "took {:?}, the --timeout is 10 s",
        out.elapsed
    );

    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
}

// ---------------------------------------------------------------------------------------
// wm demo
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_the_page_and_the_chat() {
    let (mut wm, http, ws_port) = spawn_demo().await;

    let (status, head, body) = http_get(http, "/").await;
    assert_eq!(status, 200, "{head}");
    let page = String::from_utf8(body).expect("a UTF-8 page");
    assert!(page.contains("<title>wm chat</title>"), "{page}");
    assert!(
        page.contains(&format!("|| {ws_port};")),
        "the page does not name the chat port {ws_port}"
    );
    let (status, head, _) = http_get(http, "/nope").await;
    assert_eq!(status, 404, "{head}");

    let chat: SocketAddr = ([127, 0, 0, 1], ws_port).into();
    let mut first = ws_connect(chat, "/chat").await;
    let welcome = ws_json(&mut first).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let first_name = welcome["name"].as_str().expect("a name").to_owned();

    let mut second = ws_connect(chat, "/chat").await;
    let welcome = ws_json(&mut second).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let second_name = welcome["name"].as_str().expect("a name").to_owned();
    assert_ne!(first_name, second_name);
    let users = welcome["users"].as_array().expect("users");
    assert!(users.contains(&json!(first_name)), "{welcome}");

    let join = ws_json(&mut first).await;
    assert_eq!(join, json!({"type": "join", "name": second_name}));

    let say = json!({"type": "say", "text": "hi"}).to_string();
    ws_send(&mut first, WsMessage::Text(say)).await;
    let expected = json!({"type": "say", "from": first_name, "text": "hi"});
    assert_eq!(ws_json(&mut first).await, expected);
    assert_eq!(ws_json(&mut second).await, expected);

    let rename = json!({"type": "name", "name": "ann"}).to_string();
    ws_send(&mut second, WsMessage::Text(rename)).await;
    let expected = json!({"type": "rename", "from": second_name, "name": "ann"});
    assert_eq!(ws_json(&mut first).await, expected);
    assert_eq!(ws_json(&mut second).await, expected);

    ws_close(second).await;
    assert_eq!(
        ws_json(&mut first).await,
        json!({"type": "leave", "name": "ann"})
    );
    ws_close(first).await;

    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "wm demo: {status}; stderr:\n{stderr}");
    assert!(stderr.contains("chat: connections 2"), "{stderr}");
}

/// Two `wm demo --cluster` processes on one Redis share one room: who is here, what is
/// said, renames and leaves cross from one process to the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demos_on_one_redis_share_the_chat() {
    let Some(redis) = wm_protocol::testing::RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (mut one, _, one_port) = spawn_demo_with(&["--cluster", &url]).await;
    let (mut two, _, two_port) = spawn_demo_with(&["--cluster", &url]).await;

    let mut ann = ws_connect(([127, 0, 0, 1], one_port).into(), "/chat").await;
    let welcome = ws_json(&mut ann).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let guest = welcome["name"].as_str().unwrap().to_owned();
    let rename = json!({"type": "name", "name": "ann"}).to_string();
    ws_send(&mut ann, WsMessage::Text(rename)).await;
    assert_eq!(
        ws_json(&mut ann).await,
        json!({"type": "rename", "from": guest, "name": "ann"})
    );

    // Bob, on the other process, sees ann in the room (once her name reached Redis).
    let bob_addr = ([127, 0, 0, 1], two_port).into();
    let (mut bob, bob_name) = within("ann listed on the other node", async {
        loop {
            let mut bob = ws_connect(bob_addr, "/chat").await;
            // With a cluster the welcome waits for Redis's answer: the room's news
            // (earlier bobs leaving) may come first.
            let mut welcome = ws_json(&mut bob).await;
            while welcome["type"] != "welcome" {
                welcome = ws_json(&mut bob).await;
            }
            if welcome["users"].as_array().unwrap().contains(&json!("ann")) {
                return (bob, welcome["name"].as_str().unwrap().to_owned());
            }
            ws_close(bob).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // Ann hears him join (after the guests that came and went while she was listed).
    within("bob's join", async {
        loop {
            let event = ws_json(&mut ann).await;
            if event == json!({"type": "join", "name": bob_name}) {
                break;
            }
        }
    })
    .await;
    let say = json!({"type": "say", "text": "hi from one"}).to_string();
    ws_send(&mut ann, WsMessage::Text(say)).await;
    let expected = json!({"type": "say", "from": "ann", "text": "hi from one"});
    assert_eq!(ws_json(&mut ann).await, expected);
    assert_eq!(ws_json(&mut bob).await, expected);
    let say = json!({"type": "say", "text": "hi from two"}).to_string();
    ws_send(&mut bob, WsMessage::Text(say)).await;
    let expected = json!({"type": "say", "from": bob_name, "text": "hi from two"});
    assert_eq!(ws_json(&mut bob).await, expected);
    assert_eq!(ws_json(&mut ann).await, expected);

    ws_close(ann).await;
    assert_eq!(
        ws_json(&mut bob).await,
        json!({"type": "leave", "name": "ann"})
    );
    ws_close(bob).await;
    for wm in [&mut one, &mut two] {
        let (status, stderr) = wm.stop().await;
        assert!(status.success(), "wm demo: {status}; stderr:\n{stderr}");
        assert!(stderr.contains("cluster: linked true"), "{stderr}");
    }
}

/// `wm connect --deflate` through `wm echo --deflate`, recorded on the wire by a proxy:
/// the offer and the answer, long lines compressed both ways (RSV1), short ones not. And
/// without `--deflate` on the client, nothing is compressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_and_connect_compress_with_deflate() {
    let (mut wm, addresses) = spawn_echo_with(&["--deflate"], &["websocket://127.0.0.1:0"]).await;
    let echo = inet(&addresses[0]);
    let long = "{\"say\":\"compress me, compress me, compress me\"}".repeat(6);
    let input = format!("{long}\nshort\n");
    for deflate in [true, false] {
        let (proxy, recorded) = support::recording_proxy(echo).await;
        let url = format!("ws://{proxy}/");
        let args: &[&str] = if deflate {
            &["--deflate", &url]
        } else {
            &[&url]
        };
        let out = run_connect(args, &input).await;
        assert!(out.status.success(), "{}", out.stderr);
        assert_eq!(out.stdout, input);
        let recorded = recorded.lock().unwrap();
        let (request, sent) = support::frames(&recorded.to_server);
        let (answer, received) = support::frames(&recorded.to_client);
        let firsts = |frames: &[(u8, usize)]| frames.iter().map(|f| f.0).collect::<Vec<_>>();
        if deflate {
            assert!(
                request.contains(
                    "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                ),
                "{request}"
            );
            assert!(answer.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"), "{answer}");
            // The long line compressed, the short one not; then the client's close.
            assert_eq!(firsts(&sent), [0xc1, 0x81, 0x88], "{sent:?}");
            assert_eq!(firsts(&received), [0xc1, 0x81, 0x88], "{received:?}");
            assert!(sent[0].1 < long.len() / 3, "{sent:?}");
        } else {
            assert!(!answer.contains("Extensions"), "{answer}");
            assert_eq!(firsts(&sent), [0x81, 0x81, 0x88], "{sent:?}");
            assert_eq!(firsts(&received), [0x81, 0x81, 0x88], "{received:?}");
        }
    }
    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "wm echo: {status}; stderr:\n{stderr}");
}

/// Sends `request` to `address` and reads the whole answer (the request says
/// `Connection: close`).
async fn http_exchange(address: SocketAddr, request: &str) -> String {
    let mut tcp = within("connect", TcpStream::connect(address))
        .await
        .unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    within("the answer", tcp.read_to_end(&mut answer))
        .await
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn wm_serve_serves_a_directory_with_304_ranges_virtual_hosts_and_no_hidden_files() {
    let base = std::env::temp_dir().join(format!("wm-tool-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (site, docs) = (base.join("site"), base.join("docs"));
    std::fs::create_dir_all(site.join("css")).unwrap();
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(site.join("index.html"), "<p>hi</p>").unwrap();
    std::fs::write(site.join("css/a.css"), "body{}").unwrap();
    std::fs::write(site.join(".env"), "SECRET=1").unwrap();
    std::fs::write(docs.join("index.html"), "docs home").unwrap();
    let host = format!("docs.local={}", docs.display());
    let mut wm = Proc::spawn(&[
        "serve",
        site.to_str().unwrap(),
        "http://127.0.0.1:0",
        "--host",
        &host,
    ]);
    let line = wm.read_line().await;
    let address = inet(
        line.rsplit_once(" on ")
            .unwrap_or_else(|| panic!("unexpected line from wm serve: {line:?}"))
            .1,
    );
    let get = |path: &str, host: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
    };
    let home = http_exchange(address, &get("/", "x", "")).await;
    assert!(
        home.starts_with("HTTP/1.1 200 OK\r\n") && home.ends_with("<p>hi</p>"),
        "{home}"
    );
    assert!(home.contains("Content-Type: text/html"), "{home}");
    let css = http_exchange(address, &get("/css/a.css", "x", "")).await;
    assert!(
        css.contains("Content-Type: text/css") && css.ends_with("body{}"),
        "{css}"
    );
    let tag_at = css.find("ETag: ").unwrap() + 6;
    let tag = &css[tag_at..tag_at + css[tag_at..].find("\r\n").unwrap()];
    let cached = http_exchange(
        address,
        &get("/css/a.css", "x", &format!("If-None-Match: {tag}\r\n")),
    )
    .await;
    assert!(cached.starts_with("HTTP/1.1 304 "), "{cached}");
    let range = http_exchange(address, &get("/css/a.css", "x", "Range: bytes=0-3\r\n")).await;
    assert!(
        range.starts_with("HTTP/1.1 206 ") && range.ends_with("body"),
        "{range}"
    );
    let docs_home = http_exchange(address, &get("/", "DOCS.local:9", "")).await;
    assert!(docs_home.ends_with("docs home"), "{docs_home}");
    for refused in ["/.env", "/../site/index.html", "/missing"] {
        let answer = http_exchange(address, &get(refused, "x", "")).await;
        assert!(answer.starts_with("HTTP/1.1 404 "), "{refused}: {answer}");
    }
    let (status, stderr) = wm.stop().await;
    assert!(status.success(), "{stderr}");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn wm_serve_refuses_a_missing_directory_and_a_bad_host_flag() {
    let wm = env!("CARGO_BIN_EXE_wm");
    let missing = std::process::Command::new(wm)
        .args(["serve", "/nonexistent/wm-dir", "http://127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/wm-dir"));
    let bad = std::process::Command::new(wm)
        .args(["serve", ".", "http://127.0.0.1:0", "--host", "nodir"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected NAME=DIR"));
}
