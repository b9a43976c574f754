//! The plan corpus (fixtures/plans/corpus): plans shaped the way teams write Terraform for Azure
//! (modules two deep, count and for_each, random names, data sources, moves, imports, drift,
//! deposed objects, every JSON format version, PowerShell's UTF-16 output), each with the verdict
//! it must get in `<name>.expect.toml`. Every plan is gated over the demo fleet and alone; none
//! may be refused (exit 2) or panic, and each must give its exit code, exactly the (VM, rule)
//! regressions it lists and exactly the VMs it makes unknown.

use backup_doctor_testkit::binary::run;
use backup_doctor_testkit::fixtures::root;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    root().join("fixtures/plans/corpus")
}

/// The plans of the corpus, by name, each with its expectation file, failing on a plan
/// without one or an expectation without its plan.
fn plans() -> Vec<(String, PathBuf, toml::Table)> {
    let mut plans = Vec::new();
    let mut expectations = BTreeSet::new();
    for entry in std::fs::read_dir(corpus()).expect("the corpus folder exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".expect.toml") {
            expectations.insert(stem.to_string());
        } else if let Some(stem) = name.strip_suffix(".json") {
            let expect = corpus().join(format!("{stem}.expect.toml"));
            let text = std::fs::read_to_string(&expect)
                .unwrap_or_else(|e| panic!("{stem}.json needs {}: {e}", expect.display()));
            let table: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}", expect.display()));
            plans.push((stem.to_string(), path, table));
        }
    }
    for stem in &expectations {
        assert!(
            plans.iter().any(|(name, _, _)| name == stem),
            "{stem}.expect.toml has no plan"
        );
    }
    plans.sort_by(|a, b| a.0.cmp(&b.0));
    plans
}

fn strings(table: &toml::Table, key: &str, label: &str) -> BTreeSet<String> {
    table
        .get(key)
        .and_then(|v| v.as_array())
        .unwrap_or_else(|| panic!("{label}: `{key}` must be an array"))
        .iter()
        .map(|v| v.as_str().expect("strings").to_string())
        .collect()
}

/// The gate's answer as (exit code, "vm rule" regressions, VMs with unknown findings).
fn gate(plan: &Path, baseline: bool, label: &str) -> (i32, BTreeSet<String>, BTreeSet<String>) {
    let demo = root().join("fixtures/fleets/demo");
    let plan = plan.display().to_string();
    let demo = demo.display().to_string();
    let mut args = vec!["gate", "--plan", &plan, "--format", "json"];
    if baseline {
        args.extend(["--baseline", &demo]);
    }
    let out = run(&args);
    assert!(
        matches!(out.code, 0 | 1 | 3),
        "{label}: every plan Terraform writes is evaluated, never refused; exit {}: {}",
        out.code,
        out.stderr
    );
    let json: Value = out.json();
    let named = |key: &str, with_rule: bool| -> BTreeSet<String> {
        json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: no {key} array"))
            .iter()
            .map(|r| {
                let vm = r["vm_name"].as_str().unwrap_or_default();
                match with_rule {
                    true => format!("{vm} {}", r["finding"]["rule"].as_str().unwrap_or_default()),
                    false => vm.to_string(),
                }
            })
            .collect()
    };
    (
        out.code,
        named("regressions", true),
        named("unknown", false),
    )
}

#[test]
fn every_corpus_plan_is_evaluated_with_its_expected_verdict() {
    let plans = plans();
    assert!(plans.len() >= 30, "the corpus holds {} plans", plans.len());
    let mut failures = Vec::new();
    for (name, path, expect) in &plans {
        for (section, baseline) in [("baseline", true), ("alone", false)] {
            let label = format!("{name} ({section})");
            let wanted = expect
                .get(section)
                .and_then(|s| s.as_table())
                .unwrap_or_else(|| panic!("{label}: no [{section}] in the expectation"));
            let exit = wanted.get("exit").and_then(|e| e.as_integer());
            let broken = strings(wanted, "broken", &label);
            let unknown = strings(wanted, "unknown", &label);
            let got = gate(path, baseline, &label);
            if (Some(i64::from(got.0)), &got.1, &got.2) != (exit, &broken, &unknown) {
                failures.push(format!(
                    "{label}: expected exit {exit:?}, broken {broken:?}, unknown {unknown:?}; got exit {}, broken {:?}, unknown {:?}",
                    got.0, got.1, got.2
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The corpus keeps covering every shape the issue lists; removing the last plan of a kind
/// fails here rather than silently narrowing what the gate is tested on.
#[test]
fn the_corpus_covers_every_shape_of_real_plans() {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut versions = BTreeSet::new();
    let mut breaking = 0;
    for (_, path, expect) in plans() {
        let bytes = std::fs::read(&path).unwrap();
        if bytes.starts_with(&[0xFF, 0xFE]) {
            seen.insert("utf-16 le with bom");
        }
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            seen.insert("utf-8 with bom");
        }
        let text = match bytes.starts_with(&[0xFF, 0xFE]) {
            true => {
                let units: Vec<u16> = bytes[2..]
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).unwrap()
            }
            false => String::from_utf8_lossy(&bytes)
                .trim_start_matches('\u{feff}')
                .to_string(),
        };
        let plan: Value = serde_json::from_str(&text).unwrap();
        versions.insert(plan["format_version"].as_str().unwrap().to_string());
        for (key, shape) in [
            ("resource_drift", "resource_drift"),
            ("prior_state", "prior_state"),
            ("relevant_attributes", "relevant_attributes"),
        ] {
            if plan.get(key).is_some() {
                seen.insert(shape);
            }
        }
        for change in plan["resource_changes"].as_array().unwrap() {
            let address = change["address"].as_str().unwrap();
            let checks = [
                ("deposed", change.get("deposed").is_some()),
                ("previous_address", change.get("previous_address").is_some()),
                ("importing", change["change"].get("importing").is_some()),
                ("action_reason", change.get("action_reason").is_some()),
                ("data source", change["mode"] == "data"),
                (
                    "no-op",
                    change["change"]["actions"] == serde_json::json!(["no-op"]),
                ),
                (
                    "read",
                    change["change"]["actions"] == serde_json::json!(["read"]),
                ),
                ("module two deep", address.matches("module.").count() >= 2),
                ("count index", change["index"].is_number()),
                ("for_each key", change["index"].is_string()),
                (
                    "random name",
                    change["type"].as_str().unwrap().starts_with("random_"),
                ),
                (
                    "name known after apply",
                    change["change"]["after_unknown"]["name"] == Value::Bool(true),
                ),
            ];
            seen.extend(
                checks
                    .iter()
                    .filter(|(_, hit)| *hit)
                    .map(|(shape, _)| *shape),
            );
        }
        let with_baseline = expect["baseline"].as_table().unwrap();
        if !strings(with_baseline, "broken", "baseline").is_empty() {
            breaking += 1;
        }
    }
    for shape in [
        "utf-16 le with bom",
        "utf-8 with bom",
        "resource_drift",
        "prior_state",
        "relevant_attributes",
        "deposed",
        "previous_address",
        "importing",
        "action_reason",
        "data source",
        "no-op",
        "read",
        "module two deep",
        "count index",
        "for_each key",
        "random name",
        "name known after apply",
    ] {
        assert!(seen.contains(shape), "no plan of the corpus has {shape}");
    }
    for version in ["0.1", "0.2", "1.0", "1.1", "1.2"] {
        assert!(versions.contains(version), "no plan in format {version}");
    }
    assert!(breaking >= 10, "only {breaking} plans break a demo VM");
}
