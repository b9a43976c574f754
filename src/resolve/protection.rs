//! Protection facts: which vault and policy protect the VM, in what state, and the failed backup
//! jobs of the window with the documented codes they carry.

use super::fact_path;
use super::facts::*;
use super::Index;
use crate::inventory::model::*;
use crate::inventory::types;
use crate::inventory::{key, ArmId};
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
    resolve_jobs(index, item, &vault_id, facts);
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
