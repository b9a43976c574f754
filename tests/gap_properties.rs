//! A gap never improves a verdict. Removing lists from the demo fleet and declaring them gaps in
//! `snapshot.json` is exactly what a 403 on those lists produces; whatever was failing or
//! unknown before must not read `pass` after. A list is one ARM type in one subscription's folder
//! (or the tenant's), or one whole file (every type it holds becomes a gap); a VM's instance view
//! is a list of its own (`Microsoft.Compute/virtualMachines/instanceView`), taken out of the VM
//! objects. Every list alone is tried in order; proptest then tries sets of them and shrinks a
//! counterexample to the smallest set. `GAP_PROPERTIES_CASES` raises the number of sets.

use backup_doctor::codes::CodeBook;
use backup_doctor::engine::{Engine, RuleSet};
use backup_doctor::inventory::registry::Shape;
use backup_doctor::inventory::types;
use backup_doctor::outcome::{LayerStatus, Report, Status};
use backup_doctor::resolve::Options;
use backup_doctor::source::snapshot;
use backup_doctor_testkit::fixtures::demo;
use backup_doctor_testkit::snapshot_edit::{self, Fleet, Missing};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

fn fleet() -> &'static Fleet {
    static FLEET: OnceLock<Fleet> = OnceLock::new();
    FLEET.get_or_init(|| Fleet::read(&demo()))
}

/// The gap name of a type-less object (a Graph service principal).
fn typeless(item: &Value) -> Option<String> {
    let kind = Shape::recognise(item.as_object()?)?;
    Some(
        kind.descriptor()
            .arm_type
            .unwrap_or(types::SERVICE_PRINCIPALS)
            .to_string(),
    )
}

fn candidates() -> Vec<Missing> {
    snapshot_edit::lists(fleet(), &typeless)
}

/// The demo fleet without `missing`, with a manifest declaring each as a gap.
fn without(missing: &[Missing]) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot_edit::without(fleet(), missing, &typeless)
}

fn scan(files: &[(PathBuf, Vec<u8>)]) -> Report {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| Engine::new(RuleSet::load(&[]).expect("rules load")));
    let inventory = snapshot::load_files(files).unwrap_or_else(|e| panic!("{e}"));
    let codes = CodeBook::builtin().expect("built-in error codes load");
    backup_doctor::commands::scan::evaluate(&inventory, engine, &codes, &Options::default())
}

fn baseline() -> &'static Report {
    static BASELINE: OnceLock<Report> = OnceLock::new();
    BASELINE.get_or_init(|| scan(&without(&[])))
}

/// Every verdict and layer that was not `pass` and now is.
fn improvements(after: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for vm in &after.vms {
        let Some(before) = baseline().vms.iter().find(|b| b.id == vm.id) else {
            continue;
        };
        if before.verdict != Status::Pass && vm.verdict == Status::Pass {
            out.push(format!("{}: verdict {:?} → pass", vm.name, before.verdict));
        }
        for layer in &vm.layers {
            let was = before
                .layers
                .iter()
                .find(|l| l.cause == layer.cause)
                .unwrap();
            if matches!(was.status, LayerStatus::Fail | LayerStatus::Unknown)
                && layer.status == LayerStatus::Pass
            {
                out.push(format!(
                    "{}: layer {:?} {:?} → pass",
                    vm.name, layer.cause, was.status
                ));
            }
        }
    }
    out
}

#[test]
fn the_baseline_fails_and_no_list_alone_improves_it() {
    let base = baseline();
    assert!(
        base.vms.iter().any(|vm| vm.verdict == Status::Fail),
        "the demo fleet should have failing VMs for this test to mean anything"
    );
    let lists = candidates();
    assert!(lists.len() > 40, "only {} lists found", lists.len());
    let mut found = Vec::new();
    for missing in &lists {
        for improvement in improvements(&scan(&without(std::slice::from_ref(missing)))) {
            found.push(format!("{missing:?}: {improvement}"));
        }
    }
    assert!(
        found.is_empty(),
        "gaps improved verdicts:\n{}",
        found.join("\n")
    );
}

fn cases() -> u32 {
    std::env::var("GAP_PROPERTIES_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn no_set_of_gaps_improves_a_verdict(
        missing in proptest::sample::subsequence(candidates(), 2..=6)
    ) {
        let found = improvements(&scan(&without(&missing)));
        prop_assert!(found.is_empty(), "gaps {missing:?} improved verdicts:\n{}", found.join("\n"));
    }
}

#[test]
fn a_gap_naming_no_known_list_is_refused_with_the_vocabulary() {
    let mut files = without(&[]);
    let last = files.len() - 1;
    // The demo fleet's file name for protected items, not their ARM type.
    files[last].1 = serde_json::to_vec(&json!({
        "schema": "backup-doctor/snapshot/v1",
        "gaps": [
            {"scope": "/subscriptions/s", "what": "Microsoft.Authorization/locks", "reason": "403"},
            {"scope": "/subscriptions/s", "what": "Microsoft.RecoveryServices/vaults/backupProtectedItems", "reason": "403"}
        ]
    }))
    .unwrap();
    let error = snapshot::load_files(&files).unwrap_err().to_string();
    for part in [
        "snapshot.json",
        "gaps[1].what",
        "Microsoft.RecoveryServices/vaults/backupProtectedItems",
        types::PROTECTED_ITEMS,
        types::VM_INSTANCE_VIEWS,
    ] {
        assert!(error.contains(part), "`{part}` missing from: {error}");
    }
    // Case does not matter, as in ARM.
    files[last].1 = serde_json::to_vec(&json!({
        "schema": "backup-doctor/snapshot/v1",
        "gaps": [{"scope": "/", "what": "microsoft.authorization/LOCKS", "reason": "403"}]
    }))
    .unwrap();
    assert!(snapshot::load_files(&files).is_ok());
}

/// The demo fleet with `path` removed from every resource of type `what`, no gap declared.
fn without_field(what: &str, path: &str) -> Vec<(PathBuf, Vec<u8>)> {
    without(&[Missing::Field {
        what: what.into(),
        path: path.into(),
    }])
}

/// Fields that were once read as defaults (a missing `properties` as empty properties, a list
/// the collector's SDK models dropped when empty as no items): tried on every run, whichever
/// sixth of the other paths is, so none comes back.
const ONCE_DEFAULTED: &[(&str, &str)] = &[
    ("microsoft.compute/disks", "properties"),
    (
        "microsoft.compute/virtualmachines",
        "properties.storageProfile.dataDisks",
    ),
    ("microsoft.network/networksecuritygroups", "properties"),
    (
        "microsoft.network/networksecuritygroups",
        "properties.securityRules",
    ),
    ("microsoft.network/privateendpoints", "properties"),
    (
        "microsoft.network/privateendpoints",
        "properties.customDnsConfigs",
    ),
    ("microsoft.network/routetables", "properties"),
    ("microsoft.network/routetables", "properties.routes"),
    (
        "microsoft.network/virtualnetworks",
        "properties.subnets[].properties",
    ),
    ("microsoft.recoveryservices/vaults", "properties"),
];

/// A field a resolver needs is there or makes its fact unknown: removing any one field path
/// of the demo fleet never turns a failing or unknown layer or verdict into `pass`, unless ARM
/// documents what its absence means ([`snapshot_edit::DOCUMENTED_ABSENCE`]). The demo fleet has several
/// hundred field paths and a scan takes a few hundred milliseconds in a debug build, so by
/// default one path in six is tried (every sixth in sorted order, plus every path of
/// [`STILL_DEFAULTED`]); `FIELD_SWEEP_ALL=1` tries every one.
#[test]
fn no_missing_field_improves_a_verdict() {
    let paths = snapshot_edit::field_paths(fleet());
    assert!(paths.len() > 200, "only {} field paths", paths.len());
    let every = std::env::var_os("FIELD_SWEEP_ALL").is_some();
    let mut found = Vec::new();
    let mut tried = 0;
    let mut once_tried = BTreeSet::new();
    for (i, (what, path)) in paths.iter().enumerate() {
        let listed = |list: &[(&str, &str)]| list.iter().any(|(w, p)| w == what && p == path);
        if snapshot_edit::absence_documented(what, path) {
            continue;
        }
        let once = listed(ONCE_DEFAULTED);
        if !every && !once && i % 6 != 0 {
            continue;
        }
        tried += 1;
        if once {
            once_tried.insert((what.as_str(), path.as_str()));
        }
        let files = without_field(what, path);
        if snapshot::load_files(&files).is_err() {
            // A field whose absence the loader refuses (exit 2) cannot improve a verdict.
            continue;
        }
        for improvement in improvements(&scan(&files)) {
            found.push(format!("{what} without {path}: {improvement}"));
        }
    }
    assert!(tried > 20, "only {tried} field paths tried");
    let absent: Vec<_> = ONCE_DEFAULTED
        .iter()
        .filter(|(w, p)| !once_tried.contains(&(*w, *p)))
        .collect();
    assert!(
        absent.is_empty(),
        "the demo fleet no longer has these field paths, so they are not tried: {absent:?}"
    );
    assert!(
        found.is_empty(),
        "missing fields improved verdicts:\n{}",
        found.join("\n")
    );
}
