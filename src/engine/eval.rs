//! Evaluating compiled rules against one VM's facts, and folding the findings into layer
//! statuses, a verdict and a root cause (docs/json-report.md).

use super::rule::{AppliesTo, MessagePart, RuleSet};
use super::{Cause, Severity};
use crate::outcome::{Finding, Layer, LayerStatus, Status, UnknownFact};
use crate::resolve::facts::VmFacts;
use cel::{Context, ExecutionError, Value};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct VmEvaluation {
    pub facts: VmFacts,
    /// Every rule's outcome, passes included, in layer order.
    pub findings: Vec<Finding>,
    pub layers: Vec<Layer>,
    pub verdict: Status,
    pub root_cause: Option<Cause>,
}

/// Rules plus the CEL context they run in, built once per run.
pub struct Engine {
    pub rules: RuleSet,
    root: Context<'static, 'static>,
}

impl Engine {
    /// The engine of a scan: every rule but those that judge a proposed protection.
    pub fn new(rules: RuleSet) -> Engine {
        Engine::with_rules(rules.keep(AppliesTo::in_scan))
    }

    /// The engine of a readiness check: every rule but those that judge an existing
    /// protection's state or job history, which a VM about to be protected does not have.
    pub fn for_readiness_check(rules: RuleSet) -> Engine {
        Engine::with_rules(rules.keep(AppliesTo::in_readiness_check))
    }

    fn with_rules(rules: RuleSet) -> Engine {
        let mut root = Context::with_env(rules.env.clone());
        root.add_function("version_lt", version_lt)
            .expect("version_lt is not a standard overload");
        root.add_function("is_version", is_version)
            .expect("is_version is not a standard overload");
        Engine { rules, root }
    }
}

/// `is_version('2.7.41491.949')`: whether a string is a dotted numeric version. Rules use it
/// rather than a regex match because the CEL crate compiles a regex on every call.
fn is_version(text: Arc<String>) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// `version_lt('2.7.41491.949', '2.7.41491.1010')`: dotted versions compared numerically.
fn version_lt(a: Arc<String>, b: Arc<String>) -> Result<Value, ExecutionError> {
    let parse = |v: &str| -> Result<Vec<u64>, ExecutionError> {
        v.trim()
            .split('.')
            .map(|part| {
                part.parse::<u64>().map_err(|_| {
                    ExecutionError::function_error(
                        "version_lt",
                        format!("`{v}` is not a dotted numeric version"),
                    )
                })
            })
            .collect()
    };
    let (mut left, mut right) = (parse(&a)?, parse(&b)?);
    let width = left.len().max(right.len());
    left.resize(width, 0);
    right.resize(width, 0);
    Ok(Value::Bool(left < right))
}

pub fn evaluate_vm(engine: &Engine, facts: VmFacts) -> VmEvaluation {
    let json = serde_json::to_value(&facts).unwrap_or(serde_json::Value::Null);
    let unknown: Vec<(&str, &str)> = facts.unknown_paths().collect();
    let Judged {
        findings,
        layers,
        verdict,
        root_cause,
    } = evaluate_json(engine, &json, &unknown);
    VmEvaluation {
        facts,
        findings,
        layers,
        verdict,
        root_cause,
    }
}

/// What the rules make of one VM's facts.
#[derive(Debug, Clone)]
pub struct Judged {
    pub findings: Vec<Finding>,
    pub layers: Vec<Layer>,
    pub verdict: Status,
    pub root_cause: Option<Cause>,
}

/// Evaluates the facts as they serialise (`json`, the CEL variable `vm`), with the facts
/// `unknown` names (path → reason; `vm.disks[].ade` for every element) taken out of it. A fact
/// marked unknown may still hold a placeholder (an empty list, `false`): CEL must not see it,
/// or a rule over it would decide on a value nobody read. The unknown-fact sweep drives this
/// directly with facts it takes apart path by path.
pub fn evaluate_json(
    engine: &Engine,
    json: &serde_json::Value,
    unknown: &[(&str, &str)],
) -> Judged {
    let hidden = super::values::Hidden::of(unknown.iter().copied());
    let id = json["id"].as_str().unwrap_or_default();
    let mut scope = engine.root.new_inner_scope();
    scope.add_variable_as_val("vm", super::values::facts_val(json, &hidden));
    let mut shown: Option<Context> = None;
    let mut findings = Vec::with_capacity(engine.rules.rules.len());
    for rule in &engine.rules.rules {
        let outcome = rule.when.execute(&scope);
        let (status, unknown_facts) = match outcome {
            Ok(Value::Bool(true)) => (Status::Fail, Vec::new()),
            Ok(Value::Bool(false)) => (Status::Pass, Vec::new()),
            Ok(other) => (
                Status::Unknown,
                vec![UnknownFact {
                    fact: rule.when_source.clone(),
                    reason: format!("the condition gave {other:?}, not a boolean"),
                }],
            ),
            Err(error) => (Status::Unknown, unknown_facts_of(rule, unknown, &error)),
        };
        let known = match status {
            Status::Fail => Some(&*shown.get_or_insert_with(|| {
                let mut known = engine.root.new_inner_scope();
                known.add_variable_as_val("vm", super::values::known_val(json, &hidden));
                known
            })),
            _ => None,
        };
        let message = match (status, known) {
            (Status::Fail, Some(known)) => render_message(&rule.message, known),
            (Status::Pass | Status::Fail, _) => String::new(),
            (Status::Unknown, _) => format!(
                "cannot tell: {}",
                unknown_facts
                    .iter()
                    .map(|u| format!("{} ({})", u.fact, u.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        let resources = match (&rule.resources, known) {
            (Some(program), Some(known)) => match program.execute(known) {
                Ok(Value::List(items)) => items
                    .iter()
                    .filter_map(|v| {
                        if let Value::String(s) = v {
                            Some(s.to_string())
                        } else {
                            None
                        }
                    })
                    .collect(),
                _ => vec![id.to_string()],
            },
            _ if status == Status::Pass => Vec::new(),
            _ => vec![id.to_string()],
        };
        // A pass carries only its outcome: the rule's texts would be copied 40 times per VM for
        // nothing, since reports list failing and unknown findings only.
        let (explains, remediation, docs) = match status {
            Status::Pass => (Vec::new(), String::new(), String::new()),
            _ => (
                rule.explains.clone(),
                rule.remediation.clone(),
                rule.docs.clone(),
            ),
        };
        findings.push(Finding {
            rule: rule.id.clone(),
            cause: rule.cause,
            severity: rule.severity,
            status,
            message,
            explains,
            resources,
            remediation,
            docs,
            unknown_facts,
            suppressed: None,
        });
    }
    let layers = layer_statuses(engine, json["os"].as_str(), &findings);
    let root_cause = layers
        .iter()
        .find(|l| l.status == LayerStatus::Fail)
        .map(|l| l.cause);
    let verdict = if root_cause.is_some() {
        Status::Fail
    } else if layers.iter().any(|l| l.status == LayerStatus::Unknown) {
        Status::Unknown
    } else {
        Status::Pass
    };
    Judged {
        findings,
        layers,
        verdict,
        root_cause,
    }
}

/// The recorded reason for `path` or the nearest enclosing fact; recorded element paths
/// (`vm.disks[].ade`, `vm.disks[1].ade`) match the way rules' reads are spelt (`vm.disks.ade`).
fn unknown_reason<'u>(unknown: &[(&'u str, &'u str)], path: &str) -> Option<(&'u str, &'u str)> {
    let mut candidate = path;
    loop {
        if let Some(found) = unknown.iter().find(|(fact, _)| plain(fact) == candidate) {
            return Some(*found);
        }
        candidate = &candidate[..candidate.rfind('.')?];
    }
}

/// A fact path without its element markers (`[]`, `[2]`, `{}`), as rules' reads are spelt.
fn plain(fact: &str) -> String {
    let mut out = String::with_capacity(fact.len());
    let mut inside = false;
    for c in fact.chars() {
        match c {
            '[' | '{' => inside = true,
            ']' | '}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Names the facts the rule reads that are recorded as unknown; falls back to the CEL error.
fn unknown_facts_of(
    rule: &super::Rule,
    unknown: &[(&str, &str)],
    error: &ExecutionError,
) -> Vec<UnknownFact> {
    let mut out: Vec<UnknownFact> = Vec::new();
    for path in &rule.reads {
        if let Some((fact, reason)) = unknown_reason(unknown, path) {
            let fact = plain(fact);
            if !out.iter().any(|u| u.fact == fact) {
                out.push(UnknownFact {
                    fact,
                    reason: reason.to_string(),
                });
            }
        }
    }
    if out.is_empty() {
        let reason = match error {
            ExecutionError::NoSuchKey(key) => format!("`{key}` is absent from the data read"),
            other => format!("evaluation failed: {other}"),
        };
        out.push(UnknownFact {
            fact: rule.reads.first().cloned().unwrap_or_else(|| "vm".into()),
            reason,
        });
    }
    out
}

fn render_message(parts: &[MessagePart], scope: &Context) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            MessagePart::Text(text) => out.push_str(text),
            MessagePart::Expr(program) => match program.execute(scope) {
                Ok(value) => out.push_str(&display(&value)),
                Err(_) => out.push_str("(unknown)"),
            },
        }
    }
    out
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "none".into(),
        Value::List(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => format!("{other:?}"),
    }
}

/// A layer fails when an `error` rule in it fails; it is unknown when an `error` rule is unknown
/// and none fails, and also when no `error` rule evaluates it at all: a layer nobody checked has
/// not passed. VSS applies to Windows only and fsfreeze to Linux only.
fn layer_statuses(engine: &Engine, os: Option<&str>, findings: &[Finding]) -> Vec<Layer> {
    Cause::ALL
        .into_iter()
        .map(|cause| {
            let not_applicable = match (cause, os) {
                (Cause::Vss, Some("linux")) => Some("VSS applies to Windows VMs only"),
                (Cause::Fsfreeze, Some("windows")) => Some("fsfreeze applies to Linux VMs only"),
                _ => None,
            };
            if let Some(reason) = not_applicable {
                return Layer {
                    cause,
                    status: LayerStatus::NotApplicable,
                    reason: Some(reason.into()),
                };
            }
            if !engine
                .rules
                .rules
                .iter()
                .any(|r| r.cause == cause && r.severity == Severity::Error)
            {
                let reason = format!(
                    "no rule evaluates the {} layer in this version",
                    cause.title()
                );
                return Layer {
                    cause,
                    status: LayerStatus::Unknown,
                    reason: Some(reason),
                };
            }
            let mut status = LayerStatus::Pass;
            for finding in findings
                .iter()
                .filter(|f| f.cause == cause && f.severity == Severity::Error)
            {
                match finding.status {
                    Status::Fail => {
                        return Layer {
                            cause,
                            status: LayerStatus::Fail,
                            reason: None,
                        }
                    }
                    Status::Unknown => status = LayerStatus::Unknown,
                    Status::Pass => {}
                }
            }
            Layer {
                cause,
                status,
                reason: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rule::{cel_env, compile, RuleSet};
    use crate::resolve::fact_path;
    use crate::resolve::facts::{NetworkFacts, NetworkRequirement};
    use std::path::Path;

    fn engine(rules: &[(&str, &str, &str)]) -> Engine {
        let env = cel_env();
        let compiled = rules
            .iter()
            .map(|(id, severity, when)| {
                let cause = id.split('/').next().unwrap();
                let text = format!(
                    "id = \"{id}\"\ntitle = \"t\"\ncause = \"{cause}\"\nseverity = \"{severity}\"\nwhen = \"{when}\"\nmessage = \"m {{vm.name}}\"\nremediation = \"r\"\ndocs = \"d\"\n"
                );
                compile(&env, Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        Engine::new(RuleSet {
            rules: compiled,
            env,
        })
    }

    fn facts() -> VmFacts {
        let mut facts = VmFacts {
            name: "vm1".into(),
            os: Some("windows".into()),
            power_state: Some("running".into()),
            ..VmFacts::default()
        };
        facts.mark_unknown(fact_path::AGENT, "instance view not collected");
        facts
    }

    fn status_of(evaluation: &VmEvaluation, rule: &str) -> Status {
        evaluation
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap()
            .status
    }

    fn layer(evaluation: &VmEvaluation, cause: Cause) -> LayerStatus {
        evaluation
            .layers
            .iter()
            .find(|l| l.cause == cause)
            .unwrap()
            .status
    }

    #[test]
    fn a_missing_fact_makes_the_rule_unknown_and_names_it() {
        let engine = engine(&[("agent/a", "error", "vm.agent.status != 'Ready'")]);
        let evaluation = evaluate_vm(&engine, facts());
        let finding = &evaluation.findings[0];
        assert_eq!(finding.status, Status::Unknown);
        assert_eq!(finding.unknown_facts[0].fact, "vm.agent");
        assert_eq!(
            finding.unknown_facts[0].reason,
            "instance view not collected"
        );
        assert_eq!(layer(&evaluation, Cause::Agent), LayerStatus::Unknown);
        assert_eq!(evaluation.verdict, Status::Unknown);
    }

    #[test]
    fn a_decided_disjunction_does_not_need_the_missing_fact() {
        let engine = engine(&[
            (
                "agent/or",
                "error",
                "vm.power_state == 'running' || vm.agent.status == 'Ready'",
            ),
            (
                "agent/and",
                "error",
                "vm.power_state == 'stopped' && vm.agent.status == 'Ready'",
            ),
        ]);
        let evaluation = evaluate_vm(&engine, facts());
        assert_eq!(status_of(&evaluation, "agent/or"), Status::Fail);
        assert_eq!(status_of(&evaluation, "agent/and"), Status::Pass);
    }

    #[test]
    fn the_first_failing_layer_is_the_root_cause_and_warnings_do_not_fail() {
        let engine = engine(&[
            ("vault/v", "error", "true"),
            ("snapshot/s", "error", "true"),
            ("agent/w", "warning", "true"),
        ]);
        let evaluation = evaluate_vm(&engine, facts());
        assert_eq!(evaluation.root_cause, Some(Cause::Snapshot));
        assert_eq!(
            layer(&evaluation, Cause::Agent),
            LayerStatus::Unknown,
            "no error rule evaluates it"
        );
        assert_eq!(evaluation.verdict, Status::Fail);
        assert_eq!(
            evaluation
                .findings
                .iter()
                .find(|f| f.rule == "snapshot/s")
                .unwrap()
                .message,
            "m vm1"
        );
    }

    #[test]
    fn guest_layers_of_the_other_os_are_not_applicable() {
        let engine = engine(&[
            ("vss/x", "error", "false"),
            ("fsfreeze/y", "error", "false"),
        ]);
        let evaluation = evaluate_vm(&engine, facts());
        assert_eq!(layer(&evaluation, Cause::Vss), LayerStatus::Pass);
        assert_eq!(
            layer(&evaluation, Cause::Fsfreeze),
            LayerStatus::NotApplicable
        );
    }

    #[test]
    fn an_unknown_element_leaves_the_other_elements_decided() {
        let engine = engine(&[(
            "network/n",
            "error",
            "vm.network.requirements.exists(r, r.severity == 'error' && !r.nsg_allowed)",
        )]);
        let row = |severity: &str, allowed: bool| NetworkRequirement {
            severity: severity.into(),
            nsg_allowed: Some(allowed),
            ..NetworkRequirement::default()
        };
        let with_rows = |rows: Vec<NetworkRequirement>| {
            let mut facts = facts();
            facts.network = Some(NetworkFacts {
                requirements: rows,
                ..NetworkFacts::default()
            });
            facts.mark_element_unknown(fact_path::REQUIREMENT_NSG_ALLOWED, 1, "rule not placed");
            evaluate_vm(&engine, facts)
        };
        // Row 0 is denied: the rule fails whatever row 1 holds.
        let denied = with_rows(vec![row("error", false), row("error", true)]);
        assert_eq!(status_of(&denied, "network/n"), Status::Fail);
        // Row 0 is allowed: row 1 decides, and it is unknown, although it holds `true`.
        let open = with_rows(vec![row("error", true), row("error", true)]);
        let finding = &open.findings[0];
        assert_eq!(finding.status, Status::Unknown);
        assert_eq!(
            finding.unknown_facts[0].fact,
            "vm.network.requirements.nsg_allowed"
        );
        assert_eq!(finding.unknown_facts[0].reason, "rule not placed");
        // Row 1's element alone is hidden: row 0's own value still decides a warning row.
        let warning = with_rows(vec![row("error", true), row("warning", false)]);
        assert_eq!(status_of(&warning, "network/n"), Status::Pass);
    }

    #[test]
    fn versions_compare_numerically() {
        let lt = |a: &str, b: &str| version_lt(Arc::new(a.into()), Arc::new(b.into()));
        assert_eq!(lt("2.7.41491.949", "2.7.41491.1010"), Ok(Value::Bool(true)));
        assert_eq!(lt("2.10.0.8", "2.2.53.1"), Ok(Value::Bool(false)));
        assert_eq!(lt("2.2.53", "2.2.53.1"), Ok(Value::Bool(true)));
        assert!(lt("Unknown", "2.2.53.1").is_err());
    }
}
