//! `scan --since-last`: what is new, resolved and persisting since the previous scan in the store.
//! A finding is identified across scans by its fingerprint: the VM id lowercased (ARM echoes ids
//! in varying case) and the rule id. Only failing findings count; a finding that failed last time
//! and is unknown now, or whose VM this scan did not see, is `undecided`, not resolved, because
//! unknown is not pass.

use crate::outcome::{
    Change, Changes, Finding, PreviousFinding, PreviousScan, Report, Status, VmReport,
};
use std::collections::{BTreeMap, BTreeSet};

type Fingerprint = (String, String);

fn fingerprint(vm_id: &str, rule: &str) -> Fingerprint {
    (vm_id.to_ascii_lowercase(), rule.to_string())
}

/// A finding of `vm` as the store keeps a failing one for the next scan to compare with.
fn kept(vm: &VmReport, finding: &Finding) -> PreviousFinding {
    PreviousFinding {
        vm_id: vm.id.clone(),
        vm_name: vm.name.clone(),
        rule: finding.rule.clone(),
        cause: finding.cause.as_str().to_string(),
        severity: finding.severity.as_str().to_string(),
        message: finding.message.clone(),
    }
}

fn change(finding: PreviousFinding, reason: Option<&str>) -> Change {
    Change {
        vm: finding.vm_name,
        vm_id: finding.vm_id,
        rule: finding.rule,
        cause: finding.cause,
        severity: finding.severity,
        message: finding.message,
        reason: reason.map(str::to_string),
    }
}

pub fn between(
    previous: Option<PreviousScan>,
    before: Vec<PreviousFinding>,
    report: &Report,
) -> Changes {
    let mut failing_now: BTreeMap<Fingerprint, Change> = BTreeMap::new();
    let mut unknown_now: BTreeSet<Fingerprint> = BTreeSet::new();
    let vms_now: BTreeSet<String> = report
        .vms
        .iter()
        .map(|vm| vm.id.to_ascii_lowercase())
        .collect();
    for vm in &report.vms {
        for finding in &vm.findings {
            let key = fingerprint(&vm.id, &finding.rule);
            match finding.status {
                Status::Fail => {
                    failing_now.insert(key, change(kept(vm, finding), None));
                }
                Status::Unknown => {
                    unknown_now.insert(key);
                }
                Status::Pass => {}
            }
        }
    }
    let before: BTreeMap<Fingerprint, PreviousFinding> = before
        .into_iter()
        .map(|f| (fingerprint(&f.vm_id, &f.rule), f))
        .collect();
    let mut changes = Changes {
        previous,
        new: Vec::new(),
        resolved: Vec::new(),
        persisting: Vec::new(),
        undecided: Vec::new(),
    };
    let still_failing: BTreeSet<Fingerprint> = failing_now.keys().cloned().collect();
    for (key, change) in failing_now {
        if before.contains_key(&key) {
            changes.persisting.push(change);
        } else {
            changes.new.push(change);
        }
    }
    for (key, old) in before {
        if still_failing.contains(&key) {
            continue;
        }
        let reason = if !vms_now.contains(&key.0) {
            Some("the VM is not in this scan (deleted, moved, or not read)")
        } else if unknown_now.contains(&key) {
            Some("the rule could not be decided in this scan")
        } else {
            None
        };
        let change = change(old, reason);
        match reason {
            Some(_) => changes.undecided.push(change),
            None => changes.resolved.push(change),
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::CodeBook;
    use crate::engine::{Engine, RuleSet};

    fn demo_report() -> Report {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let inventory =
            crate::source::snapshot::load_layers(&[root.join("fixtures/fleets/demo")]).unwrap();
        crate::commands::scan::evaluate(
            &inventory,
            &Engine::new(RuleSet::load(&[]).unwrap()),
            &CodeBook::builtin().unwrap(),
            &crate::resolve::Options::default(),
        )
    }

    fn failing(report: &Report) -> Vec<PreviousFinding> {
        report
            .vms
            .iter()
            .flat_map(|vm| {
                vm.findings
                    .iter()
                    .filter(|f| f.status == Status::Fail)
                    .map(move |f| PreviousFinding {
                        // Upper case: the fingerprint must not depend on ARM's casing.
                        vm_id: vm.id.to_ascii_uppercase(),
                        ..kept(vm, f)
                    })
            })
            .collect()
    }

    #[test]
    fn the_same_failures_again_all_persist() {
        let report = demo_report();
        let before = failing(&report);
        let changes = between(None, before.clone(), &report);
        assert_eq!(changes.persisting.len(), before.len());
        assert!(changes.new.is_empty() && changes.resolved.is_empty());
        assert!(changes.undecided.is_empty());
    }

    #[test]
    fn without_a_previous_scan_every_failure_is_new() {
        let report = demo_report();
        let changes = between(None, Vec::new(), &report);
        assert_eq!(changes.new.len(), failing(&report).len());
        assert!(changes.persisting.is_empty());
    }

    #[test]
    fn a_failure_gone_from_a_vm_still_scanned_is_resolved_and_others_are_undecided() {
        let report = demo_report();
        let mut before = failing(&report);
        let dropped = before.remove(0);
        let healthy = report
            .vms
            .iter()
            .find(|vm| vm.findings.is_empty())
            .expect("the demo fleet has a VM with no failing or unknown finding");
        let template = before[0].clone();
        before.push(PreviousFinding {
            vm_id: healthy.id.clone(),
            vm_name: healthy.name.clone(),
            rule: "agent/not-ready".into(),
            ..template.clone()
        });
        before.push(PreviousFinding {
            vm_id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/gone".into(),
            vm_name: "gone".into(),
            ..template.clone()
        });
        let (vm, unknown) = report
            .vms
            .iter()
            .find_map(|vm| {
                vm.findings
                    .iter()
                    .find(|f| f.status == Status::Unknown)
                    .map(|f| (vm, f))
            })
            .expect("the demo fleet has an unknown finding");
        before.push(PreviousFinding {
            vm_id: vm.id.clone(),
            vm_name: vm.name.clone(),
            rule: unknown.rule.clone(),
            ..template
        });

        let changes = between(
            Some(PreviousScan {
                id: 1,
                time: "t".into(),
            }),
            before,
            &report,
        );
        assert_eq!(changes.new.len(), 1);
        assert_eq!(changes.new[0].rule, dropped.rule);
        assert_eq!(changes.resolved.len(), 1);
        assert_eq!(changes.resolved[0].vm, healthy.name);
        let reasons: Vec<&str> = changes
            .undecided
            .iter()
            .map(|c| c.reason.as_deref().unwrap())
            .collect();
        assert_eq!(changes.undecided.len(), 2, "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("not in this scan")));
        assert!(reasons.iter().any(|r| r.contains("could not be decided")));
    }
}
