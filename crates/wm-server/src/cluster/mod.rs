//! Push across processes and machines: Workerman's Channel and GatewayWorker, on Redis
//! pub/sub (feature `cluster`).
//!
//! A [`Cluster`] is one *node*: a process (or a worker with a handle of its own) whose
//! connections can be reached from every other node on the same Redis and namespace. The
//! operations are GatewayWorker's: send to all, to one connection by its [`ClientId`], to
//! a uid ([`bind_uid`](Cluster::bind_uid), several connections per uid), to a group
//! ([`join_group`](Cluster::join_group)); counts and is-online; close by id; and Channel's
//! [`publish`](Cluster::publish) / [`subscribe`](Cluster::subscribe) for application data.
//!
//! ```no_run
//! use wm_server::cluster::Cluster;
//! use wm_server::{Message, Worker};
//!
//! let cluster = Cluster::connect("redis://127.0.0.1:6379")?;
//! Worker::new("websocket://0.0.0.0:8080")?
//!     .cluster(cluster.clone())
//!     .on_message(move |connection, message| {
//!         let Message::Text(text) = message else { return };
//!         let me = connection.client_id().expect("the worker has a cluster");
//!         if let Some(uid) = text.strip_prefix("login ") {
//!             let _ = cluster.bind_uid(me, uid);
//!         } else if let Some((uid, text)) = text.split_once(": ") {
//!             // Wherever the uid's connections are, on this node or another.
//!             let _ = cluster.send_to_uid(uid, text.to_owned());
//!         } else {
//!             let _ = cluster.send_to_all(text);
//!         }
//!     })
//!     .run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What holds, and what does not
//!
//! * **Local first.** A send delivers to this node's connections at once, in the caller,
//!   and publishes one envelope for the others; a message to a connection of this node
//!   never goes through Redis. Sends never wait for Redis: they queue (bounded,
//!   [`ClusterOptions::queue`]) for the node's link thread, which publishes what is queued
//!   in one pipeline (one round trip for many messages).
//! * **At most once.** Redis pub/sub delivers to the nodes subscribed at that moment, and
//!   forgets. A node whose link is down misses what others publish meanwhile; an envelope
//!   whose pipeline failed is not sent again (it may or may not have reached Redis), and
//!   is counted in [`ClusterStats::lost`]. While the link is down, sends wait in the queue
//!   and go out when it is back; past the queue's bound they are dropped and counted
//!   ([`ClusterStats::dropped`]). An application that needs every message adds its own
//!   sequence numbers and a store to replay from (a Redis stream, a database).
//! * **Membership at reading time.** A message to a uid or a group reaches the
//!   connections bound on each node when that node reads it: a client that moves to
//!   another node right after a send may get that message on both connections.
//! * **Ordered per sender.** Envelopes from one node reach each other node in the order
//!   they were sent (each node has one connection to Redis, which publishes in the order
//!   sends were made and reads in the order Redis delivers).
//! * **Membership.** Each node writes its own connections, uids and groups to Redis
//!   (coalesced, within a few milliseconds of a change) under keys that expire after
//!   three heartbeats ([`ClusterOptions::heartbeat`], 1 s by default): the members of a
//!   node that died are gone from counts and lookups within 3 s. A node rewrites all of it
//!   when its link comes back, and when it finds its keys expired.
//! * **Bounded.** What a node reads from Redis waits in a bounded backlog
//!   ([`ClusterOptions::backlog`]); a node that falls further behind drops envelopes and
//!   counts them ([`ClusterStats::lagged`]), so another node's burst cannot make its memory
//!   grow without end.
//! * **Reconnects.** A dropped link is retried with exponential backoff (50 ms to 5 s),
//!   resubscribes, rewrites membership and logs what was lost while it was down.
//!
//! Redis 6 or later (the node's one connection speaks RESP3: it publishes and is
//! subscribed at once).

mod envelope;
mod link;
mod local;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Notify};

pub use envelope::EnvelopeError;

/// Whether `frame` is an envelope this version of wm reads, as a node checks what it
/// reads from its channels (for tools and fuzzing).
pub fn check_envelope(frame: Bytes) -> Result<(), EnvelopeError> {
    let envelope = Envelope::decode(frame)?;
    if matches!(
        envelope.kind,
        Kind::All | Kind::Uid | Kind::Group | Kind::Client
    ) {
        Prepared::from_payload(&envelope.payload).ok_or(EnvelopeError::Payload)?;
    }
    match envelope.kind {
        Kind::Uid | Kind::Group | Kind::Topic => envelope.target_name().map(drop),
        Kind::Client
        | Kind::Close
        | Kind::BindUid
        | Kind::UnbindUid
        | Kind::JoinGroup
        | Kind::LeaveGroup => envelope.target_connection().map(drop),
        Kind::All => Ok(()),
    }
}
use envelope::{Envelope, Kind, Payload, MAX_EXCEPT, MAX_TARGET};
use local::{exclusions, Delivered, Local};

use crate::connection::lock;
use crate::{Connection, Message};

/// The longest heartbeat or timeout taken: long enough for any use, short enough that
/// three heartbeats and a timeout plus a second are far from overflowing.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// A connection's id across the cluster (GatewayWorker's `client_id`): the node it is on
/// and its id there. Written as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId {
    /// The node's id ([`Cluster::node_id`]).
    pub node: u64,
    /// The connection's id on that node ([`Connection::id`]).
    pub connection: u64,
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}{:016x}", self.node, self.connection)
    }
}

impl FromStr for ClientId {
    type Err = ClusterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ClusterError::InvalidClientId(s.to_owned());
        if s.len() != 32 || !s.is_ascii() {
            return Err(invalid());
        }
        let node = u64::from_str_radix(&s[..16], 16).map_err(|_| invalid())?;
        let connection = u64::from_str_radix(&s[16..], 16).map_err(|_| invalid())?;
        Ok(Self { node, connection })
    }
}

/// How a node talks to Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// The prefix of every key and channel, so that several applications share one
    /// Redis. Default `"wm"`.
    pub namespace: String,
    /// How often a node refreshes its membership keys; they expire after three of these,
    /// which bounds how long a dead node's members are still counted. Default 1 s.
    pub heartbeat: Duration,
    /// Operations waiting for the link (sends to other nodes, queries); beyond it a send
    /// to other nodes is dropped and counted. Default 65,536.
    pub queue: usize,
    /// The first link must be up within this (or [`Cluster::connect`] fails); also the
    /// deadline of every Redis command. Default 5 s.
    pub timeout: Duration,
    /// Data a [`Subscription`] holds unread; beyond it the topic's data is dropped for
    /// that subscriber and counted. Default 1,024.
    pub subscription_capacity: usize,
    /// Envelopes from other nodes read from Redis and not yet carried out; a node that
    /// falls this far behind drops what does not fit and counts it
    /// ([`ClusterStats::lagged`]). Default 65,536.
    pub backlog: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            namespace: "wm".to_owned(),
            heartbeat: Duration::from_secs(1),
            queue: 65_536,
            timeout: Duration::from_secs(5),
            subscription_capacity: 1024,
            backlog: 65_536,
        }
    }
}

impl ClusterOptions {
    /// Sets [`namespace`](Self::namespace).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets [`heartbeat`](Self::heartbeat).
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets [`queue`](Self::queue).
    pub fn queue(mut self, queue: usize) -> Self {
        self.queue = queue;
        self
    }

    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`backlog`](Self::backlog).
    pub fn backlog(mut self, backlog: usize) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets [`subscription_capacity`](Self::subscription_capacity).
    pub fn subscription_capacity(mut self, capacity: usize) -> Self {
        self.subscription_capacity = capacity;
        self
    }
}

/// What went wrong with a cluster operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The Redis URL could not be used.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// The first link to Redis did not come up in time.
    #[error("Redis at {url} is unreachable: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The last error.
        reason: String,
    },
    /// The options cannot work (a zero heartbeat, an empty queue).
    #[error("invalid cluster option: {0}")]
    InvalidOption(&'static str),
    /// The queue to the link is full: the part of the operation for other nodes was
    /// dropped (this node's connections got the message).
    #[error("the cluster's queue is full; the message did not go to other nodes")]
    QueueFull,
    /// Only text, binary and JSON messages travel between nodes.
    #[error("a {0} message cannot be sent through the cluster")]
    Unsupported(&'static str),
    /// A uid, group or topic name longer than 1,024 bytes.
    #[error("a uid, group or topic name is longer than 1024 bytes")]
    NameTooLong,
    /// More than 4,096 exclusions.
    #[error("more than 4096 excluded clients")]
    TooManyExclusions,
    /// Not a client id (32 hex digits).
    #[error("not a client id: {0:?}")]
    InvalidClientId(String),
    /// A query needs Redis, and the link is down.
    #[error("the link to Redis is down")]
    Down,
    /// Redis answered a query with an error, or not in time.
    #[error("Redis: {0}")]
    Redis(String),
    /// The cluster was shut down.
    #[error("the cluster is shut down")]
    Closed,
}

/// A node's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterStats {
    /// The link to Redis is up (subscribed, membership written).
    pub linked: bool,
    /// Times the link came back after it dropped.
    pub reconnects: u64,
    /// Envelopes published to Redis.
    pub published: u64,
    /// Envelopes from other nodes read from Redis.
    pub received: u64,
    /// Messages handed to this node's connections (sent here or received).
    pub delivered: u64,
    /// Messages this node's connections refused (closing, send buffer full).
    pub refused: u64,
    /// Operations for other nodes dropped because the queue was full.
    pub dropped: u64,
    /// Envelopes in a pipeline that failed when the link dropped: they may or may not
    /// have reached Redis, and are not sent again.
    pub lost: u64,
    /// Bytes on our channels that were not envelopes of this version, ignored.
    pub undecodable: u64,
    /// Topic data dropped for a subscriber that did not read.
    pub subscription_overflows: u64,
    /// Envelopes from other nodes dropped because this node was more than
    /// [`ClusterOptions::backlog`] behind.
    pub lagged: u64,
    /// Membership writes to Redis (one per pipeline).
    pub membership_writes: u64,
    /// Round trips that carried publishes (one pipeline each): `published` divided by
    /// this is how many envelopes a round trip carried.
    pub publish_round_trips: u64,
}

impl fmt::Display for ClusterStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "linked {}, reconnects {}, published {}, received {}, delivered {}, refused {}, \
             dropped {}, lost {}, lagged {}, undecodable {}, subscription overflows {}, \
             publish round trips {}",
            self.linked,
            self.reconnects,
            self.published,
            self.received,
            self.delivered,
            self.refused,
            self.dropped,
            self.lost,
            self.lagged,
            self.undecodable,
            self.subscription_overflows,
            self.publish_round_trips,
        )
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) linked: AtomicBool,
    pub(crate) reconnects: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) undecodable: AtomicU64,
    pub(crate) subscription_overflows: AtomicU64,
    pub(crate) lagged: AtomicU64,
    pub(crate) membership_writes: AtomicU64,
    pub(crate) publish_round_trips: AtomicU64,
}

impl Counters {
    fn delivered(&self, delivered: Delivered) {
        if delivered.taken > 0 {
            self.delivered.fetch_add(delivered.taken, Relaxed);
        }
        if delivered.refused > 0 {
            self.refused.fetch_add(delivered.refused, Relaxed);
        }
    }
}

/// A message as every local connection gets it: made once per send or envelope, cloned
/// into a [`Message`] per connection.
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    Text(Arc<str>),
    Binary(Bytes),
    Json(Arc<Value>),
}

impl Prepared {
    pub(crate) fn message(&self) -> Message {
        match self {
            Self::Text(text) => Message::Text(String::from(&**text)),
            Self::Binary(bytes) => Message::Binary(bytes.clone()),
            Self::Json(value) => Message::Json(Box::new(Value::clone(value))),
        }
    }

    /// The message for local delivery and the payload for other nodes.
    fn from_message(message: Message) -> Result<(Self, Payload), ClusterError> {
        Ok(match message {
            Message::Text(text) => {
                let payload = Payload::Text(Bytes::copy_from_slice(text.as_bytes()));
                (Self::Text(Arc::from(text)), payload)
            }
            Message::Binary(bytes) => (Self::Binary(bytes.clone()), Payload::Binary(bytes)),
            Message::Json(value) => {
                let json =
                    serde_json::to_vec(&value).map_err(|_| ClusterError::Unsupported("json"))?;
                (
                    Self::Json(Arc::new(*value)),
                    Payload::Json(Bytes::from(json)),
                )
            }
            other => return Err(ClusterError::Unsupported(other.kind())),
        })
    }

    /// The message an envelope from another node carries.
    fn from_payload(payload: &Payload) -> Option<Self> {
        Some(match payload {
            Payload::Text(text) => Self::Text(Arc::from(std::str::from_utf8(text).ok()?)),
            Payload::Binary(bytes) => Self::Binary(bytes.clone()),
            Payload::Json(json) => Self::Json(Arc::new(serde_json::from_slice(json).ok()?)),
            Payload::None | Payload::Data(_) => return None,
        })
    }
}

/// The names of a namespace's keys and channels.
#[derive(Debug)]
pub(crate) struct Keys {
    /// Channel: every node reads it (to all, to a uid, to a group).
    pub(crate) bus: String,
    /// Channel: this node's own (to one of its connections, membership of one).
    pub(crate) own_channel: String,
    /// Set: the nodes that wrote membership.
    pub(crate) nodes: String,
    /// Hash: this node's connection count; its existence says the node is alive.
    pub(crate) node: String,
    /// Hash: uid → this node's connection ids for it.
    pub(crate) uids: String,
    /// Hash: group → this node's member count.
    pub(crate) groups: String,
    namespace: String,
}

impl Keys {
    fn new(namespace: &str, node: u64) -> Self {
        Self {
            bus: format!("{namespace}:bus"),
            own_channel: Self::channel_of(namespace, node),
            nodes: format!("{namespace}:nodes"),
            node: Self::node_key(namespace, node),
            uids: format!("{}:u", Self::node_key(namespace, node)),
            groups: format!("{}:g", Self::node_key(namespace, node)),
            namespace: namespace.to_owned(),
        }
    }

    fn channel_of(namespace: &str, node: u64) -> String {
        format!("{namespace}:node:{node:016x}")
    }

    fn node_key(namespace: &str, node: u64) -> String {
        format!("{namespace}:n:{node:016x}")
    }

    pub(crate) fn node_channel(&self, node: u64) -> String {
        Self::channel_of(&self.namespace, node)
    }

    pub(crate) fn node_of(&self, node: u64) -> String {
        Self::node_key(&self.namespace, node)
    }

    pub(crate) fn topic(&self, topic: &str) -> String {
        format!("{}:topic:{topic}", self.namespace)
    }
}

/// Where a publish goes.
#[derive(Debug)]
pub(crate) enum Channel {
    Bus,
    Node(u64),
    Topic(Arc<str>),
}

/// A question for Redis about the whole cluster.
#[derive(Debug)]
pub(crate) enum Query {
    Nodes,
    ConnectionCount,
    UidCount,
    Uids,
    UidOnline(String),
    UidClients(String),
    GroupCount(String),
}

/// Redis's answer.
#[derive(Debug)]
pub(crate) enum Answer {
    Nodes(Vec<u64>),
    Count(u64),
    Online(bool),
    Clients(Vec<ClientId>),
    Names(Vec<String>),
}

/// What a node's handle asks its link thread.
pub(crate) enum Op {
    Publish { channel: Channel, frame: Bytes },
    Query(Query, oneshot::Sender<Result<Answer, ClusterError>>),
}

/// What the handle and the link thread share.
pub(crate) struct Shared {
    pub(crate) node: u64,
    pub(crate) url: String,
    pub(crate) options: ClusterOptions,
    pub(crate) keys: Keys,
    pub(crate) local: Mutex<Local>,
    /// Membership or topics changed: the link writes or (un)subscribes.
    pub(crate) changed: Notify,
    pub(crate) counters: Counters,
    next_subscription: AtomicU64,
}

impl Shared {
    /// Binds, unbinds, joins or leaves (by `kind`) for one of this node's connections,
    /// asked here or by another node; the link writes it to Redis.
    fn change_membership(&self, kind: Kind, id: u64, name: &str) {
        let changed = {
            let mut local = lock(&self.local);
            match kind {
                Kind::BindUid => local.bind_uid(id, name),
                Kind::UnbindUid => local.unbind_uid(id),
                Kind::JoinGroup => local.join_group(id, name),
                _ => local.leave_group(id, name),
            }
        };
        if changed {
            self.changed.notify_one();
        }
    }

    /// Carries out an envelope from another node on this node's connections.
    pub(crate) fn apply(&self, envelope: &Envelope) -> Result<(), EnvelopeError> {
        // Made before the registry is locked: parsing JSON or a long exclusion list does
        // not hold up this node's own sends.
        let prepared = || Prepared::from_payload(&envelope.payload).ok_or(EnvelopeError::Payload);
        let delivered = match envelope.kind {
            Kind::All => {
                let (message, except) = (prepared()?, exclusions(&envelope.except, self.node));
                Some(lock(&self.local).to_all(&message, &except))
            }
            Kind::Uid => {
                let (uid, message) = (envelope.target_name()?, prepared()?);
                Some(lock(&self.local).to_uid(uid, &message))
            }
            Kind::Group => {
                let (group, message) = (envelope.target_name()?, prepared()?);
                let except = exclusions(&envelope.except, self.node);
                Some(lock(&self.local).to_group(group, &message, &except))
            }
            Kind::Client => {
                let (id, message) = (envelope.target_connection()?, prepared()?);
                Some(lock(&self.local).to_connection(id, &message))
            }
            Kind::Close => {
                let id = envelope.target_connection()?;
                if let Some(member) = lock(&self.local).members.get(&id) {
                    member.connection.close();
                }
                None
            }
            Kind::BindUid | Kind::UnbindUid | Kind::JoinGroup | Kind::LeaveGroup => {
                let id = envelope.target_connection()?;
                let name = match &envelope.payload {
                    Payload::Text(name) if name.len() <= MAX_TARGET => {
                        std::str::from_utf8(name).map_err(|_| EnvelopeError::Utf8)?
                    }
                    Payload::Text(_) => return Err(EnvelopeError::TooLarge),
                    _ if matches!(
                        envelope.kind,
                        Kind::BindUid | Kind::JoinGroup | Kind::LeaveGroup
                    ) =>
                    {
                        return Err(EnvelopeError::PayloadType(0))
                    }
                    _ => "",
                };
                self.change_membership(envelope.kind, id, name);
                return Ok(());
            }
            Kind::Topic => {
                if let Payload::Data(data) = &envelope.payload {
                    let topic = envelope.target_name()?;
                    let (_, overflowed) = lock(&self.local).to_topic(topic, data);
                    if overflowed > 0 {
                        self.counters
                            .subscription_overflows
                            .fetch_add(overflowed, Relaxed);
                    }
                }
                None
            }
        };
        if let Some(delivered) = delivered {
            self.counters.delivered(delivered);
        }
        Ok(())
    }
}

/// A node of the cluster: cheap to clone, `Send + Sync`; the node leaves (its keys are
/// deleted, its link thread ends) when the last clone is dropped. That drop, and
/// [`shutdown`](Self::shutdown), wait for the link to publish what is queued and delete
/// the node's keys: a round trip, at most [`ClusterOptions::timeout`] for each when Redis
/// does not answer.
#[derive(Clone)]
pub struct Cluster(Arc<Handle>);

struct Handle {
    shared: Arc<Shared>,
    /// `None` once shut down: the link sees its queue close and leaves.
    ops: Mutex<Option<mpsc::Sender<Op>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Handle {
    fn shutdown(&self) {
        lock(&self.ops).take();
        self.shared.changed.notify_one();
        if let Some(thread) = lock(&self.thread).take() {
            // Bounded: the link leaves with one pipeline under the command deadline.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &format_args!("{:016x}", self.0.shared.node))
            .field("url", &self.0.shared.url)
            .field("namespace", &self.0.shared.options.namespace)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Joins the cluster on the Redis at `url` (`redis://host:port/db`,
    /// `redis://:password@host`, `redis+unix:///path`), with default options: waits until
    /// the link is up (subscribed), at most [`ClusterOptions::timeout`].
    pub fn connect(url: &str) -> Result<Self, ClusterError> {
        Self::connect_with(url, ClusterOptions::default())
    }

    /// [`connect`](Self::connect) with options.
    pub fn connect_with(url: &str, options: ClusterOptions) -> Result<Self, ClusterError> {
        if options.heartbeat < Duration::from_millis(1) || options.timeout.is_zero() {
            return Err(ClusterError::InvalidOption(
                "heartbeat must be at least 1 ms and timeout above zero",
            ));
        }
        if options.heartbeat > MAX_DURATION || options.timeout > MAX_DURATION {
            return Err(ClusterError::InvalidOption(
                "heartbeat and timeout must be at most a day",
            ));
        }
        if options.queue == 0 || options.subscription_capacity == 0 || options.backlog == 0 {
            return Err(ClusterError::InvalidOption(
                "queue, backlog and subscription_capacity must be above zero",
            ));
        }
        if options.namespace.is_empty() || options.namespace.len() > MAX_TARGET {
            return Err(ClusterError::InvalidOption(
                "the namespace must be 1 to 1024 bytes",
            ));
        }
        // RESP3 (Redis 6 and later): the node's one connection publishes and is subscribed
        // at once, and hands what it reads to a bounded backlog.
        let info = redis::IntoConnectionInfo::into_connection_info(url)
            .map_err(|e| ClusterError::InvalidUrl(e.to_string()))?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))
            .map_err(|e| ClusterError::InvalidUrl(e.to_string()))?;
        let node = loop {
            // Zero is never a node, so that a zeroed id is never taken for one.
            let node: u64 = rand::random();
            if node != 0 {
                break node;
            }
        };
        let shared = Arc::new(Shared {
            node,
            url: url.to_owned(),
            keys: Keys::new(&options.namespace, node),
            local: Mutex::new(Local::default()),
            changed: Notify::new(),
            counters: Counters::default(),
            next_subscription: AtomicU64::new(1),
            options,
        });
        let (ops, receiver) = mpsc::channel(shared.options.queue);
        let (ready, first) = std::sync::mpsc::channel();
        let link_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("wm-cluster-{node:016x}"))
            .spawn(move || link::run(link_shared, client, receiver, ready))
            .map_err(|e| ClusterError::Unreachable {
                url: url.to_owned(),
                reason: format!("cannot start the link thread: {e}"),
            })?;
        let handle = Handle {
            shared: shared.clone(),
            ops: Mutex::new(Some(ops)),
            thread: Mutex::new(Some(thread)),
        };
        // The link answers within its timeout; a little more for the thread to start.
        let wait = shared.options.timeout + Duration::from_secs(1);
        match first.recv_timeout(wait) {
            Ok(Ok(())) => Ok(Self(Arc::new(handle))),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ClusterError::Unreachable {
                url: url.to_owned(),
                reason: "no answer in time".to_owned(),
            }),
        }
    }

    /// This node's id, random, unique across the cluster in practice.
    pub fn node_id(&self) -> u64 {
        self.0.shared.node
    }

    /// The cluster id of one of this node's connections.
    pub fn client_id(&self, connection: &Connection) -> ClientId {
        ClientId {
            node: self.0.shared.node,
            connection: connection.id(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> ClusterStats {
        let c = &self.0.shared.counters;
        ClusterStats {
            linked: c.linked.load(Relaxed),
            reconnects: c.reconnects.load(Relaxed),
            published: c.published.load(Relaxed),
            received: c.received.load(Relaxed),
            delivered: c.delivered.load(Relaxed),
            refused: c.refused.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            lost: c.lost.load(Relaxed),
            undecodable: c.undecodable.load(Relaxed),
            subscription_overflows: c.subscription_overflows.load(Relaxed),
            lagged: c.lagged.load(Relaxed),
            membership_writes: c.membership_writes.load(Relaxed),
            publish_round_trips: c.publish_round_trips.load(Relaxed),
        }
    }

    /// Leaves the cluster now: deletes this node's membership from Redis and ends the
    /// link (what the last clone's drop does). Later operations on any clone deliver
    /// locally only and fail with [`ClusterError::Closed`] for other nodes.
    pub fn shutdown(&self) {
        self.0.shutdown();
    }

    /// Registers a connection of a listener or client that has this cluster.
    pub(crate) fn add(&self, connection: &Connection) {
        lock(&self.0.shared.local).add(connection.clone());
        self.0.shared.changed.notify_one();
    }

    /// Takes a closed connection out of every uid and group.
    pub(crate) fn remove(&self, connection: &Connection) {
        lock(&self.0.shared.local).remove(connection.id());
        self.0.shared.changed.notify_one();
    }

    fn enqueue(&self, op: Op) -> Result<(), ClusterError> {
        let ops = lock(&self.0.ops);
        let Some(ops) = ops.as_ref() else {
            return Err(ClusterError::Closed);
        };
        ops.try_send(op).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => {
                self.0.shared.counters.dropped.fetch_add(1, Relaxed);
                ClusterError::QueueFull
            }
            mpsc::error::TrySendError::Closed(_) => ClusterError::Closed,
        })
    }

    fn publish_envelope(&self, channel: Channel, envelope: &Envelope) -> Result<(), ClusterError> {
        self.enqueue(Op::Publish {
            channel,
            frame: envelope.encode(),
        })
    }

    fn envelope(&self, kind: Kind, target: Bytes, payload: Payload) -> Envelope {
        Envelope {
            kind,
            origin: self.0.shared.node,
            target,
            except: Vec::new(),
            payload,
        }
    }

    fn name(name: &str) -> Result<Bytes, ClusterError> {
        if name.len() > MAX_TARGET {
            return Err(ClusterError::NameTooLong);
        }
        Ok(Bytes::copy_from_slice(name.as_bytes()))
    }

    fn record(&self, delivered: Delivered) {
        self.0.shared.counters.delivered(delivered);
    }

    /// Sends `message` to every connection of every node (GatewayWorker's `sendToAll`).
    /// This node's connections have it when this returns.
    pub fn send_to_all(&self, message: impl Into<Message>) -> Result<(), ClusterError> {
        self.send_to_all_except(message, &[])
    }

    /// [`send_to_all`](Self::send_to_all) but for the connections in `except`.
    pub fn send_to_all_except(
        &self,
        message: impl Into<Message>,
        except: &[ClientId],
    ) -> Result<(), ClusterError> {
        if except.len() > MAX_EXCEPT {
            return Err(ClusterError::TooManyExclusions);
        }
        let (prepared, payload) = Prepared::from_message(message.into())?;
        let shared = &self.0.shared;
        let local_except = exclusions(except, shared.node);
        self.record(lock(&shared.local).to_all(&prepared, &local_except));
        let mut envelope = self.envelope(Kind::All, Bytes::new(), payload);
        envelope.except = except.to_vec();
        self.publish_envelope(Channel::Bus, &envelope)
    }

    /// Sends `message` to every connection bound to `uid`, on any node (`sendToUid`).
    pub fn send_to_uid(&self, uid: &str, message: impl Into<Message>) -> Result<(), ClusterError> {
        let target = Self::name(uid)?;
        let (prepared, payload) = Prepared::from_message(message.into())?;
        self.record(lock(&self.0.shared.local).to_uid(uid, &prepared));
        self.publish_envelope(Channel::Bus, &self.envelope(Kind::Uid, target, payload))
    }

    /// Sends `message` to every member of `group`, on any node (`sendToGroup`).
    pub fn send_to_group(
        &self,
        group: &str,
        message: impl Into<Message>,
    ) -> Result<(), ClusterError> {
        self.send_to_group_except(group, message, &[])
    }

    /// [`send_to_group`](Self::send_to_group) but for the connections in `except`.
    pub fn send_to_group_except(
        &self,
        group: &str,
        message: impl Into<Message>,
        except: &[ClientId],
    ) -> Result<(), ClusterError> {
        if except.len() > MAX_EXCEPT {
            return Err(ClusterError::TooManyExclusions);
        }
        let target = Self::name(group)?;
        let (prepared, payload) = Prepared::from_message(message.into())?;
        let shared = &self.0.shared;
        let local_except = exclusions(except, shared.node);
        self.record(lock(&shared.local).to_group(group, &prepared, &local_except));
        let mut envelope = self.envelope(Kind::Group, target, payload);
        envelope.except = except.to_vec();
        self.publish_envelope(Channel::Bus, &envelope)
    }

    /// Sends `message` to one connection, wherever it is (`sendToClient`). To one of this
    /// node's connections it never goes through Redis; to a connection that is gone it
    /// goes nowhere.
    pub fn send_to_client(
        &self,
        client: ClientId,
        message: impl Into<Message>,
    ) -> Result<(), ClusterError> {
        let (prepared, payload) = Prepared::from_message(message.into())?;
        if client.node == self.0.shared.node {
            self.record(lock(&self.0.shared.local).to_connection(client.connection, &prepared));
            return Ok(());
        }
        let target = Bytes::copy_from_slice(&client.connection.to_be_bytes());
        let envelope = self.envelope(Kind::Client, target, payload);
        self.publish_envelope(Channel::Node(client.node), &envelope)
    }

    /// Closes one connection gracefully, wherever it is (`closeClient`).
    pub fn close_client(&self, client: ClientId) -> Result<(), ClusterError> {
        if client.node == self.0.shared.node {
            if let Some(member) = lock(&self.0.shared.local).members.get(&client.connection) {
                member.connection.close();
            }
            return Ok(());
        }
        self.remote_membership(Kind::Close, client, "")
    }

    /// Binds a connection, wherever it is, to `uid` (`bindUid`): one uid per connection,
    /// a second bind replaces the first; a uid may have many connections. The binding
    /// ends when the connection closes.
    pub fn bind_uid(&self, client: ClientId, uid: &str) -> Result<(), ClusterError> {
        Self::name(uid)?;
        self.membership(Kind::BindUid, client, uid)
    }

    /// Unbinds a connection from its uid (`unbindUid`).
    pub fn unbind_uid(&self, client: ClientId) -> Result<(), ClusterError> {
        self.membership(Kind::UnbindUid, client, "")
    }

    /// Adds a connection, wherever it is, to `group` (`joinGroup`); it leaves every group
    /// when it closes.
    pub fn join_group(&self, client: ClientId, group: &str) -> Result<(), ClusterError> {
        Self::name(group)?;
        self.membership(Kind::JoinGroup, client, group)
    }

    /// Takes a connection out of `group` (`leaveGroup`).
    pub fn leave_group(&self, client: ClientId, group: &str) -> Result<(), ClusterError> {
        Self::name(group)?;
        self.membership(Kind::LeaveGroup, client, group)
    }

    fn membership(&self, kind: Kind, client: ClientId, name: &str) -> Result<(), ClusterError> {
        let shared = &self.0.shared;
        if client.node != shared.node {
            return self.remote_membership(kind, client, name);
        }
        shared.change_membership(kind, client.connection, name);
        Ok(())
    }

    fn remote_membership(
        &self,
        kind: Kind,
        client: ClientId,
        name: &str,
    ) -> Result<(), ClusterError> {
        let target = Bytes::copy_from_slice(&client.connection.to_be_bytes());
        let payload = Payload::Text(Bytes::copy_from_slice(name.as_bytes()));
        let envelope = self.envelope(kind, target, payload);
        self.publish_envelope(Channel::Node(client.node), &envelope)
    }

    /// Publishes application data on `topic` (Channel's `publish`): every
    /// [`Subscription`] to it, on every node, receives it once.
    pub fn publish(&self, topic: &str, data: impl Into<Bytes>) -> Result<(), ClusterError> {
        let target = Self::name(topic)?;
        let data = data.into();
        let (_, overflowed) = lock(&self.0.shared.local).to_topic(topic, &data);
        if overflowed > 0 {
            self.0
                .shared
                .counters
                .subscription_overflows
                .fetch_add(overflowed, Relaxed);
        }
        let envelope = self.envelope(Kind::Topic, target, Payload::Data(data));
        self.publish_envelope(Channel::Topic(Arc::from(topic)), &envelope)
    }

    /// Subscribes to `topic` (Channel's `on`): what any node publishes on it from now on
    /// (once this node's link has subscribed: within a round trip to Redis).
    pub fn subscribe(&self, topic: &str) -> Result<Subscription, ClusterError> {
        Self::name(topic)?;
        let shared = &self.0.shared;
        if lock(&self.0.ops).is_none() {
            return Err(ClusterError::Closed);
        }
        let id = shared.next_subscription.fetch_add(1, Relaxed);
        let (sender, receiver) = mpsc::channel(shared.options.subscription_capacity);
        if lock(&shared.local).subscribe(topic, id, sender) {
            shared.changed.notify_one();
        }
        Ok(Subscription {
            topic: topic.to_owned(),
            id,
            receiver,
            shared: shared.clone(),
        })
    }

    async fn query(&self, query: Query) -> Result<Answer, ClusterError> {
        let (answer, receive) = oneshot::channel();
        self.enqueue(Op::Query(query, answer))?;
        receive.await.map_err(|_| ClusterError::Closed)?
    }

    /// The nodes alive now (their membership keys have not expired).
    pub async fn nodes(&self) -> Result<Vec<u64>, ClusterError> {
        match self.query(Query::Nodes).await? {
            Answer::Nodes(nodes) => Ok(nodes),
            _ => Err(ClusterError::Redis("unexpected answer".to_owned())),
        }
    }

    /// Connections on every node (`getAllClientCount`).
    pub async fn connection_count(&self) -> Result<u64, ClusterError> {
        self.count(Query::ConnectionCount).await
    }

    /// Distinct uids bound on any node (`getAllUidCount`). Reads every node's uids.
    pub async fn uid_count(&self) -> Result<u64, ClusterError> {
        self.count(Query::UidCount).await
    }

    /// The distinct uids bound on any node, sorted (`getAllUidList`). Reads every node's
    /// uids.
    pub async fn uids(&self) -> Result<Vec<String>, ClusterError> {
        match self.query(Query::Uids).await? {
            Answer::Names(names) => Ok(names),
            _ => Err(ClusterError::Redis("unexpected answer".to_owned())),
        }
    }

    /// Members of `group` on every node (`getClientCountByGroup`).
    pub async fn group_member_count(&self, group: &str) -> Result<u64, ClusterError> {
        Self::name(group)?;
        self.count(Query::GroupCount(group.to_owned())).await
    }

    /// Whether any connection on any node is bound to `uid` (`isUidOnline`).
    pub async fn is_uid_online(&self, uid: &str) -> Result<bool, ClusterError> {
        Self::name(uid)?;
        match self.query(Query::UidOnline(uid.to_owned())).await? {
            Answer::Online(online) => Ok(online),
            _ => Err(ClusterError::Redis("unexpected answer".to_owned())),
        }
    }

    /// The connections bound to `uid`, on every node (`getClientIdByUid`).
    pub async fn uid_client_ids(&self, uid: &str) -> Result<Vec<ClientId>, ClusterError> {
        Self::name(uid)?;
        match self.query(Query::UidClients(uid.to_owned())).await? {
            Answer::Clients(clients) => Ok(clients),
            _ => Err(ClusterError::Redis("unexpected answer".to_owned())),
        }
    }

    async fn count(&self, query: Query) -> Result<u64, ClusterError> {
        match self.query(query).await? {
            Answer::Count(count) => Ok(count),
            _ => Err(ClusterError::Redis("unexpected answer".to_owned())),
        }
    }

    /// This node's connection with this id, if it is here and open.
    pub fn local_connection(&self, client: ClientId) -> Option<Connection> {
        if client.node != self.0.shared.node {
            return None;
        }
        lock(&self.0.shared.local)
            .members
            .get(&client.connection)
            .map(|member| member.connection.clone())
    }

    /// This node's connections bound to `uid`.
    pub fn local_uid_connections(&self, uid: &str) -> Vec<Connection> {
        let local = lock(&self.0.shared.local);
        local
            .uids
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|id| local.members.get(id))
            .map(|member| member.connection.clone())
            .collect()
    }

    /// This node's members of `group`.
    pub fn local_group_size(&self, group: &str) -> usize {
        lock(&self.0.shared.local)
            .groups
            .get(group)
            .map_or(0, |members| members.len())
    }
}

/// Data published on one topic, from every node, in the order each node published it.
/// Unsubscribes when dropped.
pub struct Subscription {
    topic: String,
    id: u64,
    receiver: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
}

impl Subscription {
    /// The next data; `None` once the cluster is shut down.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.receiver.recv().await
    }

    /// The next data if some is waiting.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.receiver.try_recv().ok()
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if lock(&self.shared.local).unsubscribe(&self.topic, self.id) {
            self.shared.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_read_back_from_their_text() {
        let id = ClientId {
            node: 0xdead_beef_0000_0001,
            connection: 42,
        };
        let text = id.to_string();
        assert_eq!(text, "deadbeef00000001000000000000002a");
        assert_eq!(text.parse::<ClientId>(), Ok(id));
        for bad in [
            "",
            "xyz",
            &text[1..],
            &format!("{text}0"),
            "é0000000000000000000000000000000",
        ] {
            assert!(bad.parse::<ClientId>().is_err(), "{bad:?}");
        }
    }
}
