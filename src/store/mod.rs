//! Scan history (`scan --store`, `history`): every scan kept in one SQLite file. A scan is
//! written in one transaction, so a scan killed midway leaves the store as it was; the schema is
//! versioned (`schema.rs`) and older stores are migrated when opened.

pub mod read;
pub mod record;
pub mod schema;

use crate::error::{Error, InputError};
use rusqlite::{Connection, OpenFlags};
use schema::SchemaError;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use record::{ScanMeta, StagedScan};

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, creating it on first use, and migrates it to the latest schema.
    pub fn open(path: &Path) -> Result<Store, Error> {
        Self::open_with(path, OpenFlags::SQLITE_OPEN_CREATE)
    }

    /// Opens a store that must already exist (reading history never creates one).
    pub fn open_existing(path: &Path) -> Result<Store, Error> {
        if !path.is_file() {
            return Err(Error::Input(InputError::new(
                path,
                None,
                "no store here",
                "run `backup-doctor scan --snapshot PATH --store FILE` first, or give the path of an existing store",
            )));
        }
        Self::open_with(path, OpenFlags::empty())
    }

    fn open_with(path: &Path, extra: OpenFlags) -> Result<Store, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra;
        let mut conn =
            Connection::open_with_flags(path, flags).map_err(|e| open_error(path, &e))?;
        // Two nightly scans that overlap wait for each other instead of failing.
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| open_error(path, &e))?;
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|e| open_error(path, &e))?;
        schema::migrate(&mut conn).map_err(|e| schema_error(path, e))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// An error reading or writing an open store, naming the file.
    pub(crate) fn error(&self, what: &str, error: rusqlite::Error) -> Error {
        Error::runtime(
            &self.path,
            format!("cannot {what}: {error}"),
            "check that the file is writable and the disk not full; the store keeps every earlier scan as it was",
        )
    }
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
        SchemaError::Newer { found } => Error::Input(InputError::new(
            path,
            None,
            format!(
                "the store has schema version {found}, written by a newer backup-doctor; this one knows versions up to {}",
                schema::LATEST
            ),
            "upgrade backup-doctor, or give --store another file",
        )),
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

    #[test]
    fn a_file_that_is_not_sqlite_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        std::fs::write(&path, "these are my notes, not a database\n".repeat(200)).unwrap();
        let error = Store::open(&path).err().expect("not a store");
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
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", schema::LATEST + 3))
            .unwrap();
        drop(conn);
        let error = Store::open(&path).err().expect("newer store");
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
        let error = Store::open_existing(&path).err().expect("missing store");
        assert!(error.detail().problem.contains("no store"), "{error}");
        assert!(!path.exists());
    }
}
