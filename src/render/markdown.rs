//! Markdown for a pull-request comment (GitHub, Azure DevOps): the verdict in the first line, the
//! regressions as a table with the change that caused each and the fix, then what became unknown,
//! what the change fixes and what was not evaluated. A scan renders as a fleet summary and a
//! table of the failing VMs, then the failing VMs by time left before their recovery point is
//! older than their policy promises.

use super::{gate_counts, gate_subject, no_regression, not_evaluated_line, note_line, plural};
use crate::outcome::attribution::short_time;
use crate::outcome::recovery::minute;
use crate::outcome::{Attribution, GateReport, Regression, Report, Status};
use std::fmt::Write;

pub fn gate(report: &GateReport) -> String {
    let mut out = String::new();
    let (mark, verdict) = match report.result {
        "fail" => ("❌", "fails"),
        "incomplete" => ("⚠️", "is incomplete"),
        _ => ("✅", "passes"),
    };
    let _ = writeln!(
        out,
        "## {mark} backup-doctor: this change {verdict} the backup gate\n"
    );
    let _ = writeln!(
        out,
        "{}: {}.\n",
        gate_subject(report, "`"),
        gate_counts(report, ",", "**")
    );
    if !report.regressions.is_empty() {
        out.push_str("### Regressions\n\n| VM | rule | severity | layer | caused by | what breaks |\n|---|---|---|---|---|---|\n");
        for regression in &report.regressions {
            row(&mut out, regression);
        }
        out.push('\n');
        out.push_str("<details><summary>How to fix</summary>\n\n");
        let mut seen = Vec::new();
        for regression in report
            .regressions
            .iter()
            .filter(|r| r.finding.suppressed.is_none())
        {
            if !seen.contains(&regression.finding.rule) {
                seen.push(regression.finding.rule.clone());
                let _ = writeln!(
                    out,
                    "- **{}**: {}",
                    regression.finding.rule,
                    cell(regression.finding.remediation.trim())
                );
            }
        }
        out.push_str("\n</details>\n\n");
    }
    if !report.unknown.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} finding{} unknown until applied</summary>\n",
            report.unknown.len(),
            plural(report.unknown.len())
        );
        out.push_str("| VM | rule | severity | layer | caused by | why unknown |\n|---|---|---|---|---|---|\n");
        for regression in &report.unknown {
            row(&mut out, regression);
        }
        let mut after_apply: Vec<String> = report
            .unknown
            .iter()
            .flat_map(|r| &r.known_after_apply)
            .map(|k| format!("- `{}`: {}", k.address, k.attributes.join(", ")))
            .collect();
        after_apply.sort();
        after_apply.dedup();
        if !after_apply.is_empty() {
            out.push_str("\nKnown only after apply:\n\n");
            out.push_str(&after_apply.join("\n"));
            out.push('\n');
        }
        out.push_str("\n</details>\n\n");
    }
    if !report.fixes.is_empty() {
        out.push_str(
            "### Fixed by this change\n\n| VM | rule | was failing with |\n|---|---|---|\n",
        );
        for fix in &report.fixes {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                cell(&fix.vm_name),
                fix.rule,
                cell(&fix.message)
            );
        }
        out.push('\n');
    }
    for expired in &report.expired_suppressions {
        let _ = writeln!(
            out,
            "> ❌ The suppression of `{}` on `{}` expired on {} ({}): renew it with a new date or fix the finding.\n",
            expired.rule, expired.resource, expired.expires, expired.file
        );
    }
    if !report.unmapped.is_empty() {
        let _ = writeln!(
            out,
            "Not evaluated (types the gate does not map): {}\n",
            report
                .unmapped
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !report.not_evaluated.is_empty() {
        out.push_str("### Not evaluated\n\nListed in the file but not laid over the baseline; one of a type the gate maps makes the run incomplete.\n\n");
        for entry in &report.not_evaluated {
            let _ = writeln!(out, "- {}", cell(&not_evaluated_line(entry, "`")));
        }
        out.push('\n');
    }
    if !report.notes.is_empty() {
        out.push_str("### What the file says besides its changes\n\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {}", cell(&note_line(note, "`")));
        }
        out.push('\n');
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "> ⚠️ {}\n", cell(warning));
    }
    if report.regressions.is_empty() && report.unknown.is_empty() {
        let _ = writeln!(out, "{}", no_regression(report));
    }
    out
}

fn row(out: &mut String, regression: &Regression) {
    let finding = &regression.finding;
    let severity = match (&finding.suppressed, finding.status) {
        (Some(s), _) => format!(
            "suppressed until {} ({})",
            s.expires,
            cell(&s.justification)
        ),
        (None, Status::Unknown) => "unknown".into(),
        (None, _) => finding.severity.as_str().to_string(),
    };
    let causes: Vec<String> = regression
        .caused_by
        .iter()
        .map(|c| format!("`{}` ({})", c.address, c.action))
        .collect();
    let _ = writeln!(
        out,
        "| {} | `{}` | {} | {} | {} | {} |",
        cell(&regression.vm_name),
        finding.rule,
        severity,
        finding.cause.as_str(),
        if causes.is_empty() {
            "—".into()
        } else {
            causes.join("<br>")
        },
        cell(&finding.message)
    );
}

pub fn scan(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let mark = if s.fail > 0 {
        "❌"
    } else if !report.complete {
        "⚠️"
    } else {
        "✅"
    };
    let _ = writeln!(out, "## {mark} backup-doctor scan\n");
    let _ = writeln!(
        out,
        "{} VMs: {} pass, {} fail, {} unknown{}.\n",
        s.vms,
        s.pass,
        s.fail,
        s.unknown,
        if report.complete { "" } else { " (incomplete)" }
    );
    if !s.by_root_cause.is_empty() {
        out.push_str("| root cause | VMs |\n|---|---|\n");
        for (cause, n) in &s.by_root_cause {
            let _ = writeln!(out, "| {cause} | {n} |");
        }
        out.push('\n');
    }
    let failing: Vec<_> = report
        .vms
        .iter()
        .filter(|vm| vm.verdict != Status::Pass)
        .collect();
    if !failing.is_empty() {
        out.push_str("| VM | verdict | root cause | findings |\n|---|---|---|---|\n");
        for vm in failing {
            let findings: Vec<String> = vm
                .findings
                .iter()
                .map(|f| {
                    let tag = match (&f.suppressed, f.status) {
                        (Some(_), _) => " (suppressed)",
                        (None, Status::Unknown) => " (unknown)",
                        _ => "",
                    };
                    format!("`{}`{tag}: {}", f.rule, cell(&f.message))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&vm.name),
                vm.verdict.as_str(),
                vm.root_cause.map(|c| c.as_str()).unwrap_or("—"),
                findings.join("<br>")
            );
        }
    }
    recovery(&mut out, report);
    if let Some(attribution) = &report.attribution {
        self::attribution(&mut out, attribution);
    }
    out
}

/// The failing VMs ranked by time left before their recovery point is older than promised.
fn recovery(out: &mut String, report: &Report) {
    if report.summary.time_left.is_empty() {
        return;
    }
    out.push_str("\n### Recovery points\n\n| VM | hours left | recovery point older than promised | forecast |\n|---|---|---|---|\n");
    for entry in &report.summary.time_left {
        let forecast = report
            .vms
            .iter()
            .find(|vm| vm.id == entry.vm_id)
            .and_then(|vm| vm.recovery.as_ref()?.forecast.as_deref())
            .unwrap_or("—");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&entry.vm),
            entry.hours_left,
            minute(&entry.deadline),
            cell(forecast)
        );
    }
}

/// A Markdown section: one row per attributed finding and change.
fn attribution(out: &mut String, attribution: &Attribution) {
    if attribution.findings.is_empty() && attribution.complete {
        return;
    }
    let _ = writeln!(
        out,
        "\n### Why now\n\nAzure changes from {} to {} (from the {}).\n",
        short_time(&attribution.since),
        short_time(&attribution.until),
        attribution.since_from
    );
    out.push_str("| VM | rule | when | change | read by the rule |\n|---|---|---|---|---|\n");
    for finding in &attribution.findings {
        if finding.changes.is_empty() {
            let _ = writeln!(
                out,
                "| {} | `{}` | — | {} | — |",
                cell(&finding.vm),
                finding.rule,
                cell(finding.unexplained.as_deref().unwrap_or_default())
            );
        }
        for change in &finding.changes {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                cell(&finding.vm),
                finding.rule,
                short_time(&change.time),
                cell(&change.sentence()),
                if change.touches_read_property {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    for reason in &attribution.incomplete_because {
        let _ = writeln!(out, "\n⚠️ attribution incomplete: {}", cell(reason));
    }
}

/// Text safe inside a table cell: no pipes or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
