//! The history of a store on the console: the scans kept, then the trend by root cause.
//!
//! Column widths follow the widest value: a fleet of thousands of VMs has counts of four and
//! five digits, and a fixed width would run them into each other.

use crate::outcome::History;
use std::fmt::Write;

/// The width of a column: its header or its widest value.
fn width<T: ToString>(header: &str, values: impl IntoIterator<Item = T>) -> usize {
    values
        .into_iter()
        .map(|v| v.to_string().chars().count())
        .chain([header.chars().count()])
        .max()
        .unwrap_or_default()
}

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
    let scans = &history.scans;
    let ids: Vec<String> = scans.iter().map(|s| format!("#{}", s.id)).collect();
    let w_id = width("scan", &ids);
    let w_time = width("time", scans.iter().map(|s| &s.time)).max(25);
    let w_vms = width("VMs", scans.iter().map(|s| s.vms));
    let w_pass = width("pass", scans.iter().map(|s| s.pass));
    let w_fail = width("fail", scans.iter().map(|s| s.fail));
    let w_unknown = width("unknown", scans.iter().map(|s| s.unknown));
    let _ = writeln!(
        out,
        "  {:>w_id$}  {:<w_time$} {:>w_vms$} {:>w_pass$} {:>w_fail$} {:>w_unknown$}  {:<8}  source",
        "scan", "time", "VMs", "pass", "fail", "unknown", "complete"
    );
    for (scan, id) in scans.iter().zip(&ids) {
        let _ = writeln!(
            out,
            "  {:>w_id$}  {:<w_time$} {:>w_vms$} {:>w_pass$} {:>w_fail$} {:>w_unknown$}  {:<8}  {}",
            id,
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
    let _ = writeln!(
        out,
        "Trend by root cause (VMs whose first failing layer it is), scans {}:",
        ids.join(" → ")
    );
    // One width for every count, so the columns of all rows line up.
    let w_count = width("", history.trend.iter().flat_map(|row| &row.counts)).max(3);
    let w_cause = width("", history.trend.iter().map(|row| row.cause));
    for row in &history.trend {
        let counts: Vec<String> = row
            .counts
            .iter()
            .map(|c| format!(" {c:>w_count$}"))
            .collect();
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
            "  {:<w_cause$}{}{change}  {}",
            row.cause,
            counts.join(""),
            row.title
        );
    }
    rule_trust(&mut out, history);
    out
}

/// Per rule: recall (failed jobs it foretold) and precision (failing nights followed by a failed
/// job), so rule authors see which rules earn trust.
fn rule_trust(out: &mut String, history: &History) {
    if history.rules.is_empty() {
        return;
    }
    let percent =
        |rate: Option<f64>| rate.map_or("—".to_string(), |r| format!("{:.0}%", r * 100.0));
    let w_rule = width("rule", history.rules.iter().map(|r| &r.rule));
    let _ = writeln!(
        out,
        "Rules against the failed jobs that followed (recall: jobs foretold by the scan before; precision: failing scans followed by a failed job):"
    );
    let _ = writeln!(
        out,
        "  {:<w_rule$}  {:>5} {:>9} {:>6}  {:>6} {:>8} {:>9}",
        "rule", "jobs", "foretold", "recall", "nights", "followed", "precision"
    );
    for rule in &history.rules {
        let _ = writeln!(
            out,
            "  {:<w_rule$}  {:>5} {:>9} {:>6}  {:>6} {:>8} {:>9}",
            rule.rule,
            rule.jobs,
            rule.foretold,
            percent(rule.recall),
            rule.nights,
            rule.followed,
            percent(rule.precision)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::history::ScanRow;
    use std::collections::BTreeMap;

    fn scan(id: i64, vms: i64, agent: i64, network: i64) -> ScanRow {
        ScanRow {
            id,
            time: format!("2026-11-{:02}T06:00:00Z", 20 + id % 10),
            recorded_at: String::new(),
            source: "fleet".into(),
            complete: true,
            vms,
            pass: vms - agent - network,
            fail: agent + network,
            unknown: 0,
            failed_jobs: 0,
            failed_jobs_explained: 0,
            by_root_cause: BTreeMap::from([
                ("agent".to_string(), agent),
                ("network".to_string(), network),
            ]),
        }
    }

    /// The whitespace-separated fields of the line starting (after indentation) with `first`.
    fn fields<'a>(out: &'a str, first: &str) -> Vec<&'a str> {
        out.lines()
            .map(str::split_whitespace)
            .map(Iterator::collect::<Vec<_>>)
            .find(|fields| fields.first() == Some(&first))
            .unwrap_or_else(|| panic!("no line for {first}:\n{out}"))
    }

    #[test]
    fn counts_of_four_and_five_digits_stay_apart_and_aligned() {
        for (small, large) in [(7, 1305), (1305, 13050), (9, 99999)] {
            let scans = vec![
                scan(1, 120_000, small, large),
                scan(2, 120_000, large, small),
                scan(10_000, 99_999, large, large),
            ];
            let out = history(&History::new("h.db".into(), scans));
            let want = |a: i64, b: i64, c: i64| [a, b, c].map(|n| n.to_string());
            assert_eq!(
                fields(&out, "agent")[1..4],
                want(small, large, large),
                "{out}"
            );
            assert_eq!(
                fields(&out, "network")[1..4],
                want(large, small, large),
                "{out}"
            );
            let counts = [99_999, 99_999 - 2 * large, 2 * large, 0].map(|n| n.to_string());
            assert_eq!(fields(&out, "#10000")[2..6], counts, "{out}");
            // Every row's columns end at the same place: the widths follow the widest value.
            let ends = |first: &str| {
                let line = out
                    .lines()
                    .find(|l| l.trim_start().starts_with(first))
                    .unwrap();
                line.char_indices()
                    .filter(|&(i, c)| c != ' ' && line[i + c.len_utf8()..].starts_with(' '))
                    .map(|(i, _)| i)
                    .take(4)
                    .collect::<Vec<_>>()
            };
            // The cause names are left-aligned: their counts are compared.
            assert_eq!(ends("agent")[1..], ends("network")[1..], "{out}");
            assert_eq!(ends("#1 "), ends("#2 "), "{out}");
            assert_eq!(ends("#1 "), ends("#10000"), "{out}");
        }
    }
}
