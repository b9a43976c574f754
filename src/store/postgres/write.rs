//! Writing one scan into PostgreSQL: one transaction, each table filled by one statement over
//! arrays (`UNNEST`), so a fleet of thousands of VMs costs a handful of round trips to a server
//! across the network rather than one per row. Until `COMMIT` nothing of the scan is visible; a
//! process killed (or an error) before it leaves the store exactly as it was, because the server
//! rolls back the transaction of a connection that ends.

use crate::outcome::Report;
use crate::store::ScanMeta;
use sqlx::PgPool;

/// Column arrays of one table, filled VM by VM.
#[derive(Default)]
struct Columns {
    vm: Vec<i64>,
    a: Vec<String>,
    b: Vec<String>,
    c: Vec<Option<String>>,
}

pub async fn record(
    pool: &PgPool,
    report: &Report,
    meta: &ScanMeta,
    document: &str,
) -> sqlx::Result<i64> {
    let recorded_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let s = &report.summary;
    let summary_json = serde_json::to_string(s).unwrap_or_else(|_| "{}".into());
    let mut tx = pool.begin().await?;
    let scan_id: i64 = sqlx::query_scalar(
        "INSERT INTO scans (scanned_at, recorded_at, source, complete, vms, pass, fail, unknown,
                            failed_jobs, failed_jobs_explained, summary_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&meta.time)
    .bind(&recorded_at)
    .bind(&meta.source)
    .bind(report.complete)
    .bind(s.vms as i64)
    .bind(s.pass as i64)
    .bind(s.fail as i64)
    .bind(s.unknown as i64)
    .bind(s.failed_jobs as i64)
    .bind(s.failed_jobs_explained as i64)
    .bind(&summary_json)
    .fetch_one(&mut *tx)
    .await?;

    let scopes: Vec<&str> = report.gaps.iter().map(|g| g.scope.as_str()).collect();
    let whats: Vec<&str> = report.gaps.iter().map(|g| g.what.as_str()).collect();
    let reasons: Vec<&str> = report.gaps.iter().map(|g| g.reason.as_str()).collect();
    sqlx::query(
        "INSERT INTO gaps (scan_id, scope, what, reason)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[])",
    )
    .bind(scan_id)
    .bind(&scopes)
    .bind(&whats)
    .bind(&reasons)
    .execute(&mut *tx)
    .await?;

    // The VMs' row ids, drawn from the table's sequence up front: the child tables refer to them.
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('vm_results', 'id')) FROM generate_series(1, $1)",
    )
    .bind(report.vms.len() as i64)
    .fetch_all(&mut *tx)
    .await?;
    let vm = &report.vms;
    let keys: Vec<String> = vm.iter().map(|v| super::super::vm_key(&v.id)).collect();
    sqlx::query(
        "INSERT INTO vm_results (id, scan_id, vm_key, vm_id, name, subscription, resource_group, verdict, root_cause)
         SELECT t.id, $1, t.vm_key, t.vm_id, t.name, t.subscription, t.resource_group, t.verdict, t.root_cause
         FROM UNNEST($2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
              AS t(id, vm_key, vm_id, name, subscription, resource_group, verdict, root_cause)",
    )
    .bind(scan_id)
    .bind(&ids)
    .bind(&keys)
    .bind(vm.iter().map(|v| v.id.as_str()).collect::<Vec<_>>())
    .bind(vm.iter().map(|v| v.name.as_str()).collect::<Vec<_>>())
    .bind(vm.iter().map(|v| v.subscription.as_str()).collect::<Vec<_>>())
    .bind(vm.iter().map(|v| v.resource_group.as_str()).collect::<Vec<_>>())
    .bind(vm.iter().map(|v| v.verdict.as_str()).collect::<Vec<_>>())
    .bind(vm.iter().map(|v| v.root_cause.map(|c| c.as_str())).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;

    let (mut tags, mut layers) = (Columns::default(), Columns::default());
    for (id, v) in ids.iter().zip(vm) {
        for (name, value) in &v.tags {
            tags.vm.push(*id);
            tags.a.push(name.clone());
            tags.b.push(value.clone());
        }
        for l in &v.layers {
            layers.vm.push(*id);
            layers.a.push(l.cause.as_str().to_string());
            layers.b.push(l.status.as_str().to_string());
            layers.c.push(l.reason.clone());
        }
    }
    sqlx::query(
        "INSERT INTO vm_tags (vm_result_id, name, value)
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[])",
    )
    .bind(&tags.vm)
    .bind(&tags.a)
    .bind(&tags.b)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO vm_layers (vm_result_id, cause, status, reason)
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[])",
    )
    .bind(&layers.vm)
    .bind(&layers.a)
    .bind(&layers.b)
    .bind(&layers.c)
    .execute(&mut *tx)
    .await?;
    write_findings(&mut tx, &ids, report).await?;
    write_jobs(&mut tx, &ids, report).await?;
    sqlx::query("INSERT INTO scan_reports (scan_id, report_json) VALUES ($1, $2)")
        .bind(scan_id)
        .bind(document)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(scan_id)
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

async fn write_findings(tx: &mut Tx, ids: &[i64], report: &Report) -> sqlx::Result<()> {
    let mut vm = Vec::new();
    let (mut rule, mut cause, mut severity, mut status, mut message, mut resources) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (id, v) in ids.iter().zip(&report.vms) {
        for f in &v.findings {
            vm.push(*id);
            rule.push(f.rule.as_str());
            cause.push(f.cause.as_str());
            severity.push(f.severity.as_str());
            status.push(f.status.as_str());
            message.push(f.message.as_str());
            resources.push(json_list(&f.resources));
        }
    }
    sqlx::query(
        "INSERT INTO findings (vm_result_id, rule, cause, severity, status, message, resources_json)
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])",
    )
    .bind(&vm)
    .bind(&rule)
    .bind(&cause)
    .bind(&severity)
    .bind(&status)
    .bind(&message)
    .bind(&resources)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_jobs(tx: &mut Tx, ids: &[i64], report: &Report) -> sqlx::Result<()> {
    let mut vm = Vec::new();
    let (mut job, mut start, mut codes, mut errors, mut explained) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut layer, mut code_cause, mut agrees) = (vec![], vec![], vec![]);
    for (id, v) in ids.iter().zip(&report.vms) {
        for j in &v.failed_jobs {
            let job_codes: Vec<&str> = j.codes.iter().map(|c| c.code.as_str()).collect();
            vm.push(*id);
            job.push(j.id.as_str());
            start.push(j.start_time.as_deref());
            codes.push(json_list(&job_codes));
            errors.push(json_list(&j.errors));
            explained.push(json_list(&j.explained_by));
            layer.push(j.explained_by_layer.map(|c| c.as_str()));
            code_cause.push(j.code_cause.map(|c| c.as_str()));
            agrees.push(j.agrees_with_root_cause);
        }
    }
    sqlx::query(
        "INSERT INTO failed_jobs (vm_result_id, job_id, start_time, codes_json, errors_json, explained_by_json,
                                  explained_by_layer, code_cause, agrees_with_root_cause)
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::text[], $9::bool[])",
    )
    .bind(&vm)
    .bind(&job)
    .bind(&start)
    .bind(&codes)
    .bind(&errors)
    .bind(&explained)
    .bind(&layer)
    .bind(&code_cause)
    .bind(&agrees)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}
