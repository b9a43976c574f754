//! The result model: findings and the reports of a scan, a readiness check and a gate, the changes
//! since the last scan and the history of a store. Plain data with the few answers read off it
//! (exit codes, why a run is incomplete); no rendering, no rule evaluation, no I/O. The engine and
//! the commands build it, the renderers and the store read it.

pub mod attribution;
pub mod changes;
pub mod check;
pub mod correlation;
pub mod finding;
pub mod gate;
pub mod history;
pub mod recovery;
pub mod scan;
pub mod trust;
pub mod vms;
mod vocabulary;

pub use attribution::{AttributedFinding, Attribution, ExplainingChange, PropertyDelta};
pub use changes::{Change, Changes, PreviousFinding, PreviousScan};
pub use check::{CheckReport, CheckedVm, Readiness};
pub use correlation::{CauseCorrelation, Correlation};
pub use finding::{Finding, Layer, LayerStatus, Status, Suppressed, UnknownFact};
pub use gate::{Expired, GateReport, Regression};
pub use history::{History, ScanRow};
pub use recovery::{Recovery, TimeLeft};
pub use scan::{FailedJobReport, JobCode, Report, SubscriptionNames, Summary, VmReport};
pub use vms::{VmPage, VmRow, VmVerdictAt};
pub use vocabulary::{Cause, Severity};
