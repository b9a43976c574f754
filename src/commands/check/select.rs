//! Turns the names a user gives `check` (VMs, resource groups, a vault, a policy) into the
//! inventory's resources. A name that matches nothing is a usage error (exit 2), named with what
//! exists instead, because a readiness answer for a VM that was not found would be no answer.

use crate::error::Error;
use crate::inventory::model::VirtualMachine;
use crate::inventory::{key, ArmId, Inventory};
use crate::resolve::protection::vault_of;
use crate::resolve::readiness::{PolicyChoice, Proposal};

/// Up to `limit` names, for "known ones are: …" hints.
fn some(names: impl Iterator<Item = String>, limit: usize) -> String {
    let mut names: Vec<String> = names.collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by_key(|n| n.to_ascii_lowercase());
    let more = names.len().saturating_sub(limit);
    names.truncate(limit);
    let mut text = names.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// The VMs named by id or name (`--vm`) and those in the named resource groups
/// (`--resource-group`), in inventory order, each once.
pub fn vms<'a>(
    inventory: &'a Inventory,
    names: &[String],
    resource_groups: &[String],
) -> Result<Vec<&'a VirtualMachine>, Error> {
    let mut chosen: Vec<&VirtualMachine> = Vec::new();
    for wanted in names {
        let found: Vec<&VirtualMachine> = inventory
            .vms
            .values()
            .filter(|vm| key(&vm.id) == key(wanted) || vm.name.eq_ignore_ascii_case(wanted))
            .collect();
        match found.as_slice() {
            [] => {
                return Err(Error::usage(
                    "--vm",
                    format!("no VM named `{wanted}` in the data read"),
                    format!(
                        "give a VM name or ARM id; VMs read: {}",
                        some(inventory.vms.values().map(|vm| vm.name.clone()), 12)
                    ),
                ))
            }
            [_, _, ..] if !wanted.starts_with('/') => {
                return Err(Error::usage(
                    "--vm",
                    format!("`{wanted}` names {} VMs", found.len()),
                    format!(
                        "give the ARM id of the one meant: {}",
                        found
                            .iter()
                            .map(|vm| vm.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
            _ => chosen.extend(found),
        }
    }
    for group in resource_groups {
        let known = inventory
            .resource_groups
            .values()
            .any(|rg| rg.name.eq_ignore_ascii_case(group));
        let found: Vec<&VirtualMachine> = inventory
            .vms
            .values()
            .filter(|vm| {
                ArmId::parse(&vm.id)
                    .resource_group
                    .is_some_and(|rg| rg.eq_ignore_ascii_case(group))
            })
            .collect();
        if found.is_empty() {
            let problem = if known {
                format!("resource group `{group}` has no VMs")
            } else {
                format!("no resource group named `{group}` in the data read")
            };
            return Err(Error::usage(
                "--resource-group",
                problem,
                format!(
                    "give a resource group that holds VMs: {}",
                    some(
                        inventory
                            .vms
                            .values()
                            .filter_map(|vm| ArmId::parse(&vm.id).resource_group.map(String::from)),
                        12
                    )
                ),
            ));
        }
        chosen.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    chosen.retain(|vm| seen.insert(key(&vm.id)));
    chosen.sort_by_key(|vm| key(&vm.id));
    Ok(chosen)
}

/// The proposal from `--vault` (id or name) and `--policy`; a vault or policy name that the data
/// does not hold is bad input.
pub fn proposal(
    inventory: &Inventory,
    vault: Option<&str>,
    policy: &str,
) -> Result<Proposal, Error> {
    let vault_id = match vault {
        None => None,
        Some(wanted) => Some(find_vault(inventory, wanted)?),
    };
    let policy = PolicyChoice::parse(policy);
    if let PolicyChoice::Named(name) = &policy {
        check_policy(inventory, vault_id.as_deref(), name)?;
    }
    Ok(Proposal {
        vault: vault_id,
        policy,
    })
}

fn find_vault(inventory: &Inventory, wanted: &str) -> Result<String, Error> {
    let found: Vec<&str> = inventory
        .recovery_vaults
        .values()
        .filter(|v| key(&v.id) == key(wanted) || v.name.eq_ignore_ascii_case(wanted))
        .map(|v| v.id.as_str())
        .collect();
    match found.as_slice() {
        [id] => Ok(id.to_string()),
        [] => Err(Error::usage(
            "--vault",
            format!("no Recovery Services vault `{wanted}` in the data read"),
            format!(
                "give a vault id or name; vaults read: {} (or leave --vault out to use a vault of each VM's region)",
                some(inventory.recovery_vaults.values().map(|v| v.name.clone()), 12)
            ),
        )),
        several => Err(Error::usage(
            "--vault",
            format!("`{wanted}` names {} vaults", several.len()),
            format!("give the vault's ARM id: {}", several.join(", ")),
        )),
    }
}

/// A policy name must exist (in the named vault, when one is named) and protect Azure VMs.
fn check_policy(inventory: &Inventory, vault: Option<&str>, name: &str) -> Result<(), Error> {
    let candidates: Vec<_> = inventory
        .backup_policies
        .values()
        .filter(|p| vault.is_none_or(|v| key(vault_of(&p.id)) == key(v)))
        .collect();
    let named: Vec<_> = candidates
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case(name))
        .collect();
    let where_ = vault
        .and_then(|v| ArmId::parse(v).name.map(|n| format!("vault {n}")))
        .unwrap_or_else(|| "any vault read".into());
    let vm_policy = |p: &&&crate::inventory::model::BackupPolicy| {
        p.properties
            .backup_management_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("AzureIaasVM"))
    };
    if named.is_empty() {
        return Err(Error::usage(
            "--policy",
            format!("no backup policy named `{name}` in {where_}"),
            format!(
                "use `standard`, `enhanced`, or a VM policy of the vault: {}",
                some(
                    candidates
                        .iter()
                        .filter(|p| {
                            p.properties
                                .backup_management_type
                                .as_deref()
                                .is_none_or(|t| t.eq_ignore_ascii_case("AzureIaasVM"))
                        })
                        .map(|p| p.name.clone()),
                    12
                )
            ),
        ));
    }
    if !named.iter().any(vm_policy) {
        let kind = named
            .first()
            .and_then(|p| p.properties.backup_management_type.clone())
            .unwrap_or_default();
        return Err(Error::usage(
            "--policy",
            format!(
                "backup policy `{name}` is a {kind} policy, not one for Azure VMs (AzureIaasVM)"
            ),
            "name a VM backup policy, or use `standard` or `enhanced`",
        ));
    }
    Ok(())
}
