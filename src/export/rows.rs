//! A scan's report as rows of the two tables: one per VM, and one per failing or unknown finding
//! of a VM. Values are written as the JSON report writes them (the same enum spellings, the
//! layers as the report's objects), so a row read back from Log Analytics compares with the
//! report field by field. A value the scan does not know is `null`, except `RootCause`, which
//! is empty when no layer fails (its column says so).

use crate::outcome::{Report, Status, VmReport};
use serde_json::{json, Map, Value};

/// The columns of `BackupDoctorVms_CL` the rows carry, as `tables.json` declares them.
pub const VM_COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("ScanId", "string"),
    ("ScanComplete", "boolean"),
    ("VmId", "string"),
    ("VmName", "string"),
    ("SubscriptionId", "string"),
    ("ResourceGroup", "string"),
    ("Location", "string"),
    ("OsType", "string"),
    ("PowerState", "string"),
    ("Protected", "boolean"),
    ("Verdict", "string"),
    ("RootCause", "string"),
    ("Layers", "dynamic"),
    ("FailingFindings", "int"),
    ("UnknownFindings", "int"),
];

/// The columns of `BackupDoctorFindings_CL`.
pub const FINDING_COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("ScanId", "string"),
    ("VmId", "string"),
    ("VmName", "string"),
    ("SubscriptionId", "string"),
    ("ResourceGroup", "string"),
    ("Rule", "string"),
    ("Cause", "string"),
    ("Severity", "string"),
    ("Status", "string"),
    ("Message", "string"),
    ("ErrorCodes", "dynamic"),
    ("Resources", "dynamic"),
    ("Fix", "string"),
    ("Docs", "string"),
    ("Suppressed", "boolean"),
];

/// What every row of one export shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Fresh for each export (a UUID v4), shared by its VM and finding rows.
    pub scan_id: String,
    /// `TimeGenerated`: when the scan's data was read (RFC 3339).
    pub time: String,
}

impl Stamp {
    /// A new scan id for rows of data read at `time`.
    pub fn new(time: &str) -> Stamp {
        Stamp {
            scan_id: uuid::Uuid::new_v4().to_string(),
            time: time.to_owned(),
        }
    }
}

/// One row per VM.
pub fn vm_rows(report: &Report, stamp: &Stamp) -> Vec<Value> {
    report
        .vms
        .iter()
        .map(|vm| {
            let count = |status| vm.findings.iter().filter(|f| f.status == status).count();
            let mut row = common(stamp, vm);
            row.insert("ScanComplete".into(), json!(report.complete));
            row.insert("Location".into(), json!(vm.location));
            row.insert("OsType".into(), json!(vm.os));
            row.insert("PowerState".into(), json!(vm.power_state));
            row.insert("Protected".into(), json!(vm.protected));
            row.insert("Verdict".into(), json!(vm.verdict.as_str()));
            row.insert(
                "RootCause".into(),
                json!(vm.root_cause.map(|c| c.as_str()).unwrap_or_default()),
            );
            row.insert("Layers".into(), json!(vm.layers));
            row.insert("FailingFindings".into(), json!(count(Status::Fail)));
            row.insert("UnknownFindings".into(), json!(count(Status::Unknown)));
            Value::Object(row)
        })
        .collect()
}

/// One row per failing or unknown finding of each VM (the report holds no passing ones; one that
/// did would still not be sent).
pub fn finding_rows(report: &Report, stamp: &Stamp) -> Vec<Value> {
    let mut rows = Vec::new();
    for vm in &report.vms {
        for finding in &vm.findings {
            if finding.status == Status::Pass {
                continue;
            }
            let mut row = common(stamp, vm);
            row.insert("Rule".into(), json!(finding.rule));
            row.insert("Cause".into(), json!(finding.cause.as_str()));
            row.insert("Severity".into(), json!(finding.severity.as_str()));
            row.insert("Status".into(), json!(finding.status.as_str()));
            row.insert("Message".into(), json!(finding.message));
            row.insert("ErrorCodes".into(), json!(finding.explains));
            row.insert("Resources".into(), json!(finding.resources));
            row.insert("Fix".into(), json!(finding.remediation));
            row.insert("Docs".into(), json!(finding.docs));
            row.insert("Suppressed".into(), json!(finding.suppressed.is_some()));
            rows.push(Value::Object(row));
        }
    }
    rows
}

/// The columns both tables start with.
fn common(stamp: &Stamp, vm: &VmReport) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("TimeGenerated".into(), json!(stamp.time));
    row.insert("ScanId".into(), json!(stamp.scan_id));
    row.insert("VmId".into(), json!(vm.id));
    row.insert("VmName".into(), json!(vm.name));
    row.insert("SubscriptionId".into(), json!(vm.subscription));
    row.insert("ResourceGroup".into(), json!(vm.resource_group));
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tables::{declared, FINDINGS, VMS};
    use crate::outcome::{Cause, Finding, Layer, LayerStatus, Severity, Summary};
    use std::collections::BTreeMap;

    #[test]
    fn the_rows_columns_are_exactly_those_tables_json_declares() {
        let tables = declared().unwrap();
        assert_eq!(tables.table(VMS).unwrap().columns(), VM_COLUMNS);
        assert_eq!(tables.table(FINDINGS).unwrap().columns(), FINDING_COLUMNS);
    }

    fn report() -> Report {
        let finding = |status, suppressed: bool| Finding {
            rule: "agent/not-ready".into(),
            cause: Cause::Agent,
            severity: Severity::Error,
            status,
            message: "the agent is not ready".into(),
            explains: vec!["UserErrorGuestAgentStatusUnavailable".into()],
            resources: vec!["/subscriptions/s/resourceGroups/rg/providers/x/y/vm1".into()],
            remediation: "restart the agent".into(),
            docs: "https://learn.microsoft.com/x".into(),
            unknown_facts: Vec::new(),
            suppressed: suppressed.then(|| crate::outcome::Suppressed {
                justification: "known".into(),
                expires: "2099-01-01".into(),
                resource: "*".into(),
                file: "s.toml".into(),
            }),
        };
        Report {
            schema: crate::outcome::scan::SCHEMA,
            complete: false,
            gaps: Vec::new(),
            summary: Summary {
                vms: 1,
                pass: 0,
                fail: 1,
                unknown: 0,
                by_root_cause: BTreeMap::new(),
                failed_jobs: 0,
                failed_jobs_explained: 0,
                correlation: Default::default(),
                time_left: Vec::new(),
            },
            vms: vec![VmReport {
                id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1".into(),
                name: "vm1".into(),
                verdict: Status::Fail,
                root_cause: Some(Cause::Agent),
                layers: vec![Layer {
                    cause: Cause::Agent,
                    status: LayerStatus::Fail,
                    reason: None,
                }],
                findings: vec![finding(Status::Fail, true), finding(Status::Unknown, false)],
                failed_jobs: Vec::new(),
                os: Some("linux".into()),
                location: None,
                subscription: "s".into(),
                resource_group: "rg".into(),
                protected: Some(true),
                workloads: Vec::new(),
                power_state: None,
                recovery: None,
                tags: BTreeMap::new(),
            }],
            snapshot_created: None,
            warnings: Vec::new(),
            skipped: Vec::new(),
            dangling_references: Vec::new(),
            incomplete_because: Vec::new(),
            changes: None,
            attribution: None,
            subscription_names: BTreeMap::new(),
        }
    }

    fn kind_of(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "int",
            Value::Number(_) => "real",
            Value::String(_) => "string",
            Value::Array(_) | Value::Object(_) => "dynamic",
        }
    }

    #[test]
    fn every_row_has_every_column_with_a_value_of_its_type_or_null() {
        let report = report();
        let stamp = Stamp::new("2026-01-02T03:04:05Z");
        let vms = vm_rows(&report, &stamp);
        let findings = finding_rows(&report, &stamp);
        assert_eq!((vms.len(), findings.len()), (1, 2));
        for (rows, columns) in [(&vms, VM_COLUMNS), (&findings, FINDING_COLUMNS)] {
            for row in rows {
                let row = row.as_object().unwrap();
                assert_eq!(row.len(), columns.len(), "{row:?}");
                for (name, kind) in columns {
                    let value = &row[*name];
                    let expected = if *kind == "datetime" { "string" } else { kind };
                    assert!(
                        value.is_null() || kind_of(value) == expected,
                        "{name}: {value} is no {kind}"
                    );
                }
            }
        }
        let vm = &vms[0];
        assert_eq!(vm["RootCause"], "agent");
        assert_eq!(vm["Location"], Value::Null);
        assert_eq!(
            (vm["FailingFindings"].clone(), vm["UnknownFindings"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(vm["Layers"], json!([{"cause": "agent", "status": "fail"}]));
        assert_eq!(findings[0]["Suppressed"], true);
        assert_eq!(findings[1]["Status"], "unknown");
        assert_eq!(findings[1]["ScanId"], vm["ScanId"]);
        assert_ne!(Stamp::new("t").scan_id, stamp.scan_id);
    }
}
