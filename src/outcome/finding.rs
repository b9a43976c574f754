//! One rule's outcome for one VM (`Finding`), the status of each pipeline layer it folds into, and
//! the mark a suppression leaves on an accepted finding.

use super::vocabulary::{Cause, Severity};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerStatus {
    #[serde(rename = "pass")]
    Pass,
    #[serde(rename = "fail")]
    Fail,
    #[serde(rename = "unknown")]
    Unknown,
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl LayerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LayerStatus::Pass => "pass",
            LayerStatus::Fail => "fail",
            LayerStatus::Unknown => "unknown",
            LayerStatus::NotApplicable => "n/a",
        }
    }
}

/// What a missing fact made unknown, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownFact {
    pub fact: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub cause: Cause,
    pub severity: Severity,
    pub status: Status,
    pub message: String,
    pub explains: Vec<String>,
    pub resources: Vec<String>,
    pub remediation: String,
    pub docs: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_facts: Vec<UnknownFact>,
    /// Set when a suppression (`--suppressions`) accepts this finding; it stays reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layer {
    pub cause: Cause,
    pub status: LayerStatus,
    /// Why the layer is `unknown` or `n/a` when no finding says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How a finding is marked when a suppression covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    pub justification: String,
    pub expires: String,
    /// The pattern that matched.
    pub resource: String,
    pub file: String,
}
