//! `--format json`: every report as the pretty-printed JSON of its model (the contract of
//! docs/json-report.md and `schemas/`), and the facts rules see (`backup-doctor facts`).

use crate::resolve::facts::VmFacts;
use serde::Serialize;

pub fn render<T: Serialize>(document: &T) -> String {
    let mut text = serde_json::to_string_pretty(document)
        .expect("reports hold only strings, numbers and maps");
    text.push('\n');
    text
}

/// Each VM's facts under `vm`, with the reasons facts are unknown under `unknown`.
pub fn facts(vms: &[VmFacts]) -> String {
    let documents: Vec<serde_json::Value> = vms
        .iter()
        .map(|facts| {
            let mut value = serde_json::json!({ "vm": facts });
            let unknown: std::collections::BTreeMap<&str, &str> = facts.unknown_paths().collect();
            value["unknown"] = serde_json::to_value(unknown).unwrap_or_default();
            value
        })
        .collect();
    let text = serde_json::to_string_pretty(&documents).unwrap_or_default();
    text + "\n"
}
