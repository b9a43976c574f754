//! The readiness check's outputs: the console answer per VM with the fixes in order, and the
//! JSON document `backup-doctor/check/v1` (`schemas/check-v1.schema.json`).

use super::{CheckReport, CheckedVm, Readiness};
use crate::engine::eval::Status;
use crate::engine::Severity;
use std::fmt::Write;

pub fn json(report: &CheckReport) -> String {
    let mut text = serde_json::to_string_pretty(report)
        .expect("the check report holds only strings, numbers and maps");
    text.push('\n');
    text
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn console(report: &CheckReport, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Readiness check: {} with {} policy\n",
        match &report.proposal.vault {
            Some(vault) => format!("vault {vault}"),
            None => "a vault of each VM's region and subscription".into(),
        },
        report.proposal.policy
    );
    for vm in &report.vms {
        render_vm(&mut out, vm, &paint);
    }
    let summary = &report.summary;
    let _ = writeln!(
        out,
        "{} VMs: {} ready, {} not ready, {} cannot tell, {} already protected",
        summary.vms, summary.ready, summary.not_ready, summary.unknown, summary.already_protected
    );
    if !report.complete {
        let _ = writeln!(
            out,
            "{}",
            paint.wrap(
                "33",
                "incomplete: some facts could not be read (see `cannot tell` above)"
            )
        );
    }
    for gap in &report.gaps {
        let _ = writeln!(out, "  gap: {} at {}: {}", gap.what, gap.scope, gap.reason);
    }
    let _ = writeln!(out, "not checked by a readiness check:");
    for item in &report.not_checked {
        let _ = writeln!(out, "  - {item}");
    }
    out
}

fn render_vm(out: &mut String, vm: &CheckedVm, paint: &Paint) {
    let label = match vm.status {
        Readiness::Ready => paint.wrap("32", "READY"),
        Readiness::NotReady => paint.wrap("31", "NOT READY"),
        Readiness::Unknown => paint.wrap("33", "CANNOT TELL"),
        Readiness::AlreadyProtected => paint.wrap("2", "PROTECTED"),
    };
    let context = [
        Some(vm.resource_group.as_str()),
        vm.location.as_deref(),
        vm.os.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let _ = writeln!(
        out,
        "{label} {}  {}",
        paint.wrap("1", &vm.name),
        paint.wrap("2", &format!("[{context}]"))
    );
    if vm.status != Readiness::AlreadyProtected {
        let vault = vm
            .vault
            .as_ref()
            .map(|v| {
                format!(
                    "vault {}{}",
                    v.name.as_deref().unwrap_or(&v.id),
                    v.location
                        .as_deref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "no vault".into());
        let policy = match (&vm.policy, &vm.policy_type) {
            (Some(name), Some(kind)) if name.starts_with(kind.as_str()) => format!("{kind} policy"),
            (Some(name), Some(kind)) => format!("policy {name} ({kind})"),
            (Some(name), None) => format!("policy {name} (type unknown)"),
            _ => "no policy".into(),
        };
        let _ = writeln!(out, "    as if protected by {vault} with {policy}");
    }
    let _ = writeln!(out, "    {}", vm.answer);
    for (step, fix) in vm.fix_order.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. [{}] {}: {}",
            step + 1,
            fix.cause.as_str(),
            fix.rule,
            fix.message
        );
        let _ = writeln!(out, "     fix: {}", indent(&fix.remediation, "          "));
    }
    for finding in vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.severity != Severity::Error)
    {
        let _ = writeln!(
            out,
            "  {} [{}] {}: {}",
            paint.wrap("33", finding.severity.as_str()),
            finding.cause.as_str(),
            finding.rule,
            finding.message
        );
    }
    for finding in vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Unknown && f.severity == Severity::Error)
    {
        let _ = writeln!(
            out,
            "  {} [{}] {}: {}",
            paint.wrap("33", "?"),
            finding.cause.as_str(),
            finding.rule,
            finding.message
        );
    }
    out.push('\n');
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.to_string()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
