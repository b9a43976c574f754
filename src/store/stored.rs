//! The whole report of a scan as the store keeps it: the JSON report (docs/json-report.md) with
//! what the JSON report leaves out but the renderers use — the subscriptions' display names and
//! the VMs' tags — so a stored scan renders again in every format as it did when scanned.

use crate::outcome::scan::SCHEMA;
use crate::outcome::{Report, SubscriptionNames};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A scan's report in the store, or why there is none.
pub enum Document {
    /// The store has no such scan.
    NoScan,
    /// The scan was recorded before whole reports were kept (schema version 2 and older).
    NotKept,
    Kept(String),
}

#[derive(Serialize)]
struct Writing<'a> {
    report: &'a Report,
    subscription_names: &'a SubscriptionNames,
    /// Tags by VM id, for the VMs that have any.
    tags: BTreeMap<&'a str, &'a BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Reading {
    report: Report,
    #[serde(default)]
    subscription_names: SubscriptionNames,
    #[serde(default)]
    tags: BTreeMap<String, BTreeMap<String, String>>,
}

pub fn encode(report: &Report) -> String {
    let writing = Writing {
        report,
        subscription_names: &report.subscription_names,
        tags: report
            .vms
            .iter()
            .filter(|vm| !vm.tags.is_empty())
            .map(|vm| (vm.id.as_str(), &vm.tags))
            .collect(),
    };
    // Plain data with string keys: serialising it cannot fail.
    serde_json::to_string(&writing).expect("a report serialises")
}

/// Just the schema of the stored report (the rest is skipped unread).
#[derive(Deserialize)]
struct Head {
    report: Schema,
}

#[derive(Deserialize)]
struct Schema {
    schema: String,
}

pub fn decode(text: &str) -> Result<Report, String> {
    let head: Head = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if head.report.schema != SCHEMA {
        return Err(format!(
            "report schema `{}`, this build reads `{SCHEMA}`",
            head.report.schema
        ));
    }
    let mut reading: Reading = serde_json::from_str(text).map_err(|e| e.to_string())?;
    reading.report.subscription_names = reading.subscription_names;
    for vm in &mut reading.report.vms {
        if let Some(tags) = reading.tags.remove(&vm.id) {
            vm.tags = tags;
        }
    }
    Ok(reading.report)
}
