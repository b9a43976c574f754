//! Console output: per VM, the verdict and root cause, then the findings in pipeline order with
//! the fix, then a fleet summary by root cause. Colour only on a terminal (and never with
//! `NO_COLOR`), decided by the caller.

use super::changes::Changes;
use super::correlation::Correlation;
use super::{Report, VmReport};
use crate::engine::eval::{LayerStatus, Status};
use crate::engine::{Cause, Severity};
use std::fmt::Write;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

pub fn render(report: &Report, colour: bool) -> String {
    let paint = Paint { on: colour };
    let mut out = String::new();
    for vm in &report.vms {
        render_vm(&mut out, vm, &paint);
    }
    render_summary(&mut out, report, &paint);
    if let Some(changes) = &report.changes {
        render_changes(&mut out, changes, &paint);
    }
    out
}

fn verdict_label(paint: &Paint, verdict: Status) -> String {
    match verdict {
        Status::Pass => paint.green("PASS"),
        Status::Fail => paint.red("FAIL"),
        Status::Unknown => paint.yellow("UNKNOWN"),
    }
}

fn render_vm(out: &mut String, vm: &VmReport, paint: &Paint) {
    let workloads =
        (!vm.workloads.is_empty()).then(|| format!("{} backup", vm.workloads.join(" and ")));
    let context = [
        Some(vm.resource_group.as_str()),
        vm.location.as_deref(),
        vm.os.as_deref(),
        vm.power_state.as_deref(),
        vm.protected
            .map(|p| if p { "protected" } else { "VM not protected" }),
        workloads.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let root = match vm.root_cause {
        Some(cause) => format!(
            "  root cause: {} ({})",
            paint.bold(cause.as_str()),
            cause.title()
        ),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "{} {}{}  {}",
        verdict_label(paint, vm.verdict),
        paint.bold(&vm.name),
        root,
        paint.dim(&format!("[{context}]"))
    );
    let layers = vm
        .layers
        .iter()
        .map(|layer| {
            let mark = match layer.status {
                LayerStatus::Pass => paint.green("ok"),
                LayerStatus::Fail => paint.red("FAIL"),
                LayerStatus::Unknown => paint.yellow("?"),
                LayerStatus::NotApplicable => paint.dim("n/a"),
            };
            format!("{} {}", layer.cause.as_str(), mark)
        })
        .collect::<Vec<_>>()
        .join("  ");
    let _ = writeln!(out, "    {layers}");
    let mut step = 0;
    for finding in vm.findings.iter().filter(|f| f.status == Status::Fail) {
        step += 1;
        let severity = match finding.severity {
            Severity::Error => paint.red("error"),
            Severity::Warning => paint.yellow("warning"),
            Severity::Info => paint.dim("info"),
        };
        let after = match vm.root_cause {
            Some(root) if finding.cause != root && finding.severity == Severity::Error => {
                paint.dim(" (fix after the root cause)")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {step}. [{}] {severity} {}: {}{after}",
            finding.cause.as_str(),
            finding.rule,
            finding.message
        );
        if let Some(suppressed) = &finding.suppressed {
            let _ = writeln!(
                out,
                "     {} until {}: {}",
                paint.dim("suppressed"),
                suppressed.expires,
                suppressed.justification
            );
        }
        if !finding.explains.is_empty() {
            let _ = writeln!(out, "     explains: {}", finding.explains.join(", "));
        }
        let _ = writeln!(
            out,
            "     fix: {}",
            indent(&finding.remediation, "          ")
        );
    }
    for finding in vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Unknown && f.severity == Severity::Error)
    {
        let _ = writeln!(
            out,
            "  {} [{}] {}: {}",
            paint.yellow("?"),
            finding.cause.as_str(),
            finding.rule,
            paint.dim(&finding.message)
        );
    }
    for layer in vm
        .layers
        .iter()
        .filter(|l| l.status == LayerStatus::Unknown)
    {
        if let Some(reason) = &layer.reason {
            let _ = writeln!(
                out,
                "  {} [{}] {}",
                paint.yellow("?"),
                layer.cause.as_str(),
                paint.dim(reason)
            );
        }
    }
    // Nightly jobs repeat the same failure; one line per distinct failure reads better.
    let mut groups: Vec<(String, &[String], Vec<&str>)> = Vec::new();
    for job in &vm.failed_jobs {
        let codes = if job.codes.is_empty() {
            format!(
                "unrecognised error: {}",
                job.errors
                    .first()
                    .map(String::as_str)
                    .unwrap_or("(no error details)")
            )
        } else {
            job.codes
                .iter()
                .map(|c| c.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let when = job.start_time.as_deref().unwrap_or("time unknown");
        match groups
            .iter_mut()
            .find(|(c, e, _)| *c == codes && *e == job.explained_by.as_slice())
        {
            Some((_, _, times)) => times.push(when),
            None => groups.push((codes, &job.explained_by, vec![when])),
        }
    }
    for (codes, explained_by, times) in groups {
        let explained = if explained_by.is_empty() {
            paint.yellow("not explained by any finding")
        } else {
            format!("explained by {}", explained_by.join(", "))
        };
        let _ = writeln!(
            out,
            "  {} failed job(s), latest {}: {codes} — {explained}",
            times.len(),
            times[0]
        );
    }
    out.push('\n');
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .collect::<Vec<_>>()
        .join(&format!("\n{prefix}"))
}

fn render_summary(out: &mut String, report: &Report, paint: &Paint) {
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} {} VMs: {} pass, {} fail, {} unknown",
        paint.bold("Summary:"),
        s.vms,
        paint.green(&s.pass.to_string()),
        paint.red(&s.fail.to_string()),
        paint.yellow(&s.unknown.to_string())
    );
    if !s.by_root_cause.is_empty() {
        let _ = writeln!(out, "Root causes, in pipeline order:");
        for cause in Cause::ALL {
            if let Some(count) = s.by_root_cause.get(cause.as_str()) {
                let _ = writeln!(
                    out,
                    "  {:<11} {:>5}  {}",
                    cause.as_str(),
                    count,
                    cause.title()
                );
            }
        }
    }
    if s.failed_jobs > 0 {
        let _ = writeln!(
            out,
            "Failed backup jobs in the window: {} ({} explained by a predicted finding)",
            s.failed_jobs, s.failed_jobs_explained
        );
    }
    if s.correlation.jobs > 0 {
        render_correlation(out, &s.correlation);
    }
    if !report.complete {
        let reasons = report.unknown_reasons();
        let _ = writeln!(
            out,
            "{} some facts could not be read, so some checks are unknown (not passed):",
            paint.yellow("Incomplete:")
        );
        for gap in &report.gaps {
            let _ = writeln!(out, "  gap: {} at {}: {}", gap.what, gap.scope, gap.reason);
        }
        for (reason, count) in reasons {
            let _ = writeln!(out, "  {count:>5} × {reason}");
        }
    }
}

/// `--since-last`: new and resolved failures by name; persisting ones as a count (the VM lines
/// above show them).
fn render_changes(out: &mut String, changes: &Changes, paint: &Paint) {
    let against = match &changes.previous {
        Some(previous) => format!("scan #{} of {}", previous.id, previous.time),
        None => "no earlier scan in the store: every failure is new".to_string(),
    };
    let _ = writeln!(
        out,
        "{} ({against}): {} new, {} resolved, {} persisting, {} undecided",
        paint.bold("Since the last scan"),
        changes.new.len(),
        changes.resolved.len(),
        changes.persisting.len(),
        changes.undecided.len()
    );
    for change in &changes.new {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            paint.red("new       "),
            change.vm,
            change.rule,
            change.message
        );
    }
    for change in &changes.resolved {
        let _ = writeln!(
            out,
            "  {} {} {}",
            paint.green("resolved  "),
            change.vm,
            change.rule
        );
    }
    for change in &changes.undecided {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            paint.yellow("undecided "),
            change.vm,
            change.rule,
            change.reason.as_deref().unwrap_or_default()
        );
    }
}

/// Per layer of the jobs' error codes: how many failed jobs a finding predicted, and how many
/// point at the layer backup-doctor named the VM's root cause.
fn render_correlation(out: &mut String, correlation: &Correlation) {
    let percent = |rate: f64| format!("{:.0}%", rate * 100.0);
    let _ = writeln!(
        out,
        "Failed jobs against predictions, by the layer of the job's error code:"
    );
    for cause in Cause::ALL {
        if let Some(c) = correlation.by_cause.get(cause.as_str()) {
            let _ = writeln!(
                out,
                "  {:<11} {:>5} job(s): {} predicted ({}), {} at the VM's root cause ({})",
                cause.as_str(),
                c.jobs,
                c.predicted,
                percent(c.rate),
                c.agree_with_root_cause,
                percent(c.agreement_rate)
            );
        }
    }
    if correlation.unrecognised > 0 {
        let _ = writeln!(
            out,
            "  {:<11} {:>5} job(s) with an error backup-doctor does not recognise",
            "unrecognised", correlation.unrecognised
        );
    }
    if let Some(rate) = correlation.rate {
        let _ = writeln!(
            out,
            "  {:<11} {:>5} job(s): {} predicted ({})",
            "all",
            correlation.jobs,
            correlation.predicted,
            percent(rate)
        );
    }
}
