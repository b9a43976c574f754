//! `--format csv`: one row per VM and finding (a VM without findings gets one row with its
//! verdict), for spreadsheets. The last columns are the VM's recovery-point figures
//! (docs/recovery-points.md), repeated on each of its rows. Quoting is RFC 4180 by the `csv` crate; `explains` is joined with
//! `;` so it stays one cell.
//!
//! Text that comes from Azure (job errors inside messages, names) and starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return would be run as a formula by Excel, LibreOffice and Sheets;
//! such a cell gets a leading `'`, the spreadsheet convention for "this is text".

use crate::outcome::{Finding, Recovery, Report, VmReport};

pub const COLUMNS: [&str; 18] = [
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
    "next_backup",
];

pub fn scan(report: &Report) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_row(&mut writer, COLUMNS.map(String::from));
    for vm in &report.vms {
        if vm.findings.is_empty() {
            write_row(&mut writer, row(vm, None));
        }
        for finding in &vm.findings {
            write_row(&mut writer, row(vm, Some(finding)));
        }
    }
    let bytes = writer
        .into_inner()
        .expect("flushing into memory cannot fail");
    String::from_utf8(bytes).expect("every cell is a Rust string")
}

fn write_row(writer: &mut csv::Writer<Vec<u8>>, row: [String; 18]) {
    writer
        .write_record(row.iter().map(|cell| neutralise_formula(cell).into_owned()))
        .expect("writing into memory cannot fail");
}

fn row(vm: &VmReport, finding: Option<&Finding>) -> [String; 18] {
    let text = |f: fn(&Finding) -> String| finding.map(f).unwrap_or_default();
    let recovery =
        |f: fn(&Recovery) -> Option<String>| vm.recovery.as_ref().and_then(f).unwrap_or_default();
    [
        vm.subscription.clone(),
        vm.resource_group.clone(),
        vm.name.clone(),
        vm.id.clone(),
        vm.verdict.as_str().to_string(),
        vm.root_cause
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        text(|f| f.cause.as_str().to_string()),
        text(|f| f.rule.clone()),
        text(|f| f.severity.as_str().to_string()),
        text(|f| f.status.as_str().to_string()),
        text(|f| f.message.clone()),
        text(|f| f.explains.join(";")),
        text(|f| f.remediation.trim().to_string()),
        recovery(|r| r.age_hours.map(|h| h.to_string())),
        recovery(|r| r.promised_hours.map(|h| h.to_string())),
        recovery(|r| r.overdue.map(|o| o.to_string())),
        recovery(|r| r.deadline.clone()),
        recovery(|r| r.next_backup.clone()),
    ]
}

fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes_become_text() {
        let cases = [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-1+2", "'-1+2"),
            ("vm-web-01", "vm-web-01"),
            ("", ""),
        ];
        for (cell, written) in cases {
            assert_eq!(neutralise_formula(cell), written);
        }
    }
}
