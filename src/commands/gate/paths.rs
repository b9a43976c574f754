//! The backup path of each VM: the resources whose change can move its backup (its NIC, subnet,
//! NSGs and routes, disks and their encryption sets, key vaults, vault and policy, locks, policy
//! assignments, resource providers).

use crate::codes::CodeBook;
use crate::inventory::{key, Inventory};
use crate::resolve::{self, Index, Options};
use std::collections::{BTreeSet, HashMap};

/// For each VM (by key), the ids of the resources its backup depends on.
pub fn backup_paths(
    inventory: &Inventory,
    codes: &CodeBook,
    options: &Options,
) -> HashMap<String, BTreeSet<String>> {
    let index = Index::new(inventory, codes, options);
    let mut out = HashMap::new();
    for vm in inventory.vms.values() {
        let facts = resolve::resolve_vm(&index, vm);
        let mut ids: BTreeSet<String> = BTreeSet::new();
        let mut add = |id: &str| {
            if !id.is_empty() {
                ids.insert(key(id));
            }
        };
        add(&facts.id);
        if let Some(network) = &facts.network {
            for id in [&network.nic, &network.subnet, &network.vnet] {
                add(id);
            }
            // The facts name the route table; the subnet has its id.
            if let Some(table) = inventory
                .subnets
                .get(&key(&network.subnet))
                .and_then(|s| s.properties.as_ref()?.route_table.as_ref())
                .and_then(|r| r.id.as_deref())
            {
                add(table);
            }
            for id in [&network.nic_nsg, &network.subnet_nsg, &network.route_table]
                .into_iter()
                .flatten()
            {
                add(id);
            }
            for check in &network.private_dns {
                add(&check.private_endpoint_id);
                if let Some(zone) = &check.zone_id {
                    add(zone);
                }
            }
        }
        for disk in facts.disks.iter().flatten() {
            if let Some(id) = &disk.id {
                add(id);
                if let Some(des) = inventory
                    .disks
                    .get(&key(id))
                    .and_then(|d| d.properties.as_ref()?.encryption.as_ref())
                    .and_then(|e| e.disk_encryption_set_id.as_deref())
                {
                    add(des);
                }
            }
        }
        for vault in &facts.encryption.key_vaults {
            add(&vault.id);
        }
        if let Some(item) = &facts.protection.item_id {
            add(item);
            if let Some(policy) = inventory
                .protected_items
                .get(&key(item))
                .and_then(|i| i.properties.policy_id.as_deref())
            {
                add(policy);
            }
        }
        if let Some(vault) = &facts.protection.vault_id {
            add(vault);
        }
        if let Some(locks) = &facts.locks {
            for lock in locks
                .subscription
                .iter()
                .chain(&locks.resource_group)
                .chain(&locks.vm)
                .chain(locks.restore_point_rg.iter().flatten())
            {
                add(&lock.id);
            }
        }
        for denial in facts.policy_denials.iter().flatten() {
            add(&denial.assignment_id);
        }
        for namespace in facts.providers.iter().flat_map(|p| p.keys()) {
            add(&format!(
                "/subscriptions/{}/providers/{namespace}",
                facts.subscription
            ));
        }
        out.insert(key(&facts.id), ids);
    }
    out
}
