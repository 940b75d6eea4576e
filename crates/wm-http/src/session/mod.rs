//! Sessions (cargo feature `session`): Workerman's `$request->session()`, with its
//! cookie, its lifetime and its stores.
//!
//! A [`Sessions`] holds the policy ([`SessionConfig`]: cookie name, lifetime, cookie
//! attributes, size limit) and a [`SessionStore`]. Per request,
//! [`start`](Sessions::start) reads the session cookie and loads the session (or makes a
//! new one), the handler reads and changes the [`Session`], and
//! [`commit`](Sessions::commit) saves it and adds the `Set-Cookie` the response needs.
//! The stores: [`MemoryStore`] (one process, bounded, expiring) and [`FileStore`] (one
//! file per session, as Workerman's default `FileSessionHandler`, written atomically).
//! Another store (Redis, a database) is the four methods of [`SessionStore`] over the
//! session's bytes.
//!
//! What a demanding deployment expects, and what is done here:
//! * **Ids** are 160 bits from the thread's CSPRNG (`rand`'s `ThreadRng`, ChaCha seeded
//!   from the OS), as 40 lowercase hex digits; a cookie that is not of that form is
//!   ignored, so no other string ever reaches a store (no path tricks in the file store).
//! * **No fixation**: an id the store does not know (expired, forged) is not adopted; the
//!   session gets a new one. [`Session::regenerate`] (after a login) moves the data to a
//!   new id and deletes the old one.
//! * **Lazy**: a new session is saved, and its cookie sent, only once it holds something;
//!   an unchanged one is only touched to slide its expiry, and only when a quarter of its
//!   lifetime has passed.
//! * **Bounded**: a session's serialised size is limited ([`SessionConfig::max_size`],
//!   64 KiB), the memory store's count too; expired sessions are collected every
//!   [`SessionConfig::gc_interval`], on a thread of its own started by the commit that
//!   finds it due.
//! * The file store does small blocking reads and writes on the calling thread, as PHP's
//!   does; with many requests a second, use the memory store, or a store on a server.
//!
//! ```
//! use wm_http::session::{MemoryStore, SessionConfig, Sessions};
//! use wm_http::{Http, Protocol, Response};
//!
//! let sessions = Sessions::new(MemoryStore::new(), SessionConfig::default());
//! let mut http = Http::default();
//!
//! // A first visit: nothing stored yet, so no cookie is sent ...
//! let mut wire = bytes::BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
//! let request = http.decode(&mut wire)?.unwrap();
//! let mut session = sessions.start(&request)?;
//! assert!(session.is_new() && session.get::<u32>("visits").is_none());
//! // ... until the handler stores something.
//! session.set("visits", 1)?;
//! let response = sessions.commit(session, Response::new(200))?;
//! let cookie = response.get_header("set-cookie").unwrap().to_owned();
//! assert!(cookie.starts_with("PHPSID=") && cookie.contains("HttpOnly"));
//!
//! // The next request sends the cookie back and finds the session.
//! let id = &cookie["PHPSID=".len()..cookie.find(';').unwrap()];
//! let next = format!("GET / HTTP/1.1\r\nHost: h\r\nCookie: PHPSID={id}\r\n\r\n");
//! let mut wire = bytes::BytesMut::from(next.as_bytes());
//! let request = http.decode(&mut wire)?.unwrap();
//! let session = sessions.start(&request)?;
//! assert_eq!(session.get::<u32>("visits"), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod file;
mod memory;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Request, Response, SameSite, SetCookie};

pub use file::FileStore;
pub use memory::{MemoryStore, DEFAULT_MAX_SESSIONS};

/// Workerman's `Session::$name`.
pub const DEFAULT_COOKIE_NAME: &str = "PHPSID";

/// PHP's `session.gc_maxlifetime`, which Workerman's `Session::$lifetime` follows: 24
/// minutes.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(1440);

/// The largest serialised session by default: 64 KiB.
pub const DEFAULT_MAX_SIZE: usize = 64 * 1024;

/// How often expired sessions are collected by default: every 5 minutes.
pub const DEFAULT_GC_INTERVAL: Duration = Duration::from_secs(300);

/// The longest lifetime taken (longer ones are cut to it): a hundred years, which no
/// clock arithmetic overflows.
const MAX_LIFETIME: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Random bytes in an id: 160 bits, beyond guessing (OWASP asks for 64 bits of entropy).
const ID_BYTES: usize = 20;

/// A session id: 40 lowercase hex digits, from a CSPRNG.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A new random id.
    pub fn random() -> Self {
        // 128 + 32 bits, as 32 + 8 lowercase hex digits.
        let (high, low): (u128, u32) = rand::random();
        Self(format!("{high:032x}{low:08x}"))
    }

    /// `text` as an id, if it has the form of one (40 lowercase hex digits); anything
    /// else a client sends is not a session of ours.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == ID_BYTES * 2
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(text.to_owned()))
    }

    /// The id as text (safe in a file name or a key).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Not the id itself: ids are secrets, and logs are not.
impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", &self.0[..6])
    }
}

/// A session as a store keeps it: its serialised data and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The data, as [`Sessions`] serialised it (a JSON object).
    pub data: Vec<u8>,
    /// When it expires; a store does not return it after that.
    pub expires: SystemTime,
}

/// Where sessions are kept. Each method is one operation on one session's bytes, so a
/// store on a server (Redis: `GET`, `SET … PXAT`, `DEL`) is a few lines.
pub trait SessionStore: Send + Sync + 'static {
    /// The session `id`, unless it is unknown or expired.
    fn load(&self, id: &SessionId) -> Result<Option<StoredSession>, SessionError>;

    /// Saves (creates or replaces) the session `id`.
    fn save(&self, id: &SessionId, session: &StoredSession) -> Result<(), SessionError>;

    /// Deletes the session `id` (nothing happens if there is none).
    fn destroy(&self, id: &SessionId) -> Result<(), SessionError>;

    /// Deletes every session expired at `now`; returns how many. A store whose server
    /// expires keys by itself returns 0.
    fn gc(&self, now: SystemTime) -> Result<usize, SessionError>;
}

/// What went wrong with a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store could not read or write.
    #[error("session store: {0}")]
    Io(#[from] std::io::Error),
    /// The session's data, serialised, is over [`SessionConfig::max_size`].
    #[error("session of {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The memory store holds its limit of live sessions.
    #[error("the session store is full ({limit} sessions)")]
    StoreFull {
        /// The limit.
        limit: usize,
    },
    /// A value could not be serialised, or a stored one read as the type asked for.
    #[error("session value: {0}")]
    Value(#[from] serde_json::Error),
    /// The cookie settings cannot be written (a path or domain with a `;`).
    #[error("session cookie: {0}")]
    Cookie(#[from] crate::CookieError),
}

/// The session policy: Workerman's `Session::$name`, `$lifetime`, `$cookieLifetime`,
/// `$cookiePath`, `$domain`, `$secure`, `$httpOnly`, `$sameSite`, and the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The cookie's name ([`DEFAULT_COOKIE_NAME`]).
    pub cookie_name: String,
    /// How long a session lives after its last use ([`DEFAULT_LIFETIME`]).
    pub lifetime: Duration,
    /// The cookie's `Max-Age`; `None` (the default, as Workerman's 0) makes it a
    /// browser-session cookie, gone when the browser closes.
    pub cookie_lifetime: Option<Duration>,
    /// The cookie's `Path` (`/`).
    pub cookie_path: String,
    /// The cookie's `Domain` (none: this host only).
    pub domain: Option<String>,
    /// `Secure`: sent over HTTPS only (off, as in Workerman; turn it on behind TLS).
    pub secure: bool,
    /// `HttpOnly`: out of scripts' reach (on).
    pub http_only: bool,
    /// `SameSite` (`Lax`: Workerman leaves it out, which browsers now read as `Lax`).
    pub same_site: Option<SameSite>,
    /// The largest serialised session ([`DEFAULT_MAX_SIZE`]).
    pub max_size: usize,
    /// How often expired sessions are collected ([`DEFAULT_GC_INTERVAL`]).
    pub gc_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            lifetime: DEFAULT_LIFETIME,
            cookie_lifetime: None,
            cookie_path: "/".to_owned(),
            domain: None,
            secure: false,
            http_only: true,
            same_site: Some(SameSite::Lax),
            max_size: DEFAULT_MAX_SIZE,
            gc_interval: DEFAULT_GC_INTERVAL,
        }
    }
}

impl SessionConfig {
    /// Sets [`cookie_name`](Self::cookie_name).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// Sets [`lifetime`](Self::lifetime).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets [`cookie_lifetime`](Self::cookie_lifetime).
    pub fn cookie_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.cookie_lifetime = lifetime;
        self
    }

    /// Sets [`cookie_path`](Self::cookie_path).
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie_path = path.into();
        self
    }

    /// Sets [`domain`](Self::domain).
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }

    /// Sets [`secure`](Self::secure).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Sets [`http_only`](Self::http_only).
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// Sets [`same_site`](Self::same_site).
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }

    /// Sets [`max_size`](Self::max_size).
    pub fn max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// Sets [`gc_interval`](Self::gc_interval).
    pub fn gc_interval(mut self, interval: Duration) -> Self {
        self.gc_interval = interval;
        self
    }
}

/// One request's session: a map of names to JSON values (Workerman's `Session` object).
#[derive(Debug)]
pub struct Session {
    id: SessionId,
    data: Map<String, Value>,
    /// The store has it (it was loaded).
    stored: bool,
    /// When the stored copy expires.
    expires: Option<SystemTime>,
    changed: bool,
    /// The id it had before [`regenerate`](Self::regenerate), to delete at commit.
    replaced: Option<SessionId>,
    destroyed: bool,
}

impl Session {
    fn new() -> Self {
        Self {
            id: SessionId::random(),
            data: Map::new(),
            stored: false,
            expires: None,
            changed: false,
            replaced: None,
            destroyed: false,
        }
    }

    /// The session id (Workerman's `$request->sessionId()`).
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// Whether the session was made for this request (no valid cookie, or the store did
    /// not know it).
    pub fn is_new(&self) -> bool {
        !self.stored
    }

    /// The value under `name`, read as `T`; `None` if there is none or it is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        T::deserialize(self.data.get(name)?).ok()
    }

    /// The value under `name`, as JSON.
    pub fn get_value(&self, name: &str) -> Option<&Value> {
        self.data.get(name)
    }

    /// Sets `name` to `value` (Workerman's `set`).
    pub fn set(
        &mut self,
        name: impl Into<String>,
        value: impl Serialize,
    ) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        self.data.insert(name.into(), value);
        self.changed = true;
        Ok(())
    }

    /// Whether there is a value under `name` (Workerman's `has`).
    pub fn has(&self, name: &str) -> bool {
        self.data.contains_key(name)
    }

    /// Removes the value under `name` and returns it (Workerman's `delete` and `pull`).
    pub fn delete(&mut self, name: &str) -> Option<Value> {
        let removed = self.data.remove(name);
        self.changed |= removed.is_some();
        removed
    }

    /// Every name and value (Workerman's `all`).
    pub fn all(&self) -> &Map<String, Value> {
        &self.data
    }

    /// Removes every value (Workerman's `flush`); the session and its id stay.
    pub fn flush(&mut self) {
        self.changed |= !self.data.is_empty();
        self.data.clear();
    }

    /// Moves the session to a new id (Workerman's `$request->sessionRegenerateId()`),
    /// keeping its data; the old id is deleted from the store at commit. Do it when the
    /// user's privileges change (a login), so that an id known before is worth nothing.
    pub fn regenerate(&mut self) {
        let old = std::mem::replace(&mut self.id, SessionId::random());
        if self.stored && self.replaced.is_none() {
            self.replaced = Some(old);
        }
        self.changed = true;
    }

    /// Deletes the session (a logout): at commit it leaves the store and the cookie is
    /// removed from the browser.
    pub fn destroy(&mut self) {
        self.destroyed = true;
        self.data.clear();
    }
}

/// The session policy and store, shared by every connection (cheap to clone).
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    config: Arc<SessionConfig>,
    /// When expired sessions were last collected.
    last_gc: Arc<Mutex<SystemTime>>,
    /// A collection runs.
    collecting: Arc<AtomicBool>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions kept in `store` with the policy `config`.
    pub fn new(store: impl SessionStore, config: SessionConfig) -> Self {
        Self {
            store: Arc::new(store),
            config: Arc::new(config),
            last_gc: Arc::new(Mutex::new(SystemTime::now())),
            collecting: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The policy.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The session of `request`: the one its cookie names, if the store has it, else a
    /// new one (with a new id: a client cannot choose its id). A stored session that
    /// cannot be read (a store shared with something else) is replaced by a new one.
    pub fn start(&self, request: &Request) -> Result<Session, SessionError> {
        let Some(id) = request
            .cookie(&self.config.cookie_name)
            .and_then(|value| SessionId::parse(&value))
        else {
            return Ok(Session::new());
        };
        let Some(stored) = self.store.load(&id)? else {
            return Ok(Session::new());
        };
        if stored.expires <= SystemTime::now() {
            return Ok(Session::new());
        }
        let data = match serde_json::from_slice::<Map<String, Value>>(&stored.data) {
            Ok(data) => data,
            Err(_) => return Ok(Session::new()),
        };
        Ok(Session {
            id,
            data,
            stored: true,
            expires: Some(stored.expires),
            changed: false,
            replaced: None,
            destroyed: false,
        })
    }

    /// Saves `session` as it needs and returns `response` with the `Set-Cookie` it needs:
    /// a changed session is saved (a new one only once it holds something) and a new or
    /// regenerated id is sent; an unchanged one has its expiry slid forward when a
    /// quarter of its lifetime has passed; a destroyed one leaves the store and its
    /// cookie is removed. Collects expired sessions when that is due.
    pub fn commit(&self, session: Session, response: Response) -> Result<Response, SessionError> {
        let now = SystemTime::now();
        self.collect_if_due(now);
        let config = &*self.config;
        if session.destroyed {
            if let Some(old) = &session.replaced {
                self.store.destroy(old)?;
            }
            if session.stored {
                self.store.destroy(&session.id)?;
            }
            if !session.stored && session.replaced.is_none() {
                return Ok(response);
            }
            return Ok(response.cookie(self.cookie("")?.max_age(0)));
        }
        if !session.stored && session.data.is_empty() {
            // Nothing to keep: no session, no cookie.
            return Ok(response);
        }
        let lifetime = config.lifetime.min(MAX_LIFETIME);
        let expires = now + lifetime;
        let touch_due = session
            .expires
            .and_then(|at| at.duration_since(now).ok())
            .map_or(true, |left| left < lifetime * 3 / 4);
        if !session.changed && !touch_due {
            return Ok(response);
        }
        let data = serde_json::to_vec(&session.data)?;
        if data.len() > config.max_size {
            return Err(SessionError::TooLarge {
                size: data.len(),
                limit: config.max_size,
            });
        }
        self.store
            .save(&session.id, &StoredSession { data, expires })?;
        // Only once the new id holds the data: a save that failed leaves the old one.
        if let Some(old) = &session.replaced {
            self.store.destroy(old)?;
        }
        let new_id = !session.stored || session.replaced.is_some();
        if new_id || config.cookie_lifetime.is_some() {
            let mut cookie = self.cookie(session.id.as_str())?;
            if let Some(lifetime) = config.cookie_lifetime {
                cookie = cookie.max_age(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
            }
            return Ok(response.cookie(cookie));
        }
        Ok(response)
    }

    /// Deletes every expired session now, on this thread; returns how many.
    pub fn gc(&self) -> Result<usize, SessionError> {
        let now = SystemTime::now();
        *self.last_gc.lock().unwrap_or_else(|p| p.into_inner()) = now;
        self.store.gc(now)
    }

    /// Starts a collection on a thread of its own when one is due, so that no request
    /// waits for a directory scan; one at a time.
    fn collect_if_due(&self, now: SystemTime) {
        {
            let mut last = self.last_gc.lock().unwrap_or_else(|p| p.into_inner());
            let due = now
                .duration_since(*last)
                .is_ok_and(|since| since >= self.config.gc_interval);
            if !due {
                return;
            }
            *last = now;
        }
        if self.collecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let (store, collecting) = (self.store.clone(), self.collecting.clone());
        let spawned = std::thread::Builder::new()
            .name("wm-session-gc".to_owned())
            .spawn(move || {
                // A store that fails now is asked again at the next interval.
                let _ = store.gc(now);
                collecting.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.collecting.store(false, Ordering::Release);
        }
    }

    /// The session cookie with `value` and the configured attributes.
    fn cookie(&self, value: &str) -> Result<SetCookie, SessionError> {
        let config = &*self.config;
        let mut cookie = SetCookie::new(config.cookie_name.clone(), value)?
            .path(config.cookie_path.clone())?
            .secure(config.secure)
            .http_only(config.http_only);
        if let Some(domain) = &config.domain {
            cookie = cookie.domain(domain.clone())?;
        }
        if let Some(same_site) = config.same_site {
            cookie = cookie.same_site(same_site);
        }
        Ok(cookie)
    }
}
