//! The nightly workflow end to end: two scans of the demo fleet into one store (the second on a
//! copy where one VM was fixed and another broken), what `--since-last` says, what `history`
//! lists, the correlation of failed jobs, and the store's failure modes (exit 2, store untouched).

use backup_doctor_testkit::binary::{arg, assert_mentions, run};
use backup_doctor_testkit::fixtures::{copy_tree, demo, DEMO_PROD_SUBSCRIPTION};
use backup_doctor_testkit::json::{self, vm};
use backup_doctor_testkit::schema;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The demo fleet a day later: vm-sql-01's agent was repaired (it now reports Ready) and
/// vm-web-01's agent stopped responding. Everything else is as it was.
fn next_night(dir: &Path) -> PathBuf {
    let fleet = dir.join("fleet-next-night");
    copy_tree(&demo(), &fleet);
    let vms_file = fleet
        .join(DEMO_PROD_SUBSCRIPTION)
        .join("Microsoft.Compute.virtualMachines.json");
    let mut vms = json::read(&vms_file);
    let agent_of = |vms: &Value, name: &str| -> Value {
        json::find(&vms["value"], "name", name)["properties"]["instanceView"]["vmAgent"].clone()
    };
    let healthy = agent_of(&vms, "vm-web-01");
    let broken = agent_of(&vms, "vm-sql-01");
    assert_eq!(broken["statuses"][0]["displayStatus"], "Not Ready");
    for vm in vms["value"].as_array_mut().unwrap() {
        let agent = match vm["name"].as_str() {
            Some("vm-sql-01") => healthy.clone(),
            Some("vm-web-01") => broken.clone(),
            _ => continue,
        };
        vm["properties"]["instanceView"]["vmAgent"] = agent;
    }
    std::fs::write(&vms_file, serde_json::to_string_pretty(&vms).unwrap()).unwrap();
    // A night later the VMs that backed up have recovery points a day newer: move every one
    // (and its backup time) by the same day as the snapshot, so only the agents change.
    for subscription in std::fs::read_dir(&fleet).unwrap() {
        let items = subscription
            .unwrap()
            .path()
            .join("Microsoft.RecoveryServices.vaults.backupProtectedItems.json");
        if !items.exists() {
            continue;
        }
        let mut doc = json::read(&items);
        for item in doc["value"].as_array_mut().unwrap() {
            for key in ["lastRecoveryPoint", "lastBackupTime"] {
                if let Some(time) = item["properties"][key].as_str() {
                    let later = chrono::DateTime::parse_from_rfc3339(time).unwrap()
                        + chrono::Duration::days(1);
                    item["properties"][key] = later.to_rfc3339().into();
                }
            }
        }
        std::fs::write(&items, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
    let manifest = fleet.join("snapshot.json");
    let mut snapshot = json::read(&manifest);
    snapshot["created"] = "2026-11-25T06:00:00Z".into();
    std::fs::write(&manifest, snapshot.to_string()).unwrap();
    fleet
}

fn json_scan(fleet: &Path, store: &Path) -> Value {
    let out = run(&[
        "scan",
        "--snapshot",
        arg(fleet),
        "--store",
        arg(store),
        "--since-last",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "the fleet has failing VMs: {}", out.stderr);
    out.json()
}

fn entries(changes: &Value, list: &str) -> Vec<(String, String)> {
    json::pairs(&changes[list], "vm", "rule")
}

fn pair(vm: &str, rule: &str) -> (String, String) {
    (vm.to_string(), rule.to_string())
}

fn failing_count(report: &Value) -> usize {
    report["vms"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|vm| vm["findings"].as_array().unwrap())
        .filter(|f| f["status"] == "fail")
        .count()
}

fn assert_valid(report: &Value) {
    let validator = schema::validator("report-v1.schema.json");
    let errors = schema::violations(&validator, report);
    assert!(errors.is_empty(), "report violates the schema: {errors:#?}");
}

#[test]
fn two_nights_show_new_resolved_and_persisting_findings() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.db");

    let first = json_scan(&demo(), &store);
    assert_valid(&first);
    let changes = &first["changes"];
    assert!(
        changes["previous"].is_null(),
        "an empty store has no previous scan"
    );
    assert_eq!(entries(changes, "new").len(), failing_count(&first));
    assert!(entries(changes, "persisting").is_empty());

    let second = json_scan(&next_night(dir.path()), &store);
    assert_valid(&second);
    let changes = &second["changes"];
    assert_eq!(changes["previous"]["id"], 1);
    assert_eq!(changes["previous"]["time"], "2026-11-24T06:00:00Z");
    assert_eq!(
        entries(changes, "new"),
        vec![pair("vm-web-01", "agent/not-ready")]
    );
    assert_eq!(
        entries(changes, "resolved"),
        vec![pair("vm-sql-01", "agent/not-ready")]
    );
    let persisting = entries(changes, "persisting");
    assert!(persisting.contains(&pair("vm-sql-01", "snapshot/unsupported-disk-type")));
    assert_eq!(persisting.len(), failing_count(&second) - 1);
    assert!(entries(changes, "undecided").is_empty());
    assert_eq!(changes["new"][0]["cause"], "agent");
    assert!(changes["new"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Not Ready"));
}

#[test]
fn since_last_is_printed_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.db");
    json_scan(&demo(), &store);
    let out = run(&[
        "scan",
        "--snapshot",
        arg(&next_night(dir.path())),
        "--store",
        arg(&store),
        "--since-last",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Since the last scan (scan #1 of 2026-11-24T06:00:00Z): 1 new, 1 resolved"),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("new        vm-web-01 agent/not-ready: VM agent reports 'Not Ready'"));
    assert!(out.stdout.contains("resolved   vm-sql-01 agent/not-ready"));
}

#[test]
fn history_lists_the_scans_and_the_trend_by_root_cause() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.db");
    let first = json_scan(&demo(), &store);
    let second = json_scan(&next_night(dir.path()), &store);

    let out = run(&["history", "--store", arg(&store), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let history: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(history["schema"], "backup-doctor/history/v1");
    let scans = history["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 2);
    for (scan, report) in scans.iter().zip([&first, &second]) {
        for field in ["vms", "pass", "fail", "unknown"] {
            assert_eq!(scan[field], report["summary"][field], "{field}");
        }
        assert_eq!(scan["complete"], report["complete"]);
        assert_eq!(scan["failed_jobs"], report["summary"]["failed_jobs"]);
    }
    assert_eq!(scans[0]["time"], "2026-11-24T06:00:00Z");
    assert_eq!(scans[1]["time"], "2026-11-25T06:00:00Z");
    assert_eq!(scans[1]["fail"], scans[0]["fail"].as_i64().unwrap() + 1);
    let trend = |cause: &str| -> Vec<i64> {
        history["trend"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["cause"] == cause)
            .unwrap_or_else(|| panic!("no trend row for {cause}"))["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_i64().unwrap())
            .collect()
    };
    let by_cause = |report: &Value, cause: &str| report["summary"]["by_root_cause"][cause].as_i64();
    // vm-sql-01's root cause moved from agent to its Ultra disk (snapshot); vm-web-01 now fails
    // at the agent: agent stays level, snapshot grows by one.
    let agent = trend("agent");
    assert_eq!(agent[0], agent[1]);
    assert_eq!(Some(agent[0]), by_cause(&first, "agent"));
    let snapshot = trend("snapshot");
    assert_eq!(snapshot[1], snapshot[0] + 1);
    assert_eq!(Some(snapshot[0]), by_cause(&first, "snapshot"));
    assert_eq!(Some(snapshot[1]), by_cause(&second, "snapshot"));

    let out = run(&["history", "--store", arg(&store)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_mentions(
        &out.stdout,
        &[
            "2 listed",
            "#1  2026-11-24T06:00:00Z",
            "#2  2026-11-25T06:00:00Z",
            "scans #1 → #2",
            "(+1)  snapshot prerequisites",
        ],
    );

    let out = run(&[
        "history",
        "--store",
        arg(&store),
        "--limit",
        "1",
        "--format",
        "json",
    ]);
    let history: Value = serde_json::from_str(&out.stdout).unwrap();
    let scans = history["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0]["id"], 2, "--limit keeps the latest scans");
}

#[test]
fn failed_jobs_are_correlated_with_the_findings_that_predict_them() {
    let dir = tempfile::tempdir().unwrap();
    // No store: the correlation is part of every report.
    let out = run(&["scan", "--snapshot", arg(&demo()), "--format", "json"]);
    assert_eq!(out.code, 1);
    let before: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        before.get("changes").is_none(),
        "changes only with --since-last"
    );
    let sql = vm(&before, "vm-sql-01");
    let jobs = sql["failed_jobs"].as_array().unwrap();
    assert!(!jobs.is_empty());
    for job in jobs {
        assert_eq!(job["explained_by"][0], "agent/not-ready");
        assert_eq!(job["explained_by_layer"], "agent");
        assert_eq!(job["code_cause"], "agent");
        assert_eq!(job["agrees_with_root_cause"], true);
    }
    let agent = &before["summary"]["correlation"]["by_cause"]["agent"];
    assert_eq!(agent["predicted"], agent["jobs"]);
    assert_eq!(agent["rate"], 1.0);

    // The agent looks repaired, but its failed jobs are still in the window: nothing on the
    // control plane explains them now, and their layer is not vm-sql-01's root cause any more.
    let out = run(&[
        "scan",
        "--snapshot",
        arg(&next_night(dir.path())),
        "--format",
        "json",
    ]);
    let after: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_valid(&after);
    let sql = vm(&after, "vm-sql-01");
    assert_eq!(sql["root_cause"], "snapshot");
    let jobs = sql["failed_jobs"].as_array().unwrap();
    assert!(!jobs.is_empty());
    for job in jobs {
        assert_eq!(job["explained_by"], serde_json::json!([]));
        assert!(job["explained_by_layer"].is_null());
        assert_eq!(job["code_cause"], "agent");
        assert_eq!(job["agrees_with_root_cause"], false);
    }
    let correlation = &after["summary"]["correlation"];
    let agent = &correlation["by_cause"]["agent"];
    let missed = jobs.len() as i64;
    assert_eq!(
        agent["predicted"].as_i64().unwrap(),
        agent["jobs"].as_i64().unwrap() - missed
    );
    assert_eq!(
        correlation["predicted"].as_i64().unwrap(),
        correlation["jobs"].as_i64().unwrap() - missed
    );
    assert_eq!(
        correlation["predicted"],
        after["summary"]["failed_jobs_explained"]
    );

    let out = run(&[
        "scan",
        "--snapshot",
        arg(&next_night(&dir.path().join("again"))),
    ]);
    assert!(
        out.stdout
            .contains("Failed jobs against predictions, by the layer of the job's error code:"),
        "{}",
        out.stdout
    );
    let agent_line = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("agent ") && l.contains("job(s)"))
        .expect("an agent line in the correlation summary");
    assert!(
        agent_line.contains(&format!("{} predicted", agent["predicted"])),
        "{agent_line}"
    );
}

#[test]
fn a_file_that_is_not_a_store_stops_the_scan_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    let text = "meeting notes: nothing to do with backups\n".repeat(100);
    std::fs::write(&notes, &text).unwrap();
    let out = run(&["scan", "--snapshot", arg(&demo()), "--store", arg(&notes)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_mentions(
        &out.stderr,
        &["notes.txt", "not a backup-doctor store", "fix:"],
    );
    assert!(out.stdout.is_empty(), "no report for a run that stopped");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), text);
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.db");
    json_scan(&demo(), &store);
    let before = std::fs::read(&store).unwrap();
    // Bump the schema version the way a newer release would, by editing SQLite's header: the
    // user_version is the big-endian integer at byte offset 60.
    let mut bytes = before.clone();
    bytes[60..64].copy_from_slice(&99i32.to_be_bytes());
    std::fs::write(&store, &bytes).unwrap();
    for args in [
        vec!["scan", "--snapshot", arg(&demo()), "--store", arg(&store)],
        vec!["history", "--store", arg(&store)],
    ] {
        let out = run(&args);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_mentions(&out.stderr, &["schema version 99", "newer backup-doctor"]);
    }
    assert_eq!(
        std::fs::read(&store).unwrap(),
        bytes,
        "the store is left as it was"
    );
}

#[test]
fn bad_input_keeps_no_scan_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.db");
    json_scan(&demo(), &store);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = run(&["scan", "--snapshot", arg(&bad), "--store", arg(&store)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = run(&["history", "--store", arg(&store), "--format", "json"]);
    let history: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(history["scans"].as_array().unwrap().len(), 1);

    let out = run(&["scan", "--snapshot", arg(&demo()), "--since-last"]);
    assert_eq!(out.code, 2, "--since-last needs --store");
    assert!(out.stderr.contains("--store"), "{}", out.stderr);

    let missing = dir.path().join("missing.db");
    let out = run(&["history", "--store", arg(&missing)]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no store here"), "{}", out.stderr);
    assert!(!missing.exists(), "history never creates a store");

    let out = run(&["history", "--store", arg(&store), "--limit", "0"]);
    assert_eq!(out.code, 2);
}

/// `scan --store` and `history --store` on PostgreSQL: the same answers as on a SQLite file (the
/// same two nights, the same `--since-last` changes, the same `history`), and the password in
/// the URL shows nowhere, not in the output, the logs or an error.
#[test]
fn a_postgres_store_gives_the_same_answers_as_a_sqlite_file() {
    use backup_doctor_testkit::postgres::{Cluster, PASSWORD};
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.db");
    let night = next_night(dir.path());
    let scan = |fleet: &Path, store: &str| -> (Value, String) {
        let out = run(&[
            "scan",
            "--snapshot",
            arg(fleet),
            "--store",
            store,
            "--since-last",
            "--format",
            "json",
            "-vv",
        ]);
        assert_eq!(out.code, 1, "the fleet has failing VMs: {}", out.stderr);
        (out.json(), out.stderr)
    };
    let history = |store: &str| -> (Value, String) {
        let out = run(&["history", "--store", store, "--format", "json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        (serde_json::from_str(&out.stdout).unwrap(), out.stdout)
    };
    let mut answers = Vec::new();
    for store in [arg(&file), url.as_str()] {
        let (first, log1) = scan(&demo(), store);
        let (second, log2) = scan(&night, store);
        let (mut listed, text) = history(store);
        for shown in [&log1, &log2, &text, &first.to_string(), &second.to_string()] {
            assert!(!shown.contains(PASSWORD), "the password shows: {shown}");
        }
        assert!(log1.contains("scan kept in the store"), "{log1}");
        let named = listed["store"].as_str().unwrap().to_string();
        for scan in listed["scans"].as_array_mut().unwrap() {
            scan.as_object_mut().unwrap().remove("recorded_at");
        }
        listed.as_object_mut().unwrap().remove("store");
        answers.push((second["changes"].clone(), listed, named));
    }
    let (sqlite, postgres) = (&answers[0], &answers[1]);
    assert_eq!(postgres.0, sqlite.0, "--since-last says the same");
    assert_eq!(postgres.1, sqlite.1, "history lists the same");
    assert!(
        postgres.2.starts_with("postgres://postgres:***@127.0.0.1:"),
        "{}",
        postgres.2
    );

    // A wrong password: exit 2 or a runtime error, naming the store without any password.
    let wrong = url.replace(PASSWORD, "Wr0ng-Secret");
    let out = run(&["history", "--store", &wrong]);
    assert_ne!(out.code, 0);
    assert!(!out.stderr.contains("Wr0ng-Secret"), "{}", out.stderr);
    assert!(out.stderr.contains("***"), "{}", out.stderr);
}
