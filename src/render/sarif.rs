//! SARIF 2.1.0 (OASIS), for code-scanning dashboards such as GitHub's: one `reportingDescriptor`
//! per rule with its title, documentation and remediation as help text, one result per failing
//! (or unknown) finding. Gate results are located at the plan's resource address (a logical
//! location) and the line of that change in the plan or what-if file (a physical location);
//! scan results at the VM. Suppressed findings carry a `suppressions` entry, so they stay visible.

use crate::engine::{Rule, RuleSet};
use crate::outcome::{Finding, GateReport, Regression, Report, Severity, Status};
use crate::render::{not_evaluated_line, note_line};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The rule that reports an expired suppression in a gate run.
pub const EXPIRED_RULE: &str = "gate/expired-suppression";
/// The rule that reports a change the gate listed but could not evaluate.
pub const NOT_EVALUATED_RULE: &str = "gate/change-not-evaluated";

pub fn scan(report: &Report, rules: &RuleSet) -> String {
    let mut results = Vec::new();
    for vm in &report.vms {
        for finding in &vm.findings {
            let location = json!({
                "logicalLocations": [{ "fullyQualifiedName": vm.id, "name": vm.name, "kind": "resource" }]
            });
            results.push(result(
                finding,
                &vm.name,
                vec![location],
                json!({ "vm": vm.id }),
            ));
        }
    }
    finish(
        rules,
        results,
        &[],
        Vec::new(),
        json!({ "complete": report.complete }),
    )
}

pub fn gate(report: &GateReport, rules: &RuleSet) -> String {
    let mut results = Vec::new();
    for regression in report.regressions.iter().chain(&report.unknown) {
        let locations = gate_locations(report, regression);
        let properties = json!({
            "vm": regression.vm_id,
            "before": regression.before,
            "causedBy": regression.caused_by.iter().map(|c| &c.address).collect::<Vec<_>>(),
        });
        results.push(result(
            &regression.finding,
            &regression.vm_name,
            locations,
            properties,
        ));
    }
    for expired in &report.expired_suppressions {
        results.push(json!({
            "ruleId": EXPIRED_RULE,
            "level": "error",
            "message": { "text": format!("The suppression of {} on {} expired on {}: renew it with a new date or fix the finding ({})", expired.rule, expired.resource, expired.expires, expired.justification) },
            "locations": [{ "physicalLocation": in_file(&expired.file, None) }],
        }));
    }
    for entry in &report.not_evaluated {
        results.push(json!({
            "ruleId": NOT_EVALUATED_RULE,
            // Unknown is never a pass: one the gate maps is a warning, one it does not a note.
            "level": if entry.mapped { "warning" } else { "note" },
            "message": { "text": not_evaluated_line(entry, "") },
            "locations": [{
                "physicalLocation": in_file(&report.file, entry.line),
                "logicalLocations": [{ "fullyQualifiedName": entry.address, "kind": "resource" }],
            }],
            "properties": { "changeType": entry.change_type, "mapped": entry.mapped },
        }));
    }
    let notifications = report
        .notes
        .iter()
        .map(|note| {
            let mut notification = json!({
                "level": match note.level.as_str() {
                    "error" => "error",
                    "info" => "note",
                    _ => "warning",
                },
                "message": { "text": note_line(note, "") },
                "locations": [{ "physicalLocation": in_file(&report.file, None) }],
            });
            if let Some(code) = &note.code {
                notification["descriptor"] = json!({ "id": code });
            }
            notification
        })
        .collect();
    let not_evaluated_rule = gate_rule(
        [NOT_EVALUATED_RULE, "ChangeNotEvaluated", "A change in the file could not be evaluated"],
        "The change file lists a change the gate cannot lay over the baseline: it has no `after` (a ResourceIdOnly what-if), no resource id (an extensible resource), or what-if could not predict it. One of a type the gate maps could break backup unseen, so the run is incomplete.",
        "Run what-if with the full result format, or review the change by hand.",
        "warning",
    );
    let expired_rule = gate_rule(
        [EXPIRED_RULE, "ExpiredSuppression", "A suppression is past its expiry date"],
        "Accepted findings are accepted until a date, so the risk is looked at again; past it the suppression no longer applies and the gate fails.",
        "Fix the finding, or renew the suppression with a new `expires` date and a current justification.",
        "error",
    );
    finish(
        rules,
        results,
        &[expired_rule, not_evaluated_rule],
        notifications,
        json!({ "result": report.result, "plan": report.file }),
    )
}

/// A rule of the gate itself (not of the rule files): `[id, name, short description]`.
fn gate_rule([id, name, short]: [&str; 3], full: &str, help: &str, level: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "shortDescription": { "text": short },
        "fullDescription": { "text": full },
        "help": { "text": help },
        "defaultConfiguration": { "level": level },
    })
}

/// The change file, at `line` when it is known.
fn in_file(file: &str, line: Option<usize>) -> Value {
    let mut physical = json!({ "artifactLocation": { "uri": uri(file) } });
    if let Some(line) = line {
        physical["region"] = json!({ "startLine": line });
    }
    physical
}

fn gate_locations(report: &GateReport, regression: &Regression) -> Vec<Value> {
    let mut locations: Vec<Value> = regression
        .caused_by
        .iter()
        .map(|cause| {
            json!({
                "physicalLocation": in_file(&report.file, cause.line),
                "logicalLocations": [{ "fullyQualifiedName": cause.address, "kind": "resource" }],
                "message": { "text": format!("{} ({})", cause.address, cause.action) },
            })
        })
        .collect();
    if locations.is_empty() {
        locations.push(json!({
            "physicalLocation": in_file(&report.file, None),
            "logicalLocations": [{ "fullyQualifiedName": regression.vm_id, "name": regression.vm_name, "kind": "resource" }],
        }));
    }
    locations
}

/// A relative path as a URI reference (forward slashes, spaces escaped).
fn uri(path: &str) -> String {
    path.replace('\\', "/").replace(' ', "%20")
}

fn level(finding: &Finding) -> &'static str {
    match (finding.status, finding.severity) {
        (Status::Unknown, _) => "note",
        (_, Severity::Error) => "error",
        (_, Severity::Warning) => "warning",
        (_, Severity::Info) => "note",
    }
}

fn result(finding: &Finding, vm_name: &str, locations: Vec<Value>, mut properties: Value) -> Value {
    properties["cause"] = json!(finding.cause.as_str());
    properties["status"] = json!(finding.status);
    if !finding.explains.is_empty() {
        properties["explains"] = json!(finding.explains);
    }
    let mut out = json!({
        "ruleId": finding.rule,
        "level": level(finding),
        "message": { "text": format!("{vm_name}: {}", finding.message) },
        "locations": locations,
        "partialFingerprints": { "vmRule/v1": format!("{}|{}", vm_name.to_ascii_lowercase(), finding.rule) },
        "properties": properties,
    });
    if let Some(suppressed) = &finding.suppressed {
        out["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{} (until {}, {})", suppressed.justification, suppressed.expires, suppressed.file),
        }]);
    }
    out
}

fn descriptor(rule: &Rule) -> Value {
    let name: String = rule
        .id
        .split(['/', '-'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let level = match rule.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    };
    json!({
        "id": rule.id,
        "name": name,
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.docs.trim() },
        "help": {
            "text": rule.remediation.trim(),
            "markdown": format!("**Fix:** {}\n\n**Why:** {}", rule.remediation.trim(), rule.docs.trim()),
        },
        "defaultConfiguration": { "level": level },
        "properties": { "cause": rule.cause.as_str(), "tags": ["azure-backup", rule.cause.as_str()] },
    })
}

fn finish(
    rules: &RuleSet,
    mut results: Vec<Value>,
    extra_rules: &[Value],
    notifications: Vec<Value>,
    properties: Value,
) -> String {
    let mut descriptors: Vec<Value> = rules.rules.iter().map(descriptor).collect();
    descriptors.extend(extra_rules.iter().cloned());
    let index: BTreeMap<String, usize> = descriptors
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d["id"].as_str().map(|id| (id.to_string(), i)))
        .collect();
    for result in &mut results {
        if let Some(i) = result["ruleId"].as_str().and_then(|id| index.get(id)) {
            result["ruleIndex"] = json!(i);
        }
    }
    let mut log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "backup-doctor",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            } },
            "results": results,
            "properties": properties,
        }],
    });
    if !notifications.is_empty() {
        log["runs"][0]["invocations"] = json!([{
            "executionSuccessful": true,
            "toolExecutionNotifications": notifications,
        }]);
    }
    serde_json::to_string_pretty(&log).expect("SARIF is plain JSON") + "\n"
}
