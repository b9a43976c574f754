//! JUnit XML, the test-report format CI systems (Azure Pipelines, GitLab, Jenkins) display: one
//! test suite per VM, one test case per VM and rule. A failing finding is a `<failure>`, an
//! unknown one `<skipped>` (it could not be decided, which is not a pass); a suppressed one is
//! skipped with its justification. In a gate run the suites are the VMs the change touches and a
//! failure is a regression.

use crate::engine::RuleSet;
use crate::outcome::{Finding, GateReport, Regression, Report, Status};
use crate::render::{not_evaluated_line, note_line};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// What one test case says.
enum Outcome<'a> {
    Pass,
    Failure(&'a Finding, String),
    Skipped(String),
    /// A failure with no finding behind it: an expired suppression.
    Expired(String),
}

struct Suite<'a> {
    name: String,
    cases: Vec<(String, String, Outcome<'a>)>,
    /// Text for the suite's `<system-out>`: what the change file says besides its changes.
    output: Vec<String>,
}

pub fn scan(report: &Report, rules: &RuleSet) -> String {
    let suites: Vec<Suite> = report
        .vms
        .iter()
        .map(|vm| Suite {
            name: vm.name.clone(),
            cases: rules
                .rules
                .iter()
                .map(|rule| {
                    let outcome = match vm.findings.iter().find(|f| f.rule == rule.id) {
                        None => Outcome::Pass,
                        Some(f) => outcome_of(f, f.message.clone()),
                    };
                    (vm.id.clone(), rule.id.clone(), outcome)
                })
                .collect(),
            output: Vec::new(),
        })
        .collect();
    write("backup-doctor scan", &suites)
}

pub fn gate(report: &GateReport, rules: &RuleSet) -> String {
    let mut vms: BTreeSet<String> = report
        .regressions
        .iter()
        .chain(&report.unknown)
        .map(|r| r.vm_id.clone())
        .collect();
    vms.extend(report.fixes.iter().map(|f| f.vm_id.clone()));
    let mut suites = Vec::new();
    for vm in report.after.vms.iter().filter(|vm| vms.contains(&vm.id)) {
        let mut regressed: BTreeMap<&str, &Regression> = BTreeMap::new();
        for regression in report
            .regressions
            .iter()
            .chain(&report.unknown)
            .filter(|r| r.vm_id == vm.id)
        {
            regressed.insert(regression.finding.rule.as_str(), regression);
        }
        let cases = rules
            .rules
            .iter()
            .map(|rule| {
                let outcome = match regressed.get(rule.id.as_str()) {
                    Some(r) => {
                        let causes: Vec<&str> =
                            r.caused_by.iter().map(|c| c.address.as_str()).collect();
                        let text = format!(
                            "{} (was {}; caused by {})",
                            r.finding.message,
                            r.before,
                            if causes.is_empty() {
                                "no change on the VM's path".to_string()
                            } else {
                                causes.join(", ")
                            }
                        );
                        outcome_of(&r.finding, text)
                    }
                    None => Outcome::Pass,
                };
                (vm.id.clone(), rule.id.clone(), outcome)
            })
            .collect();
        suites.push(Suite {
            name: vm.name.clone(),
            cases,
            output: Vec::new(),
        });
    }
    if !report.expired_suppressions.is_empty() {
        suites.push(Suite {
            name: "suppressions".into(),
            cases: report
                .expired_suppressions
                .iter()
                .map(|e| {
                    let text = format!(
                        "the suppression of {} on {} expired on {}",
                        e.rule, e.resource, e.expires
                    );
                    (
                        e.file.clone(),
                        format!("{} {}", e.rule, e.resource),
                        Outcome::Expired(text),
                    )
                })
                .collect(),
            output: Vec::new(),
        });
    }
    // A change that could not be evaluated was not a pass either: skipped, with the reason.
    if !report.not_evaluated.is_empty() || !report.notes.is_empty() {
        suites.push(Suite {
            name: "not evaluated".into(),
            cases: report
                .not_evaluated
                .iter()
                .map(|entry| {
                    (
                        report.file.clone(),
                        format!("{} ({})", entry.address, entry.change_type),
                        Outcome::Skipped(not_evaluated_line(entry, "")),
                    )
                })
                .collect(),
            output: report.notes.iter().map(|n| note_line(n, "")).collect(),
        });
    }
    write(&format!("backup-doctor gate {}", report.file), &suites)
}

fn outcome_of(finding: &Finding, text: String) -> Outcome<'_> {
    match (&finding.suppressed, finding.status) {
        (Some(s), _) => Outcome::Skipped(format!(
            "suppressed until {}: {}",
            s.expires, s.justification
        )),
        (None, Status::Fail) => Outcome::Failure(finding, text),
        (None, _) => Outcome::Skipped(text),
    }
}

fn write(name: &str, suites: &[Suite]) -> String {
    let count = |f: &dyn Fn(&Outcome) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|(_, _, o)| f(o))
            .count()
    };
    let is_failure = |o: &Outcome| matches!(o, Outcome::Failure(..) | Outcome::Expired(_));
    let is_skipped = |o: &Outcome| matches!(o, Outcome::Skipped(_));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        escape(name),
        count(&|_| true),
        count(&is_failure),
        count(&is_skipped)
    );
    for suite in suites {
        let failures = suite.cases.iter().filter(|(_, _, o)| is_failure(o)).count();
        let skipped = suite.cases.iter().filter(|(_, _, o)| is_skipped(o)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
            escape(&suite.name),
            suite.cases.len()
        );
        for (class, case, outcome) in &suite.cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(class),
                escape(case)
            );
            match outcome {
                Outcome::Pass => {
                    let _ = writeln!(out, "{open}/>");
                }
                Outcome::Failure(finding, text) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\" type=\"{}\">{}\n\nFix: {}</failure>\n    </testcase>",
                        escape(text),
                        escape(&format!("{}/{}", finding.cause.as_str(), finding.severity.as_str())),
                        escape(text),
                        escape(finding.remediation.trim())
                    );
                }
                Outcome::Expired(text) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\" type=\"expired-suppression\">{}</failure>\n    </testcase>",
                        escape(text),
                        escape(text)
                    );
                }
                Outcome::Skipped(text) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(text)
                    );
                }
            }
        }
        if !suite.output.is_empty() {
            let _ = writeln!(
                out,
                "    <system-out>{}</system-out>",
                escape(&suite.output.join("\n"))
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// XML text and attribute escaping; characters XML 1.0 forbids are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}
