//! Writing one scan into the store. Everything goes through one transaction: until `commit`,
//! nothing of the scan is visible, and a process killed (or an error) before it leaves the store
//! exactly as it was, because SQLite rolls an unfinished transaction back.

use crate::outcome::{Report, VmReport};
use crate::store::ScanMeta;
use rusqlite::{params, Connection, Transaction, TransactionBehavior};

/// Writes the scan and commits it; returns the scan's id in the store.
pub fn record(
    conn: &mut Connection,
    report: &Report,
    meta: &ScanMeta,
    document: &str,
) -> rusqlite::Result<i64> {
    let (tx, scan_id) = stage(conn, report, meta, document)?;
    tx.commit()?;
    Ok(scan_id)
}

/// Writes the scan inside a transaction the caller commits; dropping it rolls the write back.
pub fn stage<'c>(
    conn: &'c mut Connection,
    report: &Report,
    meta: &ScanMeta,
    document: &str,
) -> rusqlite::Result<(Transaction<'c>, i64)> {
    let recorded_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    // IMMEDIATE takes the write lock first: a scan waits for another's commit, never fails on it.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let scan_id = write_scan(&tx, report, meta, &recorded_at)?;
    tx.execute(
        "INSERT INTO scan_reports (scan_id, report_json) VALUES (?1, ?2)",
        params![scan_id, document],
    )?;
    Ok((tx, scan_id))
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
    let mut tag =
        tx.prepare_cached("INSERT INTO vm_tags (vm_result_id, name, value) VALUES (?1, ?2, ?3)")?;
    for (name, value) in &vm.tags {
        tag.execute(params![vm_result_id, name, value])?;
    }
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
        let conn = Connection::open(path).unwrap();
        [
            "scans",
            "scan_reports",
            "gaps",
            "vm_results",
            "vm_tags",
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
    fn a_scan_not_committed_is_never_seen_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let mut conn =
            super::super::open_blocking(&path, true, super::super::schema::LATEST.into()).unwrap();
        let report = demo_report();
        let document = crate::store::stored::encode(&report);
        record(&mut conn, &report, &meta(), &document).unwrap();
        let before = table_rows(&path);
        // The demo fleet has no gaps; every other table has rows of the scan.
        assert!(
            before.iter().all(|(t, n)| *n > 0 || t == "gaps"),
            "{before:?}"
        );

        let (staged, scan_id) = stage(&mut conn, &report, &meta(), &document).unwrap();
        assert_eq!(scan_id, 2);
        // Another process reading meanwhile sees the store as it was.
        assert_eq!(table_rows(&path), before);
        // Dropping the staged scan is what a process killed before commit amounts to: SQLite
        // rolls the unfinished transaction back.
        drop(staged);
        drop(conn);
        assert_eq!(table_rows(&path), before);
    }
}
