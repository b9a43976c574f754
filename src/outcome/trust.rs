//! Which rules earn trust: each rule's failures against the failed backup jobs that followed, over
//! the scans a store keeps (`history`). Recall: of the failed jobs with a code the rule explains,
//! how many had the rule failing for that VM in the scan before the job started. Precision: of the
//! scans in which the rule failed for a VM (and a later scan observed what followed), how many
//! were followed by a failed job of that VM before the next scan.

use super::finding::Status;
use super::scan::Report;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleTrust {
    pub rule: String,
    /// Failed jobs with a code the rule explains, started after some kept scan.
    pub jobs: usize,
    /// Of them, with the rule failing for the job's VM in the scan before the job started.
    pub foretold: usize,
    /// `foretold / jobs`; `null` without jobs.
    pub recall: Option<f64>,
    /// VM-scans in which the rule failed, with a later scan to see what followed.
    pub nights: usize,
    /// Of them, followed by a failed job of the VM before the next scan.
    pub followed: usize,
    /// `followed / nights`; `null` without such nights.
    pub precision: Option<f64>,
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// `scans`: each kept scan's time and report, in any order. `explains`: the codes each rule
/// explains (a rule that never failed in these scans still has jobs it should have foretold).
pub fn rule_trust(
    scans: &[(String, Report)],
    explains: &BTreeMap<String, Vec<String>>,
) -> Vec<RuleTrust> {
    let mut nights: Vec<(DateTime<Utc>, &Report)> = scans
        .iter()
        .filter_map(|(t, report)| Some((time(t)?, report)))
        .collect();
    nights.sort_by_key(|(t, _)| *t);
    // Each job once (it shows in every scan of its window): VM, start, codes.
    let mut jobs: HashMap<&str, (String, DateTime<Utc>, Vec<&str>)> = HashMap::new();
    for (_, report) in &nights {
        for vm in &report.vms {
            for job in &vm.failed_jobs {
                let Some(start) = job.start_time.as_deref().and_then(time) else {
                    continue;
                };
                jobs.entry(job.id.as_str()).or_insert_with(|| {
                    (
                        vm.id.to_ascii_lowercase(),
                        start,
                        job.codes.iter().map(|c| c.code.as_str()).collect(),
                    )
                });
            }
        }
    }
    let failing: Vec<HashSet<(String, &str)>> = nights
        .iter()
        .map(|(_, report)| {
            report
                .vms
                .iter()
                .flat_map(|vm| {
                    vm.findings
                        .iter()
                        .filter(|f| f.status == Status::Fail && f.suppressed.is_none())
                        .map(|f| (vm.id.to_ascii_lowercase(), f.rule.as_str()))
                })
                .collect()
        })
        .collect();
    // The scan just before each job started: the night that should have foretold it.
    let night_before = |start: DateTime<Utc>| nights.iter().rposition(|(t, _)| *t < start);
    let mut trust: BTreeMap<&str, RuleTrust> = BTreeMap::new();
    let mut followed_nights: HashSet<(usize, &str)> = HashSet::new();
    for (vm, start, codes) in jobs.values() {
        let Some(night) = night_before(*start) else {
            continue;
        };
        followed_nights.insert((night, vm.as_str()));
        let rules: BTreeSet<&str> = explains
            .iter()
            .filter(|(_, explained)| {
                explained
                    .iter()
                    .any(|e| codes.iter().any(|c| c.eq_ignore_ascii_case(e)))
            })
            .map(|(rule, _)| rule.as_str())
            .collect();
        for rule in rules {
            let entry = trust.entry(rule).or_default();
            entry.jobs += 1;
            if failing[night].contains(&(vm.clone(), rule)) {
                entry.foretold += 1;
            }
        }
    }
    // The last scan has no next one yet: what followed it is not known.
    for (night, failures) in failing
        .iter()
        .enumerate()
        .take(nights.len().saturating_sub(1))
    {
        for (vm, rule) in failures {
            let entry = trust.entry(rule).or_default();
            entry.nights += 1;
            if followed_nights.contains(&(night, vm.as_str())) {
                entry.followed += 1;
            }
        }
    }
    trust
        .into_iter()
        .map(|(rule, mut t)| {
            t.rule = rule.to_string();
            t.recall = rate(t.foretold, t.jobs);
            t.precision = rate(t.followed, t.nights);
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A scan at `time` in which `failing` rules fail for vm1, with `jobs` (id, start, code).
    fn scan(time: &str, failing: &[&str], jobs: &[(&str, &str, &str)]) -> (String, Report) {
        let findings: Vec<_> = failing
            .iter()
            .map(|rule| {
                json!({"rule": rule, "cause": "agent", "severity": "error", "status": "fail",
                       "message": "", "explains": [], "resources": [], "remediation": "", "docs": ""})
            })
            .collect();
        let jobs: Vec<_> = jobs
            .iter()
            .map(|(id, start, code)| {
                json!({"id": id, "start_time": start, "codes": [{"code": code, "cause": "agent", "summary": ""}],
                       "errors": [], "explained_by": [], "explained_by_layer": null, "code_cause": "agent",
                       "agrees_with_root_cause": null})
            })
            .collect();
        let report = json!({
            "complete": true, "gaps": [],
            "summary": {"vms": 1, "pass": 0, "fail": 1, "unknown": 0, "by_root_cause": {},
                        "failed_jobs": 0, "failed_jobs_explained": 0,
                        "correlation": {"jobs": 0, "predicted": 0, "rate": null, "agree_with_root_cause": 0,
                                        "unrecognised": 0, "by_cause": {}}},
            "vms": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
                     "name": "vm1", "verdict": "fail", "root_cause": "agent", "layers": [],
                     "findings": findings, "failed_jobs": jobs, "subscription": "s", "resource_group": "rg"}]
        });
        (time.to_string(), serde_json::from_value(report).unwrap())
    }

    #[test]
    fn recall_and_precision_count_the_night_before_each_job() {
        let explains = BTreeMap::from([
            (
                "agent/not-ready".to_string(),
                vec!["UserErrorGuestAgentStatusUnavailable".to_string()],
            ),
            (
                "network/nsg".to_string(),
                vec!["ExtensionSnapshotFailedNoNetwork".to_string()],
            ),
        ]);
        let agent = "UserErrorGuestAgentStatusUnavailable";
        let scans = vec![
            // Night 1: agent/not-ready fails. Night 2 sees job j1 (started after night 1): foretold.
            scan("2026-11-20T06:00:00Z", &["agent/not-ready"], &[]),
            // Night 2: agent/not-ready fails again and no job follows before night 3; j1 is seen
            // again and counts once. network/nsg fails, and a job with its code follows.
            scan(
                "2026-11-21T06:00:00Z",
                &["agent/not-ready", "network/nsg"],
                &[("j1", "2026-11-20T22:00:00Z", agent)],
            ),
            // Night 3 sees j1 again, j2 (started after night 2, with the network rule's code) and
            // j0, which started before any kept scan (not counted).
            scan(
                "2026-11-22T06:00:00Z",
                &[],
                &[
                    ("j1", "2026-11-20T22:00:00Z", agent),
                    (
                        "j2",
                        "2026-11-21T22:00:00Z",
                        "ExtensionSnapshotFailedNoNetwork",
                    ),
                    ("j0", "2026-11-19T22:00:00Z", agent),
                ],
            ),
        ];
        let trust = rule_trust(&scans, &explains);
        let agent_rule = trust.iter().find(|t| t.rule == "agent/not-ready").unwrap();
        // Recall: j1 (night 1, failing) → 1 of 1. Precision: nights 1 and 2 failed; night 1 was
        // followed by j1, night 2 by j2 (any failed job of the VM) → 2 of 2.
        assert_eq!((agent_rule.jobs, agent_rule.foretold), (1, 1));
        assert_eq!((agent_rule.nights, agent_rule.followed), (2, 2));
        let nsg = trust.iter().find(|t| t.rule == "network/nsg").unwrap();
        // j2's night before is night 2, where network/nsg failed: recall 1 of 1; it failed on
        // night 2 only, followed by j2: precision 1 of 1.
        assert_eq!((nsg.jobs, nsg.foretold, nsg.recall), (1, 1, Some(1.0)));
        assert_eq!((nsg.nights, nsg.followed), (1, 1));
    }

    #[test]
    fn a_job_no_failing_rule_foretold_lowers_recall_and_a_quiet_night_lowers_precision() {
        let explains = BTreeMap::from([(
            "agent/not-ready".to_string(),
            vec!["UserErrorGuestAgentStatusUnavailable".to_string()],
        )]);
        let agent = "UserErrorGuestAgentStatusUnavailable";
        let scans = vec![
            // Night 1: nothing fails, yet j1 (agent code) follows: a job not foretold.
            scan("2026-11-20T06:00:00Z", &[], &[]),
            // Night 2: the rule fails; nothing follows before night 3.
            scan(
                "2026-11-21T06:00:00Z",
                &["agent/not-ready"],
                &[("j1", "2026-11-20T22:00:00Z", agent)],
            ),
            scan(
                "2026-11-22T06:00:00Z",
                &[],
                &[("j1", "2026-11-20T22:00:00Z", agent)],
            ),
        ];
        let trust = rule_trust(&scans, &explains);
        let rule = &trust[0];
        assert_eq!((rule.jobs, rule.foretold, rule.recall), (1, 0, Some(0.0)));
        assert_eq!(
            (rule.nights, rule.followed, rule.precision),
            (1, 0, Some(0.0))
        );
    }
}
