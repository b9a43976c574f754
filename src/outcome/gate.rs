//! The result of the CI gate (`backup-doctor/gate/v1`): what a change breaks (regressions, with
//! the changes that caused them), what it makes unknown, what it fixes, and which suppressions
//! expired.

use super::finding::{Finding, Status};
use super::scan::Report;
use super::vocabulary::{Cause, Severity};
use crate::inventory::reading::SkipGroup;
use crate::inventory::references::Dangling;
use crate::source::change::{Change, FileNote, NotEvaluated};
use serde::Serialize;

pub const SCHEMA: &str = "backup-doctor/gate/v1";

#[derive(Debug, Serialize)]
pub struct GateReport {
    pub schema: &'static str,
    /// `pass`, `fail` or `incomplete`, the way the exit code reads it.
    pub result: &'static str,
    /// `terraform` or `what-if`.
    pub source: &'static str,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    pub summary: GateSummary,
    pub changes: Vec<Change>,
    /// Changed resources of types the gate does not map: not evaluated.
    pub unmapped: Vec<String>,
    /// Changes the file lists that could not be laid over the baseline (no `after`, no resource
    /// id, what-if could not predict them), each with the reason. One of a type the gate maps
    /// (`mapped`) makes the run incomplete.
    pub not_evaluated: Vec<NotEvaluated>,
    /// What the change file says besides its changes (what-if diagnostics), shown as given.
    pub notes: Vec<FileNote>,
    /// Findings the change makes fail.
    pub regressions: Vec<Regression>,
    /// Findings the change makes impossible to decide before apply.
    pub unknown: Vec<Regression>,
    /// Findings failing before the change and passing after it.
    pub fixes: Vec<Fix>,
    pub verdicts: Vec<VerdictChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expired_suppressions: Vec<Expired>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The objects of the baseline and the change that were not used, as a scan reports them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkipGroup>,
    /// References (after the change) to resources neither the baseline nor the change holds,
    /// as a scan reports them: each makes the run incomplete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dangling_references: Vec<Dangling>,
    /// The report after the change, for renderers that list every VM and rule.
    #[serde(skip)]
    pub after: Report,
    #[serde(skip)]
    pub fail_on: Option<Severity>,
}

#[derive(Debug, Serialize)]
pub struct GateSummary {
    pub changes: usize,
    pub vms_evaluated: usize,
    /// VMs with a changed resource on their backup path.
    pub vms_affected: usize,
    pub regressions: usize,
    pub unknown: usize,
    pub fixes: usize,
    pub suppressed: usize,
    /// Changes listed but not evaluated, of any type.
    pub not_evaluated: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Regression {
    pub vm_id: String,
    pub vm_name: String,
    /// The finding's status before the change: `pass`, `unknown`, or `absent` (a VM the
    /// baseline does not have).
    pub before: &'static str,
    pub finding: Finding,
    /// The changes that caused it.
    pub caused_by: Vec<CausingChange>,
    /// Changes on the VM's path whose values are known only after apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub known_after_apply: Vec<KnownAfterApply>,
}

/// A change named as the cause of a regression.
#[derive(Debug, Clone, Serialize)]
pub struct CausingChange {
    pub address: String,
    pub action: &'static str,
    pub id: String,
    #[serde(skip)]
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KnownAfterApply {
    pub address: String,
    pub attributes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    pub vm_id: String,
    pub vm_name: String,
    pub rule: String,
    pub cause: Cause,
    pub severity: Severity,
    /// What failed before the change.
    pub message: String,
    pub fixed_by: Vec<CausingChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerdictChange {
    pub vm_id: String,
    pub vm_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause_after: Option<Cause>,
}

/// A suppression past its date.
#[derive(Debug, Clone, Serialize)]
pub struct Expired {
    pub rule: String,
    pub resource: String,
    pub justification: String,
    pub expires: String,
    pub file: String,
}

impl GateReport {
    /// 1: an unsuppressed regression at or above `--fail-on`, or an expired suppression (unless
    /// `--fail-on never`); 3: the change makes something unknown, a change of a type the gate
    /// maps could not be evaluated, references name resources the input does not hold, or
    /// nothing could be evaluated; else 0.
    pub fn exit_code(&self) -> i32 {
        let Some(threshold) = self.fail_on else {
            return 0;
        };
        let counts =
            |r: &&Regression| r.finding.suppressed.is_none() && r.finding.severity <= threshold;
        if !self.expired_suppressions.is_empty() || self.regressions.iter().any(|r| counts(&r)) {
            1
        } else if self.unknown.iter().any(|r| counts(&r))
            || self.not_evaluated.iter().any(|n| n.mapped)
            || !self.dangling_references.is_empty()
            || self.summary.vms_evaluated == 0
        {
            3
        } else {
            0
        }
    }
}
