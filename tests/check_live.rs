//! `check --live` end to end over loopback, as `tests/live.rs` does for `scan --live`: the binary
//! signs in at the ARM emulator serving the demo fleet, collects it, and must give the same
//! answers as the offline check of the demo fleet; what the emulator refuses makes the answers
//! that need it `cannot tell`.

use assert_cmd::Command;
use backup_doctor_testkit::emulator::Emulator;
use backup_doctor_testkit::fixtures::{demo, demo_tenant};
use backup_doctor_testkit::live::{
    demo_config, demo_config_forbidding, run_blocking, secret_flags, serve, with_secret,
    LOCK_LISTS, SECRET,
};
use serde_json::Value;

const VMS: &[&str] = &[
    "--vm",
    "vm-app-01",
    "vm-app-02",
    "vm-analytics-01",
    "vm-cluster-02",
    "vm-web-01",
];

/// `check --live` against the emulator, run in a blocking thread so the emulator keeps serving.
async fn check_live(emulator: &Emulator, extra: &[&str]) -> std::process::Output {
    let mut command = with_secret(emulator, &demo_tenant(), SECRET);
    command
        .args(["check", "--live"])
        .args(secret_flags(emulator))
        .args(extra);
    run_blocking(command).await
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr)))
}

fn offline(extra: &[&str]) -> (Value, i32) {
    let output = Command::cargo_bin("backup-doctor")
        .unwrap()
        .args(["check", "--format", "json", "--snapshot"])
        .arg(demo())
        .args(extra)
        .output()
        .unwrap();
    (json_of(&output), output.status.code().unwrap_or(-1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_check_answers_like_the_offline_check() {
    let emulator = serve(demo_config()).await;
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(VMS);
    let output = check_live(&emulator, &args).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let live = json_of(&output);
    let (offline, offline_code) = offline(VMS);
    assert_eq!(offline_code, 1);
    assert_eq!(live, offline);
    let statuses: Vec<(&str, &str)> = live["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vm| (vm["name"].as_str().unwrap(), vm["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("vm-app-01", "ready")), "{statuses:?}");
    assert!(statuses.contains(&("vm-app-02", "not-ready")));
    assert!(statuses.contains(&("vm-web-01", "already-protected")));
    // Only reads went to Azure.
    for request in emulator.requests() {
        assert!(
            request.method == "GET" || request.method == "POST",
            "{} {}",
            request.method,
            request.path
        );
    }

    // The live Enhanced answer for the Ultra Disk VM, and a VM name the tenant lacks (exit 2).
    let output = check_live(
        &emulator,
        &[
            "--format",
            "json",
            "--vm",
            "vm-analytics-01",
            "--policy",
            "enhanced",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json_of(&output)["vms"][0]["status"], "ready");
    let output = check_live(&emulator, &["--vm", "vm-nowhere"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no VM named `vm-nowhere`"), "{stderr}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_refused_live_make_the_answer_cannot_tell() {
    let emulator = serve(demo_config_forbidding(&[LOCK_LISTS])).await;
    let output = check_live(&emulator, &["--format", "json", "--vm", "vm-app-01"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let document = json_of(&output);
    assert_eq!(document["complete"], false);
    let app = &document["vms"][0];
    assert_eq!(app["status"], "unknown");
    assert!(
        app["answer"]
            .as_str()
            .unwrap()
            .contains("locks could not be read"),
        "{app:#}"
    );
    assert!(document["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["what"] == "Microsoft.Authorization/locks"));
    emulator.shutdown().await;
}
