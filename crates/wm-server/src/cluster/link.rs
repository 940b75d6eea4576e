//! A node's link to Redis, on a thread of its own: one multiplexed RESP3 connection
//! publishes (what is queued, in one pipeline per wake-up), writes membership, answers
//! queries, and is subscribed to the bus, the node's own channel and its topics. What it
//! reads from them waits in a bounded backlog: a node that falls behind drops what does not
//! fit and counts it, instead of buffering without end (a RESP2 pub/sub connection, as
//! redis-rs reads it, would buffer everything Redis sends). When the connection drops, the
//! link reconnects with backoff, resubscribes and rewrites membership.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc;

use super::envelope::Envelope;
use super::{Answer, Channel, ClientId, ClusterError, Op, Query, Shared};
use crate::connection::lock;

/// The first retry after a drop; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Operations taken from the queue into one pipeline: enough to make a round trip carry
/// many messages under load, few enough that reading the bus is not held up long.
const BATCH: usize = 512;

/// Membership keys expire after this many heartbeats without a refresh.
const TTL_HEARTBEATS: u32 = 3;

/// Whether an error means the link must be made again. Only Redis refusing a command
/// (an error reply: out of memory, a read-only replica, an ACL) does not: that is logged
/// and counted, and the link goes on, since the rest (PUBLISH above all) may still work.
/// Anything else (I/O, a timeout, a reply that does not parse) reconnects.
fn breaks_link(error: &redis::RedisError) -> bool {
    !matches!(error.kind(), redis::ErrorKind::Server(_)) || error.is_unrecoverable_error()
}

/// A step's outcome for the link: an error that breaks it, or Redis refusing a write
/// (logged; what was not written is marked to be written again).
fn judge(shared: &Shared, result: RedisResult<()>, what: &str) -> Result<(), String> {
    match result {
        Ok(()) => Ok(()),
        Err(error) if breaks_link(&error) => Err(error.to_string()),
        Err(error) => {
            tracing::warn!(node = %format_args!("{:016x}", shared.node), %error, "cluster: Redis refused {what}; retried at the next change or heartbeat");
            lock(&shared.local).mark_all_dirty();
            Ok(())
        }
    }
}

/// Why the link is being left.
enum End {
    Shutdown,
    Broken(String),
}

/// Runs the link until the handle shuts down; reports the first link (or its failure)
/// on `ready`.
pub(crate) fn run(
    shared: Arc<Shared>,
    client: redis::Client,
    ops: mpsc::Receiver<Op>,
    ready: std::sync::mpsc::Sender<Result<(), ClusterError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(ClusterError::Unreachable {
                url: shared.url.clone(),
                reason: format!("cannot start the link's runtime: {error}"),
            }));
            return;
        }
    };
    runtime.block_on(supervise(&shared, &client, ops, ready));
    shared.counters.linked.store(false, Relaxed);
    // Subscriptions see the end of their data.
    lock(&shared.local).topics.clear();
}

async fn supervise(
    shared: &Arc<Shared>,
    client: &redis::Client,
    mut ops: mpsc::Receiver<Op>,
    ready: std::sync::mpsc::Sender<Result<(), ClusterError>>,
) {
    let mut ready = Some(ready);
    let started = Instant::now();
    let mut backoff = MIN_BACKOFF;
    let mut pending = VecDeque::new();
    // When the link dropped, and the counters then: what the outage cost is logged when
    // it is back.
    let mut down: Option<(Instant, u64, u64)> = None;
    let counters = &shared.counters;
    loop {
        let opened = tokio::time::timeout(shared.options.timeout, Link::open(shared, client))
            .await
            .map_err(|_| "no answer in time".to_owned())
            .and_then(|opened| opened.map_err(|error| error.to_string()));
        match opened {
            Ok(mut link) => {
                backoff = MIN_BACKOFF;
                if ready.is_none() {
                    // Counted before `linked` is set: whoever sees the link back sees the
                    // reconnect too.
                    counters.reconnects.fetch_add(1, Relaxed);
                }
                counters.linked.store(true, Relaxed);
                if let Some(ready) = ready.take() {
                    tracing::info!(node = %format_args!("{:016x}", shared.node), url = %shared.url, "cluster link up");
                    let _ = ready.send(Ok(()));
                } else if let Some((since, dropped, lost)) = down.take() {
                    tracing::warn!(
                        node = %format_args!("{:016x}", shared.node),
                        down_ms = since.elapsed().as_millis() as u64,
                        waited = pending.len(),
                        dropped = counters.dropped.load(Relaxed) - dropped,
                        lost = counters.lost.load(Relaxed) - lost,
                        "cluster link back: resubscribed and membership rewritten; what other \
                         nodes published while it was down was not received"
                    );
                }
                let end = match link.flush(shared, &mut pending).await {
                    Ok(()) => link.serve(shared, &mut ops).await,
                    Err(error) => End::Broken(error),
                };
                match end {
                    End::Shutdown => {
                        link.leave(shared).await;
                        return;
                    }
                    End::Broken(reason) => {
                        counters.linked.store(false, Relaxed);
                        tracing::warn!(node = %format_args!("{:016x}", shared.node), %reason, "cluster link down; reconnecting");
                        down = Some((
                            Instant::now(),
                            counters.dropped.load(Relaxed),
                            counters.lost.load(Relaxed),
                        ));
                    }
                }
            }
            Err(reason) => {
                if let Some(first) = &ready {
                    if started.elapsed() >= shared.options.timeout {
                        let _ = first.send(Err(ClusterError::Unreachable {
                            url: shared.url.clone(),
                            reason,
                        }));
                        return;
                    }
                } else {
                    tracing::debug!(%reason, "cluster link: reconnect failed");
                }
            }
        }
        if !wait_down(shared, &mut ops, &mut pending, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Waits out one backoff while the link is down: queries are answered [`ClusterError::Down`],
/// publishes wait in `pending` (up to the queue's size; beyond, dropped and counted).
/// False when the handle shut down.
async fn wait_down(
    shared: &Shared,
    ops: &mut mpsc::Receiver<Op>,
    pending: &mut VecDeque<Op>,
    backoff: Duration,
) -> bool {
    let until = tokio::time::sleep(backoff);
    tokio::pin!(until);
    loop {
        tokio::select! {
            () = &mut until => return true,
            op = ops.recv() => match op {
                None => return false,
                Some(Op::Query(_, answer)) => {
                    let _ = answer.send(Err(ClusterError::Down));
                }
                Some(publish) => {
                    if pending.len() < shared.options.queue {
                        pending.push_back(publish);
                    } else {
                        shared.counters.dropped.fetch_add(1, Relaxed);
                    }
                }
            },
        }
    }
}

/// What the connection hands the link: a message from a channel, or the end.
enum Inbound {
    Message { channel: Bytes, payload: Bytes },
    Disconnected,
}

struct Link {
    conn: MultiplexedConnection,
    /// Messages read from the channels, bounded by [`ClusterOptions::backlog`].
    inbound: mpsc::Receiver<Inbound>,
    /// Topics the connection is subscribed to.
    topics: HashSet<Arc<str>>,
}

impl Link {
    async fn open(shared: &Arc<Shared>, client: &redis::Client) -> RedisResult<Self> {
        let timeout = Some(shared.options.timeout);
        let (sender, inbound) = mpsc::channel(shared.options.backlog);
        let pushes = shared.clone();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_push_sender(move |push: PushInfo| {
                hand_over(&pushes, &sender, push);
                Ok::<(), std::convert::Infallible>(())
            });
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        conn.subscribe(&[&shared.keys.bus, &shared.keys.own_channel])
            .await?;
        let mut link = Self {
            conn,
            inbound,
            topics: HashSet::new(),
        };
        // Redis may have restarted empty, or expired the keys while the link was down.
        lock(&shared.local).mark_all_dirty();
        link.write_membership(shared, true).await?;
        link.sync_topics(shared).await?;
        Ok(link)
    }

    async fn serve(&mut self, shared: &Shared, ops: &mut mpsc::Receiver<Op>) -> End {
        let mut heartbeat = tokio::time::interval(shared.options.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        let mut batch = VecDeque::with_capacity(BATCH);
        loop {
            // Not biased: a bus that always has a message ready must not starve this node's
            // sends, membership writes or heartbeats (its keys would expire).
            let step = tokio::select! {
                inbound = self.inbound.recv() => match inbound {
                    Some(Inbound::Message { channel, payload }) => {
                        // A protocol's encoder that panics fails that delivery, not the
                        // node's link.
                        let received = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                            || receive(shared, &channel, payload),
                        ));
                        if received.is_err() {
                            tracing::error!("cluster: a delivery panicked; envelope dropped");
                        }
                        Ok(())
                    }
                    Some(Inbound::Disconnected) | None => {
                        Err("the connection to Redis closed".to_owned())
                    }
                },
                () = shared.changed.notified() => {
                    let written = self.write_membership(shared, false).await;
                    match judge(shared, written, "a membership write") {
                        Ok(()) => self.sync_topics(shared).await.map_err(|e| e.to_string()),
                        Err(error) => Err(error),
                    }
                }
                op = ops.recv() => match op {
                    None => return End::Shutdown,
                    Some(op) => {
                        batch.push_back(op);
                        while batch.len() < BATCH {
                            match ops.try_recv() {
                                Ok(op) => batch.push_back(op),
                                Err(_) => break,
                            }
                        }
                        self.flush(shared, &mut batch).await
                    }
                },
                _ = heartbeat.tick() => {
                    let beat = self.heartbeat(shared).await;
                    judge(shared, beat, "a heartbeat")
                }
            };
            if let Err(reason) = step {
                return End::Broken(reason);
            }
        }
    }

    /// Publishes a batch in one pipeline, then answers its queries. Publishes of a failed
    /// pipeline are counted lost, not retried (at most once).
    async fn flush(&mut self, shared: &Shared, batch: &mut VecDeque<Op>) -> Result<(), String> {
        let mut pipe = redis::pipe();
        let mut publishes = 0u64;
        let mut queries = Vec::new();
        for op in batch.drain(..) {
            match op {
                Op::Publish { channel, frame } => {
                    let name = match channel {
                        Channel::Bus => shared.keys.bus.clone(),
                        Channel::Node(node) => shared.keys.node_channel(node),
                        Channel::Topic(topic) => shared.keys.topic(&topic),
                    };
                    pipe.cmd("PUBLISH").arg(name).arg(&frame[..]).ignore();
                    publishes += 1;
                }
                Op::Query(query, answer) => queries.push((query, answer)),
            }
        }
        if publishes > 0 {
            match pipe.query_async::<()>(&mut self.conn).await {
                Ok(()) => {
                    shared.counters.published.fetch_add(publishes, Relaxed);
                    shared.counters.publish_round_trips.fetch_add(1, Relaxed);
                }
                Err(error) => {
                    shared.counters.lost.fetch_add(publishes, Relaxed);
                    if breaks_link(&error) {
                        for (_, answer) in queries {
                            let _ = answer.send(Err(ClusterError::Down));
                        }
                        return Err(error.to_string());
                    }
                    tracing::warn!(node = %format_args!("{:016x}", shared.node), %error, publishes, "cluster: Redis refused a pipeline of publishes; counted lost");
                }
            }
        }
        if !queries.is_empty() {
            // A query sees this node's own changes made before it was asked.
            let written = self.write_membership(shared, false).await;
            if let Err(error) = judge(shared, written, "a membership write") {
                for (_, answer) in queries {
                    let _ = answer.send(Err(ClusterError::Redis(error.clone())));
                }
                return Err(error);
            }
        }
        let mut queries = queries.into_iter();
        while let Some((query, answer)) = queries.next() {
            match self.answer(shared, query).await {
                Ok(result) => {
                    let _ = answer.send(Ok(result));
                }
                Err(error) if !breaks_link(&error) => {
                    let _ = answer.send(Err(ClusterError::Redis(error.to_string())));
                }
                Err(error) => {
                    let _ = answer.send(Err(ClusterError::Redis(error.to_string())));
                    for (_, answer) in queries.by_ref() {
                        let _ = answer.send(Err(ClusterError::Down));
                    }
                    return Err(error.to_string());
                }
            }
        }
        Ok(())
    }

    /// Writes what changed in this node's membership (all of it, with `full`), and
    /// renews the keys' expiry, in one transaction (MULTI / EXEC: a node killed halfway
    /// cannot leave a key without its expiry). If the node's key had expired (the link
    /// stalled longer than its lifetime), what was written is only what changed: then all
    /// of it is written again.
    async fn write_membership(&mut self, shared: &Shared, mut full: bool) -> RedisResult<()> {
        let keys = &shared.keys;
        loop {
            let mut pipe = redis::pipe();
            pipe.atomic();
            {
                let mut local = lock(&shared.local);
                if local.dirty.is_empty() && !full {
                    return Ok(());
                }
                let dirty = std::mem::take(&mut local.dirty);
                if full {
                    pipe.cmd("DEL")
                        .arg(&keys.node)
                        .arg(&keys.uids)
                        .arg(&keys.groups)
                        .ignore();
                } else {
                    // Read: whether the node's key was still there.
                    pipe.cmd("EXISTS").arg(&keys.node);
                }
                pipe.cmd("HSET")
                    .arg(&keys.node)
                    .arg("connections")
                    .arg(local.members.len())
                    .ignore();
                for uid in &dirty.uids {
                    match local.uid_field(uid) {
                        Some(ids) => pipe.cmd("HSET").arg(&keys.uids).arg(&**uid).arg(ids),
                        None => pipe.cmd("HDEL").arg(&keys.uids).arg(&**uid),
                    }
                    .ignore();
                }
                for group in &dirty.groups {
                    match local.group_field(group) {
                        Some(count) => pipe.cmd("HSET").arg(&keys.groups).arg(&**group).arg(count),
                        None => pipe.cmd("HDEL").arg(&keys.groups).arg(&**group),
                    }
                    .ignore();
                }
            }
            self.expire(shared, &mut pipe);
            let existed = if full {
                let (_renewed,): (bool,) = pipe.query_async(&mut self.conn).await?;
                true
            } else {
                let (existed, _renewed): (bool, bool) = pipe.query_async(&mut self.conn).await?;
                existed
            };
            shared.counters.membership_writes.fetch_add(1, Relaxed);
            if existed {
                return Ok(());
            }
            tracing::warn!(node = %format_args!("{:016x}", shared.node), "cluster membership had expired; rewriting it");
            lock(&shared.local).mark_all_dirty();
            full = true;
        }
    }

    /// Renews the expiry of this node's keys and its place in the node set.
    fn expire(&self, shared: &Shared, pipe: &mut redis::Pipeline) {
        let keys = &shared.keys;
        let ttl = (shared.options.heartbeat * TTL_HEARTBEATS).as_millis() as u64;
        for key in [&keys.uids, &keys.groups] {
            pipe.cmd("PEXPIRE").arg(key).arg(ttl).ignore();
        }
        pipe.cmd("SADD")
            .arg(&keys.nodes)
            .arg(format!("{:016x}", shared.node))
            .ignore();
        // Last, and read: whether the node's key was there to renew.
        pipe.cmd("PEXPIRE").arg(&keys.node).arg(ttl);
    }

    async fn heartbeat(&mut self, shared: &Shared) -> RedisResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.expire(shared, &mut pipe);
        let (renewed,): (bool,) = pipe.query_async(&mut self.conn).await?;
        if renewed {
            // What a refused write left marked.
            self.write_membership(shared, false).await?;
        } else {
            // The node's keys expired: the link stalled longer than their lifetime.
            tracing::warn!(node = %format_args!("{:016x}", shared.node), "cluster membership had expired; rewriting it");
            lock(&shared.local).mark_all_dirty();
            self.write_membership(shared, true).await?;
        }
        // A connection that died without a FIN fails the pipeline above by its response
        // timeout: the subscriptions share it.
        Ok(())
    }

    /// Subscribes to the topics that have subscribers here now, and unsubscribes from
    /// those that have none left.
    async fn sync_topics(&mut self, shared: &Shared) -> RedisResult<()> {
        let wanted: HashSet<Arc<str>> = lock(&shared.local).topics.keys().cloned().collect();
        let add: Vec<String> = wanted
            .difference(&self.topics)
            .map(|topic| shared.keys.topic(topic))
            .collect();
        let remove: Vec<String> = self
            .topics
            .difference(&wanted)
            .map(|topic| shared.keys.topic(topic))
            .collect();
        if !add.is_empty() {
            self.conn.subscribe(&add).await?;
        }
        if !remove.is_empty() {
            self.conn.unsubscribe(&remove).await?;
        }
        self.topics = wanted;
        Ok(())
    }

    /// The nodes whose keys have not expired; forgets the others.
    async fn live_nodes(&mut self, shared: &Shared) -> RedisResult<Vec<u64>> {
        let listed: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&shared.keys.nodes)
            .query_async(&mut self.conn)
            .await?;
        let nodes: Vec<(String, u64)> = listed
            .into_iter()
            .filter_map(|hex| u64::from_str_radix(&hex, 16).ok().map(|node| (hex, node)))
            .collect();
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (_, node) in &nodes {
            pipe.cmd("EXISTS").arg(shared.keys.node_of(*node));
        }
        let alive: Vec<bool> = pipe.query_async(&mut self.conn).await?;
        let dead: Vec<&String> = nodes
            .iter()
            .zip(&alive)
            .filter(|(_, alive)| !**alive)
            .map(|((hex, _), _)| hex)
            .collect();
        if !dead.is_empty() {
            redis::cmd("SREM")
                .arg(&shared.keys.nodes)
                .arg(&dead)
                .exec_async(&mut self.conn)
                .await?;
        }
        Ok(nodes
            .iter()
            .zip(alive)
            .filter(|(_, alive)| *alive)
            .map(|((_, node), _)| *node)
            .collect())
    }

    async fn answer(&mut self, shared: &Shared, query: Query) -> RedisResult<Answer> {
        let nodes = self.live_nodes(shared).await?;
        if let Query::Nodes = query {
            return Ok(Answer::Nodes(nodes));
        }
        if nodes.is_empty() {
            return Ok(match query {
                Query::UidOnline(_) => Answer::Online(false),
                Query::UidClients(_) => Answer::Clients(Vec::new()),
                Query::Uids => Answer::Names(Vec::new()),
                _ => Answer::Count(0),
            });
        }
        let keys = &shared.keys;
        let mut pipe = redis::pipe();
        for &node in &nodes {
            let key = keys.node_of(node);
            match &query {
                Query::ConnectionCount => pipe.cmd("HGET").arg(key).arg("connections"),
                Query::UidCount | Query::Uids => pipe.cmd("HKEYS").arg(format!("{key}:u")),
                Query::UidOnline(uid) => pipe.cmd("HEXISTS").arg(format!("{key}:u")).arg(uid),
                Query::UidClients(uid) => pipe.cmd("HGET").arg(format!("{key}:u")).arg(uid),
                Query::GroupCount(group) => pipe.cmd("HGET").arg(format!("{key}:g")).arg(group),
                Query::Nodes => unreachable!("answered above"),
            };
        }
        Ok(match query {
            Query::ConnectionCount | Query::GroupCount(_) => {
                let counts: Vec<Option<u64>> = pipe.query_async(&mut self.conn).await?;
                Answer::Count(counts.into_iter().flatten().sum())
            }
            Query::UidCount => {
                let uids: Vec<Vec<String>> = pipe.query_async(&mut self.conn).await?;
                Answer::Count(uids.into_iter().flatten().collect::<HashSet<_>>().len() as u64)
            }
            Query::Uids => {
                let uids: Vec<Vec<String>> = pipe.query_async(&mut self.conn).await?;
                let mut uids: Vec<String> = uids.into_iter().flatten().collect();
                uids.sort_unstable();
                uids.dedup();
                Answer::Names(uids)
            }
            Query::UidOnline(_) => {
                let online: Vec<bool> = pipe.query_async(&mut self.conn).await?;
                Answer::Online(online.into_iter().any(|online| online))
            }
            Query::UidClients(_) => {
                let fields: Vec<Option<String>> = pipe.query_async(&mut self.conn).await?;
                let mut clients = Vec::new();
                for (node, field) in nodes.iter().zip(fields) {
                    for id in field.iter().flat_map(|f| f.split(',')) {
                        if let Ok(connection) = id.parse() {
                            clients.push(ClientId {
                                node: *node,
                                connection,
                            });
                        }
                    }
                }
                Answer::Clients(clients)
            }
            Query::Nodes => unreachable!("answered above"),
        })
    }

    /// Deletes this node's membership: a node that leaves is gone from counts at once.
    async fn leave(&mut self, shared: &Shared) {
        let keys = &shared.keys;
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(&keys.node)
            .arg(&keys.uids)
            .arg(&keys.groups)
            .ignore()
            .cmd("SREM")
            .arg(&keys.nodes)
            .arg(format!("{:016x}", shared.node))
            .ignore();
        let left = tokio::time::timeout(
            shared.options.timeout,
            pipe.query_async::<()>(&mut self.conn),
        )
        .await;
        if !matches!(left, Ok(Ok(()))) {
            tracing::debug!("cluster: leaving without deleting membership; it expires");
        }
    }
}

/// Called by the connection for each push it reads: a channel's message goes to the
/// backlog if there is room (else it is dropped and counted: this node is behind), the
/// end of the connection goes through whatever the backlog holds.
fn hand_over(shared: &Shared, backlog: &mpsc::Sender<Inbound>, push: PushInfo) {
    match push.kind {
        PushKind::Message => {
            let mut data = push.data.into_iter();
            let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                (data.next(), data.next())
            else {
                shared.counters.undecodable.fetch_add(1, Relaxed);
                return;
            };
            let message = Inbound::Message {
                channel: Bytes::from(channel),
                payload: Bytes::from(payload),
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = backlog.try_send(message) {
                shared.counters.lagged.fetch_add(1, Relaxed);
            }
        }
        PushKind::Disconnection => {
            // Room or not, the link must hear it: a task waits for room if needed.
            if let Err(mpsc::error::TrySendError::Full(end)) =
                backlog.try_send(Inbound::Disconnected)
            {
                let backlog = backlog.clone();
                tokio::spawn(async move {
                    let _ = backlog.send(end).await;
                });
            }
        }
        // Subscription confirmations and anything newer: nothing to do.
        _ => {}
    }
}

/// An envelope read from Redis: carried out here unless this node sent it.
fn receive(shared: &Shared, channel: &[u8], payload: Bytes) {
    let counters = &shared.counters;
    let channel = String::from_utf8_lossy(channel);
    match Envelope::decode(payload) {
        Ok(envelope) if envelope.origin == shared.node => {}
        Ok(envelope) => {
            counters.received.fetch_add(1, Relaxed);
            if let Err(error) = shared.apply(&envelope) {
                counters.undecodable.fetch_add(1, Relaxed);
                tracing::debug!(%channel, %error, "cluster: envelope ignored");
            }
        }
        Err(error) => {
            counters.undecodable.fetch_add(1, Relaxed);
            tracing::debug!(%channel, %error, "cluster: not an envelope, ignored");
        }
    }
}
