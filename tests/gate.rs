//! The CI gate run as users run it: every shipped plan and what-if fixture over the demo fleet,
//! its exit code, and that each output names the VM and the cause; plans evaluated without a
//! baseline; suppressions; and bad input (exit 2 naming the file and the JSON path).

use backup_doctor_testkit::binary::{run, Outcome};
use backup_doctor_testkit::fixtures::{
    assert_reports_dangling_nics_and_the_untyped_object, demo,
    demo_with_dangling_nics_and_an_untyped_object, root, temp_file,
};
use backup_doctor_testkit::schema;
use serde_json::Value;
use std::path::Path;

fn path(relative: &str) -> String {
    root().join(relative).display().to_string()
}

/// One fixture scenario: the file name, the exit code at `--fail-on error`, and the
/// (VM, rule) regressions that must be reported (empty for the harmless change).
struct Scenario {
    name: &'static str,
    exit: i32,
    regressions: &'static [(&'static str, &'static str)],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "nsg-deny-443",
        exit: 1,
        regressions: &[
            ("vm-sql-02", "network/nsg-blocks-required-path"),
            ("vm-sql-01", "network/nsg-blocks-recommended-path"),
            ("vm-files-01", "network/nsg-blocks-recommended-path"),
        ],
    },
    Scenario {
        name: "subscription-lock",
        exit: 1,
        regressions: &[
            ("vm-web-01", "snapshot/subscription-locked"),
            ("vm-sql-02", "snapshot/subscription-locked"),
        ],
    },
    Scenario {
        name: "ultra-disk",
        exit: 1,
        regressions: &[("vm-web-01", "snapshot/unsupported-disk-type")],
    },
    Scenario {
        name: "keyvault-firewall",
        exit: 1,
        regressions: &[("vm-enc-01", "encryption/key-vault-firewall")],
    },
    Scenario {
        name: "route-none",
        exit: 1,
        regressions: &[
            ("vm-sql-02", "network/route-drops-required-path"),
            ("vm-legacy-01", "network/route-drops-required-path"),
        ],
    },
    Scenario {
        name: "deny-policy",
        exit: 1,
        regressions: &[
            ("vm-analytics-01", "snapshot/deny-policy"),
            ("vm-app-01", "snapshot/deny-policy"),
            ("vm-app-02", "snapshot/deny-policy"),
        ],
    },
    Scenario {
        name: "harmless",
        exit: 0,
        regressions: &[],
    },
];

fn gate(kind: &str, name: &str, extra: &[&str]) -> Outcome {
    let (flag, dir) = if kind == "plan" {
        ("--plan", "plans")
    } else {
        ("--what-if", "whatif")
    };
    gate_file(flag, &path(&format!("fixtures/{dir}/{name}.json")), extra)
}

/// `gate --baseline <demo fleet> FLAG FILE EXTRA...`.
fn gate_file(flag: &str, file: &str, extra: &[&str]) -> Outcome {
    let baseline = path("fixtures/fleets/demo");
    let mut args = vec!["gate", "--baseline", &baseline, flag, file];
    args.extend_from_slice(extra);
    run(&args)
}

fn regressions(json: &Value) -> Vec<(String, String, Vec<String>)> {
    json["regressions"]
        .as_array()
        .expect("regressions is an array")
        .iter()
        .map(|r| {
            let causes = r["caused_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["address"].as_str().unwrap().to_string())
                .collect();
            (
                r["vm_name"].as_str().unwrap().to_string(),
                r["finding"]["rule"].as_str().unwrap().to_string(),
                causes,
            )
        })
        .collect()
}

/// Runs the gate on every fixture, as a plan and as a what-if, with `--format FORMAT`, and hands
/// each outcome to `check` with the fixture's label ("plan nsg-deny-443") for messages.
fn every_fixture(format: &str, mut check: impl FnMut(&str, &Scenario, Outcome)) {
    for kind in ["plan", "what-if"] {
        for scenario in SCENARIOS {
            let out = gate(kind, scenario.name, &["--format", format]);
            check(&format!("{kind} {}", scenario.name), scenario, out);
        }
    }
}

/// The rest of the (VM, rule, …) entry for `vm` and `rule`, failing the test with every entry.
fn entry_for<'a, T: std::fmt::Debug>(
    entries: &'a [(String, String, T)],
    vm: &str,
    rule: &str,
    label: &str,
) -> &'a T {
    entries
        .iter()
        .find(|(v, r, _)| v == vm && r == rule)
        .map(|(_, _, rest)| rest)
        .unwrap_or_else(|| panic!("{label}: no {vm} {rule} in {entries:?}"))
}

#[test]
fn every_fixture_gives_its_exit_code_and_names_vm_rule_and_change_in_json() {
    every_fixture("json", |label, scenario, out| {
        assert_eq!(
            out.code, scenario.exit,
            "{label}: {}{}",
            out.stdout, out.stderr
        );
        let json: Value = serde_json::from_str(&out.stdout).expect("gate JSON parses");
        assert_eq!(json["schema"], "backup-doctor/gate/v1");
        let found = regressions(&json);
        for (vm, rule) in scenario.regressions {
            let causes = entry_for(&found, vm, rule, label);
            assert!(!causes.is_empty(), "{label}: {vm} {rule} has no cause");
        }
        if scenario.regressions.is_empty() {
            assert!(found.is_empty(), "{label}: {found:?}");
            assert_eq!(json["result"], "pass");
        }
    });
}

#[test]
fn causes_are_the_plan_addresses_and_template_ids() {
    let out = gate("plan", "route-none", &["--format", "json"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = regressions(&json);
    assert!(
        found
            .iter()
            .all(|(_, _, c)| c == &vec!["azurerm_route.default_blackhole".to_string()]),
        "{found:?}"
    );
    let out = gate("what-if", "keyvault-firewall", &["--format", "json"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let (_, _, causes) = &regressions(&json)[0];
    assert!(
        causes[0].ends_with("/providers/Microsoft.KeyVault/vaults/kv-prod-ade"),
        "{causes:?}"
    );
    let out = gate("plan", "ultra-disk", &["--format", "json"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let (_, _, causes) = &regressions(&json)[0];
    assert!(
        causes.contains(&"azurerm_managed_disk.web01_ultra_log".to_string()),
        "{causes:?}"
    );
}

#[test]
fn console_output_names_vm_cause_and_change() {
    for kind in ["plan", "what-if"] {
        let out = gate(kind, "keyvault-firewall", &[]);
        assert_eq!(out.code, 1);
        assert!(out.stdout.starts_with("GATE FAIL"), "{}", out.stdout);
        assert!(
            out.stdout
                .contains("vm-enc-01 [encryption/key-vault-firewall]"),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("caused by:"), "{}", out.stdout);
        let out = gate(kind, "harmless", &[]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.starts_with("GATE PASS"), "{}", out.stdout);
    }
    let out = gate("plan", "route-none", &[]);
    assert!(out
        .stdout
        .contains("vm-sql-02 [network/route-drops-required-path]"));
    assert!(out
        .stdout
        .contains("azurerm_route.default_blackhole (create)"));
}

#[test]
fn fail_on_moves_the_threshold() {
    // Only warnings regress when the NIC keeps its NSG out of the picture: the data-subnet
    // warnings make --fail-on warning fail, and --fail-on never always passes.
    let out = gate("plan", "nsg-deny-443", &["--fail-on", "never"]);
    assert_eq!(out.code, 0);
    let out = gate("plan", "harmless", &["--fail-on", "warning"]);
    assert_eq!(out.code, 0);
}

#[test]
fn a_plan_alone_is_evaluated_with_everything_outside_it_unknown() {
    let plan = path("fixtures/plans/ultra-disk.json");
    let out = run(&["gate", "--plan", &plan, "--format", "json"]);
    let json: Value = serde_json::from_str(&out.stdout).expect("json");
    // vm-web-01 is in the plan; its NIC, agent status, protection and locks are not.
    assert_eq!(json["summary"]["vms_evaluated"], 1, "{}", out.stdout);
    assert!(out.code == 3 || out.code == 1, "{}", out.code);
    assert!(json["baseline"].is_null());
    let unknown = json["unknown"].as_array().unwrap();
    assert!(
        unknown.iter().any(|u| u["vm_name"] == "vm-web-01"),
        "{}",
        out.stdout
    );
    // A plan with no VM in it says nothing could be evaluated, and exits 3.
    let plan = path("fixtures/plans/route-none.json");
    let out = run(&["gate", "--plan", &plan]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("nothing could be evaluated"),
        "{}",
        out.stdout
    );
}

#[test]
fn values_known_only_after_apply_are_unknown_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let text = std::fs::read_to_string(root().join("fixtures/plans/nsg-deny-443.json")).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    // The rule's destination comes from another resource's output: known only after apply.
    let change = &mut json["resource_changes"][1]["change"];
    change["after"]["destination_address_prefix"] = Value::Null;
    change["after_unknown"]["destination_address_prefix"] = Value::Bool(true);
    std::fs::write(&plan, json.to_string()).unwrap();
    let out = gate_file("--plan", plan.to_str().unwrap(), &["--format", "json"]);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    let unknown = report["unknown"].as_array().unwrap();
    let sql01 = unknown
        .iter()
        .find(|u| u["vm_name"] == "vm-sql-01")
        .unwrap_or_else(|| panic!("vm-sql-01 not unknown: {}", out.stdout));
    assert_eq!(
        sql01["known_after_apply"][0]["address"],
        "azurerm_network_security_rule.data_deny_internet_https"
    );
    assert!(sql01["known_after_apply"][0]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "destination_address_prefix"));
    assert!(
        !regressions(&report)
            .iter()
            .any(|(vm, _, _)| vm == "vm-sql-01"),
        "a guess, not unknown"
    );
}

/// A rule whose name is known only after apply (`name = "deny-${random_id.x.hex}"`) was refused
/// as bad input; it is placed under a stand-in name and judged on what is known.
#[test]
fn a_name_known_only_after_apply_is_placed_and_judged() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let text = std::fs::read_to_string(root().join("fixtures/plans/nsg-deny-443.json")).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    let change = &mut json["resource_changes"][1]["change"];
    change["after"]["name"] = Value::Null;
    change["after_unknown"]["name"] = Value::Bool(true);
    std::fs::write(&plan, json.to_string()).unwrap();
    let out = gate_file("--plan", plan.to_str().unwrap(), &["--format", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    let found = regressions(&report);
    let causes = entry_for(
        &found,
        "vm-sql-02",
        "network/nsg-blocks-required-path",
        "random rule name",
    );
    assert!(
        causes.contains(&"azurerm_network_security_rule.data_deny_internet_https".to_string()),
        "{causes:?}"
    );
}

#[test]
fn a_change_type_azure_adds_later_is_listed_not_refused() {
    let (_dir, file) = temp_file(
        "whatif.json",
        r#"{"changes": [{"resourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n", "changeType": "Explode"}]}"#,
    );
    let out = gate_file("--what-if", file.to_str().unwrap(), &["--format", "json"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    let listed = &report["not_evaluated"][0];
    assert_eq!(listed["change_type"], "Explode");
    assert_eq!(listed["mapped"], true);
    assert!(listed["reason"]
        .as_str()
        .unwrap()
        .contains("not one this version knows"));
}

#[test]
fn a_child_whose_parent_is_nowhere_leaves_the_run_incomplete() {
    // A rule for an NSG that neither the baseline nor the plan holds could be the one that
    // blocks backup: the gate cannot say "no regression" about it.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let text = std::fs::read_to_string(root().join("fixtures/plans/nsg-deny-443.json")).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    for change in json["resource_changes"].as_array_mut().unwrap() {
        if change["type"] == "azurerm_network_security_rule" {
            change["change"]["after"]["network_security_group_name"] = "nsg-not-read".into();
        }
    }
    std::fs::write(&plan, json.to_string()).unwrap();
    let out = gate_file("--plan", plan.to_str().unwrap(), &["--format", "json"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    let listed = report["not_evaluated"].as_array().unwrap();
    assert!(
        listed.iter().any(|n| n["address"]
            .as_str()
            .unwrap()
            .contains("azurerm_network_security_rule")
            && n["mapped"] == true
            && n["reason"].as_str().unwrap().contains("nsg-not-read")),
        "{listed:?}"
    );
    assert_eq!(
        report["summary"]["not_evaluated"].as_u64(),
        Some(listed.len() as u64)
    );
}

/// The gate reports what a scan of the same input reports about it: the objects it skipped, and
/// the references to resources it does not hold, which make the run incomplete (a NIC list that
/// was not exported is no network without NICs).
#[test]
fn skipped_objects_and_dangling_references_are_reported_and_dangling_ones_are_incomplete() {
    let plan = path("fixtures/plans/corpus/vm-tags-only.json");
    let run_gate = |baseline: &Path, format: &str| {
        let baseline = baseline.display().to_string();
        run(&[
            "gate",
            "--baseline",
            &baseline,
            "--plan",
            &plan,
            "--format",
            format,
        ])
    };
    let clean = run_gate(&demo(), "json");
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    let report = clean.json();
    assert!(report.get("skipped").is_none() && report.get("dangling_references").is_none());

    let dir = demo_with_dangling_nics_and_an_untyped_object();
    let run_gate = |format: &str| run_gate(dir.path(), format);
    let out = run_gate("json");
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["result"], "incomplete");
    let console = run_gate("console");
    assert_eq!(console.code, 3);
    assert_reports_dangling_nics_and_the_untyped_object(&report, &console.stdout);
}

#[test]
fn suppressions_mark_findings_and_expired_ones_fail() {
    let (_dir, file) = temp_file("suppressions.toml", "[[suppression]]\nrule = \"encryption/key-vault-firewall\"\nresource = \"*/kv-prod-ade\"\njustification = \"ADE vault moves to private endpoint, CHG-7\"\nexpires = 2099-12-31\n");
    let suppressions = file.display().to_string();
    let out = gate(
        "plan",
        "keyvault-firewall",
        &["--suppressions", &suppressions, "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        json["regressions"][0]["finding"]["suppressed"]["justification"],
        "ADE vault moves to private endpoint, CHG-7"
    );
    assert_eq!(json["summary"]["suppressed"], 1);
    let console = gate(
        "plan",
        "keyvault-firewall",
        &["--suppressions", &suppressions],
    );
    assert!(
        console.stdout.contains("SUPPRESSED vm-enc-01"),
        "{}",
        console.stdout
    );

    std::fs::write(
        &file,
        "[[suppression]]\nrule = \"encryption/key-vault-firewall\"\nresource = \"vm-enc-01\"\njustification = \"temporary\"\nexpires = 2020-01-31\n",
    )
    .unwrap();
    let out = gate("plan", "harmless", &["--suppressions", &suppressions]);
    assert_eq!(
        out.code, 1,
        "an expired suppression fails the gate: {}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("EXPIRED suppression of encryption/key-vault-firewall"),
        "{}",
        out.stdout
    );
}

#[test]
fn scan_accepts_suppressions() {
    let (_dir, file) = temp_file("s.toml", "[[suppression]]\nrule = \"*\"\nresource = \"*\"\njustification = \"lab fleet\"\nexpires = 2099-01-01\n");
    let demo = path("fixtures/fleets/demo");
    let out = run(&[
        "scan",
        "--snapshot",
        &demo,
        "--suppressions",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_ne!(out.code, 1, "every failure is suppressed: {}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let failing: Vec<&Value> = json["vms"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|vm| vm["findings"].as_array().unwrap())
        .collect();
    assert!(
        !failing.is_empty()
            && failing
                .iter()
                .all(|f| f["suppressed"]["justification"] == "lab fleet")
    );
}

fn bad_input(kind: &str, content: &str) -> Outcome {
    let (_dir, file) = temp_file("input.json", content);
    let flag = if kind == "plan" {
        "--plan"
    } else {
        "--what-if"
    };
    let out = gate_file(flag, file.to_str().unwrap(), &[]);
    assert_eq!(out.code, 2, "{}: {}", content, out.stderr);
    assert!(out.stderr.contains("input.json"), "{}", out.stderr);
    out
}

#[test]
fn bad_input_exits_2_naming_file_and_json_path() {
    let out = bad_input(
        "plan",
        "{\"format_version\": \"1.2\", \"resource_changes\": [",
    );
    assert!(out.stderr.contains("not valid JSON"), "{}", out.stderr);
    let out = bad_input(
        "plan",
        r#"{"format_version": "1.2", "resource_changes": [{"address": "azurerm_managed_disk.d", "type": "azurerm_managed_disk", "mode": "managed", "change": {"actions": ["create"], "before": null, "after": {"name": "d", "resource_group_name": "rg-web-prod", "disk_size_gb": "big"}}}]}"#,
    );
    assert!(
        out.stderr
            .contains("resource_changes[0].change.after.disk_size_gb"),
        "{}",
        out.stderr
    );
    let out = bad_input(
        "plan",
        r#"{"format_version": "1.2", "resource_changes": [{"address": "azurerm_route.r", "type": "azurerm_route", "mode": "managed", "change": {"actions": "create"}}]}"#,
    );
    assert!(
        out.stderr.contains("resource_changes[0].change.actions"),
        "{}",
        out.stderr
    );
    let out = bad_input("plan", r#"{"resources": []}"#);
    assert!(
        out.stderr.contains("not a Terraform plan"),
        "{}",
        out.stderr
    );
    let out = bad_input(
        "what-if",
        r#"{"changes": [{"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", "changeType": "Create", "after": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", "type": "Microsoft.Compute/disks", "properties": {"diskSizeGB": "large"}}}]}"#,
    );
    assert!(
        out.stderr
            .contains("changes[0].after.properties.diskSizeGB"),
        "{}",
        out.stderr
    );
    let out = bad_input("what-if", r#"[1, 2]"#);
    assert!(out.stderr.contains("no `changes` array"), "{}", out.stderr);
}

#[test]
fn plan_and_what_if_are_exclusive_and_one_is_required() {
    let baseline = path("fixtures/fleets/demo");
    assert_eq!(run(&["gate", "--baseline", &baseline]).code, 2);
    let plan = path("fixtures/plans/harmless.json");
    let what_if = path("fixtures/whatif/harmless.json");
    assert_eq!(
        run(&["gate", "--plan", &plan, "--what-if", &what_if]).code,
        2
    );
}

fn sarif_validator() -> jsonschema::Validator {
    // The SARIF 2.1.0 schema (the rtm.5 text schemastore publishes for 2.1.0), vendored.
    schema::validator("sarif-schema-2.1.0-rtm.5.json")
}

fn assert_valid_sarif(validator: &jsonschema::Validator, text: &str) -> Value {
    let log: Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors = schema::violations(validator, &log);
    assert!(errors.is_empty(), "SARIF does not validate: {errors:?}");
    log
}

#[test]
fn sarif_validates_and_locates_results_at_the_change() {
    let validator = sarif_validator();
    every_fixture("sarif", |label, scenario, out| {
        assert_eq!(out.code, scenario.exit, "{label}");
        let log = assert_valid_sarif(&validator, &out.stdout);
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert!(
            rules.len() > 40
                && rules
                    .iter()
                    .all(|r| r["help"]["text"].as_str().is_some_and(|t| !t.is_empty()))
        );
        let results = run["results"].as_array().unwrap();
        for (vm, rule) in scenario.regressions {
            let result = results
                .iter()
                .find(|r| {
                    r["ruleId"] == *rule
                        && r["message"]["text"]
                            .as_str()
                            .unwrap()
                            .starts_with(&format!("{vm}:"))
                })
                .unwrap_or_else(|| panic!("{label}: no SARIF result {vm} {rule}"));
            let location = &result["locations"][0];
            assert!(location["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{}.json", scenario.name)));
            assert!(
                location["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap()
                    > 1
            );
            assert!(location["logicalLocations"][0]["fullyQualifiedName"]
                .as_str()
                .is_some());
        }
    });
    let out = gate("plan", "route-none", &["--format", "sarif"]);
    let mut log: Value = serde_json::from_str(&out.stdout).unwrap();
    // The validation is real: a level SARIF does not define fails it.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(
        validator.iter_errors(&broken).next().is_some(),
        "the schema catches a bad level"
    );
    log["runs"][0]["results"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "azurerm_route.default_blackhole"
    );
    let plan = std::fs::read_to_string(root().join("fixtures/plans/route-none.json")).unwrap();
    let line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap() as usize;
    assert!(plan
        .lines()
        .nth(line - 1)
        .unwrap()
        .contains("\"address\": \"azurerm_route.default_blackhole\""));
}

#[test]
fn sarif_keeps_suppressed_results_and_scan_renders_it_too() {
    let validator = sarif_validator();
    let (_dir, file) = temp_file("s.toml", "[[suppression]]\nrule = \"encryption/*\"\nresource = \"vm-enc-01\"\njustification = \"accepted for the migration\"\nexpires = 2099-01-01\n");
    let out = gate(
        "plan",
        "keyvault-firewall",
        &[
            "--format",
            "sarif",
            "--suppressions",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0);
    let log = assert_valid_sarif(&validator, &out.stdout);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["suppressions"][0]["status"], "accepted");
    assert!(result["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .contains("accepted for the migration"));

    let demo = path("fixtures/fleets/demo");
    let out = run(&["scan", "--snapshot", &demo, "--format", "sarif"]);
    assert_eq!(out.code, 1);
    let log = assert_valid_sarif(&validator, &out.stdout);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "network/nsg-blocks-required-path"
            && r["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("vm-sql-02:")));
}

/// (suite, case, failure message) for every failing test case of a JUnit report, and the
/// total number of test cases; checks the counts the root element declares.
fn parse_junit(text: &str) -> (Vec<(String, String, String)>, usize) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut suite, mut case) = (String::new(), String::new());
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut declared = (0usize, 0usize);
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> String {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name.as_bytes())
            .map(|a| a.unescape_value().unwrap().into_owned())
            .unwrap_or_default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuites" => {
                    declared = (
                        attr(&e, "tests").parse().unwrap(),
                        attr(&e, "failures").parse().unwrap(),
                    )
                }
                b"testsuite" => suite = attr(&e, "name"),
                b"testcase" => {
                    cases += 1;
                    case = attr(&e, "name");
                }
                b"failure" => failures.push((suite.clone(), case.clone(), attr(&e, "message"))),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(
        declared,
        (cases, failures.len()),
        "declared counts match the cases"
    );
    (failures, cases)
}

#[test]
fn junit_parses_with_a_failure_per_regression() {
    every_fixture("junit", |label, scenario, out| {
        assert_eq!(out.code, scenario.exit, "{label}");
        let (failures, cases) = parse_junit(&out.stdout);
        for (vm, rule) in scenario.regressions {
            let message = entry_for(&failures, vm, rule, label);
            assert!(message.contains("caused by"), "{message}");
        }
        if scenario.regressions.is_empty() {
            assert!(failures.is_empty(), "{failures:?}");
        } else {
            assert!(cases > failures.len(), "passing rules are test cases too");
        }
    });
    let demo = path("fixtures/fleets/demo");
    let out = run(&["scan", "--snapshot", &demo, "--format", "junit"]);
    let (failures, cases) = parse_junit(&out.stdout);
    assert!(failures
        .iter()
        .any(|(s, c, _)| s == "vm-hana-01" && c == "network/route-drops-required-path"));
    assert!(cases >= 21 * 40);
}

#[test]
fn markdown_names_vm_rule_and_change() {
    every_fixture("markdown", |label, scenario, out| {
        assert_eq!(out.code, scenario.exit, "{label}");
        let first = out.stdout.lines().next().unwrap();
        if scenario.exit == 1 {
            assert!(first.contains("fails the backup gate"), "{first}");
        } else {
            assert!(first.contains("passes the backup gate"), "{first}");
        }
        for (vm, rule) in scenario.regressions {
            assert!(
                out.stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("| {vm} | `{rule}` |"))),
                "{label}: no row {vm} {rule}\n{}",
                out.stdout
            );
        }
    });
    let out = gate("plan", "subscription-lock", &["--format", "markdown"]);
    assert!(out
        .stdout
        .contains("`azurerm_management_lock.subscription` (create)"));
    let demo = path("fixtures/fleets/demo");
    let out = run(&["scan", "--snapshot", &demo, "--format", "markdown"]);
    assert!(
        out.stdout.contains("| vm-sql-02 | fail | network |"),
        "{}",
        out.stdout
    );
}
