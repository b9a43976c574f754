//! The what-if corpus (fixtures/whatif/corpus): results in every shape Azure stores them (REST
//! body, the CLI's flat form, PowerShell's UTF-16), at every deployment scope, with the change
//! types and result formats what-if has. Each `<name>.json` has a `<name>.expect.json`: the exit
//! code with the demo fleet as baseline and without one, the VMs and rules it breaks, makes
//! unknown or fixes, what is not evaluated and the file's notes. Only a what-if that itself failed
//! may exit 2, and then it names Azure's error.

use backup_doctor_testkit::binary::{run, Outcome};
use backup_doctor_testkit::fixtures::root;
use backup_doctor_testkit::schema;
use serde_json::Value;
use std::path::PathBuf;

struct Entry {
    name: String,
    file: PathBuf,
    expect: Value,
}

fn corpus() -> Vec<Entry> {
    let dir = root().join("fixtures/whatif/corpus");
    let mut entries: Vec<Entry> = std::fs::read_dir(&dir)
        .expect("the corpus folder exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.ends_with(".json") && !name.ends_with(".expect.json")
        })
        .map(|file| {
            let name = file.file_stem().unwrap().to_str().unwrap().to_string();
            let expected = dir.join(format!("{name}.expect.json"));
            let text = std::fs::read_to_string(&expected).unwrap_or_else(|e| {
                panic!("{name} has no expectation {}: {e}", expected.display())
            });
            let expect = serde_json::from_str(&text).expect("expectation is JSON");
            Entry { name, file, expect }
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

fn gate(entry: &Entry, baseline: bool, format: &str) -> Outcome {
    let demo = root().join("fixtures/fleets/demo");
    let file = entry.file.display().to_string();
    let demo = demo.display().to_string();
    let mut args = vec!["gate", "--what-if", &file, "--format", format];
    if baseline {
        args.extend(["--baseline", &demo]);
    }
    run(&args)
}

/// `[[vm, rule], ...]` of one list of the gate JSON, sorted.
fn pairs(list: &Value, vm: &str, rule: &dyn Fn(&Value) -> Value) -> Value {
    let mut out: Vec<Value> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| Value::Array(vec![r[vm].clone(), rule(r)]))
        .collect();
    out.sort_by_key(|v| v.to_string());
    Value::Array(out)
}

#[test]
fn the_corpus_has_every_shape_and_each_file_its_expectation() {
    let entries = corpus();
    assert!(entries.len() >= 10, "{} results", entries.len());
    let dir = root().join("fixtures/whatif/corpus");
    for file in std::fs::read_dir(&dir).unwrap() {
        let name = file.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".expect.json") {
            assert!(
                entries.iter().any(|e| e.name == stem),
                "{name} expects a file that is not there"
            );
        }
    }
    let said = |field: &str, word: &str| {
        entries
            .iter()
            .any(|e| e.expect[field].as_str().unwrap().contains(word))
    };
    for scope in ["resourceGroup", "subscription", "managementGroup", "tenant"] {
        assert!(said("scope", scope), "no result at {scope} scope");
    }
    for shape in ["rest", "cli", "ResourceIdOnly", "UTF-16"] {
        assert!(said("shape", shape), "no result of shape {shape}");
    }
    let texts: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&std::fs::read(&e.file).unwrap()).into_owned())
        .collect();
    for word in [
        "\"Deploy\"",
        "\"NoEffect\"",
        "\"Ignore\"",
        "\"Unsupported\"",
        "\"identifiers\"",
        "\"potentialChanges\": [\n",
        "\"level\"",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(word)),
            "no corpus result has {word}"
        );
    }
    let utf16 = entries
        .iter()
        .filter(|e| std::fs::read(&e.file).unwrap().starts_with(&[0xFF, 0xFE]))
        .count();
    assert!(utf16 >= 1, "no UTF-16 LE result with a BOM");
}

#[test]
fn every_result_is_evaluated_with_its_expected_exit_and_vms() {
    for entry in corpus() {
        let label = &entry.name;
        for (baseline, key) in [(true, "with_baseline"), (false, "without_baseline")] {
            let expected = &entry.expect[key];
            let out = gate(&entry, baseline, "json");
            assert_eq!(
                Some(out.code as i64),
                expected["exit"].as_i64(),
                "{label} {key}: {}{}",
                out.stdout,
                out.stderr
            );
            if out.code == 2 {
                // Only a what-if that failed is refused, and it says what Azure said.
                let mentions = entry.expect["error_mentions"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{label} {key} refused: {}", out.stderr));
                assert!(
                    out.stderr.contains(&format!("{label}.json")),
                    "{}",
                    out.stderr
                );
                for needle in mentions {
                    let needle = needle.as_str().unwrap();
                    assert!(
                        out.stderr.contains(needle),
                        "{label}: {needle} missing from {}",
                        out.stderr
                    );
                }
                continue;
            }
            let json = out.json();
            assert_eq!(json["source"], "what-if", "{label}");
            let result = match out.code {
                0 => "pass",
                1 => "fail",
                _ => "incomplete",
            };
            assert_eq!(json["result"], result, "{label} {key}");
            // Whatever the baseline, a not-evaluated change of a mapped type is never a pass.
            let mapped = json["not_evaluated"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["mapped"] == true);
            assert!(
                !(mapped && out.code == 0),
                "{label} {key}: passed with {}",
                json["not_evaluated"]
            );
            assert_eq!(
                json["summary"]["not_evaluated"].as_u64().unwrap() as usize,
                json["not_evaluated"].as_array().unwrap().len()
            );
            if !baseline {
                continue;
            }
            let rule = |r: &Value| r["finding"]["rule"].clone();
            assert_eq!(
                pairs(&json["regressions"], "vm_name", &rule),
                expected["broken"],
                "{label} broken"
            );
            assert_eq!(
                pairs(&json["unknown"], "vm_name", &rule),
                expected["unknown"],
                "{label} unknown"
            );
            let fix_rule = |r: &Value| r["rule"].clone();
            assert_eq!(
                pairs(&json["fixes"], "vm_name", &fix_rule),
                expected["fixed"],
                "{label} fixed"
            );
            for regression in json["regressions"].as_array().unwrap() {
                assert!(
                    !regression["caused_by"].as_array().unwrap().is_empty(),
                    "{label}: {regression} names no change"
                );
            }
            let not_evaluated: Vec<Value> = json["not_evaluated"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| {
                    assert!(!n["reason"].as_str().unwrap().is_empty(), "{label}: {n}");
                    assert!(!n["address"].as_str().unwrap().is_empty(), "{label}: {n}");
                    serde_json::json!({ "change_type": n["change_type"], "mapped": n["mapped"] })
                })
                .collect();
            assert_eq!(
                Value::Array(not_evaluated),
                entry.expect["not_evaluated"],
                "{label}"
            );
            let notes: Vec<Value> = json["notes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["code"].clone())
                .collect();
            assert_eq!(Value::Array(notes), entry.expect["notes"], "{label}");
        }
    }
}

/// What is not evaluated and what the file says reach every format a CI system reads.
#[test]
fn not_evaluated_changes_and_notes_reach_every_renderer() {
    let validator = schema::validator("sarif-schema-2.1.0-rtm.5.json");
    let mut seen = 0;
    for entry in corpus() {
        let listed = entry.expect["not_evaluated"].as_array().map_or(0, Vec::len);
        let notes = entry.expect["notes"].as_array().map_or(0, Vec::len);
        if listed + notes == 0 {
            continue;
        }
        seen += 1;
        let label = &entry.name;
        let json = gate(&entry, true, "json").json();
        let texts = |list: &str, field: &str| -> Vec<String> {
            json[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n[field].as_str().unwrap().to_string())
                .collect()
        };
        let mut expected = texts("not_evaluated", "address");
        expected.extend(texts("notes", "message"));
        for format in ["console", "markdown", "junit"] {
            let out = gate(&entry, true, format);
            // JUnit escapes quotes; compare the part of each text before its first quote.
            for text in &expected {
                let head = text.split(['"', '\'']).next().unwrap();
                assert!(
                    out.stdout.contains(head),
                    "{label} {format}: {head:?} missing:\n{}",
                    out.stdout
                );
            }
        }
        let junit = gate(&entry, true, "junit").stdout;
        assert!(
            junit.matches("<skipped").count() >= listed,
            "{label}: {junit}"
        );
        let sarif = gate(&entry, true, "sarif");
        let log: Value = serde_json::from_str(&sarif.stdout).unwrap();
        let errors = schema::violations(&validator, &log);
        assert!(
            errors.is_empty(),
            "{label}: SARIF does not validate: {errors:?}"
        );
        let run = &log["runs"][0];
        let results = run["results"].as_array().unwrap();
        let not_evaluated = results
            .iter()
            .filter(|r| r["ruleId"] == "gate/change-not-evaluated")
            .count();
        assert_eq!(not_evaluated, listed, "{label}");
        let notifications = run["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(notifications, notes, "{label}");
    }
    assert!(
        seen >= 3,
        "only {seen} corpus results list anything not evaluated"
    );
}
