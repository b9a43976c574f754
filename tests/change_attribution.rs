//! Change attribution end to end (docs/change-attribution.md): a live scan of the demo fleet
//! against the ARM emulator reads Resource Graph's `resourcechanges` rows in a few batched
//! queries and attaches the same changes as the offline scan of the demo fleet; `collect` keeps
//! the rows so a scan of its snapshot replays the attribution; and a change read that fails
//! leaves the attribution incomplete without touching a verdict.

use assert_cmd::Command;
use backup_doctor_testkit::emulator::Emulator;
use backup_doctor_testkit::fixtures::{demo, demo_tenant};
use backup_doctor_testkit::live::{
    demo_config, demo_config_forbidding, run_blocking, secret_flags, serve, with_secret, SECRET,
};
use serde_json::Value;
use std::path::Path;

const NOW: &str = "2026-11-24T06:00:00Z";

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The JSON report of `scan --live` of the demo fleet at `NOW`.
async fn live_scan(emulator: &Emulator) -> Value {
    let mut command = with_secret(emulator, &demo_tenant(), SECRET);
    command
        .args(["scan", "--live", "--format", "json", "--now", NOW])
        .args(secret_flags(emulator));
    json_of(&run_blocking(command).await)
}

fn offline(snapshot: &Path) -> Value {
    let output = Command::cargo_bin("backup-doctor")
        .unwrap()
        .args(["scan", "--format", "json", "--now", NOW, "--snapshot"])
        .arg(snapshot)
        .output()
        .unwrap();
    json_of(&output)
}

/// The attributed findings as (vm, rule, first change's sentence parts or the reason).
fn brief(report: &Value) -> Vec<(String, String, String)> {
    report["attribution"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let first = &f["changes"][0];
            let what = if first.is_null() {
                f["unexplained"].as_str().unwrap_or_default().to_owned()
            } else {
                format!(
                    "{} {} {}",
                    first["time"], first["resource_name"], first["changed_by"]
                )
            };
            (
                f["vm"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                what,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_scan_attributes_like_the_offline_replay_in_few_queries() {
    let emulator = serve(demo_config()).await;
    let live = live_scan(&emulator).await;
    let offline = offline(&demo());
    assert_eq!(live["attribution"], offline["attribution"]);
    let explained = brief(&offline);
    let broke = |vm: &str, by: &str| {
        explained
            .iter()
            .any(|(v, _, what)| v == vm && what.contains(by))
    };
    assert!(broke("vm-sql-02", "alice@contoso.com"), "{explained:?}");
    assert!(broke("vm-batch-01", "carol@contoso.com"), "{explained:?}");
    assert!(broke("vm-enc-03", "Azure Policy") || broke("vm-enc-03", "11111111"));
    assert!(broke("vm-app-02", "guest-side cause"), "{explained:?}");

    // Every failing resource of the fleet went into one query (fewer than BATCH ids), not one
    // per VM.
    let change_queries: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter_map(|r| r.graph_query)
        .filter(|q| q.starts_with("resourcechanges"))
        .collect();
    assert_eq!(change_queries.len(), 1, "{change_queries:?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_keeps_the_change_records_and_the_snapshot_replays_them() {
    let emulator = serve(demo_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot");
    let mut command = with_secret(&emulator, &demo_tenant(), SECRET);
    command
        .args([
            "collect",
            "--live",
            "--changes-since",
            "2026-11-01T00:00:00Z",
            "--out",
        ])
        .arg(&out)
        .args(secret_flags(&emulator));
    let output = run_blocking(command).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("tenant/Microsoft.Resources.changes.json")).unwrap(),
    )
    .unwrap();
    // The five records of the demo fleet all name resources of failing findings.
    assert_eq!(kept["value"].as_array().unwrap().len(), 5);
    assert_eq!(
        offline(&out)["attribution"],
        offline(&demo())["attribution"]
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_change_read_leaves_the_attribution_incomplete_and_no_verdict_changes() {
    let emulator = serve(demo_config_forbidding(&[
        "/providers/Microsoft.ResourceGraph/resources",
    ]))
    .await;
    let live = live_scan(&emulator).await;
    let attribution = &live["attribution"];
    assert_eq!(attribution["complete"], false);
    assert!(attribution["incomplete_because"][0]
        .as_str()
        .unwrap()
        .contains("HTTP 403"));
    // The change gap is the attribution's, not the scan's.
    assert!(live["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["what"] != "Microsoft.Resources/changes"));
    let sql02 = live["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|vm| vm["name"] == "vm-sql-02")
        .unwrap();
    assert_eq!(sql02["verdict"], "fail");
    assert!(attribution["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["changes"].as_array().unwrap().is_empty()
            && f["unexplained"].as_str().unwrap().contains("incomplete")));
    emulator.shutdown().await;
}
