//! This node's side of the cluster: which connections are here, their uid and groups, and
//! the topics subscribed here. Deliveries to this node's connections start here and never
//! go through Redis. What changed since the link last wrote it to Redis is marked, so that
//! membership is written coalesced (the latest state of a uid, not every change to it) and
//! no change is lost to a full queue.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{ClientId, Prepared};
use crate::Connection;

/// One connection of this node, with what it was put into.
pub(crate) struct Member {
    pub(crate) connection: Connection,
    pub(crate) uid: Option<Arc<str>>,
    pub(crate) groups: Vec<Arc<str>>,
}

/// What the link still has to write to Redis.
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    pub(crate) connections: bool,
    pub(crate) uids: HashSet<Arc<str>>,
    pub(crate) groups: HashSet<Arc<str>>,
}

impl Dirty {
    pub(crate) fn is_empty(&self) -> bool {
        !self.connections && self.uids.is_empty() && self.groups.is_empty()
    }
}

/// A topic's subscribers on this node.
pub(crate) type Subscribers = Vec<(u64, mpsc::Sender<Bytes>)>;

#[derive(Default)]
pub(crate) struct Local {
    pub(crate) members: HashMap<u64, Member>,
    pub(crate) uids: HashMap<Arc<str>, Vec<u64>>,
    pub(crate) groups: HashMap<Arc<str>, HashSet<u64>>,
    pub(crate) topics: HashMap<Arc<str>, Subscribers>,
    pub(crate) dirty: Dirty,
}

/// What a local delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// Connections that took the message.
    pub(crate) taken: u64,
    /// Connections that refused it (closing, send buffer full).
    pub(crate) refused: u64,
}

impl Local {
    pub(crate) fn add(&mut self, connection: Connection) {
        self.members.insert(
            connection.id(),
            Member {
                connection,
                uid: None,
                groups: Vec::new(),
            },
        );
        self.dirty.connections = true;
    }

    /// Takes a closed connection out of everything it was in.
    pub(crate) fn remove(&mut self, id: u64) {
        let Some(member) = self.members.remove(&id) else {
            return;
        };
        self.dirty.connections = true;
        if let Some(uid) = member.uid {
            self.drop_from_uid(&uid, id);
        }
        for group in member.groups {
            self.drop_from_group(&group, id);
        }
    }

    /// Binds a connection of this node to `uid` (one uid per connection, as
    /// GatewayWorker's `bindUid`: a second bind moves it). False if it is not here.
    pub(crate) fn bind_uid(&mut self, id: u64, uid: &str) -> bool {
        let Some(member) = self.members.get_mut(&id) else {
            return false;
        };
        if member.uid.as_deref() == Some(uid) {
            return true;
        }
        let uid: Arc<str> = self
            .uids
            .get_key_value(uid)
            .map_or_else(|| Arc::from(uid), |(key, _)| key.clone());
        if let Some(old) = member.uid.replace(uid.clone()) {
            self.drop_from_uid(&old, id);
        }
        self.uids.entry(uid.clone()).or_default().push(id);
        self.dirty.uids.insert(uid);
        true
    }

    pub(crate) fn unbind_uid(&mut self, id: u64) -> bool {
        let Some(uid) = self.members.get_mut(&id).and_then(|m| m.uid.take()) else {
            return false;
        };
        self.drop_from_uid(&uid, id);
        true
    }

    pub(crate) fn join_group(&mut self, id: u64, group: &str) -> bool {
        let Some(member) = self.members.get_mut(&id) else {
            return false;
        };
        if member.groups.iter().any(|g| &**g == group) {
            return true;
        }
        let group: Arc<str> = self
            .groups
            .get_key_value(group)
            .map_or_else(|| Arc::from(group), |(key, _)| key.clone());
        member.groups.push(group.clone());
        self.groups.entry(group.clone()).or_default().insert(id);
        self.dirty.groups.insert(group);
        true
    }

    pub(crate) fn leave_group(&mut self, id: u64, group: &str) -> bool {
        let Some(member) = self.members.get_mut(&id) else {
            return false;
        };
        let Some(at) = member.groups.iter().position(|g| &**g == group) else {
            return false;
        };
        let group = member.groups.swap_remove(at);
        self.drop_from_group(&group, id);
        true
    }

    fn drop_from_uid(&mut self, uid: &Arc<str>, id: u64) {
        if let Some(ids) = self.uids.get_mut(uid) {
            ids.retain(|&other| other != id);
            if ids.is_empty() {
                self.uids.remove(uid);
            }
        }
        self.dirty.uids.insert(uid.clone());
    }

    fn drop_from_group(&mut self, group: &Arc<str>, id: u64) {
        if let Some(ids) = self.groups.get_mut(group) {
            ids.remove(&id);
            if ids.is_empty() {
                self.groups.remove(group);
            }
        }
        self.dirty.groups.insert(group.clone());
    }

    /// Sends to every connection here but the excluded ones.
    pub(crate) fn to_all(&self, message: &Prepared, except: &HashSet<u64>) -> Delivered {
        let mut delivered = Delivered::default();
        for (&id, member) in &self.members {
            if !except.contains(&id) {
                deliver(&member.connection, message, &mut delivered);
            }
        }
        delivered
    }

    pub(crate) fn to_uid(&self, uid: &str, message: &Prepared) -> Delivered {
        let mut delivered = Delivered::default();
        for id in self.uids.get(uid).into_iter().flatten() {
            if let Some(member) = self.members.get(id) {
                deliver(&member.connection, message, &mut delivered);
            }
        }
        delivered
    }

    pub(crate) fn to_group(
        &self,
        group: &str,
        message: &Prepared,
        except: &HashSet<u64>,
    ) -> Delivered {
        let mut delivered = Delivered::default();
        for &id in self.groups.get(group).into_iter().flatten() {
            if except.contains(&id) {
                continue;
            }
            if let Some(member) = self.members.get(&id) {
                deliver(&member.connection, message, &mut delivered);
            }
        }
        delivered
    }

    pub(crate) fn to_connection(&self, id: u64, message: &Prepared) -> Delivered {
        let mut delivered = Delivered::default();
        if let Some(member) = self.members.get(&id) {
            deliver(&member.connection, message, &mut delivered);
        }
        delivered
    }

    /// Hands topic data to this node's subscribers; returns how many were full (their
    /// data is dropped: a subscriber that does not read cannot make memory grow).
    pub(crate) fn to_topic(&self, topic: &str, data: &Bytes) -> (u64, u64) {
        let (mut taken, mut overflowed) = (0, 0);
        for (_, subscriber) in self.topics.get(topic).into_iter().flatten() {
            match subscriber.try_send(data.clone()) {
                Ok(()) => taken += 1,
                Err(mpsc::error::TrySendError::Full(_)) => overflowed += 1,
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        (taken, overflowed)
    }

    /// Adds a subscriber; true if it is the topic's first here (the link subscribes).
    pub(crate) fn subscribe(&mut self, topic: &str, id: u64, sender: mpsc::Sender<Bytes>) -> bool {
        let subscribers = self.topics.entry(Arc::from(topic)).or_default();
        subscribers.push((id, sender));
        subscribers.len() == 1
    }

    /// Takes a subscriber out; true if it was the topic's last here (the link
    /// unsubscribes).
    pub(crate) fn unsubscribe(&mut self, topic: &str, id: u64) -> bool {
        let Some(subscribers) = self.topics.get_mut(topic) else {
            return false;
        };
        subscribers.retain(|(other, _)| *other != id);
        if subscribers.is_empty() {
            self.topics.remove(topic);
            return true;
        }
        false
    }

    /// What a uid is worth in Redis now: its connections here, comma-separated, or
    /// `None` when it has none (the field is deleted).
    pub(crate) fn uid_field(&self, uid: &str) -> Option<String> {
        let ids = self.uids.get(uid)?;
        let mut field = String::with_capacity(ids.len() * 8);
        for (n, id) in ids.iter().enumerate() {
            if n > 0 {
                field.push(',');
            }
            field.push_str(itoa::Buffer::new().format(*id));
        }
        Some(field)
    }

    /// A group's member count here, `None` when empty.
    pub(crate) fn group_field(&self, group: &str) -> Option<usize> {
        self.groups.get(group).map(HashSet::len)
    }

    /// Marks everything for writing (after a reconnect: Redis may have lost it all).
    pub(crate) fn mark_all_dirty(&mut self) {
        self.dirty.connections = true;
        self.dirty.uids = self.uids.keys().cloned().collect();
        self.dirty.groups = self.groups.keys().cloned().collect();
    }
}

/// The connections of `node` among `except`: made before the registry is locked, so that
/// a long exclusion list costs one pass, not one per member.
pub(crate) fn exclusions(except: &[ClientId], node: u64) -> HashSet<u64> {
    except
        .iter()
        .filter(|c| c.node == node)
        .map(|c| c.connection)
        .collect()
}

fn deliver(connection: &Connection, message: &Prepared, delivered: &mut Delivered) {
    if connection.send(message.message()).is_ok() {
        delivered.taken += 1;
    } else {
        delivered.refused += 1;
    }
}
