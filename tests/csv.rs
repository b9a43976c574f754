//! `--format csv` parsed back with the csv crate: the columns, one row per VM and finding, one
//! row for a VM without findings, quoting of commas, quotes and newlines, and agreement with the
//! JSON report of the same scan.

use backup_doctor_testkit::binary::scan_report as scan;
use backup_doctor_testkit::fixtures::{demo, demo_vm};
use serde_json::Value;
use std::collections::BTreeMap;

type Row = BTreeMap<String, String>;

fn parse(text: &str) -> (Vec<String>, Vec<Row>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|record| {
            let record = record.expect("every record parses with the header's width");
            headers
                .iter()
                .cloned()
                .zip(record.iter().map(String::from))
                .collect()
        })
        .collect();
    (headers, rows)
}

#[test]
fn demo_csv_has_a_row_per_vm_and_finding() {
    let (headers, rows) = parse(&scan(&[&demo()], "csv"));
    assert_eq!(
        headers,
        [
            "subscription",
            "resource_group",
            "vm",
            "vm_id",
            "verdict",
            "root_cause",
            "layer",
            "rule",
            "severity",
            "status",
            "message",
            "explains",
            "remediation",
            "recovery_point_age_hours",
            "promised_hours",
            "overdue",
            "recovery_point_deadline",
            "next_backup"
        ]
    );
    let report: Value = serde_json::from_str(&scan(&[&demo()], "json")).unwrap();
    let vms = report["vms"].as_array().unwrap();
    let expected_rows: usize = vms
        .iter()
        .map(|vm| vm["findings"].as_array().unwrap().len().max(1))
        .sum();
    assert_eq!(rows.len(), expected_rows);

    for vm in vms {
        let name = vm["name"].as_str().unwrap();
        let mine: Vec<&Row> = rows.iter().filter(|r| r["vm"] == name).collect();
        let findings = vm["findings"].as_array().unwrap();
        for row in &mine {
            assert_eq!(row["vm_id"], vm["id"].as_str().unwrap());
            assert_eq!(row["subscription"], vm["subscription"].as_str().unwrap());
            assert_eq!(
                row["resource_group"],
                vm["resource_group"].as_str().unwrap()
            );
            assert_eq!(row["verdict"], vm["verdict"].as_str().unwrap());
            assert_eq!(row["root_cause"], vm["root_cause"].as_str().unwrap_or(""));
            // The recovery figures are the JSON report's, empty for an unprotected VM.
            let recovery = &vm["recovery"];
            let shown = |v: &Value| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let number = |cell: &str| cell.parse::<f64>().ok();
            assert_eq!(
                number(&row["recovery_point_age_hours"]),
                recovery["age_hours"].as_f64()
            );
            assert_eq!(
                number(&row["promised_hours"]),
                recovery["promised_hours"].as_f64()
            );
            assert_eq!(row["overdue"], shown(&recovery["overdue"]));
            assert_eq!(row["recovery_point_deadline"], shown(&recovery["deadline"]));
            assert_eq!(row["next_backup"], shown(&recovery["next_backup"]));
        }
        if findings.is_empty() {
            assert_eq!(mine.len(), 1, "{name}: one row with its verdict");
            assert_eq!(mine[0]["rule"], "");
            assert_eq!(mine[0]["message"], "");
        } else {
            let rules: Vec<&str> = mine.iter().map(|r| r["rule"].as_str()).collect();
            let expected: Vec<&str> = findings
                .iter()
                .map(|f| f["rule"].as_str().unwrap())
                .collect();
            assert_eq!(rules, expected, "{name}: findings in pipeline order");
            for (row, finding) in mine.iter().zip(findings) {
                assert_eq!(row["layer"], finding["cause"].as_str().unwrap());
                assert_eq!(row["severity"], finding["severity"].as_str().unwrap());
                assert_eq!(row["status"], finding["status"].as_str().unwrap());
                assert_eq!(row["message"], finding["message"].as_str().unwrap());
                let explains: Vec<&str> = finding["explains"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap())
                    .collect();
                assert_eq!(row["explains"], explains.join(";"));
                assert_eq!(
                    row["remediation"],
                    finding["remediation"].as_str().unwrap().trim()
                );
            }
        }
    }

    let agent = rows
        .iter()
        .find(|r| r["vm"] == "vm-sql-01" && r["rule"] == "agent/not-ready")
        .expect("vm-sql-01 fails agent/not-ready");
    assert_eq!(agent["root_cause"], "agent");
    assert_eq!(agent["status"], "fail");
    assert!(agent["explains"]
        .split(';')
        .any(|c| c == "UserErrorGuestAgentStatusUnavailable"));
    assert!(
        agent["remediation"].contains('\n'),
        "multi-line fixes stay in one quoted cell"
    );
}

/// Commas, quotes and newlines stay in their cell; text that a spreadsheet would run as a
/// formula is made text.
#[test]
fn awkward_text_is_quoted_and_formulas_are_defused() {
    let dir = tempfile::tempdir().unwrap();
    let mut vm = demo_vm("vm-web-01");
    let awkward = "web, \"front\"\nend";
    vm["name"] = Value::String(awkward.to_string());
    let overlay = dir.path().join("awkward.json");
    std::fs::write(&overlay, serde_json::to_string(&vm.clone()).unwrap()).unwrap();
    let formula_vm = {
        let mut copy = vm.clone();
        copy["name"] = Value::String("=HYPERLINK(\"x\",\"y\")".to_string());
        copy["id"] = Value::String(
            vm["id"]
                .as_str()
                .unwrap()
                .replace("vm-web-01", "vm-formula"),
        );
        copy
    };
    let formula = dir.path().join("formula.json");
    std::fs::write(&formula, serde_json::to_string(&formula_vm).unwrap()).unwrap();

    let text = scan(&[&demo(), &overlay, &formula], "csv");
    assert!(
        text.contains("\"web, \"\"front\"\"\nend\""),
        "RFC 4180 quoting"
    );
    let (_, rows) = parse(&text);
    assert!(
        rows.iter().any(|r| r["vm"] == awkward),
        "the name parses back whole"
    );
    let defused = rows
        .iter()
        .find(|r| r["vm_id"].ends_with("/vm-formula"))
        .expect("the second VM is in the report");
    assert_eq!(defused["vm"], "'=HYPERLINK(\"x\",\"y\")");
}
