//! Recovery points on the console: a line per protected VM under its findings, and the failing
//! VMs ranked by time left under the fleet summary (docs/recovery-points.md).

use super::Paint;
use crate::outcome::recovery::minute;
use crate::outcome::{Report, VmReport};
use std::fmt::Write;

/// "recovery point 55.6 h old, policy promises 26 h (daily at 23:00 (W. Europe Standard
/// Time)): overdue since …", then the forecast of a failing VM.
pub(super) fn vm_lines(out: &mut String, vm: &VmReport, paint: &Paint) {
    let Some(recovery) = &vm.recovery else {
        return;
    };
    let age = match recovery.age_hours {
        Some(hours) => format!("recovery point {hours} h old"),
        None => "recovery point age unknown".to_string(),
    };
    let promise = match (recovery.promised_hours, &recovery.schedule) {
        (Some(hours), Some(schedule)) => format!(", policy promises {hours} h ({schedule})"),
        _ => String::new(),
    };
    let state = match (recovery.overdue, recovery.deadline.as_deref()) {
        (Some(true), Some(deadline)) => paint.red(&format!(": overdue since {}", minute(deadline))),
        (Some(false), Some(deadline)) => format!(": on time until {}", minute(deadline)),
        _ => match &recovery.unknown {
            Some(reason) => paint.yellow(&format!(": cannot tell ({reason})")),
            None => String::new(),
        },
    };
    let _ = writeln!(out, "  {age}{promise}{state}");
    if let Some(forecast) = &recovery.forecast {
        let _ = writeln!(out, "  forecast: {forecast}");
    }
}

/// The failing VMs, least time left first (negative: already overdue).
pub(super) fn ranking(out: &mut String, report: &Report, paint: &Paint) {
    let entries = &report.summary.time_left;
    if entries.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Failing VMs by time left before their recovery point is older than promised:"
    );
    for entry in entries {
        let left = if entry.hours_left < 0.0 {
            paint.red(&format!("{:>7} h", entry.hours_left))
        } else {
            format!("{:>7} h", entry.hours_left)
        };
        let _ = writeln!(
            out,
            "  {left}  {:<20} {:<10} {}",
            entry.vm,
            entry.root_cause.map_or("—", |c| c.as_str()),
            minute(&entry.deadline)
        );
    }
}
