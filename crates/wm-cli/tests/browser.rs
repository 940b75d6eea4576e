//! `wm demo` in a real browser: headless Chromium opens the chat page in two tabs, the
//! tabs chat through the server, and the test reads what each tab shows.
//!
//! Chromium is driven over the DevTools protocol, which is JSON over a WebSocket: this
//! crate's own client (wm-websocket) talks to it. Needs Debian's `chromium` (or
//! `WM_CHROMIUM=/path/to/chrome`); without it the test is skipped, except under CI, where
//! `.ci/run` installs it and a missing browser fails the test.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use wm_websocket::{Message, WebSocketStream};

mod support;
use support::{frames, recording_proxy};

/// Every wait in this test is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

fn chromium() -> Option<String> {
    if let Some(path) = std::env::var_os("WM_CHROMIUM") {
        return Some(path.to_string_lossy().into_owned());
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
        .map(str::to_owned)
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Starts `wm demo` on free ports; returns it, the page's address and the chat's.
async fn demo() -> (Killed, SocketAddr, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wm"))
        .args(["demo", "--http", "127.0.0.1:0", "--ws", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = within("wm demo's URL", lines.next_line())
        .await
        .unwrap()
        .expect("wm demo printed its URL");
    let address = |scheme: &str| -> SocketAddr {
        line.split(scheme)
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no {scheme} URL in {line:?}"))
            .parse()
            .unwrap()
    };
    (Killed(child), address("http://"), address("ws://"))
}

/// Starts headless Chromium with remote debugging; returns it and its DevTools URL.
async fn browser(binary: &str, profile: &std::path::Path) -> (Killed, String) {
    let mut child = Command::new(binary)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = within("DevTools URL", async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                return url.trim().to_owned();
            }
        }
        panic!("Chromium exited without a DevTools URL");
    })
    .await;
    // Keep draining its stderr so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (Killed(child), url)
}

/// A DevTools protocol session over one WebSocket.
struct DevTools {
    ws: WebSocketStream<TcpStream>,
    next_id: u64,
}

impl DevTools {
    async fn connect(url: &str) -> Self {
        let authority = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let tcp = TcpStream::connect(authority).await.unwrap();
        let (ws, _) = within("DevTools handshake", wm_websocket::connect(tcp, url))
            .await
            .unwrap();
        Self { ws, next_id: 1 }
    }

    /// Sends a command (to a page's session, if given) and returns its result.
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::Text(command.to_string()))
            .await
            .unwrap();
        within(method, async {
            loop {
                let message = self.ws.next().await.expect("DevTools closed").unwrap();
                let Message::Text(text) = message else {
                    continue;
                };
                let reply: Value = serde_json::from_str(&text).unwrap();
                // Events have no id; other commands' replies are not ours.
                if reply["id"] == json!(id) {
                    if let Some(error) = reply.get("error") {
                        panic!("{method} failed: {error}");
                    }
                    return reply["result"].clone();
                }
            }
        })
        .await
    }

    /// Opens `url` in a new tab; returns the tab's target and session ids.
    async fn open_tab(&mut self, url: &str) -> (Value, String) {
        let target = self
            .call(None, "Target.createTarget", json!({"url": url}))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        (target["targetId"].clone(), session)
    }

    /// Evaluates JavaScript in a tab and returns its value.
    async fn eval(&mut self, tab: &str, expression: &str) -> Value {
        let result = self
            .call(
                Some(tab),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in a tab.
    async fn wait_for(&mut self, tab: &str, what: &str, expression: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if self.eval(tab, expression).await == json!(true) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the tab's chat log shows, one line per entry.
    async fn log(&mut self, tab: &str) -> String {
        self.eval(tab, "document.getElementById('log').innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Types `text` into the tab's message box and presses Send.
    async fn say(&mut self, tab: &str, text: &str) {
        let script = format!(
            "document.getElementById('text').value = {}; document.getElementById('send').click(); true",
            json!(text)
        );
        assert_eq!(self.eval(tab, &script).await, json!(true));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_chat_through_the_demo_in_headless_chromium() {
    let Some(binary) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium is required in CI (.ci/run installs Debian's chromium)"
        );
        eprintln!("skipped: no chromium (set WM_CHROMIUM or install Debian's chromium)");
        return;
    };
    let (_demo, page, chat) = demo().await;
    // The second tab reaches the chat through a proxy that records its bytes.
    let (proxy, recorded) = recording_proxy(chat).await;
    let profile = std::env::temp_dir().join(format!("wm-chromium-{}", std::process::id()));
    let (_browser, devtools_url) = browser(&binary, &profile).await;
    let mut devtools = DevTools::connect(&devtools_url).await;

    let url = format!("http://{page}/");
    let (_, ann) = devtools.open_tab(&url).await;
    devtools
        .wait_for(
            &ann,
            "first tab connected",
            "document.body.dataset.state === 'open'",
        )
        .await;
    let (bob_target, bob) = devtools
        .open_tab(&format!("{url}?ws_port={}", proxy.port()))
        .await;
    devtools
        .wait_for(
            &bob,
            "second tab connected",
            "document.body.dataset.state === 'open'",
        )
        .await;

    // Each tab was welcomed with its name; the first one saw the second join. The welcome
    // is a message after the 101, so it may land after `onopen` has run: wait for it.
    devtools
        .wait_for(
            &bob,
            "the welcome",
            "document.getElementById('name').value !== ''",
        )
        .await;
    let bob_name = devtools
        .eval(&bob, "document.getElementById('name').value")
        .await;
    let bob_name = bob_name.as_str().unwrap().to_owned();
    assert!(bob_name.starts_with("guest-"), "{bob_name}");
    devtools
        .wait_for(
            &ann,
            "the join notice",
            &format!(
                "document.getElementById('log').innerText.includes({})",
                json!(format!("{bob_name} joined"))
            ),
        )
        .await;

    devtools.say(&ann, "hello from the first tab").await;
    devtools.say(&bob, "and hi from the second ✓").await;
    // Long enough for the server to compress it (from 128 bytes).
    let long = "compress me, ".repeat(20);
    devtools.say(&bob, &long).await;
    for tab in [&ann, &bob] {
        devtools
            .wait_for(
                tab,
                "both messages shown",
                &format!(
                    "document.getElementById('log').innerText.includes('hello from the first tab') && \
                     document.getElementById('log').innerText.includes('and hi from the second ✓') && \
                     document.getElementById('log').innerText.includes({})",
                    json!(long.trim_end())
                ),
            )
            .await;
    }
    let ann_log = devtools.log(&ann).await;
    let bob_log = devtools.log(&bob).await;
    eprintln!("first tab shows:\n{ann_log}");
    // The server orders the room: both tabs show the two messages in the same order.
    let order = |log: &str| {
        (
            log.find("hello from the first tab").unwrap(),
            log.find("and hi from the second ✓").unwrap(),
        )
    };
    let (a1, a2) = order(&ann_log);
    let (b1, b2) = order(&bob_log);
    assert_eq!(a1 < a2, b1 < b2, "ann:\n{ann_log}\nbob:\n{bob_log}");
    assert!(
        bob_log.contains(&format!("{bob_name}:and hi from the second ✓"))
            || bob_log.contains(&format!("{bob_name}: and hi from the second ✓")),
        "{bob_log}"
    );

    // permessage-deflate on the wire: Chromium offered it, the demo accepted it, and
    // compressed frames (RSV1) went both ways through the proxy.
    {
        let recorded = recorded.lock().unwrap();
        let (request, sent) = frames(&recorded.to_server);
        let (answer, received) = frames(&recorded.to_client);
        assert!(
            request.contains("Sec-WebSocket-Extensions: permessage-deflate"),
            "{request}"
        );
        assert!(
            answer.contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"),
            "{answer}"
        );
        let compressed = |frames: &[(u8, usize)]| frames.iter().any(|&(b0, _)| b0 == 0xc1);
        assert!(compressed(&sent), "the browser's frames: {sent:02x?}");
        assert!(
            compressed(&received),
            "the server's frames: {received:02x?}"
        );
        // And the demo's short messages went out uncompressed.
        assert!(
            received.iter().any(|&(b0, _)| b0 == 0x81),
            "{received:02x?}"
        );
    }

    // Closing a tab closes its WebSocket: the other tab sees it leave.
    devtools
        .call(None, "Target.closeTarget", json!({"targetId": bob_target}))
        .await;
    devtools
        .wait_for(
            &ann,
            "the leave notice",
            &format!(
                "document.getElementById('log').innerText.includes({})",
                json!(format!("{bob_name} left"))
            ),
        )
        .await;
    let _ = std::fs::remove_dir_all(&profile);
}
