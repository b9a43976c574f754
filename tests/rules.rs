//! Every rule is run on its own fixtures, the way ruff and PSRule test rules: a healthy base
//! fleet (`fixtures/rules/base`) with one file laid over it per case. `fail*.json` must make the
//! rule fail for the VM the case names; `pass*.json` must make it pass (not merely not fail) for
//! every VM; `unknown*.json` (optional) must leave it undecided for some VM, because the data it
//! needs cannot be read. Failing findings are pinned with insta so a change of message is a reviewed change.
//! Rules that judge a proposed protection (`applies_to = "readiness"`) run as a readiness check
//! of every VM the case leaves unprotected, with the vault and policy `proposal.json` gives the
//! case (`{"fail.json": {"vault": "<id>", "policy": "enhanced"}}`; default: no vault, standard).

use backup_doctor::codes::CodeBook;
use backup_doctor::engine::rule::AppliesTo;
use backup_doctor::engine::{Engine, Rule, RuleSet};
use backup_doctor::outcome::{Readiness, Report, Status};
use backup_doctor::resolve::readiness::{PolicyChoice, Proposal};
use backup_doctor::resolve::Options;
use backup_doctor::source::snapshot;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases(rule_id: &str) -> Vec<PathBuf> {
    let dir = root().join("fixtures/rules").join(rule_id);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|_| {
            panic!(
                "rule {rule_id} has no fixtures: create {}/fail.json and pass.json",
                dir.display()
            )
        })
        .map(|e| e.expect("readable fixture directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn run(case: &Path) -> Report {
    let inventory =
        snapshot::load_layers(&[root().join("fixtures/rules/base"), case.to_path_buf()])
            .unwrap_or_else(|e| panic!("fixture {} does not load: {e}", case.display()));
    let codes = CodeBook::builtin().expect("built-in error codes load");
    let engine = Engine::new(RuleSet::load(&[]).expect("built-in rules load"));
    backup_doctor::commands::scan::evaluate(&inventory, &engine, &codes, &Options::default())
}

/// The proposal of a readiness case, from the rule's `proposal.json`.
fn proposal_for(case: &Path) -> Proposal {
    let file = case.with_file_name("proposal.json");
    let proposals: serde_json::Value = match std::fs::read_to_string(&file) {
        Ok(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display())),
        Err(_) => serde_json::Value::Null,
    };
    let entry = &proposals[file_name(case)];
    Proposal {
        vault: entry["vault"].as_str().map(String::from),
        policy: PolicyChoice::parse(entry["policy"].as_str().unwrap_or("standard")),
    }
}

/// The outcome of `rule` on a case, in the kind of run that evaluates it.
fn outcomes_of(rule: &Rule, case: &Path) -> Vec<(String, Status, String)> {
    if rule.applies_to != AppliesTo::Readiness {
        return outcomes(&run(case), &rule.id);
    }
    let inventory =
        snapshot::load_layers(&[root().join("fixtures/rules/base"), case.to_path_buf()])
            .unwrap_or_else(|e| panic!("fixture {} does not load: {e}", case.display()));
    let codes = CodeBook::builtin().expect("built-in error codes load");
    let engine = Engine::for_readiness_check(RuleSet::load(&[]).expect("built-in rules load"));
    let vms: Vec<_> = inventory.vms.values().collect();
    let report = backup_doctor::commands::check::evaluate(
        &inventory,
        &engine,
        &codes,
        &Options::default(),
        &proposal_for(case),
        &vms,
    );
    let evaluated: Vec<_> = report
        .vms
        .iter()
        .filter(|vm| vm.status != Readiness::AlreadyProtected)
        .map(|vm| match vm.findings.iter().find(|f| f.rule == rule.id) {
            Some(finding) => (vm.name.clone(), finding.status, finding.message.clone()),
            None => (vm.name.clone(), Status::Pass, String::new()),
        })
        .collect();
    assert!(
        !evaluated.is_empty(),
        "{}: a readiness case needs a VM that is not protected",
        case.display()
    );
    evaluated
}

/// The outcome of `rule_id` for every VM: (vm name, status, message).
fn outcomes(report: &Report, rule_id: &str) -> Vec<(String, Status, String)> {
    report
        .vms
        .iter()
        .map(|vm| match vm.findings.iter().find(|f| f.rule == rule_id) {
            Some(finding) => (vm.name.clone(), finding.status, finding.message.clone()),
            None => (vm.name.clone(), Status::Pass, String::new()),
        })
        .collect()
}

#[test]
fn base_fleet_is_healthy() {
    let report = run(&root().join("fixtures/rules/base"));
    for vm in &report.vms {
        let failing: Vec<_> = vm
            .findings
            .iter()
            .filter(|f| f.status != Status::Pass)
            .map(|f| (&f.rule, f.status, &f.message))
            .collect();
        assert!(
            failing.is_empty(),
            "base VM {} is not clean: {failing:?}",
            vm.name
        );
    }
}

#[test]
fn every_rule_fails_and_passes_on_its_fixtures() {
    let rules = RuleSet::load(&[]).expect("built-in rules load");
    let mut problems = Vec::new();
    let mut pinned = Vec::new();
    for rule in &rules.rules {
        let files = cases(&rule.id);
        let fails: Vec<_> = files
            .iter()
            .filter(|f| file_name(f).starts_with("fail"))
            .collect();
        let passes: Vec<_> = files
            .iter()
            .filter(|f| file_name(f).starts_with("pass"))
            .collect();
        if fails.is_empty() || passes.is_empty() {
            problems.push(format!(
                "{}: needs at least one fail*.json and one pass*.json",
                rule.id
            ));
            continue;
        }
        for case in fails {
            let results = outcomes_of(rule, case);
            let failing: Vec<_> = results
                .iter()
                .filter(|(_, s, _)| *s == Status::Fail)
                .collect();
            if failing.is_empty() {
                problems.push(format!(
                    "{}: {} should make it fail, got {results:?}",
                    rule.id,
                    case.display()
                ));
            }
            for (vm, _, message) in failing {
                pinned.push(format!("{} [{}] {vm}: {message}", rule.id, file_name(case)));
            }
        }
        for case in files.iter().filter(|f| file_name(f).starts_with("unknown")) {
            let results = outcomes_of(rule, case);
            if !results.iter().any(|(_, s, _)| *s == Status::Unknown) {
                problems.push(format!(
                    "{}: {} should leave it unknown, got {results:?}",
                    rule.id,
                    case.display()
                ));
            }
            if results.iter().any(|(_, s, _)| *s == Status::Fail) {
                problems.push(format!(
                    "{}: {} must not make it fail, got {results:?}",
                    rule.id,
                    case.display()
                ));
            }
        }
        for case in passes {
            for (vm, status, message) in outcomes_of(rule, case) {
                if status != Status::Pass {
                    problems.push(format!(
                        "{}: {} should pass for {vm}, got {status:?}: {message}",
                        rule.id,
                        case.display()
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "rule fixtures disagree with the rules:\n{}",
        problems.join("\n")
    );
    insta::assert_snapshot!("failing_findings", pinned.join("\n"));
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
