//! Live collection end to end over loopback: the binary signs in at the ARM emulator's token
//! endpoint, collects the demo fleet through azure_core's pipeline, and the snapshot it writes
//! must give the same report as the offline scan of the demo fleet.

use assert_cmd::Command;
use backup_doctor_testkit::emulator::{Bucket, Emulator, EmulatorConfig};
use backup_doctor_testkit::fixtures::{
    demo, demo_tenant, DEMO_DEV_SUBSCRIPTION, DEMO_PROD_SUBSCRIPTION,
};
use backup_doctor_testkit::json;
use backup_doctor_testkit::live::{
    demo_config, demo_config_forbidding, endpoint_flags, make_certificate, run_blocking,
    secret_flags, serve, signing_in, with_secret, LOCK_LISTS, SECRET,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NOW: &str = "2026-11-24T06:00:00Z";
/// The demo fleet's change records are of November 2026, older than the 14 days `collect` keeps
/// by default when run today; the offline scan replays the window ending at `NOW`.
const CHANGES_SINCE: &[&str] = &["--changes-since", "2026-11-01T00:00:00Z"];
/// The Azure Policy objects of a snapshot, and the subscriptions' Resource Graph container rows.
const POLICY_TYPES: &[&str] = &[
    "Microsoft.Authorization/policyAssignments",
    "Microsoft.Authorization/policyDefinitions",
    "Microsoft.Authorization/policySetDefinitions",
    "Microsoft.Authorization/policyExemptions",
    "microsoft.resources/subscriptions",
];

fn running_demo_vms() -> usize {
    let mut running = 0;
    for entry in std::fs::read_dir(demo()).unwrap().flatten() {
        let file = entry.path().join("Microsoft.Compute.virtualMachines.json");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let list: Value = serde_json::from_str(&text).unwrap();
        running += list["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|vm| {
                vm.pointer("/properties/instanceView/statuses")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|s| s["code"] == "PowerState/running"))
            })
            .count();
    }
    assert!(running > 10);
    running
}

/// The JSON report of an offline scan, without the one field that names the snapshot's time.
fn report_of(snapshot: &Path) -> (Value, i32) {
    let output = Command::cargo_bin("backup-doctor")
        .unwrap()
        .args(["scan", "--format", "json", "--now", NOW, "--snapshot"])
        .arg(snapshot)
        .output()
        .unwrap();
    let mut report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report.as_object_mut().unwrap().remove("snapshot_created");
    // Warnings name the file they come from; two snapshots of the same fleet differ in their
    // root only.
    let root = snapshot.display().to_string();
    if let Some(Value::Array(warnings)) = report.get_mut("warnings") {
        for warning in warnings {
            if let Some(text) = warning.as_str() {
                *warning = Value::String(text.replace(&root, "<snapshot>"));
            }
        }
    }
    (report, output.status.code().unwrap_or(-1))
}

/// Every object of ARM type `type_` in a snapshot directory, by lower-cased id, with the file
/// (relative to `dir`) it is in. An id in two files fails: the snapshot holds each object once.
fn objects_of(dir: &Path, type_: &str) -> BTreeMap<String, (String, Value)> {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    files(dir, &mut paths);
    let mut found = BTreeMap::new();
    for path in paths {
        let document: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let items = match document {
            Value::Array(items) => items,
            Value::Object(mut object) if !object.contains_key("type") => {
                match object.remove("value") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                }
            }
            object => vec![object],
        };
        let file = path.strip_prefix(dir).unwrap().display().to_string();
        for item in items {
            let of_type = item["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(type_));
            if !of_type {
                continue;
            }
            let id = item["id"].as_str().unwrap().to_ascii_lowercase();
            if let Some((earlier, _)) = found.insert(id.clone(), (file.clone(), item)) {
                panic!("{id} is in {earlier} and in {file}");
            }
        }
    }
    found
}

/// The `gaps` of a snapshot's manifest.
fn manifest_gaps(dir: &Path) -> Vec<Value> {
    let manifest = json::read(dir.join("snapshot.json"));
    json::items(&manifest["gaps"]).to_vec()
}

/// Objects by lower-cased id, with the file each is in.
type Objects = BTreeMap<String, (String, Value)>;

/// The objects of type `type_` in the demo fleet and in the collection at `out`, after checking
/// that the demo has some and the collection the same ids.
fn demo_and_collected(out: &Path, type_: &str) -> (Objects, Objects) {
    let demo = objects_of(&demo(), type_);
    let live = objects_of(out, type_);
    assert!(!demo.is_empty(), "{type_}");
    assert_eq!(
        live.keys().collect::<Vec<_>>(),
        demo.keys().collect::<Vec<_>>(),
        "{type_}"
    );
    (demo, live)
}

/// `collect --live --out DIR` in a blocking thread, so the emulator keeps serving.
async fn collect(
    emulator: &Emulator,
    secret: &str,
    extra: &[&str],
) -> (PathBuf, std::process::Output, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot");
    let mut command = with_secret(emulator, &demo_tenant(), secret);
    command
        .args(["collect", "--live", "--out"])
        .arg(&out)
        .args(secret_flags(emulator))
        .args(CHANGES_SINCE)
        .args(extra);
    let output = run_blocking(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (out, output, stderr, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_collection_of_the_demo_fleet_scans_like_the_demo_fleet() {
    let emulator = serve(demo_config()).await;
    let (out, output, stderr, _dir) = collect(&emulator, SECRET, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let (live, live_code) = report_of(&out);
    let (offline, offline_code) = report_of(&demo());
    assert_eq!(live_code, offline_code);
    assert_eq!(live, offline);

    let requests = emulator.requests();
    // Only reads: GET, and the one Resource Graph query POST per page (plus the token request).
    for request in &requests {
        let allowed = request.method == "GET"
            || (request.method == "POST"
                && (request
                    .path
                    .to_ascii_lowercase()
                    .contains("/providers/microsoft.resourcegraph/resources")
                    || request.path.contains("/oauth2/")));
        assert!(allowed, "{} {}", request.method, request.path);
    }
    // statusOnly carried every agent: no VM needed its own instance view call.
    assert!(
        !requests.iter().any(|r| r.path.ends_with("/instanceView")),
        "per-VM instance views were read although statusOnly carried them"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_collection_reads_the_demo_fleets_policy_objects_into_the_same_files() {
    let emulator = serve(demo_config()).await;
    let (out, output, stderr, _dir) = collect(&emulator, SECRET, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // Same ids, same JSON, in the same file: management-group assignments in
    // tenant/Microsoft.Authorization.policyAssignments.json once although both subscriptions
    // list them, built-in and management-group definitions in tenant/, the custom subscription
    // definition and the exemptions in the subscription's folder, the container rows in
    // tenant/resourceContainers.json.
    for type_ in POLICY_TYPES {
        let (demo, live) = demo_and_collected(&out, type_);
        for (id, (file, object)) in &demo {
            let (live_file, live_object) = &live[id];
            assert_eq!(live_file, file, "{id}");
            assert_eq!(live_object, object, "{id}");
        }
    }
    let tenant_assignments = objects_of(&out, "Microsoft.Authorization/policyAssignments")
        .into_values()
        .filter(|(file, _)| file.starts_with("tenant"))
        .count();
    assert_eq!(tenant_assignments, 3);

    // One list of each per subscription, one GET per distinct definition (the set's member too).
    let requests = emulator.requests();
    let count = |needle: &str| {
        requests
            .iter()
            .filter(|r| r.path.to_ascii_lowercase().contains(needle))
            .count()
    };
    assert_eq!(count("/microsoft.authorization/policyassignments"), 2);
    assert_eq!(count("/microsoft.authorization/policyexemptions"), 2);
    let definition_reads: Vec<String> = requests
        .iter()
        .filter(|r| r.path.to_ascii_lowercase().contains("definitions/"))
        .filter(|r| !r.path.to_ascii_lowercase().contains("roledefinitions"))
        .map(|r| r.path.to_ascii_lowercase())
        .collect();
    let distinct: std::collections::BTreeSet<&String> = definition_reads.iter().collect();
    assert_eq!(definition_reads.len(), 6, "{definition_reads:?}");
    assert_eq!(distinct.len(), 6, "{definition_reads:?}");
    emulator.shutdown().await;
}

/// What the collector writes is what ARM sent: the resources the resolvers read come out of a
/// live collection as the emulator served them, every empty list (`dataDisks: []`,
/// `securityRules: []`, `routes: []`) kept, so the loader can tell "none" from "not read". The
/// VMs are compared on their model (the collector merges the run-time status in).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_collection_keeps_what_arm_sent_empty_lists_included() {
    let emulator = serve(demo_config()).await;
    let (out, output, stderr, _dir) = collect(&emulator, SECRET, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let mut empty_lists = 0;
    for type_ in [
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Compute/disks",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/routeTables",
        "Microsoft.KeyVault/vaults",
        "Microsoft.RecoveryServices/vaults",
        "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems",
    ] {
        let (demo, live) = demo_and_collected(&out, type_);
        for (id, (_, object)) in &demo {
            let (_, live_object) = &live[id];
            let (mut want, mut got) = (object.clone(), live_object.clone());
            for value in [&mut want, &mut got] {
                if let Some(properties) = value.get_mut("properties").and_then(Value::as_object_mut)
                {
                    properties.remove("instanceView");
                }
            }
            empty_lists += count_empty_lists(&want);
            assert_eq!(got, want, "{id}");
        }
    }
    assert!(
        empty_lists >= 10,
        "the demo fleet has only {empty_lists} empty lists: the test would not see one dropped"
    );
    emulator.shutdown().await;
}

fn count_empty_lists(value: &Value) -> usize {
    match value {
        Value::Array(items) if items.is_empty() => 1,
        Value::Array(items) => items.iter().map(count_empty_lists).sum(),
        Value::Object(fields) => fields.values().map(count_empty_lists).sum(),
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_policy_reads_are_gaps_and_the_collection_goes_on() {
    let set = "/providers/Microsoft.Management/managementGroups/mg-contoso/providers/Microsoft.Authorization/policySetDefinitions/tag-governance";
    let prod_assignments = format!(
        "/subscriptions/{DEMO_PROD_SUBSCRIPTION}/providers/Microsoft.Authorization/policyAssignments"
    );
    let emulator = serve(demo_config_forbidding(&[&prod_assignments, set])).await;
    let (out, output, stderr, _dir) = collect(&emulator, SECRET, &[]).await;
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let gaps = manifest_gaps(&out);
    let brief: Vec<(&str, &str)> = gaps
        .iter()
        .map(|g| (g["scope"].as_str().unwrap(), g["what"].as_str().unwrap()))
        .collect();
    let prod_scope = format!("/subscriptions/{DEMO_PROD_SUBSCRIPTION}");
    assert_eq!(
        brief,
        [
            (set, "Microsoft.Authorization/policySetDefinitions"),
            (
                prod_scope.as_str(),
                "Microsoft.Authorization/policyAssignments"
            ),
        ]
    );
    assert!(gaps
        .iter()
        .all(|g| g["reason"].as_str().unwrap().contains("HTTP 403")));

    // Everything else of prod was read, its exemptions included.
    for file in [
        "Microsoft.Compute.virtualMachines.json",
        "Microsoft.Authorization.locks.json",
    ] {
        let live = std::fs::read_to_string(out.join(DEMO_PROD_SUBSCRIPTION).join(file)).unwrap();
        assert!(live.contains("\"id\""), "{file}");
    }
    assert!(out
        .join(DEMO_PROD_SUBSCRIPTION)
        .join("Microsoft.Authorization.policyExemptions.json")
        .exists());
    // Dev's list still brings the management-group assignments above dev (mg-corp's is above
    // prod only), and the definitions dev's assignments reference.
    let assignments = objects_of(&out, "Microsoft.Authorization/policyAssignments");
    let names: Vec<&str> = assignments
        .values()
        .map(|(_, a)| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(!names.contains(&"rg-costcenter-tag") && !names.contains(&"north-europe-only"));
    assert!(assignments
        .values()
        .all(|(file, _)| file.starts_with("tenant") || file.starts_with(DEMO_DEV_SUBSCRIPTION)));
    let definitions = objects_of(&out, "Microsoft.Authorization/policyDefinitions");
    let names: Vec<&str> = definitions
        .values()
        .map(|(_, d)| d["name"].as_str().unwrap())
        .collect();
    // Not the prod-only built-in, nor the member of the set that could not be read.
    assert_eq!(
        names,
        [
            "96670d01-0a4d-4649-9c89-2d3abc0a5025",
            "e765b5de-1225-4ba3-bd56-1ac6695af988",
            "deny-untagged-resources"
        ]
    );
    assert!(objects_of(&out, "Microsoft.Authorization/policySetDefinitions").is_empty());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_cost_time_not_data() {
    // A bucket smaller than the first wave of lists any subscription sends (16 calls in flight
    // over 2 subscriptions), with latency so that wave is in flight at once: 429s are certain.
    let emulator = serve(EmulatorConfig {
        throttle: Some(Bucket {
            capacity: 4,
            refill_per_second: 60.0,
        }),
        latency: std::time::Duration::from_millis(10),
        fail_every: Some((9, 503)),
        status_only_includes_agent: false,
        ..demo_config()
    })
    .await;
    let (out, output, stderr, _dir) = collect(&emulator, SECRET, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let requests = emulator.requests();
    assert!(
        requests.iter().any(|r| r.status == 429),
        "the bucket never ran dry"
    );
    assert!(
        requests.iter().any(|r| r.status == 503),
        "no 503 was injected"
    );
    // Without agents in statusOnly, each running VM's instance view is read once; stopped and
    // deallocated VMs have no agent status to read.
    let views = requests
        .iter()
        .filter(|r| r.path.ends_with("/instanceView") && r.status == 200)
        .count();
    assert_eq!(views, running_demo_vms());
    let (live, _) = report_of(&out);
    let (offline, _) = report_of(&demo());
    assert_eq!(live, offline);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_lock_list_is_a_gap_and_makes_lock_facts_unknown() {
    let emulator = serve(demo_config_forbidding(&[LOCK_LISTS])).await;
    let (out, output, stderr, _dir) = collect(&emulator, SECRET, &[]).await;
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Microsoft.Authorization/locks"), "{stderr}");
    let (report, _) = report_of(&out);
    assert_eq!(report["complete"], false);
    let gaps = report["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(gaps
        .iter()
        .all(|g| g["what"] == "Microsoft.Authorization/locks"
            && g["reason"].as_str().unwrap().contains("403")));
    let lock_findings: Vec<&Value> = report["vms"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|vm| vm["findings"].as_array().unwrap())
        .filter(|f| {
            [
                "snapshot/restore-point-rg-locked",
                "snapshot/subscription-locked",
                "snapshot/vm-read-only-lock",
            ]
            .contains(&f["rule"].as_str().unwrap())
        })
        .collect();
    assert!(!lock_findings.is_empty());
    assert!(
        lock_findings.iter().all(|f| f["status"] == "unknown"),
        "{lock_findings:?}"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_secret_is_a_clear_error_with_exit_2_and_secrets_never_reach_the_logs() {
    let emulator = serve(demo_config()).await;
    let (_, output, stderr, _dir) = collect(&emulator, "not-the-secret", &[]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("credential"), "{stderr}");
    assert!(!stderr.contains("not-the-secret"), "{stderr}");

    // A good run at trace level: neither the secret nor any bearer token is printed.
    let (_, output, stderr, _dir) = collect(&emulator, SECRET, &["-vvv"]).await;
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.lines().count() > 20,
        "trace logging printed little: {stderr}"
    );
    assert!(!stderr.contains(SECRET));
    assert!(
        !stderr.to_ascii_lowercase().contains("bearer "),
        "a token reached the log"
    );
    for token in emulator.issued_tokens() {
        assert!(!stderr.contains(&token), "a token reached the log");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_service_principal_signs_in_and_a_foreign_certificate_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (pfx, thumbprint) = make_certificate(dir.path(), "pfx-pass");
    for (registered, expected) in [(thumbprint.clone(), 0), ("bm90LXRoaXMtb25l".to_owned(), 2)] {
        let emulator = serve(EmulatorConfig {
            certificate_thumbprint: Some(registered),
            ..demo_config()
        })
        .await;
        let out = dir.path().join(format!("snapshot-{expected}"));
        let mut command = signing_in(&emulator, &demo_tenant());
        command
            .env("AZURE_CLIENT_CERTIFICATE_PATH", &pfx)
            .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pfx-pass")
            .args(["collect", "--live", "--auth", "certificate", "--out"])
            .arg(&out)
            .args(endpoint_flags(&emulator))
            .args(CHANGES_SINCE);
        let output = run_blocking(command).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(expected), "{stderr}");
        if expected == 0 {
            let (live, _) = report_of(&out);
            let (offline, _) = report_of(&demo());
            assert_eq!(live, offline);
        } else {
            assert!(stderr.contains("credential"), "{stderr}");
            assert!(!stderr.contains("pfx-pass"), "{stderr}");
        }
        emulator.shutdown().await;
    }
}
