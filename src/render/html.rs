//! `--format html`: the report as one self-contained page for people: a fleet summary by root
//! cause with a chart, filters by subscription, root cause and verdict (also settable from the
//! URL hash, e.g. `#subscription=<id>&cause=network`), and per VM the pipeline with the broken
//! layer highlighted, each finding with its fix, and the failed jobs with whether a finding
//! predicted them; the failing VMs by time left before their recovery point is older than their
//! policy promises, and each protected VM's recovery-point age.
//!
//! The page loads nothing: CSS, script and chart are inline, and a Content-Security-Policy of
//! `default-src 'none'` with the hashes of the one style and the one script makes the browser
//! refuse anything else, so even text that slipped past escaping could neither run nor call out.
//! Every piece of text comes from Azure (names, messages, job errors) and goes through maud's
//! escaping; the script reads its data from the DOM, never from text spliced into it.

use crate::outcome::{
    Cause, FailedJobReport, Finding, LayerStatus, Report, Severity, Status, SubscriptionNames,
    VmReport,
};
use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

mod recovery;

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

pub fn scan(report: &Report) -> String {
    // Ids are compared in lower case: ARM echoes them in varying case.
    let names: SubscriptionNames = report
        .subscription_names
        .iter()
        .map(|(id, name)| (id.to_ascii_lowercase(), name.clone()))
        .collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(content_security_policy());
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ "backup-doctor " (env!("CARGO_PKG_VERSION")) };
                title { "backup-doctor report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.page-header {
                    h1 { "backup-doctor" span.subtitle { "Azure VM backup fleet report" } }
                    p.meta {
                        @if let Some(created) = &report.snapshot_created {
                            "Data read " time datetime=(created) { (created) } " · "
                        }
                        (report.summary.vms) " VMs in " (subscriptions(report).len()) " subscriptions · "
                        @if report.complete {
                            span.badge.complete #completeness { "complete" }
                        } @else {
                            span.badge.incomplete #completeness { "incomplete" }
                        }
                    }
                }
                main {
                    (summary_section(report))
                    (chart_section(report))
                    div.two-columns {
                        (subscription_section(report, &names))
                        (jobs_section(report))
                    }
                    (recovery::ranking_section(report))
                    (completeness_section(report))
                    @if let Some(attribution) = &report.attribution {
                        (super::attribution::html(attribution))
                    }
                    (filters(report, &names))
                    section #vms aria-label="Virtual machines" {
                        @for (index, vm) in report.vms.iter().enumerate() {
                            (vm_card(index, vm, &names))
                        }
                        p #no-match hidden[true] { "No VM matches these filters." }
                    }
                }
                footer {
                    "Made by backup-doctor " (env!("CARGO_PKG_VERSION"))
                    " from Azure Resource Manager data read with Reader rights. "
                    "Unknown is not pass: a layer marked “?” could not be checked."
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    page.into_string()
}

/// Only the page's own style and script may apply; nothing may load.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn subscriptions(report: &Report) -> Vec<String> {
    let mut ids: Vec<String> = report
        .vms
        .iter()
        .map(|vm| vm.subscription.to_ascii_lowercase())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn subscription_label(id: &str, names: &SubscriptionNames) -> String {
    match names.get(&id.to_ascii_lowercase()) {
        Some(name) => format!("{name} ({id})"),
        None => id.to_string(),
    }
}

fn summary_section(report: &Report) -> Markup {
    let s = &report.summary;
    html! {
        section.cards aria-label="Verdicts" {
            div.card #count-vms data-count=(s.vms) { span.number { (s.vms) } span.label { "VMs" } }
            div.card.pass #count-pass data-count=(s.pass) { span.number { (s.pass) } span.label { "pass" } }
            div.card.fail #count-fail data-count=(s.fail) { span.number { (s.fail) } span.label { "fail" } }
            div.card.unknown #count-unknown data-count=(s.unknown) { span.number { (s.unknown) } span.label { "unknown" } }
            div.card.jobs #count-jobs data-count=(s.failed_jobs) data-predicted=(s.failed_jobs_explained) {
                span.number { (s.failed_jobs_explained) " / " (s.failed_jobs) }
                span.label { "failed jobs predicted by a finding" }
            }
        }
    }
}

/// A horizontal bar per layer, in pipeline order, zero included: the first broken layer is where
/// the fixing starts, so the order carries meaning. A click on a bar filters the VMs by it.
fn chart_section(report: &Report) -> Markup {
    const LABEL_WIDTH: f64 = 320.0;
    const BAR_SPACE: f64 = 600.0;
    const ROW: f64 = 30.0;
    let counts: Vec<(Cause, usize)> = Cause::ALL
        .iter()
        .map(|&c| {
            (
                c,
                report
                    .summary
                    .by_root_cause
                    .get(c.as_str())
                    .copied()
                    .unwrap_or(0),
            )
        })
        .collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = ROW * counts.len() as f64 + 10.0;
    let width = LABEL_WIDTH + BAR_SPACE + 50.0;
    html! {
        section.panel #root-causes {
            h2 #chart-title { "Root causes, in pipeline order" span #chart-scope {} }
            p.hint { "The first broken layer of each failing VM. Fix it first: later layers cannot work while it is broken. Click a bar to show those VMs. The subscription filter scopes this chart and the counts above." }
            svg #chart role="img" aria-labelledby="chart-title" viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height)
                data-label-width=(LABEL_WIDTH) data-bar-space=(BAR_SPACE) {
                @for (row, (cause, count)) in counts.iter().enumerate() {
                    @let y = 5.0 + ROW * row as f64;
                    @let bar = if *count == 0 { 0.0 } else { (BAR_SPACE * *count as f64 / max as f64).max(3.0) };
                    g.bar data-cause=(cause.as_str()) data-count=(count) tabindex="0" role="button" {
                        title { (cause.as_str()) ": " (count) " VMs" }
                        text.bar-label x="0" y=(y + 19.0) {
                            (row + 1) ". " (cause.as_str()) tspan.bar-title { " · " (cause.title()) }
                        }
                        rect.bar-track x=(LABEL_WIDTH) y=(y + 4.0) width=(BAR_SPACE) height="20" rx="3" {}
                        rect.bar-fill x=(LABEL_WIDTH) y=(y + 4.0) width=(format!("{bar:.1}")) height="20" rx="3" {}
                        text.bar-count x=(LABEL_WIDTH + bar + 8.0) y=(y + 19.0) { (count) }
                    }
                }
            }
        }
    }
}

fn subscription_section(report: &Report, names: &SubscriptionNames) -> Markup {
    html! {
        section.panel #by-subscription {
            h2 { "By subscription" }
            table {
                thead { tr { th { "subscription" } th.num { "VMs" } th.num { "pass" } th.num { "fail" } th.num { "unknown" } } }
                tbody {
                    @for id in subscriptions(report) {
                        @let vms: Vec<&VmReport> = report.vms.iter().filter(|vm| vm.subscription.eq_ignore_ascii_case(&id)).collect();
                        @let with = |verdict: Status| vms.iter().filter(|vm| vm.verdict == verdict).count();
                        tr data-subscription=(id) {
                            td {
                                @if let Some(name) = names.get(&id) { (name) br; }
                                code.subscription-id { (id) }
                            }
                            td.num { (vms.len()) }
                            td.num { (with(Status::Pass)) }
                            td.num { (with(Status::Fail)) }
                            td.num { (with(Status::Unknown)) }
                        }
                    }
                }
            }
        }
    }
}

/// The layer a failed job points at: that of its first recognised code.
fn job_layer(job: &FailedJobReport) -> Option<Cause> {
    job.codes.first().map(|c| c.cause)
}

/// Failed jobs per layer and how many a finding predicted: how far the control-plane checks
/// agree with what Azure Backup actually reported.
fn jobs_section(report: &Report) -> Markup {
    let mut by_layer: BTreeMap<Option<Cause>, (usize, usize)> = BTreeMap::new();
    for job in report.vms.iter().flat_map(|vm| &vm.failed_jobs) {
        let entry = by_layer.entry(job_layer(job)).or_default();
        entry.0 += 1;
        if !job.explained_by.is_empty() {
            entry.1 += 1;
        }
    }
    html! {
        section.panel #jobs-agreement {
            h2 { "Failed backup jobs and predictions" }
            @if by_layer.is_empty() {
                p { "No failed backup jobs in the window." }
            } @else {
                table {
                    thead { tr { th { "layer of the job's error" } th.num { "failed jobs" } th.num { "predicted" } th.num { "agreement" } } }
                    tbody {
                        @for (layer, (jobs, predicted)) in &by_layer {
                            tr data-layer=(layer.map(Cause::as_str).unwrap_or("unrecognised")) {
                                td { (layer.map(Cause::as_str).unwrap_or("unrecognised error")) }
                                td.num { (jobs) }
                                td.num { (predicted) }
                                td.num { (predicted * 100 / jobs) "%" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn completeness_section(report: &Report) -> Markup {
    html! {
        section.panel #completeness-details {
            h2 { "Completeness" }
            @if report.complete {
                p { "Every fact the rules need was read: no check is undecided." }
            } @else {
                p { "Some facts could not be read, so some checks are " strong { "unknown" } ", not passed." }
                @if !report.gaps.is_empty() {
                    h3 { "What could not be read" }
                    ul #gaps {
                        @for gap in &report.gaps {
                            li.gap { code { (gap.what) } " at " code { (gap.scope) } ": " (gap.reason) }
                        }
                    }
                }
                @if !report.incomplete_because.is_empty() {
                    h3 { "What the input lacks" }
                    ul #input-problems {
                        @for reason in &report.incomplete_because { li { (reason) } }
                    }
                }
                @let reasons = report.unknown_reasons();
                @if !reasons.is_empty() {
                    h3 { "Undecided checks, by missing fact" }
                    ul #unknown-reasons {
                        @for (reason, count) in &reasons {
                            li { span.count { (count) " ×" } " " (rich_text(reason)) }
                        }
                    }
                }
            }
            @if !report.skipped.is_empty() {
                h3 { "Skipped objects of the input" }
                ul #skipped {
                    @for group in &report.skipped {
                        li.skipped {
                            span.count { (group.count) " ×" } " " (group.message)
                            @if !group.types.is_empty() { ": " (group.types_summary()) }
                            " (at "
                            @for (index, place) in group.examples.iter().enumerate() {
                                @if index > 0 { "; " }
                                code { (place) }
                            }
                            @if group.count > group.examples.len() { "; …" }
                            ")"
                        }
                    }
                }
            }
            @if !report.warnings.is_empty() {
                h3 { "Warnings while reading" }
                ul #warnings { @for warning in &report.warnings { li { (warning) } } }
            }
        }
    }
}

fn filters(report: &Report, names: &SubscriptionNames) -> Markup {
    html! {
        nav #filters aria-label="Filters" {
            label { "Subscription "
                select #filter-subscription {
                    option value="" { "all" }
                    @for id in subscriptions(report) {
                        option value=(id) { (subscription_label(&id, names)) }
                    }
                }
            }
            label { "Root cause "
                select #filter-cause {
                    option value="" { "all" }
                    @for cause in Cause::ALL {
                        option value=(cause.as_str()) { (cause.as_str()) " · " (cause.title()) }
                    }
                    option value="none" { "none (pass or unknown)" }
                }
            }
            label { "Verdict "
                select #filter-verdict {
                    option value="" { "all" }
                    option value="fail" { "fail" }
                    option value="unknown" { "unknown" }
                    option value="pass" { "pass" }
                }
            }
            span.shown {
                "showing " span #shown-count { (report.vms.len()) } " of " (report.vms.len()) " VMs"
                span #active-filters {}
            }
            button #clear-filters type="button" { "clear filters" }
        }
    }
}

fn vm_card(index: usize, vm: &VmReport, names: &SubscriptionNames) -> Markup {
    let workloads =
        (!vm.workloads.is_empty()).then(|| format!("{} backup", vm.workloads.join(" and ")));
    let context: Vec<String> = [
        Some(subscription_label(&vm.subscription, names)),
        Some(format!("resource group {}", vm.resource_group)),
        vm.location.clone(),
        vm.os.clone(),
        vm.power_state.clone(),
        vm.protected
            .map(|p| if p { "protected" } else { "not protected" }.to_string()),
        workloads,
    ]
    .into_iter()
    .flatten()
    .collect();
    let verdict = vm.verdict.as_str();
    html! {
        article class={ "vm verdict-" (verdict) } id={ "vm-" (index + 1) }
            data-name=(vm.name) data-vm-id=(vm.id)
            data-subscription=(vm.subscription.to_ascii_lowercase())
            data-cause=(vm.root_cause.map(Cause::as_str).unwrap_or("none"))
            data-verdict=(verdict)
            data-failed-jobs=(vm.failed_jobs.len())
            data-predicted-jobs=(vm.failed_jobs.iter().filter(|j| !j.explained_by.is_empty()).count()) {
            header.vm-header {
                span class={ "verdict-badge " (verdict) } { (verdict.to_uppercase()) }
                h3.vm-name { (vm.name) }
                @if let Some(cause) = vm.root_cause {
                    span.root-cause { "root cause: " strong { (cause.as_str()) } " · " (cause.title()) }
                }
            }
            p.vm-context { (context.join(" · ")) }
            (pipeline(vm))
            (findings(vm))
            (layer_reasons(vm))
            (failed_jobs(vm))
            (recovery::vm_recovery(vm))
        }
    }
}

/// The eight layers as a row of boxes, the root cause marked: where the backup breaks first.
fn pipeline(vm: &VmReport) -> Markup {
    html! {
        ol.pipeline aria-label="Backup pipeline" {
            @for layer in &vm.layers {
                @let status = layer.status;
                @let class = match status {
                    LayerStatus::Pass => "pass",
                    LayerStatus::Fail => "fail",
                    LayerStatus::Unknown => "unknown",
                    LayerStatus::NotApplicable => "na",
                };
                @let is_root = vm.root_cause == Some(layer.cause);
                li class={ "layer " (class) @if is_root { " root" } }
                    data-layer=(layer.cause.as_str()) data-status=(status.as_str())
                    title=(layer.reason.as_deref().unwrap_or(layer.cause.title())) {
                    span.layer-name { (layer.cause.as_str()) }
                    span.layer-status {
                        @match status {
                            LayerStatus::Pass => "✓ ok",
                            LayerStatus::Fail => "✗ fail",
                            LayerStatus::Unknown => "? unknown",
                            LayerStatus::NotApplicable => "n/a",
                        }
                    }
                    @if is_root { span.root-tag { "root cause" } }
                }
            }
        }
    }
}

/// Failing findings first (in pipeline order, numbered as the order to fix them), then the
/// checks that could not be decided.
fn findings(vm: &VmReport) -> Markup {
    let failing: Vec<&Finding> = vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .collect();
    let undecided: Vec<&Finding> = vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Unknown)
        .collect();
    html! {
        @if !failing.is_empty() {
            ol.findings {
                @for finding in failing {
                    (finding_item(vm, finding))
                }
            }
        }
        @if !undecided.is_empty() {
            ul.findings.undecided {
                @for finding in undecided {
                    (finding_item(vm, finding))
                }
            }
        }
    }
}

fn finding_item(vm: &VmReport, finding: &Finding) -> Markup {
    let later = finding.status == Status::Fail
        && finding.severity == Severity::Error
        && vm.root_cause.is_some_and(|root| root != finding.cause);
    html! {
        li class={ "finding status-" (finding.status.as_str()) " severity-" (finding.severity.as_str()) }
            data-rule=(finding.rule) data-layer=(finding.cause.as_str()) {
            div.finding-head {
                span class={ "severity " (finding.severity.as_str()) } { (finding.severity.as_str()) }
                @if finding.status == Status::Unknown { span.severity.undecided-tag { "undecided" } }
                span.chip { (finding.cause.as_str()) }
                code.rule { (finding.rule) }
                @if later { span.later { "fix after the root cause" } }
            }
            p.message { (rich_text(&finding.message)) }
            @if !finding.unknown_facts.is_empty() {
                ul.unknown-facts {
                    @for unknown in &finding.unknown_facts {
                        li { "could not read " code { (unknown.fact) } ": " (unknown.reason) }
                    }
                }
            }
            @if !finding.explains.is_empty() {
                p.explains { "explains " @for code in &finding.explains { code.error-code { (code) } " " } }
            }
            @if finding.status == Status::Fail && !finding.remediation.trim().is_empty() {
                div.fix { span.fix-label { "Fix" } div.fix-text { (rich_text(finding.remediation.trim())) } }
            }
            @if !finding.docs.trim().is_empty() || !finding.resources.is_empty() {
                details.why {
                    summary { "why and evidence" }
                    @if !finding.docs.trim().is_empty() { p { (rich_text(finding.docs.trim())) } }
                    @if !finding.resources.is_empty() {
                        ul.resources { @for resource in &finding.resources { li { code { (resource) } } } }
                    }
                }
            }
        }
    }
}

/// Layers that are unknown or not applicable without a finding saying why.
fn layer_reasons(vm: &VmReport) -> Markup {
    let reasons: Vec<_> = vm
        .layers
        .iter()
        .filter(|l| l.status == LayerStatus::Unknown)
        .filter_map(|l| l.reason.as_deref().map(|r| (l.cause, r)))
        .collect();
    html! {
        @if !reasons.is_empty() {
            ul.layer-reasons {
                @for (cause, reason) in reasons {
                    li { span.chip { (cause.as_str()) } " could not be checked: " (reason) }
                }
            }
        }
    }
}

/// Nightly jobs repeat the same failure: one row per distinct failure, with how often and when
/// last, and whether a finding predicted it.
fn failed_jobs(vm: &VmReport) -> Markup {
    let mut groups: Vec<(&FailedJobReport, usize)> = Vec::new();
    for job in &vm.failed_jobs {
        let same = |other: &FailedJobReport| {
            other
                .codes
                .iter()
                .map(|c| &c.code)
                .eq(job.codes.iter().map(|c| &c.code))
                && other.errors == job.errors
                && other.explained_by == job.explained_by
        };
        match groups.iter_mut().find(|(first, _)| same(first)) {
            Some((_, count)) => *count += 1,
            None => groups.push((job, 1)),
        }
    }
    html! {
        @if !groups.is_empty() {
            table.jobs {
                caption { "Failed backup jobs in the window" }
                thead { tr { th { "jobs" } th { "latest" } th { "error" } th { "predicted" } } }
                tbody {
                    @for (job, count) in groups {
                        @let predicted = !job.explained_by.is_empty();
                        tr.job data-predicted=(if predicted { "yes" } else { "no" }) {
                            td.num { (count) }
                            td {
                                @match job.start_time.as_deref() {
                                    Some(start) => time datetime=(start) title=(start) { (short_time(start)) },
                                    None => "time unknown",
                                }
                            }
                            td {
                                @if job.codes.is_empty() {
                                    "unrecognised: " (job.errors.first().map(String::as_str).unwrap_or("no error details"))
                                } @else {
                                    @for code in &job.codes {
                                        div { code.error-code { (code.code) } " " span.chip { (code.cause.as_str()) } " " (code.summary) }
                                    }
                                }
                            }
                            td {
                                @if predicted {
                                    span.predicted.yes { "yes" } " by "
                                    @for (i, rule) in job.explained_by.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        code { (rule) }
                                    }
                                } @else {
                                    span.predicted.no { "no" } " not explained by any finding"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `2026-11-23T22:25:11.2916561Z` reads as `2026-11-23 22:25 UTC`; the exact time stays in
/// the element's `datetime`.
fn short_time(text: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(at) => {
            let at = at.to_offset(time::UtcOffset::UTC);
            format!(
                "{}-{:02}-{:02} {:02}:{:02} UTC",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute()
            )
        }
        Err(_) => text.to_string(),
    }
}

/// Rule texts mark commands and names with backticks; shown as code, everything escaped.
fn rich_text(text: &str) -> Markup {
    let balanced = text.matches('`').count() % 2 == 0;
    html! {
        @if balanced {
            @for (i, part) in text.split('`').enumerate() {
                @if i % 2 == 1 { code { (part) } } @else { (part) }
            }
        } @else {
            (text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticks_become_code_and_everything_is_escaped() {
        assert_eq!(
            rich_text("run `a <b>` & <i>").into_string(),
            "run <code>a &lt;b&gt;</code> &amp; &lt;i&gt;"
        );
        assert_eq!(
            rich_text("one ` left <x>").into_string(),
            "one ` left &lt;x&gt;",
            "an unpaired backtick stays text"
        );
    }

    #[test]
    fn job_times_read_in_utc_minutes() {
        assert_eq!(
            short_time("2026-11-23T22:25:11.2916561Z"),
            "2026-11-23 22:25 UTC"
        );
        assert_eq!(
            short_time("2026-11-24T01:10:00+02:00"),
            "2026-11-23 23:10 UTC"
        );
        assert_eq!(short_time("yesterday"), "yesterday");
    }

    #[test]
    fn the_policy_hashes_the_exact_inline_texts() {
        let policy = content_security_policy();
        assert!(policy.starts_with("default-src 'none'"));
        assert!(policy.contains(&csp_hash(STYLE)) && policy.contains(&csp_hash(SCRIPT)));
        // sha256 of the empty string, base64: a known vector for the encoding.
        assert_eq!(
            csp_hash(""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
