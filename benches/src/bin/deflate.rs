//! The permessage-deflate load test: an echo of 1 KiB JSON messages through compressed
//! WebSockets, `wm echo --deflate` (no context takeover, the default) and `wm echo
//! --deflate-takeover` beside Python `websockets` 13.1 and Node `ws` 8.18.0 echo servers
//! (each with permessage-deflate as it ships: Python with 12-bit windows and memLevel 5,
//! Node with 15-bit windows; both with context takeover), and `wm echo` without deflate
//! for the bytes on the wire. Same load, same run, each server one process pinned to one
//! core. Then the memory a connection holds per negotiation mode: 10 000 connections,
//! each after one compressed message each way, left idle.
//!
//! ```sh
//! source conformance/interop-peers.sh      # Python websockets and Node ws (as .ci/run)
//! cargo build --release -p wm-cli -p wm-benches --bins
//! target/release/deflate                   # --quick for a short run, --rounds N
//! ```
//!
//! The client is wm-websocket offering what browsers offer (`permessage-deflate;
//! client_max_window_bits`); 50 connections each send a message and wait for its echo, for
//! a few seconds. Reported per server: messages/s, the server's CPU time per message (from
//! /proc: all its threads, Node's zlib pool included), and the bytes on the wire per
//! message both ways, against the uncompressed run. The servers take turns, three rounds
//! by default, and each figure is the median. `--only memory` or `--only echo` runs one
//! part.

use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use wm_benches::process::{cpu_time, prepare_load, rss_kib, sibling, spawn_server, Error, Running};
use wm_websocket::deflate::DeflateConfig;
use wm_websocket::handshake::ClientRequest;
use wm_websocket::{connect_with, Config, Message, WebSocketStream};

/// Connections in the echo test.
const CONNECTIONS: usize = 50;
/// Connections in the memory test.
const IDLE_CONNECTIONS: usize = 10_000;
/// Distinct messages the clients cycle through.
const MESSAGES: usize = 64;
/// Each message's length in bytes.
const MESSAGE_SIZE: usize = 1024;

const PEERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/wm-websocket/tests/interop/"
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    WmPlain,
    WmDeflate,
    WmTakeover,
    Python,
    Node,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Self::WmPlain => "wm echo (no deflate)",
            Self::WmDeflate => "wm echo --deflate",
            Self::WmTakeover => "wm echo --deflate-takeover",
            Self::Python => "Python websockets 13.1",
            Self::Node => "Node ws 8.18.0",
        }
    }

    fn compresses(self) -> bool {
        self != Self::WmPlain
    }

    fn start(self) -> Result<Running, Error> {
        let command = match self {
            Self::WmPlain | Self::WmDeflate | Self::WmTakeover => {
                let mut command = Command::new(sibling("wm"));
                command.arg("echo");
                match self {
                    Self::WmDeflate => command.arg("--deflate"),
                    Self::WmTakeover => command.arg("--deflate-takeover"),
                    _ => &mut command,
                };
                command.arg("websocket://127.0.0.1:0");
                command
            }
            Self::Python => {
                let python =
                    std::env::var("WM_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
                let mut command = Command::new(python);
                command.arg(format!("{PEERS}peer.py")).arg("server");
                command
            }
            Self::Node => {
                let mut command = Command::new("node");
                command
                    .env(
                        "NODE_PATH",
                        std::env::var("WM_INTEROP_NODE_PATH").unwrap_or_default(),
                    )
                    .arg(format!("{PEERS}peer.js"))
                    .arg("server");
                command
            }
        };
        spawn_server(&command).map_err(|e| {
            format!(
                "cannot start {}: {e} (build with --bins; source conformance/interop-peers.sh)",
                self.name()
            )
            .into()
        })
    }
}

/// Bytes read and written through the client's sockets.
#[derive(Default)]
struct Wire {
    read: AtomicU64,
    written: AtomicU64,
}

impl Wire {
    fn total(&self) -> u64 {
        self.read.load(Ordering::Relaxed) + self.written.load(Ordering::Relaxed)
    }
}

/// A socket that counts what goes through it.
struct Counted {
    inner: TcpStream,
    wire: Arc<Wire>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        self.wire.read.fetch_add(read, Ordering::Relaxed);
        result
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            self.wire.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// 1 KiB JSON messages as a chat or market-data feed sends them: the same keys, other
/// values in each.
fn messages() -> Vec<String> {
    let names = ["ana", "bo", "chen", "dev", "eli", "fay", "gus", "hana"];
    let symbols = [
        "AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "ORCL",
    ];
    (0..MESSAGES)
        .map(|i| {
            let mut text = format!(
                r#"{{"type":"update","seq":{},"user":"{}","room":"lobby-{}","quotes":["#,
                1_000_000 + i * 7919,
                names[i % names.len()],
                i % 5
            );
            let mut k = 0;
            while text.len() < MESSAGE_SIZE - 80 {
                let symbol = symbols[(i + k) % symbols.len()];
                let price = 100.0 + ((i * 37 + k * 11) % 997) as f64 / 10.0;
                text.push_str(&format!(
                    r#"{{"symbol":"{symbol}","price":{price:.2},"volume":{}}},"#,
                    (i * 131 + k * 17) % 10_000
                ));
                k += 1;
            }
            text.pop();
            text.push_str(r#"],"text":""#);
            while text.len() < MESSAGE_SIZE - 2 {
                text.push('x');
            }
            text.push_str(r#""}"#);
            assert_eq!(text.len(), MESSAGE_SIZE);
            text
        })
        .collect()
}

async fn open(
    address: std::net::SocketAddr,
    wire: Arc<Wire>,
) -> Result<(WebSocketStream<Counted>, bool), Error> {
    let tcp = TcpStream::connect(address).await?;
    tcp.set_nodelay(true)?;
    let request = ClientRequest::new(&format!("ws://{address}/"))?.deflate(DeflateConfig::client());
    let (ws, response) =
        connect_with(Counted { inner: tcp, wire }, request, Config::default()).await?;
    Ok((ws, response.deflate().is_some()))
}

/// Sends `text` and waits for its echo.
async fn echo(ws: &mut WebSocketStream<Counted>, text: &str) -> Result<(), Error> {
    ws.send(Message::Text(text.to_owned())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(echoed))) if echoed == text => return Ok(()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => return Err(format!("not the echo: {other:?}").into()),
        }
    }
}

struct EchoResult {
    messages_per_second: f64,
    cpu_per_message: Duration,
    wire_per_message: f64,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn run_echo(
    runtime: &tokio::runtime::Runtime,
    server: Server,
    texts: &Arc<Vec<String>>,
    warmup: Duration,
    duration: Duration,
) -> Result<EchoResult, Error> {
    let running = server.start()?;
    let pid = running.child.id();
    let address = running.address;
    runtime.block_on(async {
        let wire = Arc::new(Wire::default());
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for c in 0..CONNECTIONS {
            let (mut ws, negotiated) = open(address, wire.clone()).await?;
            if negotiated != server.compresses() {
                return Err(format!("{}: negotiated {negotiated}", server.name()).into());
            }
            let (texts, count, stop) = (texts.clone(), count.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    echo(&mut ws, &texts[i % texts.len()]).await?;
                    count.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                Ok::<_, Error>(())
            }));
        }
        tokio::time::sleep(warmup).await;
        let (messages_before, wire_before, cpu_before) =
            (count.load(Ordering::Relaxed), wire.total(), cpu_time(pid));
        let started = tokio::time::Instant::now();
        tokio::time::sleep(duration).await;
        let (messages_after, wire_after, cpu_after) =
            (count.load(Ordering::Relaxed), wire.total(), cpu_time(pid));
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await??;
        }
        let messages = (messages_after - messages_before).max(1);
        Ok(EchoResult {
            messages_per_second: messages as f64 / elapsed.as_secs_f64(),
            cpu_per_message: (cpu_after - cpu_before) / messages as u32,
            wire_per_message: (wire_after - wire_before) as f64 / messages as f64,
        })
    })
}

/// RSS growth per connection with `IDLE_CONNECTIONS` open, each after one message each
/// way.
fn idle_memory(
    runtime: &tokio::runtime::Runtime,
    server: Server,
    texts: &Arc<Vec<String>>,
) -> Result<f64, Error> {
    let running = server.start()?;
    let pid = running.child.id();
    let address = running.address;
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(pid);
    let streams = runtime.block_on(async {
        let wire = Arc::new(Wire::default());
        let mut streams = Vec::with_capacity(IDLE_CONNECTIONS);
        for batch in 0..IDLE_CONNECTIONS / 250 {
            let tasks: Vec<_> = (0..250)
                .map(|i| {
                    let (wire, texts) = (wire.clone(), texts.clone());
                    tokio::spawn(async move {
                        let (mut ws, negotiated) = open(address, wire).await?;
                        if negotiated != server.compresses() {
                            return Err(
                                format!("{}: negotiated {negotiated}", server.name()).into()
                            );
                        }
                        echo(&mut ws, &texts[(batch + i) % texts.len()]).await?;
                        Ok::<_, Error>(ws)
                    })
                })
                .collect();
            for task in tasks {
                streams.push(task.await??);
            }
        }
        Ok::<_, Error>(streams)
    })?;
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(pid);
    drop(streams);
    Ok((after.saturating_sub(before) as f64 * 1024.0) / IDLE_CONNECTIONS as f64)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let quick = args.iter().any(|a| a == "--quick");
    let (warmup, duration, mut rounds) = if quick {
        (Duration::from_millis(300), Duration::from_secs(1), 1)
    } else {
        (Duration::from_millis(500), Duration::from_secs(3), 3)
    };
    if let Some(n) = value("--rounds") {
        rounds = n.parse().map_err(|_| "--rounds takes a number")?;
    }
    let only = value("--only").cloned();
    let wants = |part: &str| only.as_deref().map_or(true, |o| o == part);
    prepare_load(rounds)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let texts = Arc::new(messages());

    if wants("echo") {
        let servers = [
            Server::WmDeflate,
            Server::WmTakeover,
            Server::Python,
            Server::Node,
            Server::WmPlain,
        ];
        let mut results: Vec<Vec<EchoResult>> = servers.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (server, runs) in servers.iter().zip(&mut results) {
                runs.push(run_echo(&runtime, *server, &texts, warmup, duration)?);
            }
        }
        let medians: Vec<(f64, f64, f64)> = results
            .iter()
            .map(|runs| {
                let pick = |f: &dyn Fn(&EchoResult) -> f64| {
                    median(&mut runs.iter().map(f).collect::<Vec<_>>())
                };
                (
                    pick(&|r| r.messages_per_second),
                    pick(&|r| r.cpu_per_message.as_secs_f64() * 1e6),
                    pick(&|r| r.wire_per_message),
                )
            })
            .collect();
        let anchors = &medians[2..4];
        let best_rate = anchors.iter().map(|m| m.0).fold(0.0, f64::max);
        let best_cpu = anchors.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
        let plain_wire = medians[4].2;
        println!();
        println!("| 1 KiB JSON echo, {CONNECTIONS} connections | messages/s | ratio to best anchor | server CPU µs/msg | CPU ratio to best anchor | bytes on the wire per message (both ways) | of uncompressed |");
        println!("|---|---|---|---|---|---|---|");
        for (server, (rate, cpu, wire)) in servers.iter().zip(&medians) {
            println!(
                "| {} | {rate:.0} | {:.2}× | {cpu:.2} | {:.2}× | {wire:.0} | {:.0}% |",
                server.name(),
                rate / best_rate,
                cpu / best_cpu,
                100.0 * wire / plain_wire
            );
        }
    }

    if wants("memory") {
        println!();
        println!("| negotiation ({IDLE_CONNECTIONS} connections, one message each way, then idle) | server | bytes of RSS per connection |");
        println!("|---|---|---|");
        for (mode, server) in [
            ("off", Server::WmPlain),
            ("default: no context takeover", Server::WmDeflate),
            ("context takeover both ways", Server::WmTakeover),
        ] {
            let per_connection = idle_memory(&runtime, server, &texts)?;
            println!("| {mode} | {} | {per_connection:.0} |", server.name());
        }
    }
    Ok(())
}
