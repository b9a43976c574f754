//! The protection a readiness check proposes for a VM that has none yet: which vault would
//! protect it, with which policy type and restore-point resource group naming. The facts are
//! written where an existing protection's would be (`vm.protection`), so the rules that judge a
//! protection judge the proposed one the same way; `vm.readiness` says how it was chosen.

use super::fact_path;
use super::facts::{ReadinessFacts, VmFacts};
use super::protection::vault_of;
use super::Index;
use crate::inventory::id::subscription_id;
use crate::inventory::model::{BackupPolicy, RecoveryVault};
use crate::inventory::types;
use crate::inventory::{key, ArmId};

/// The policy asked for: a type, or a policy of the vault by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyChoice {
    Standard,
    Enhanced,
    Named(String),
}

impl PolicyChoice {
    /// `standard` and `enhanced` (any case) name a type; anything else names a policy.
    pub fn parse(text: &str) -> PolicyChoice {
        if text.eq_ignore_ascii_case("standard") {
            PolicyChoice::Standard
        } else if text.eq_ignore_ascii_case("enhanced") {
            PolicyChoice::Enhanced
        } else {
            PolicyChoice::Named(text.to_string())
        }
    }

    pub fn label(&self) -> String {
        match self {
            PolicyChoice::Standard => "standard".into(),
            PolicyChoice::Enhanced => "enhanced".into(),
            PolicyChoice::Named(name) => name.clone(),
        }
    }
}

/// What the user proposes: a vault (by its id as the inventory has it) or none, letting each
/// VM take a vault of its own region and subscription, and a policy.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub vault: Option<String>,
    pub policy: PolicyChoice,
}

/// The vaults a VM can be protected by: Azure Backup protects a VM only from a Recovery Services
/// vault in the VM's own region and subscription (docs/azure-sources.md#error-codes, #support-matrix).
pub fn vaults_in_region<'a>(index: &Index<'a>, facts: &VmFacts) -> Vec<&'a RecoveryVault> {
    let Some(location) = facts.location.as_deref() else {
        return Vec::new();
    };
    let mut vaults: Vec<&RecoveryVault> = index
        .inventory
        .recovery_vaults
        .values()
        .filter(|vault| {
            ArmId::parse(&vault.id)
                .subscription
                .is_some_and(|s| s.eq_ignore_ascii_case(&facts.subscription))
                && vault
                    .location
                    .as_deref()
                    .is_some_and(|l| same_region(l, location))
        })
        .collect();
    vaults.sort_by_key(|vault| key(&vault.id));
    vaults
}

/// `West Europe` and `westeurope` are the same region.
fn same_region(a: &str, b: &str) -> bool {
    let normal = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    normal(a) == normal(b)
}

/// The backup policy `name` of `vault`, if the snapshot has it.
pub fn policy_of_vault<'a>(
    index: &Index<'a>,
    vault_id: &str,
    name: &str,
) -> Option<&'a BackupPolicy> {
    index.inventory.backup_policies.values().find(|policy| {
        policy.name.eq_ignore_ascii_case(name) && key(vault_of(&policy.id)) == key(vault_id)
    })
}

/// Writes the proposed protection into `facts`; only for a VM known to be unprotected.
pub fn apply(index: &Index, proposal: &Proposal, facts: &mut VmFacts) {
    let in_region = vaults_in_region(index, facts);
    let vaults_readable = index
        .inventory
        .gap_for(
            &subscription_id(&facts.subscription),
            types::RECOVERY_VAULTS,
        )
        .map(|gap| gap.reason.clone());
    let unknown_vaults = match (&facts.location, vaults_readable) {
        (None, _) => Some("the VM has no location, so the vaults of its region are unknown".into()),
        (_, Some(reason)) => Some(format!(
            "Recovery Services vaults could not be read: {reason}"
        )),
        _ => None,
    };
    facts.readiness = Some(ReadinessFacts {
        vault_given: proposal.vault.is_some(),
        vaults_in_region: unknown_vaults
            .is_none()
            .then(|| in_region.iter().map(|v| v.name.clone()).collect()),
        policy: proposal.policy.label(),
    });
    if let Some(reason) = unknown_vaults {
        facts.mark_unknown(fact_path::READINESS_VAULTS_IN_REGION, reason);
    }

    let vault = match &proposal.vault {
        Some(id) => index.inventory.recovery_vaults.get(&key(id)),
        None => choose_vault(index, &in_region, &proposal.policy),
    };
    let protection = &mut facts.protection;
    protection.protected = Some(true);
    protection.disk_exclusion = Some(false);
    protection.item_id = None;
    let Some(vault) = vault else {
        let reason =
            "no Recovery Services vault in the VM's region and subscription to protect it with";
        for fact in [
            fact_path::PROTECTION_VAULT_ID,
            fact_path::PROTECTION_VAULT_NAME,
            fact_path::PROTECTION_VAULT_LOCATION,
            fact_path::PROTECTION_VAULT_SUBSCRIPTION,
        ] {
            facts.mark_unknown(fact, reason);
        }
        apply_policy(index, None, &proposal.policy, facts);
        return;
    };
    protection.vault_id = Some(vault.id.clone());
    protection.vault_name = Some(vault.name.clone());
    protection.vault_subscription = ArmId::parse(&vault.id).subscription.map(String::from);
    protection.vault_location = vault.location.clone();
    if vault.location.is_none() {
        facts.mark_unknown(
            fact_path::PROTECTION_VAULT_LOCATION,
            format!("vault {} has no location in the snapshot", vault.name),
        );
    }
    apply_policy(index, Some(vault), &proposal.policy, facts);
}

/// Without `--vault`: the first vault of the region (by id) that holds the named policy, or
/// simply the first vault of the region for a policy type.
fn choose_vault<'a>(
    index: &Index<'a>,
    in_region: &[&'a RecoveryVault],
    policy: &PolicyChoice,
) -> Option<&'a RecoveryVault> {
    match policy {
        PolicyChoice::Named(name) => in_region
            .iter()
            .find(|vault| policy_of_vault(index, &vault.id, name).is_some())
            .or(in_region.first())
            .copied(),
        _ => in_region.first().copied(),
    }
}

fn apply_policy(
    index: &Index,
    vault: Option<&RecoveryVault>,
    policy: &PolicyChoice,
    facts: &mut VmFacts,
) {
    let protection = &mut facts.protection;
    match policy {
        PolicyChoice::Standard => {
            protection.policy_name = Some("Standard (--policy standard)".into());
            protection.policy_type = Some("Standard".into());
        }
        PolicyChoice::Enhanced => {
            protection.policy_name = Some("Enhanced (--policy enhanced)".into());
            protection.policy_type = Some("Enhanced".into());
        }
        PolicyChoice::Named(name) => {
            protection.policy_name = Some(name.clone());
            let found = vault.and_then(|v| policy_of_vault(index, &v.id, name));
            match (found, vault) {
                (Some(policy), _) => {
                    protection.policy_type = Some(
                        if policy
                            .properties
                            .policy_type
                            .as_deref()
                            .is_some_and(|t| t.eq_ignore_ascii_case("V2"))
                        {
                            "Enhanced".into()
                        } else {
                            "Standard".into()
                        },
                    );
                    facts.restore_point_rg_override = policy.properties.instant_rp_details.clone();
                }
                (None, Some(vault)) => {
                    let reason = match index.inventory.gap_for(&vault.id, types::BACKUP_POLICIES) {
                        Some(gap) => format!("backup policies could not be read: {}", gap.reason),
                        None => format!("vault {} has no backup policy named {name}", vault.name),
                    };
                    facts.mark_unknown(fact_path::PROTECTION_POLICY_TYPE, reason.clone());
                    facts.mark_unknown(fact_path::RESTORE_POINT_RG, reason);
                }
                (None, None) => {
                    facts.mark_unknown(
                        fact_path::PROTECTION_POLICY_TYPE,
                        format!(
                            "policy {name} belongs to a vault, and no vault was found for the VM"
                        ),
                    );
                    facts.mark_unknown(
                        fact_path::RESTORE_POINT_RG,
                        "the policy's restore-point resource group naming is unknown without a vault",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_keywords_and_names() {
        assert_eq!(PolicyChoice::parse("Enhanced"), PolicyChoice::Enhanced);
        assert_eq!(PolicyChoice::parse("STANDARD"), PolicyChoice::Standard);
        assert_eq!(
            PolicyChoice::parse("EnhancedPolicy-4h"),
            PolicyChoice::Named("EnhancedPolicy-4h".into())
        );
    }

    #[test]
    fn region_names_compare_without_case_and_spaces() {
        assert!(same_region("West Europe", "westeurope"));
        assert!(!same_region("westeurope", "northeurope"));
    }
}
