//! The CI gate (docs/ci-gate.md): a Terraform plan or an ARM
//! what-if is laid over the baseline snapshot, the rules run on both, and the gate reports what
//! the change breaks (regressions, with the changes that caused them), what it makes unknown and
//! what it fixes.

mod diff;
mod paths;

use super::scan::evaluate;
use super::{parse_now, Judged, Judging};
use crate::codes::CodeBook;
use crate::engine::Engine;
use crate::error::Error;
use crate::inventory::Inventory;
use crate::outcome::{GateReport, Severity};
use crate::resolve::Options;
use crate::source::{self, change::ChangeSet, overlay::RawSnapshot};
use crate::suppress::Suppressions;
use std::path::PathBuf;
use time::OffsetDateTime;

/// The change to judge.
pub enum ChangeFile {
    /// The JSON of `terraform show -json tfplan` (azurerm provider).
    Plan(PathBuf),
    /// The JSON of `az deployment … what-if --no-pretty-print -o json`.
    WhatIf(PathBuf),
}

pub struct GateOptions {
    /// The current state as snapshot layers; empty: the change's resources are evaluated alone.
    pub baseline: Vec<PathBuf>,
    pub change: ChangeFile,
    pub judging: Judging,
    /// A file of accepted findings.
    pub suppressions: Option<PathBuf>,
    /// "Now" (RFC 3339) for job windows and suppression expiry; the clock when absent.
    pub now: Option<String>,
    /// The severity from which a regression fails the gate; `None`: nothing fails it.
    pub fail_on: Option<Severity>,
}

pub fn gate(options: &GateOptions) -> Result<Judged<GateReport>, Error> {
    let now = parse_now(options.now.as_deref())?;
    let codes = CodeBook::builtin()?;
    let engine = Engine::new(options.judging.rules()?);
    let before = if options.baseline.is_empty() {
        Inventory::default()
    } else {
        source::snapshot::load_layers(&options.baseline)?
    };
    let changes = match &options.change {
        ChangeFile::Plan(plan) => source::terraform::load(plan, Some(&before))?,
        ChangeFile::WhatIf(what_if) => source::whatif::load(what_if)?,
    };
    let today = now.unwrap_or_else(OffsetDateTime::now_utc).date();
    let suppressions = options
        .suppressions
        .as_deref()
        .map(|path| Suppressions::load(path, today))
        .transpose()?;
    let resolve_options = Options {
        now,
        backup_service_object_id: options.judging.backup_service_object_id.clone(),
        ..Options::default()
    };
    let report = compare(
        options,
        &changes,
        suppressions.as_ref(),
        before,
        &engine,
        &codes,
        &resolve_options,
    )?;
    Ok(Judged {
        report,
        rules: engine.rules,
        live_cost: None,
    })
}

/// Evaluates the baseline and the baseline with the changes laid over it, and reports the
/// difference.
fn compare(
    gate: &GateOptions,
    changes: &ChangeSet,
    suppressions: Option<&Suppressions>,
    before: Inventory,
    engine: &Engine,
    codes: &CodeBook,
    options: &Options,
) -> Result<GateReport, Error> {
    let mut raw = if gate.baseline.is_empty() {
        RawSnapshot::without_baseline(&changes.subscriptions)
    } else {
        RawSnapshot::read(&gate.baseline)?
    };
    raw.apply(changes);
    let unapplied = std::mem::take(&mut raw.unapplied);
    let mut warnings = Vec::new();
    let after = raw.into_inventory()?;
    let before_report = evaluate(&before, engine, codes, options);
    let mut after_report = evaluate(&after, engine, codes, options);
    let mut paths = paths::backup_paths(&before, codes, options);
    for (vm, ids) in paths::backup_paths(&after, codes, options) {
        paths.entry(vm).or_default().extend(ids);
    }
    if gate.baseline.is_empty() && after_report.vms.is_empty() {
        let file = if changes.kind == "what-if" {
            "the what-if result"
        } else {
            "the plan"
        };
        warnings.push(format!(
            "{file} holds no virtual machine and no --baseline was given: nothing could be evaluated"
        ));
    }
    let expired = match suppressions {
        Some(s) => {
            for vm in &mut after_report.vms {
                s.apply(&vm.id, &mut vm.findings);
            }
            s.expired()
        }
        None => Vec::new(),
    };
    let mut report = diff::diff(changes, &before_report, after_report, &paths);
    report.summary.not_evaluated += unapplied.len();
    report.not_evaluated.extend(unapplied);
    if let Some(suppressions) = suppressions {
        for regression in report
            .regressions
            .iter_mut()
            .chain(report.unknown.iter_mut())
        {
            let addresses: Vec<&str> = regression
                .caused_by
                .iter()
                .map(|c| c.address.as_str())
                .collect();
            regression.finding.suppressed =
                suppressions.matching(&regression.finding, &regression.vm_id, &addresses);
        }
    }
    warnings.extend(before.warnings.iter().cloned());
    report.file = changes.file.display().to_string();
    report.source = changes.kind;
    report.baseline = (!gate.baseline.is_empty()).then(|| {
        gate.baseline
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    });
    report.unmapped = changes.unmapped.clone();
    report.expired_suppressions = expired;
    report.warnings = warnings;
    report.fail_on = gate.fail_on;
    report.summary.suppressed = report
        .regressions
        .iter()
        .chain(&report.unknown)
        .filter(|r| r.finding.suppressed.is_some())
        .count();
    report.result = match report.exit_code() {
        0 => "pass",
        1 => "fail",
        _ => "incomplete",
    };
    Ok(report)
}
