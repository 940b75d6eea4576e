//! Sessions: the cookie, the stores, expiry and collection, regeneration, limits.

#![cfg(feature = "session")]

use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use wm_http::session::{
    FileStore, MemoryStore, SessionConfig, SessionError, SessionId, SessionStore, Sessions,
    StoredSession,
};
use wm_http::{Http, Protocol, Request, Response, SameSite};

fn request(cookie: Option<&str>) -> Request {
    let head = match cookie {
        Some(cookie) => format!("GET / HTTP/1.1\r\nHost: h\r\nCookie: {cookie}\r\n\r\n"),
        None => "GET / HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
    };
    Http::default()
        .decode(&mut BytesMut::from(head.as_bytes()))
        .unwrap()
        .unwrap()
}

/// The session id a response's `Set-Cookie` carries, if it sets one.
fn set_id(response: &Response) -> Option<String> {
    let cookie = response.get_header("set-cookie")?;
    let value = cookie.strip_prefix("PHPSID=")?;
    Some(value[..value.find(';').unwrap_or(value.len())].to_owned())
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wm-session-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn ids_are_random_hex_and_only_that_form_is_accepted() {
    let a = SessionId::random();
    let b = SessionId::random();
    assert_ne!(a, b);
    assert_eq!(a.as_str().len(), 40);
    assert_eq!(SessionId::parse(a.as_str()), Some(a.clone()));
    for bad in [
        "",
        "../../etc/passwd",
        &"A".repeat(40),
        &"0".repeat(39),
        &"0".repeat(41),
        &"g".repeat(40),
    ] {
        assert_eq!(SessionId::parse(bad), None, "{bad}");
    }
    assert!(
        !format!("{a:?}").contains(a.as_str()),
        "ids stay out of Debug"
    );
}

#[test]
fn a_session_round_trips_through_its_cookie_with_workermans_api() {
    let sessions = Sessions::new(MemoryStore::new(), SessionConfig::default());
    let session = sessions.start(&request(None)).unwrap();
    assert!(session.is_new());
    // Nothing stored: no cookie, nothing saved.
    let response = sessions.commit(session, Response::new(200)).unwrap();
    assert_eq!(set_id(&response), None);

    let mut session = sessions.start(&request(None)).unwrap();
    session.set("user", "ann").unwrap();
    session.set("cart", vec![1, 2, 3]).unwrap();
    let response = sessions.commit(session, Response::new(200)).unwrap();
    let cookie = response.get_header("set-cookie").unwrap();
    assert!(
        cookie.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let id = set_id(&response).unwrap();

    let mut session = sessions
        .start(&request(Some(&format!("other=1; PHPSID={id}"))))
        .unwrap();
    assert!(!session.is_new());
    assert_eq!(session.id().as_str(), id);
    assert_eq!(session.get::<String>("user").as_deref(), Some("ann"));
    assert_eq!(session.get::<Vec<u32>>("cart"), Some(vec![1, 2, 3]));
    assert_eq!(session.get::<u32>("user"), None, "not a number");
    assert!(session.has("cart"));
    assert_eq!(session.delete("cart"), Some(serde_json::json!([1, 2, 3])));
    assert_eq!(session.all().len(), 1);
    // Changed, not new: saved, and the cookie it already has is not sent again.
    let response = sessions.commit(session, Response::new(200)).unwrap();
    assert_eq!(set_id(&response), None);
    let mut session = sessions
        .start(&request(Some(&format!("PHPSID={id}"))))
        .unwrap();
    assert!(!session.has("cart"));
    session.flush();
    assert!(session.all().is_empty());
}

#[test]
fn an_unknown_or_forged_id_is_not_adopted() {
    let sessions = Sessions::new(MemoryStore::new(), SessionConfig::default());
    let forged = SessionId::random();
    let mut session = sessions
        .start(&request(Some(&format!("PHPSID={forged}"))))
        .unwrap();
    assert!(session.is_new());
    assert_ne!(
        session.id(),
        &forged,
        "a client cannot choose its id (fixation)"
    );
    session.set("k", 1).unwrap();
    let response = sessions.commit(session, Response::new(200)).unwrap();
    assert_ne!(set_id(&response).unwrap(), forged.as_str());
    let traversal = sessions
        .start(&request(Some("PHPSID=../../etc/passwd")))
        .unwrap();
    assert!(traversal.is_new());
}

#[test]
fn regenerate_moves_the_data_and_kills_the_old_id_and_destroy_removes_the_cookie() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let sessions = Sessions::new(SharedStore(store.clone()), SessionConfig::default());
    let mut session = sessions.start(&request(None)).unwrap();
    session.set("user", "ann").unwrap();
    let old = set_id(&sessions.commit(session, Response::new(200)).unwrap()).unwrap();

    let mut session = sessions
        .start(&request(Some(&format!("PHPSID={old}"))))
        .unwrap();
    session.regenerate();
    session.set("role", "admin").unwrap();
    let new = set_id(&sessions.commit(session, Response::new(200)).unwrap()).unwrap();
    assert_ne!(new, old);
    assert_eq!(store.len(), 1, "the old id is gone from the store");
    assert!(sessions
        .start(&request(Some(&format!("PHPSID={old}"))))
        .unwrap()
        .is_new());
    let mut session = sessions
        .start(&request(Some(&format!("PHPSID={new}"))))
        .unwrap();
    assert_eq!(session.get::<String>("user").as_deref(), Some("ann"));

    session.destroy();
    let response = sessions.commit(session, Response::new(200)).unwrap();
    assert_eq!(
        response.get_header("set-cookie"),
        Some("PHPSID=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
    );
    assert!(store.is_empty());
}

/// A store behind an `Arc`, to look into it from the test.
struct SharedStore<S>(std::sync::Arc<S>);

impl<S: SessionStore> SessionStore for SharedStore<S> {
    fn load(&self, id: &SessionId) -> Result<Option<StoredSession>, SessionError> {
        self.0.load(id)
    }
    fn save(&self, id: &SessionId, session: &StoredSession) -> Result<(), SessionError> {
        self.0.save(id, session)
    }
    fn destroy(&self, id: &SessionId) -> Result<(), SessionError> {
        self.0.destroy(id)
    }
    fn gc(&self, now: SystemTime) -> Result<usize, SessionError> {
        self.0.gc(now)
    }
}

#[test]
fn cookie_attributes_follow_the_config() {
    let config = SessionConfig::default()
        .cookie_name("sid")
        .cookie_lifetime(Some(Duration::from_secs(3600)))
        .cookie_path("/app")
        .domain(Some("example.com".into()))
        .secure(true)
        .same_site(Some(SameSite::Strict));
    let sessions = Sessions::new(MemoryStore::new(), config);
    let mut session = sessions.start(&request(None)).unwrap();
    session.set("a", 1).unwrap();
    let response = sessions.commit(session, Response::new(200)).unwrap();
    let cookie = response.get_header("set-cookie").unwrap();
    let rest = &cookie[cookie.find(';').unwrap()..];
    assert_eq!(
        rest,
        "; Domain=example.com; Max-Age=3600; Path=/app; Secure; HttpOnly; SameSite=Strict"
    );
    assert!(cookie.starts_with("sid="));
}

#[test]
fn limits_a_session_too_large_and_a_full_memory_store_are_typed_errors() {
    let sessions = Sessions::new(MemoryStore::new(), SessionConfig::default().max_size(100));
    let mut session = sessions.start(&request(None)).unwrap();
    session.set("big", "x".repeat(100)).unwrap();
    match sessions.commit(session, Response::new(200)) {
        Err(SessionError::TooLarge { size, limit: 100 }) => assert_eq!(size, 110),
        other => panic!("{other:?}"),
    }
    let sessions = Sessions::new(MemoryStore::with_max_sessions(2), SessionConfig::default());
    for expected_ok in [true, true, false] {
        let mut session = sessions.start(&request(None)).unwrap();
        session.set("n", 1).unwrap();
        let result = sessions.commit(session, Response::new(200));
        assert_eq!(result.is_ok(), expected_ok, "{result:?}");
        if !expected_ok {
            assert!(matches!(result, Err(SessionError::StoreFull { limit: 2 })));
        }
    }
}

#[test]
fn sessions_expire_and_are_collected_in_both_stores() {
    let dir = temp_dir("expiry");
    let stores: Vec<Box<dyn Fn() -> Box<dyn SessionStore>>> = vec![
        Box::new(|| Box::new(MemoryStore::new())),
        Box::new({
            let dir = dir.clone();
            move || Box::new(FileStore::new(&dir).unwrap())
        }),
    ];
    for make in stores {
        let store = make();
        let now = SystemTime::now();
        let live = SessionId::random();
        let dead = SessionId::random();
        let data = br#"{"a":1}"#.to_vec();
        store
            .save(
                &live,
                &StoredSession {
                    data: data.clone(),
                    expires: now + Duration::from_secs(60),
                },
            )
            .unwrap();
        store
            .save(
                &dead,
                &StoredSession {
                    data: data.clone(),
                    expires: now - Duration::from_secs(1),
                },
            )
            .unwrap();
        assert_eq!(store.load(&live).unwrap().unwrap().data, data);
        assert_eq!(
            store.load(&dead).unwrap(),
            None,
            "expired sessions are not loaded"
        );
        assert_eq!(store.gc(now).unwrap(), 1);
        assert_eq!(store.gc(now).unwrap(), 0);
        assert!(store.load(&live).unwrap().is_some());
        store.destroy(&live).unwrap();
        store.destroy(&live).unwrap();
        assert_eq!(store.load(&live).unwrap(), None);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_file_store_writes_atomically_privately_and_leaves_other_files_alone() {
    let dir = temp_dir("files");
    let store = FileStore::new(&dir).unwrap();
    let id = SessionId::random();
    let expires = SystemTime::now() + Duration::from_secs(60);
    for round in 0..20 {
        let data = format!(r#"{{"round":{round}}}"#).into_bytes();
        store
            .save(
                &id,
                &StoredSession {
                    data: data.clone(),
                    expires,
                },
            )
            .unwrap();
        assert_eq!(store.load(&id).unwrap().unwrap().data, data);
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [format!("ses_{id}")], "one file, no temporary left");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = std::fs::metadata(dir.join(format!("ses_{id}"))).unwrap();
        assert_eq!(file.permissions().mode() & 0o777, 0o600);
        let folder = std::fs::metadata(&dir).unwrap();
        assert_eq!(folder.permissions().mode() & 0o777, 0o700);
    }
    // Collection goes by the files' times (a save sets them to the expiry), and leaves
    // a stranger's file alone: an hour on, the session and a corrupt file of ours go.
    std::fs::write(dir.join("notes.txt"), "keep").unwrap();
    std::fs::write(dir.join(format!("ses_{}", SessionId::random())), "garbage").unwrap();
    let earlier = SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(store.gc(earlier).unwrap(), 0, "nothing expired an hour ago");
    let later = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(store.gc(later).unwrap(), 2);
    assert!(dir.join("notes.txt").exists());
    assert_eq!(store.load(&id).unwrap(), None);
    // A directory others can enter is refused, not used.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open_dir = temp_dir("open");
        std::fs::create_dir_all(&open_dir).unwrap();
        std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = FileStore::new(&open_dir).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(error.to_string().contains("mode 755"), "{error}");
        let _ = std::fs::remove_dir_all(open_dir);
    }
    // Sessions through it, across two `Sessions` (two processes sharing the directory).
    let one = Sessions::new(FileStore::new(&dir).unwrap(), SessionConfig::default());
    let two = Sessions::new(FileStore::new(&dir).unwrap(), SessionConfig::default());
    let mut session = one.start(&request(None)).unwrap();
    session.set("seen by", "one").unwrap();
    let sid = set_id(&one.commit(session, Response::new(200)).unwrap()).unwrap();
    let session = two.start(&request(Some(&format!("PHPSID={sid}")))).unwrap();
    assert_eq!(session.get::<String>("seen by").as_deref(), Some("one"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unchanged_session_is_touched_only_after_a_quarter_of_its_lifetime() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let config = SessionConfig::default().lifetime(Duration::from_secs(100));
    let sessions = Sessions::new(SharedStore(store.clone()), config);
    let mut session = sessions.start(&request(None)).unwrap();
    session.set("a", 1).unwrap();
    let id = set_id(&sessions.commit(session, Response::new(200)).unwrap()).unwrap();
    let sid = SessionId::parse(&id).unwrap();
    let first = store.load(&sid).unwrap().unwrap().expires;
    // Fresh: an unchanged commit leaves the stored expiry as it is.
    let session = sessions
        .start(&request(Some(&format!("PHPSID={id}"))))
        .unwrap();
    sessions.commit(session, Response::new(200)).unwrap();
    assert_eq!(store.load(&sid).unwrap().unwrap().expires, first);
    // Aged past a quarter: the next unchanged commit slides it forward.
    let aged = StoredSession {
        data: store.load(&sid).unwrap().unwrap().data,
        expires: SystemTime::now() + Duration::from_secs(70),
    };
    store.save(&sid, &aged).unwrap();
    let session = sessions
        .start(&request(Some(&format!("PHPSID={id}"))))
        .unwrap();
    sessions.commit(session, Response::new(200)).unwrap();
    assert!(store.load(&sid).unwrap().unwrap().expires > aged.expires + Duration::from_secs(20));
}
