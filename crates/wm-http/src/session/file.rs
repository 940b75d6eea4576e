//! Sessions in files, one per session, as Workerman's default `FileSessionHandler`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{SessionError, SessionId, SessionStore, StoredSession};

/// Workerman's file name prefix (`ses_` + id).
const PREFIX: &str = "ses_";

/// Sessions as files in a directory (`ses_<id>`), which survive a restart and can be
/// shared by processes on one machine. A file holds the expiry (seconds since the epoch)
/// on its first line and the data after it, and has the expiry as its modification time
/// too, so that collection finds expired files by their metadata, without reading them.
/// Saves write a temporary file in the same directory and rename it over the session's,
/// so that a reader (another process, a crash halfway) sees the old session or the new
/// one, never a part; collection deletes the expired files, and stray temporary files
/// older than a day.
///
/// The directory must be this user's alone (on Unix: owned by the user, no access for
/// group or others), since file names are the session ids: an existing one that is not
/// is refused rather than used.
///
/// The reads and writes block the calling thread (small files; PHP's handler does the
/// same).
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// Sessions in `dir`, created if it does not exist (mode 0700 on Unix: session data is
    /// private). An existing directory that others can read or write, or that another
    /// user owns, is refused ([`io::ErrorKind::PermissionDenied`]).
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        let store = Self { dir };
        #[cfg(unix)]
        store.check_private()?;
        Ok(store)
    }

    /// The directory is ours alone: no access for group or others, and the same owner as
    /// a file this process creates in it (no user id is needed for that).
    #[cfg(unix)]
    fn check_private(&self) -> io::Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let refuse = |why: String| {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("session directory {}: {why}", self.dir.display()),
            ))
        };
        let metadata = fs::symlink_metadata(&self.dir)?;
        if !metadata.is_dir() {
            return refuse("not a directory (or a symbolic link)".into());
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return refuse(format!("mode {mode:o} lets others in; chmod 700 it"));
        }
        let probe = self
            .dir
            .join(format!(".wm-owner-{:016x}", rand::random::<u64>()));
        let owner = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .and_then(|file| file.metadata())
            .map(|file| file.uid());
        let _ = fs::remove_file(&probe);
        if owner? != metadata.uid() {
            return refuse("owned by another user".into());
        }
        Ok(())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &SessionId) -> PathBuf {
        // An id is 40 hex digits (SessionId::parse): nothing else can reach a path.
        self.dir.join(format!("{PREFIX}{}", id.as_str()))
    }
}

fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The expiry line and the data after it, if the file is one of ours.
fn parse(contents: &[u8]) -> Option<StoredSession> {
    let newline = contents.iter().position(|&b| b == b'\n')?;
    let expires: u64 = std::str::from_utf8(&contents[..newline])
        .ok()?
        .parse()
        .ok()?;
    Some(StoredSession {
        data: contents[newline + 1..].to_vec(),
        expires: UNIX_EPOCH + Duration::from_secs(expires),
    })
}

impl SessionStore for FileStore {
    fn load(&self, id: &SessionId) -> Result<Option<StoredSession>, SessionError> {
        let contents = match fs::read(self.path(id)) {
            Ok(contents) => contents,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        Ok(parse(&contents).filter(|s| s.expires > SystemTime::now()))
    }

    fn save(&self, id: &SessionId, session: &StoredSession) -> Result<(), SessionError> {
        let target = self.path(id);
        let suffix: u64 = rand::random();
        let temporary = self
            .dir
            .join(format!(".{PREFIX}{}.{suffix:016x}.tmp", id.as_str()));
        let written = (|| {
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temporary)?;
            writeln!(file, "{}", seconds(session.expires))?;
            file.write_all(&session.data)?;
            // The expiry, for collection to read from the metadata.
            file.set_modified(session.expires)?;
            file.sync_data()?;
            fs::rename(&temporary, &target)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        Ok(written?)
    }

    fn destroy(&self, id: &SessionId) -> Result<(), SessionError> {
        match fs::remove_file(self.path(id)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error.into()),
            _ => Ok(()),
        }
    }

    fn gc(&self, now: SystemTime) -> Result<usize, SessionError> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = entry.path();
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            let expired = if name.starts_with(PREFIX) {
                // Its modification time is its expiry; one gone meanwhile is skipped.
                modified.is_some_and(|expires| expires <= now)
            } else if name.starts_with(&format!(".{PREFIX}")) && name.ends_with(".tmp") {
                // Left by a save that died halfway (its time may already be an expiry).
                modified
                    .and_then(|at| now.duration_since(at).ok())
                    .is_some_and(|age| age > Duration::from_secs(86_400))
            } else {
                false
            };
            if expired && fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
