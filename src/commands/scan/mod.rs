//! `scan`: every VM of a snapshot or of the tenant read live, resolved and judged by the rules;
//! optionally kept in a store and compared with the previous scan there, and with accepted
//! findings marked.

pub mod attribution;
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
use std::collections::BTreeSet;
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
    /// Which Azure changes to attach to failing findings (docs/change-attribution.md).
    pub changes: ChangeOptions,
}

/// The change attribution of a scan.
#[derive(Debug, Clone, Default)]
pub struct ChangeOptions {
    /// The window's start (RFC 3339), instead of the previous scan's time (`--changes-since`).
    pub since: Option<String>,
    /// Attribute every failing finding, not only those new since the previous scan
    /// (`--all-changes`).
    pub all: bool,
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
    let changes_since = parse_now(options.changes.since.as_deref())
        .map_err(|_| changes_since_error(options.changes.since.as_deref().unwrap_or_default()))?;
    let backup_service_object_id = options.judging.backup_service_object_id.clone();
    let (mut inventory, live_cost) = options
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
    let since_last = match &store {
        Some(store) => Some(changes_since_last(store, &report).await?),
        None => None,
    };
    let until = now
        .or_else(|| report.snapshot_created.as_deref().and_then(rfc3339))
        .unwrap_or_else(OffsetDateTime::now_utc);
    let window = attribution_window(until, changes_since, since_last.as_ref());
    let new: Option<BTreeSet<(String, String)>> = since_last
        .as_ref()
        .filter(|changes| changes.previous.is_some())
        .map(|changes| {
            changes
                .new
                .iter()
                .map(|c| (c.vm_id.to_ascii_lowercase(), c.rule.clone()))
                .collect()
        });
    let scope = attribution::Scope {
        new: new.as_ref(),
        all: options.changes.all,
    };
    if let Source::Live(live) = &options.source {
        let ids = attribution::named_resources(&report, &scope);
        let live_options = live.options(options.job_window_days, None)?;
        let read =
            crate::live::collect::changes::read(&live_options, &ids, window.since, window.until)
                .await
                .map_err(|e| Error::Runtime(e.into()))?;
        read.add_to(&mut inventory)?;
    }
    report.attribution = Some(attribution::attribute(&report, &inventory, &window, scope));
    if let (Some(store), Some(kept)) = (store.as_ref(), &options.store) {
        if kept.since_last {
            report.changes = since_last;
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

/// The window changes are looked for in: from `--changes-since`, else the previous scan in the
/// store, else Resource Graph's retention, to the scan's "now".
fn attribution_window(
    until: OffsetDateTime,
    changes_since: Option<OffsetDateTime>,
    since_last: Option<&Changes>,
) -> attribution::Window {
    let previous = since_last
        .and_then(|changes| changes.previous.as_ref())
        .and_then(|scan| rfc3339(&scan.time));
    let (since, since_from) = match (changes_since, previous) {
        (Some(since), _) => (since, "--changes-since"),
        (None, Some(since)) => (since, "previous scan"),
        (None, None) => (
            until - time::Duration::days(attribution::DEFAULT_DAYS),
            "default (14 days)",
        ),
    };
    attribution::Window {
        since,
        until,
        since_from,
    }
}

fn rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

fn changes_since_error(text: &str) -> Error {
    Error::usage(
        "--changes-since",
        format!("`{text}` is not an RFC 3339 time"),
        "write it like 2026-11-20T00:00:00Z",
    )
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
