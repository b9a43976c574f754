//! Failed backup jobs against the predictions, summed per cause of the job's error code, so a
//! team sees how far the control-plane diagnosis agrees with what Azure reported.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Correlation {
    /// Failed jobs in the window.
    pub jobs: usize,
    /// Of them, explained by a failing finding.
    pub predicted: usize,
    /// `predicted / jobs`; `null` when no job failed.
    pub rate: Option<f64>,
    /// Jobs whose code belongs to the layer that is the VM's root cause.
    pub agree_with_root_cause: usize,
    /// Jobs whose error backup-doctor does not recognise (no cause to compare).
    pub unrecognised: usize,
    /// Per cause of the job's error code (the layer Azure's error points at).
    #[serde(deserialize_with = "super::vocabulary::cause_keys")]
    pub by_cause: BTreeMap<&'static str, CauseCorrelation>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CauseCorrelation {
    pub jobs: usize,
    pub predicted: usize,
    /// `predicted / jobs`.
    pub rate: f64,
    pub agree_with_root_cause: usize,
    /// `agree_with_root_cause / jobs`.
    pub agreement_rate: f64,
}
