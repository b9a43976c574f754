//! Reading the store: the scans kept, their root causes, and the findings of a scan (what
//! `--since-last` compares against).

use super::Store;
use crate::error::Error;
use crate::outcome::{PreviousFinding, ScanRow};
use rusqlite::params;
use std::collections::BTreeMap;

impl Store {
    /// The last `limit` scans, oldest first (the order a trend reads in).
    pub fn scans(&self, limit: usize) -> Result<Vec<ScanRow>, Error> {
        self.read_scans(limit)
            .map_err(|e| self.error("read the scans", e))
    }

    /// The most recent scan, if any.
    pub fn latest_scan(&self) -> Result<Option<ScanRow>, Error> {
        Ok(self.scans(1)?.pop())
    }

    pub fn scan_count(&self) -> Result<i64, Error> {
        self.conn()
            .query_row("SELECT count(*) FROM scans", [], |r| r.get(0))
            .map_err(|e| self.error("count the scans", e))
    }

    /// The failing findings of a scan (unknown ones are not failures, so they are left out).
    pub fn failing_findings(&self, scan_id: i64) -> Result<Vec<PreviousFinding>, Error> {
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
