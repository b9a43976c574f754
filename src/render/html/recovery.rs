//! Recovery points in the HTML report: the failing VMs ranked by time left, and a line per
//! protected VM in its card (docs/recovery-points.md). Only the page's existing classes are used,
//! so the style and its Content-Security-Policy hash stay as they are.

use crate::outcome::recovery::minute;
use crate::outcome::{Cause, Report, VmReport};
use maud::{html, Markup};

pub(super) fn ranking_section(report: &Report) -> Markup {
    let entries = &report.summary.time_left;
    html! {
        @if !entries.is_empty() {
            section.panel #recovery-time-left {
                h2 { "Failing VMs by time left before their recovery point is older than promised" }
                table {
                    thead { tr { th { "VM" } th { "root cause" } th.num { "hours left" } th { "older than promised from" } th { "next backup" } } }
                    tbody {
                        @for entry in entries {
                            tr data-vm-id=(entry.vm_id) {
                                td { (entry.vm) }
                                td { (entry.root_cause.map_or("—", Cause::as_str)) }
                                td.num { (entry.hours_left) }
                                td { (minute(&entry.deadline)) }
                                td { (entry.next_backup.as_deref().map_or("none scheduled".to_string(), minute)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn vm_recovery(vm: &VmReport) -> Markup {
    html! {
        @if let Some(recovery) = &vm.recovery {
            p.vm-context.recovery {
                @match recovery.age_hours {
                    Some(hours) => { "Recovery point " (hours) " h old" }
                    None => { "Recovery point age unknown" }
                }
                @if let (Some(hours), Some(schedule)) = (recovery.promised_hours, &recovery.schedule) {
                    "; policy " (recovery.policy.as_deref().unwrap_or("")) " promises " (hours) " h (" (schedule) ")"
                }
                @match (recovery.overdue, recovery.deadline.as_deref()) {
                    (Some(true), Some(deadline)) => { "; " strong { "overdue since " (minute(deadline)) } }
                    (Some(false), Some(deadline)) => { "; on time until " (minute(deadline)) }
                    _ => { @if let Some(reason) = &recovery.unknown { "; cannot tell: " (reason) } }
                }
                @if let Some(forecast) = &recovery.forecast {
                    br; "Forecast: " (forecast)
                }
            }
        }
    }
}
