//! "Why now" on the console: for each attributed failing finding, the change that broke it
//! (`broke at 2026-11-20 14:02 UTC: vm-sql-02-nsg rule Deny-Internet-HTTPS-Out added by
//! alice@contoso.com via Terraform`), the other changes in the window, or why none explains it.

use super::Paint;
use crate::outcome::attribution::short_time;
use crate::outcome::Attribution;
use std::fmt::Write;

pub fn render(out: &mut String, attribution: &Attribution, paint: &Paint) {
    if attribution.findings.is_empty() && attribution.complete {
        return;
    }
    let _ = writeln!(
        out,
        "{} (Azure changes {} to {}, from the {}):",
        paint.bold("Why now"),
        short_time(&attribution.since),
        short_time(&attribution.until),
        attribution.since_from
    );
    for finding in &attribution.findings {
        let new = if finding.new { "" } else { " (persisting)" };
        let _ = writeln!(out, "  {} {}{new}", finding.vm, finding.rule);
        let mut changes = finding.changes.iter();
        if let Some(first) = changes.next().filter(|c| c.touches_read_property) {
            let _ = writeln!(
                out,
                "    {} {}: {}",
                paint.red("broke at"),
                short_time(&first.time),
                first.sentence()
            );
        } else {
            changes = finding.changes.iter();
        }
        for other in changes {
            let note = if other.touches_read_property {
                ""
            } else {
                " (not a property this rule reads)"
            };
            let _ = writeln!(
                out,
                "    {} {}: {}{note}",
                paint.dim("also"),
                short_time(&other.time),
                other.sentence()
            );
        }
        if let Some(unexplained) = &finding.unexplained {
            let _ = writeln!(out, "    {}", paint.yellow(unexplained));
        }
    }
    for reason in &attribution.incomplete_because {
        let _ = writeln!(
            out,
            "  {} {reason}",
            paint.yellow("attribution incomplete:")
        );
    }
}
