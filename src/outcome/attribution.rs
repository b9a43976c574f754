//! Why now: the Azure changes that can explain a failing finding (docs/change-attribution.md).
//! Plain data; `commands::scan::attribution` builds it from Resource Graph's change records.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attribution {
    /// The window changes were looked for in: from `since` to `until` (RFC 3339).
    pub since: String,
    pub until: String,
    /// Where `since` came from: `previous scan`, `--changes-since` or `default (14 days)`.
    pub since_from: String,
    /// False when change records could not be read for some resources; the verdicts stand, only
    /// the attribution is partial.
    pub complete: bool,
    /// Why change records are missing (the collector's gaps on `Microsoft.Resources/changes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete_because: Vec<String>,
    /// One entry per failing finding attributed: those new since the previous scan, or every
    /// failing one with `--all-changes`.
    pub findings: Vec<AttributedFinding>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributedFinding {
    pub vm: String,
    pub vm_id: String,
    pub rule: String,
    pub cause: String,
    /// Whether the finding is new since the previous scan.
    pub new: bool,
    /// The changes that can explain it, best first.
    pub changes: Vec<ExplainingChange>,
    /// Said plainly when no change explains it, or when changes could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unexplained: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplainingChange {
    pub time: String,
    /// The changed resource's id, and its name (the id's last segment).
    pub resource: String,
    pub resource_name: String,
    /// `Create`, `Update` or `Delete`.
    pub change_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub properties: Vec<PropertyDelta>,
    /// Whether the change touches a property backup-doctor reads for this finding's layer (a
    /// create or delete touches all of them).
    pub touches_read_property: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PropertyDelta {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Value>,
}

impl ExplainingChange {
    /// One line: `nsg-snet-sql: properties.securityRules[3].properties.access Allow → Deny,
    /// by alice@contoso.com via Terraform`.
    pub fn sentence(&self) -> String {
        let what = match self.change_type.to_ascii_lowercase().as_str() {
            "create" => format!("{} created", self.resource_name),
            "delete" => format!("{} deleted", self.resource_name),
            _ if self.properties.is_empty() => format!("{} updated", self.resource_name),
            _ => format!("{} {}", self.resource_name, self.deltas().join(", ")),
        };
        let by = self
            .changed_by
            .as_deref()
            .map(|who| format!(" by {who}"))
            .unwrap_or_default();
        let via = self
            .client_type
            .as_deref()
            .map(|client| format!(" via {client}"))
            .unwrap_or_default();
        format!("{what}{by}{via}")
    }
}

impl ExplainingChange {
    /// The changed properties in words: a rule or route added or removed whole is named once
    /// (`rule Deny-Internet-HTTPS-Out added`), other paths as `path: previous → new`.
    pub fn deltas(&self) -> Vec<String> {
        let mut whole: Vec<(String, String)> = Vec::new();
        for delta in &self.properties {
            let Some(item) = delta.path.strip_suffix(".name") else {
                continue;
            };
            let noun = if item.starts_with("properties.securityRules[") {
                "rule"
            } else if item.starts_with("properties.routes[") {
                "route"
            } else {
                continue;
            };
            let absent =
                |v: &Option<serde_json::Value>| matches!(v, None | Some(serde_json::Value::Null));
            let text = |v: &Option<serde_json::Value>| match v {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            if absent(&delta.previous) && !absent(&delta.new) {
                whole.push((
                    format!("{item}."),
                    format!("{noun} {} added", text(&delta.new)),
                ));
            } else if absent(&delta.new) && !absent(&delta.previous) {
                whole.push((
                    format!("{item}."),
                    format!("{noun} {} removed", text(&delta.previous)),
                ));
            }
        }
        let mut out: Vec<String> = whole.iter().map(|(_, words)| words.clone()).collect();
        out.extend(
            self.properties
                .iter()
                .filter(|d| {
                    !whole
                        .iter()
                        .any(|(prefix, _)| d.path.starts_with(prefix.as_str()))
                })
                .map(PropertyDelta::text),
        );
        out
    }
}

impl PropertyDelta {
    /// `path: previous → new`, a missing side written `(none)`.
    pub fn text(&self) -> String {
        let side = |value: &Option<serde_json::Value>| match value {
            None | Some(serde_json::Value::Null) => "(none)".to_owned(),
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        format!(
            "{}: {} → {}",
            self.path,
            side(&self.previous),
            side(&self.new)
        )
    }
}

/// An RFC 3339 time as the reports print it: `2026-11-20 14:02 UTC`; other text as it is.
pub fn short_time(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => rfc3339.to_owned(),
    }
}
