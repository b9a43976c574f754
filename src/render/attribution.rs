//! "Why now" in the HTML report: the Azure changes that explain failing findings
//! (docs/change-attribution.md), a timeline per VM (the Markdown table is in `markdown.rs`).

use crate::outcome::attribution::short_time;
use crate::outcome::{AttributedFinding, Attribution};
use maud::{html, Markup};
use std::collections::BTreeMap;

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
