//! Per protected VM: how old its last recovery point is, how old the policy lets it get, whether
//! it is already overdue, and for a VM that fails now, when its next backup runs and from when its
//! recovery point is older than the policy promises (docs/recovery-points.md).

use super::vocabulary::Cause;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// When the newest recovery point was taken (the protected item's `lastRecoveryPoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_recovery_point: Option<String>,
    /// Hours from the last recovery point to the scan's reference time, one decimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The schedule in words with the policy's time zone: "daily at 22:00 (UTC)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The age the policy promises: the longest gap between two scheduled runs plus the two
    /// hours a scheduled backup may start late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_hours: Option<f64>,
    /// The last recovery point is older than promised; `null` when that cannot be told.
    pub overdue: Option<bool>,
    /// When the last recovery point becomes (or became) older than promised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Hours from the scan's reference time to `deadline`; negative once overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours_left: Option<f64>,
    /// The next scheduled backup; absent when protection does not run backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_backup: Option<String>,
    /// For a VM that fails now: "next backup 2026-11-24 21:00 UTC will fail: agent; …".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<String>,
    /// Why figures are missing (policy or recovery point not read, schedule unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// A failing VM in the fleet summary's ranking by time left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeLeft {
    pub vm: String,
    pub vm_id: String,
    pub root_cause: Option<Cause>,
    pub hours_left: f64,
    pub deadline: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_backup: Option<String>,
}

/// `2026-11-24 21:00 UTC`: minutes are what a schedule is set in.
pub fn minute(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

impl Recovery {
    /// The forecast sentence of a VM that fails now with `root_cause`: its next backup fails
    /// for the same reason, and its recovery point ages past the promise.
    pub fn forecast(&self, root_cause: Option<Cause>) -> Option<String> {
        let cause = root_cause.map_or("cause unknown", Cause::as_str);
        let deadline = self.deadline.as_deref().map(minute);
        let late = match (self.overdue, deadline) {
            (Some(true), Some(d)) => format!("recovery point older than promised since {d}"),
            (_, Some(d)) => format!("no new recovery point after {d}"),
            (_, None) => "recovery point age unknown".to_string(),
        };
        match &self.next_backup {
            Some(next) => Some(format!(
                "next backup {} will fail: {cause}; {late}",
                minute(next)
            )),
            None if self.deadline.is_some() => Some(format!("no backup scheduled; {late}")),
            None => None,
        }
    }

    /// The ranking entry of a failing VM: the ones with least time left first.
    pub fn time_left(&self, vm: &str, vm_id: &str, root_cause: Option<Cause>) -> Option<TimeLeft> {
        Some(TimeLeft {
            vm: vm.to_string(),
            vm_id: vm_id.to_string(),
            root_cause,
            hours_left: self.hours_left?,
            deadline: self.deadline.clone()?,
            next_backup: self.next_backup.clone(),
        })
    }
}

/// Failing VMs by time left, least first (overdue ones, with negative hours, lead); ties by name.
pub fn rank(mut entries: Vec<TimeLeft>) -> Vec<TimeLeft> {
    entries.sort_by(|a, b| {
        a.hours_left
            .total_cmp(&b.hours_left)
            .then_with(|| a.vm.cmp(&b.vm))
    });
    entries
}
