//! The rule engine (docs/writing-rules.md): rule files are TOML with a CEL condition over the BackupPath
//! facts; they are loaded, validated and compiled once, then evaluated per VM. A condition that
//! cannot be decided because a fact is missing yields `unknown`, naming the fact and the reason.

pub mod eval;
pub mod rule;
pub mod schema;
mod values;

// The rule loader names these through `super::`.
use crate::error::{line_column, toml_error};
use crate::outcome::{Cause, Severity};

pub use eval::{evaluate_json, evaluate_vm, Engine, Judged, VmEvaluation};
pub use rule::{Rule, RuleSet};
