//! The rule engine (DESIGN §2, §6): rule files are TOML with a CEL condition over the BackupPath
//! facts; they are loaded, validated and compiled once, then evaluated per VM. A condition that
//! cannot be decided because a fact is missing yields `unknown`, naming the fact and the reason.

pub mod eval;
pub mod rule;
pub mod schema;
mod values;

use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use eval::{evaluate_vm, Engine, Finding, Layer, LayerStatus, VmEvaluation};
pub use rule::{Rule, RuleSet};

/// A layer of the backup pipeline, in pipeline order (DESIGN §1). The ids are stable strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    Agent,
    Extension,
    Vss,
    Fsfreeze,
    Snapshot,
    Network,
    Encryption,
    Vault,
}

impl Cause {
    pub const ALL: [Cause; 8] = [
        Cause::Agent,
        Cause::Extension,
        Cause::Vss,
        Cause::Fsfreeze,
        Cause::Snapshot,
        Cause::Network,
        Cause::Encryption,
        Cause::Vault,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Agent => "agent",
            Cause::Extension => "extension",
            Cause::Vss => "vss",
            Cause::Fsfreeze => "fsfreeze",
            Cause::Snapshot => "snapshot",
            Cause::Network => "network",
            Cause::Encryption => "encryption",
            Cause::Vault => "vault",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Cause::Agent => "VM agent",
            Cause::Extension => "backup extension",
            Cause::Vss => "Windows VSS",
            Cause::Fsfreeze => "Linux fsfreeze / pre-script",
            Cause::Snapshot => "snapshot prerequisites",
            Cause::Network => "network path",
            Cause::Encryption => "disk encryption / Key Vault",
            Cause::Vault => "vault and policy",
        }
    }

    pub fn parse(text: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Turns a TOML parse error into an input error with the line and column.
pub fn toml_error(file: &Path, text: &str, error: &toml::de::Error) -> InputError {
    let place = error.span().map(|span| {
        let (line, column) = line_column(text, span.start);
        format!("line {line}, column {column}")
    });
    InputError::new(file, place, error.message().trim().to_string(), "see DESIGN §6 for the rule file format (`backup-doctor rules show agent/not-ready` prints a working example)")
}

pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}
