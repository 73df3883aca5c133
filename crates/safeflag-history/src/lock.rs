//! One nightly run at a time.
//!
//! The lock is an OS file lock (`flock`) on `<store>.lock`, so the kernel
//! releases it when its holder dies however it dies: a lock can never be held
//! by a dead process. The file also records who holds it (pid, host, start
//! time) so a refused run can name the holder, and so a run that finds the
//! record of a holder that is no longer running can say it took over a stale lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Another run holds the lock.
#[derive(Debug, thiserror::Error)]
#[error("another safeflag nightly run holds the lock `{}`: {holder}", path.display())]
pub struct LockHeld {
    /// The lock file.
    pub path: PathBuf,
    /// Who holds it, as recorded in the file.
    pub holder: String,
}

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    /// The record of a previous holder that is no longer running, if one was found.
    pub stale: Option<String>,
}

/// Errors of taking the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live run holds it.
    #[error(transparent)]
    Held(#[from] LockHeld),
    /// The lock file could not be used.
    #[error("lock file `{path}`: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl safeflag_core::Kinded for LockHeld {
    fn kind(&self) -> safeflag_core::ErrorKind {
        safeflag_core::ErrorKind::Locked
    }
}

impl safeflag_core::Kinded for LockError {
    fn kind(&self) -> safeflag_core::ErrorKind {
        match self {
            LockError::Held(h) => h.kind(),
            LockError::Io { source, .. } => safeflag_core::ErrorKind::of_io(source),
        }
    }
}

impl RunLock {
    /// Takes the lock at `path` without waiting.
    pub fn acquire(path: &Path) -> Result<RunLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            safeflag_core::output::create_private_dir_all(dir).map_err(io)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockHeld {
                    path: path.to_path_buf(),
                    holder: if holder.is_empty() {
                        "holder unknown (it is starting)".into()
                    } else {
                        holder.to_string()
                    },
                }
                .into());
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        let stale = previous_holder_gone(previous.trim());
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let record = format!(
            "pid {} on {} since unix time {started}\n",
            std::process::id(),
            hostname()
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(record.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(RunLock {
            file,
            path: path.to_path_buf(),
            stale,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Clear the record first, so nobody reads a finished run as a holder.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// `Some(record)` when the record names a pid on this host that is not running.
fn previous_holder_gone(record: &str) -> Option<String> {
    let mut words = record.split_whitespace();
    if words.next() != Some("pid") {
        return None;
    }
    let pid: u32 = words.next()?.parse().ok()?;
    let host = record.split(" on ").nth(1)?.split(' ').next()?;
    (host == hostname() && !Path::new(&format!("/proc/{pid}")).exists()).then(|| record.to_string())
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.lock");
        let first = RunLock::acquire(&path).unwrap();
        assert!(first.stale.is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        match RunLock::acquire(&path) {
            Err(LockError::Held(h)) => {
                assert!(
                    h.holder.contains(&format!("pid {}", std::process::id())),
                    "{}",
                    h.holder
                );
            }
            other => panic!("expected a held lock, got {other:?}"),
        }
        drop(first);
        RunLock::acquire(&path).unwrap();
    }

    #[test]
    fn a_record_left_by_a_dead_process_is_reported_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.lock");
        // pid_max on Linux is at most 2^22: this pid cannot be running.
        std::fs::write(
            &path,
            format!("pid 4999999 on {} since unix time 1\n", hostname()),
        )
        .unwrap();
        let lock = RunLock::acquire(&path).unwrap();
        assert!(lock.stale.as_deref().unwrap().contains("pid 4999999"));
    }
}
