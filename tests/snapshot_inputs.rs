//! What a scan makes of snapshots that are not what it expects: lists missing while others still
//! name their resources, objects it does not use, files meant for the gate, folders linked in.
//! None of these may read as a clean, complete fleet.

use backup_doctor_testkit::binary::{arg, assert_mentions, run, run_refused, Outcome};
use backup_doctor_testkit::fixtures::{
    copy_tree, demo, root, DEMO_DEV_SUBSCRIPTION, DEMO_PROD_SUBSCRIPTION,
};
use backup_doctor_testkit::json;
use backup_doctor_testkit::schema;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const VMS: &str = "Microsoft.Compute/virtualMachines";

/// Removes a subscription's VM list from `fleet`, returning the ids it held, in lower case.
fn remove_vm_list(fleet: &Path, subscription: &str) -> BTreeSet<String> {
    let list = fleet
        .join(subscription)
        .join("Microsoft.Compute.virtualMachines.json");
    let removed = json::items(&json::read(&list)["value"])
        .iter()
        .map(|vm| vm["id"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    std::fs::remove_file(&list).unwrap();
    removed
}

/// A copy of the demo fleet to change.
fn demo_copy() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    copy_tree(&demo(), &fleet);
    (dir, fleet)
}

fn scan(snapshot: &Path, extra: &[&str]) -> Outcome {
    let mut args = vec!["scan", "--snapshot", arg(snapshot)];
    args.extend(extra);
    run(&args)
}

/// The JSON report of a scan, checked against the report schema.
fn scan_json(snapshot: &Path) -> (i32, Value) {
    let out = scan(snapshot, &["--format", "json"]);
    let report = out.json();
    let errors = schema::violations(&schema::validator("report-v1.schema.json"), &report);
    assert!(errors.is_empty(), "{errors:#?}");
    (out.code, report)
}

/// The items of an array the report leaves out when empty.
fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn dangling<'a>(report: &'a Value, missing_type: &str) -> Option<&'a Value> {
    report["dangling_references"].as_array()?.iter().find(|d| {
        d["missing_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(missing_type)
    })
}

/// The first reason the report gives for being incomplete besides gaps and unknown checks.
fn first_reason(report: &Value) -> &str {
    json::items(&report["incomplete_because"])[0]
        .as_str()
        .expect("reasons are strings")
}

/// Whether any VM has an unknown finding or layer: the reasons a report was incomplete before
/// dangling references counted.
fn anything_unknown(report: &Value) -> bool {
    report["vms"].as_array().unwrap().iter().any(|vm| {
        json::items(&vm["findings"])
            .iter()
            .any(|f| f["status"] == "unknown")
            || json::items(&vm["layers"])
                .iter()
                .any(|l| l["status"] == "unknown")
    })
}

#[test]
fn a_missing_vm_list_is_named_while_nics_disks_and_protected_items_remain() {
    let (_dir, fleet) = demo_copy();
    let removed = remove_vm_list(&fleet, DEMO_PROD_SUBSCRIPTION);
    let (code, report) = scan_json(&fleet);
    assert_eq!(code, 1, "the other subscription's VMs still fail");
    assert_eq!(report["summary"]["vms"], 23 - removed.len());
    // Nothing else is unknown: before the reference check, this report said complete.
    assert!(!anything_unknown(&report) && json::items(&report["gaps"]).is_empty());
    assert_eq!(report["complete"], false);
    let vms = dangling(&report, VMS).expect("the missing VMs are named");
    assert_eq!(vms["missing"], removed.len());
    for example in json::items(&vms["examples"]) {
        let missing = example["missing"].as_str().unwrap().to_ascii_lowercase();
        assert!(removed.contains(&missing), "{missing} was not removed");
    }
    let fields = json::items(&vms["fields"]);
    for field in [
        "networkInterfaces properties.virtualMachine.id",
        "disks managedBy",
        "protectedItems properties.sourceResourceId",
    ] {
        assert!(
            fields.iter().any(|f| f.as_str().unwrap().ends_with(field)),
            "{field}: {fields:?}"
        );
    }
    let because = first_reason(&report);
    assert!(
        because.starts_with("13 virtual machine(s) named by"),
        "{because}"
    );
    let warnings = json::items(&report["warnings"]);
    assert_eq!(warnings.len(), 3, "one warning per example: {warnings:?}");

    // Nothing fails at `never`: the incomplete run is exit 3, and the console says why.
    let out = scan(&fleet, &["--fail-on", "never"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_mentions(
        &out.stdout,
        &[
            "Incomplete:",
            "13 virtual machine(s)",
            "which is not in the input",
        ],
    );

    // Without any VM list, nothing is judged: exit 3 whatever `--fail-on` says.
    remove_vm_list(&fleet, DEMO_DEV_SUBSCRIPTION);
    let (code, report) = scan_json(&fleet);
    assert_eq!((code, report["summary"]["vms"].as_u64()), (3, Some(0)));
    assert_eq!(dangling(&report, VMS).unwrap()["missing"], 23);
    let because = first_reason(&report);
    assert!(
        because.starts_with("no virtual machine in the input"),
        "{because}"
    );
}

/// The ids a removed list held, of the type other resources reference: a virtual network's
/// subnets are referenced, not the network.
fn referenced_ids(file: &Path) -> Option<(String, BTreeSet<String>)> {
    let document = json::read(file);
    let items = list(document.get("value").unwrap_or(&document));
    let kind = items.first()?["type"].as_str()?.to_ascii_lowercase();
    let ids = |values: Vec<&Value>| {
        values
            .iter()
            .map(|v| v.as_str().unwrap().to_ascii_lowercase())
            .collect()
    };
    let ids_of = |items: &[Value]| ids(items.iter().map(|i| &i["id"]).collect());
    match kind.as_str() {
        "microsoft.network/virtualnetworks" => {
            let subnets = items
                .iter()
                .flat_map(|vnet| json::items(&vnet["properties"]["subnets"]))
                .map(|s| &s["id"])
                .collect();
            Some((
                "Microsoft.Network/virtualNetworks/subnets".into(),
                ids(subnets),
            ))
        }
        "microsoft.compute/virtualmachines"
        | "microsoft.network/networkinterfaces"
        | "microsoft.compute/disks"
        | "microsoft.compute/diskencryptionsets"
        | "microsoft.keyvault/vaults"
        | "microsoft.recoveryservices/vaults" => Some((kind, ids_of(items))),
        _ => None,
    }
}

/// Every list of the demo fleet, removed in turn: a list others reference is named as missing,
/// with examples from that list only; any other list adds no dangling reference (no false alarm).
#[test]
fn every_list_removed_in_turn_is_named_exactly_when_others_reference_it() {
    let mut files = Vec::new();
    let mut pending = vec![demo()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.strip_prefix(demo()).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    let mut named = 0;
    for file in &files {
        let (_dir, fleet) = demo_copy();
        let expected = referenced_ids(&fleet.join(file));
        std::fs::remove_file(fleet.join(file)).unwrap();
        let (code, report) = scan_json(&fleet);
        assert_eq!(code, 1, "{}", file.display());
        let found = list(&report["dangling_references"]);
        let Some((missing_type, removed)) = expected else {
            assert!(found.is_empty(), "{}: {found:?}", file.display());
            continue;
        };
        named += 1;
        assert_eq!(found.len(), 1, "{}: {found:?}", file.display());
        let entry = &found[0];
        assert!(entry["missing_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&missing_type));
        let missing = entry["missing"].as_u64().unwrap() as usize;
        assert!(
            missing >= 1 && missing <= removed.len(),
            "{}: {entry}",
            file.display()
        );
        for example in json::items(&entry["examples"]) {
            let id = example["missing"].as_str().unwrap().to_ascii_lowercase();
            assert!(removed.contains(&id), "{}: {id}", file.display());
        }
        assert_eq!(report["complete"], false, "{}", file.display());
    }
    // Both subscriptions' VMs, NICs, disks, networks, key vaults and Recovery Services vaults.
    assert_eq!(named, 12, "lists others reference");
}

#[test]
fn a_declared_gap_on_the_list_is_not_a_dangling_reference() {
    let (_dir, fleet) = demo_copy();
    remove_vm_list(&fleet, DEMO_PROD_SUBSCRIPTION);
    let manifest_file = fleet.join("snapshot.json");
    let mut manifest = json::read(&manifest_file);
    manifest["gaps"] = json!([{"scope": format!("/subscriptions/{DEMO_PROD_SUBSCRIPTION}"), "what": VMS, "reason": "AuthorizationFailed"}]);
    std::fs::write(&manifest_file, manifest.to_string()).unwrap();
    let (_, report) = scan_json(&fleet);
    assert!(
        dangling(&report, VMS).is_none(),
        "{}",
        report["dangling_references"]
    );
    assert_eq!(report["complete"], false, "the gap makes it incomplete");
    assert_eq!(json::items(&report["gaps"]).len(), 1);
}

/// Writes `contents` to `name` under `dir`.
fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, contents).unwrap();
    file
}

const TYPELESS_VMS: &str = r#"{"value": [
    {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "name": "vm1"},
    {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2", "name": "vm2"}]}"#;

const UNUSED: &str = r#"[{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a", "type": "Microsoft.Web/sites"},
    {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/b", "type": "Microsoft.Storage/storageAccounts"},
    {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/c", "type": "microsoft.web/sites"}]"#;

#[test]
fn skipped_objects_are_counted_by_reason_with_their_places() {
    let (_dir, fleet) = demo_copy();
    let (demo_code, demo_report) = scan_json(&demo());
    assert!(
        demo_report.get("skipped").is_none(),
        "the demo fleet uses every object"
    );
    let extra = fleet.join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::copy(
        root().join("fixtures/plans/harmless.json"),
        extra.join("plan.json"),
    )
    .unwrap();
    std::fs::copy(
        root().join("fixtures/whatif/harmless.json"),
        extra.join("what-if.json"),
    )
    .unwrap();
    write(&extra, "minimal.json", TYPELESS_VMS);
    write(&extra, "other.json", UNUSED);
    let (code, report) = scan_json(&fleet);
    assert_eq!(code, demo_code);
    assert_eq!(report["summary"], demo_report["summary"]);
    assert_eq!(report["complete"], demo_report["complete"]);
    assert!(
        report.get("incomplete_because").is_none(),
        "skipping alone is no reason"
    );
    let groups = json::items(&report["skipped"]);
    let reasons: Vec<(&str, u64)> = groups
        .iter()
        .map(|g| (g["reason"].as_str().unwrap(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("terraform-plan", 1),
            ("what-if", 1),
            ("no-type", 2),
            ("unused-type", 3)
        ]
    );
    let place = |index: usize| -> (String, Option<&str>) {
        let example = &groups[index]["examples"][0];
        let file = example["file"].as_str().unwrap();
        let name = Path::new(file)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        (name, example["place"].as_str())
    };
    assert_eq!(place(0), ("plan.json".to_string(), None));
    assert_eq!(place(1), ("what-if.json".to_string(), None));
    assert_eq!(place(2), ("minimal.json".to_string(), Some("value[0]")));
    assert_eq!(place(3), ("other.json".to_string(), Some("[0]")));
    assert_eq!(
        groups[3]["types"],
        json!({"Microsoft.Web/sites": 1, "microsoft.web/sites": 1, "Microsoft.Storage/storageAccounts": 1})
    );
    let out = scan(&fleet, &[]);
    assert_mentions(
        &out.stdout,
        &[
            "Skipped 7 object(s) of the input:",
            "use `gate --plan`",
            "use `gate --what-if`",
            "minimal.json at value[0]; ",
            "without `type`",
        ],
    );
}

/// A single file that is not a fleet: exit 3 (nothing failed, nothing judged), saying what it was.
#[test]
fn an_input_without_vms_is_incomplete_and_says_what_it_held() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(PathBuf, &[&str]); 6] = [
        (
            root().join("fixtures/plans/harmless.json"),
            &["Terraform plan", "use `gate --plan` for it"],
        ),
        (
            root().join("fixtures/whatif/harmless.json"),
            &["what-if result", "use `gate --what-if` for it"],
        ),
        (
            write(
                dir.path(),
                "rest-what-if.json",
                r#"{"status": "Succeeded", "properties": {"changes": [{"resourceId": "/x", "changeType": "Create"}]}}"#,
            ),
            &["what-if result"],
        ),
        (
            write(dir.path(), "minimal.json", TYPELESS_VMS),
            &[
                "2 object(s) read, 2 skipped (2 without `type`)",
                "objects without `type`",
                "minimal.json at value[0]",
            ],
        ),
        (
            write(dir.path(), "other.json", UNUSED),
            &[
                "3 object(s) read, 3 skipped (3 of types no check reads)",
                "Microsoft.Web/sites (1)",
            ],
        ),
        (
            write(dir.path(), "empty.json", "[]"),
            &["no virtual machine in the input: 0 object(s) read"],
        ),
    ];
    for (file, needles) in cases {
        let (code, report) = scan_json(&file);
        assert_eq!(code, 3, "{}", file.display());
        assert_eq!(report["complete"], false, "{}", file.display());
        let because = first_reason(&report);
        assert!(
            because.starts_with("no virtual machine in the input"),
            "{because}"
        );
        let out = scan(&file, &[]);
        assert_eq!(out.code, 3);
        assert_mentions(&out.stdout, needles);
    }
    // The HTML report's completeness panel says the same.
    let out = scan(&dir.path().join("minimal.json"), &["--format", "html"]);
    assert_mentions(
        &out.stdout,
        &[
            "What the input lacks",
            "no virtual machine in the input: 2 object(s) read",
            "id=\"skipped\"",
            "<code>",
            "minimal.json at value[0]",
        ],
    );
}

#[cfg(unix)]
mod symlinks {
    use super::*;
    use std::os::unix::fs::symlink;

    fn verdicts(snapshot: &Path) -> Value {
        let (code, report) = scan_json(snapshot);
        assert_eq!(code, 1);
        report
    }

    #[test]
    fn a_subscription_folder_linked_in_from_another_tree_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = dir.path().join("fleet");
        copy_tree(&demo(), &fleet);
        let elsewhere = dir.path().join("elsewhere/prod");
        std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
        std::fs::rename(fleet.join(DEMO_PROD_SUBSCRIPTION), &elsewhere).unwrap();
        symlink(&elsewhere, fleet.join(DEMO_PROD_SUBSCRIPTION)).unwrap();
        // A file linked in as well, and the same file reached through a second link: read once.
        let tenant = dir.path().join("elsewhere/subscriptions.json");
        std::fs::rename(fleet.join("tenant/subscriptions.json"), &tenant).unwrap();
        symlink(&tenant, fleet.join("tenant/subscriptions.json")).unwrap();
        symlink(&tenant, fleet.join("tenant/subscriptions-again.json")).unwrap();
        let report = verdicts(&fleet);
        assert_eq!(report, verdicts(&demo()));
        assert!(
            report.get("warnings").is_none(),
            "no duplicates: {}",
            report["warnings"]
        );
    }

    #[test]
    fn link_loops_end_and_a_broken_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = dir.path().join("fleet");
        copy_tree(&demo(), &fleet);
        // A link to an ancestor, and one to the folder itself: each folder is read once.
        symlink(&fleet, fleet.join(DEMO_PROD_SUBSCRIPTION).join("up")).unwrap();
        symlink(".", fleet.join("tenant/here")).unwrap();
        let report = verdicts(&fleet);
        assert_eq!(report, verdicts(&demo()));
        assert!(
            report.get("warnings").is_none(),
            "no duplicates: {}",
            report["warnings"]
        );

        let broken = fleet.join("tenant/gone.json");
        symlink(dir.path().join("nowhere.json"), &broken).unwrap();
        run_refused(
            &["scan", "--snapshot", arg(&fleet)],
            &[arg(&broken), "cannot follow the symbolic link"],
        );
    }
}
