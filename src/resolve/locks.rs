//! Subscription-scope facts: resource locks that apply to the VM, its resource group, the
//! subscription and the restore-point resource group, and resource provider registration.

use super::fact_path;
use super::facts::*;
use super::Index;
use crate::inventory::id::{resource_group_id, subscription_id};
use crate::inventory::key;
use crate::inventory::model::Lock;
use crate::inventory::types;

pub fn resolve(index: &Index, facts: &mut VmFacts) {
    resolve_restore_point_rg(index, facts);
    resolve_locks(index, facts);
    resolve_providers(index, facts);
}

/// Where the VM's restore point collections live: `AzureBackupRG_<location>_<n>` by default, or
/// `<prefix><n><suffix>` when the policy names it (docs/azure-sources.md#restore-point-resource-group).
fn resolve_restore_point_rg(index: &Index, facts: &mut VmFacts) {
    // A readiness check may already know the naming cannot be told (a named policy not found).
    if facts.is_unknown(fact_path::RESTORE_POINT_RG) {
        return;
    }
    let Some(location) = facts.location.clone() else {
        facts.mark_unknown(fact_path::RESTORE_POINT_RG, "the VM has no location");
        return;
    };
    let custom = facts.restore_point_rg_override.as_ref().and_then(|d| {
        let prefix = d
            .azure_backup_rg_name_prefix
            .clone()
            .filter(|p| !p.is_empty())?;
        Some((
            prefix,
            d.azure_backup_rg_name_suffix.clone().unwrap_or_default(),
        ))
    });
    let (prefix, suffix, is_custom) = match custom {
        Some((prefix, suffix)) => (prefix, suffix, true),
        None => (format!("AzureBackupRG_{location}_"), String::new(), false),
    };
    let mut existing: Vec<String> = index
        .resource_groups_by_subscription
        .get(&key(&facts.subscription))
        .into_iter()
        .flatten()
        .filter(|name| matches_numbered(name, &prefix, &suffix))
        .map(|name| name.to_string())
        .collect();
    existing.sort();
    facts.restore_point_rg = Some(RestorePointRgFacts {
        pattern: format!("{prefix}{{n}}{suffix}"),
        custom: is_custom,
        existing,
    });
}

/// Whether `name` is `prefix` + a positive number + `suffix`, ignoring case.
fn matches_numbered(name: &str, prefix: &str, suffix: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let (prefix, suffix) = (prefix.to_ascii_lowercase(), suffix.to_ascii_lowercase());
    let Some(middle) = lower
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(&suffix))
    else {
        return false;
    };
    !middle.is_empty() && middle.bytes().all(|b| b.is_ascii_digit())
}

fn resolve_locks(index: &Index, facts: &mut VmFacts) {
    let subscription = subscription_id(&facts.subscription);
    if let Some(gap) = index.inventory.gap_for(&subscription, types::LOCKS) {
        facts.mark_unknown(
            fact_path::LOCKS,
            format!("locks could not be read for {}: {}", gap.scope, gap.reason),
        );
        return;
    }
    let at = |scope: &str| -> Vec<LockFact> {
        index
            .locks_by_scope
            .get(&key(scope))
            .into_iter()
            .flatten()
            .map(|lock| lock_fact(lock))
            .collect()
    };
    let restore_point_rg = facts.restore_point_rg.as_ref().map(|rg| {
        rg.existing
            .iter()
            .flat_map(|name| at(&resource_group_id(&facts.subscription, name)))
            .collect()
    });
    facts.locks = Some(LockFacts {
        subscription: at(&subscription),
        resource_group: at(&resource_group_id(
            &facts.subscription,
            &facts.resource_group,
        )),
        vm: at(&facts.id),
        restore_point_rg,
    });
}

fn lock_fact(lock: &Lock) -> LockFact {
    LockFact {
        id: lock.id.clone(),
        name: lock
            .name
            .clone()
            .unwrap_or_else(|| lock.id.rsplit('/').next().unwrap_or_default().to_string()),
        level: lock
            .properties
            .level
            .clone()
            .unwrap_or_else(|| "NotSpecified".into()),
        scope: lock.scope().to_string(),
    }
}

fn resolve_providers(index: &Index, facts: &mut VmFacts) {
    let subscription = subscription_id(&facts.subscription);
    if let Some(gap) = index.inventory.gap_for(&subscription, types::PROVIDERS) {
        facts.mark_unknown(
            fact_path::PROVIDERS,
            format!("resource providers could not be read: {}", gap.reason),
        );
        return;
    }
    match index.inventory.providers.get(&key(&facts.subscription)) {
        Some(providers) => {
            facts.providers = Some(
                providers
                    .values()
                    .map(|p| {
                        (
                            p.namespace.clone(),
                            p.registration_state
                                .clone()
                                .unwrap_or_else(|| "Unknown".into()),
                        )
                    })
                    .collect(),
            );
        }
        // ARM always lists every provider, so an empty list means it was not collected.
        None => facts.mark_unknown(
            fact_path::PROVIDERS,
            "the subscription's resource providers are not in the snapshot",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::matches_numbered;

    #[test]
    fn restore_point_rg_names() {
        assert!(matches_numbered(
            "AzureBackupRG_westeurope_1",
            "AzureBackupRG_westeurope_",
            ""
        ));
        assert!(matches_numbered(
            "azurebackuprg_WESTEUROPE_12",
            "AzureBackupRG_westeurope_",
            ""
        ));
        assert!(!matches_numbered(
            "AzureBackupRG_westeurope_",
            "AzureBackupRG_westeurope_",
            ""
        ));
        assert!(!matches_numbered(
            "AzureBackupRG_westeurope_1a",
            "AzureBackupRG_westeurope_",
            ""
        ));
        assert!(matches_numbered(
            "rg-backup-rp-2-weu",
            "rg-backup-rp-",
            "-weu"
        ));
    }
}
