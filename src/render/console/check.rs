//! The readiness check on the console: the answer per VM with the fixes in order, then the
//! summary and what a readiness check does not cover.

use super::{context, write_fix, write_gaps, write_undecided, Paint};
use crate::outcome::{CheckReport, CheckedVm, Readiness, Severity, Status};
use std::fmt::Write;

pub fn check(report: &CheckReport, colour: bool) -> String {
    let paint = Paint { on: colour };
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
            paint.yellow("incomplete: some facts could not be read (see `cannot tell` above)")
        );
    }
    write_gaps(&mut out, &report.gaps);
    super::scan::render_skipped(&mut out, &report.skipped, &paint);
    super::write_dangling(&mut out, &report.dangling_references, &paint);
    let _ = writeln!(out, "not checked by a readiness check:");
    for item in &report.not_checked {
        let _ = writeln!(out, "  - {item}");
    }
    out
}

fn render_vm(out: &mut String, vm: &CheckedVm, paint: &Paint) {
    let label = match vm.status {
        Readiness::Ready => paint.green("READY"),
        Readiness::NotReady => paint.red("NOT READY"),
        Readiness::Unknown => paint.yellow("CANNOT TELL"),
        Readiness::AlreadyProtected => paint.dim("PROTECTED"),
    };
    let context = context([
        Some(vm.resource_group.as_str()),
        vm.location.as_deref(),
        vm.os.as_deref(),
    ]);
    let _ = writeln!(
        out,
        "{label} {}  {}",
        paint.bold(&vm.name),
        paint.dim(&context)
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
        write_fix(out, &fix.remediation);
    }
    for finding in vm
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.severity != Severity::Error)
    {
        let _ = writeln!(
            out,
            "  {} [{}] {}: {}",
            paint.yellow(finding.severity.as_str()),
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
        write_undecided(out, paint, finding, &finding.message);
    }
    out.push('\n');
}
