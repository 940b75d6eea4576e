//! The cluster load test: fan-out through Redis pub/sub against the same load on one node.
//!
//! ```sh
//! cargo build --release -p wm-benches --bins
//! target/release/cluster                   # --quick for a short run, --rounds N
//! ```
//!
//! Needs `redis-server` (Debian's package); the test starts one of its own on a free
//! 127.0.0.1 port, without persistence. Nodes are this binary run again as `cluster node`:
//! a `text://` listener whose line `all …` sends the rest to every connection. Three
//! set-ups, each with 2,000 receiving connections and one publishing connection:
//!
//! * `broadcast`: one node without a cluster, a loop over the listener's connections
//!   (what `Endpoint::broadcast` does: the limit);
//! * `1 node`: one node with a cluster (local delivery, and one publish nobody reads);
//! * `2 nodes`: two nodes × 1,000 connections, the publisher on the first.
//!
//! Throughput: the publisher sends 2,000 messages back to back; deliveries per second
//! until every connection has all of them, and how many envelopes a Redis round trip
//! carried meanwhile (the publishing node's `ClusterStats`). Latency: 50 messages a
//! second for a few seconds (each is 2,000 writes on one core: a quarter of it), each
//! stamped with the load's clock; p50 / p99 / max from the stamp to each delivery.
//! Memory: a node's resident set per connection at 10,000 connections, each bound to a
//! uid and in one of 100 groups, against the same connections without a cluster.
//! Nodes and Redis share the servers' core, the load has its own (when there are two);
//! the set-ups take turns, three rounds by default, medians.

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wm_benches::process::{prepare_load, rss_kib, spawn_server, Error, Running};
use wm_protocol::testing::RedisServer;

/// Receiving connections in the fan-out tests.
const RECEIVERS: usize = 2000;
/// Messages in the throughput test.
const BURST: usize = 2000;
/// Messages a second in the latency test.
const RATE: u64 = 50;
/// Connections in the memory test.
const MEMBERS: usize = 10_000;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("node") {
        return node(args.get(2).map(String::as_str));
    }
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|at| args.get(at + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let Some(redis) = RedisServer::start() else {
        return Err("redis-server is needed".into());
    };
    prepare_load(rounds)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let seconds = if quick { 2 } else { 5 };
    runtime.block_on(async {
        println!(
            "\nFan-out: {RECEIVERS} receivers, {BURST} messages back to back; latency at {RATE}/s for {seconds} s"
        );
        println!(
            "{:<10} {:>14} {:>9} {:>9} {:>9} {:>11}",
            "set-up", "deliveries/s", "p50 µs", "p99 µs", "max µs", "msgs/trip"
        );
        // The set-ups take turns, round after round, so that the machine's drift over the
        // run does not fall on one of them.
        let setups = [Setup::Broadcast, Setup::OneNode, Setup::TwoNodes];
        let mut runs: Vec<Vec<Run>> = setups.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (setup, runs) in setups.iter().zip(&mut runs) {
                runs.push(fan_out(*setup, &redis, seconds).await?);
            }
        }
        for (setup, runs) in setups.iter().zip(&runs) {
            let median = |f: &dyn Fn(&Run) -> f64| {
                let mut v: Vec<f64> = runs.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            println!(
                "{:<10} {:>14.0} {:>9.0} {:>9.0} {:>9.0} {:>11}",
                setup.name(),
                median(&|r| r.deliveries_per_second),
                median(&|r| r.p50),
                median(&|r| r.p99),
                median(&|r| r.max),
                match setup {
                    Setup::Broadcast => "-".to_owned(),
                    _ => format!("{:.1}", median(&|r| r.per_trip)),
                }
            );
        }
        println!("\nMemory: {MEMBERS} connections on one node, each bound to a uid and in one of 100 groups");
        for cluster in [false, true] {
            let mut per = Vec::new();
            for _ in 0..rounds {
                per.push(memory(cluster, &redis).await?);
            }
            per.sort_unstable();
            println!(
                "{:<22} {:>8} B/connection",
                if cluster { "cluster, membership" } else { "no cluster" },
                per[per.len() / 2]
            );
        }
        Ok::<_, Error>(())
    })?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Broadcast,
    OneNode,
    TwoNodes,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Self::Broadcast => "broadcast",
            Self::OneNode => "1 node",
            Self::TwoNodes => "2 nodes",
        }
    }
}

struct Run {
    deliveries_per_second: f64,
    p50: f64,
    p99: f64,
    max: f64,
    per_trip: f64,
}

fn start_node(redis: Option<&RedisServer>) -> Result<Running, Error> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("node");
    if let Some(redis) = redis {
        command.arg(redis.url());
    }
    spawn_server(&command)
}

/// A line connection to a node.
struct Line {
    reader: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Line {
    async fn connect(node: &Running) -> Result<Self, Error> {
        let stream = TcpStream::connect(node.address).await?;
        // Each stamped message goes out at once, not after the previous one's ACK.
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        Ok(Self {
            reader: BufReader::new(read).lines(),
            writer,
        })
    }

    async fn send(&mut self, line: &str) -> Result<(), Error> {
        self.writer.write_all(line.as_bytes()).await?;
        self.writer.write_all(b"\n").await?;
        Ok(())
    }

    async fn line(&mut self) -> Result<String, Error> {
        let line = tokio::time::timeout(Duration::from_secs(30), self.reader.next_line())
            .await
            .map_err(|_| "no line in 30 s")??;
        line.ok_or_else(|| "the node closed".into())
    }

    /// A command the node answers: waits for the answer.
    async fn ask(&mut self, line: &str) -> Result<String, Error> {
        self.send(line).await?;
        self.line().await
    }
}

async fn fan_out(setup: Setup, redis: &RedisServer, seconds: u64) -> Result<Run, Error> {
    let nodes: Vec<Running> = match setup {
        Setup::Broadcast => vec![start_node(None)?],
        Setup::OneNode => vec![start_node(Some(redis))?],
        Setup::TwoNodes => vec![start_node(Some(redis))?, start_node(Some(redis))?],
    };
    let mut receivers = Vec::with_capacity(RECEIVERS);
    for i in 0..RECEIVERS {
        let mut line = Line::connect(&nodes[i % nodes.len()]).await?;
        // Answered once the node has the connection, so every receiver is in before the
        // first message.
        line.ask("ping").await?;
        receivers.push(line);
    }
    let mut publisher = Line::connect(&nodes[0]).await?;
    publisher.ask("ping").await?;
    let before = stats(&mut publisher).await?;
    let clock = Instant::now();

    // Throughput: a burst, then every receiver reads all of it.
    let started = Instant::now();
    let mut burst = String::new();
    for n in 0..BURST {
        burst.push_str(&format!("all 0 {n}\n"));
    }
    publisher.writer.write_all(burst.as_bytes()).await?;
    let tasks: Vec<_> = receivers
        .into_iter()
        .map(|mut line| {
            tokio::spawn(async move {
                for _ in 0..BURST {
                    line.line().await?;
                }
                Ok::<_, Error>(line)
            })
        })
        .collect();
    let mut receivers = Vec::with_capacity(RECEIVERS);
    for task in tasks {
        receivers.push(task.await??);
    }
    let deliveries_per_second = (BURST * RECEIVERS) as f64 / started.elapsed().as_secs_f64();
    let after = stats(&mut publisher).await?;
    let per_trip = match (before, after) {
        (Some((p0, t0)), Some((p1, t1))) if t1 > t0 => (p1 - p0) as f64 / (t1 - t0) as f64,
        _ => 0.0,
    };

    // Latency: a steady rate, each message stamped.
    let count = RATE * seconds;
    let tasks: Vec<_> = receivers
        .into_iter()
        .map(|mut line| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let text = line.line().await?;
                    let stamp: u64 = text
                        .split(' ')
                        .next()
                        .and_then(|t| t.parse().ok())
                        .ok_or("no stamp")?;
                    let now = clock.elapsed().as_micros() as u64;
                    latencies.push(now.saturating_sub(stamp) as u32);
                }
                Ok::<_, Error>(latencies)
            })
        })
        .collect();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    for n in 0..count {
        tick.tick().await;
        let stamp = clock.elapsed().as_micros();
        publisher.send(&format!("all {stamp} {n}")).await?;
    }
    let mut latencies = Vec::with_capacity(count as usize * RECEIVERS);
    for task in tasks {
        latencies.extend(task.await??);
    }
    latencies.sort_unstable();
    let at = |q: f64| f64::from(latencies[((latencies.len() - 1) as f64 * q) as usize]);
    Ok(Run {
        deliveries_per_second,
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
        per_trip,
    })
}

/// The node's published envelopes and publishing round trips so far.
async fn stats(line: &mut Line) -> Result<Option<(u64, u64)>, Error> {
    let answer = line.ask("stats").await?;
    let mut words = answer.split(' ').skip(1);
    Ok(match (words.next(), words.next()) {
        (Some(p), Some(t)) => Some((p.parse()?, t.parse()?)),
        _ => None,
    })
}

async fn memory(cluster: bool, redis: &RedisServer) -> Result<u64, Error> {
    let node = start_node(cluster.then_some(redis))?;
    let pid = node.child.id();
    let mut probe = Line::connect(&node).await?;
    probe.ask("ping").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid);
    let mut members = Vec::with_capacity(MEMBERS);
    for i in 0..MEMBERS {
        let mut line = Line::connect(&node).await?;
        line.ask(&format!("uid user-{i}")).await?;
        line.ask(&format!("join group-{}", i % 100)).await?;
        members.push(line);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    drop(members);
    Ok(after.saturating_sub(before) * 1024 / MEMBERS as u64)
}

/// `cluster node [REDIS_URL]`: a `text://` listener on a free port. Lines: `all REST`
/// sends REST to every other connection (through the cluster, or the listener's
/// connections without one); `uid U`, `join G` (answered `ok`); `ping` (`pong`); `stats`
/// (`stats PUBLISHED ROUND_TRIPS`). Serves until its stdin closes.
fn node(redis: Option<&str>) -> Result<(), Error> {
    use wm_server::cluster::{Cluster, ClusterOptions};
    use wm_server::{Message, Worker};
    let cluster = match redis {
        Some(url) => Some(Cluster::connect_with(url, ClusterOptions::default())?),
        None => None,
    };
    let mut worker = Worker::new("text://127.0.0.1:0")?;
    if let Some(cluster) = &cluster {
        worker = worker.cluster(cluster.clone());
    }
    let c = cluster.clone();
    let worker = worker
        .on_message(move |connection, message| {
            let Message::Text(line) = message else { return };
            let (command, rest) = line.split_once(' ').unwrap_or((&line, ""));
            let me = connection.client_id();
            let reply = match (command, &c, me) {
                ("all", Some(cluster), Some(me)) => {
                    let _ = cluster.send_to_all_except(rest.to_owned(), &[me]);
                    None
                }
                ("all", _, _) => {
                    for other in connection.endpoint().connections() {
                        if other != *connection {
                            let _ = other.send(rest.to_owned());
                        }
                    }
                    None
                }
                ("uid", Some(cluster), Some(me)) => {
                    let _ = cluster.bind_uid(me, rest);
                    Some("ok".to_owned())
                }
                ("join", Some(cluster), Some(me)) => {
                    let _ = cluster.join_group(me, rest);
                    Some("ok".to_owned())
                }
                ("uid" | "join", None, _) => Some("ok".to_owned()),
                ("stats", Some(cluster), _) => {
                    let stats = cluster.stats();
                    Some(format!(
                        "stats {} {}",
                        stats.published, stats.publish_round_trips
                    ))
                }
                ("stats", None, _) => Some("stats".to_owned()),
                _ => Some("pong".to_owned()),
            };
            if let Some(reply) = reply {
                let _ = connection.send(reply);
            }
        })
        .start()?;
    println!(
        "node listening {}",
        worker.socket_addr().ok_or("no address")?.port()
    );
    let mut sink = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink)?;
    worker.stop();
    Ok(())
}
