//! Unknown is never pass, swept over the facts schema. For every fact path a rule reads (taken
//! from the schema `VmFacts::schema()` and the paths the rule loader recorded for each rule, not
//! listed by hand), and for every VM of the demo fleet and of the rule fixtures' failing cases,
//! the facts are rebuilt with only that fact unknown, three ways: taken out and marked, left in
//! place but marked (what a resolver does when it keeps a placeholder), and replaced by a neutral
//! value but marked; a field of list elements is also withheld for one element at a time (what
//! a resolver marks when only that element is undecided), the others staying known. A rule
//! reading the fact may then pass only if it passes whatever the fact holds: the sweep
//! substitutes every value the rules compare against (the string and number literals of their
//! conditions, both booleans, an empty and the original list) and demands a pass for each. An
//! `error` rule that is not a pass keeps its layer and the verdict from `pass`.
//!
//! The full sweep takes minutes in a debug build, so by default each fact path is tried on the
//! demo fleet's VMs and on every third of the other VMs, a different third for each path in
//! turn, so every VM still meets a third of the paths; `UNKNOWN_SWEEP_ALL=1` tries every VM on
//! every path.
//!
//! Rules that judge a proposed protection (`applies_to = "readiness"`) run only in readiness
//! checks, whose facts a scan does not build: they are left out here.

use backup_doctor::codes::CodeBook;
use backup_doctor::engine::schema::{self, FactKind};
use backup_doctor::engine::{evaluate_json, Engine, Rule, RuleSet};
use backup_doctor::outcome::{LayerStatus, Severity, Status};
use backup_doctor::resolve::{resolve_all, Index, Options};
use backup_doctor::source::snapshot;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A VM's facts as they serialise, with the paths its resolvers left unknown and why.
type Facts = (Value, Vec<(String, String)>);

/// Every VM's facts of a fleet.
fn facts_of(layers: &[PathBuf]) -> Vec<Facts> {
    let inventory = snapshot::load_layers(layers)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", layers[layers.len() - 1].display()));
    let codes = CodeBook::builtin().expect("built-in error codes load");
    let options = Options::default();
    let index = Index::new(&inventory, &codes, &options);
    resolve_all(&index)
        .into_iter()
        .map(|facts| {
            let unknown = facts
                .unknown_paths()
                .map(|(p, r)| (p.to_string(), r.to_string()))
                .collect();
            (serde_json::to_value(&facts).unwrap(), unknown)
        })
        .collect()
}

/// The demo fleet, and every failing case of the rule fixtures laid over their healthy base, so
/// that every rule fails for some VM and the lists rules walk are not all empty.
fn fleets() -> Vec<(String, Facts)> {
    let mut out = Vec::new();
    for (i, (facts, unknown)) in facts_of(&[root().join("fixtures/fleets/demo")])
        .into_iter()
        .enumerate()
    {
        out.push((format!("demo VM {i}"), (facts, unknown)));
    }
    let base = root().join("fixtures/rules/base");
    let mut cases = Vec::new();
    collect_fail_cases(&root().join("fixtures/rules"), &mut cases);
    cases.sort();
    for case in cases {
        for (facts, unknown) in facts_of(&[base.clone(), case.clone()]) {
            // Most cases change one VM: the others repeat the base's facts.
            if out.iter().any(|(_, (f, u))| *f == facts && *u == unknown) {
                continue;
            }
            let name = format!("{} {}", case.display(), facts["name"]);
            out.push((name, (facts, unknown)));
        }
    }
    out
}

fn collect_fail_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if entry.is_dir() {
            collect_fail_cases(&entry, out);
        } else if entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("fail") && n.ends_with(".json"))
        {
            out.push(entry);
        }
    }
}

fn plain(path: &str) -> String {
    path.replace("[]", "").replace("{}", "")
}

/// The string and number literals of the conditions of `rules`: the values they decide on.
fn literals(rules: &[&Rule]) -> (BTreeSet<String>, BTreeSet<i64>) {
    let (mut strings, mut numbers) = (BTreeSet::from([String::new()]), BTreeSet::from([0, 1, -1]));
    for rule in rules {
        let when = &rule.when_source;
        let mut rest = when.as_str();
        while let Some(start) = rest.find('\'') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('\'') else { break };
            strings.insert(after[..end].to_string());
            rest = &after[end + 1..];
        }
        for word in when.split(|c: char| !c.is_ascii_digit()) {
            if let Ok(n) = word.parse::<i64>() {
                numbers.extend([n, n - 1, n + 1]);
            }
        }
    }
    (strings, numbers)
}

/// An engine of the one rule `id`, to re-run it alone on each substitute.
fn engine_of(id: &str) -> Engine {
    let mut rules = RuleSet::load(&[]).expect("built-in rules load");
    rules.rules.retain(|r| r.id == id);
    Engine::new(rules)
}

/// Applies `edit` to every value `path` (`vm.a[].b`) names in `facts`; whether there was one.
fn edit_at(
    facts: &mut Value,
    path: &str,
    edit: &dyn Fn(&mut serde_json::Map<String, Value>, &str),
) -> bool {
    let segments: Vec<&str> = path.split('.').skip(1).collect();
    edit_segments(facts, &segments, edit)
}

fn edit_segments(
    value: &mut Value,
    segments: &[&str],
    edit: &dyn Fn(&mut serde_json::Map<String, Value>, &str),
) -> bool {
    let Some((segment, rest)) = segments.split_first() else {
        return false;
    };
    let Value::Object(map) = value else {
        return false;
    };
    // `list[2]`: that element alone.
    if let Some((name, index)) = segment
        .strip_suffix(']')
        .and_then(|s| s.split_once('['))
        .and_then(|(name, i)| Some((name, i.parse::<usize>().ok()?)))
    {
        let Some(item) = map
            .get_mut(name)
            .and_then(Value::as_array_mut)
            .and_then(|items| items.get_mut(index))
        else {
            return false;
        };
        return edit_segments(item, rest, edit);
    }
    let (name, each) = match segment.strip_suffix("[]").or(segment.strip_suffix("{}")) {
        Some(name) => (name, true),
        None => (*segment, false),
    };
    if rest.is_empty() && !each {
        if !map.contains_key(name) {
            return false;
        }
        edit(map, name);
        return true;
    }
    let Some(child) = map.get_mut(name) else {
        return false;
    };
    if !each {
        return edit_segments(child, rest, edit);
    }
    if rest.is_empty() {
        // Only the whole list or map is a fact here: the element fact is the list's own.
        return false;
    }
    let mut any = false;
    match child {
        Value::Array(items) => {
            for item in items {
                any |= edit_segments(item, rest, edit);
            }
        }
        Value::Object(values) => {
            for item in values.values_mut() {
                any |= edit_segments(item, rest, edit);
            }
        }
        _ => {}
    }
    any
}

/// How many elements the list of an element path (`vm.a[].b`, one `[]`) has in `facts`; 0 for
/// other paths.
fn elements(facts: &Value, path: &str) -> usize {
    let Some((list, _)) = path.split_once("[]") else {
        return 0;
    };
    if path.matches("[]").count() != 1 || path.contains("{}") {
        return 0;
    }
    let pointer = list
        .split('.')
        .skip(1)
        .fold(String::new(), |p, s| p + "/" + s);
    facts
        .pointer(&pointer)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

fn neutral(kind: FactKind) -> Value {
    match kind {
        FactKind::String => json!(""),
        FactKind::Bool => json!(false),
        FactKind::Int => json!(0),
        FactKind::List => json!([]),
        FactKind::Map => json!({}),
    }
}

#[test]
fn no_rule_reading_an_unknown_fact_passes() {
    let engine = Engine::new(RuleSet::load(&[]).expect("built-in rules load"));
    // The schema paths some rule reads (the loader records them without `[]` and `{}`).
    let read: BTreeSet<String> = engine
        .rules
        .rules
        .iter()
        .flat_map(|r| r.reads.iter().cloned())
        .collect();
    let paths: Vec<_> = schema::facts()
        .iter()
        .filter(|f| read.contains(&plain(&f.path)))
        .collect();
    assert!(
        paths.len() >= 40,
        "the rules read only {} schema paths: is the loader still recording them?",
        paths.len()
    );
    let fleets = fleets();
    let mut alone: HashMap<&str, Engine> = HashMap::new();
    let (mut checked, mut passes_tried) = (0, 0);
    let mut failures = Vec::new();
    let every = std::env::var_os("UNKNOWN_SWEEP_ALL").is_some();
    for (position, fact) in paths.iter().enumerate() {
        let readers: Vec<&Rule> = engine
            .rules
            .rules
            .iter()
            .filter(|r| r.reads.contains(&plain(&fact.path)))
            .collect();
        let (strings, numbers) = literals(&readers);
        let substitutes: Vec<Value> = match fact.kind {
            FactKind::Bool => vec![json!(true), json!(false)],
            FactKind::Int => numbers.iter().map(|n| json!(n)).collect(),
            FactKind::String => strings.iter().map(|s| json!(s)).collect(),
            FactKind::List => vec![json!([])],
            FactKind::Map => vec![json!({})],
        };
        for (i, (vm, (facts, own_unknown))) in fleets.iter().enumerate() {
            if !every && !vm.starts_with("demo") && (i + position) % 3 != 0 {
                continue;
            }
            let own: Vec<(&str, &str)> = own_unknown
                .iter()
                .map(|(p, r)| (p.as_str(), r.as_str()))
                .collect();
            let mut variants = Vec::new();
            let mut absent = facts.clone();
            if !edit_at(&mut absent, &fact.path, &|map, name| {
                map.remove(name);
            }) {
                continue;
            }
            variants.push(("taken out", fact.path.clone(), absent));
            variants.push(("left in place", fact.path.clone(), facts.clone()));
            let mut zeroed = facts.clone();
            let value = neutral(fact.kind);
            edit_at(&mut zeroed, &fact.path, &|map, name| {
                map.insert(name.to_string(), value.clone());
            });
            variants.push(("neutral", fact.path.clone(), zeroed));
            // A field of one element alone (what a resolver marks when only that element could
            // not be decided): the list's other elements stay known, and must not let a rule
            // pass that the withheld element could fail.
            for index in 0..elements(facts, &fact.path) {
                let one = fact.path.replacen("[]", &format!("[{index}]"), 1);
                variants.push(("one element left in place", one, facts.clone()));
            }
            for (how, withheld, variant) in variants {
                let mut unknown = own.clone();
                unknown.push((&withheld, "withheld by the sweep"));
                let judged = evaluate_json(&engine, &variant, &unknown);
                checked += 1;
                for rule in &readers {
                    let finding = judged.findings.iter().find(|f| f.rule == rule.id).unwrap();
                    if finding.status != Status::Pass {
                        let layer = judged.layers.iter().find(|l| l.cause == rule.cause);
                        if rule.severity == Severity::Error
                            && (layer.is_some_and(|l| l.status == LayerStatus::Pass)
                                || judged.verdict == Status::Pass)
                        {
                            failures.push(format!(
                                "{vm}: `{withheld}` {how}: {} is {:?} but its layer or the verdict passes",
                                rule.id, finding.status
                            ));
                        }
                        continue;
                    }
                    // A pass is allowed only when no value of the fact would change it.
                    let single = alone
                        .entry(rule.id.as_str())
                        .or_insert_with(|| engine_of(&rule.id));
                    for substitute in &substitutes {
                        let mut with = facts.clone();
                        edit_at(&mut with, &withheld, &|map, name| {
                            map.insert(name.to_string(), substitute.clone());
                        });
                        passes_tried += 1;
                        let status = evaluate_json(single, &with, &own).findings[0].status;
                        if status != Status::Pass {
                            failures.push(format!(
                                "{vm}: `{withheld}` {how}: {} passes, but is {status:?} when it is {substitute}",
                                rule.id
                            ));
                            break;
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "{} fact paths, {} VMs, {checked} variants, {passes_tried} substitutions behind passes",
        paths.len(),
        fleets.len()
    );
    assert!(checked > 500, "only {checked} variants were evaluated");
    failures.sort();
    failures.dedup();
    assert!(
        failures.is_empty(),
        "{} unknown facts gave a pass:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
