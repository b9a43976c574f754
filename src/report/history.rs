//! `backup-doctor history`: the scans kept in a store and the trend by root cause, as console
//! text or JSON (`backup-doctor/history/v1`).

use crate::store::history::{trend, ScanRow};
use serde::Serialize;
use std::fmt::Write;

pub const SCHEMA: &str = "backup-doctor/history/v1";

#[derive(Debug, Serialize)]
pub struct History {
    pub schema: &'static str,
    pub store: String,
    /// Oldest first.
    pub scans: Vec<ScanRow>,
    /// VMs per root cause in each listed scan (same order as `scans`), in pipeline order.
    pub trend: Vec<TrendRow>,
}

#[derive(Debug, Serialize)]
pub struct TrendRow {
    pub cause: &'static str,
    pub title: &'static str,
    pub counts: Vec<i64>,
}

impl History {
    pub fn new(store: String, scans: Vec<ScanRow>) -> History {
        let trend = trend(&scans)
            .into_iter()
            .map(|(cause, counts)| TrendRow {
                cause: cause.as_str(),
                title: cause.title(),
                counts,
            })
            .collect();
        History {
            schema: SCHEMA,
            store,
            scans,
            trend,
        }
    }
}

pub fn render_json(history: &History) -> String {
    let mut text =
        serde_json::to_string_pretty(history).expect("the history holds only strings and numbers");
    text.push('\n');
    text
}

pub fn render_console(history: &History) -> String {
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
