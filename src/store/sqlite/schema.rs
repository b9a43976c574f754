//! The store's schema and its migrations. The version lives in SQLite's `PRAGMA user_version`;
//! migrations are applied in order, all pending ones in one transaction, so a store is always at
//! one version a release knew. `PRAGMA application_id` marks the file as a backup-doctor store,
//! so another program's SQLite file is never altered.

use rusqlite::{Connection, TransactionBehavior};

/// "BDST" in ASCII: what `PRAGMA application_id` holds in every backup-doctor store.
pub const APPLICATION_ID: i32 = 0x4244_5354;

/// One step from `version - 1` to `version`. Steps are never edited once released: a change of
/// schema is a new step, so every older store can be brought up to date.
pub struct Migration {
    pub version: i32,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1_SCANS,
    },
    Migration {
        version: 2,
        sql: V2_CORRELATION,
    },
    Migration {
        version: 3,
        sql: V3_SERVICE,
    },
];

/// The version this build writes and reads.
pub const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Every scan, what it could not read, each VM's outcome, every failing or unknown finding and
/// the failed jobs with the findings that explain them.
const V1_SCANS: &str = "
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    scanned_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    source TEXT NOT NULL,
    complete INTEGER NOT NULL,
    vms INTEGER NOT NULL,
    pass INTEGER NOT NULL,
    fail INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    failed_jobs INTEGER NOT NULL,
    failed_jobs_explained INTEGER NOT NULL,
    summary_json TEXT NOT NULL
);
CREATE TABLE gaps (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    what TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE vm_results (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    vm_key TEXT NOT NULL,
    vm_id TEXT NOT NULL,
    name TEXT NOT NULL,
    subscription TEXT NOT NULL,
    resource_group TEXT NOT NULL,
    verdict TEXT NOT NULL,
    root_cause TEXT,
    UNIQUE (scan_id, vm_key)
);
CREATE TABLE vm_layers (
    vm_result_id INTEGER NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
    cause TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (vm_result_id, cause)
);
CREATE TABLE findings (
    vm_result_id INTEGER NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    cause TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    resources_json TEXT NOT NULL
);
CREATE TABLE failed_jobs (
    vm_result_id INTEGER NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    start_time TEXT,
    codes_json TEXT NOT NULL,
    errors_json TEXT NOT NULL,
    explained_by_json TEXT NOT NULL
);
CREATE INDEX vm_results_by_scan ON vm_results(scan_id);
CREATE INDEX findings_by_vm ON findings(vm_result_id);
CREATE INDEX failed_jobs_by_vm ON failed_jobs(vm_result_id);
";

/// Correlation of failed jobs with predictions: the layer of the explaining finding, the layer of
/// the job's code, and whether that is the VM's root cause. Jobs stored before stay NULL there:
/// version 1 did not record it, and guessing it now from other columns would be a guess.
/// The fingerprint index serves `--since-last`, which looks findings up by VM and rule.
const V2_CORRELATION: &str = "
ALTER TABLE failed_jobs ADD COLUMN explained_by_layer TEXT;
ALTER TABLE failed_jobs ADD COLUMN code_cause TEXT;
ALTER TABLE failed_jobs ADD COLUMN agrees_with_root_cause INTEGER;
CREATE INDEX vm_results_by_key ON vm_results(vm_key);
";

/// What the service reads: the whole report of each scan (rendered again in any format), the
/// VMs' tags (the `tag` filter; names compared in any case, as Azure does), and the leases that
/// keep two replicas from running the same scheduled scan (`expires_at` in Unix milliseconds:
/// a lease whose holder died is free once it expires). Scans recorded before have no report row.
const V3_SERVICE: &str = "
CREATE TABLE scan_reports (
    scan_id INTEGER PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
    report_json TEXT NOT NULL
);
CREATE TABLE vm_tags (
    vm_result_id INTEGER NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX vm_tags_by_vm ON vm_tags(vm_result_id);
CREATE INDEX vm_tags_by_name ON vm_tags(lower(name), value);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
";

/// Why a file cannot be used as a store.
#[derive(Debug)]
pub enum SchemaError {
    /// A SQLite file some other program owns.
    Foreign,
    /// Written by a newer backup-doctor.
    Newer {
        found: i32,
    },
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(error: rusqlite::Error) -> Self {
        SchemaError::Sqlite(error)
    }
}

/// Brings the store up to `LATEST`; returns the version it was at.
#[cfg(test)]
pub fn migrate(conn: &mut Connection) -> Result<i32, SchemaError> {
    migrate_to(conn, LATEST)
}

/// Brings the store up to `target` (tests build old stores with it).
pub fn migrate_to(conn: &mut Connection, target: i32) -> Result<i32, SchemaError> {
    // IMMEDIATE takes the write lock before reading the version, so two scans starting at once
    // cannot both apply the same step.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let application_id: i32 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let tables: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    let empty = version == 0 && tables == 0;
    if !empty && application_id != APPLICATION_ID {
        return Err(SchemaError::Foreign);
    }
    if version > LATEST {
        return Err(SchemaError::Newer { found: version });
    }
    if empty {
        tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
    }
    for step in MIGRATIONS
        .iter()
        .filter(|m| m.version > version && m.version <= target)
    {
        tx.execute_batch(step.sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", step.version))?;
    }
    tx.commit()?;
    Ok(version)
}

#[cfg(test)]
pub fn version(conn: &Connection) -> rusqlite::Result<i32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one number a query returns.
    fn number(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn versions_are_consecutive_from_one() {
        for (index, step) in MIGRATIONS.iter().enumerate() {
            assert_eq!(step.version, index as i32 + 1);
        }
    }

    #[test]
    fn a_new_store_reaches_the_latest_version_and_is_marked() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(version(&conn).unwrap(), LATEST);
        assert_eq!(
            number(&conn, "PRAGMA application_id"),
            i64::from(APPLICATION_ID)
        );
        // A second open applies nothing.
        assert_eq!(migrate(&mut conn).unwrap(), LATEST);
    }

    #[test]
    fn a_version_1_store_is_migrated_with_its_scans_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate_to(&mut conn, 1).unwrap(), 0);
        assert_eq!(version(&conn).unwrap(), 1);
        // A scan as version 1 wrote it.
        conn.execute_batch(
            "INSERT INTO scans VALUES (1, '2026-11-23T06:00:00Z', '2026-11-23T06:01:00Z', 'demo',
                                       1, 1, 0, 1, 0, 1, 1, '{}');
             INSERT INTO vm_results VALUES (1, 1, '/subscriptions/s/vm1', '/subscriptions/s/VM1',
                                            'vm1', 's', 'rg', 'fail', 'agent');
             INSERT INTO failed_jobs VALUES (1, 'job1', NULL, '[\"UserErrorGuestAgentStatusUnavailable\"]',
                                             '[]', '[\"agent/not-ready\"]');",
        )
        .unwrap();
        let has_column = |conn: &Connection, column: &str| -> bool {
            conn.prepare("SELECT name FROM pragma_table_info('failed_jobs')")
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .any(|name| name.unwrap() == column)
        };
        assert!(!has_column(&conn, "code_cause"));

        assert_eq!(migrate(&mut conn).unwrap(), 1);
        assert_eq!(version(&conn).unwrap(), LATEST);
        assert!(has_column(&conn, "code_cause"));
        let (job, code_cause): (String, Option<String>) = conn
            .query_row("SELECT job_id, code_cause FROM failed_jobs", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(job, "job1");
        assert_eq!(
            code_cause, None,
            "version 1 did not record it; nothing is guessed"
        );
        assert_eq!(number(&conn, "SELECT count(*) FROM scans"), 1);
    }

    #[test]
    fn a_failing_step_leaves_the_store_at_its_old_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 1).unwrap();
        // Something a step will collide with: version 2 creates this index.
        conn.execute_batch("CREATE INDEX vm_results_by_key ON vm_results(vm_id)")
            .unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn).unwrap(), 1);
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('failed_jobs')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!columns.contains(&"code_cause".to_string()));
    }

    #[test]
    fn another_programs_database_is_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE invoices (id INTEGER)")
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(SchemaError::Foreign)));
        assert_eq!(number(&conn, "SELECT count(*) FROM sqlite_master"), 1);
    }

    #[test]
    fn a_newer_store_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", LATEST + 1))
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(SchemaError::Newer { found }) if found == LATEST + 1
        ));
        assert_eq!(version(&conn).unwrap(), LATEST + 1);
    }
}
