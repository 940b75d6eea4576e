//! The load test: `wm echo` beside echo servers built on tokio-util codecs,
//! tokio-tungstenite, fastwebsockets and tokio-websockets (and wrk against `wm echo`'s
//! http:// beside a hyper hello server), same load, same run, each server one process on
//! one tokio thread.
//!
//! ```sh
//! cargo build --release -p wm-cli -p wm-benches --bins
//! target/release/load                 # all cells; --quick for a short run
//! ```
//!
//! For each scheme (websocket, text, frame), message size (20 B, 16 KiB) and messages in
//! flight per connection (1, 16), 100 connections send a batch of messages, wait for all
//! the echoes, and again, for a few seconds. Reported per server: messages/s, the server's
//! CPU time per message (from /proc), the p99 of a batch's round trip, and the server's
//! RSS. Then idle memory: 10 000 WebSocket connections opened and left idle, RSS growth
//! per connection. Prints Markdown tables.
//!
//! The servers take turns, five rounds (`--rounds N`), and each figure is the median of
//! its rounds. With `taskset` and two cores or more, every server runs pinned to the last
//! core and the load to the first, so that the two never share one. `--only
//! websocket-20-1,frame-20-16` runs only those cells (scheme, size in bytes, in flight);
//! `--only http` only the wrk rows, `--only idle` only the idle connections.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use wm_benches::process::{cpu_time, prepare_load, rss_kib, sibling, spawn_server, Error, Running};

const CONNECTIONS: usize = 100;
const IDLE_CONNECTIONS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    WebSocket,
    Text,
    Frame,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
            Self::Text => "text",
            Self::Frame => "frame",
        }
    }

    /// The servers to compare: `wm echo` and the anchors for this scheme.
    fn servers(self) -> Vec<Server> {
        match self {
            Self::WebSocket => vec![
                Server::Wm,
                Server::Anchor("tungstenite"),
                Server::Anchor("fastwebsockets"),
                Server::Anchor("tokio-websockets"),
            ],
            Self::Text => vec![Server::Wm, Server::Anchor("lines")],
            Self::Frame => vec![Server::Wm, Server::Anchor("length-delimited")],
        }
    }

    /// One message on the wire, as a client sends it (a WebSocket frame is masked).
    fn message(self, size: usize) -> Vec<u8> {
        let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        match self {
            Self::Text => {
                let mut line = payload;
                *line.last_mut().unwrap() = b'\n';
                line
            }
            Self::Frame => {
                let mut wire = ((size + 4) as u32).to_be_bytes().to_vec();
                wire.extend_from_slice(&payload);
                wire
            }
            Self::WebSocket => {
                let key = [0x12, 0x34, 0x56, 0x78];
                let mut wire = vec![0x82];
                if size < 126 {
                    wire.push(0x80 | size as u8);
                } else {
                    wire.push(0x80 | 126);
                    wire.extend_from_slice(&(size as u16).to_be_bytes());
                }
                wire.extend_from_slice(&key);
                wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
                wire
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Wm,
    Anchor(&'static str),
}

impl Server {
    fn name(self) -> String {
        match self {
            Self::Wm => "wm echo".to_owned(),
            Self::Anchor(kind) => match kind {
                "lines" => "tokio-util LinesCodec".to_owned(),
                "length-delimited" => "tokio-util LengthDelimitedCodec".to_owned(),
                "tungstenite" => "tokio-tungstenite".to_owned(),
                "hyper" => "hyper hello".to_owned(),
                other => other.to_owned(),
            },
        }
    }
}

fn start(server: Server, scheme: &str) -> Result<Running, Error> {
    let (program, args) = match server {
        Server::Wm => (
            sibling("wm"),
            vec!["echo".to_owned(), format!("{scheme}://127.0.0.1:0")],
        ),
        Server::Anchor(kind) => (
            sibling("anchor"),
            vec![kind.to_owned(), "127.0.0.1:0".to_owned()],
        ),
    };
    spawn_server(Command::new(program).args(args)).map_err(|e| {
        format!(
            "cannot start {}: {e} (build with --bins first)",
            server.name()
        )
        .into()
    })
}

/// Counts complete echoed messages in what a server sends back.
#[derive(Default)]
struct ReplyCounter {
    scheme: Option<Scheme>,
    /// Header bytes of the message being read.
    header: Vec<u8>,
    /// Payload bytes still to skip.
    skip: usize,
}

impl ReplyCounter {
    fn new(scheme: Scheme) -> Self {
        Self {
            scheme: Some(scheme),
            ..Self::default()
        }
    }

    fn feed(&mut self, mut data: &[u8]) -> usize {
        let scheme = self.scheme.unwrap();
        if scheme == Scheme::Text {
            return memchr::memchr_iter(b'\n', data).count();
        }
        let mut complete = 0;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                if self.skip == 0 {
                    complete += 1;
                }
                continue;
            }
            self.header.push(data[0]);
            data = &data[1..];
            let payload = match scheme {
                Scheme::Frame if self.header.len() == 4 => {
                    Some(u32::from_be_bytes(self.header[..4].try_into().unwrap()) as usize - 4)
                }
                Scheme::WebSocket if self.header.len() >= 2 => {
                    match (self.header[1] & 0x7F, self.header.len()) {
                        (n @ 0..=125, 2) => Some(n as usize),
                        (126, 4) => {
                            Some(u16::from_be_bytes([self.header[2], self.header[3]]) as usize)
                        }
                        (127, 10) => {
                            Some(u64::from_be_bytes(self.header[2..10].try_into().unwrap()) as usize)
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(payload) = payload {
                self.header.clear();
                if payload == 0 {
                    complete += 1;
                } else {
                    self.skip = payload;
                }
            }
        }
        complete
    }
}

async fn handshake(stream: &mut TcpStream) -> Result<(), Error> {
    stream
        .write_all(
            b"GET /load HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await?;
    let mut head = Vec::new();
    let mut byte = [0; 1];
    // Byte by byte, so that nothing after the head is taken (the server sends nothing
    // before the client does anyway).
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err("closed during the handshake".into());
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(format!("handshake refused: {}", String::from_utf8_lossy(&head)).into());
    }
    Ok(())
}

async fn connect(address: SocketAddr, scheme: Scheme) -> Result<TcpStream, Error> {
    let mut stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    if scheme == Scheme::WebSocket {
        handshake(&mut stream).await?;
    }
    Ok(stream)
}

#[derive(Debug, Clone, Copy)]
struct CellResult {
    messages_per_second: f64,
    cpu_per_message: Duration,
    p99: Duration,
    rss_kib: u64,
}

/// Each figure's median over the runs.
fn median(runs: &[CellResult]) -> CellResult {
    fn mid<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap());
        values[values.len() / 2]
    }
    CellResult {
        messages_per_second: mid(runs.iter().map(|r| r.messages_per_second).collect()),
        cpu_per_message: mid(runs.iter().map(|r| r.cpu_per_message).collect()),
        p99: mid(runs.iter().map(|r| r.p99).collect()),
        rss_kib: mid(runs.iter().map(|r| r.rss_kib).collect()),
    }
}

/// One connection's loop: a batch out, all its echoes back, repeat until `stop`.
async fn client(
    mut stream: TcpStream,
    scheme: Scheme,
    batch: Arc<Vec<u8>>,
    in_flight: usize,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Result<(u64, Vec<u32>), Error> {
    let mut counter = ReplyCounter::new(scheme);
    let mut buf = vec![0; 256 * 1024];
    let mut messages = 0u64;
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        stream.write_all(&batch).await?;
        let mut echoed = 0;
        while echoed < in_flight {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err("server closed".into());
            }
            echoed += counter.feed(&buf[..n]);
        }
        if measuring.load(Ordering::Relaxed) {
            messages += in_flight as u64;
            latencies.push(started.elapsed().as_micros() as u32);
        }
    }
    Ok((messages, latencies))
}

fn run_cell(
    runtime: &tokio::runtime::Runtime,
    server: &Running,
    scheme: Scheme,
    size: usize,
    in_flight: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<CellResult, Error> {
    let one = scheme.message(size);
    let batch = Arc::new(one.repeat(in_flight));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let pid = server.child.id();
    runtime.block_on(async {
        let mut streams = Vec::new();
        for _ in 0..CONNECTIONS {
            streams.push(connect(server.address, scheme).await?);
        }
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|stream| {
                tokio::spawn(client(
                    stream,
                    scheme,
                    batch.clone(),
                    in_flight,
                    measuring.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(warmup).await;
        let cpu_before = cpu_time(pid);
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(duration).await;
        measuring.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed();
        let cpu = cpu_time(pid).saturating_sub(cpu_before);
        let rss = rss_kib(pid);
        stop.store(true, Ordering::Relaxed);
        let mut messages = 0;
        let mut latencies = Vec::new();
        for task in tasks {
            let (count, mut lat) = task.await??;
            messages += count;
            latencies.append(&mut lat);
        }
        latencies.sort_unstable();
        let p99 = latencies
            .get(latencies.len().saturating_sub(1) * 99 / 100)
            .copied()
            .unwrap_or(0);
        Ok(CellResult {
            messages_per_second: messages as f64 / elapsed.as_secs_f64(),
            cpu_per_message: Duration::from_secs_f64(cpu.as_secs_f64() / messages.max(1) as f64),
            p99: Duration::from_micros(p99 as u64),
            rss_kib: rss,
        })
    })
}

/// RSS growth per idle WebSocket connection, with `IDLE_CONNECTIONS` open.
fn idle_memory(runtime: &tokio::runtime::Runtime, server: Server) -> Result<f64, Error> {
    let running = start(server, "websocket")?;
    let pid = running.child.id();
    let address = running.address;
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(pid);
    let streams = runtime.block_on(async {
        let mut streams = Vec::with_capacity(IDLE_CONNECTIONS);
        for _ in 0..IDLE_CONNECTIONS / 250 {
            let batch: Vec<_> = (0..250)
                .map(|_| tokio::spawn(connect(address, Scheme::WebSocket)))
                .collect();
            for task in batch {
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

/// What one wrk run measured.
#[derive(Debug, Clone)]
struct WrkResult {
    requests_per_second: f64,
    /// The server's CPU time per request.
    cpu_per_request: Duration,
    p99: String,
}

/// `wrk` against http://: requests/s, the server's CPU per request and p99, plain or 16
/// pipelined.
fn wrk(server: &Running, pipelined: bool, duration: Duration) -> Result<WrkResult, Error> {
    let address = server.address;
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{}s", duration.as_secs().max(1)),
        "--latency",
    ]);
    if pipelined {
        let script = std::env::temp_dir().join("wm-load-pipeline.lua");
        std::fs::write(
            &script,
            "init = function(args)\n  local r = {}\n  for i = 1, 16 do r[i] = wrk.format(nil, \"/\") end\n  req = table.concat(r)\nend\nrequest = function() return req end\n",
        )?;
        command.arg("-s").arg(script);
    }
    command.arg(format!("http://{address}/"));
    let cpu_before = cpu_time(server.child.id());
    let output = command.output()?;
    let cpu = cpu_time(server.child.id()).saturating_sub(cpu_before);
    let text = String::from_utf8_lossy(&output.stdout);
    let rate: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output: {text}"))?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| v.trim().to_owned())
        // With a pipelining script wrk times no request.
        .filter(|v| v != "0.00us")
        .unwrap_or_else(|| "n/a".to_owned());
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse::<f64>().ok())
        .unwrap_or(rate * duration.as_secs_f64());
    Ok(WrkResult {
        requests_per_second: rate,
        cpu_per_request: Duration::from_secs_f64(cpu.as_secs_f64() / requests.max(1.0)),
        p99,
    })
}

/// `load --drive SCHEME ADDRESS SIZE IN_FLIGHT SECONDS`: only the load, against a server
/// started by hand (to profile it).
fn drive(args: &[String]) -> Result<(), Error> {
    let [scheme, address, size, in_flight, seconds] = args else {
        return Err("usage: load --drive SCHEME ADDRESS SIZE IN_FLIGHT SECONDS".into());
    };
    let scheme = match scheme.as_str() {
        "websocket" => Scheme::WebSocket,
        "text" => Scheme::Text,
        "frame" => Scheme::Frame,
        other => return Err(format!("unknown scheme {other}").into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = Running {
        child: Command::new("sleep").arg(seconds).spawn()?,
        address: address.parse()?,
    };
    let result = run_cell(
        &runtime,
        &server,
        scheme,
        size.parse()?,
        in_flight.parse()?,
        Duration::from_millis(200),
        Duration::from_secs(seconds.parse()?),
    )?;
    println!(
        "{:.0} messages/s, p99 {:.2} ms",
        result.messages_per_second,
        result.p99.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Which cells a run measures (`--only`).
struct Selection(Option<Vec<String>>);

impl Selection {
    fn wants(&self, cell: &str) -> bool {
        self.0
            .as_ref()
            .map_or(true, |cells| cells.iter().any(|c| c == cell))
    }
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--drive") {
        return drive(&args[2..]);
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let quick = args.iter().any(|a| a == "--quick");
    let (warmup, duration, mut rounds) = if quick {
        (Duration::from_millis(300), Duration::from_secs(1), 1)
    } else {
        (Duration::from_millis(300), Duration::from_secs(2), 5)
    };
    if let Some(n) = value("--rounds") {
        rounds = n.parse().map_err(|_| "--rounds takes a number")?;
    }
    let only = Selection(value("--only").map(|v| v.split(',').map(str::to_owned).collect()));
    prepare_load(rounds)?;
    println!();
    // The load runs on one thread, the server on another: the two cores of the machine.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    println!("| scheme | size | in flight | server | messages/s | ratio to best anchor | server CPU µs/msg | CPU ratio to best anchor | p99 | RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for scheme in [Scheme::WebSocket, Scheme::Text, Scheme::Frame] {
        for size in [20, 16 * 1024] {
            for in_flight in [1, 16] {
                if !only.wants(&format!("{}-{size}-{in_flight}", scheme.name())) {
                    continue;
                }
                // The servers take turns, `rounds` times, so that a slow moment of the
                // machine does not fall on one of them only; each figure is the median.
                let servers = scheme.servers();
                let mut runs: Vec<Vec<CellResult>> = servers.iter().map(|_| Vec::new()).collect();
                for _ in 0..rounds {
                    for (server, runs) in servers.iter().zip(&mut runs) {
                        let running = start(*server, scheme.name())?;
                        runs.push(run_cell(
                            &runtime, &running, scheme, size, in_flight, warmup, duration,
                        )?);
                    }
                }
                let rows: Vec<(Server, CellResult)> = servers
                    .into_iter()
                    .zip(runs)
                    .map(|(server, runs)| (server, median(&runs)))
                    .collect();
                let anchors = || {
                    rows.iter()
                        .filter(|(s, _)| *s != Server::Wm)
                        .map(|(_, r)| r)
                };
                let best_rate = anchors().map(|r| r.messages_per_second).fold(0.0, f64::max);
                let best_cpu = anchors()
                    .map(|r| r.cpu_per_message.as_secs_f64())
                    .fold(f64::INFINITY, f64::min);
                for (server, r) in &rows {
                    let cpu = r.cpu_per_message.as_secs_f64();
                    let (rate_ratio, cpu_ratio) =
                        (r.messages_per_second / best_rate, cpu / best_cpu);
                    let (rate_ratio, cpu_ratio) = if *server == Server::Wm {
                        (
                            format!("**{rate_ratio:.2}×**"),
                            format!("**{cpu_ratio:.2}×**"),
                        )
                    } else {
                        (format!("{rate_ratio:.2}×"), format!("{cpu_ratio:.2}×"))
                    };
                    println!(
                        "| {} | {} | {} | {} | {:.0} | {} | {:.2} | {} | {:.2} ms | {:.1} |",
                        scheme.name(),
                        if size == 20 { "20 B" } else { "16 KiB" },
                        in_flight,
                        server.name(),
                        r.messages_per_second,
                        rate_ratio,
                        cpu * 1e6,
                        cpu_ratio,
                        r.p99.as_secs_f64() * 1e3,
                        r.rss_kib as f64 / 1024.0,
                    );
                }
            }
        }
    }

    println!();
    let wrk_found = Command::new("wrk").arg("--version").output().is_ok();
    if only.wants("http") && wrk_found {
        println!(
            "| http | server | requests/s | ratio | server CPU µs/request | CPU ratio | p99 |"
        );
        println!("|---|---|---|---|---|---|---|");
        for pipelined in [false, true] {
            let mut wm_runs = Vec::new();
            let mut hyper_runs = Vec::new();
            for _ in 0..rounds {
                let wm = start(Server::Wm, "http")?;
                wm_runs.push(wrk(&wm, pipelined, duration)?);
                drop(wm);
                let hyper = start(Server::Anchor("hyper"), "http")?;
                hyper_runs.push(wrk(&hyper, pipelined, duration)?);
                drop(hyper);
            }
            // Medians of each figure.
            let median = |runs: &[WrkResult]| {
                let mid = |mut v: Vec<f64>| {
                    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    v[v.len() / 2]
                };
                let mut by_rate = runs.to_vec();
                by_rate.sort_by(|a, b| {
                    a.requests_per_second
                        .partial_cmp(&b.requests_per_second)
                        .unwrap()
                });
                (
                    mid(runs.iter().map(|r| r.requests_per_second).collect()),
                    mid(runs
                        .iter()
                        .map(|r| r.cpu_per_request.as_secs_f64())
                        .collect()),
                    by_rate[by_rate.len() / 2].p99.clone(),
                )
            };
            let (wm_rate, wm_cpu, wm_p99) = median(&wm_runs);
            let (hyper_rate, hyper_cpu, hyper_p99) = median(&hyper_runs);
            let mode = if pipelined { "16 pipelined" } else { "plain" };
            println!(
                "| {mode} | wm echo | {wm_rate:.0} | **{:.2}×** | {:.2} | **{:.2}×** | {wm_p99} |",
                wm_rate / hyper_rate,
                wm_cpu * 1e6,
                wm_cpu / hyper_cpu,
            );
            println!(
                "| {mode} | hyper hello | {hyper_rate:.0} | 1.00× | {:.2} | 1.00× | {hyper_p99} |",
                hyper_cpu * 1e6
            );
        }
    } else if only.wants("http") {
        println!("(wrk not found: the http:// rows need Debian's wrk)");
    }

    if !only.wants("idle") {
        return Ok(());
    }
    println!();
    println!("| idle WebSocket connections ({IDLE_CONNECTIONS}) | server | bytes of RSS per connection |");
    println!("|---|---|---|");
    for server in Scheme::WebSocket.servers() {
        let per_connection = idle_memory(&runtime, server)?;
        println!("| | {} | {:.0} |", server.name(), per_connection);
    }
    Ok(())
}
