//! The words every result is written in: the pipeline layers a finding belongs to (`Cause`) and
//! how much a failing rule matters (`Severity`). The error-code book and the rule files use them
//! too, so they sit below everything that judges or reports.

use serde::{Deserialize, Serialize};

/// A layer of the backup pipeline, in pipeline order (docs/json-report.md#verdicts-layers-and-the-root-cause). The ids are stable strings.
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

/// Reads a map keyed by cause ids back into the `&'static str` keys the summaries use (a stored
/// report is rendered again); an id this build does not know is an error, not a new key.
pub(crate) fn cause_keys<'de, D, V>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<&'static str, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    let by_cause = std::collections::BTreeMap::<Cause, V>::deserialize(deserializer)?;
    Ok(by_cause
        .into_iter()
        .map(|(cause, value)| (cause.as_str(), value))
        .collect())
}
