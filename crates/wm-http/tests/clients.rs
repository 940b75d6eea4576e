//! Real clients against a server made of `HttpCodec` and `Framed` on 127.0.0.1: curl's
//! keep-alive reuse, a 100 KiB upload, `Expect: 100-continue` (also against a hand-run
//! sans-IO loop that writes the 100 at once), HEAD and HTTP/1.0; and Python's
//! `http.client` (GET, chunked POST, HEAD on one connection).
//!
//! Skipped with a note when curl is not on PATH; under `CI` that fails instead. Every wait
//! has a timeout, and a curl still running when a test fails is killed.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::time::timeout;
use tokio_util::codec::Framed;
use wm_http::{HttpCodec, Request, Response, Version};

const LIMIT: Duration = Duration::from_secs(20);

/// Whether curl can be run. Under CI its absence is a failure, not a skip.
fn curl_found() -> bool {
    let found = std::process::Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but curl is not on PATH"
        );
        eprintln!("skipping: curl is not on PATH");
    }
    found
}

/// What the server saw: connections accepted, and connections it closed itself after a
/// response said the connection ends.
#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    closed_by_server: AtomicUsize,
}

/// A server on 127.0.0.1 answering each request with a line describing it; its base URL.
async fn server() -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let seen = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            seen.accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(tcp, seen.clone()));
        }
    });
    (url, counts)
}

/// One connection, as an application would run it: answer each request, stop once the
/// protocol says the connection closes.
async fn serve(tcp: TcpStream, counts: Arc<Counts>) {
    let mut framed = Framed::new(tcp, HttpCodec::new());
    while let Ok(Some(Ok(request))) = timeout(LIMIT, framed.next()).await {
        let response = Response::new(200)
            .header("Content-Type", "text/plain")
            .body(describe(&request));
        if timeout(LIMIT, framed.send(response)).await.is_err() {
            return;
        }
        if framed.codec().get_ref().closing() {
            counts.closed_by_server.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
}

/// `METHOD TARGET VERSION BODY-LENGTH BODY-HASH;`, so a test can tell what arrived.
fn describe(request: &Request) -> String {
    let version = match request.version() {
        Version::Http10 => "1.0",
        Version::Http11 => "1.1",
    };
    format!(
        "{} {} {version} {} {:08x};",
        request.method().as_str(),
        request.target(),
        request.body().len(),
        hash(request.body())
    )
}

fn hash(data: &[u8]) -> u32 {
    // FNV-1a: enough to tell that the body arrived intact and in order.
    data.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Runs curl with these arguments (no proxy, its own time limit, ours around it) and
/// checks that it succeeded.
async fn curl(args: &[&str]) -> Output {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--noproxy", "*", "--max-time", "15"])
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = timeout(LIMIT, command.output())
        .await
        .expect("curl did not finish in time")
        .expect("curl runs");
    assert!(
        output.status.success(),
        "curl {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A file of `len` bytes that are not all alike, removed when dropped.
struct Upload {
    path: PathBuf,
    data: Vec<u8>,
}

impl Upload {
    fn new(name: &str, len: usize) -> Self {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let path = std::env::temp_dir().join(format!("wm-http-{name}-{}", std::process::id()));
        std::fs::write(&path, &data).unwrap();
        Self { path, data }
    }

    fn arg(&self) -> String {
        format!("@{}", self.path.display())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test]
async fn curl_reuses_one_connection_for_two_urls() {
    if !curl_found() {
        return;
    }
    let (url, counts) = server().await;
    let output = curl(&[&format!("{url}/a"), &format!("{url}/b?x=1")]).await;
    let empty = hash(b"");
    assert_eq!(
        stdout(&output),
        format!("GET /a 1.1 0 {empty:08x};GET /b?x=1 1.1 0 {empty:08x};")
    );
    assert_eq!(counts.accepted.load(Ordering::SeqCst), 1, "one connection");
    assert_eq!(counts.closed_by_server.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn curl_posts_100_kib() {
    if !curl_found() {
        return;
    }
    let (url, _) = server().await;
    let upload = Upload::new("post", 100 * 1024);
    let output = curl(&[
        "--data-binary",
        &upload.arg(),
        "-H",
        "Content-Type: application/octet-stream",
        &format!("{url}/upload"),
    ])
    .await;
    assert_eq!(
        stdout(&output),
        format!("POST /upload 1.1 102400 {:08x};", hash(&upload.data))
    );
}

#[tokio::test]
async fn curl_expecting_100_continue_gets_it_and_uploads() {
    if !curl_found() {
        return;
    }
    let (url, _) = server().await;
    let upload = Upload::new("expect", 100 * 1024);
    // With `Framed`, what the decoder queues is written only ahead of the next response:
    // the 100 Continue reaches curl with the final answer, after curl's own expect
    // timeout (1 s by default) has sent the body anyway. Both answers must still parse.
    let output = curl(&[
        "-v",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &upload.arg(),
        &format!("{url}/expect"),
    ])
    .await;
    assert_eq!(
        stdout(&output),
        format!("POST /expect 1.1 102400 {:08x};", hash(&upload.data))
    );
    let verbose = String::from_utf8_lossy(&output.stderr);
    assert!(verbose.contains("> Expect: 100-continue"), "{verbose}");
    assert!(verbose.contains("< HTTP/1.1 100 Continue"), "{verbose}");
    assert!(verbose.contains("< HTTP/1.1 200 OK"), "{verbose}");
}

/// One connection driven by hand, as wm-server does: after every `decode`, what the
/// protocol queued of its own (a `100 Continue`, a refusal) is written at once.
async fn serve_sans_io(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wm_http::{Encode, Http, Protocol};
    let mut http = Http::default();
    let mut buf = bytes::BytesMut::with_capacity(8192);
    let mut out = bytes::BytesMut::new();
    loop {
        loop {
            let decoded = http.decode(&mut buf);
            http.take_output(&mut out);
            match decoded {
                Ok(Some(request)) => {
                    let response = Response::new(200)
                        .header("Content-Type", "text/plain")
                        .body(describe(&request));
                    http.encode(response, &mut out).unwrap();
                }
                Ok(None) => break,
                Err(_) => {
                    let _ = tcp.write_all(&out).await;
                    return;
                }
            }
        }
        if !out.is_empty() && tcp.write_all(&out.split()).await.is_err() {
            return;
        }
        if http.closing() {
            return;
        }
        match timeout(LIMIT, tcp.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    }
}

#[tokio::test]
async fn curl_gets_100_continue_at_once_from_a_driver_that_writes_it() {
    if !curl_found() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve_sans_io(tcp));
        }
    });
    let upload = Upload::new("expect-now", 64 * 1024);
    // curl waits up to 10 s for the 100 before it sends the body anyway: an answer
    // well within that can only come from the 100 itself.
    let started = std::time::Instant::now();
    let output = curl(&[
        "-v",
        "--expect100-timeout",
        "10",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &upload.arg(),
        &format!("{url}/now"),
    ])
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "curl waited out its expect timeout: no prompt 100 Continue"
    );
    assert_eq!(
        stdout(&output),
        format!("POST /now 1.1 65536 {:08x};", hash(&upload.data))
    );
    let verbose = String::from_utf8_lossy(&output.stderr);
    assert!(verbose.contains("< HTTP/1.1 100 Continue"), "{verbose}");
}

/// Python's standard `http.client` (another client, its own parser) over one
/// connection: a GET, a chunked POST and a HEAD, each answer read before the next.
#[tokio::test]
async fn python_http_client_keeps_one_connection_for_three_requests() {
    let Some(python) = wm_protocol::testing::interop_python("http.client") else {
        return;
    };
    let (url, counts) = server().await;
    let port = url.rsplit(':').next().unwrap().to_owned();
    let script = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/a?x=1")
r = c.getresponse(); print(r.status, r.read().decode())
c.request("POST", "/b", body=iter([b"hello ", b"world"]), encode_chunked=True,
          headers={"Transfer-Encoding": "chunked"})
r = c.getresponse(); print(r.status, r.read().decode())
c.request("HEAD", "/c")
r = c.getresponse(); print(r.status, repr(r.read()), r.getheader("Content-Length"))
"#;
    let output = timeout(
        LIMIT,
        Command::new(python)
            .args(["-c", script, &port])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python did not finish in time")
    .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout(&output),
        format!(
            "200 GET /a?x=1 1.1 0 {:08x};\n200 POST /b 1.1 11 {:08x};\n200 b'' {}\n",
            hash(b""),
            hash(b"hello world"),
            // HEAD: the length the GET's body would have, and no body.
            format!("HEAD /c 1.1 0 {:08x};", hash(b"")).len()
        )
    );
    assert_eq!(counts.accepted.load(Ordering::SeqCst), 1, "one connection");
}

#[tokio::test]
async fn curl_head_gets_no_body_and_the_connection_stays_usable() {
    if !curl_found() {
        return;
    }
    let (url, counts) = server().await;
    // A body after the HEAD response would be read as the start of the next response.
    let output = curl(&["-I", &format!("{url}/h"), "--next", &format!("{url}/after")]).await;
    let text = stdout(&output);
    let (head, after) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    // The length GET would have had (RFC 9110 §9.3.2).
    let get_length = format!("HEAD /h 1.1 0 {:08x};", hash(b"")).len();
    assert!(
        head.contains(&format!("Content-Length: {get_length}")),
        "{text}"
    );
    assert_eq!(after, format!("GET /after 1.1 0 {:08x};", hash(b"")));
    assert_eq!(counts.accepted.load(Ordering::SeqCst), 1, "one connection");
}

#[tokio::test]
async fn curl_http10_is_answered_and_the_server_closes() {
    if !curl_found() {
        return;
    }
    let (url, counts) = server().await;
    let output = curl(&["--http1.0", "-i", &format!("{url}/old")]).await;
    let text = stdout(&output);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    // HTTP/1.0 without keep-alive: the response says close, and the server closes.
    assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
    assert!(
        text.ends_with(&format!("\r\n\r\nGET /old 1.0 0 {:08x};", hash(b""))),
        "{text}"
    );
    // The server task notes the close just after writing the response.
    timeout(LIMIT, async {
        while counts.closed_by_server.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the server closes the HTTP/1.0 connection");
}
