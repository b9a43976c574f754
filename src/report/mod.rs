//! The report of a scan (DESIGN §5) and its output formats, one module per format.

pub mod changes;
pub mod console;
pub mod correlation;
pub mod csv;
pub mod history;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use crate::codes::CodeBook;
use crate::engine::eval::{LayerStatus, Status, VmEvaluation};
use crate::engine::{Cause, Finding, Layer, Severity};
use crate::inventory::model::Gap;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "backup-doctor/report/v1";

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub complete: bool,
    pub gaps: Vec<Gap>,
    pub summary: Summary,
    pub vms: Vec<VmReport>,
    /// When the data was read (the snapshot's creation time), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_created: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What changed since the previous stored scan (`scan --store FILE --since-last`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<changes::Changes>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub vms: usize,
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
    pub by_root_cause: BTreeMap<&'static str, usize>,
    /// Failed jobs in the window, and how many a predicted finding explains.
    pub failed_jobs: usize,
    pub failed_jobs_explained: usize,
    /// Failed jobs against predictions, per cause of the job's code (`correlation.rs`).
    pub correlation: correlation::Correlation,
}

#[derive(Debug, Clone, Serialize)]
pub struct VmReport {
    pub id: String,
    pub name: String,
    pub verdict: Status,
    pub root_cause: Option<Cause>,
    pub layers: Vec<Layer>,
    /// Failing and unknown findings, in pipeline order (passes are left out).
    pub findings: Vec<Finding>,
    pub failed_jobs: Vec<FailedJobReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub subscription: String,
    pub resource_group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Workloads backed up from inside the VM (`SQL Server`, `SAP HANA`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_state: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedJobReport {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    pub codes: Vec<JobCode>,
    /// Raw error text, for codes backup-doctor does not know.
    pub errors: Vec<String>,
    /// Failing findings whose `explains` list one of the job's codes.
    pub explained_by: Vec<String>,
    /// The layer of the first finding (in pipeline order) that explains the job.
    pub explained_by_layer: Option<Cause>,
    /// The layer the job's error code belongs to (the earliest, if it has several).
    pub code_cause: Option<Cause>,
    /// Whether `code_cause` is the VM's root cause; `null` when the code is not recognised.
    pub agrees_with_root_cause: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobCode {
    pub code: String,
    pub cause: Cause,
    pub summary: String,
}

impl Report {
    pub fn build(
        evaluations: Vec<VmEvaluation>,
        gaps: Vec<Gap>,
        codes: &CodeBook,
        snapshot_created: Option<String>,
        warnings: Vec<String>,
    ) -> Report {
        let mut summary = Summary {
            vms: evaluations.len(),
            pass: 0,
            fail: 0,
            unknown: 0,
            by_root_cause: BTreeMap::new(),
            failed_jobs: 0,
            failed_jobs_explained: 0,
            correlation: correlation::Correlation::default(),
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
            vms.push(VmReport {
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
        summary.correlation = correlation::summarise(&vms);
        Report {
            schema: SCHEMA,
            complete: gaps.is_empty() && !any_unknown,
            gaps,
            summary,
            vms,
            snapshot_created,
            warnings,
            changes: None,
        }
    }

    /// Why the run is incomplete, besides its gaps: each missing fact or unknown layer with the
    /// number of checks it left undecided.
    pub fn unknown_reasons(&self) -> BTreeMap<String, usize> {
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for vm in &self.vms {
            for finding in vm.findings.iter().filter(|f| f.status == Status::Unknown) {
                for unknown in &finding.unknown_facts {
                    *reasons
                        .entry(format!("{}: {}", unknown.fact, unknown.reason))
                        .or_default() += 1;
                }
            }
            for layer in vm
                .layers
                .iter()
                .filter(|l| l.status == LayerStatus::Unknown)
            {
                if let Some(reason) = &layer.reason {
                    *reasons
                        .entry(format!("{} layer: {reason}", layer.cause.as_str()))
                        .or_default() += 1;
                }
            }
        }
        reasons
    }

    /// DESIGN §4: 1 when a finding at or above `fail_on` fails, else 3 when incomplete, else 0.
    pub fn exit_code(&self, fail_on: Option<Severity>) -> i32 {
        let failing = fail_on.is_some_and(|threshold| {
            self.vms.iter().flat_map(|vm| &vm.findings).any(|f| {
                f.status == Status::Fail && f.severity <= threshold && f.suppressed.is_none()
            })
        });
        if failing {
            1
        } else if !self.complete {
            3
        } else {
            0
        }
    }
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
            let code_cause = correlation::code_cause(
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
