//! `GET /metrics` in the Prometheus text exposition format (version 0.0.4), written by hand:
//! a dozen series do not need a metrics library. The fleet's numbers are those of the latest
//! recorded scan (read back from the store at start, so a restart does not blank the graphs).

use crate::outcome::{Report, Status};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The upper bounds (seconds) of the check latency histogram's buckets.
const CHECK_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// ARM's cost of a scan's live read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArmCost {
    pub calls: u64,
    pub throttled: u64,
}

#[derive(Default)]
pub struct Metrics {
    last: Mutex<Option<LastScan>>,
    scans_recorded: AtomicU64,
    scans_failed: AtomicU64,
    exports_ok: AtomicU64,
    exports_failed: AtomicU64,
    check: Mutex<CheckCounts>,
}

struct LastScan {
    id: i64,
    /// Seconds since the epoch.
    time: f64,
    complete: bool,
    by_verdict: [(&'static str, usize); 3],
    by_root_cause: BTreeMap<&'static str, usize>,
    failing_by_rule: BTreeMap<String, usize>,
    gaps: usize,
    duration: Option<Duration>,
    arm: Option<ArmCost>,
}

#[derive(Default)]
struct CheckCounts {
    by_outcome: BTreeMap<&'static str, u64>,
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Metrics {
    /// A scan this process recorded, with what it cost.
    pub fn scan_recorded(&self, id: i64, report: &Report, took: Duration, arm: Option<&ArmCost>) {
        self.scans_recorded.fetch_add(1, Ordering::Relaxed);
        self.set_last(id, now_seconds(), report, Some(took), arm.copied());
    }

    pub fn scan_failed(&self) {
        self.scans_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A recorded scan's export to Log Analytics ended, sent or not.
    pub fn export_finished(&self, ok: bool) {
        let counter = if ok {
            &self.exports_ok
        } else {
            &self.exports_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The latest scan of the store at start (`time` RFC 3339), whose cost is not known here.
    pub fn scan_loaded(&self, id: i64, time: &str, report: &Report) {
        let seconds = chrono::DateTime::parse_from_rfc3339(time)
            .map(|t| t.timestamp() as f64)
            .unwrap_or(0.0);
        self.set_last(id, seconds, report, None, None);
    }

    fn set_last(
        &self,
        id: i64,
        time: f64,
        report: &Report,
        duration: Option<Duration>,
        arm: Option<ArmCost>,
    ) {
        let mut failing_by_rule = BTreeMap::new();
        for vm in &report.vms {
            for finding in &vm.findings {
                if finding.status == Status::Fail {
                    *failing_by_rule.entry(finding.rule.clone()).or_insert(0) += 1;
                }
            }
        }
        let summary = &report.summary;
        let last = LastScan {
            id,
            time,
            complete: report.complete,
            by_verdict: [
                ("pass", summary.pass),
                ("fail", summary.fail),
                ("unknown", summary.unknown),
            ],
            by_root_cause: summary.by_root_cause.clone(),
            failing_by_rule,
            gaps: report.gaps.len(),
            duration,
            arm,
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
    }

    /// A `POST /v1/check` answered with `outcome` (`ok`, `bad_request`, `error`) after `took`.
    pub fn check_answered(&self, outcome: &'static str, took: Duration) {
        let mut check = self.check.lock().unwrap_or_else(|e| e.into_inner());
        *check.by_outcome.entry(outcome).or_insert(0) += 1;
        if check.buckets.is_empty() {
            check.buckets = vec![0; CHECK_BUCKETS.len()];
        }
        let seconds = took.as_secs_f64();
        for (bucket, bound) in check.buckets.iter_mut().zip(CHECK_BUCKETS) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
        check.sum += seconds;
        check.count += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut lines: Vec<String> = Vec::new();
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = last.as_ref() {
            let name = family(
                &mut out,
                "backup_doctor_vms",
                "gauge",
                "VMs of the latest scan by verdict.",
            );
            for (verdict, count) in last.by_verdict {
                lines.push(format!("{name}{{verdict=\"{verdict}\"}} {count}"));
            }
            flush(&mut out, &mut lines);
            let name = family(
                &mut out,
                "backup_doctor_vms_by_root_cause",
                "gauge",
                "Failing VMs of the latest scan by root cause (the first failing layer).",
            );
            for (cause, count) in &last.by_root_cause {
                lines.push(format!("{name}{{root_cause=\"{}\"}} {count}", label(cause)));
            }
            flush(&mut out, &mut lines);
            let name = family(
                &mut out,
                "backup_doctor_failing_findings",
                "gauge",
                "Failing findings of the latest scan by rule.",
            );
            for (rule, count) in &last.failing_by_rule {
                lines.push(format!("{name}{{rule=\"{}\"}} {count}", label(rule)));
            }
            flush(&mut out, &mut lines);
            let name = family(
                &mut out,
                "backup_doctor_last_scan_id",
                "gauge",
                "Store id of the latest scan.",
            );
            lines.push(format!("{name} {}", last.id));
            flush(&mut out, &mut lines);
            let name = family(
                &mut out,
                "backup_doctor_last_scan_timestamp_seconds",
                "gauge",
                "When the latest recorded scan ran (Unix time).",
            );
            lines.push(format!("{name} {}", last.time));
            flush(&mut out, &mut lines);
            let name = family(
                &mut out,
                "backup_doctor_last_scan_complete",
                "gauge",
                "1 when the latest scan read everything it needed, 0 when it has gaps.",
            );
            lines.push(format!("{name} {}", u8::from(last.complete)));
            flush(&mut out, &mut lines);
            let name = family(
                &mut out,
                "backup_doctor_last_scan_gaps",
                "gauge",
                "Gaps (data not read) of the latest scan.",
            );
            lines.push(format!("{name} {}", last.gaps));
            flush(&mut out, &mut lines);
            if let Some(duration) = last.duration {
                let name = family(
                    &mut out,
                    "backup_doctor_last_scan_duration_seconds",
                    "gauge",
                    "How long the latest scan this process ran took.",
                );
                lines.push(format!("{name} {}", duration.as_secs_f64()));
                flush(&mut out, &mut lines);
            }
            if let Some(arm) = last.arm {
                let name = family(
                    &mut out,
                    "backup_doctor_last_scan_arm_calls",
                    "gauge",
                    "ARM calls of the latest scan this process ran.",
                );
                lines.push(format!("{name} {}", arm.calls));
                flush(&mut out, &mut lines);
                let name = family(
                    &mut out,
                    "backup_doctor_last_scan_arm_throttled_calls",
                    "gauge",
                    "ARM calls of the latest scan answered 429 (throttled).",
                );
                lines.push(format!("{name} {}", arm.throttled));
                flush(&mut out, &mut lines);
            }
        }
        drop(last);
        let name = family(
            &mut out,
            "backup_doctor_scans_total",
            "counter",
            "Scans this process ran, by outcome.",
        );
        lines.push(format!(
            "{name}{{outcome=\"recorded\"}} {}",
            self.scans_recorded.load(Ordering::Relaxed)
        ));
        lines.push(format!(
            "{name}{{outcome=\"failed\"}} {}",
            self.scans_failed.load(Ordering::Relaxed)
        ));
        flush(&mut out, &mut lines);
        let name = family(
            &mut out,
            "backup_doctor_exports_total",
            "counter",
            "Exports of recorded scans to Log Analytics ([export.log_analytics]), by outcome.",
        );
        for (outcome, counter) in [("ok", &self.exports_ok), ("failed", &self.exports_failed)] {
            lines.push(format!(
                "{name}{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            ));
        }
        flush(&mut out, &mut lines);
        let check = self.check.lock().unwrap_or_else(|e| e.into_inner());
        let name = family(
            &mut out,
            "backup_doctor_check_requests_total",
            "counter",
            "POST /v1/check requests by outcome.",
        );
        for outcome in ["ok", "bad_request", "error"] {
            let count = check.by_outcome.get(outcome).copied().unwrap_or(0);
            lines.push(format!("{name}{{outcome=\"{outcome}\"}} {count}"));
        }
        flush(&mut out, &mut lines);
        let name = family(
            &mut out,
            "backup_doctor_check_duration_seconds",
            "histogram",
            "Latency of POST /v1/check.",
        );
        for (i, bound) in CHECK_BUCKETS.iter().enumerate() {
            let count = check.buckets.get(i).copied().unwrap_or(0);
            lines.push(format!("{name}_bucket{{le=\"{bound}\"}} {count}"));
        }
        lines.push(format!("{name}_bucket{{le=\"+Inf\"}} {}", check.count));
        lines.push(format!("{name}_sum {}", check.sum));
        lines.push(format!("{name}_count {}", check.count));
        flush(&mut out, &mut lines);
        out
    }
}

/// Writes a family's HELP and TYPE lines; its name back for the samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str) -> String {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    name.to_string()
}

fn flush(out: &mut String, lines: &mut Vec<String>) {
    for line in lines.drain(..) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// A label value escaped as the exposition format asks (backslash, quote, newline).
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_latency_lands_in_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.check_answered("ok", Duration::from_millis(70));
        metrics.check_answered("bad_request", Duration::from_millis(3));
        let text = metrics.render();
        assert!(
            text.contains("backup_doctor_check_duration_seconds_bucket{le=\"0.05\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("backup_doctor_check_duration_seconds_bucket{le=\"0.1\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("backup_doctor_check_duration_seconds_count 2\n"),
            "{text}"
        );
        assert!(
            text.contains("backup_doctor_check_requests_total{outcome=\"bad_request\"} 1\n"),
            "{text}"
        );
        // No fleet series before any scan: absent is not zero VMs.
        assert!(!text.contains("backup_doctor_vms{"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
