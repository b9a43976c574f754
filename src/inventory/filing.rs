//! How resources are filed in the inventory: under the case-insensitive key of their id, the
//! last one read winning a duplicate with a warning (the snapshot format's rule), and the special
//! cases the registry's `with(...)` rows name.

use super::model::*;
use super::registry::{Inventory, Refusal};
use super::{key, ArmId};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub(super) trait Insert<T> {
    fn put(&mut self, key: String, value: T) -> Option<T>;
}
impl<T> Insert<T> for HashMap<String, T> {
    fn put(&mut self, key: String, value: T) -> Option<T> {
        self.insert(key, value)
    }
}
impl<T> Insert<T> for BTreeMap<String, T> {
    fn put(&mut self, key: String, value: T) -> Option<T> {
        self.insert(key, value)
    }
}

/// Inserts, keeping the last one read on a duplicate id and saying so.
pub(super) fn insert<T>(
    map: &mut impl Insert<T>,
    warnings: &mut Vec<String>,
    id: String,
    value: T,
    source: &Path,
) {
    if map.put(id.clone(), value).is_some() {
        duplicate(warnings, &id, source);
    }
}

fn duplicate(warnings: &mut Vec<String>, id: &str, source: &Path) {
    let message = format!(
        "duplicate resource id {id}: the copy in {} replaces an earlier one",
        source.display()
    );
    tracing::warn!("{message}");
    warnings.push(message);
}

/// A subscription can arrive twice: as `GET /subscriptions` lists it and as its Resource Graph
/// `resourcecontainers` row (which alone knows its management groups). The two complete each
/// other; only two copies of the same shape are a duplicate.
pub(super) fn file_subscription(inventory: &mut Inventory, sub: Subscription, source: &Path) {
    let id = key(&sub.subscription_id);
    let Some(existing) = inventory.subscriptions.get_mut(&id) else {
        inventory.subscriptions.insert(id, sub);
        return;
    };
    if existing.properties.is_some() == sub.properties.is_some() {
        duplicate(
            &mut inventory.warnings,
            &format!("/subscriptions/{}", sub.subscription_id),
            source,
        );
        *existing = sub;
        return;
    }
    let Subscription {
        display_name,
        state,
        properties,
        ..
    } = sub;
    if properties.is_some() {
        existing.properties = properties;
    } else {
        existing.display_name = display_name.or(existing.display_name.take());
        existing.state = state.or(existing.state.take());
    }
}

fn provider_subscription(provider: &Provider) -> Option<&str> {
    provider
        .id
        .as_deref()
        .and_then(|id| ArmId::parse(id).subscription)
}

pub(super) fn provider_in_subscription(provider: &Provider) -> Result<(), Refusal> {
    match provider_subscription(provider) {
        Some(_) => Ok(()),
        None => Err(Refusal {
            field: "id",
            problem: "a resource provider needs an `id` of the form /subscriptions/{sub}/providers/{namespace}",
            fix: "export providers with GET /subscriptions/{sub}/providers, which includes the id",
        }),
    }
}

/// Providers are filed by subscription, then namespace: registration is per subscription.
pub(super) fn file_provider(inventory: &mut Inventory, provider: Provider, _: &Path) {
    let subscription = provider_subscription(&provider)
        .map(key)
        .unwrap_or_default();
    inventory
        .providers
        .entry(subscription)
        .or_default()
        .insert(key(&provider.namespace), provider);
}

pub(super) fn file_service_principal(inventory: &mut Inventory, sp: ServicePrincipal, _: &Path) {
    inventory.service_principals.push(sp);
}

pub(super) fn file_vm(inventory: &mut Inventory, vm: Box<VirtualMachine>, source: &Path) {
    insert(
        &mut inventory.vms,
        &mut inventory.warnings,
        key(&vm.id),
        *vm,
        source,
    );
}

/// `.../virtualMachines/{vm}/extensions/{name}` → `.../virtualMachines/{vm}`.
fn parent_of_extension(id: &str) -> Option<&str> {
    let lower = id.to_ascii_lowercase();
    let at = lower.rfind("/extensions/")?;
    Some(&id[..at])
}

pub(super) fn extension_under_vm(extension: &VmExtension) -> Result<(), Refusal> {
    match extension.id.as_deref().and_then(parent_of_extension) {
        Some(_) => Ok(()),
        None => Err(Refusal {
            field: "id",
            problem: "a VM extension needs an `id` ending in /virtualMachines/{vm}/extensions/{name}",
            fix: "export extensions with GET .../virtualMachines/{vm}/extensions, which includes the id",
        }),
    }
}

/// Files an extension under its VM; one with the same id as an earlier one replaces it, as any
/// other duplicate resource does.
pub(super) fn file_extension(inventory: &mut Inventory, extension: VmExtension, source: &Path) {
    let vm_key = extension
        .id
        .as_deref()
        .and_then(parent_of_extension)
        .map(key)
        .unwrap_or_default();
    let list = inventory.extensions.entry(vm_key).or_default();
    let id = extension.id.as_deref().map(key);
    match list
        .iter_mut()
        .find(|e| id.is_some() && e.id.as_deref().map(key) == id)
    {
        Some(existing) => {
            duplicate(
                &mut inventory.warnings,
                id.as_deref().unwrap_or_default(),
                source,
            );
            *existing = extension;
        }
        None => list.push(extension),
    }
}

/// A virtual network's subnets are filed on their own as well: NICs reference subnets by id.
pub(super) fn file_vnet(inventory: &mut Inventory, vnet: VirtualNetwork, source: &Path) {
    for subnet in vnet.properties.subnets.iter().flatten() {
        inventory.subnets.insert(key(&subnet.id), subnet.clone());
    }
    insert(
        &mut inventory.vnets,
        &mut inventory.warnings,
        key(&vnet.id),
        vnet,
        source,
    );
}

/// One service tags document covers every region; the last one read is used.
pub(super) fn file_service_tags(inventory: &mut Inventory, tags: ServiceTags, _: &Path) {
    inventory.service_tags = Some(tags);
}

/// Only which VM a collection holds points of matters; one without a source is not filed.
pub(super) fn file_restore_point_collection(
    inventory: &mut Inventory,
    collection: RestorePointCollection,
    _: &Path,
) {
    if let Some(vm) = collection
        .properties
        .source
        .as_ref()
        .and_then(|s| s.id.as_deref())
    {
        inventory
            .restore_point_collections
            .entry(key(vm))
            .or_default()
            .push(collection.id);
    }
}

/// Links what the files do not link explicitly, once every file is read: extensions nested in a
/// VM's `resources` array join the separately listed ones (a separate resource read later wins).
pub fn join_nested_extensions(inventory: &mut Inventory) {
    for vm in inventory.vms.values_mut() {
        if let Some(nested) = vm.resources.take() {
            let list = inventory.extensions.entry(key(&vm.id)).or_default();
            for extension in nested {
                let id = extension.id.as_deref().map(key);
                if id.is_none() || !list.iter().any(|e| e.id.as_deref().map(key) == id) {
                    list.push(extension);
                }
            }
        }
    }
}
