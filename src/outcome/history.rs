//! `backup-doctor history`: the scans kept in a store and the trend by root cause
//! (`backup-doctor/history/v1`).

use super::vocabulary::Cause;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA: &str = "backup-doctor/history/v1";

/// One stored scan, as `history` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanRow {
    pub id: i64,
    pub time: String,
    pub recorded_at: String,
    pub source: String,
    pub complete: bool,
    pub vms: i64,
    pub pass: i64,
    pub fail: i64,
    pub unknown: i64,
    pub failed_jobs: i64,
    pub failed_jobs_explained: i64,
    pub by_root_cause: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize)]
pub struct History {
    pub schema: &'static str,
    pub store: String,
    /// Oldest first.
    pub scans: Vec<ScanRow>,
    /// VMs per root cause in each listed scan (same order as `scans`), in pipeline order.
    pub trend: Vec<TrendRow>,
    /// Per rule, how far its failures foretold the failed jobs that followed, over the listed
    /// scans whose whole report the store kept (`trust.rs`); empty when fewer than two were.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<super::trust::RuleTrust>,
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
            rules: Vec::new(),
        }
    }
}

/// VMs per root cause across scans (oldest first), one row per cause that appears in any of
/// them, in pipeline order; a scan without that cause counts 0.
pub fn trend(scans: &[ScanRow]) -> Vec<(Cause, Vec<i64>)> {
    Cause::ALL
        .into_iter()
        .filter(|cause| {
            scans
                .iter()
                .any(|s| s.by_root_cause.contains_key(cause.as_str()))
        })
        .map(|cause| {
            let counts = scans
                .iter()
                .map(|s| s.by_root_cause.get(cause.as_str()).copied().unwrap_or(0))
                .collect();
            (cause, counts)
        })
        .collect()
}
