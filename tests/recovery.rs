//! Recovery-point age, the policy's promise, overdue and the forecast for the demo fleet's
//! protected VMs, each figure worked out by hand below (docs/recovery-points.md).
//!
//! The demo snapshot was created 2026-11-24T06:00:00Z: that is "now". The promise is the longest
//! gap between two scheduled runs plus the 2 h a scheduled backup may start late; the deadline is
//! the last recovery point plus the promise. Hours are shown with one decimal: whole minutes / 60,
//! rounded half away from zero.

use backup_doctor_testkit::binary::run;
use backup_doctor_testkit::fixtures::demo;
use backup_doctor_testkit::json::vm;
use serde_json::{json, Value};

fn demo_json() -> Value {
    let out = run(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    out.json()
}

fn recovery<'a>(report: &'a Value, name: &str) -> &'a Value {
    &vm(report, name)["recovery"]
}

fn finding<'a>(report: &'a Value, name: &str, rule: &str) -> Option<&'a Value> {
    vm(report, name)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
}

const OVERDUE: &str = "vault/recovery-point-overdue";

#[test]
fn demo_figures_are_right_by_hand() {
    let report = demo_json();

    // vm-web-01, DefaultPolicy: daily 22:00 in UTC. Runs 24 h apart: promise 24 + 2 = 26 h.
    // Last point 2026-11-23 22:08:48 → age 7 h 51 min = 471 min = 7.85 h → 7.9.
    // Deadline 22:08:48 + 26 h = 2026-11-25 00:08:48; left 18 h 08 min = 1088 min → 18.1.
    // Next run after 06:00: 2026-11-24 22:00 UTC. Passing VM: no forecast.
    let web01 = recovery(&report, "vm-web-01");
    assert_eq!(web01["age_hours"], json!(7.9));
    assert_eq!(web01["promised_hours"], json!(26.0));
    assert_eq!(web01["overdue"], json!(false));
    assert_eq!(web01["deadline"], "2026-11-25T00:08:48Z");
    assert_eq!(web01["hours_left"], json!(18.1));
    assert_eq!(web01["next_backup"], "2026-11-24T22:00:00Z");
    assert_eq!(web01["schedule"], "daily at 22:00 (UTC)");
    assert!(web01.get("forecast").is_none());

    // vm-web-02, EnhancedPolicy-4h: every 4 h from 18:00 for 8 h in W. Europe Standard Time
    // (Europe/Berlin, CET = UTC+1 in November): 18:00 and 22:00 local = 17:00 and 21:00 UTC.
    // Gaps 4 h and 20 h: promise 20 + 2 = 22 h. Last point 2026-11-23 21:11:48 → deadline
    // 2026-11-24 19:11:48, left 13 h 11 min = 791 min → 13.2. Next run 2026-11-24 17:00 UTC.
    let web02 = recovery(&report, "vm-web-02");
    assert_eq!(web02["promised_hours"], json!(22.0));
    assert_eq!(web02["deadline"], "2026-11-24T19:11:48Z");
    assert_eq!(web02["hours_left"], json!(13.2));
    assert_eq!(web02["next_backup"], "2026-11-24T17:00:00Z");

    // vm-enc-02, Weekly-SunWed: Sunday and Wednesday 23:00 in Pacific Standard Time (UTC-8 in
    // November) = Monday and Thursday 07:00 UTC. Gaps 3 and 4 days: promise 96 + 2 = 98 h.
    // Last point 2026-11-23 07:06:31 → age 22 h 53 min = 1373 min → 22.9; deadline
    // 2026-11-27 09:06:31, left 75 h 06 min = 4506 min → 75.1. Next run: Wednesday 25 Nov
    // 23:00 PST = 2026-11-26 07:00 UTC.
    let enc02 = recovery(&report, "vm-enc-02");
    assert_eq!(enc02["age_hours"], json!(22.9));
    assert_eq!(enc02["promised_hours"], json!(98.0));
    assert_eq!(enc02["deadline"], "2026-11-27T09:06:31Z");
    assert_eq!(enc02["hours_left"], json!(75.1));
    assert_eq!(enc02["next_backup"], "2026-11-26T07:00:00Z");
    assert_eq!(enc02["overdue"], json!(false));

    // vm-files-01 (root cause vss), Files-Daily: daily 23:00 W. Europe = 22:00 UTC, promise
    // 26 h. Last point 2026-11-21 22:22:09 → age 55 h 37 min = 3337 min → 55.6; deadline
    // 2026-11-23 00:22:09, already past: left −29 h 37 min = −1777 min → −29.6. The overdue
    // finding fails (55 h against 26 h) and vss stays the root cause.
    let files = recovery(&report, "vm-files-01");
    assert_eq!(files["age_hours"], json!(55.6));
    assert_eq!(files["overdue"], json!(true));
    assert_eq!(files["hours_left"], json!(-29.6));
    assert_eq!(
        files["forecast"],
        "next backup 2026-11-24 22:00 UTC will fail: vss; recovery point older than promised since 2026-11-23 00:22 UTC"
    );
    assert_eq!(vm(&report, "vm-files-01")["root_cause"], "vss");
    let overdue = finding(&report, "vm-files-01", OVERDUE).expect("overdue finding");
    assert_eq!(overdue["status"], "fail");
    assert!(
        overdue["message"]
            .as_str()
            .unwrap()
            .contains("55 h old; policy Files-Daily promises at most 26 h"),
        "{overdue}"
    );

    // vm-legacy-01 (root cause agent): last point 2026-11-23 22:31:13, daily 22:00 UTC: not
    // overdue yet; deadline 2026-11-25 00:31:13, left 18 h 31 min = 1111 min → 18.5.
    let legacy = recovery(&report, "vm-legacy-01");
    assert_eq!(legacy["overdue"], json!(false));
    assert_eq!(
        legacy["forecast"],
        "next backup 2026-11-24 22:00 UTC will fail: agent; no new recovery point after 2026-11-25 00:31 UTC"
    );
    assert!(finding(&report, "vm-legacy-01", OVERDUE).is_none());

    // vm-batch-01 (root cause snapshot), DefaultPolicy of rsv-dev-wus2: daily 20:00 Pacific
    // (UTC-8) = 04:00 UTC. The 23 Nov run was 2026-11-24 04:00 UTC, before now: next is
    // 2026-11-25 04:00 UTC. Last point 2026-11-19 04:27:02 → deadline 2026-11-20 06:27:02,
    // left −95 h 32 min = −5732 min → −95.5.
    let batch = recovery(&report, "vm-batch-01");
    assert_eq!(batch["next_backup"], "2026-11-25T04:00:00Z");
    assert_eq!(batch["deadline"], "2026-11-20T06:27:02Z");
    assert_eq!(batch["hours_left"], json!(-95.5));

    // vm-cluster-01, DefaultPolicy of rsv-dev-eus: daily 21:00 Eastern (UTC-5) = 02:00 UTC.
    // Last point 2026-11-20 02:20:21 → deadline 2026-11-21 04:20:21; left −73 h 39 min =
    // −4419 min = −73.65 → −73.7.
    let cluster = recovery(&report, "vm-cluster-01");
    assert_eq!(cluster["next_backup"], "2026-11-25T02:00:00Z");
    assert_eq!(cluster["hours_left"], json!(-73.7));

    // vm-report-01: protection stopped, so no backup is scheduled and the overdue rule leaves it
    // to vault/protection-stopped.
    let report01 = recovery(&report, "vm-report-01");
    assert!(report01.get("next_backup").is_none());
    assert_eq!(
        report01["forecast"],
        "no backup scheduled; recovery point older than promised since 2026-11-21 00:12 UTC"
    );
    assert!(finding(&report, "vm-report-01", OVERDUE).is_none());
}

#[test]
fn an_item_with_no_recovery_point_after_a_failed_backup_is_overdue() {
    let report = demo_json();
    // vm-geo-01's protected item has no lastRecoveryPoint and its last backup failed: overdue,
    // with no age to give. (An item with no recovery point otherwise is unknown: the rule's
    // unknown-no-recovery-point fixture.)
    let geo = recovery(&report, "vm-geo-01");
    assert_eq!(geo["overdue"], json!(true));
    assert!(geo.get("age_hours").is_none());
    assert!(geo["unknown"]
        .as_str()
        .unwrap()
        .contains("no recovery point at all"));
    let overdue = finding(&report, "vm-geo-01", OVERDUE).expect("overdue finding");
    assert_eq!(overdue["status"], "fail");
    assert!(overdue["message"]
        .as_str()
        .unwrap()
        .contains("missing: no backup has completed"));
}

#[test]
fn the_summary_ranks_failing_vms_by_time_left() {
    let report = demo_json();
    let ranking = report["summary"]["time_left"].as_array().unwrap();
    let hours: Vec<f64> = ranking
        .iter()
        .map(|e| e["hours_left"].as_f64().unwrap())
        .collect();
    assert!(hours.windows(2).all(|p| p[0] <= p[1]), "{hours:?}");
    let names: Vec<&str> = ranking.iter().map(|e| e["vm"].as_str().unwrap()).collect();
    // vm-enc-01: last point 2026-11-18 22:09:37, deadline 2026-11-20 00:09:37, 101 h 50 min
    // before now: the longest exposed, so first.
    assert_eq!(names[0], "vm-enc-01");
    assert_eq!(ranking[0]["hours_left"], json!(-101.8));
    assert!(names.contains(&"vm-legacy-01"));
    // Passing VMs are not at risk.
    assert!(!names.contains(&"vm-web-01"));
}
