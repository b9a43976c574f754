//! The result of a readiness check (`backup-doctor/check/v1`): per VM not protected yet, whether
//! the first backup would work if backup were enabled now with the proposed vault and policy.

use super::finding::{Finding, Layer, Status};
use super::vocabulary::{Cause, Severity};
use crate::inventory::model::Gap;
use crate::inventory::reading::SkipGroup;
use crate::inventory::references::Dangling;
use serde::Serialize;

pub const SCHEMA: &str = "backup-doctor/check/v1";

/// What a readiness check cannot judge from the control plane, said in every report so that
/// "ready" is read for what it covers.
pub const NOT_CHECKED: &[&str] = &[
    "Azure Policy conditions the control plane cannot settle (aliases of the created resource, count expressions, assignment overrides): a deny that depends on them makes the answer 'cannot tell', not 'ready'",
    "guest-only prerequisites (VSS writers, fsfreeze, pre/post scripts, antivirus in the VM): they show only once a backup ran",
];

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub schema: &'static str,
    /// Every fact the selected VMs' answers needed was read.
    pub complete: bool,
    pub proposal: ProposalReport,
    pub gaps: Vec<Gap>,
    pub not_checked: Vec<&'static str>,
    pub summary: CheckSummary,
    pub vms: Vec<CheckedVm>,
    /// The objects of the input that were not used, as the scan report has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkipGroup>,
    /// References to resources the input does not hold, as the scan report has them: each
    /// makes the check incomplete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dangling_references: Vec<Dangling>,
}

#[derive(Debug, Serialize)]
pub struct ProposalReport {
    /// The vault named with `--vault`, or null: each VM takes a vault of its region.
    pub vault: Option<String>,
    /// `standard`, `enhanced` or a policy name.
    pub policy: String,
}

#[derive(Debug, Default, Serialize)]
pub struct CheckSummary {
    pub vms: usize,
    pub ready: usize,
    pub not_ready: usize,
    pub unknown: usize,
    pub already_protected: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readiness {
    Ready,
    NotReady,
    Unknown,
    AlreadyProtected,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::NotReady => "not-ready",
            Readiness::Unknown => "unknown",
            Readiness::AlreadyProtected => "already-protected",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct VaultReport {
    pub id: String,
    pub name: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FixStep {
    pub rule: String,
    pub cause: Cause,
    pub message: String,
    pub remediation: String,
}

#[derive(Debug, Serialize)]
pub struct CheckedVm {
    pub id: String,
    pub name: String,
    pub subscription: String,
    pub resource_group: String,
    pub location: Option<String>,
    pub os: Option<String>,
    pub status: Readiness,
    /// The answer in one sentence: "ready", "not ready because …, fix in this order: …",
    /// "cannot tell: …" or "already protected by …".
    pub answer: String,
    /// The vault that would protect the VM (or protects it already).
    pub vault: Option<VaultReport>,
    pub policy: Option<String>,
    /// `Standard` or `Enhanced`.
    pub policy_type: Option<String>,
    pub root_cause: Option<Cause>,
    /// Layer statuses as in the scan report; empty for a VM already protected.
    pub layers: Vec<Layer>,
    /// Failing and undecided findings in pipeline order, the scan report's finding objects.
    pub findings: Vec<Finding>,
    /// The failing `error` findings, root cause first: the order to fix them in.
    pub fix_order: Vec<FixStep>,
}

impl CheckReport {
    /// The exit-code contract (docs/cli.md#exit-codes): 1 when a finding at or above `fail_on` fails for a VM to be protected, else 3
    /// when some answer could not be decided, else 0. Already protected VMs count for nothing.
    pub fn exit_code(&self, fail_on: Option<Severity>) -> i32 {
        let failing = fail_on.is_some_and(|threshold| {
            self.vms
                .iter()
                .flat_map(|vm| &vm.findings)
                .any(|f| f.status == Status::Fail && f.severity <= threshold)
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
