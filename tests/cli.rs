//! Runs the binary the way users do: the demo scan, the JSON contract, exit codes, and every kind
//! of bad input (which must exit 2 with a message naming the file and place, never panic).

use backup_doctor_testkit::binary::{command, run, run_refused};
use backup_doctor_testkit::fixtures::{custom_rule, demo, root};
use backup_doctor_testkit::json::{self, vm};
use backup_doctor_testkit::schema;
use serde_json::Value;
use tempfile::TempDir;

fn demo_json() -> Value {
    let out = run(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.code, 1,
        "the demo fleet has failing VMs: {}",
        out.stderr
    );
    out.json()
}

/// A finding's message.
fn message_of(finding: &Value) -> &str {
    finding["message"].as_str().unwrap()
}

fn rules_of(vm: &Value) -> Vec<(String, String)> {
    json::pairs(&vm["findings"], "rule", "status")
}

#[test]
fn demo_json_matches_the_report_schema() {
    let report = demo_json();
    let validator = schema::validator("report-v1.schema.json");
    let errors = schema::violations(&validator, &report);
    assert!(
        errors.is_empty(),
        "report violates the JSON report schema (docs/json-report.md): {errors:#?}"
    );
    assert_eq!(report["schema"], "backup-doctor/report/v1");
    assert_eq!(report["summary"]["vms"], 23);
}

#[test]
fn demo_root_causes_follow_the_pipeline() {
    let report = demo_json();
    let expect = [
        ("vm-sql-01", "agent"),
        ("vm-legacy-01", "agent"),
        ("vm-app-02", "agent"),
        ("vm-ext-01", "extension"),
        ("vm-files-01", "vss"),
        ("vm-db-lnx-01", "fsfreeze"),
        ("vm-cluster-01", "snapshot"),
        ("vm-batch-01", "snapshot"),
        ("vm-tx-01", "snapshot"),
        ("vm-enc-01", "encryption"),
        ("vm-report-01", "vault"),
        ("vm-geo-01", "vault"),
        ("vm-sql-02", "network"),
        ("vm-hana-01", "network"),
        ("vm-sql-03", "network"),
        ("vm-enc-03", "encryption"),
    ];
    for (name, cause) in expect {
        let v = vm(&report, name);
        assert_eq!(v["verdict"], "fail", "{name}");
        assert_eq!(v["root_cause"], cause, "{name}: {:?}", rules_of(v));
    }
    // The broken agent hides the unsupported disk, which is still listed, after it.
    let sql = rules_of(vm(&report, "vm-sql-01"));
    let agent = sql
        .iter()
        .position(|(r, s)| r == "agent/not-ready" && s == "fail")
        .expect("agent finding");
    let disk = sql
        .iter()
        .position(|(r, s)| r == "snapshot/unsupported-disk-type" && s == "fail")
        .expect("snapshot finding");
    assert!(agent < disk, "findings are in pipeline order: {sql:?}");
}

#[test]
fn healthy_and_stopped_vms_pass_every_layer() {
    let report = demo_json();
    for name in [
        "vm-web-01",
        "vm-web-02",
        "vm-app-01",
        "vm-analytics-01",
        "vm-cluster-02",
        "vm-dev-stopped-01",
        "vm-enc-02",
    ] {
        let v = vm(&report, name);
        assert_eq!(v["verdict"], "pass", "{name}: {:?}", rules_of(v));
        for layer in v["layers"].as_array().unwrap() {
            assert!(
                layer["status"] == "pass" || layer["status"] == "n/a",
                "{name}: {layer}"
            );
        }
    }
}

#[test]
fn network_findings_name_the_evidence() {
    let report = demo_json();
    let finding = |name: &str, rule: &str| -> Value {
        let v = vm(&report, name);
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule && f["status"] == "fail")
            .cloned()
            .unwrap_or_else(|| panic!("{name}: no failing {rule}: {:?}", rules_of(v)))
    };
    // A NIC-level deny overrides the subnet's explicit allow (NIC is evaluated first).
    let nsg = finding("vm-sql-02", "network/nsg-blocks-required-path");
    let message = message_of(&nsg);
    assert!(
        message.contains("NIC NSG vm-sql-02-nsg rule Deny-Internet-HTTPS-Out (priority 100, Deny)"),
        "{message}"
    );
    assert!(nsg["resources"].as_array().unwrap().iter().any(|r| r
        .as_str()
        .unwrap()
        .ends_with("/networkSecurityGroups/vm-sql-02-nsg")));
    assert!(message.contains("Path: VM vm-sql-02 → NIC"), "{message}");
    // 0.0.0.0/0 → None drops what SAP HANA backup needs.
    let route = finding("vm-hana-01", "network/route-drops-required-path");
    assert!(message_of(&route).contains("→ None"), "{route}");
    // The backup privatelink zone is not linked to the VM's VNet.
    let dns = finding("vm-sql-03", "network/private-dns-required");
    assert!(
        message_of(&dns).contains("privatelink.eus.backup.windowsazure.com is not linked"),
        "{dns}"
    );
    // The key vault firewall shuts out the trusted Backup service, and explains the failed jobs.
    let firewall = finding("vm-enc-03", "encryption/key-vault-firewall");
    assert!(message_of(&firewall).contains("bypass None"), "{firewall}");
    assert_eq!(
        vm(&report, "vm-enc-03")["failed_jobs"][0]["explained_by"][0],
        "encryption/key-vault-firewall"
    );
}

#[test]
fn an_unreadable_fact_makes_the_run_incomplete() {
    // vm-sql-01's broken agent reports no extension status: its extension layer is unknown.
    let report = demo_json();
    let sql = vm(&report, "vm-sql-01");
    let extension = json::find(&sql["layers"], "cause", "extension");
    assert_eq!(extension["status"], "unknown");
    let unknown = sql["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "unknown")
        .expect("an unknown finding");
    assert!(
        unknown["unknown_facts"][0]["fact"]
            .as_str()
            .unwrap()
            .starts_with("vm."),
        "{unknown}"
    );
    assert_eq!(report["complete"], false);
}

#[test]
fn failed_jobs_are_matched_to_findings_within_the_window() {
    let report = demo_json();
    let sql = vm(&report, "vm-sql-01");
    let jobs = sql["failed_jobs"].as_array().unwrap();
    assert!(!jobs.is_empty());
    for job in jobs {
        assert_eq!(
            job["codes"][0]["code"],
            "UserErrorGuestAgentStatusUnavailable"
        );
        assert!(job["explained_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "agent/not-ready"));
    }
    // vm-web-01's only failure is older than the 7-day window.
    assert!(vm(&report, "vm-web-01")["failed_jobs"]
        .as_array()
        .unwrap()
        .is_empty());
    // A spelling variant (UserErrorKeyVaultPermissionsNotConfigured) maps to the canonical code.
    let enc = vm(&report, "vm-enc-01");
    assert_eq!(
        enc["failed_jobs"][0]["codes"][0]["code"],
        "UserErrorKeyvaultPermissionsNotConfigured"
    );
    assert_eq!(
        enc["failed_jobs"][0]["explained_by"][0],
        "encryption/ade-backup-access"
    );
}

#[test]
fn a_wider_job_window_counts_older_failures() {
    let out = run(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--format",
        "json",
        "--job-window-days",
        "30",
    ]);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        vm(&report, "vm-web-01")["failed_jobs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn console_shows_verdicts_root_causes_and_summary() {
    let out = run(&["scan", "--snapshot", demo().to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("FAIL vm-sql-01  root cause: agent (VM agent)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(fix after the root cause)"));
    assert!(out.stdout.contains("Summary: 23 VMs"));
    assert!(out.stdout.contains("Incomplete:"));
    assert!(
        !out.stdout.contains("\x1b["),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn exit_codes_follow_fail_on() {
    let demo = demo();
    let demo = demo.to_str().unwrap();
    assert_eq!(
        run(&["scan", "--snapshot", demo, "--fail-on", "never"]).code,
        3,
        "incomplete data, nothing counted as failing"
    );
    assert_eq!(
        run(&["scan", "--snapshot", demo, "--fail-on", "warning"]).code,
        1
    );
    let out_dir = temp_dir("report");
    let out_file = out_dir.path().join("report.json");
    let out = run(&[
        "scan",
        "--snapshot",
        demo,
        "--format",
        "json",
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.is_empty(),
        "the report goes to --output, not stdout"
    );
    let written = json::read(&out_file);
    assert_eq!(written["summary"]["vms"], 23);
}

/// A fresh directory under the system temp dir, removed when the returned guard is dropped.
fn temp_dir(name: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("bd-{name}-"))
        .tempdir()
        .expect("a temp dir")
}

fn assert_bad_input(args: &[&str], must_contain: &[&str]) {
    run_refused(args, must_contain);
}

#[test]
fn truncated_json_names_the_file_and_line() {
    let dir = temp_dir("truncated");
    let file = dir.path().join("vms.json");
    std::fs::write(&file, "{\"value\": [\n  {\"id\": \"/subscriptions/x\",\n").unwrap();
    assert_bad_input(
        &["scan", "--snapshot", dir.path().to_str().unwrap()],
        &["vms.json", "line 3", "not valid JSON"],
    );
}

#[test]
fn wrong_field_type_names_the_json_path() {
    let dir = temp_dir("wrongtype");
    let disk = r#"{"value": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d1", "name": "d1",
        "type": "Microsoft.Compute/disks", "properties": {"diskSizeGB": "one terabyte"}}]}"#;
    std::fs::write(dir.path().join("disks.json"), disk).unwrap();
    assert_bad_input(
        &["scan", "--snapshot", dir.path().to_str().unwrap()],
        &[
            "disks.json",
            "value[0].properties.diskSizeGB",
            "invalid type",
        ],
    );
}

#[test]
fn wrong_type_of_resource_type_is_reported() {
    let dir = temp_dir("typefield");
    std::fs::write(
        dir.path().join("x.json"),
        r#"[{"id": "/subscriptions/s", "type": 42}]"#,
    )
    .unwrap();
    assert_bad_input(
        &["scan", "--snapshot", dir.path().to_str().unwrap()],
        &["x.json", "[0].type"],
    );
}

#[test]
fn missing_snapshot_path_is_reported() {
    assert_bad_input(
        &["scan", "--snapshot", "/nonexistent/fleet"],
        &["/nonexistent/fleet", "cannot open the snapshot"],
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    assert_bad_input(
        &["scan", "--snapshot", "x", "--colour-me-surprised"],
        &["--colour-me-surprised"],
    );
}

fn bad_rule(name: &str, body: &str, must_contain: &[&str]) {
    let dir = temp_dir(name);
    std::fs::write(dir.path().join("my-rule.toml"), body).unwrap();
    let mut args = vec!["rules", "list", "--rules", dir.path().to_str().unwrap()];
    assert_bad_input(&args, must_contain);
    args = vec![
        "scan",
        "--snapshot",
        "fixtures/fleets/demo",
        "--rules",
        dir.path().to_str().unwrap(),
    ];
    let out = command().current_dir(root()).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The custom rule the tests load, and spoil line by line.
fn good_rule() -> String {
    custom_rule("vault/my-check", None, "vm.protection.protected", "m")
}

#[test]
fn a_custom_rule_loads_and_runs() {
    let dir = temp_dir("goodrule");
    std::fs::write(dir.path().join("my-rule.toml"), good_rule()).unwrap();
    let out = run(&[
        "rules",
        "show",
        "vault/my-check",
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("vault/my-check"));
}

#[test]
fn bad_rule_files_name_the_file_and_line() {
    bad_rule(
        "unknownkey",
        &good_rule().replace("docs = \"d\"", "docs = \"d\"\nseverty = \"error\""),
        &["my-rule.toml", "line 9", "unknown field `severty`"],
    );
    bad_rule(
        "badcel",
        &good_rule().replace("vm.protection.protected", "vm.protection.protected &&"),
        &["my-rule.toml", "line 5", "does not parse"],
    );
    bad_rule(
        "badcause",
        &good_rule().replace("cause = \"vault\"", "cause = \"dns\""),
        &["my-rule.toml", "line 3", "unknown cause `dns`"],
    );
    bad_rule(
        "badfact",
        &good_rule().replace("vm.protection.protected", "vm.protection.protectd"),
        &[
            "my-rule.toml",
            "line 5",
            "`vm.protection.protectd` is not a known fact",
        ],
    );
    bad_rule(
        "dupid",
        &good_rule()
            .replace("vault/my-check", "agent/not-ready")
            .replace("cause = \"vault\"", "cause = \"agent\""),
        &["my-rule.toml", "already used"],
    );
}

/// A rule file can hold any text; a `when` of thousands of chained terms used to overflow the
/// stack (exit 134): the CEL parser's while the rules loaded, or the evaluator's during a scan.
/// `bad_rule` runs both `rules list` and `scan`.
#[test]
fn oversized_cel_expressions_are_refused_at_load_not_a_crash() {
    let when = |expression: &str| good_rule().replace("vm.protection.protected", expression);
    bad_rule(
        "longchain",
        &when(&format!("{}1 > 0", "1 + ".repeat(3000))),
        &[
            "my-rule.toml",
            "`when` (line 5)",
            "6003 tokens",
            "at most 1000",
        ],
    );
    for (name, open, close) in [
        ("parens", "(", ")"),
        ("lists", "[", "]"),
        ("calls", "string(", ")"),
    ] {
        let deep = format!(
            "{}vm.protection.protected{}",
            open.repeat(500),
            close.repeat(500)
        );
        bad_rule(
            name,
            &when(&format!("{deep} != ''")),
            &["my-rule.toml", "`when` (line 5)", "500 deep", "at most 32"],
        );
    }
    bad_rule(
        "deepchain",
        &when(&format!("{}1 > 0", "1 + ".repeat(300))),
        &["`when` (line 5)", "operations deep", "at most 32"],
    );
    bad_rule(
        "longmessage",
        &good_rule().replace(
            "message = \"m\"",
            &format!("message = \"m {{{}1}}\"", "1 + ".repeat(3000)),
        ),
        &["my-rule.toml", "`message` (line 6)", "6001 tokens"],
    );
    // A long string literal is one token: fine.
    let dir = temp_dir("longliteral");
    let literal = format!(
        "vm.protection.policy_type == '{}'",
        "Enhanced ".repeat(20_000)
    );
    std::fs::write(dir.path().join("my-rule.toml"), when(&literal)).unwrap();
    let out = run(&["rules", "list", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("vault/my-check"));
}

#[test]
fn rules_list_and_show() {
    let out = run(&["rules", "list"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.lines().count() >= 25);
    let show = run(&["rules", "show", "agent/not-ready"]);
    assert!(
        show.stdout.contains("UserErrorGuestAgentStatusUnavailable")
            && show.stdout.contains("Fix:")
    );
    assert_eq!(run(&["rules", "show", "agent/nope"]).code, 2);
}

/// docs/rules.md is generated from the rule files by `rules markdown`; regenerate it with
/// `cargo run -- rules markdown > docs/rules.md` (or `UPDATE_RULES_DOC=1 cargo test --test cli
/// rules_reference`).
#[test]
fn rules_reference_is_current() {
    let out = run(&["rules", "markdown"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let generated = out.stdout;
    let path = root().join("docs/rules.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        if std::env::var_os("UPDATE_RULES_DOC").is_some() {
            std::fs::write(&path, generated).unwrap();
        } else {
            panic!(
                "docs/rules.md is missing or stale (a rule file changed): regenerate it with \
                 `cargo run -- rules markdown > docs/rules.md`"
            );
        }
    }
}
