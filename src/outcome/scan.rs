//! The report of a scan (docs/json-report.md): per VM the verdict, the layer statuses, the failing and
//! unknown findings and the failed jobs; a fleet summary; and whether every fact was read.

use super::attribution::Attribution;
use super::changes::Changes;
use super::correlation::Correlation;
use super::finding::{Finding, Layer, LayerStatus, Status};
use super::recovery::{Recovery, TimeLeft};
use super::vocabulary::{Cause, Severity};
use crate::inventory::model::Gap;
use crate::inventory::reading::SkipGroup;
use crate::inventory::references::Dangling;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA: &str = "backup-doctor/report/v1";

/// Subscription display names by subscription id (any case).
pub type SubscriptionNames = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Read back as this build's schema; the store checks the stored one first.
    #[serde(skip_deserializing, default = "report_schema")]
    pub schema: &'static str,
    pub complete: bool,
    pub gaps: Vec<Gap>,
    pub summary: Summary,
    pub vms: Vec<VmReport>,
    /// When the data was read (the snapshot's creation time), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_created: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The objects of the input that were not used, by reason, with the first places of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkipGroup>,
    /// References to resources the input does not hold, by the kind they name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dangling_references: Vec<Dangling>,
    /// Why the run is incomplete besides its gaps and its undecided checks: the input held no VM
    /// at all, or references name resources it does not hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete_because: Vec<String>,
    /// What changed since the previous stored scan (`scan --store FILE --since-last`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// The Azure changes that can explain failing findings (docs/change-attribution.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
    /// The names of the subscriptions read, for labels; renderers show ids where none is known.
    #[serde(skip)]
    pub subscription_names: SubscriptionNames,
}

fn report_schema() -> &'static str {
    SCHEMA
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub vms: usize,
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
    #[serde(deserialize_with = "super::vocabulary::cause_keys")]
    pub by_root_cause: BTreeMap<&'static str, usize>,
    /// Failed jobs in the window, and how many a predicted finding explains.
    pub failed_jobs: usize,
    pub failed_jobs_explained: usize,
    /// Failed jobs against predictions, per cause of the job's code (`correlation.rs`).
    pub correlation: Correlation,
    /// Failing protected VMs by the hours left before their recovery point is older than their
    /// policy promises, least first (docs/recovery-points.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_left: Vec<TimeLeft>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmReport {
    pub id: String,
    pub name: String,
    pub verdict: Status,
    pub root_cause: Option<Cause>,
    pub layers: Vec<Layer>,
    /// Failing and unknown findings, in pipeline order (passes are left out).
    pub findings: Vec<Finding>,
    pub failed_jobs: Vec<FailedJobReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub subscription: String,
    pub resource_group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Workloads backed up from inside the VM (`SQL Server`, `SAP HANA`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_state: Option<String>,
    /// Recovery-point age, the policy's promise and the forecast, for a protected VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// The VM's Azure tags. Not part of the JSON report (docs/json-report.md): the store keeps
    /// them beside it for filtering (`Store::vms`) and gives them back with a stored report.
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedJobReport {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobCode {
    pub code: String,
    pub cause: Cause,
    pub summary: String,
}

impl Report {
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

    /// The exit-code contract (docs/cli.md#exit-codes): 1 when a finding at or above `fail_on` fails, else 3 when incomplete, else 0.
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
