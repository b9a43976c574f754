//! Scan history (`scan --store`, `history`, `serve`): every scan kept in a SQLite file or a
//! PostgreSQL database, behind one async API. A scan is written in one transaction, so a scan
//! killed midway leaves the store as it was; both schemas are versioned and older stores are
//! migrated when opened; a store written by a newer backup-doctor is refused untouched.
//!
//! SQLite work runs on tokio's blocking pool (rusqlite is synchronous); the connection sits
//! behind a mutex, so one store value is shared by every task of a process (`serve`).

mod postgres;
mod sqlite;
mod stored;
mod target;

use crate::error::Error;
use crate::outcome::{PreviousFinding, Report, ScanRow, VmPage, VmVerdictAt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::outcome::VmRow;
/// The schema version this build writes, the same in both backends.
pub use sqlite::schema::LATEST as SCHEMA_VERSION;
pub use target::StoreTarget;

/// What the report itself does not say about a scan.
#[derive(Debug, Clone)]
pub struct ScanMeta {
    /// The scan's time: the snapshot's creation time, `--now`, or the clock (RFC 3339).
    pub time: String,
    /// What was scanned: `live`, or the snapshot paths.
    pub source: String,
}

/// Which VMs of a scan `Store::vms` lists; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmFilter {
    /// `pass`, `fail` or `unknown`.
    pub verdict: Option<String>,
    /// A layer id (`agent`, `network`, …).
    pub root_cause: Option<String>,
    /// A subscription id (any case).
    pub subscription: Option<String>,
    /// A resource group name (any case, as ARM compares them).
    pub resource_group: Option<String>,
    /// A tag name (any case, as Azure compares them) and, when given, its exact value.
    pub tag: Option<(String, Option<String>)>,
}

impl VmFilter {
    /// Refuses a verdict or root cause no scan can have, naming the field (`verdict`,
    /// `root_cause`) and the values it takes: a typo must not read as "no VM matches".
    pub fn check(&self) -> Result<(), Error> {
        if let Some(verdict) = &self.verdict {
            if !["pass", "fail", "unknown"].contains(&verdict.as_str()) {
                return Err(Error::usage(
                    "verdict",
                    format!("`{verdict}` is not a verdict"),
                    "use pass, fail or unknown",
                ));
            }
        }
        if let Some(cause) = &self.root_cause {
            if crate::outcome::Cause::parse(cause).is_none() {
                let known: Vec<&str> = crate::outcome::Cause::ALL
                    .iter()
                    .map(|c| c.as_str())
                    .collect();
                return Err(Error::usage(
                    "root_cause",
                    format!("`{cause}` is not a layer"),
                    format!("use one of {}", known.join(", ")),
                ));
            }
        }
        if let Some((name, _)) = &self.tag {
            if name.trim().is_empty() {
                return Err(Error::usage(
                    "tag",
                    "the tag has no name",
                    "write it as NAME or NAME=VALUE",
                ));
            }
        }
        Ok(())
    }
}

/// Which slice of the matching VMs to return, in the order of their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

/// An open store. `Send + Sync`: share it behind an `Arc`.
pub struct Store {
    backend: Backend,
    /// The file, or the URL without its password: what every message names.
    place: PathBuf,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Store {
    /// Opens the store, creating it on first use, and migrates it to the latest schema.
    pub async fn open(target: &StoreTarget) -> Result<Store, Error> {
        Self::open_with(target, true, SCHEMA_VERSION.into()).await
    }

    /// Opens a store that must already exist (reading history never creates one).
    pub async fn open_existing(target: &StoreTarget) -> Result<Store, Error> {
        Self::open_with(target, false, SCHEMA_VERSION.into()).await
    }

    /// Creates a store at an older schema version, as an older backup-doctor left it: what the
    /// migration tests (and an upgrade drill) start from. `open` brings it up to date.
    pub async fn create_at_version(target: &StoreTarget, version: i64) -> Result<Store, Error> {
        Self::open_with(target, true, version).await
    }

    async fn open_with(target: &StoreTarget, create: bool, version: i64) -> Result<Store, Error> {
        let place = PathBuf::from(target.redacted());
        if let Some(scheme) = target.foreign_scheme() {
            return Err(Error::usage(
                "--store",
                format!(
                    "`{}` is a {scheme}:// URL: backup-doctor stores to a SQLite file or a PostgreSQL database",
                    place.display()
                ),
                "give --store a file path, or a postgres:// (or postgresql://) URL",
            ));
        }
        let backend = match target {
            StoreTarget::Sqlite(path) => {
                Backend::Sqlite(sqlite::Sqlite::open(path, create, version).await?)
            }
            StoreTarget::Postgres(url) => {
                Backend::Postgres(postgres::Postgres::open(url, &place, create, version).await?)
            }
        };
        Ok(Store { backend, place })
    }

    /// The file, or the database URL without its password.
    pub fn describe(&self) -> String {
        self.place.display().to_string()
    }

    /// The place every message about this store names.
    pub fn place(&self) -> &Path {
        &self.place
    }

    /// Whether the store answers (a readiness probe).
    pub async fn ping(&self) -> Result<(), Error> {
        match &self.backend {
            Backend::Sqlite(db) => db.run("reach the store", sqlite::ping).await,
            Backend::Postgres(db) => {
                db.run("reach the store", postgres::read::ping(&db.pool))
                    .await
            }
        }
    }

    /// Writes the scan in one transaction and returns its id in the store.
    pub async fn record(&self, report: &Report, meta: &ScanMeta) -> Result<i64, Error> {
        let document = stored::encode(report);
        // Marks where the write transaction starts: the kill -9 harness (tests/store_crash.rs)
        // aims half its kills between this line and the end of the run.
        tracing::debug!(store = %self.describe(), vms = report.vms.len(), "saving the scan");
        match &self.backend {
            Backend::Sqlite(db) => {
                let (report, meta) = (report.clone(), meta.clone());
                db.run("save the scan", move |conn| {
                    sqlite::record::record(conn, &report, &meta, &document)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.run(
                    "save the scan",
                    postgres::write::record(&db.pool, report, meta, &document),
                )
                .await
            }
        }
    }

    /// The last `limit` scans, oldest first (the order a trend reads in).
    pub async fn scans(&self, limit: usize) -> Result<Vec<ScanRow>, Error> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.run("read the scans", move |conn| {
                    sqlite::read::scans(conn, None, limit)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.run(
                    "read the scans",
                    postgres::read::scans(&db.pool, None, limit),
                )
                .await
            }
        }
    }

    /// The most recent scan, if any.
    pub async fn latest_scan(&self) -> Result<Option<ScanRow>, Error> {
        Ok(self.scans(1).await?.pop())
    }

    /// One scan by its id.
    pub async fn scan(&self, id: i64) -> Result<Option<ScanRow>, Error> {
        match &self.backend {
            Backend::Sqlite(db) => db
                .run("read the scan", move |conn| {
                    sqlite::read::scans(conn, Some(id), 1)
                })
                .await
                .map(|mut rows| rows.pop()),
            Backend::Postgres(db) => db
                .run(
                    "read the scan",
                    postgres::read::scans(&db.pool, Some(id), 1),
                )
                .await
                .map(|mut rows| rows.pop()),
        }
    }

    /// How many scans the store keeps.
    pub async fn scan_count(&self) -> Result<i64, Error> {
        match &self.backend {
            Backend::Sqlite(db) => db.run("count the scans", sqlite::read::scan_count).await,
            Backend::Postgres(db) => {
                db.run("count the scans", postgres::read::scan_count(&db.pool))
                    .await
            }
        }
    }

    /// The failing findings of a scan (unknown ones are not failures, so they are left out).
    pub async fn failing_findings(&self, scan_id: i64) -> Result<Vec<PreviousFinding>, Error> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.run("read the previous scan's findings", move |conn| {
                    sqlite::read::failing_findings(conn, scan_id)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.run(
                    "read the previous scan's findings",
                    postgres::read::failing_findings(&db.pool, scan_id),
                )
                .await
            }
        }
    }

    /// The whole report of a scan as it was scanned (every format renders it again); `None` when
    /// the store has no scan `scan_id`. A scan recorded before the store kept whole reports
    /// (schema version 2 and older) is an error that says so.
    pub async fn report(&self, scan_id: i64) -> Result<Option<Report>, Error> {
        let document = match &self.backend {
            Backend::Sqlite(db) => {
                db.run("read the scan's report", move |conn| {
                    sqlite::read::report_document(conn, scan_id)
                })
                .await?
            }
            Backend::Postgres(db) => {
                db.run(
                    "read the scan's report",
                    postgres::read::report_document(&db.pool, scan_id),
                )
                .await?
            }
        };
        match document {
            stored::Document::NoScan => Ok(None),
            stored::Document::NotKept => Err(Error::Input(crate::error::InputError::new(
                &self.place,
                Some(format!("scan {scan_id}")),
                format!("scan {scan_id} was recorded before the store kept whole reports"),
                "its summary is in `history`; scans recorded from now on keep their report",
            ))),
            stored::Document::Kept(text) => stored::decode(&text).map(Some).map_err(|e| {
                Error::Input(crate::error::InputError::new(
                    &self.place,
                    Some(format!("scan {scan_id}")),
                    format!("the stored report of scan {scan_id} cannot be read: {e}"),
                    "it was written by another backup-doctor version; run a new scan",
                ))
            }),
        }
    }

    /// The VMs of a scan that match `filter`, one page of them in the order of their ids, and
    /// how many match in all. A scan the store does not have has no VMs.
    pub async fn vms(&self, scan_id: i64, filter: &VmFilter, page: Page) -> Result<VmPage, Error> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let filter = filter.clone();
                db.run("list the scan's VMs", move |conn| {
                    sqlite::read::vms(conn, scan_id, &filter, page)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.run(
                    "list the scan's VMs",
                    postgres::read::vms(&db.pool, scan_id, filter, page),
                )
                .await
            }
        }
    }

    /// The VM's verdict in the last `limit` scans that judged it, oldest first.
    pub async fn vm_history(&self, vm_id: &str, limit: usize) -> Result<Vec<VmVerdictAt>, Error> {
        let key = vm_key(vm_id);
        match &self.backend {
            Backend::Sqlite(db) => {
                db.run("read the VM's history", move |conn| {
                    sqlite::read::vm_history(conn, &key, limit)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.run(
                    "read the VM's history",
                    postgres::read::vm_history(&db.pool, &key, limit),
                )
                .await
            }
        }
    }

    /// Takes the lease `name` for `holder` for `ttl`, or renews it when `holder` has it already;
    /// `false` when another holder has it and it has not expired. A holder that dies keeps it
    /// only until it expires.
    pub async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, Error> {
        let (name, holder) = (name.to_string(), holder.to_string());
        match &self.backend {
            Backend::Sqlite(db) => {
                db.run("take the lease", move |conn| {
                    sqlite::lease::try_lease(conn, &name, &holder, ttl)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.run(
                    "take the lease",
                    postgres::lease::try_lease(&db.pool, &name, &holder, ttl),
                )
                .await
            }
        }
    }

    /// Gives the lease back if `holder` has it (someone else's lease is left alone).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), Error> {
        let (name, holder) = (name.to_string(), holder.to_string());
        match &self.backend {
            Backend::Sqlite(db) => {
                db.run("release the lease", move |conn| {
                    sqlite::lease::release(conn, &name, &holder)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.run(
                    "release the lease",
                    postgres::lease::release(&db.pool, &name, &holder),
                )
                .await
            }
        }
    }
}

/// How the store keys a VM: ARM echoes ids in whatever case, so one VM is one key.
fn vm_key(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// The store's "cannot …" error at `place`.
fn failure(place: &Path, what: &str, error: impl std::fmt::Display) -> Error {
    Error::runtime(
        place,
        format!("cannot {what}: {error}"),
        "check that the store is reachable and writable (the disk not full); the store keeps every earlier scan as it was",
    )
}

/// A store whose schema is newer than this build knows: refused, never altered.
fn newer_schema(place: &Path, found: i64, latest: i64) -> Error {
    Error::Input(crate::error::InputError::new(
        place,
        None,
        format!(
            "the store has schema version {found}, written by a newer backup-doctor; this one knows versions up to {latest}"
        ),
        "upgrade backup-doctor, or give --store another store",
    ))
}
