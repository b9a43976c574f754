//! `scan`: every VM of a snapshot or of the tenant read live, resolved and judged by the rules;
//! optionally kept in a store and compared with the previous scan there, and with accepted
//! findings marked.

mod changes;
mod correlation;
pub mod export;
pub mod report;

use super::{parse_now, Judged, Judging, Source};
use crate::codes::CodeBook;
use crate::engine::{evaluate_vm, Engine};
use crate::error::Error;
use crate::inventory::Inventory;
use crate::outcome::{Changes, PreviousScan, Report};
use crate::parallel;
use crate::resolve::{self, Index, Options};
use crate::store::{ScanMeta, Store, StoreTarget};
use crate::suppress::Suppressions;
use std::path::PathBuf;
use time::OffsetDateTime;

pub struct ScanOptions {
    pub source: Source,
    pub judging: Judging,
    /// How many days of failed backup jobs count as evidence.
    pub job_window_days: i64,
    /// "Now" (RFC 3339) for the job window; the snapshot's creation time when absent.
    pub now: Option<String>,
    /// The history store to keep the scan in.
    pub store: Option<StoreOptions>,
    /// A file of accepted findings.
    pub suppressions: Option<PathBuf>,
}

pub struct StoreOptions {
    /// A SQLite file or a PostgreSQL URL.
    pub target: StoreTarget,
    /// Compare with the latest scan in the store before adding this one.
    pub since_last: bool,
}

/// `scan` for a synchronous caller (the command line): runs [`scan_async`] on a runtime of its own.
pub fn scan(options: &ScanOptions) -> Result<Judged<Report>, Error> {
    super::block_on("scan", scan_async(options))?
}

pub async fn scan_async(options: &ScanOptions) -> Result<Judged<Report>, Error> {
    let now = parse_now(options.now.as_deref())?;
    let codes = CodeBook::builtin()?;
    let engine = Engine::new(options.judging.rules()?);
    // Opened before the scan: a bad store should stop the run before a long live collection.
    let store = match &options.store {
        Some(kept) => Some(Store::open(&kept.target).await?),
        None => None,
    };
    let backup_service_object_id = options.judging.backup_service_object_id.clone();
    let (inventory, live_cost) = options
        .source
        .load_async(options.job_window_days, backup_service_object_id.clone())
        .await?;
    let resolve_options = Options {
        job_window_days: options.job_window_days,
        now,
        backup_service_object_id,
    };
    // CPU-bound and parallel on its own threads; short next to the collection.
    let mut report = evaluate(&inventory, &engine, &codes, &resolve_options);
    if let (Some(store), Some(kept)) = (store.as_ref(), &options.store) {
        if kept.since_last {
            report.changes = Some(changes_since_last(store, &report).await?);
        }
        let id = store.record(&report, &scan_meta(options, &report)).await?;
        tracing::info!(scan = id, store = %store.describe(), "scan kept in the store");
    }
    if let Some(path) = &options.suppressions {
        let today = now.unwrap_or_else(OffsetDateTime::now_utc).date();
        let suppressions = Suppressions::load(path, today)?;
        for vm in &mut report.vms {
            suppressions.apply(&vm.id, &mut vm.findings);
        }
    }
    Ok(Judged {
        report,
        rules: engine.rules,
        live_cost,
    })
}

/// Resolves and evaluates every VM of `inventory` and builds the report.
pub fn evaluate(
    inventory: &Inventory,
    engine: &Engine,
    codes: &CodeBook,
    options: &Options,
) -> Report {
    let index = Index::new(inventory, codes, options);
    let vms: Vec<_> = inventory.vms.values().collect();
    let evaluations = parallel::map(&vms, |vm| {
        evaluate_vm(engine, resolve::resolve_vm(&index, vm))
    });
    report::build(evaluations, inventory, codes)
}

/// Compares the report with the latest scan in the store, before this one is added.
async fn changes_since_last(store: &Store, report: &Report) -> Result<Changes, Error> {
    let previous = store.latest_scan().await?;
    let before = match &previous {
        Some(scan) => store.failing_findings(scan.id).await?,
        None => Vec::new(),
    };
    let previous = previous.map(|scan| PreviousScan {
        id: scan.id,
        time: scan.time,
    });
    Ok(changes::between(previous, before, report))
}

/// The scan's time: `--now`, else the snapshot's creation time, else the clock (RFC 3339). The
/// store keeps it and the Log Analytics rows carry it as `TimeGenerated`.
pub fn scan_time(options: &ScanOptions, report: &Report) -> String {
    options
        .now
        .clone()
        .or_else(|| report.snapshot_created.clone())
        .unwrap_or_else(|| {
            OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        })
}

/// The scan's time and source.
fn scan_meta(options: &ScanOptions, report: &Report) -> ScanMeta {
    let time = scan_time(options, report);
    let source = match &options.source {
        Source::Live(_) => "live".to_string(),
        Source::Snapshot(paths) => paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
    };
    ScanMeta { time, source }
}
