//! The CI gate (DESIGN §1, "CI gate on infrastructure changes"): a Terraform plan or an ARM
//! what-if is laid over the baseline snapshot, the rules run on both, and the gate reports what
//! the change breaks (regressions, with the changes that caused them), what it makes unknown and
//! what it fixes.

pub mod console;
pub mod overlay;

use crate::codes::CodeBook;
use crate::engine::eval::Status;
use crate::engine::{Cause, Engine, Finding, Severity};
use crate::error::InputError;
use crate::inventory::id::is_within;
use crate::inventory::{key, Inventory};
use crate::report::{Report, VmReport};
use crate::resolve::{self, Index, Options};
use crate::source::change::{Change, ChangeSet};
use crate::suppress::{Expired, Suppressions};
use overlay::RawSnapshot;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

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
    pub caused_by: Vec<Cause_>,
    /// Changes on the VM's path whose values are known only after apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub known_after_apply: Vec<KnownAfterApply>,
}

/// A change named as the cause of a regression.
#[derive(Debug, Clone, Serialize)]
pub struct Cause_ {
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
    pub fixed_by: Vec<Cause_>,
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

pub struct GateRun<'a> {
    pub baseline: &'a [PathBuf],
    pub changes: ChangeSet,
    pub engine: &'a Engine,
    pub codes: &'a CodeBook,
    pub options: &'a Options,
    pub suppressions: Option<&'a Suppressions>,
    pub fail_on: Option<Severity>,
}

pub fn run(gate: GateRun, before: Inventory) -> Result<GateReport, InputError> {
    let mut raw = if gate.baseline.is_empty() {
        RawSnapshot::without_baseline(&gate.changes.subscriptions)
    } else {
        RawSnapshot::read(gate.baseline)?
    };
    raw.apply(&gate.changes);
    let mut warnings = std::mem::take(&mut raw.notes);
    let after = raw.into_inventory()?;
    let before_report = crate::scan(&before, gate.engine, gate.codes, gate.options);
    let mut after_report = crate::scan(&after, gate.engine, gate.codes, gate.options);
    let mut paths = backup_paths(&before, gate.codes, gate.options);
    for (vm, ids) in backup_paths(&after, gate.codes, gate.options) {
        paths.entry(vm).or_default().extend(ids);
    }
    if gate.baseline.is_empty() && after_report.vms.is_empty() {
        warnings.push("the plan holds no virtual machine and no --baseline was given: nothing could be evaluated".into());
    }
    let expired = match gate.suppressions {
        Some(s) => {
            s.apply_to_report(&mut after_report);
            s.expired()
        }
        None => Vec::new(),
    };
    let mut report = diff(&gate.changes, &before_report, after_report, &paths);
    if let Some(suppressions) = gate.suppressions {
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
    report.file = gate.changes.file.display().to_string();
    report.source = gate.changes.kind;
    report.baseline = (!gate.baseline.is_empty()).then(|| {
        gate.baseline
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    });
    report.unmapped = gate.changes.unmapped.clone();
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

impl GateReport {
    /// 1: an unsuppressed regression at or above `--fail-on`, or an expired suppression (unless
    /// `--fail-on never`); 3: the change makes something unknown, or nothing could be evaluated;
    /// else 0.
    pub fn exit_code(&self) -> i32 {
        let Some(threshold) = self.fail_on else {
            return 0;
        };
        let counts =
            |r: &&Regression| r.finding.suppressed.is_none() && r.finding.severity <= threshold;
        if !self.expired_suppressions.is_empty() || self.regressions.iter().any(|r| counts(&r)) {
            1
        } else if self.unknown.iter().any(|r| counts(&r)) || self.summary.vms_evaluated == 0 {
            3
        } else {
            0
        }
    }
}

/// For each VM (by key), the ids of the resources its backup depends on.
fn backup_paths(
    inventory: &Inventory,
    codes: &CodeBook,
    options: &Options,
) -> HashMap<String, BTreeSet<String>> {
    let index = Index::new(inventory, codes, options);
    let mut out = HashMap::new();
    for vm in inventory.vms.values() {
        let facts = resolve::resolve_vm(&index, vm);
        let mut ids: BTreeSet<String> = BTreeSet::new();
        let mut add = |id: &str| {
            if !id.is_empty() {
                ids.insert(key(id));
            }
        };
        add(&facts.id);
        if let Some(network) = &facts.network {
            for id in [&network.nic, &network.subnet, &network.vnet] {
                add(id);
            }
            // The facts name the route table; the subnet has its id.
            if let Some(table) = inventory
                .subnets
                .get(&key(&network.subnet))
                .and_then(|s| s.properties.route_table.as_ref())
                .and_then(|r| r.id.as_deref())
            {
                add(table);
            }
            for id in [&network.nic_nsg, &network.subnet_nsg, &network.route_table]
                .into_iter()
                .flatten()
            {
                add(id);
            }
            for check in &network.private_dns {
                add(&check.private_endpoint_id);
                if let Some(zone) = &check.zone_id {
                    add(zone);
                }
            }
        }
        for disk in facts.disks.iter().flatten() {
            if let Some(id) = &disk.id {
                add(id);
                if let Some(des) = inventory
                    .disks
                    .get(&key(id))
                    .and_then(|d| d.properties.encryption.as_ref())
                    .and_then(|e| e.disk_encryption_set_id.as_deref())
                {
                    add(des);
                }
            }
        }
        for vault in &facts.encryption.key_vaults {
            add(&vault.id);
        }
        if let Some(item) = &facts.protection.item_id {
            add(item);
            if let Some(policy) = inventory
                .protected_items
                .get(&key(item))
                .and_then(|i| i.properties.policy_id.as_deref())
            {
                add(policy);
            }
        }
        if let Some(vault) = &facts.protection.vault_id {
            add(vault);
        }
        if let Some(locks) = &facts.locks {
            for lock in locks
                .subscription
                .iter()
                .chain(&locks.resource_group)
                .chain(&locks.vm)
                .chain(locks.restore_point_rg.iter().flatten())
            {
                add(&lock.id);
            }
        }
        for denial in facts.policy_denials.iter().flatten() {
            add(&denial.assignment_id);
        }
        for namespace in facts.providers.iter().flat_map(|p| p.keys()) {
            add(&format!(
                "/subscriptions/{}/providers/{namespace}",
                facts.subscription
            ));
        }
        out.insert(key(&facts.id), ids);
    }
    out
}

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

fn touches(change: &Change, ids: &BTreeSet<String>) -> bool {
    change
        .touched()
        .iter()
        .any(|t| ids.iter().any(|id| is_within(t, id) || is_within(id, t)))
}

/// The changes that explain a finding moving: those touching the finding's resources, else
/// those on the VM's path in the finding's layer, else any on the VM's path.
fn causes(changes: &[Change], finding: &Finding, path: &BTreeSet<String>) -> Vec<Cause_> {
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
    chosen
        .into_iter()
        .map(|c| Cause_ {
            address: c.address.clone(),
            action: c.action.as_str(),
            id: c.id.clone(),
            line: c.line,
        })
        .collect()
}

fn status_name(status: Option<Status>) -> &'static str {
    match status {
        None => "absent",
        Some(Status::Pass) => "pass",
        Some(Status::Fail) => "fail",
        Some(Status::Unknown) => "unknown",
    }
}

/// A finding that failed before and still fails, now also because of resources the change
/// touches (a second NSG denying the path): fixing the old cause no longer fixes backup.
fn newly_implicated(
    changes: &ChangeSet,
    old: Option<&&VmReport>,
    vm: &VmReport,
    finding: &Finding,
    path: &BTreeSet<String>,
) -> Option<Regression> {
    let before = old?.findings.iter().find(|f| f.rule == finding.rule)?;
    let known: BTreeSet<String> = before.resources.iter().map(|r| key(r)).collect();
    let added: BTreeSet<String> = finding
        .resources
        .iter()
        .map(|r| key(r))
        .filter(|r| !known.contains(r))
        .collect();
    let caused_by: Vec<Cause_> = changes
        .changes
        .iter()
        .filter(|c| touches(c, &added))
        .map(|c| Cause_ {
            address: c.address.clone(),
            action: c.action.as_str(),
            id: c.id.clone(),
            line: c.line,
        })
        .collect();
    let _ = path;
    (!caused_by.is_empty()).then(|| Regression {
        vm_id: vm.id.clone(),
        vm_name: vm.name.clone(),
        before: "fail",
        finding: finding.clone(),
        caused_by,
        known_after_apply: Vec::new(),
    })
}

fn diff(
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
                    if let Some(entry) = newly_implicated(changes, old, vm, finding, path) {
                        regressions.push(entry);
                    }
                }
                continue;
            }
            let entry = Regression {
                vm_id: vm.id.clone(),
                vm_name: vm.name.clone(),
                before: status_name(was),
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
        },
        changes: changes.changes.clone(),
        unmapped: Vec::new(),
        regressions,
        unknown,
        fixes,
        verdicts,
        expired_suppressions: Vec::new(),
        warnings: Vec::new(),
        after,
        fail_on: None,
    }
}
