//! Reading the SQLite store: the scans kept with their root causes, the findings of a scan (what
//! `--since-last` compares against), a scan's whole report, its VMs filtered and paged, and one
//! VM's verdicts across scans.

use crate::outcome::{PreviousFinding, ScanRow, VmPage, VmRow, VmVerdictAt};
use crate::store::stored::Document;
use crate::store::{Page, VmFilter};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

pub fn scan_count(conn: &mut Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM scans", [], |r| r.get(0))
}

/// The failing findings of a scan (unknown ones are not failures, so they are left out).
pub fn failing_findings(
    conn: &mut Connection,
    scan_id: i64,
) -> rusqlite::Result<Vec<PreviousFinding>> {
    let mut stmt = conn.prepare(
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
}

/// The last `limit` scans oldest first, or with `only`, that scan if the store has it.
pub fn scans(
    conn: &mut Connection,
    only: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Vec<ScanRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, scanned_at, recorded_at, source, complete, vms, pass, fail, unknown,
                failed_jobs, failed_jobs_explained
         FROM scans WHERE (?1 IS NULL OR id = ?1) ORDER BY id DESC LIMIT ?2",
    )?;
    let mut scans = stmt
        .query_map(params![only, clamp(limit)], |r| {
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
    let mut causes = conn.prepare(
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

pub fn report_document(conn: &mut Connection, scan_id: i64) -> rusqlite::Result<Document> {
    let found: Option<Option<String>> = conn
        .query_row(
            "SELECT r.report_json FROM scans s LEFT JOIN scan_reports r ON r.scan_id = s.id
             WHERE s.id = ?1",
            params![scan_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match found {
        None => Document::NoScan,
        Some(None) => Document::NotKept,
        Some(Some(text)) => Document::Kept(text),
    })
}

/// The conditions of a `VmFilter`, numbered after the scan id (?1); each is void when its
/// parameter is NULL.
const MATCHING: &str = "
    FROM vm_results v
    WHERE v.scan_id = ?1
      AND (?2 IS NULL OR v.verdict = ?2)
      AND (?3 IS NULL OR v.root_cause = ?3)
      AND (?4 IS NULL OR lower(v.subscription) = lower(?4))
      AND (?5 IS NULL OR lower(v.resource_group) = lower(?5))
      AND (?6 IS NULL OR EXISTS (
            SELECT 1 FROM vm_tags t
            WHERE t.vm_result_id = v.id AND lower(t.name) = lower(?6)
              AND (?7 IS NULL OR t.value = ?7)))";

pub fn vms(
    conn: &mut Connection,
    scan_id: i64,
    filter: &VmFilter,
    page: Page,
) -> rusqlite::Result<VmPage> {
    let (tag, value) = match &filter.tag {
        Some((name, value)) => (Some(name.as_str()), value.as_deref()),
        None => (None, None),
    };
    let conditions = params![
        scan_id,
        filter.verdict,
        filter.root_cause,
        filter.subscription,
        filter.resource_group,
        tag,
        value,
    ];
    let total: i64 = conn.query_row(&format!("SELECT count(*) {MATCHING}"), conditions, |r| {
        r.get(0)
    })?;
    let mut stmt = conn.prepare(&format!(
        "SELECT v.id, v.vm_id, v.name, v.subscription, v.resource_group, v.verdict, v.root_cause
         {MATCHING} ORDER BY v.vm_key LIMIT ?8 OFFSET ?9"
    ))?;
    let rows = stmt
        .query_map(
            params![
                scan_id,
                filter.verdict,
                filter.root_cause,
                filter.subscription,
                filter.resource_group,
                tag,
                value,
                clamp(page.limit),
                clamp(page.offset),
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    VmRow {
                        id: r.get(1)?,
                        name: r.get(2)?,
                        subscription: r.get(3)?,
                        resource_group: r.get(4)?,
                        verdict: r.get(5)?,
                        root_cause: r.get(6)?,
                        tags: BTreeMap::new(),
                    },
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut tags =
        conn.prepare_cached("SELECT name, value FROM vm_tags WHERE vm_result_id = ?1")?;
    let mut items = Vec::with_capacity(rows.len());
    for (vm_result_id, mut row) in rows {
        row.tags = tags
            .query_map(params![vm_result_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        items.push(row);
    }
    Ok(VmPage {
        total: total as usize,
        items,
    })
}

/// The VM's verdicts in the last `limit` scans that judged it, oldest first.
pub fn vm_history(
    conn: &mut Connection,
    vm_key: &str,
    limit: usize,
) -> rusqlite::Result<Vec<VmVerdictAt>> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.scanned_at, v.verdict, v.root_cause
         FROM vm_results v JOIN scans s ON s.id = v.scan_id
         WHERE v.vm_key = ?1 ORDER BY s.id DESC LIMIT ?2",
    )?;
    let mut history = stmt
        .query_map(params![vm_key, clamp(limit)], |r| {
            Ok(VmVerdictAt {
                scan_id: r.get(0)?,
                time: r.get(1)?,
                verdict: r.get(2)?,
                root_cause: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    history.reverse();
    Ok(history)
}

/// A count or offset as SQL's integer (a `usize` beyond `i64` is "all" anyway).
fn clamp(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
