//! The VMs of a stored scan as the store lists them (filtered and paged), and one VM's verdict
//! across the scans kept.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One VM of a scan: its outcome and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRow {
    pub id: String,
    pub name: String,
    pub subscription: String,
    pub resource_group: String,
    /// `pass`, `fail` or `unknown`.
    pub verdict: String,
    /// The first failing layer; `null` when none fails.
    pub root_cause: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// One page of the VMs that match a filter, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmPage {
    pub total: usize,
    pub items: Vec<VmRow>,
}

/// A VM's verdict in one stored scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmVerdictAt {
    pub scan_id: i64,
    /// The scan's time (RFC 3339).
    pub time: String,
    pub verdict: String,
    pub root_cause: Option<String>,
}
