//! Reading the PostgreSQL store: the same answers as `sqlite/read.rs`, query for query.

use crate::outcome::{PreviousFinding, ScanRow, VmPage, VmRow, VmVerdictAt};
use crate::store::stored::Document;
use crate::store::{Page, VmFilter};
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;

pub async fn ping(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

pub async fn scan_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM scans")
        .fetch_one(pool)
        .await
}

pub async fn failing_findings(pool: &PgPool, scan_id: i64) -> sqlx::Result<Vec<PreviousFinding>> {
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT v.vm_id, v.name, f.rule, f.cause, f.severity, f.message
         FROM findings f JOIN vm_results v ON v.id = f.vm_result_id
         WHERE v.scan_id = $1 AND f.status = 'fail'
         ORDER BY v.vm_key, f.rule",
    )
    .bind(scan_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(vm_id, vm_name, rule, cause, severity, message)| PreviousFinding {
                vm_id,
                vm_name,
                rule,
                cause,
                severity,
                message,
            },
        )
        .collect())
}

/// The last `limit` scans oldest first, or with `only`, that scan if the store has it.
pub async fn scans(pool: &PgPool, only: Option<i64>, limit: usize) -> sqlx::Result<Vec<ScanRow>> {
    let rows = sqlx::query(
        "SELECT id, scanned_at, recorded_at, source, complete, vms, pass, fail, unknown,
                failed_jobs, failed_jobs_explained
         FROM scans WHERE ($1::int8 IS NULL OR id = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(only)
    .bind(clamp(limit))
    .fetch_all(pool)
    .await?;
    let mut scans = rows
        .iter()
        .map(|r| {
            Ok(ScanRow {
                id: r.try_get(0)?,
                time: r.try_get(1)?,
                recorded_at: r.try_get(2)?,
                source: r.try_get(3)?,
                complete: r.try_get(4)?,
                vms: r.try_get(5)?,
                pass: r.try_get(6)?,
                fail: r.try_get(7)?,
                unknown: r.try_get(8)?,
                failed_jobs: r.try_get(9)?,
                failed_jobs_explained: r.try_get(10)?,
                by_root_cause: BTreeMap::new(),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    scans.reverse();
    let ids: Vec<i64> = scans.iter().map(|s| s.id).collect();
    let causes: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT scan_id, root_cause, count(*) FROM vm_results
         WHERE scan_id = ANY($1) AND root_cause IS NOT NULL GROUP BY scan_id, root_cause",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    for (scan_id, cause, count) in causes {
        if let Some(scan) = scans.iter_mut().find(|s| s.id == scan_id) {
            scan.by_root_cause.insert(cause, count);
        }
    }
    Ok(scans)
}

pub async fn report_document(pool: &PgPool, scan_id: i64) -> sqlx::Result<Document> {
    let found: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT r.report_json FROM scans s LEFT JOIN scan_reports r ON r.scan_id = s.id
         WHERE s.id = $1",
    )
    .bind(scan_id)
    .fetch_optional(pool)
    .await?;
    Ok(match found {
        None => Document::NoScan,
        Some((None,)) => Document::NotKept,
        Some((Some(text),)) => Document::Kept(text),
    })
}

/// The conditions of a `VmFilter` after the scan id ($1); each is void when its parameter is NULL.
const MATCHING: &str = "
    FROM vm_results v
    WHERE v.scan_id = $1
      AND ($2::text IS NULL OR v.verdict = $2)
      AND ($3::text IS NULL OR v.root_cause = $3)
      AND ($4::text IS NULL OR lower(v.subscription) = lower($4))
      AND ($5::text IS NULL OR lower(v.resource_group) = lower($5))
      AND ($6::text IS NULL OR EXISTS (
            SELECT 1 FROM vm_tags t
            WHERE t.vm_result_id = v.id AND lower(t.name) = lower($6)
              AND ($7::text IS NULL OR t.value = $7)))";

/// A VM row's id and the columns `VmRow` is made of, in the query's order.
type VmColumns = (i64, String, String, String, String, String, Option<String>);

pub async fn vms(
    pool: &PgPool,
    scan_id: i64,
    filter: &VmFilter,
    page: Page,
) -> sqlx::Result<VmPage> {
    let (tag, value) = match &filter.tag {
        Some((name, value)) => (Some(name.as_str()), value.as_deref()),
        None => (None, None),
    };
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {MATCHING}"))
        .bind(scan_id)
        .bind(filter.verdict.as_deref())
        .bind(filter.root_cause.as_deref())
        .bind(filter.subscription.as_deref())
        .bind(filter.resource_group.as_deref())
        .bind(tag)
        .bind(value)
        .fetch_one(pool)
        .await?;
    let sql = format!(
        "SELECT v.id, v.vm_id, v.name, v.subscription, v.resource_group, v.verdict, v.root_cause
         {MATCHING} ORDER BY v.vm_key LIMIT $8 OFFSET $9"
    );
    let rows: Vec<VmColumns> = sqlx::query_as(&sql)
        .bind(scan_id)
        .bind(filter.verdict.as_deref())
        .bind(filter.root_cause.as_deref())
        .bind(filter.subscription.as_deref())
        .bind(filter.resource_group.as_deref())
        .bind(tag)
        .bind(value)
        .bind(clamp(page.limit))
        .bind(clamp(page.offset))
        .fetch_all(pool)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let tags: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT vm_result_id, name, value FROM vm_tags WHERE vm_result_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut by_vm: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    for (id, name, value) in tags {
        by_vm.entry(id).or_default().insert(name, value);
    }
    let items = rows
        .into_iter()
        .map(
            |(id, vm_id, name, subscription, resource_group, verdict, root_cause)| VmRow {
                id: vm_id,
                name,
                subscription,
                resource_group,
                verdict,
                root_cause,
                tags: by_vm.remove(&id).unwrap_or_default(),
            },
        )
        .collect();
    Ok(VmPage {
        total: total as usize,
        items,
    })
}

pub async fn vm_history(
    pool: &PgPool,
    vm_key: &str,
    limit: usize,
) -> sqlx::Result<Vec<VmVerdictAt>> {
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT s.id, s.scanned_at, v.verdict, v.root_cause
         FROM vm_results v JOIN scans s ON s.id = v.scan_id
         WHERE v.vm_key = $1 ORDER BY s.id DESC LIMIT $2",
    )
    .bind(vm_key)
    .bind(clamp(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .rev()
        .map(|(scan_id, time, verdict, root_cause)| VmVerdictAt {
            scan_id,
            time,
            verdict,
            root_cause,
        })
        .collect())
}

fn clamp(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
