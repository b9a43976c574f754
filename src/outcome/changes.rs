//! `scan --since-last`: what is new, resolved and persisting since the previous scan in the store,
//! and the failing findings of that scan as the store keeps them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changes {
    /// The scan compared against; `null` when the store held none (every failure is then new).
    pub previous: Option<PreviousScan>,
    pub new: Vec<Change>,
    pub resolved: Vec<Change>,
    pub persisting: Vec<Change>,
    /// Failing last time; this scan could not tell (see each entry's `reason`).
    pub undecided: Vec<Change>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreviousScan {
    pub id: i64,
    pub time: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub vm: String,
    pub vm_id: String,
    pub rule: String,
    pub cause: String,
    pub severity: String,
    /// This scan's message (the previous scan's for resolved and undecided findings).
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A failing finding of the previous scan, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousFinding {
    pub vm_id: String,
    pub vm_name: String,
    pub rule: String,
    pub cause: String,
    pub severity: String,
    pub message: String,
}
