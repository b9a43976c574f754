//! Turns an inventory into per-VM BackupPath facts: every join (VM → disks → key vaults, VM →
//! protected item → policy → vault → jobs, scopes → locks) and every computation a rule should not
//! do. Cross-VM lookups are indexed once in [`Index`], so the per-VM work is proportional to the
//! VM's own resources.

pub mod compute;
pub mod dns;
pub mod fact_path;
pub mod fact_schema;
pub mod facts;
mod gaps;
pub mod keyvault;
pub mod locks;
pub mod network;
pub mod policy;
pub mod policy_rule;
pub mod protection;
pub mod readiness;
pub mod schedule;
mod windows_zones;

use crate::codes::CodeBook;
use crate::inventory::{key, ArmId, Inventory};
use facts::VmFacts;
use std::collections::HashMap;
use time::OffsetDateTime;

/// The Backup Management Service's application id (public cloud).
pub const BACKUP_MANAGEMENT_SERVICE_APP_ID: &str = "262044b1-e2ce-469f-a196-69ab7ada62d3";
/// Its application id in Azure Government.
pub const BACKUP_MANAGEMENT_SERVICE_APP_ID_USGOV: &str = "ff281ffe-705c-4f53-9f37-a40e6f2c68f3";

#[derive(Debug, Clone)]
pub struct Options {
    /// How far back failed jobs count as evidence.
    pub job_window_days: i64,
    /// "Now" for the job window; the snapshot's creation time when it has one.
    pub now: Option<OffsetDateTime>,
    /// The tenant's object id of the Backup Management Service, when Graph was not read.
    pub backup_service_object_id: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            job_window_days: 7,
            now: None,
            backup_service_object_id: None,
        }
    }
}

/// Lookups shared by every VM, built once per inventory.
pub struct Index<'a> {
    pub inventory: &'a Inventory,
    pub codes: &'a CodeBook,
    pub options: &'a Options,
    pub now: OffsetDateTime,
    /// VM key → protected item keys of the VM itself (normally one).
    pub items_by_vm: HashMap<String, Vec<&'a str>>,
    /// Protected items that name no VM (no `virtualMachineId`, `sourceResourceId` or container
    /// naming one): any VM without an item of its own may be the one they protect.
    pub unattributed_items: Vec<&'a str>,
    /// VM key → protected items of workloads inside it (SQL Server, SAP HANA databases).
    pub workload_items_by_vm: HashMap<String, Vec<&'a str>>,
    /// (vault key, container name key) → jobs; and (vault key, friendly name key) as a fallback.
    pub jobs_by_container: HashMap<(String, String), Vec<&'a crate::inventory::model::BackupJob>>,
    pub jobs_by_entity: HashMap<(String, String), Vec<&'a crate::inventory::model::BackupJob>>,
    /// Scope key → locks directly at that scope.
    pub locks_by_scope: HashMap<String, Vec<&'a crate::inventory::model::Lock>>,
    /// Subscription key → resource group names.
    pub resource_groups_by_subscription: HashMap<String, Vec<&'a str>>,
    pub backup_service_object_id: Option<String>,
    /// Parsed NSGs, routes and verdicts shared by the VMs of a subnet.
    pub network: network::NetworkCache<'a>,
    pub policy: policy::PolicyIndex<'a>,
}

impl<'a> Index<'a> {
    pub fn new(inventory: &'a Inventory, codes: &'a CodeBook, options: &'a Options) -> Self {
        let now = options
            .now
            .or_else(|| {
                let created = inventory.manifest.as_ref()?.created.as_deref()?;
                OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).ok()
            })
            .unwrap_or_else(OffsetDateTime::now_utc);

        let mut items_by_vm: HashMap<String, Vec<&str>> = HashMap::new();
        let mut workload_items_by_vm: HashMap<String, Vec<&str>> = HashMap::new();
        let mut unattributed_items: Vec<&str> = Vec::new();
        for (item_key, item) in &inventory.protected_items {
            let vm = if is_vm_item(item) {
                item.properties
                    .virtual_machine_id
                    .clone()
                    .or_else(|| item.properties.source_resource_id.clone())
            } else {
                workload_vm_id(item)
            };
            if let Some(vm) = vm.as_deref() {
                // SQL / SAP HANA databases inside a VM point at it too, but protect the workload,
                // not the VM: they decide network requirements, not the VM's protection.
                let target = if is_vm_item(item) {
                    &mut items_by_vm
                } else {
                    &mut workload_items_by_vm
                };
                target.entry(key(vm)).or_default().push(item_key.as_str());
            } else if is_vm_item(item) {
                // A file share's or a storage account's item names no VM, rightly.
                unattributed_items.push(item.id.as_str());
            }
        }
        unattributed_items.sort_unstable();
        for items in items_by_vm.values_mut() {
            items.sort_unstable();
        }

        let mut jobs_by_container: HashMap<(String, String), Vec<_>> = HashMap::new();
        let mut jobs_by_entity: HashMap<(String, String), Vec<_>> = HashMap::new();
        for job in inventory.backup_jobs.values() {
            let vault = key(protection::vault_of(&job.id));
            if let Some(container) = &job.properties.container_name {
                jobs_by_container
                    .entry((vault.clone(), key(container)))
                    .or_default()
                    .push(job);
            }
            if let Some(entity) = &job.properties.entity_friendly_name {
                jobs_by_entity
                    .entry((vault, key(entity)))
                    .or_default()
                    .push(job);
            }
        }

        let mut locks_by_scope: HashMap<String, Vec<_>> = HashMap::new();
        for lock in inventory.locks.values() {
            locks_by_scope
                .entry(key(lock.scope()))
                .or_default()
                .push(lock);
        }

        let mut resource_groups_by_subscription: HashMap<String, Vec<&str>> = HashMap::new();
        for rg in inventory.resource_groups.values() {
            if let Some(sub) = ArmId::parse(&rg.id).subscription {
                resource_groups_by_subscription
                    .entry(key(sub))
                    .or_default()
                    .push(rg.name.as_str());
            }
        }

        let backup_service_object_id = options.backup_service_object_id.clone().or_else(|| {
            inventory
                .service_principals
                .iter()
                .find(|sp| {
                    sp.app_id
                        .eq_ignore_ascii_case(BACKUP_MANAGEMENT_SERVICE_APP_ID)
                        || sp
                            .app_id
                            .eq_ignore_ascii_case(BACKUP_MANAGEMENT_SERVICE_APP_ID_USGOV)
                })
                .map(|sp| sp.id.clone())
        });

        Index {
            inventory,
            codes,
            options,
            now,
            items_by_vm,
            unattributed_items,
            workload_items_by_vm,
            network: network::NetworkCache::new(inventory),
            policy: policy::PolicyIndex::new(inventory),
            jobs_by_container,
            jobs_by_entity,
            locks_by_scope,
            resource_groups_by_subscription,
            backup_service_object_id,
        }
    }
}

/// Whether a protected item protects a whole VM (not a database inside it).
/// A property Azure documents a default for: the default where the resource leaves it out.
fn with_default(value: Option<String>, default: &str) -> Option<String> {
    Some(value.unwrap_or_else(|| default.to_string()))
}

fn is_vm_item(item: &crate::inventory::model::ProtectedItem) -> bool {
    let props = &item.properties;
    let workload = props
        .workload_type
        .as_deref()
        .map(|w| w.eq_ignore_ascii_case("VM"));
    let kind = props
        .protected_item_type
        .as_deref()
        .map(|t| t.to_ascii_lowercase().ends_with("/virtualmachines"));
    match (kind, workload) {
        (Some(kind), _) => kind,
        (None, Some(workload)) => workload,
        (None, None) => true,
    }
}

/// The VM a workload item (a database) lives in: its `sourceResourceId` when that is a VM id,
/// else the VM named by its container (`VMAppContainer;Compute;<rg>;<vm>`), which Microsoft's
/// own examples need because their `sourceResourceId` points at the container.
fn workload_vm_id(item: &crate::inventory::model::ProtectedItem) -> Option<String> {
    let props = &item.properties;
    let direct = props
        .source_resource_id
        .as_deref()
        .or(props.virtual_machine_id.as_deref());
    if let Some(id) = direct.filter(|id| {
        id.to_ascii_lowercase()
            .contains("/providers/microsoft.compute/virtualmachines/")
    }) {
        return Some(id.to_string());
    }
    let container = props.container_name.as_deref()?;
    let parts: Vec<&str> = container.split(';').collect();
    let [kind, "Compute" | "compute", rg, vm] = parts.as_slice() else {
        return None;
    };
    if !kind.eq_ignore_ascii_case("VMAppContainer") {
        return None;
    }
    let subscription = ArmId::parse(&item.id).subscription?;
    Some(format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"))
}

/// Resolves the facts of every VM, in inventory order.
pub fn resolve_all(index: &Index) -> Vec<VmFacts> {
    index
        .inventory
        .vms
        .values()
        .map(|vm| resolve_vm(index, vm))
        .collect()
}

pub fn resolve_vm(index: &Index, vm: &crate::inventory::model::VirtualMachine) -> VmFacts {
    resolve_vm_for(index, vm, None)
}

/// The facts of `vm`; with a proposal (a readiness check) and a VM known to be unprotected, the
/// proposed protection stands in for the missing one before the facts that depend on the
/// protection (restore-point resource group, locks, the vault's private endpoints) are resolved.
pub fn resolve_vm_for(
    index: &Index,
    vm: &crate::inventory::model::VirtualMachine,
    proposal: Option<&readiness::Proposal>,
) -> VmFacts {
    let id = ArmId::parse(&vm.id);
    let mut facts = VmFacts {
        id: vm.id.clone(),
        name: vm.name.clone(),
        subscription: id.subscription.unwrap_or_default().to_string(),
        resource_group: id.resource_group.unwrap_or_default().to_string(),
        location: vm.location.clone(),
        ..VmFacts::default()
    };
    compute::resolve(index, vm, &mut facts);
    protection::resolve(index, vm, &mut facts);
    if let Some(proposal) = proposal {
        if facts.protection.protected == Some(false) {
            readiness::apply(index, proposal, &mut facts);
        }
    }
    locks::resolve(index, &mut facts);
    policy::resolve(index, &mut facts);
    keyvault::resolve(index, vm, &mut facts);
    network::resolve(index, vm, &mut facts);
    gaps::apply(index, vm, &mut facts);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::ProtectedItem;

    fn item(source: &str, container: &str) -> ProtectedItem {
        serde_json::from_value(serde_json::json!({
            "id": "/subscriptions/s1/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/c/protectedItems/SQLDataBase;mssqlserver;db1",
            "properties": {"protectedItemType": "AzureVmWorkloadSQLDatabase", "workloadType": "SQLDataBase",
                           "sourceResourceId": source, "containerName": container}
        }))
        .unwrap()
    }

    #[test]
    fn workload_items_find_their_vm() {
        let vm = "/subscriptions/s1/resourceGroups/rg-sql/providers/Microsoft.Compute/virtualMachines/sql1";
        assert!(!is_vm_item(&item(vm, "")));
        assert_eq!(workload_vm_id(&item(vm, "")).as_deref(), Some(vm));
        // Microsoft's REST example points sourceResourceId at the container; the container name
        // still names the VM.
        let from_container = workload_vm_id(&item(
            "/subscriptions/s1/resourceGroups/rg-sql/providers/VMAppContainer/sql1",
            "VMAppContainer;Compute;rg-sql;sql1",
        ));
        assert_eq!(from_container.as_deref(), Some(vm));
        assert_eq!(
            workload_vm_id(&item("", "StorageContainer;Storage;rg;acct")),
            None
        );
    }
}
