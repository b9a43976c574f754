//! Building a scan's report from the evaluations: the VMs' results without passing findings, the
//! failed jobs matched against the failing findings, and the fleet summary.

use super::correlation::{code_cause, summarise};
use crate::codes::CodeBook;
use crate::engine::VmEvaluation;
use crate::inventory::references::{dangling, Dangling};
use crate::inventory::types::RESOURCE_CHANGES;
use crate::inventory::Inventory;
use crate::outcome::scan::SCHEMA;
use crate::outcome::{
    Correlation, FailedJobReport, Finding, JobCode, LayerStatus, Report, Status, Summary, VmReport,
};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The report of the evaluations of the VMs of `inventory`.
pub fn build(evaluations: Vec<VmEvaluation>, inventory: &Inventory, codes: &CodeBook) -> Report {
    // Change records only explain findings: a gap in them leaves the attribution partial
    // (`attribution.incomplete_because`), never the verdicts.
    let gaps: Vec<_> = inventory
        .gaps()
        .iter()
        .filter(|gap| !gap.what.eq_ignore_ascii_case(RESOURCE_CHANGES))
        .cloned()
        .collect();
    let mut summary = Summary {
        vms: evaluations.len(),
        pass: 0,
        fail: 0,
        unknown: 0,
        by_root_cause: BTreeMap::new(),
        failed_jobs: 0,
        failed_jobs_explained: 0,
        correlation: Correlation::default(),
        time_left: Vec::new(),
    };
    let mut any_unknown = false;
    let mut vms = Vec::with_capacity(evaluations.len());
    for evaluation in evaluations {
        match evaluation.verdict {
            Status::Pass => summary.pass += 1,
            Status::Fail => summary.fail += 1,
            Status::Unknown => summary.unknown += 1,
        }
        if let Some(cause) = evaluation.root_cause {
            *summary.by_root_cause.entry(cause.as_str()).or_default() += 1;
        }
        any_unknown |= evaluation
            .findings
            .iter()
            .any(|f| f.status == Status::Unknown)
            || evaluation
                .layers
                .iter()
                .any(|l| l.status == LayerStatus::Unknown);
        let failed_jobs = failed_jobs(&evaluation, codes);
        summary.failed_jobs += failed_jobs.len();
        summary.failed_jobs_explained += failed_jobs
            .iter()
            .filter(|j| !j.explained_by.is_empty())
            .count();
        let facts = evaluation.facts;
        let tags = inventory
            .vms
            .get(&crate::inventory::key(&facts.id))
            .and_then(|vm| vm.tags.clone())
            .unwrap_or_default();
        let recovery = facts.recovery.clone().map(|mut recovery| {
            if evaluation.verdict == Status::Fail {
                recovery.forecast = recovery.forecast(evaluation.root_cause);
                summary.time_left.extend(recovery.time_left(
                    &facts.name,
                    &facts.id,
                    evaluation.root_cause,
                ));
            }
            recovery
        });
        vms.push(VmReport {
            recovery,
            tags,
            layers: evaluation.layers,
            findings: evaluation
                .findings
                .into_iter()
                .filter(|f| f.status != Status::Pass)
                .collect(),
            failed_jobs,
            verdict: evaluation.verdict,
            root_cause: evaluation.root_cause,
            protected: facts.protection.protected,
            workloads: facts.workloads.clone().unwrap_or_default(),
            power_state: facts.power_state,
            os: facts.os,
            location: facts.location,
            subscription: facts.subscription,
            resource_group: facts.resource_group,
            id: facts.id,
            name: facts.name,
        });
    }
    summary.correlation = summarise(&vms);
    summary.time_left = crate::outcome::recovery::rank(std::mem::take(&mut summary.time_left));
    let dangling = dangling(inventory);
    let mut warnings = inventory.warnings.clone();
    warnings.extend(dangling.iter().flat_map(Dangling::warnings));
    let incomplete_because: Vec<String> = no_vms(inventory)
        .into_iter()
        .chain(dangling.iter().map(Dangling::summary))
        .collect();
    Report {
        schema: SCHEMA,
        complete: gaps.is_empty() && !any_unknown && incomplete_because.is_empty(),
        gaps,
        summary,
        vms,
        snapshot_created: inventory.manifest.as_ref().and_then(|m| m.created.clone()),
        warnings,
        skipped: inventory.reading.skipped.values().cloned().collect(),
        dangling_references: dangling,
        incomplete_because,
        changes: None,
        attribution: None,
        subscription_names: inventory
            .subscriptions
            .values()
            .filter_map(|s| Some((s.subscription_id.clone(), s.display_name.clone()?)))
            .collect(),
    }
}

/// "0 VMs" is no clean fleet: the VM list was not passed, was in a shape that was skipped, or the
/// input was empty (an export that failed and wrote `[]`). Says so, and what was skipped (the
/// report's `skipped` has the details).
fn no_vms(inventory: &Inventory) -> Option<String> {
    if !inventory.vms.is_empty() {
        return None;
    }
    let reading = &inventory.reading;
    let mut reason = format!(
        "no virtual machine in the input: {} object(s) read",
        reading.objects
    );
    let skipped: Vec<String> = reading
        .skipped
        .values()
        .map(|group| format!("{} {}", group.count, group.reason.label()))
        .collect();
    if !skipped.is_empty() {
        let _ = write!(
            reason,
            ", {} skipped ({})",
            reading.skipped_count(),
            skipped.join(", ")
        );
    }
    Some(reason)
}

fn failed_jobs(evaluation: &VmEvaluation, codes: &CodeBook) -> Vec<FailedJobReport> {
    let Some(jobs) = &evaluation.facts.jobs else {
        return Vec::new();
    };
    jobs.failed
        .iter()
        .map(|job| {
            let explaining: Vec<&Finding> = evaluation
                .findings
                .iter()
                .filter(|f| {
                    f.status == Status::Fail
                        && f.explains
                            .iter()
                            .any(|e| job.codes.iter().any(|c| same_code(codes, e, c)))
                })
                .collect();
            let explained_by = explaining.iter().map(|f| f.rule.clone()).collect();
            let code_cause = code_cause(
                job.codes
                    .iter()
                    .filter_map(|c| codes.get(c))
                    .map(|e| e.cause),
            );
            FailedJobReport {
                explained_by_layer: explaining.first().map(|f| f.cause),
                code_cause,
                agrees_with_root_cause: code_cause.map(|c| Some(c) == evaluation.root_cause),
                id: job.id.clone(),
                start_time: job.start_time.clone(),
                codes: job
                    .codes
                    .iter()
                    .filter_map(|c| codes.get(c))
                    .map(|entry| JobCode {
                        code: entry.code.clone(),
                        cause: entry.cause,
                        summary: entry.summary.clone(),
                    })
                    .collect(),
                errors: job.errors.clone(),
                explained_by,
            }
        })
        .collect()
}

/// Codes are equal in any documented spelling.
fn same_code(codes: &CodeBook, a: &str, b: &str) -> bool {
    match (codes.get(a), codes.get(b)) {
        (Some(x), Some(y)) => std::ptr::eq(x, y),
        _ => a.eq_ignore_ascii_case(b),
    }
}
