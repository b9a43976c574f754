//! A scan on the console: per VM, the verdict and root cause, then the findings in pipeline order
//! with the fix, then a fleet summary by root cause and what changed since the last scan.

use super::{context, write_fix, write_gaps, write_undecided, Paint};
use crate::inventory::reading::SkipGroup;
use crate::outcome::{
    Cause, Changes, Correlation, LayerStatus, Report, Severity, Status, VmReport,
};
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn scan(report: &Report, colour: bool) -> String {
    let paint = Paint { on: colour };
    let mut out = String::new();
    for vm in &report.vms {
        render_vm(&mut out, vm, &paint);
    }
    render_summary(&mut out, report, &paint);
    if let Some(changes) = &report.changes {
        render_changes(&mut out, changes, &paint);
    }
    if let Some(attribution) = &report.attribution {
        super::attribution::render(&mut out, attribution, &paint);
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
    let context = context([
        Some(vm.resource_group.as_str()),
        vm.location.as_deref(),
        vm.os.as_deref(),
        vm.power_state.as_deref(),
        vm.protected
            .map(|p| if p { "protected" } else { "VM not protected" }),
        workloads.as_deref(),
    ]);
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
        paint.dim(&context)
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
        write_fix(out, &finding.remediation);
    }
    for finding in vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Unknown && f.severity == Severity::Error)
    {
        write_undecided(out, paint, finding, &paint.dim(&finding.message));
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
    super::recovery::vm_lines(out, vm, paint);
    out.push('\n');
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
        for (cause, count) in in_pipeline_order(&s.by_root_cause) {
            let _ = writeln!(
                out,
                "  {:<11} {:>5}  {}",
                cause.as_str(),
                count,
                cause.title()
            );
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
    super::recovery::ranking(out, report, paint);
    render_skipped(out, &report.skipped, paint);
    if !report.complete {
        let reasons = report.unknown_reasons();
        let _ = writeln!(
            out,
            "{} some facts could not be read, so some checks are unknown (not passed):",
            paint.yellow("Incomplete:")
        );
        write_gaps(out, &report.gaps);
        for reason in &report.incomplete_because {
            let _ = writeln!(out, "  {reason}");
        }
        for warning in report.dangling_references.iter().flat_map(|d| d.warnings()) {
            let _ = writeln!(out, "    {}", paint.dim(&warning));
        }
        for (reason, count) in reasons {
            let _ = writeln!(out, "  {count:>5} × {reason}");
        }
    }
}

/// What the input held that was not used, by reason, with where to look.
pub(super) fn render_skipped(out: &mut String, skipped: &[SkipGroup], paint: &Paint) {
    if skipped.is_empty() {
        return;
    }
    let total: usize = skipped.iter().map(|g| g.count).sum();
    let _ = writeln!(
        out,
        "{} {total} object(s) of the input:",
        paint.bold("Skipped")
    );
    for group in skipped {
        let _ = writeln!(out, "  {:>5} × {}", group.count, group.message);
        if !group.types.is_empty() {
            let _ = writeln!(out, "          {}", paint.dim(&group.types_summary()));
        }
        let places: Vec<String> = group.examples.iter().map(|p| p.to_string()).collect();
        let more = if group.count > places.len() {
            ", …"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "          {}",
            paint.dim(&format!("at {}{more}", places.join("; ")))
        );
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
    let new = changes
        .new
        .iter()
        .map(|c| (paint.red("new       "), c, Some(c.message.as_str())));
    let resolved = changes
        .resolved
        .iter()
        .map(|c| (paint.green("resolved  "), c, None));
    let undecided = changes.undecided.iter().map(|c| {
        let reason = c.reason.as_deref().unwrap_or_default();
        (paint.yellow("undecided "), c, Some(reason))
    });
    for (label, change, detail) in new.chain(resolved).chain(undecided) {
        let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
        let _ = writeln!(out, "  {label} {} {}{detail}", change.vm, change.rule);
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
    for (cause, c) in in_pipeline_order(&correlation.by_cause) {
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

/// The entries of a map keyed by layer id, in pipeline order.
fn in_pipeline_order<'a, T>(
    by_cause: &'a BTreeMap<&str, T>,
) -> impl Iterator<Item = (Cause, &'a T)> {
    Cause::ALL
        .into_iter()
        .filter_map(|cause| Some((cause, by_cause.get(cause.as_str())?)))
}
