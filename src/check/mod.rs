//! The readiness check (`backup-doctor check`): for VMs not protected yet, "if backup were
//! enabled now with this vault and policy, would the first backup work?". Resolve writes the
//! proposed protection into the facts (`resolve::readiness`) and the same rules judge it, minus
//! those about an existing protection's state and jobs; this module turns each evaluation into
//! an answer: ready, not ready (with the fixes in pipeline order), cannot tell, or already
//! protected.

pub mod render;
pub mod select;

use crate::codes::CodeBook;
use crate::engine::eval::{LayerStatus, Status, VmEvaluation};
use crate::engine::{evaluate_vm, Cause, Engine, Finding, Layer, Severity};
use crate::inventory::model::{Gap, VirtualMachine};
use crate::inventory::Inventory;
use crate::resolve::facts::VmFacts;
use crate::resolve::readiness::Proposal;
use crate::resolve::{resolve_vm_for, Index, Options};
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

/// Evaluates `vms` as if `proposal` protected them. `engine` should be
/// [`Engine::for_readiness_check`], which leaves out the rules about existing protections.
pub fn check(
    inventory: &Inventory,
    engine: &Engine,
    codes: &CodeBook,
    options: &Options,
    proposal: &Proposal,
    vms: &[&VirtualMachine],
) -> CheckReport {
    let index = Index::new(inventory, codes, options);
    let checked = crate::parallel::map(vms, |vm| {
        let facts = resolve_vm_for(&index, vm, Some(proposal));
        answer(engine, facts)
    });
    let mut summary = CheckSummary {
        vms: checked.len(),
        ..CheckSummary::default()
    };
    let mut complete = true;
    for vm in &checked {
        match vm.status {
            Readiness::Ready => summary.ready += 1,
            Readiness::NotReady => summary.not_ready += 1,
            Readiness::Unknown => summary.unknown += 1,
            Readiness::AlreadyProtected => summary.already_protected += 1,
        }
        complete &= vm.status != Readiness::Unknown
            && !vm.findings.iter().any(|f| f.status == Status::Unknown)
            && !vm.layers.iter().any(|l| l.status == LayerStatus::Unknown);
    }
    CheckReport {
        schema: SCHEMA,
        complete,
        proposal: ProposalReport {
            vault: proposal.vault.clone(),
            policy: proposal.policy.label(),
        },
        gaps: inventory.gaps().to_vec(),
        not_checked: NOT_CHECKED.to_vec(),
        summary,
        vms: checked,
    }
}

impl CheckReport {
    /// DESIGN §4: 1 when a finding at or above `fail_on` fails for a VM to be protected, else 3
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

fn answer(engine: &Engine, facts: VmFacts) -> CheckedVm {
    if facts.readiness.is_some() {
        return evaluated(evaluate_vm(engine, facts));
    }
    let mut vm = bare(&facts);
    match facts.protection.protected {
        Some(true) => {
            let protection = &facts.protection;
            vm.status = Readiness::AlreadyProtected;
            vm.vault = protection.vault_id.as_ref().map(|id| VaultReport {
                id: id.clone(),
                name: protection.vault_name.clone(),
                location: protection.vault_location.clone(),
            });
            vm.policy = protection.policy_name.clone();
            vm.policy_type = protection.policy_type.clone();
            vm.answer = format!(
                "already protected by vault {}{} with policy {}{}; `backup-doctor scan` diagnoses it",
                protection.vault_name.as_deref().unwrap_or("(unknown)"),
                protection
                    .vault_location
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default(),
                protection.policy_name.as_deref().unwrap_or("(unknown)"),
                protection
                    .policy_type
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default(),
            );
        }
        _ => {
            let reason = facts
                .unknown_reason("vm.protection.protected")
                .map(|(_, reason)| reason)
                .unwrap_or("the VM's protected items were not read");
            vm.status = Readiness::Unknown;
            vm.answer = format!("cannot tell whether the VM is already protected: {reason}");
        }
    }
    vm
}

fn bare(facts: &VmFacts) -> CheckedVm {
    CheckedVm {
        id: facts.id.clone(),
        name: facts.name.clone(),
        subscription: facts.subscription.clone(),
        resource_group: facts.resource_group.clone(),
        location: facts.location.clone(),
        os: facts.os.clone(),
        status: Readiness::Unknown,
        answer: String::new(),
        vault: None,
        policy: None,
        policy_type: None,
        root_cause: None,
        layers: Vec::new(),
        findings: Vec::new(),
        fix_order: Vec::new(),
    }
}

fn evaluated(evaluation: VmEvaluation) -> CheckedVm {
    let mut vm = bare(&evaluation.facts);
    let protection = &evaluation.facts.protection;
    vm.vault = protection.vault_id.as_ref().map(|id| VaultReport {
        id: id.clone(),
        name: protection.vault_name.clone(),
        location: protection.vault_location.clone(),
    });
    vm.policy = protection.policy_name.clone();
    vm.policy_type = protection.policy_type.clone();
    vm.root_cause = evaluation.root_cause;
    vm.status = match evaluation.verdict {
        Status::Pass => Readiness::Ready,
        Status::Fail => Readiness::NotReady,
        Status::Unknown => Readiness::Unknown,
    };
    vm.findings = evaluation
        .findings
        .into_iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    vm.fix_order = vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.severity == Severity::Error)
        .map(|f| FixStep {
            rule: f.rule.clone(),
            cause: f.cause,
            message: f.message.clone(),
            remediation: f.remediation.clone(),
        })
        .collect();
    vm.layers = evaluation.layers;
    vm.answer = sentence(&vm);
    vm
}

/// The one-sentence answer of an evaluated VM.
fn sentence(vm: &CheckedVm) -> String {
    let undecided = undecided(vm);
    match vm.status {
        Readiness::Ready => {
            let warnings: Vec<&str> = vm
                .findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .map(|f| f.rule.as_str())
                .collect();
            if warnings.is_empty() {
                "ready".into()
            } else {
                format!("ready (warnings: {})", warnings.join(", "))
            }
        }
        Readiness::NotReady => {
            let because = vm
                .fix_order
                .iter()
                .map(|step| format!("{} [{}]", step.message, step.rule))
                .collect::<Vec<_>>()
                .join("; ");
            let order = vm
                .fix_order
                .iter()
                .enumerate()
                .map(|(i, step)| format!("{}. {} ({})", i + 1, step.rule, step.cause.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut text = format!("not ready because {because}, fix in this order: {order}");
            if !undecided.is_empty() {
                text.push_str(&format!("; also cannot tell: {}", undecided.join("; ")));
            }
            text
        }
        Readiness::Unknown => format!("cannot tell: {}", undecided.join("; ")),
        // Evaluated VMs are never protected ones; the arm only completes the match.
        Readiness::AlreadyProtected => "already protected".into(),
    }
}

/// What keeps a layer undecided: the facts its `error` rules could not read (each once), and
/// layers no rule evaluates.
fn undecided(vm: &CheckedVm) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for finding in vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Unknown && f.severity == Severity::Error)
    {
        for fact in &finding.unknown_facts {
            let text = format!("{} ({})", fact.fact, fact.reason);
            if !out.contains(&text) {
                out.push(text);
            }
        }
    }
    for layer in vm
        .layers
        .iter()
        .filter(|l| l.status == LayerStatus::Unknown)
    {
        if let Some(reason) = &layer.reason {
            out.push(format!("{} layer ({reason})", layer.cause.as_str()));
        }
    }
    out
}
