//! "Why now" in the Markdown and HTML reports: the Azure changes that explain failing findings
//! (docs/change-attribution.md), a table in Markdown and a timeline per VM in HTML.

use super::markdown::cell;
use crate::outcome::attribution::short_time;
use crate::outcome::{AttributedFinding, Attribution};
use maud::{html, Markup};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A Markdown section: one row per attributed finding and change.
pub fn markdown(out: &mut String, attribution: &Attribution) {
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

/// An HTML section: per VM, a timeline of the changes that explain its failing findings, oldest
/// first, and the findings no change explains.
pub fn html(attribution: &Attribution) -> Markup {
    let mut by_vm: BTreeMap<&str, Vec<&AttributedFinding>> = BTreeMap::new();
    for finding in &attribution.findings {
        by_vm.entry(finding.vm.as_str()).or_default().push(finding);
    }
    html! {
        section.card #why-now aria-label="Why now" {
            h2 { "Why now" }
            p.meta {
                "Azure changes from " (short_time(&attribution.since)) " to "
                (short_time(&attribution.until)) " (from the " (attribution.since_from) ")."
                @if !attribution.complete {
                    " " span.badge.incomplete { "attribution incomplete" }
                }
            }
            @for reason in &attribution.incomplete_because {
                p.reason { (reason) }
            }
            @for (vm, findings) in &by_vm {
                h3 { (vm) }
                ol.timeline {
                    @for (time, rule, change) in timeline(findings) {
                        li {
                            time datetime=(change.time) { (short_time(time)) }
                            " · " code { (rule) } " · " (change.sentence())
                            @if !change.touches_read_property {
                                " " span.dim { "(not a property this rule reads)" }
                            }
                        }
                    }
                }
                @for finding in findings {
                    @if let Some(unexplained) = &finding.unexplained {
                        p.unexplained { code { (finding.rule) } ": " (unexplained) }
                    }
                }
            }
        }
    }
}

/// A VM's changes in time order (RFC 3339 UTC times sort as text).
fn timeline<'a>(
    findings: &[&'a AttributedFinding],
) -> Vec<(&'a str, &'a str, &'a crate::outcome::ExplainingChange)> {
    let mut all: Vec<_> = findings
        .iter()
        .flat_map(|f| {
            f.changes
                .iter()
                .map(move |c| (c.time.as_str(), f.rule.as_str(), c))
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(b.1)));
    all
}
