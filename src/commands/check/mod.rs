//! The readiness check (`backup-doctor check`): for VMs not protected yet, "if backup were
//! enabled now with this vault and policy, would the first backup work?". Resolve writes the
//! proposed protection into the facts (`resolve::readiness`) and the same rules judge it, minus
//! those about an existing protection's state and jobs; this module turns each evaluation into
//! an answer: ready, not ready (with the fixes in pipeline order), cannot tell, or already
//! protected.

mod select;

use super::{Judging, Source};
use crate::codes::CodeBook;
use crate::engine::{evaluate_vm, Engine, VmEvaluation};
use crate::error::Error;
use crate::inventory::model::VirtualMachine;
use crate::inventory::references::dangling;
use crate::inventory::Inventory;
use crate::outcome::check::{
    CheckSummary, FixStep, ProposalReport, VaultReport, NOT_CHECKED, SCHEMA,
};
use crate::outcome::{CheckReport, CheckedVm, LayerStatus, Readiness, Severity, Status};
use crate::resolve::fact_path;
use crate::resolve::facts::{ProtectionFacts, VmFacts};
use crate::resolve::readiness::Proposal;
use crate::resolve::{resolve_vm_for, Index, Options};

pub struct CheckOptions {
    pub source: Source,
    pub judging: Judging,
    /// VMs by name or ARM id.
    pub vms: Vec<String>,
    /// Every VM of these resource groups.
    pub resource_groups: Vec<String>,
    /// The vault to enable backup from (id or name); a vault of each VM's region when absent.
    pub vault: Option<String>,
    /// `standard`, `enhanced`, or the name of a backup policy of the vault.
    pub policy: String,
}

pub fn check(options: &CheckOptions) -> Result<CheckReport, Error> {
    let codes = CodeBook::builtin()?;
    let engine = Engine::for_readiness_check(options.judging.rules()?);
    // Job history does not enter a readiness answer; one day keeps a live collection small.
    let inventory = options
        .source
        .load(1, options.judging.backup_service_object_id.clone())?;
    check_loaded(&inventory, &engine, &codes, options)
}

/// The check of `options` on an inventory already read (`options.source` is not read again):
/// `serve` answers checks from its cache of live reads. `engine` is
/// [`Engine::for_readiness_check`].
pub fn check_loaded(
    inventory: &Inventory,
    engine: &Engine,
    codes: &CodeBook,
    options: &CheckOptions,
) -> Result<CheckReport, Error> {
    let backup_service_object_id = options.judging.backup_service_object_id.clone();
    let vms = select::vms(inventory, &options.vms, &options.resource_groups)?;
    let proposal = select::proposal(inventory, options.vault.as_deref(), &options.policy)?;
    let resolve_options = Options {
        backup_service_object_id,
        ..Options::default()
    };
    Ok(evaluate(
        inventory,
        engine,
        codes,
        &resolve_options,
        &proposal,
        &vms,
    ))
}

/// Evaluates `vms` as if `proposal` protected them. `engine` should be
/// [`Engine::for_readiness_check`], which leaves out the rules about existing protections.
pub fn evaluate(
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
    // As in a scan: a reference to what the input does not hold usually means a list was not
    // read, which may be the one an answer depends on.
    let dangling_references = dangling(inventory);
    complete &= dangling_references.is_empty();
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
        skipped: inventory.reading.skipped.values().cloned().collect(),
        dangling_references,
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
            set_protection(&mut vm, protection);
            // A name with its detail in brackets: `rsv-prod (westeurope)`, `Gold (Enhanced)`.
            let named = |name: &Option<String>, detail: &Option<String>| {
                let detail = detail.as_deref().map(|d| format!(" ({d})"));
                format!(
                    "{}{}",
                    name.as_deref().unwrap_or("(unknown)"),
                    detail.unwrap_or_default()
                )
            };
            vm.answer = format!(
                "already protected by vault {} with policy {}; `backup-doctor scan` diagnoses it",
                named(&protection.vault_name, &protection.vault_location),
                named(&protection.policy_name, &protection.policy_type),
            );
        }
        _ => {
            let reason = facts
                .unknown_reason(fact_path::PROTECTION_PROTECTED.as_str())
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

/// The vault and policy that protect the VM, or would protect it.
fn set_protection(vm: &mut CheckedVm, protection: &ProtectionFacts) {
    vm.vault = protection.vault_id.as_ref().map(|id| VaultReport {
        id: id.clone(),
        name: protection.vault_name.clone(),
        location: protection.vault_location.clone(),
    });
    vm.policy = protection.policy_name.clone();
    vm.policy_type = protection.policy_type.clone();
}

fn evaluated(evaluation: VmEvaluation) -> CheckedVm {
    let mut vm = bare(&evaluation.facts);
    set_protection(&mut vm, &evaluation.facts.protection);
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
