//! Reading the store: the scans kept, their root causes, and the findings of a scan (what
//! `--since-last` compares against).

use super::Store;
use crate::engine::Cause;
use crate::error::InputError;
use crate::report::changes::PreviousFinding;
use rusqlite::params;
use serde::Serialize;
use std::collections::BTreeMap;

/// One stored scan, as `history` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ScanRow {
    pub id: i64,
    pub time: String,
    pub recorded_at: String,
    pub source: String,
    pub complete: bool,
    pub vms: i64,
    pub pass: i64,
    pub fail: i64,
    pub unknown: i64,
    pub failed_jobs: i64,
    pub failed_jobs_explained: i64,
    pub by_root_cause: BTreeMap<String, i64>,
}

impl Store {
    /// The last `limit` scans, oldest first (the order a trend reads in).
    pub fn scans(&self, limit: usize) -> Result<Vec<ScanRow>, InputError> {
        self.read_scans(limit)
            .map_err(|e| self.error("read the scans", e))
    }

    /// The most recent scan, if any.
    pub fn latest_scan(&self) -> Result<Option<ScanRow>, InputError> {
        Ok(self.scans(1)?.pop())
    }

    pub fn scan_count(&self) -> Result<i64, InputError> {
        self.conn()
            .query_row("SELECT count(*) FROM scans", [], |r| r.get(0))
            .map_err(|e| self.error("count the scans", e))
    }

    /// The failing findings of a scan (unknown ones are not failures, so they are left out).
    pub fn failing_findings(&self, scan_id: i64) -> Result<Vec<PreviousFinding>, InputError> {
        let read = || -> rusqlite::Result<Vec<PreviousFinding>> {
            let mut stmt = self.conn().prepare(
                "SELECT v.vm_id, v.name, f.rule, f.cause, f.severity, f.message
                 FROM findings f JOIN vm_results v ON v.id = f.vm_result_id
                 WHERE v.scan_id = ?1 AND f.status = 'fail'
                 ORDER BY v.vm_key, f.rule",
            )?;
            let rows = stmt.query_map(params![scan_id], |r| {
                Ok(PreviousFinding {
                    vm_id: r.get(0)?,
                    vm_name: r.get(1)?,
                    rule: r.get(2)?,
                    cause: r.get(3)?,
                    severity: r.get(4)?,
                    message: r.get(5)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| self.error("read the previous scan's findings", e))
    }

    fn read_scans(&self, limit: usize) -> rusqlite::Result<Vec<ScanRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, scanned_at, recorded_at, source, complete, vms, pass, fail, unknown,
                    failed_jobs, failed_jobs_explained
             FROM scans ORDER BY id DESC LIMIT ?1",
        )?;
        let mut scans = stmt
            .query_map(params![limit as i64], |r| {
                Ok(ScanRow {
                    id: r.get(0)?,
                    time: r.get(1)?,
                    recorded_at: r.get(2)?,
                    source: r.get(3)?,
                    complete: r.get(4)?,
                    vms: r.get(5)?,
                    pass: r.get(6)?,
                    fail: r.get(7)?,
                    unknown: r.get(8)?,
                    failed_jobs: r.get(9)?,
                    failed_jobs_explained: r.get(10)?,
                    by_root_cause: BTreeMap::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        scans.reverse();
        let mut causes = self.conn().prepare(
            "SELECT root_cause, count(*) FROM vm_results
             WHERE scan_id = ?1 AND root_cause IS NOT NULL GROUP BY root_cause",
        )?;
        for scan in &mut scans {
            scan.by_root_cause = causes
                .query_map(params![scan.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
        }
        Ok(scans)
    }
}

/// VMs per root cause across scans (oldest first), one row per cause that appears in any of
/// them, in pipeline order; a scan without that cause counts 0.
pub fn trend(scans: &[ScanRow]) -> Vec<(Cause, Vec<i64>)> {
    Cause::ALL
        .into_iter()
        .filter(|cause| {
            scans
                .iter()
                .any(|s| s.by_root_cause.contains_key(cause.as_str()))
        })
        .map(|cause| {
            let counts = scans
                .iter()
                .map(|s| s.by_root_cause.get(cause.as_str()).copied().unwrap_or(0))
                .collect();
            (cause, counts)
        })
        .collect()
}
