//! The gate result on the console: the verdict first, then each regression with the change that
//! caused it and the fix, then what became unknown, what the change fixes, and what was not
//! evaluated.

use super::Paint;
use crate::outcome::{GateReport, Regression, Status};
use crate::render::{gate_counts, gate_subject, no_regression, not_evaluated_line, note_line};
use std::fmt::Write;

pub fn gate(report: &GateReport, colour: bool) -> String {
    let paint = Paint { on: colour };
    let mut out = String::new();
    let headline = match report.result {
        "fail" => paint.wrap("31;1", "GATE FAIL"),
        "incomplete" => paint.wrap("33;1", "GATE INCOMPLETE"),
        _ => paint.wrap("32;1", "GATE PASS"),
    };
    let _ = writeln!(out, "{headline}: {}", gate_subject(report, ""));
    let _ = writeln!(out, "  {}\n", gate_counts(report, ";", ""));
    let sections = [
        (
            "Regressions (the change breaks backup):",
            &report.regressions,
        ),
        (
            "Unknown until applied (the change makes these undecidable):",
            &report.unknown,
        ),
    ];
    for (title, regressions) in sections {
        if !regressions.is_empty() {
            let _ = writeln!(out, "{}", paint.bold(title));
        }
        for regression in regressions {
            render_regression(&mut out, regression, &paint);
        }
    }
    if !report.fixes.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("Fixed by the change:"));
        for fix in &report.fixes {
            let by: Vec<&str> = fix.fixed_by.iter().map(|c| c.address.as_str()).collect();
            let _ = writeln!(
                out,
                "  {} {} [{}]: {}",
                paint.green("FIXED"),
                fix.vm_name,
                fix.rule,
                fix.message
            );
            if !by.is_empty() {
                let _ = writeln!(out, "      by: {}", by.join(", "));
            }
        }
        out.push('\n');
    }
    for expired in &report.expired_suppressions {
        let _ = writeln!(
            out,
            "{} suppression of {} on {} expired {} ({}): renew it with a new date or fix the finding",
            paint.red("EXPIRED"),
            expired.rule,
            expired.resource,
            expired.expires,
            expired.file
        );
    }
    if !report.unmapped.is_empty() {
        let _ = writeln!(
            out,
            "Not evaluated (resource types the gate does not map): {}",
            report.unmapped.join(", ")
        );
    }
    let not_evaluated: Vec<String> = report
        .not_evaluated
        .iter()
        .map(|entry| {
            let label = if entry.mapped {
                paint.yellow("NOT EVALUATED")
            } else {
                paint.dim("NOT EVALUATED")
            };
            format!("{label} {}", not_evaluated_line(entry, ""))
        })
        .collect();
    let notes: Vec<String> = report.notes.iter().map(|n| note_line(n, "")).collect();
    for (title, lines) in [
        (
            "Not evaluated (listed in the file, not laid over the baseline):",
            not_evaluated,
        ),
        ("What the file says besides its changes:", notes),
    ] {
        if !lines.is_empty() {
            let _ = writeln!(out, "{}", paint.bold(title));
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
            out.push('\n');
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    super::scan::render_skipped(&mut out, &report.skipped, &paint);
    super::write_dangling(&mut out, &report.dangling_references, &paint);
    if report.regressions.is_empty() && report.unknown.is_empty() {
        let _ = writeln!(out, "{}", no_regression(report));
    }
    out
}

fn render_regression(out: &mut String, regression: &Regression, paint: &Paint) {
    let finding = &regression.finding;
    let label = match (&finding.suppressed, finding.status) {
        (Some(_), _) => paint.dim("SUPPRESSED"),
        (None, Status::Fail) => paint.red(finding.severity.as_str()),
        (None, _) => paint.yellow("unknown"),
    };
    let _ = writeln!(
        out,
        "  {label} {} [{}] ({} layer, was {}): {}",
        regression.vm_name,
        finding.rule,
        finding.cause.as_str(),
        regression.before,
        finding.message
    );
    if regression.caused_by.is_empty() {
        let _ = writeln!(
            out,
            "      caused by: no changed resource on this VM's path explains it"
        );
    } else {
        for cause in &regression.caused_by {
            let _ = writeln!(out, "      caused by: {} ({})", cause.address, cause.action);
        }
    }
    if let Some(suppressed) = &finding.suppressed {
        let _ = writeln!(
            out,
            "      suppressed until {}: {}",
            suppressed.expires, suppressed.justification
        );
    } else if finding.status == Status::Fail {
        let _ = writeln!(out, "      fix: {}", finding.remediation.trim());
    }
    for known in &regression.known_after_apply {
        let _ = writeln!(
            out,
            "      known only after apply: {} ({})",
            known.address,
            known.attributes.join(", ")
        );
    }
}
