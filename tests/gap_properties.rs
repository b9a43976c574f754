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
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/fleets/demo")
}

/// The demo fleet's files, relative to it, parsed.
fn files() -> &'static Vec<(PathBuf, Value)> {
    static FILES: OnceLock<Vec<(PathBuf, Value)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = Vec::new();
        walk(&demo(), &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Value)>) {
    for path in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = path.strip_prefix(demo()).unwrap().to_path_buf();
            out.push((relative, serde_json::from_str(&text).unwrap()));
        }
    }
}

/// The items of a snapshot file (an array, a list response or one object).
fn items(document: &Value) -> Vec<&Value> {
    match document {
        Value::Array(items) => items.iter().collect(),
        Value::Object(o) if o.get("schema").is_some() => Vec::new(),
        Value::Object(o) if !o.contains_key("type") && o.contains_key("value") => o["value"]
            .as_array()
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
        other => vec![other],
    }
}

/// The gap name of an object: its ARM type, or the name of a type-less kind.
fn list_name(item: &Value) -> Option<String> {
    if let Some(t) = item["type"].as_str() {
        return Some(t.to_string());
    }
    let kind = Shape::recognise(item.as_object()?)?;
    Some(
        kind.descriptor()
            .arm_type
            .unwrap_or(types::SERVICE_PRINCIPALS)
            .to_string(),
    )
}

/// The folder of a file: a subscription id, or `tenant`.
fn folder(file: &Path) -> String {
    file.components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn scope_of(folder: &str) -> String {
    if folder == "tenant" {
        "/".into()
    } else {
        format!("/subscriptions/{folder}")
    }
}

/// What can be missing: a list (folder, name) or a whole file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Missing {
    List { folder: String, what: String },
    File(PathBuf),
}

fn candidates() -> Vec<Missing> {
    let mut out = BTreeSet::new();
    for (file, document) in files() {
        if file == Path::new("snapshot.json") {
            continue;
        }
        let folder = folder(file);
        let mut any = false;
        for item in items(document) {
            if let Some(what) = list_name(item) {
                any = true;
                if what.eq_ignore_ascii_case(types::VIRTUAL_MACHINES) {
                    out.insert(Missing::List {
                        folder: folder.clone(),
                        what: types::VM_INSTANCE_VIEWS.into(),
                    });
                }
                out.insert(Missing::List {
                    folder: folder.clone(),
                    what: what.to_ascii_lowercase(),
                });
            }
        }
        if any {
            out.insert(Missing::File(file.clone()));
        }
    }
    out.into_iter().collect()
}

/// The demo fleet without `missing`, with a manifest declaring each as a gap.
fn without(missing: &[Missing]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut gaps = BTreeSet::new();
    let mut out = Vec::new();
    for (file, document) in files() {
        if file == Path::new("snapshot.json") {
            continue;
        }
        let folder = folder(file);
        let whole = missing.contains(&Missing::File(file.clone()));
        let mut kept = Vec::new();
        for item in items(document) {
            let Some(what) = list_name(item) else {
                kept.push(item.clone());
                continue;
            };
            let gone = whole
                || missing.contains(&Missing::List {
                    folder: folder.clone(),
                    what: what.to_ascii_lowercase(),
                });
            if gone {
                gaps.insert((scope_of(&folder), what));
                continue;
            }
            let mut item = item.clone();
            let views_gone = missing.contains(&Missing::List {
                folder: folder.clone(),
                what: types::VM_INSTANCE_VIEWS.into(),
            });
            if views_gone && what.eq_ignore_ascii_case(types::VIRTUAL_MACHINES) {
                if let Some(props) = item["properties"].as_object_mut() {
                    props.remove("instanceView");
                }
                gaps.insert((scope_of(&folder), types::VM_INSTANCE_VIEWS.to_string()));
            }
            kept.push(item);
        }
        out.push((demo().join(file), serde_json::to_vec(&kept).unwrap()));
    }
    let mut manifest = files()
        .iter()
        .find(|(f, _)| f == Path::new("snapshot.json"))
        .unwrap()
        .1
        .clone();
    manifest["gaps"] = gaps
        .into_iter()
        .map(|(scope, what)| json!({"scope": scope, "what": what, "reason": "HTTP 403 AuthorizationFailed (test)"}))
        .collect();
    out.push((
        demo().join("snapshot.json"),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    out
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
