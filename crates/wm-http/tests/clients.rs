//! A real client against a server made of `HttpCodec` and `Framed` on 127.0.0.1: curl's
//! keep-alive reuse, a 100 KiB upload, `Expect: 100-continue`, HEAD and HTTP/1.0.
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
