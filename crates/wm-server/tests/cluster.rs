//! The cluster layer against a real `redis-server` (started per test on a port of its
//! own; skipped without one, a failure under CI): nodes are listeners with a cluster
//! handle each, clients are `text://` connections over 127.0.0.1.

#![cfg(feature = "cluster")]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{eventually, eventually_async, within};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use wm_protocol::testing::RedisServer;
use wm_server::cluster::{ClientId, Cluster, ClusterOptions, Subscription};
use wm_server::{Message, Worker, WorkerHandle};

/// Short heartbeats, so that a dead node's keys expire within a test (3 × 100 ms).
fn options() -> ClusterOptions {
    ClusterOptions::default().heartbeat(Duration::from_millis(100))
}

/// A node: a `text://` listener whose lines are commands on the cluster.
struct Node {
    cluster: Cluster,
    worker: WorkerHandle,
}

impl Node {
    fn start(redis: &str) -> Self {
        let cluster = Cluster::connect_with(redis, options()).expect("the cluster links");
        let c = cluster.clone();
        let worker = Worker::new("text://127.0.0.1:0")
            .unwrap()
            .cluster(cluster.clone())
            .on_message(move |connection, message| {
                let Message::Text(line) = message else {
                    return;
                };
                let me = connection.client_id().expect("a cluster member");
                let (command, rest) = line.split_once(' ').unwrap_or((&line, ""));
                let (target, text) = rest.split_once(' ').unwrap_or((rest, ""));
                let reply = match command {
                    "id" => Some(format!("id {me}")),
                    "uid" => c.bind_uid(me, rest).map(|()| "ok".to_owned()).ok(),
                    "unbind" => c.unbind_uid(me).map(|()| "ok".to_owned()).ok(),
                    "join" => c.join_group(me, rest).map(|()| "ok".to_owned()).ok(),
                    "leave" => c.leave_group(me, rest).map(|()| "ok".to_owned()).ok(),
                    "all" => c.send_to_all(rest.to_owned()).err().map(|e| e.to_string()),
                    "all-but-me" => c
                        .send_to_all_except(rest.to_owned(), &[me])
                        .err()
                        .map(|e| e.to_string()),
                    "to-uid" => c
                        .send_to_uid(target, text.to_owned())
                        .err()
                        .map(|e| e.to_string()),
                    "to-group" => c
                        .send_to_group(target, text.to_owned())
                        .err()
                        .map(|e| e.to_string()),
                    "to-client" => c
                        .send_to_client(target.parse().unwrap(), text.to_owned())
                        .err()
                        .map(|e| e.to_string()),
                    "close" => c
                        .close_client(rest.parse().unwrap())
                        .err()
                        .map(|e| e.to_string()),
                    _ => Some(format!("unknown {command}")),
                };
                if let Some(reply) = reply {
                    let _ = connection.send(reply);
                }
            })
            .start()
            .unwrap();
        Self { cluster, worker }
    }

    fn port(&self) -> u16 {
        self.worker.socket_addr().unwrap().port()
    }
}

/// A `text://` client of one node.
struct Client {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    id: ClientId,
}

impl Client {
    async fn connect(node: &Node) -> Self {
        let stream = within("connect", TcpStream::connect(("127.0.0.1", node.port())))
            .await
            .unwrap();
        let (read, write) = stream.into_split();
        let mut client = Self {
            lines: BufReader::new(read).lines(),
            write,
            id: ClientId {
                node: 0,
                connection: 0,
            },
        };
        client.send("id").await;
        let line = client.line().await;
        client.id = line.strip_prefix("id ").unwrap().parse().unwrap();
        client
    }

    async fn send(&mut self, line: &str) {
        self.write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    /// Sends a command that the node answers with `ok`.
    async fn command(&mut self, line: &str) {
        self.send(line).await;
        assert_eq!(self.line().await, "ok", "{line}");
    }

    async fn line(&mut self) -> String {
        within("a line", self.lines.next_line())
            .await
            .unwrap()
            .expect("the node closed the connection")
    }

    /// Nothing more arrives for a while.
    async fn quiet(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(200), self.lines.next_line()).await;
        assert!(more.is_err(), "unexpected: {more:?}");
    }
}

/// Publishes "probe" on `topic` from `from` until `to` hears one (a subscription is made
/// by its node's link within a round trip); returns how many were published.
async fn publish_until_heard(from: &Cluster, topic: &str, to: &mut Subscription) -> u64 {
    let mut probes = 0;
    within("subscribed", async {
        loop {
            from.publish(topic, "probe").unwrap();
            probes += 1;
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), to.recv()).await {
                break;
            }
        }
    })
    .await;
    probes
}

fn redis() -> Option<RedisServer> {
    RedisServer::start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_is_reached_exactly_once_in_order_on_any_node() {
    let Some(redis) = redis() else { return };
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(&redis.url())).collect();
    // Four clients per node; uid u0..u3 each has a client on three nodes' worth of
    // spread, groups "even" and "odd".
    let mut clients = Vec::new();
    for i in 0..12 {
        let mut client = Client::connect(&nodes[i % 3]).await;
        client.command(&format!("uid u{}", i % 4)).await;
        client
            .command(&format!("join {}", if i % 2 == 0 { "even" } else { "odd" }))
            .await;
        clients.push(client);
    }
    // Every client sends 5 numbered messages of each kind.
    for round in 0..5 {
        for (i, client) in clients.iter_mut().enumerate() {
            client.send(&format!("all all {i} {round}")).await;
            client
                .send(&format!("to-uid u{} uid {i} {round}", (i + 1) % 4))
                .await;
            client
                .send(&format!("to-group even group {i} {round}"))
                .await;
        }
    }
    // What each client must see: all 60 `all`, the `uid` ones for its uid, the `group`
    // ones if it is even; per sender in round order.
    for (j, client) in clients.iter_mut().enumerate() {
        let mut expected = 60;
        expected += 5 * (0..12).filter(|i| (i + 1) % 4 == j % 4).count();
        if j % 2 == 0 {
            expected += 60;
        }
        let mut next: HashMap<(String, usize), usize> = HashMap::new();
        for _ in 0..expected {
            let line = client.line().await;
            let parts: Vec<&str> = line.split(' ').collect();
            let (kind, sender, round) = (
                parts[0],
                parts[1].parse().unwrap(),
                parts[2].parse::<usize>().unwrap(),
            );
            let slot = next.entry((kind.to_owned(), sender)).or_default();
            assert_eq!(*slot, round, "client {j}: {line} out of order or twice");
            *slot += 1;
            match kind {
                "uid" => assert_eq!((sender + 1) % 4, j % 4, "{line}"),
                "group" => assert_eq!(j % 2, 0, "{line}"),
                _ => assert_eq!(kind, "all"),
            }
        }
        client.quiet().await;
    }
    for node in &nodes {
        let stats = node.cluster.stats();
        assert!(stats.linked, "{stats}");
        assert_eq!(
            (stats.dropped, stats.lost, stats.undecodable),
            (0, 0, 0),
            "{stats}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_by_id_exclusions_and_close_work_across_nodes() {
    let Some(redis) = redis() else { return };
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    let mut alice = Client::connect(&a).await;
    let mut bob = Client::connect(&b).await;
    let mut carol = Client::connect(&b).await;
    alice.send(&format!("to-client {} hello bob", bob.id)).await;
    assert_eq!(bob.line().await, "hello bob");
    bob.send(&format!("to-client {} hello alice", alice.id))
        .await;
    assert_eq!(alice.line().await, "hello alice");
    // Local: never through Redis. (b's one publish so far is counted once its pipeline
    // returns, which may be after alice read it.)
    eventually("b's publish counted", || b.cluster.stats().published == 1).await;
    let published = b.cluster.stats().published;
    carol
        .send(&format!("to-client {} from carol", bob.id))
        .await;
    assert_eq!(bob.line().await, "from carol");
    assert_eq!(b.cluster.stats().published, published);

    alice.send("all-but-me everyone else").await;
    assert_eq!(bob.line().await, "everyone else");
    assert_eq!(carol.line().await, "everyone else");
    alice.quiet().await;

    // Bound and joined from another node.
    a.cluster.bind_uid(carol.id, "carol").unwrap();
    a.cluster.join_group(carol.id, "room").unwrap();
    eventually("carol bound on b", || {
        b.cluster.local_uid_connections("carol").len() == 1
            && b.cluster.local_group_size("room") == 1
    })
    .await;
    alice.send("to-uid carol to carol").await;
    alice.send("to-group room to the room").await;
    assert_eq!(carol.line().await, "to carol");
    assert_eq!(carol.line().await, "to the room");

    alice.send(&format!("close {}", carol.id)).await;
    let end = within("close", carol.lines.next_line()).await.unwrap();
    assert_eq!(end, None);
    bob.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_and_lookups_see_every_node_and_forget_closed_connections() {
    let Some(redis) = redis() else { return };
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    let mut on_a = Vec::new();
    for uid in ["ann", "ann", "ben"] {
        let mut client = Client::connect(&a).await;
        client.command(&format!("uid {uid}")).await;
        client.command("join lobby").await;
        on_a.push(client);
    }
    let mut on_b = Client::connect(&b).await;
    on_b.command("uid ann").await;
    let probe = a.cluster.clone();
    let counts = || async {
        (
            probe.connection_count().await.unwrap(),
            probe.uid_count().await.unwrap(),
            probe.group_member_count("lobby").await.unwrap(),
            probe.is_uid_online("ben").await.unwrap(),
        )
    };
    eventually_async("membership written", || async {
        counts().await == (4, 2, 3, true)
    })
    .await;
    let mut ann = b.cluster.uid_client_ids("ann").await.unwrap();
    ann.sort();
    let mut expected = vec![on_a[0].id, on_a[1].id, on_b.id];
    expected.sort();
    assert_eq!(ann, expected);
    let mut nodes = b.cluster.nodes().await.unwrap();
    nodes.sort_unstable();
    let mut both = vec![a.cluster.node_id(), b.cluster.node_id()];
    both.sort_unstable();
    assert_eq!(nodes, both);

    // Ben leaves: his uid and his place in the lobby go with his connection.
    drop(on_a.pop());
    eventually_async("ben gone", || async { counts().await == (3, 1, 2, false) }).await;
    // A node that shuts down is gone from counts at once (it deletes its keys).
    let b_node = b.cluster.node_id();
    b.cluster.shutdown();
    assert_eq!(a.cluster.nodes().await.unwrap(), vec![a.cluster.node_id()]);
    assert_ne!(a.cluster.node_id(), b_node);
    assert_eq!(a.cluster.connection_count().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_moves_to_another_node_is_reached_there() {
    let Some(redis) = redis() else { return };
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    let mut sender = Client::connect(&a).await;
    let mut dana = Client::connect(&a).await;
    dana.command("uid dana").await;
    sender.send("to-uid dana first").await;
    assert_eq!(dana.line().await, "first");
    // A uid's message reaches the connections bound on each node when that node reads
    // it: had dana bound on b before b read "first", she would get it there too.
    eventually("b read the first envelope", || {
        b.cluster.stats().received == 1
    })
    .await;
    drop(dana);
    let mut dana = Client::connect(&b).await;
    dana.command("uid dana").await;
    sender.send("to-uid dana second").await;
    assert_eq!(dana.line().await, "second");
    dana.quiet().await;
    eventually("dana's old connection gone from a", || {
        a.cluster.local_uid_connections("dana").is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_reach_every_subscriber_on_every_node_once() {
    let Some(redis) = redis() else { return };
    let a = Cluster::connect_with(&redis.url(), options()).unwrap();
    let b = Cluster::connect_with(&redis.url(), options()).unwrap();
    let mut on_a = a.subscribe("prices").unwrap();
    let mut on_b = b.subscribe("prices").unwrap();
    let mut other = b.subscribe("news").unwrap();
    // Subscriptions are made by each link within a round trip: probe both ways until
    // each side hears the other; the readers skip the probes.
    for (from, to) in [(&a, &mut on_b), (&b, &mut on_a)] {
        publish_until_heard(from, "prices", to).await;
    }
    while on_b.try_recv().is_some() {}
    while on_a.try_recv().is_some() {}
    for n in 0..100 {
        a.publish("prices", format!("a{n}")).unwrap();
        b.publish("prices", format!("b{n}")).unwrap();
    }
    for subscriber in [&mut on_a, &mut on_b] {
        let (mut from_a, mut from_b) = (0, 0);
        let mut read = 0;
        while read < 200 {
            let data = within("topic data", subscriber.recv()).await.unwrap();
            let text = std::str::from_utf8(&data).unwrap();
            if text == "probe" {
                continue;
            }
            read += 1;
            let (from, n) = text.split_at(1);
            let slot = if from == "a" {
                &mut from_a
            } else {
                &mut from_b
            };
            assert_eq!(n.parse::<usize>().unwrap(), *slot, "{text}");
            *slot += 1;
        }
        while let Some(data) = subscriber.try_recv() {
            assert_eq!(&data[..], b"probe");
        }
    }
    assert!(other.try_recv().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_mid_run_is_survived_and_later_messages_flow() {
    let Some(mut redis) = redis() else { return };
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    let mut sender = Client::connect(&a).await;
    let mut receiver = Client::connect(&b).await;
    receiver.command("uid r").await;
    sender.send("to-uid r before").await;
    assert_eq!(receiver.line().await, "before");

    redis.kill();
    eventually("both links down", || {
        !a.cluster.stats().linked && !b.cluster.stats().linked
    })
    .await;
    // Local delivery goes on while Redis is away; queries say it is down.
    let mut neighbour = Client::connect(&a).await;
    neighbour.command("uid n").await;
    sender.send("to-uid n local while down").await;
    assert_eq!(neighbour.line().await, "local while down");
    assert!(a.cluster.connection_count().await.is_err());
    redis.restart();
    eventually("both links back", || {
        a.cluster.stats().linked && b.cluster.stats().linked
    })
    .await;
    assert!(a.cluster.stats().reconnects >= 1);
    // Membership was rewritten into the empty Redis.
    eventually_async("membership rewritten", || async {
        a.cluster.connection_count().await.ok() == Some(3)
    })
    .await;
    sender.send("to-uid r after").await;
    assert_eq!(receiver.line().await, "after");
    receiver.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_holds_back_no_one_else() {
    let Some(redis) = redis() else { return };
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    // A client on b that never reads: its send buffer fills and refuses.
    let mut stalled = Client::connect(&b).await;
    stalled.command("join room").await;
    let mut readers = Vec::new();
    for node in [&a, &b] {
        let mut reader = Client::connect(node).await;
        reader.command("join room").await;
        readers.push(reader);
    }
    let mut sender = Client::connect(&a).await;
    let chunk = "x".repeat(16 * 1024);
    // 6.4 MB to each member, far past the stalled one's 1 MiB send buffer; in windows
    // that the readers take in before the next, so that only the stalled one falls behind.
    let (messages, window) = (400, 16);
    for start in (0..messages).step_by(window) {
        for n in start..start + window {
            sender.send(&format!("to-group room {n} {chunk}")).await;
        }
        for reader in &mut readers {
            for n in start..start + window {
                let line = reader.line().await;
                assert!(line.starts_with(&format!("{n} ")), "{}", &line[..20]);
            }
        }
    }
    let stats = b.cluster.stats();
    assert!(stats.refused > 0, "{stats}");
    assert!(stats.linked, "{stats}");
    drop(stalled);
}

/// Not a test on its own: the node that `a_node_that_dies_leaves_no_ghosts` runs in a
/// process of its own (this test binary, run again) and kills.
#[test]
#[ignore = "run by a_node_that_dies_leaves_no_ghosts in a child process"]
fn node_in_a_child_process() {
    let Ok(url) = std::env::var("WM_CLUSTER_TEST_NODE") else {
        return;
    };
    let node = Node::start(&url);
    println!("node {} {}", node.port(), node.cluster.node_id());
    loop {
        std::thread::park();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_dies_leaves_no_ghosts_beyond_three_heartbeats() {
    use std::io::BufRead;
    let Some(redis) = redis() else { return };
    /// Killed when dropped, whatever the test does.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Killed(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "node_in_a_child_process",
                "--ignored",
                "--nocapture",
            ])
            .env("WM_CLUSTER_TEST_NODE", redis.url())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        // libtest may print the test's name on the same line first.
        while !line.contains("node ") {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                panic!("the child node ended without starting");
            }
        }
        line
    });
    let line = within("the child node", line).await.unwrap();
    let line = &line[line.find("node ").unwrap()..];
    let mut words = line.split_whitespace().skip(1);
    let port: u16 = words.next().unwrap().parse().unwrap();
    let doomed: u64 = words.next().unwrap().parse().unwrap();

    let survivor = Node::start(&redis.url());
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (read, write) = stream.into_split();
    let mut ghost = Client {
        lines: BufReader::new(read).lines(),
        write,
        id: ClientId {
            node: doomed,
            connection: 0,
        },
    };
    ghost.command("uid ghost").await;
    ghost.command("join haunted").await;
    let cluster = &survivor.cluster;
    eventually_async("the child's membership", || async {
        cluster.is_uid_online("ghost").await.unwrap()
            && cluster.group_member_count("haunted").await.unwrap() == 1
    })
    .await;
    assert_eq!(cluster.nodes().await.unwrap().len(), 2);

    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let killed = std::time::Instant::now();
    eventually_async("the ghost gone", || async {
        !cluster.is_uid_online("ghost").await.unwrap()
    })
    .await;
    let gone_after = killed.elapsed();
    // The bound the docs state: three heartbeats (300 ms here) from the last refresh,
    // which was at most a heartbeat before the kill; and 400 ms for a loaded machine to
    // poll (an expiry twice as long would still fail).
    assert!(
        gone_after < Duration::from_millis(300 + 100 + 400),
        "{gone_after:?}"
    );
    assert_eq!(cluster.nodes().await.unwrap(), vec![cluster.node_id()]);
    assert_eq!(cluster.group_member_count("haunted").await.unwrap(), 0);
    assert_eq!(cluster.connection_count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebinding_unbinding_and_leaving_take_effect_on_every_node() {
    let Some(redis) = redis() else { return };
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    let mut sender = Client::connect(&a).await;
    let mut eve = Client::connect(&b).await;
    eve.command("uid eve").await;
    eve.command("join g1").await;
    eve.command("join g2").await;
    // A second bind replaces the first (one uid per connection).
    eve.command("uid eva").await;
    sender.send("to-uid eve old name").await;
    sender.send("to-uid eva new name").await;
    assert_eq!(eve.line().await, "new name");
    eve.command("leave g1").await;
    sender.send("to-group g1 left").await;
    sender.send("to-group g2 still in").await;
    assert_eq!(eve.line().await, "still in");
    eve.command("unbind").await;
    sender.send("to-uid eva unbound").await;
    eve.quiet().await;
    eventually_async("membership written", || async {
        a.cluster.uids().await.unwrap().is_empty()
            && a.cluster.group_member_count("g2").await.unwrap() == 1
            && a.cluster.group_member_count("g1").await.unwrap() == 0
    })
    .await;
    eve.command("uid zoe").await;
    sender.command("uid adam").await;
    eventually_async("uids listed", || async {
        a.cluster.uids().await.unwrap() == ["adam", "zoe"]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_while_redis_is_down_never_block_and_past_the_queue_are_dropped_and_counted() {
    let Some(mut redis) = redis() else { return };
    let small = options().queue(4);
    let a = Cluster::connect_with(&redis.url(), small.clone()).unwrap();
    let b = Cluster::connect_with(&redis.url(), small).unwrap();
    let mut on_b = b.subscribe("t").unwrap();
    let probes = publish_until_heard(&a, "t", &mut on_b).await;
    // Every probe is published before the baseline (the counter moves when the
    // pipeline returns, which may be after b read it).
    eventually("the probes published", || a.stats().published == probes).await;
    let published_before = a.stats().published;
    redis.kill();
    eventually("a's link down", || !a.stats().linked).await;
    let started = std::time::Instant::now();
    let refused = (0..1000)
        .filter(|n| a.publish("t", format!("{n}")).is_err())
        .count();
    // Not a speed test: a send that waited for Redis would take a timeout (5 s) each.
    assert!(started.elapsed() < Duration::from_secs(2));
    redis.restart();
    eventually("links back", || a.stats().linked && b.stats().linked).await;
    // Every send is accounted for: dropped and counted (refused at the send, or taken into
    // the queue and then found no room while the link was down), or published when the
    // link came back (at most the queue's 4 and the link's 4 pending).
    eventually("every send accounted for", || {
        let stats = a.stats();
        stats.dropped + stats.published - published_before + stats.lost == 1000
    })
    .await;
    let stats = a.stats();
    assert!(stats.published - published_before <= 8, "{stats}");
    assert!(
        refused as u64 <= stats.dropped,
        "{refused} refused, {stats}"
    );
    // What b read of them (it may have resubscribed after a published) is in order.
    let mut waited = Vec::new();
    while let Ok(Some(data)) = tokio::time::timeout(Duration::from_millis(300), on_b.recv()).await {
        waited.push(String::from_utf8(data.to_vec()).unwrap());
    }
    let numbers: Vec<usize> = waited
        .iter()
        .filter(|w| *w != "probe")
        .map(|w| w.parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    // The link is whole again: b is subscribed (retrying until it is) and hears a.
    within("a heard after the restart", async {
        loop {
            a.publish("t", "after").unwrap();
            if let Ok(Some(data)) =
                tokio::time::timeout(Duration::from_millis(50), on_b.recv()).await
            {
                assert_eq!(&data[..], b"after");
                break;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_threads_of_one_worker_share_its_node() {
    let Some(redis) = redis() else { return };
    let cluster = Cluster::connect_with(&redis.url(), options()).unwrap();
    let worker = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .count(2)
        .cluster(cluster.clone())
        .on_connect({
            let cluster = cluster.clone();
            move |connection| {
                let me = connection.client_id().unwrap();
                cluster.bind_uid(me, &me.to_string()).unwrap();
                let _ = connection.send(format!("id {me}"));
            }
        })
        .on_message(|_, _| {})
        .start()
        .unwrap();
    let port = worker.socket_addr().unwrap().port();
    let mut clients = Vec::new();
    for _ in 0..8 {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (read, write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let line = within("id", lines.next_line()).await.unwrap().unwrap();
        let id: ClientId = line.strip_prefix("id ").unwrap().parse().unwrap();
        assert_eq!(id.node, cluster.node_id());
        clients.push((id, lines, write));
    }
    // Reached by uid from another node, whichever thread serves each.
    let other = Cluster::connect_with(&redis.url(), options()).unwrap();
    for (id, _, _) in &clients {
        other
            .send_to_uid(&id.to_string(), format!("to {id}"))
            .unwrap();
    }
    for (id, lines, _) in &mut clients {
        let line = within("by uid", lines.next_line()).await.unwrap().unwrap();
        assert_eq!(line, format!("to {id}"));
    }
    eventually_async("8 connections counted", || async {
        other.connection_count().await.unwrap() == 8
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_falls_behind_drops_what_its_backlog_cannot_hold_and_counts_it() {
    let Some(redis) = redis() else { return };
    let a = Cluster::connect_with(&redis.url(), options()).unwrap();
    let b = Cluster::connect_with(
        &redis.url(),
        options().backlog(4).subscription_capacity(4096),
    )
    .unwrap();
    let mut on_b = b.subscribe("flood").unwrap();
    publish_until_heard(&a, "flood", &mut on_b).await;
    // Let the last probes land, then count from here.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while on_b.try_recv().is_some() {}
    let before = b.stats();
    // A burst: b's connection reads many envelopes per read, faster than its link carries
    // them out, and its backlog holds 4.
    for n in 0..2000 {
        a.publish("flood", format!("{n}")).unwrap();
    }
    eventually("every envelope carried out or dropped", || {
        let now = b.stats();
        now.received - before.received + now.lagged - before.lagged == 2000
    })
    .await;
    let after = b.stats();
    assert!(after.lagged > before.lagged, "{after}");
    let mut numbers = Vec::new();
    while let Some(data) = on_b.try_recv() {
        numbers.push(
            std::str::from_utf8(&data)
                .unwrap()
                .parse::<usize>()
                .unwrap(),
        );
    }
    assert_eq!(numbers.len() as u64, after.received - before.received);
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    // And b is still linked, and hears what comes next.
    a.publish("flood", "after").unwrap();
    assert_eq!(&within("after", on_b.recv()).await.unwrap()[..], b"after");
    assert!(b.stats().linked);
}

/// One command to Redis in RESP, by hand; its first reply line.
async fn redis_command(port: u16, args: &[&str]) -> String {
    let mut command = format!("*{}\r\n", args.len());
    for arg in args {
        command.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (read, mut write) = stream.into_split();
    write.write_all(command.as_bytes()).await.unwrap();
    let mut lines = BufReader::new(read).lines();
    within("a Redis reply", lines.next_line())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_that_expired_under_a_live_node_is_written_again_whole() {
    let Some(redis) = redis() else { return };
    // A heartbeat too slow to notice within the test: the next change must.
    let slow = ClusterOptions::default().heartbeat(Duration::from_secs(20));
    let a = Cluster::connect_with(&redis.url(), slow).unwrap();
    let worker = Worker::new("text://127.0.0.1:0")
        .unwrap()
        .cluster(a.clone())
        .on_connect({
            let a = a.clone();
            move |connection| {
                let me = connection.client_id().unwrap();
                a.bind_uid(me, &format!("user-{}", me.connection)).unwrap();
                a.join_group(me, "everyone").unwrap();
                let _ = connection.send("ok");
            }
        })
        .on_message(|_, _| {})
        .start()
        .unwrap();
    let port = worker.socket_addr().unwrap().port();
    let connect = || async move {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut lines = BufReader::new(stream).lines();
        assert_eq!(
            within("ok", lines.next_line()).await.unwrap().unwrap(),
            "ok"
        );
        lines
    };
    let _first = connect().await;
    eventually_async("the first member counted", || async {
        a.group_member_count("everyone").await.unwrap() == 1
    })
    .await;
    // The node's keys vanish as if they had expired while its link stalled.
    let node = format!("wm:n:{:016x}", a.node_id());
    let (uids, groups) = (format!("{node}:u"), format!("{node}:g"));
    assert_eq!(
        redis_command(redis.port(), &["DEL", &node, &uids, &groups]).await,
        ":3"
    );
    // A change (a second connection) finds the node's key gone and writes everything.
    let _second = connect().await;
    eventually_async("both members counted", || async {
        a.group_member_count("everyone").await.unwrap() == 2
            && a.uid_count().await.unwrap() == 2
            && a.connection_count().await.unwrap() == 2
    })
    .await;
    // Every key has its expiry again.
    for key in [&node, &uids, &groups] {
        let ttl = redis_command(redis.port(), &["PTTL", key]).await;
        let ttl: i64 = ttl.trim_start_matches(':').parse().unwrap();
        assert!(ttl > 0, "{key}: {ttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_is_refused_or_counted_by_name() {
    use wm_server::cluster::ClusterError;
    let Some(redis) = redis() else { return };
    let url = redis.url();
    // Options and URLs, before any link.
    for (options, why) in [
        (options().queue(0), "queue"),
        (options().backlog(0), "backlog"),
        (options().subscription_capacity(0), "subscription_capacity"),
        (options().heartbeat(Duration::ZERO), "heartbeat"),
        (
            options().heartbeat(Duration::from_secs(2 * 24 * 3600)),
            "a day",
        ),
        (options().timeout(Duration::ZERO), "timeout"),
        (options().namespace(""), "namespace"),
    ] {
        let refused = Cluster::connect_with(&url, options).unwrap_err();
        assert!(
            matches!(&refused, ClusterError::InvalidOption(reason) if reason.contains(why)),
            "{why}: {refused:?}"
        );
    }
    assert!(matches!(
        Cluster::connect("http://127.0.0.1/"),
        Err(ClusterError::InvalidUrl(_))
    ));

    // Names up to 1,024 bytes; exclusions up to 4,096.
    let a = Cluster::connect_with(&url, options().subscription_capacity(2)).unwrap();
    let long = "n".repeat(1025);
    let fits = "n".repeat(1024);
    assert_eq!(a.send_to_uid(&long, "m"), Err(ClusterError::NameTooLong));
    assert_eq!(a.send_to_group(&long, "m"), Err(ClusterError::NameTooLong));
    assert_eq!(a.publish(&long, "m"), Err(ClusterError::NameTooLong));
    assert_eq!(a.subscribe(&long).unwrap_err(), ClusterError::NameTooLong);
    assert_eq!(a.send_to_uid(&fits, "m"), Ok(()));
    let someone = ClientId {
        node: 1,
        connection: 1,
    };
    assert_eq!(
        a.send_to_all_except("m", &vec![someone; 4097]),
        Err(ClusterError::TooManyExclusions)
    );
    assert_eq!(a.send_to_all_except("m", &vec![someone; 4096]), Ok(()));
    assert_eq!(
        a.send_to_all(wm_server::Message::Ping(bytes::Bytes::new())),
        Err(ClusterError::Unsupported("ping"))
    );
    assert!(matches!(
        "not an id".parse::<ClientId>(),
        Err(ClusterError::InvalidClientId(_))
    ));

    // A subscriber that does not read keeps its capacity (2 here); the rest is counted.
    let mut slow = a.subscribe("t").unwrap();
    for n in 0..5 {
        a.publish("t", format!("{n}")).unwrap();
    }
    assert_eq!(a.stats().subscription_overflows, 3);
    assert_eq!(&slow.try_recv().unwrap()[..], b"0");
    assert_eq!(&slow.try_recv().unwrap()[..], b"1");
    assert!(slow.try_recv().is_none());

    // After shutdown: local only, and nothing for other nodes.
    a.shutdown();
    assert_eq!(a.send_to_all("m"), Err(ClusterError::Closed));
    assert_eq!(a.subscribe("t").unwrap_err(), ClusterError::Closed);
}
