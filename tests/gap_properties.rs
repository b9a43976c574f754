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

/// Every field path of the demo fleet's resources, by type: `properties.securityRules[].properties.priority`
/// under `Microsoft.Network/networkSecurityGroups`, a list's elements collapsed to `[]`.
fn field_paths() -> Vec<(String, String)> {
    fn walk(value: &Value, path: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(fields) => {
                for (name, child) in fields {
                    let at = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    out.insert(at.clone());
                    walk(child, &at, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for (_, document) in files() {
        for item in items(document) {
            let Some(what) = item["type"].as_str() else {
                continue;
            };
            let mut paths = BTreeSet::new();
            walk(item, "", &mut paths);
            // Without `id` or `type` the resource is not one any more: that is a missing list,
            // which the gap tests cover.
            for path in paths.into_iter().filter(|p| p != "id" && p != "type") {
                out.insert((what.to_ascii_lowercase(), path));
            }
        }
    }
    out.into_iter().collect()
}

/// Removes `path` (`a.b[].c`) from `value`, in every element of the lists on the way.
fn remove_path(value: &mut Value, path: &str) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (head, false),
    };
    let Value::Object(fields) = value else { return };
    let Some(rest) = rest else {
        fields.remove(name);
        return;
    };
    let Some(child) = fields.get_mut(name) else {
        return;
    };
    if !each {
        remove_path(child, rest);
    } else if let Value::Array(items) = child {
        for item in items {
            remove_path(item, rest);
        }
    }
}

/// The demo fleet with `path` removed from every resource of type `what`, no gap declared.
fn without_field(what: &str, path: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = without(&[]);
    for (file, bytes) in &mut files {
        if file.ends_with("snapshot.json") {
            continue;
        }
        let mut items: Vec<Value> = serde_json::from_slice(bytes).unwrap();
        for item in &mut items {
            if item["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(what))
            {
                remove_path(item, path);
            }
        }
        *bytes = serde_json::to_vec(&items).unwrap();
    }
    files
}

/// Fields whose absence ARM documents as a value, which resolvers read as that value: removing
/// one describes another valid resource, not a field that was not read.
const DOCUMENTED_ABSENCE: &[(&str, &str, &str)] = &[
    (
        "microsoft.network/networkinterfaces",
        "properties.networkSecurityGroup",
        "optional reference: a NIC without one has no NSG",
    ),
    (
        "microsoft.network/networkinterfaces",
        "properties.networkSecurityGroup.id",
        "as above",
    ),
    (
        "microsoft.network/virtualnetworks",
        "properties.subnets[].properties.routeTable",
        "optional reference: a subnet without one has no route table",
    ),
    (
        "microsoft.network/virtualnetworks",
        "properties.subnets[].properties.routeTable.id",
        "as above",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties.networkAcls",
        "Key Vault: without network rules every network is allowed",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties.networkAcls.bypass",
        "Key Vault: `AzureServices` when not given",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties.networkAcls.defaultAction",
        "Key Vault: `Allow` when not given",
    ),
    (
        "microsoft.compute/disks",
        "properties.encryptionSettingsCollection",
        "set on a disk only by Azure Disk Encryption: absent, ADE is off",
    ),
    (
        "microsoft.compute/disks",
        "properties.maxShares",
        "a disk created without maxShares attaches to one VM",
    ),
    (
        "microsoft.recoveryservices/vaults",
        "properties.privateEndpointConnections",
        "present only on a vault with private endpoints",
    ),
];

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
/// documents what its absence means ([`DOCUMENTED_ABSENCE`]). The demo fleet has several
/// hundred field paths and a scan takes a few hundred milliseconds in a debug build, so by
/// default one path in six is tried (every sixth in sorted order, plus every path of
/// [`STILL_DEFAULTED`]); `FIELD_SWEEP_ALL=1` tries every one.
#[test]
fn no_missing_field_improves_a_verdict() {
    let paths = field_paths();
    assert!(paths.len() > 200, "only {} field paths", paths.len());
    let every = std::env::var_os("FIELD_SWEEP_ALL").is_some();
    let mut found = Vec::new();
    let mut tried = 0;
    let mut once_tried = BTreeSet::new();
    for (i, (what, path)) in paths.iter().enumerate() {
        let listed = |list: &[(&str, &str)]| list.iter().any(|(w, p)| w == what && p == path);
        let documented: Vec<(&str, &str)> = DOCUMENTED_ABSENCE
            .iter()
            .map(|(w, p, _)| (*w, *p))
            .collect();
        if listed(&documented) {
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
