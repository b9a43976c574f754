//! Protection facts: which vault and policy protect the VM, in what state, and the failed backup
//! jobs of the window with the documented codes they carry.

use super::fact_path::{self, FactPath};
use super::facts::*;
use super::schedule;
use super::Index;
use crate::inventory::model::*;
use crate::inventory::types;
use crate::inventory::{key, ArmId};
use crate::outcome::Recovery;
use time::OffsetDateTime;

/// `.../vaults/{vault}/...` → `.../vaults/{vault}` (the vault a child resource belongs to).
pub fn vault_of(id: &str) -> &str {
    let lower = id.to_ascii_lowercase();
    match lower.find("/microsoft.recoveryservices/vaults/") {
        Some(at) => {
            let start = at + "/microsoft.recoveryservices/vaults/".len();
            let end = lower[start..]
                .find('/')
                .map(|i| start + i)
                .unwrap_or(id.len());
            &id[..end]
        }
        None => id,
    }
}

pub fn resolve(index: &Index, vm: &VirtualMachine, facts: &mut VmFacts) {
    let inventory = index.inventory;
    let items = index.items_by_vm.get(&key(&vm.id));
    let Some(item) = items
        .and_then(|keys| keys.first())
        .and_then(|k| inventory.protected_items.get(*k))
    else {
        // Unprotected is a fact only if every vault the VM could be protected by was read, and
        // every item read says which VM it protects.
        if let Some(item) = index.unattributed_items.first() {
            facts.mark_unknown(
                fact_path::PROTECTION_PROTECTED,
                format!("protected item {item} names no VM: it may protect this one"),
            );
            facts.mark_unknown(
                fact_path::NETWORK_PRIVATE_DNS,
                format!("protected item {item} names no VM: the vault whose private endpoints this VM needs is unknown"),
            );
        }
        match inventory.gap_for(
            &crate::inventory::id::subscription_id(&facts.subscription),
            types::PROTECTED_ITEMS,
        ) {
            Some(gap) => facts.mark_unknown(
                fact_path::PROTECTION_PROTECTED,
                format!("protected items could not be read: {}", gap.reason),
            ),
            None => facts.protection.protected = Some(false),
        }
        facts.jobs = Some(JobFacts {
            window_days: index.options.job_window_days,
            ..JobFacts::default()
        });
        return;
    };
    let props = &item.properties;
    let vault_id = vault_of(&item.id).to_string();
    let vault = inventory.recovery_vaults.get(&key(&vault_id));
    let protection = &mut facts.protection;
    protection.protected = Some(true);
    protection.item_id = Some(item.id.clone());
    protection.vault_name = ArmId::parse(&vault_id).name.map(String::from);
    protection.vault_subscription = ArmId::parse(&vault_id).subscription.map(String::from);
    protection.vault_location = vault.and_then(|v| v.location.clone());
    protection.vault_id = Some(vault_id.clone());
    protection.health_status = props.health_status.clone();
    protection.last_backup_status = props.last_backup_status.clone();
    protection.disk_exclusion = Some(
        props
            .extended_properties
            .as_ref()
            .and_then(|e| e.disk_exclusion_properties.as_ref())
            .is_some_and(|v| !v.is_null()),
    );
    let policy = props
        .policy_id
        .as_deref()
        .and_then(|id| inventory.backup_policies.get(&key(id)));
    protection.policy_name = props
        .policy_name
        .clone()
        .or_else(|| policy.map(|p| p.name.clone()));
    let policy_type = policy
        .map(|p| p.properties.policy_type.as_deref())
        .or(Some(props.policy_type.as_deref()).filter(|t| t.is_some()));
    facts.protection.policy_type = facts.or_unknown(
        policy_type.map(|t| policy_type_name(t).to_string()),
        fact_path::PROTECTION_POLICY_TYPE,
        "the item's backup policy is not in the snapshot",
    );
    facts.protection.protection_state = facts.or_unknown(
        props.protection_state.clone(),
        fact_path::PROTECTION_STATE,
        "the protected item has no protectionState",
    );
    if vault.is_none() {
        facts.mark_unknown(
            fact_path::PROTECTION_VAULT_LOCATION,
            format!("the Recovery Services vault {vault_id} is not in the snapshot"),
        );
    }
    let policy_rg = policy.and_then(|p| p.properties.instant_rp_details.clone());
    facts.restore_point_rg_override = policy_rg;
    resolve_recovery(index, item, policy, facts);
    resolve_jobs(index, item, &vault_id, facts);
}

/// Protection states in which the policy's schedule still runs backups.
fn runs_backups(state: Option<&str>) -> bool {
    !state.is_some_and(|s| {
        ["ProtectionStopped", "ProtectionPaused", "BackupsSuspended"]
            .iter()
            .any(|stopped| s.eq_ignore_ascii_case(stopped))
    })
}

/// The recovery point's age against the policy's promise, at the scan's reference time.
fn resolve_recovery(
    index: &Index,
    item: &ProtectedItem,
    policy: Option<&BackupPolicy>,
    facts: &mut VmFacts,
) {
    let now = chrono::DateTime::from_timestamp(index.now.unix_timestamp(), index.now.nanosecond())
        .unwrap_or_default();
    let props = &item.properties;
    let mut recovery = Recovery {
        last_recovery_point: props.last_recovery_point.clone(),
        policy: facts.protection.policy_name.clone(),
        ..Recovery::default()
    };
    let item_name = props.friendly_name.as_deref().unwrap_or(&item.id);
    let unknown =
        |facts: &mut VmFacts, recovery: &mut Recovery, paths: &[FactPath], reason: String| {
            for path in paths {
                facts.mark_unknown(*path, reason.clone());
            }
            recovery.unknown.get_or_insert(reason);
        };
    let last = props
        .last_recovery_point
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    match last {
        Some(last) => {
            let age = now - last;
            recovery.age_hours = Some(tenths(age));
            facts.protection.recovery_point_age_hours = Some(age.num_hours());
        }
        // No recovery point at all after a failed backup: the promise is broken whatever the
        // schedule, so the VM is overdue, though its age cannot be given.
        None if props.last_recovery_point.is_none()
            && props
                .last_backup_status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("Failed")) =>
        {
            unknown(
                facts,
                &mut recovery,
                &[fact_path::PROTECTION_RECOVERY_POINT_AGE],
                format!("protected item {item_name} has no recovery point at all: its last backup failed"),
            );
            recovery.overdue = Some(true);
            facts.protection.recovery_point_overdue = Some(true);
        }
        None => unknown(
            facts,
            &mut recovery,
            &[fact_path::PROTECTION_RECOVERY_POINT_AGE, fact_path::PROTECTION_OVERDUE],
            match &props.last_recovery_point {
                Some(text) => format!("protected item {} has an unreadable lastRecoveryPoint '{text}'", item_name),
                None => format!("protected item {} has no lastRecoveryPoint: no backup has completed yet, or the item was read without it", item_name),
            },
        ),
    }
    let schedule = match policy {
        Some(policy) => schedule::parse(&policy.name, &policy.properties),
        None => Err(match &props.policy_id {
            Some(id) => format!("the item's backup policy {id} is not in the snapshot"),
            None => format!("protected item {} names no backup policy", item_name),
        }),
    };
    let schedule = schedule.and_then(|schedule| match schedule.longest_gap(now) {
        Some(gap) => Ok((schedule, gap)),
        None => Err(format!(
            "the schedule of backup policy {} has no runs",
            recovery.policy.as_deref().unwrap_or("?")
        )),
    });
    let (schedule, gap) = match schedule {
        Ok(found) => found,
        Err(reason) => {
            unknown(
                facts,
                &mut recovery,
                &[
                    fact_path::PROTECTION_PROMISED_AGE,
                    fact_path::PROTECTION_OVERDUE,
                ],
                reason,
            );
            facts.recovery = Some(recovery);
            return;
        }
    };
    recovery.schedule = Some(schedule.describe());
    if runs_backups(props.protection_state.as_deref()) {
        recovery.next_backup = schedule.next_run(now).map(rfc3339);
    }
    let promised = gap + schedule::START_WINDOW;
    recovery.promised_hours = Some(tenths(promised));
    // Rounded up, so a rule comparing whole hours never calls a point late that is not.
    facts.protection.promised_age_hours = Some((promised.num_minutes() + 59) / 60);
    if let Some(last) = last {
        let deadline = last + promised;
        let overdue = now > deadline;
        recovery.deadline = Some(rfc3339(deadline));
        recovery.hours_left = Some(tenths(deadline - now));
        recovery.overdue = Some(overdue);
        facts.protection.recovery_point_overdue = Some(overdue);
    }
    facts.recovery = Some(recovery);
}

/// Hours with one decimal, for reports.
fn tenths(duration: chrono::Duration) -> f64 {
    (duration.num_minutes() as f64 / 6.0).round() / 10.0
}

fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `V2` is the Enhanced policy; Standard policies omit `policyType` or say `V1`.
fn policy_type_name(policy_type: Option<&str>) -> &'static str {
    match policy_type {
        Some(t) if t.eq_ignore_ascii_case("V2") => "Enhanced",
        _ => "Standard",
    }
}

fn resolve_jobs(index: &Index, item: &ProtectedItem, vault_id: &str, facts: &mut VmFacts) {
    let vault = key(vault_id);
    let container = item.properties.container_name.as_deref().map(key);
    let jobs = container
        .and_then(|c| index.jobs_by_container.get(&(vault.clone(), c)))
        .or_else(|| index.jobs_by_entity.get(&(vault.clone(), key(&facts.name))));
    if jobs.is_none() {
        if let Some(gap) = index.inventory.gap_for(vault_id, types::BACKUP_JOBS) {
            facts.mark_unknown(
                fact_path::JOBS,
                format!("backup jobs could not be read: {}", gap.reason),
            );
            return;
        }
    }
    let window_start = index.now - time::Duration::days(index.options.job_window_days);
    let mut job_facts = JobFacts {
        window_days: index.options.job_window_days,
        ..JobFacts::default()
    };
    let mut failed: Vec<(Option<OffsetDateTime>, FailedJobFacts)> = Vec::new();
    for job in jobs.into_iter().flatten() {
        let props = &job.properties;
        let status = props.status.as_deref().unwrap_or_default();
        let start = props.start_time.as_deref().and_then(parse_time);
        if status.eq_ignore_ascii_case("InProgress") {
            job_facts.in_progress = true;
        }
        if !status.eq_ignore_ascii_case("Failed") {
            continue;
        }
        // A job with no readable start time is kept: dropping evidence silently is worse.
        if start.is_some_and(|t| t < window_start || t > index.now) {
            continue;
        }
        let mut codes = Vec::new();
        let mut errors = Vec::new();
        for detail in props.error_details.iter().flatten() {
            for code in codes_of(index, detail) {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            let text = [
                detail.error_title.as_deref(),
                detail.error_string.as_deref(),
            ]
            .into_iter()
            .flatten()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
            if !text.is_empty() {
                errors.push(text);
            }
        }
        failed.push((
            start,
            FailedJobFacts {
                id: job.id.clone(),
                start_time: props.start_time.clone(),
                operation: props.operation.clone().unwrap_or_else(|| "Backup".into()),
                codes,
                errors,
            },
        ));
    }
    // Newest first: the latest failure is the one an admin looks at.
    failed.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    for (_, job) in failed {
        for code in &job.codes {
            if !job_facts.codes.contains(code) {
                job_facts.codes.push(code.clone());
                if let Some(entry) = index.codes.get(code) {
                    let cause = entry.cause.as_str().to_string();
                    if !job_facts.causes.contains(&cause) {
                        job_facts.causes.push(cause);
                    }
                }
            }
        }
        job_facts.failed.push(job);
    }
    facts.jobs = Some(job_facts);
}

/// The canonical codes a job error names: the symbolic code may sit in `errorCode` (as a string),
/// `errorTitle` or `errorString`; a numeric `errorCode` is matched against the documented ids.
fn codes_of(index: &Index, detail: &JobErrorDetail) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    let mut add = |code: &crate::codes::ErrorCode| {
        if !codes.contains(&code.code) {
            codes.push(code.code.clone());
        }
    };
    match &detail.error_code {
        Some(IntOrString::String(text)) => index
            .codes
            .find_in_text(text)
            .into_iter()
            .for_each(&mut add),
        Some(IntOrString::Int(number)) => index
            .codes
            .by_number(*number)
            .into_iter()
            .for_each(&mut add),
        None => {}
    }
    for text in [&detail.error_title, &detail.error_string]
        .into_iter()
        .flatten()
    {
        index
            .codes
            .find_in_text(text)
            .into_iter()
            .for_each(&mut add);
    }
    codes
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}
