//! The PostgreSQL schema: the same tables and versions as the SQLite store (`sqlite/schema.rs`),
//! in PostgreSQL's types. The version lives in `schema_version` (one row, marked with the
//! application's name so another program's table of that name is never taken for ours); all
//! pending steps run in one transaction under an advisory lock, so two replicas starting at once
//! apply each step once, and a step that fails leaves the database at its old version.

/// One step from `version - 1` to `version`; never edited once released.
pub struct Migration {
    pub version: i64,
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

/// What `schema_version.application` holds in every backup-doctor store.
pub const APPLICATION: &str = "backup-doctor";

/// The key of the advisory lock migrations hold ("BDST", as SQLite's application id).
pub const MIGRATION_LOCK: i64 = 0x4244_5354;

/// The version table itself; created with the first step.
pub const VERSION_TABLE: &str = "
CREATE TABLE schema_version (
    application TEXT NOT NULL,
    version BIGINT NOT NULL
);
INSERT INTO schema_version (application, version) VALUES ('backup-doctor', 0);
";

const V1_SCANS: &str = "
CREATE TABLE scans (
    id BIGSERIAL PRIMARY KEY,
    scanned_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    source TEXT NOT NULL,
    complete BOOLEAN NOT NULL,
    vms BIGINT NOT NULL,
    pass BIGINT NOT NULL,
    fail BIGINT NOT NULL,
    unknown BIGINT NOT NULL,
    failed_jobs BIGINT NOT NULL,
    failed_jobs_explained BIGINT NOT NULL,
    summary_json TEXT NOT NULL
);
CREATE TABLE gaps (
    scan_id BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    what TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE vm_results (
    id BIGSERIAL PRIMARY KEY,
    scan_id BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
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
    vm_result_id BIGINT NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
    cause TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (vm_result_id, cause)
);
CREATE TABLE findings (
    vm_result_id BIGINT NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    cause TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    resources_json TEXT NOT NULL
);
CREATE TABLE failed_jobs (
    vm_result_id BIGINT NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
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

const V2_CORRELATION: &str = "
ALTER TABLE failed_jobs ADD COLUMN explained_by_layer TEXT;
ALTER TABLE failed_jobs ADD COLUMN code_cause TEXT;
ALTER TABLE failed_jobs ADD COLUMN agrees_with_root_cause BOOLEAN;
CREATE INDEX vm_results_by_key ON vm_results(vm_key);
";

/// Leases expire by the database's clock (`clock_timestamp()`), so replicas on hosts whose
/// clocks differ still agree on when a lease is free.
const V3_SERVICE: &str = "
CREATE TABLE scan_reports (
    scan_id BIGINT PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
    report_json TEXT NOT NULL
);
CREATE TABLE vm_tags (
    vm_result_id BIGINT NOT NULL REFERENCES vm_results(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX vm_tags_by_vm ON vm_tags(vm_result_id);
CREATE INDEX vm_tags_by_name ON vm_tags(lower(name), value);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
";

/// The tables of every version: one of them without `schema_version` beside it means the
/// database holds another program's tables of these names.
pub const TABLES: &[&str] = &[
    "scans",
    "gaps",
    "vm_results",
    "vm_layers",
    "findings",
    "failed_jobs",
    "scan_reports",
    "vm_tags",
    "leases",
];
