//! Comparing the reports before and after a change: which findings the change makes fail or
//! undecidable (and which changes caused each), which it fixes, and whose verdict moves.

use crate::inventory::id::is_within;
use crate::inventory::key;
use crate::outcome::gate::{
    CausingChange, Fix, GateSummary, KnownAfterApply, VerdictChange, SCHEMA,
};
use crate::outcome::{Cause, Finding, GateReport, Regression, Report, Status, VmReport};
use crate::source::change::{Change, ChangeSet};
use std::collections::{BTreeSet, HashMap};

/// The pipeline layers a change to a resource of this id can move.
fn layers_of(id: &str) -> &'static [Cause] {
    let lower = id.to_ascii_lowercase();
    if lower.contains("/providers/microsoft.network/") {
        &[Cause::Network]
    } else if lower.contains("/providers/microsoft.keyvault/")
        || lower.contains("/diskencryptionsets/")
    {
        &[Cause::Encryption]
    } else if lower.contains("/providers/microsoft.recoveryservices/") {
        &[Cause::Vault, Cause::Snapshot, Cause::Network]
    } else if lower.contains("/providers/microsoft.authorization/locks/")
        || lower.contains("/disks/")
    {
        &[Cause::Snapshot, Cause::Encryption]
    } else if lower.contains("/virtualmachines/") {
        &[
            Cause::Agent,
            Cause::Extension,
            Cause::Vss,
            Cause::Fsfreeze,
            Cause::Snapshot,
            Cause::Encryption,
        ]
    } else {
        &[Cause::Snapshot]
    }
}

fn causing(change: &Change) -> CausingChange {
    CausingChange {
        address: change.address.clone(),
        action: change.action.as_str(),
        id: change.id.clone(),
        line: change.line,
    }
}

fn touches(change: &Change, ids: &BTreeSet<String>) -> bool {
    change
        .touched()
        .iter()
        .any(|t| ids.iter().any(|id| is_within(t, id) || is_within(id, t)))
}

/// The changes that explain a finding moving: those touching the finding's resources, else
/// those on the VM's path in the finding's layer, else any on the VM's path.
fn causes(changes: &[Change], finding: &Finding, path: &BTreeSet<String>) -> Vec<CausingChange> {
    let resources: BTreeSet<String> = finding.resources.iter().map(|r| key(r)).collect();
    // The VM itself is listed by most rules; only the other resources point at a cause.
    let vm_only: BTreeSet<String> = finding
        .resources
        .first()
        .map(|r| key(r))
        .into_iter()
        .collect();
    let direct: Vec<&Change> = changes
        .iter()
        .filter(|c| touches(c, &resources.difference(&vm_only).cloned().collect()))
        .collect();
    let on_path: Vec<&Change> = changes.iter().filter(|c| touches(c, path)).collect();
    let in_layer: Vec<&Change> = on_path
        .iter()
        .copied()
        .filter(|c| {
            c.touched()
                .iter()
                .any(|t| layers_of(t).contains(&finding.cause))
        })
        .collect();
    let chosen = if !direct.is_empty() {
        direct
    } else if !in_layer.is_empty() {
        in_layer
    } else {
        on_path
    };
    chosen.into_iter().map(causing).collect()
}

/// A finding that failed before and still fails, now also because of resources the change
/// touches (a second NSG denying the path): fixing the old cause no longer fixes backup.
fn newly_implicated(
    changes: &ChangeSet,
    old: Option<&&VmReport>,
    vm: &VmReport,
    finding: &Finding,
) -> Option<Regression> {
    let before = old?.findings.iter().find(|f| f.rule == finding.rule)?;
    let known: BTreeSet<String> = before.resources.iter().map(|r| key(r)).collect();
    let added: BTreeSet<String> = finding
        .resources
        .iter()
        .map(|r| key(r))
        .filter(|r| !known.contains(r))
        .collect();
    let caused_by: Vec<CausingChange> = changes
        .changes
        .iter()
        .filter(|c| touches(c, &added))
        .map(causing)
        .collect();
    (!caused_by.is_empty()).then(|| Regression {
        vm_id: vm.id.clone(),
        vm_name: vm.name.clone(),
        before: "fail",
        finding: finding.clone(),
        caused_by,
        known_after_apply: Vec::new(),
    })
}

pub fn diff(
    changes: &ChangeSet,
    before: &Report,
    after: Report,
    paths: &HashMap<String, BTreeSet<String>>,
) -> GateReport {
    let before_vms: HashMap<String, &VmReport> =
        before.vms.iter().map(|vm| (key(&vm.id), vm)).collect();
    let empty = BTreeSet::new();
    let mut regressions = Vec::new();
    let mut unknown = Vec::new();
    let mut fixes = Vec::new();
    let mut verdicts = Vec::new();
    let mut affected = 0;
    for vm in &after.vms {
        let vm_key = key(&vm.id);
        let path = paths.get(&vm_key).unwrap_or(&empty);
        let old = before_vms.get(&vm_key);
        if changes.changes.iter().any(|c| touches(c, path)) {
            affected += 1;
        }
        // Findings only list failing and unknown rules: a rule missing from them passed.
        let old_status = |rule: &str| -> Option<Status> {
            old.map(|vm| {
                vm.findings
                    .iter()
                    .find(|f| f.rule == rule)
                    .map(|f| f.status)
                    .unwrap_or(Status::Pass)
            })
        };
        for finding in &vm.findings {
            let was = old_status(&finding.rule);
            if was == Some(finding.status) {
                if finding.status == Status::Fail {
                    if let Some(entry) = newly_implicated(changes, old, vm, finding) {
                        regressions.push(entry);
                    }
                }
                continue;
            }
            let entry = Regression {
                vm_id: vm.id.clone(),
                vm_name: vm.name.clone(),
                before: was.map_or("absent", Status::as_str),
                finding: finding.clone(),
                caused_by: causes(&changes.changes, finding, path),
                known_after_apply: Vec::new(),
            };
            match finding.status {
                Status::Fail => regressions.push(entry),
                Status::Unknown if was != Some(Status::Fail) => {
                    let mut entry = entry;
                    entry.known_after_apply = changes
                        .changes
                        .iter()
                        .filter(|c| !c.unknown_after_apply.is_empty() && touches(c, path))
                        .map(|c| KnownAfterApply {
                            address: c.address.clone(),
                            attributes: c.unknown_after_apply.clone(),
                        })
                        .collect();
                    unknown.push(entry);
                }
                _ => {}
            }
        }
        if let Some(old) = old {
            for finding in old.findings.iter().filter(|f| f.status == Status::Fail) {
                if !vm.findings.iter().any(|f| f.rule == finding.rule) {
                    fixes.push(Fix {
                        vm_id: vm.id.clone(),
                        vm_name: vm.name.clone(),
                        rule: finding.rule.clone(),
                        cause: finding.cause,
                        severity: finding.severity,
                        message: finding.message.clone(),
                        fixed_by: causes(&changes.changes, finding, path),
                    });
                }
            }
        }
        let before_verdict = old.map(|vm| vm.verdict);
        if before_verdict != Some(vm.verdict) {
            verdicts.push(VerdictChange {
                vm_id: vm.id.clone(),
                vm_name: vm.name.clone(),
                before: before_verdict,
                after: Some(vm.verdict),
                root_cause_after: vm.root_cause,
            });
        }
    }
    for vm in &before.vms {
        if !after.vms.iter().any(|a| key(&a.id) == key(&vm.id)) {
            verdicts.push(VerdictChange {
                vm_id: vm.id.clone(),
                vm_name: vm.name.clone(),
                before: Some(vm.verdict),
                after: None,
                root_cause_after: None,
            });
        }
    }
    GateReport {
        schema: SCHEMA,
        result: "pass",
        source: changes.kind,
        file: String::new(),
        baseline: None,
        summary: GateSummary {
            changes: changes.changes.len(),
            vms_evaluated: after.vms.len(),
            vms_affected: affected,
            regressions: regressions.len(),
            unknown: unknown.len(),
            fixes: fixes.len(),
            suppressed: 0,
            not_evaluated: changes.not_evaluated.len(),
        },
        changes: changes.changes.clone(),
        unmapped: Vec::new(),
        not_evaluated: changes.not_evaluated.clone(),
        notes: changes.notes.clone(),
        regressions,
        unknown,
        fixes,
        verdicts,
        expired_suppressions: Vec::new(),
        warnings: Vec::new(),
        skipped: after.skipped.clone(),
        dangling_references: after.dangling_references.clone(),
        after,
        fail_on: None,
    }
}
