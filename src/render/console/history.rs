//! The history of a store on the console: the scans kept, then the trend by root cause.

use crate::outcome::History;
use std::fmt::Write;

pub fn history(history: &History) -> String {
    let mut out = String::new();
    if history.scans.is_empty() {
        let _ = writeln!(out, "No scans in {} yet.", history.store);
        return out;
    }
    let _ = writeln!(
        out,
        "Scans in {} (oldest first, {} listed):",
        history.store,
        history.scans.len()
    );
    let _ = writeln!(
        out,
        "  {:>5}  {:<25} {:>5} {:>5} {:>5} {:>7}  {:<8}  source",
        "scan", "time", "VMs", "pass", "fail", "unknown", "complete"
    );
    for scan in &history.scans {
        let _ = writeln!(
            out,
            "  {:>5}  {:<25} {:>5} {:>5} {:>5} {:>7}  {:<8}  {}",
            format!("#{}", scan.id),
            scan.time,
            scan.vms,
            scan.pass,
            scan.fail,
            scan.unknown,
            if scan.complete { "yes" } else { "no" },
            scan.source
        );
    }
    if history.trend.is_empty() {
        let _ = writeln!(out, "No VM failed in the listed scans.");
        return out;
    }
    let ids: Vec<String> = history.scans.iter().map(|s| format!("#{}", s.id)).collect();
    let _ = writeln!(
        out,
        "Trend by root cause (VMs whose first failing layer it is), scans {}:",
        ids.join(" → ")
    );
    for row in &history.trend {
        let counts: Vec<String> = row.counts.iter().map(|c| format!("{c:>4}")).collect();
        let change = match (row.counts.first(), row.counts.last()) {
            (Some(first), Some(last)) if row.counts.len() > 1 => match last.cmp(first) {
                std::cmp::Ordering::Greater => format!("  (+{})", last - first),
                std::cmp::Ordering::Less => format!("  (-{})", first - last),
                std::cmp::Ordering::Equal => "  (=)".to_string(),
            },
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:<11}{}{change}  {}",
            row.cause,
            counts.join(""),
            row.title
        );
    }
    out
}
