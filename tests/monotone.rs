//! Verdicts never improve on less data. From the demo fleet and from a synthetic fleet (varied
//! planted failures, tests/testkit/src/synth), proptest draws sets mixing every kind of loss a
//! scan can meet, all generated from the data itself (tests/testkit/src/snapshot_edit.rs):
//!
//! - one resource gone from a list then declared a gap (a partial read), or, for a resource
//!   another object references, gone with the list still claimed whole (a dangling reference);
//! - one field path (from the snapshot's own JSON) gone from every resource of its type, except
//!   those whose absence ARM documents as a value;
//! - one whole list or file declared a gap;
//! - one fact of the facts schema (`VmFacts::schema()`) unknown for every VM, as a resolver
//!   marks it.
//!
//! The property, for every VM: its verdict does not move from `fail` or `unknown` to `pass`,
//! and no layer of it moves from `fail` or `unknown` to `pass`; a VM whose own object is kept is
//! still in the report. A snapshot the loader refuses (exit 2) cannot improve anything and is
//! counted, not judged. proptest shrinks a counterexample to the fewest losses.
//!
//! Budgets: `MONOTONE_CASES` sets the number of drawn sets per fleet (default 24 on the demo
//! fleet, 8 on the synthetic one), `MONOTONE_SYNTH_VMS` the synthetic fleet's size (default 12,
//! in one subscription) and `MONOTONE_ALL=1` makes the single-resource sweep try every
//! resource instead of one in eight; `MONOTONE_VERBOSE=1` logs each drawn set as judged or
//! refused by the loader.

use backup_doctor::codes::CodeBook;
use backup_doctor::engine::{evaluate_json, schema, Engine, RuleSet};
use backup_doctor::inventory::registry::Shape;
use backup_doctor::inventory::types;
use backup_doctor::outcome::{Layer, LayerStatus, Report, Status};
use backup_doctor::resolve::{resolve_all, Index, Options};
use backup_doctor::source::snapshot;
use backup_doctor_testkit::fixtures::demo;
use backup_doctor_testkit::snapshot_edit::{self, vm_ids, Fleet, Missing};
use backup_doctor_testkit::synth::{self, FleetSpec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One loss: data gone from the snapshot, or a fact of the schema unknown for every VM.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Loss {
    Data(Missing),
    Fact(String),
}

/// A fleet, what can be lost from it, and its verdicts with nothing lost.
struct Subject {
    fleet: Fleet,
    lists: Vec<Missing>,
    resources: Vec<Missing>,
    fields: Vec<Missing>,
    facts: Vec<String>,
    /// VM id (lower case) → (verdict, layer statuses).
    baseline: BTreeMap<String, Judgement>,
}

type Judgement = (String, Status, Vec<Layer>);

fn typeless(item: &Value) -> Option<String> {
    let kind = Shape::recognise(item.as_object()?)?;
    Some(
        kind.descriptor()
            .arm_type
            .unwrap_or(types::SERVICE_PRINCIPALS)
            .to_string(),
    )
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(RuleSet::load(&[]).expect("rules load")))
}

fn codes() -> &'static CodeBook {
    static CODES: OnceLock<CodeBook> = OnceLock::new();
    CODES.get_or_init(|| CodeBook::builtin().expect("built-in error codes load"))
}

fn judgements(report: &Report) -> BTreeMap<String, Judgement> {
    report
        .vms
        .iter()
        .map(|vm| {
            (
                vm.id.to_ascii_lowercase(),
                (vm.name.clone(), vm.verdict, vm.layers.clone()),
            )
        })
        .collect()
}

impl Subject {
    fn new(fleet: Fleet) -> Subject {
        let lists = snapshot_edit::lists(&fleet, &typeless);
        let resources = snapshot_edit::resources(&fleet);
        let fields = snapshot_edit::field_paths(&fleet)
            .into_iter()
            .filter(|(what, path)| !snapshot_edit::absence_documented(what, path))
            .map(|(what, path)| Missing::Field { what, path })
            .collect();
        let facts = schema::facts()
            .iter()
            .map(|f| f.path.clone())
            .filter(|p| p != "vm")
            .collect();
        let files = snapshot_edit::without(&fleet, &[], &typeless);
        let inventory = snapshot::load_files(&files).unwrap_or_else(|e| panic!("{e}"));
        let report = backup_doctor::commands::scan::evaluate(
            &inventory,
            engine(),
            codes(),
            &Options::default(),
        );
        Subject {
            fleet,
            lists,
            resources,
            fields,
            facts,
            baseline: judgements(&report),
        }
    }

    /// Every way `after` improves on the baseline, in words.
    fn improvements(&self, after: &BTreeMap<String, Judgement>) -> Vec<String> {
        let mut out = Vec::new();
        for (id, (name, verdict, layers)) in after {
            let Some((_, was, was_layers)) = self.baseline.get(id) else {
                continue;
            };
            if *was != Status::Pass && *verdict == Status::Pass {
                out.push(format!("{name}: verdict {was:?} → pass"));
            }
            for layer in layers {
                let Some(before) = was_layers.iter().find(|l| l.cause == layer.cause) else {
                    continue;
                };
                if matches!(before.status, LayerStatus::Fail | LayerStatus::Unknown)
                    && layer.status == LayerStatus::Pass
                {
                    out.push(format!(
                        "{name}: layer {:?} {:?} → pass",
                        layer.cause, before.status
                    ));
                }
            }
        }
        out
    }

    /// What is wrong with the scan of the fleet after `losses`: improvements, VMs gone; `None`
    /// when the loader refuses the snapshot (exit 2).
    fn judge(&self, losses: &[Loss]) -> Option<Vec<String>> {
        let missing: Vec<Missing> = losses
            .iter()
            .filter_map(|l| match l {
                Loss::Data(m) => Some(m.clone()),
                Loss::Fact(_) => None,
            })
            .collect();
        let facts: Vec<&str> = losses
            .iter()
            .filter_map(|l| match l {
                Loss::Fact(path) => Some(path.as_str()),
                Loss::Data(_) => None,
            })
            .collect();
        let files = snapshot_edit::without(&self.fleet, &missing, &typeless);
        let inventory = snapshot::load_files(&files).ok()?;
        let options = Options::default();
        let report =
            backup_doctor::commands::scan::evaluate(&inventory, engine(), codes(), &options);
        let after = judgements(&report);
        let mut problems = self.improvements(&after);
        for id in vm_ids(&files) {
            if self.baseline.contains_key(&id) && !after.contains_key(&id) {
                problems.push(format!("{id}: its object is kept but the report lost it"));
            }
        }
        if !facts.is_empty() {
            // The resolvers' own unknowns plus the drawn facts, judged as a scan judges them.
            let index = Index::new(&inventory, codes(), &options);
            let mut marked = BTreeMap::new();
            for vm in resolve_all(&index) {
                let json = serde_json::to_value(&vm).unwrap();
                let mut unknown: Vec<(&str, &str)> = vm.unknown_paths().collect();
                unknown.extend(facts.iter().map(|p| (*p, "drawn unknown (test)")));
                let judged = evaluate_json(engine(), &json, &unknown);
                let id = json["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                let name = json["name"].as_str().unwrap_or_default().to_string();
                marked.insert(id, (name, judged.verdict, judged.layers));
            }
            problems.extend(
                self.improvements(&marked)
                    .into_iter()
                    .map(|p| format!("with the facts unknown: {p}")),
            );
        }
        Some(problems)
    }

    /// Every loss proptest draws from, by kind, weighted so each kind is met often.
    fn strategy(&'static self, most: usize) -> impl Strategy<Value = Vec<Loss>> {
        let data = |all: &Vec<Missing>| proptest::sample::select(all.clone()).prop_map(Loss::Data);
        let one = prop_oneof![
            3 => data(&self.resources),
            3 => data(&self.fields),
            1 => data(&self.lists),
            1 => proptest::sample::select(self.facts.clone()).prop_map(Loss::Fact),
        ];
        proptest::collection::vec(one, 1..=most).prop_map(|mut losses| {
            losses.sort();
            losses.dedup();
            losses
        })
    }
}

fn demo_subject() -> &'static Subject {
    static SUBJECT: OnceLock<Subject> = OnceLock::new();
    SUBJECT.get_or_init(|| Subject::new(Fleet::read(&demo())))
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn synth_subject() -> &'static Subject {
    static SUBJECT: OnceLock<Subject> = OnceLock::new();
    SUBJECT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let spec = FleetSpec {
            subscriptions: 1,
            vms_per_subscription: env_number("MONOTONE_SYNTH_VMS", 12),
            seed: 14,
            jobs_per_vm: 1,
        };
        synth::generate(dir.path(), &spec).unwrap();
        // Read whole into memory: the loader takes the bytes, the paths only name them.
        Subject::new(Fleet::read(dir.path()))
    })
}

fn cases(default: u32) -> u32 {
    env_number("MONOTONE_CASES", default as usize) as u32
}

fn check(subject: &Subject, losses: &[Loss]) -> Result<(), TestCaseError> {
    let Some(problems) = subject.judge(losses) else {
        // Counted by the large run's log (`--nocapture`): refused sets test nothing.
        if std::env::var_os("MONOTONE_VERBOSE").is_some() {
            eprintln!("monotone: refused {losses:?}");
        }
        return Ok(());
    };
    if std::env::var_os("MONOTONE_VERBOSE").is_some() {
        eprintln!("monotone: judged {} losses", losses.len());
    }
    prop_assert!(
        problems.is_empty(),
        "losing {losses:#?}\nimproved or dropped:\n{}",
        problems.join("\n")
    );
    Ok(())
}

/// The fleets must fail somewhere, or no improvement could be seen.
fn assert_meaningful(subject: &Subject) {
    let failing = subject
        .baseline
        .values()
        .filter(|(_, v, _)| *v != Status::Pass)
        .count();
    assert!(failing >= 3, "only {failing} VMs fail or are unknown");
    assert!(subject.resources.len() > 50 && subject.fields.len() > 100);
    assert!(
        subject
            .resources
            .iter()
            .any(|r| matches!(r, Missing::Resource { gap: false, .. })),
        "no referenced resource found"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(24),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_demo_fleet_never_improves_on_less_data(losses in demo_subject().strategy(6)) {
        check(demo_subject(), &losses)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(8),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_synthetic_fleet_never_improves_on_less_data(losses in synth_subject().strategy(6)) {
        check(synth_subject(), &losses)?;
    }
}

/// Each single resource of the demo fleet, gone (one in eight by default, and the first of every
/// type for each kind of removal; `MONOTONE_ALL=1`: every one).
#[test]
fn no_single_resource_of_the_demo_fleet_improves_a_verdict() {
    let subject = demo_subject();
    assert_meaningful(subject);
    let every = std::env::var_os("MONOTONE_ALL").is_some();
    let mut seen_types = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    let mut tried = 0;
    for (i, missing) in subject.resources.iter().enumerate() {
        let Missing::Resource { id, .. } = missing else {
            unreachable!()
        };
        // `…/providers/<namespace>/<type>/<name>[/<child type>/<name>]`: the type's words.
        let kind: Vec<&str> = id
            .rsplit_once("/providers/")
            .map(|(_, rest)| rest.split('/').step_by(2).collect())
            .unwrap_or_default();
        let gap = matches!(missing, Missing::Resource { gap: true, .. });
        let first_of_type = seen_types.insert((kind, gap));
        if !every && !first_of_type && i % 8 != 0 {
            continue;
        }
        tried += 1;
        for problem in subject
            .judge(&[Loss::Data(missing.clone())])
            .unwrap_or_default()
        {
            found.push(format!("{missing:?}: {problem}"));
        }
    }
    assert!(tried > 40, "only {tried} resources tried");
    assert!(
        found.is_empty(),
        "single resources gone improved verdicts:\n{}",
        found.join("\n")
    );
}

/// The property is not vacuous: the synthetic fleet has failures of several kinds, and taking
/// out a failing VM's protected item with no gap declared (a different fleet, not less data)
/// does change a verdict, which the checker sees.
#[test]
fn the_checker_sees_a_changed_fleet() {
    let subject = synth_subject();
    assert_meaningful(subject);
    let demo = demo_subject();
    // A lock on a VM's group makes its snapshots fail: without it and without a gap, the
    // fleet is another one, whose VM may pass.
    let locks: Vec<String> = demo
        .resources
        .iter()
        .filter_map(|r| match r {
            Missing::Resource { id, gap: true }
                if id.contains("/microsoft.authorization/locks/") =>
            {
                Some(id.clone())
            }
            _ => None,
        })
        .collect();
    let lock = locks
        .iter()
        .find(|lock| {
            let inventory = snapshot::load_files(&without_silently(demo, lock)).unwrap();
            let report = backup_doctor::commands::scan::evaluate(
                &inventory,
                engine(),
                codes(),
                &Options::default(),
            );
            !demo.improvements(&judgements(&report)).is_empty()
        })
        .unwrap_or_else(|| {
            panic!(
                "removing none of {locks:?} without a gap improves a verdict: the checker is blind"
            )
        })
        .clone();
    // The same lock gone from a list declared a gap: no improvement.
    assert_eq!(
        demo.judge(&[Loss::Data(Missing::Resource {
            id: lock,
            gap: true
        })]),
        Some(Vec::new())
    );
}

/// The demo fleet without one resource and no gap declared, whether referenced or not.
fn without_silently(subject: &Subject, id: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = snapshot_edit::without(&subject.fleet, &[], &typeless);
    for (file, bytes) in &mut files {
        if file.ends_with("snapshot.json") {
            continue;
        }
        let mut items: Vec<Value> = serde_json::from_slice(bytes).unwrap();
        items.retain(|i| {
            i["id"]
                .as_str()
                .is_none_or(|other| !other.eq_ignore_ascii_case(id))
        });
        *bytes = serde_json::to_vec(&items).unwrap();
    }
    files
}

#[test]
fn refusals_stay_rare() {
    // Losses the loader refuses test nothing; most single field removals must load.
    let subject = demo_subject();
    let tried: Vec<_> = subject.fields.iter().step_by(20).collect();
    let refused = tried
        .iter()
        .filter(|m| subject.judge(&[Loss::Data((**m).clone())]).is_none())
        .count();
    assert!(
        refused * 4 < tried.len(),
        "{refused} of {} single field removals refused by the loader",
        tried.len()
    );
}
