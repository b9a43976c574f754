//! The SQLite store: one file, the default. rusqlite is synchronous, so each call runs on tokio's
//! blocking pool with the connection behind a mutex; SQLite's own locking (a 30 s busy timeout)
//! serialises writers of other processes.

pub mod lease;
pub mod read;
pub mod record;
pub mod schema;

use crate::error::{Error, InputError};
use rusqlite::{Connection, OpenFlags};
use schema::SchemaError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Sqlite {
    /// Opens (and with `create`, creates) the store at `path` and migrates it.
    pub async fn open(path: &Path, create: bool, version: i64) -> Result<Sqlite, Error> {
        let path = path.to_path_buf();
        let opening = path.clone();
        let conn = blocking(&path, move || open_blocking(&opening, create, version)).await??;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// Runs `work` on the connection on the blocking pool; an SQLite error becomes "cannot
    /// `what`" naming the file.
    pub async fn run<T, F>(&self, what: &str, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let result = blocking(&self.path, move || {
            // A panic in another call poisons the mutex; the connection itself is still sound
            // (every write is a transaction that the panic rolled back).
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut conn).map_err(|e| with_os_error(&conn, e))
        })
        .await?;
        result.map_err(|e| super::failure(&self.path, what, e))
    }
}

/// Runs `work` on tokio's blocking pool.
async fn blocking<T, F>(path: &Path, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| super::failure(path, "finish the store's work", e))
}

/// SQLite's "disk I/O error" with the system's reason after it ("File too large", "Read-only
/// file system"): the error alone does not say whether the disk is full, the file over a size
/// limit or the device gone.
fn with_os_error(conn: &Connection, error: rusqlite::Error) -> String {
    if error.sqlite_error_code() != Some(rusqlite::ErrorCode::SystemIoFailure) {
        return error.to_string();
    }
    // SAFETY: the handle is this open connection's, used on the thread holding its mutex.
    let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(conn.handle()) };
    if errno == 0 {
        return error.to_string();
    }
    format!("{error} ({})", std::io::Error::from_raw_os_error(errno))
}

pub fn ping(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.query_row("SELECT 1", [], |_| Ok(()))
}

fn open_blocking(path: &Path, create: bool, version: i64) -> Result<Connection, Error> {
    if !create && !path.is_file() {
        return Err(Error::Input(InputError::new(
            path,
            None,
            "no store here",
            "run `backup-doctor scan --snapshot PATH --store FILE` first, or give the path of an existing store",
        )));
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, &e))?;
    // Two nightly scans that overlap wait for each other instead of failing.
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(|e| open_error(path, &e))?;
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(|e| open_error(path, &e))?;
    let version = i32::try_from(version).unwrap_or(schema::LATEST);
    schema::migrate_to(&mut conn, version).map_err(|e| schema_error(path, e))?;
    Ok(conn)
}

fn is_not_a_database(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase)
    )
}

fn open_error(path: &Path, error: &rusqlite::Error) -> Error {
    if is_not_a_database(error) {
        return not_a_store(path, "the file is not a SQLite database");
    }
    Error::runtime(
        path,
        format!("cannot open the store: {error}"),
        "check that the directory exists and is writable",
    )
}

fn not_a_store(path: &Path, why: &str) -> Error {
    Error::Input(InputError::new(
        path,
        None,
        format!("not a backup-doctor store: {why}"),
        "give --store a new file name (it is created on the first scan) or the file an earlier scan wrote",
    ))
}

fn schema_error(path: &Path, error: SchemaError) -> Error {
    match error {
        SchemaError::Foreign => not_a_store(path, "it is a SQLite database of another program"),
        SchemaError::Newer { found } => super::newer_schema(path, found.into(), schema::LATEST.into()),
        SchemaError::Sqlite(e) if is_not_a_database(&e) => {
            not_a_store(path, "the file is not a SQLite database")
        }
        SchemaError::Sqlite(e) => Error::runtime(
            path,
            format!("cannot prepare the store: {e}"),
            "check that the file is writable; if it is damaged, move it aside and start a new store",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path, create: bool) -> Result<Connection, Error> {
        open_blocking(path, create, schema::LATEST.into())
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        std::fs::write(&path, "these are my notes, not a database\n".repeat(200)).unwrap();
        let error = open(&path, true).expect_err("not a store");
        assert!(
            error.detail().problem.contains("not a backup-doctor store"),
            "{error}"
        );
        assert!(
            error.detail().problem.contains("not a SQLite database"),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "these are my notes, not a database\n".repeat(200)
        );
    }

    #[test]
    fn a_store_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        drop(open(&path, true).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", schema::LATEST + 3))
            .unwrap();
        drop(conn);
        let error = open(&path, true).expect_err("newer store");
        assert!(
            error.detail().problem.contains("newer backup-doctor"),
            "{error}"
        );
        assert!(error.detail().fix.contains("upgrade"), "{error}");
    }

    #[test]
    fn history_never_creates_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.db");
        let error = open(&path, false).expect_err("missing store");
        assert!(error.detail().problem.contains("no store"), "{error}");
        assert!(!path.exists());
    }
}
