//! The readiness check run the way users run it, on the demo fleet: the answers per VM (ready,
//! not ready at the right layer, already protected), how the vault and policy change them, the
//! JSON document against its schema, exit codes, and bad names (exit 2, naming the fix).

use backup_doctor_testkit::binary::{arg, run, run_refused};
use backup_doctor_testkit::fixtures::{
    assert_reports_dangling_nics_and_the_untyped_object, custom_rule, demo,
    demo_with_dangling_nics_and_an_untyped_object, root, temp_file,
};
use backup_doctor_testkit::json::{self, vm};
use backup_doctor_testkit::schema;
use serde_json::Value;

/// `check --format json` on the demo fleet with `extra` arguments: (document, exit code).
fn check_json(extra: &[&str]) -> (Value, i32) {
    let demo = demo();
    let mut args = vec!["check", "--snapshot", arg(&demo), "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    (out.json(), out.code)
}

fn fix_order(vm: &Value) -> Vec<&str> {
    json::strings(&vm["fix_order"], "rule")
}

fn rules(vm: &Value) -> Vec<&str> {
    json::strings(&vm["findings"], "rule")
}

const MIXED: &[&str] = &[
    "--vm",
    "vm-app-01",
    "vm-app-02",
    "vm-analytics-01",
    "vm-cluster-02",
    "--vm",
    "vm-web-01",
];

#[test]
fn each_vm_gets_its_answer() {
    let (document, code) = check_json(MIXED);
    assert_eq!(code, 1, "not-ready VMs fail the check: {document:#}");
    assert_eq!(document["schema"], "backup-doctor/check/v1");

    let ready = vm(&document, "vm-app-01");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["answer"], "ready");
    assert_eq!(ready["vault"]["name"], "rsv-prod-weu");
    assert_eq!(ready["policy_type"], "Standard");
    assert!(fix_order(ready).is_empty());

    let agent = vm(&document, "vm-app-02");
    assert_eq!(agent["status"], "not-ready");
    assert_eq!(agent["root_cause"], "agent");
    assert_eq!(fix_order(agent), ["agent/not-ready"]);
    let answer = agent["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("not ready because VM agent reports 'Not Ready'")
            && answer.contains("fix in this order: 1. agent/not-ready"),
        "{answer}"
    );

    let ultra = vm(&document, "vm-analytics-01");
    assert_eq!(ultra["status"], "not-ready");
    assert_eq!(ultra["root_cause"], "snapshot");
    assert_eq!(fix_order(ultra), ["snapshot/unsupported-disk-type"]);
    assert!(ultra["fix_order"][0]["message"]
        .as_str()
        .unwrap()
        .contains("vm-analytics-01-ultra (UltraSSD_LRS)"));

    let shared = vm(&document, "vm-cluster-02");
    assert_eq!(shared["status"], "not-ready");
    assert_eq!(
        shared["vault"]["name"], "rsv-dev-eus",
        "a vault of its own region"
    );
    assert_eq!(fix_order(shared), ["snapshot/shared-disk"]);

    let protected = vm(&document, "vm-web-01");
    assert_eq!(protected["status"], "already-protected");
    assert_eq!(protected["vault"]["name"], "rsv-prod-weu");
    assert_eq!(protected["policy"], "DefaultPolicy");
    assert_eq!(protected["policy_type"], "Standard");
    assert!(protected["findings"].as_array().unwrap().is_empty());
    assert!(protected["answer"]
        .as_str()
        .unwrap()
        .starts_with("already protected by vault rsv-prod-weu"));

    let summary = &document["summary"];
    assert_eq!(
        (
            &summary["vms"],
            &summary["ready"],
            &summary["not_ready"],
            &summary["already_protected"]
        ),
        (&5.into(), &1.into(), &3.into(), &1.into())
    );
}

#[test]
fn findings_come_in_pipeline_order_and_rules_about_existing_protection_stay_out() {
    // vm-tx-01 is mid-stop; a vault of another region adds a vault-layer finding after it.
    let (document, code) = check_json(&["--vm", "vm-tx-01", "--vault", "rsv-dev-wus2"]);
    assert_eq!(code, 1);
    let tx = vm(&document, "vm-tx-01");
    assert_eq!(
        fix_order(tx),
        ["snapshot/vm-transitional-state", "vault/region-mismatch"]
    );
    assert_eq!(tx["root_cause"], "snapshot");
    assert!(tx["answer"]
        .as_str()
        .unwrap()
        .contains("fix in this order: 1. snapshot/vm-transitional-state (snapshot), 2. vault/region-mismatch (vault)"));
    for vm in document["vms"].as_array().unwrap() {
        for rule in rules(vm) {
            assert!(
                ![
                    "vault/protection-stopped",
                    "vault/job-evidence",
                    "snapshot/job-evidence",
                    "vault/job-in-progress",
                    "snapshot/policy-denied"
                ]
                .contains(&rule),
                "{rule} judges an existing protection"
            );
        }
    }
}

#[test]
fn a_vault_of_another_region_and_subscription_is_not_ready() {
    let (document, code) = check_json(&["--vm", "vm-app-01", "--vault", "rsv-dev-eus"]);
    assert_eq!(code, 1);
    let app = vm(&document, "vm-app-01");
    assert_eq!(app["status"], "not-ready");
    assert_eq!(
        fix_order(app),
        ["vault/region-mismatch", "vault/subscription-mismatch"]
    );
    assert_eq!(app["vault"]["location"], "eastus");
    assert!(document["proposal"]["vault"]
        .as_str()
        .unwrap()
        .ends_with("/vaults/rsv-dev-eus"));

    // The same VM with the vault of its region, named by id, is ready.
    let id = "/subscriptions/3f0c9931-918c-40bf-9670-c342c6cce996/resourceGroups/rg-backup-prod/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu";
    let (document, code) = check_json(&["--vm", "vm-app-01", "--vault", id]);
    assert_eq!(code, 0, "{document:#}");
    assert_eq!(vm(&document, "vm-app-01")["status"], "ready");
}

#[test]
fn the_policy_type_decides_for_an_ultra_disk() {
    let (standard, code) = check_json(&["--vm", "vm-analytics-01", "--policy", "standard"]);
    assert_eq!(code, 1);
    assert_eq!(vm(&standard, "vm-analytics-01")["status"], "not-ready");

    let (enhanced, code) = check_json(&["--vm", "vm-analytics-01", "--policy", "enhanced"]);
    assert_eq!(code, 0, "{enhanced:#}");
    let analytics = vm(&enhanced, "vm-analytics-01");
    assert_eq!(analytics["status"], "ready");
    assert_eq!(analytics["policy_type"], "Enhanced");

    // A policy named by name carries its type: EnhancedPolicy-4h is V2, DefaultPolicy is not.
    let (named, code) = check_json(&["--vm", "vm-analytics-01", "--policy", "EnhancedPolicy-4h"]);
    assert_eq!(code, 0);
    let analytics = vm(&named, "vm-analytics-01");
    assert_eq!(analytics["policy"], "EnhancedPolicy-4h");
    assert_eq!(analytics["policy_type"], "Enhanced");
    let (named, code) = check_json(&["--vm", "vm-analytics-01", "--policy", "defaultpolicy"]);
    assert_eq!(code, 1);
    assert_eq!(vm(&named, "vm-analytics-01")["policy_type"], "Standard");
}

#[test]
fn a_resource_group_selects_its_vms() {
    let (document, _) = check_json(&["--resource-group", "rg-app-prod"]);
    let mut names = json::strings(&document["vms"], "name");
    names.sort();
    assert_eq!(names, ["vm-analytics-01", "vm-app-01", "vm-app-02"]);
}

#[test]
fn the_json_document_matches_its_schema() {
    let validator = schema::validator("check-v1.schema.json");
    for extra in [
        MIXED,
        &["--vm", "vm-app-01", "--vault", "rsv-dev-eus"][..],
        &[
            "--resource-group",
            "rg-cluster-dev",
            "rg-test-dev",
            "--policy",
            "enhanced",
        ][..],
    ] {
        let (document, _) = check_json(extra);
        let errors = schema::violations(&validator, &document);
        assert!(errors.is_empty(), "{extra:?}: {errors:#?}");
    }
    // The finding objects are the scan report's: both schemas define them alike.
    let check = json::read(root().join("schemas/check-v1.schema.json"));
    let report = json::read(root().join("schemas/report-v1.schema.json"));
    assert_eq!(check["$defs"]["finding"], report["$defs"]["finding"]);
}

#[test]
fn the_console_answers_and_lists_the_fixes_in_order() {
    let demo = demo();
    let mut args = vec!["check", "--snapshot", arg(&demo)];
    args.extend_from_slice(MIXED);
    let out = run(&args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let text = out.stdout;
    assert!(text.contains("READY vm-app-01"), "{text}");
    assert!(text.contains("NOT READY vm-app-02"), "{text}");
    assert!(text.contains("  1. [agent] agent/not-ready: VM agent reports 'Not Ready'"));
    assert!(text.contains("     fix: 1. Connect to the VM and restart the guest agent"));
    assert!(text.contains("PROTECTED vm-web-01"));
    assert!(text.contains("5 VMs: 1 ready, 3 not ready, 0 cannot tell, 1 already protected"));
    assert!(text.contains("not checked by a readiness check:"));
}

#[test]
fn exit_codes_follow_fail_on_and_ready_vms_exit_0() {
    let (_, code) = check_json(&["--vm", "vm-app-01", "vm-web-01"]);
    assert_eq!(code, 0);
    let (_, code) = check_json(&["--vm", "vm-app-02", "--fail-on", "never"]);
    assert_eq!(code, 0);
}

#[test]
fn an_unreadable_fact_makes_the_answer_cannot_tell_with_exit_3() {
    // Locks of the VM's subscription unread: the restore-point and subscription lock checks
    // cannot be decided, so the otherwise ready VM is not called ready.
    let (_dir, manifest) = temp_file(
        "snapshot.json",
        r#"{"schema": "backup-doctor/snapshot/v1", "created": "2026-11-24T06:00:00Z",
            "gaps": [{"scope": "/subscriptions/3f0c9931-918c-40bf-9670-c342c6cce996",
                      "what": "Microsoft.Authorization/locks", "reason": "AuthorizationFailed (403)"}]}"#,
    );
    let (document, code) = check_json(&[
        "--snapshot",
        manifest.to_str().unwrap(),
        "--vm",
        "vm-app-01",
    ]);
    assert_eq!(code, 3, "{document:#}");
    assert_eq!(document["complete"], false);
    let app = vm(&document, "vm-app-01");
    assert_eq!(app["status"], "unknown");
    let answer = app["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("cannot tell: vm.locks (locks could not be read"),
        "{answer}"
    );
}

/// A check reports what a scan reports about its input: the objects it skipped, and references
/// to resources it does not hold, which make it incomplete (the NICs of a subscription were not
/// exported: no VM of it can be called ready on its network).
#[test]
fn skipped_objects_and_dangling_references_make_the_check_say_so() {
    let dir = demo_with_dangling_nics_and_an_untyped_object();
    let snapshot = dir.path().display().to_string();
    let args = ["check", "--snapshot", &snapshot, "--vm", "vm-app-01"];
    let out = run(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let document = out.json();
    assert_eq!(document["complete"], false);
    assert_eq!(
        schema::violations(&schema::validator("check-v1.schema.json"), &document),
        Vec::<String>::new()
    );
    let console = run(&args);
    assert_eq!(console.code, 3);
    assert_reports_dangling_nics_and_the_untyped_object(&document, &console.stdout);
}

fn assert_bad_input(extra: &[&str], must_contain: &[&str]) {
    let demo = demo();
    let mut args = vec!["check", "--snapshot", arg(&demo)];
    args.extend_from_slice(extra);
    let out = run_refused(&args, must_contain);
    assert!(out.stdout.is_empty(), "no report on bad input");
}

#[test]
fn bad_names_exit_2_naming_them_and_the_fix() {
    assert_bad_input(
        &["--vm", "vm-nope"],
        &["--vm", "no VM named `vm-nope`", "fix:", "vm-app-01"],
    );
    assert_bad_input(
        &["--resource-group", "rg-nope"],
        &[
            "--resource-group",
            "no resource group named `rg-nope`",
            "rg-app-prod",
        ],
    );
    assert_bad_input(
        &["--resource-group", "rg-backup-prod"],
        &["resource group `rg-backup-prod` has no VMs"],
    );
    assert_bad_input(
        &["--vm", "vm-app-01", "--vault", "rsv-nope"],
        &[
            "--vault",
            "no Recovery Services vault `rsv-nope`",
            "rsv-prod-weu",
        ],
    );
    assert_bad_input(
        &["--vm", "vm-app-01", "--policy", "Gold"],
        &["--policy", "no backup policy named `Gold`", "DefaultPolicy"],
    );
    assert_bad_input(
        &[
            "--vm",
            "vm-app-01",
            "--vault",
            "rsv-prod-weu",
            "--policy",
            "HANA-Daily-Log15m",
        ],
        &["no backup policy named `HANA-Daily-Log15m` in vault rsv-prod-weu"],
    );
    assert_bad_input(
        &["--vm", "vm-app-01", "--policy", "SQL-Daily-Log15m"],
        &["not one for Azure VMs"],
    );
    // Neither --vm nor --resource-group: a usage error.
    assert_bad_input(&[], &["--vm"]);
}

/// A rule that reads readiness facts, and says so.
fn readiness_rule() -> String {
    custom_rule(
        "vault/my-readiness",
        Some("readiness"),
        "size(vm.readiness.vaults_in_region) > 0",
        "{vm.readiness.vaults_in_region}",
    )
}

#[test]
fn custom_rules_say_where_they_apply() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().to_str().unwrap();
    std::fs::write(dir.path().join("r.toml"), readiness_rule()).unwrap();
    // A readiness rule runs in a check and not in a scan.
    let (document, code) = check_json(&["--rules", rules, "--vm", "vm-app-01"]);
    assert_eq!(
        code, 0,
        "a warning does not fail with --fail-on error: {document:#}"
    );
    let app = vm(&document, "vm-app-01");
    assert_eq!(app["status"], "ready");
    assert_eq!(app["answer"], "ready (warnings: vault/my-readiness)");
    let demo = demo();
    let scan = run(&[
        "scan",
        "--snapshot",
        arg(&demo),
        "--rules",
        rules,
        "--format",
        "json",
    ]);
    assert!(!scan.stdout.contains("vault/my-readiness"));

    // Reading vm.readiness without saying so is a load error naming the fix.
    std::fs::write(
        dir.path().join("r.toml"),
        readiness_rule().replace("applies_to = \"readiness\"\n", ""),
    )
    .unwrap();
    assert_bad_input(
        &["--rules", rules, "--vm", "vm-app-01"],
        &["r.toml", "vm.readiness", "applies_to = \"readiness\""],
    );
}

#[test]
fn a_deny_policy_on_what_backup_creates_makes_the_vm_not_ready() {
    // The default naming finds AzureBackupRG_eastus_1 in place and the untagged restore point
    // collection there is exempted, so no deny applies.
    let (standard, _) = check_json(&["--vm", "vm-cluster-02", "--policy", "standard"]);
    assert!(!rules(vm(&standard, "vm-cluster-02")).contains(&"snapshot/deny-policy"));

    // A policy with its own resource group naming makes Backup create a new, untagged group,
    // and the restore point collection in it is not exempted: two assignments deny.
    let (custom, code) = check_json(&["--vm", "vm-cluster-02", "--policy", "Daily-CustomRG"]);
    assert_eq!(code, 1);
    let cluster = vm(&custom, "vm-cluster-02");
    assert_eq!(cluster["status"], "not-ready");
    assert_eq!(fix_order(cluster)[0], "snapshot/deny-policy", "{cluster:#}");
    let finding = json::find(&cluster["findings"], "rule", "snapshot/deny-policy");
    let message = finding["message"].as_str().unwrap();
    for expected in [
        "resource group rg-dev-restorepoints-1",
        "Resource groups need an owner tag",
        "restore point collection AzureBackup_vm-cluster-02_1",
        "Deny resources without an owner tag",
    ] {
        assert!(
            message.contains(expected),
            "{expected} missing from {message}"
        );
    }
    // The management-group assignments (allowed regions, costCenter tag for Corp only, an
    // audit-only initiative) and the prod subscription's DoNotEnforce trial do not deny.
    for not_expected in [
        "approved regions",
        "costCenter",
        "tag governance",
        "North Europe",
    ] {
        assert!(
            !message.contains(not_expected),
            "{not_expected} in {message}"
        );
    }
    assert!(
        !custom["not_checked"]
            .to_string()
            .contains("policy assignments are not read"),
        "{}",
        custom["not_checked"]
    );
}
