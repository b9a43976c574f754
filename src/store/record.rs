//! Writing one scan into the store. Everything goes through one transaction: until `commit`,
//! nothing of the scan is visible, and a process killed (or an error) before it leaves the store
//! exactly as it was, because SQLite rolls an unfinished transaction back.

use super::Store;
use crate::error::Error;
use crate::outcome::{Report, VmReport};
use rusqlite::{params, Transaction, TransactionBehavior};

/// What the report itself does not say about a scan.
#[derive(Debug, Clone)]
pub struct ScanMeta {
    /// The scan's time: the snapshot's creation time, `--now`, or the clock (RFC 3339).
    pub time: String,
    /// What was scanned: `live`, or the snapshot paths.
    pub source: String,
}

/// A scan written but not yet committed. Dropping it rolls the write back.
pub struct StagedScan<'a> {
    tx: Transaction<'a>,
    path: &'a std::path::Path,
    pub scan_id: i64,
}

impl StagedScan<'_> {
    pub fn commit(self) -> Result<i64, Error> {
        let id = self.scan_id;
        let path = self.path;
        self.tx.commit().map_err(|e| {
            Error::runtime(
                path,
                format!("cannot save the scan: {e}"),
                "check that the file is writable and the disk not full; the store keeps every earlier scan as it was",
            )
        })?;
        Ok(id)
    }
}

impl Store {
    /// Writes the scan and commits it; returns the scan's id in the store.
    pub fn record(&mut self, report: &Report, meta: &ScanMeta) -> Result<i64, Error> {
        self.stage(report, meta)?.commit()
    }

    /// Writes the scan inside a transaction that the caller commits.
    pub fn stage(&mut self, report: &Report, meta: &ScanMeta) -> Result<StagedScan<'_>, Error> {
        let recorded_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| super::open_error(&self.path, &e))?;
        let scan_id = write_scan(&tx, report, meta, &recorded_at).map_err(|e| {
            Error::runtime(
                &self.path,
                format!("cannot save the scan: {e}"),
                "the store keeps every earlier scan as it was; check that the file is writable and the disk not full",
            )
        })?;
        Ok(StagedScan {
            tx,
            path: &self.path,
            scan_id,
        })
    }
}

fn write_scan(
    tx: &Transaction<'_>,
    report: &Report,
    meta: &ScanMeta,
    recorded_at: &str,
) -> rusqlite::Result<i64> {
    let s = &report.summary;
    let summary_json = serde_json::to_string(s).unwrap_or_else(|_| "{}".into());
    tx.execute(
        "INSERT INTO scans (scanned_at, recorded_at, source, complete, vms, pass, fail, unknown,
                            failed_jobs, failed_jobs_explained, summary_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            meta.time,
            recorded_at,
            meta.source,
            report.complete,
            s.vms as i64,
            s.pass as i64,
            s.fail as i64,
            s.unknown as i64,
            s.failed_jobs as i64,
            s.failed_jobs_explained as i64,
            summary_json,
        ],
    )?;
    let scan_id = tx.last_insert_rowid();
    let mut gap = tx.prepare_cached(
        "INSERT INTO gaps (scan_id, scope, what, reason) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for g in &report.gaps {
        gap.execute(params![scan_id, g.scope, g.what, g.reason])?;
    }
    for vm in &report.vms {
        write_vm(tx, scan_id, vm)?;
    }
    Ok(scan_id)
}

fn write_vm(tx: &Transaction<'_>, scan_id: i64, vm: &VmReport) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO vm_results (scan_id, vm_key, vm_id, name, subscription, resource_group, verdict, root_cause)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        scan_id,
        vm.id.to_ascii_lowercase(),
        vm.id,
        vm.name,
        vm.subscription,
        vm.resource_group,
        vm.verdict.as_str(),
        vm.root_cause.map(|c| c.as_str()),
    ])?;
    let vm_result_id = tx.last_insert_rowid();
    let mut layer = tx.prepare_cached(
        "INSERT INTO vm_layers (vm_result_id, cause, status, reason) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for l in &vm.layers {
        layer.execute(params![
            vm_result_id,
            l.cause.as_str(),
            l.status.as_str(),
            l.reason
        ])?;
    }
    let mut finding = tx.prepare_cached(
        "INSERT INTO findings (vm_result_id, rule, cause, severity, status, message, resources_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for f in &vm.findings {
        finding.execute(params![
            vm_result_id,
            f.rule,
            f.cause.as_str(),
            f.severity.as_str(),
            f.status.as_str(),
            f.message,
            json_list(&f.resources),
        ])?;
    }
    let mut job = tx.prepare_cached(
        "INSERT INTO failed_jobs (vm_result_id, job_id, start_time, codes_json, errors_json, explained_by_json,
                                  explained_by_layer, code_cause, agrees_with_root_cause)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for j in &vm.failed_jobs {
        let codes: Vec<&str> = j.codes.iter().map(|c| c.code.as_str()).collect();
        job.execute(params![
            vm_result_id,
            j.id,
            j.start_time,
            json_list(&codes),
            json_list(&j.errors),
            json_list(&j.explained_by),
            j.explained_by_layer.map(|c| c.as_str()),
            j.code_cause.map(|c| c.as_str()),
            j.agrees_with_root_cause,
        ])?;
    }
    Ok(())
}

fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::CodeBook;
    use crate::engine::{Engine, RuleSet};
    use crate::outcome::Status;
    use std::path::{Path, PathBuf};

    fn demo_report() -> Report {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let inventory =
            crate::source::snapshot::load_layers(&[root.join("fixtures/fleets/demo")]).unwrap();
        let codes = CodeBook::builtin().unwrap();
        let engine = Engine::new(RuleSet::load(&[]).unwrap());
        crate::commands::scan::evaluate(
            &inventory,
            &engine,
            &codes,
            &crate::resolve::Options::default(),
        )
    }

    fn meta() -> ScanMeta {
        ScanMeta {
            time: "2026-11-24T06:00:00Z".into(),
            source: "snapshot:fixtures/fleets/demo".into(),
        }
    }

    /// Row counts of every table, read through a connection of its own (what another process sees).
    fn table_rows(path: &Path) -> Vec<(String, i64)> {
        let conn = rusqlite::Connection::open(path).unwrap();
        [
            "scans",
            "gaps",
            "vm_results",
            "vm_layers",
            "findings",
            "failed_jobs",
        ]
        .iter()
        .map(|t| {
            let n = conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            (t.to_string(), n)
        })
        .collect()
    }

    #[test]
    fn a_recorded_scan_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let report = demo_report();
        let mut store = Store::open(&path).unwrap();
        let id = store.record(&report, &meta()).unwrap();
        let scans = store.scans(10).unwrap();
        assert_eq!(scans.len(), 1);
        let scan = &scans[0];
        assert_eq!(scan.id, id);
        assert_eq!(scan.time, "2026-11-24T06:00:00Z");
        assert_eq!(scan.vms as usize, report.summary.vms);
        assert_eq!(scan.fail as usize, report.summary.fail);
        assert_eq!(scan.complete, report.complete);
        let expected: std::collections::BTreeMap<String, i64> = report
            .summary
            .by_root_cause
            .iter()
            .map(|(k, v)| (k.to_string(), *v as i64))
            .collect();
        assert_eq!(scan.by_root_cause, expected);
        let failing = report
            .vms
            .iter()
            .flat_map(|vm| &vm.findings)
            .filter(|f| f.status == Status::Fail)
            .count();
        assert!(failing > 0);
        assert_eq!(store.failing_findings(id).unwrap().len(), failing);
        let rows = table_rows(&path);
        let layers = rows.iter().find(|(t, _)| t == "vm_layers").unwrap().1;
        assert_eq!(layers as usize, report.vms.len() * 8);
        let jobs = rows.iter().find(|(t, _)| t == "failed_jobs").unwrap().1;
        assert_eq!(jobs as usize, report.summary.failed_jobs);
    }

    /// A new store in `dir` with the demo scan recorded, and the scan's report.
    fn store_with_one_scan(dir: &Path) -> (PathBuf, Store, Report) {
        let path = dir.join("history.db");
        let report = demo_report();
        let mut store = Store::open(&path).unwrap();
        store.record(&report, &meta()).unwrap();
        (path, store, report)
    }

    #[test]
    fn a_write_that_fails_midway_leaves_the_store_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut store, _) = store_with_one_scan(dir.path());
        let before = table_rows(&path);

        // The same VM twice (ids differ only in case, as ARM echoes them): the second insert
        // breaks the one-row-per-VM constraint after the scan row and every other VM's rows
        // were written.
        let mut broken = demo_report();
        let mut twin = broken.vms[0].clone();
        twin.id = twin.id.to_ascii_uppercase();
        broken.vms.push(twin);
        let error = store.record(&broken, &meta()).unwrap_err();
        assert!(
            error.detail().problem.contains("cannot save the scan"),
            "{error}"
        );
        drop(store);

        assert_eq!(table_rows(&path), before);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.scan_count().unwrap(), 1);
    }

    #[test]
    fn a_scan_not_committed_is_never_seen_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut store, report) = store_with_one_scan(dir.path());
        let before = table_rows(&path);

        let staged = store.stage(&report, &meta()).unwrap();
        assert_eq!(staged.scan_id, 2);
        // Another process reading meanwhile sees the store as it was.
        assert_eq!(table_rows(&path), before);
        // Dropping the staged scan is what a process killed before commit amounts to: SQLite
        // rolls the unfinished transaction back.
        drop(staged);
        drop(store);
        assert_eq!(table_rows(&path), before);
    }
}
