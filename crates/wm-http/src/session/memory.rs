//! Sessions in this process's memory, bounded and expiring.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::{SessionError, SessionId, SessionStore, StoredSession};

/// The most sessions a [`MemoryStore`] holds by default.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// Sessions in memory: for one process (every worker thread shares it), gone on restart.
/// At most [`max_sessions`](Self::with_max_sessions) live ones: a save that would pass
/// it collects the expired first, then fails with [`SessionError::StoreFull`], so that a
/// flood of new visitors cannot grow it without end.
#[derive(Debug)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<SessionId, StoredSession>>,
    max_sessions: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store of at most [`DEFAULT_MAX_SESSIONS`].
    pub fn new() -> Self {
        Self::with_max_sessions(DEFAULT_MAX_SESSIONS)
    }

    /// An empty store of at most `max_sessions`.
    pub fn with_max_sessions(max_sessions: usize) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            max_sessions,
        }
    }

    /// How many sessions it holds, expired ones not yet collected included.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, StoredSession>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SessionStore for MemoryStore {
    fn load(&self, id: &SessionId) -> Result<Option<StoredSession>, SessionError> {
        let now = SystemTime::now();
        Ok(self.lock().get(id).filter(|s| s.expires > now).cloned())
    }

    fn save(&self, id: &SessionId, session: &StoredSession) -> Result<(), SessionError> {
        let mut sessions = self.lock();
        if !sessions.contains_key(id) && sessions.len() >= self.max_sessions {
            let now = SystemTime::now();
            sessions.retain(|_, s| s.expires > now);
            if sessions.len() >= self.max_sessions {
                return Err(SessionError::StoreFull {
                    limit: self.max_sessions,
                });
            }
        }
        sessions.insert(id.clone(), session.clone());
        Ok(())
    }

    fn destroy(&self, id: &SessionId) -> Result<(), SessionError> {
        self.lock().remove(id);
        Ok(())
    }

    fn gc(&self, now: SystemTime) -> Result<usize, SessionError> {
        let mut sessions = self.lock();
        let before = sessions.len();
        sessions.retain(|_, s| s.expires > now);
        Ok(before - sessions.len())
    }
}
