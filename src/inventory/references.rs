//! References that name a resource the inventory does not hold: a NIC attached to a VM that is
//! not there, a protected item of a vault that was never read. ARM clears such references when
//! the target is deleted, so one that dangles almost always means a list was not read (or not
//! passed), and every fact joined through it is missing without anyone saying so. A scan reports
//! them as warnings and calls itself incomplete.
//!
//! A reference whose target list is a declared gap is not reported: the gap already says it.

use super::model::{KeyRef, SecretRef};
use super::reading::MAX_EXAMPLES;
use super::types::*;
use super::{key, Inventory, Listing, ResourceType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The kinds a reference can name, with where the inventory holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Vm,
    Nic,
    Subnet,
    Disk,
    DiskEncryptionSet,
    KeyVault,
    RecoveryVault,
}

impl Target {
    const ALL: [Target; 7] = [
        Target::Vm,
        Target::Nic,
        Target::Subnet,
        Target::Disk,
        Target::DiskEncryptionSet,
        Target::KeyVault,
        Target::RecoveryVault,
    ];

    fn arm_type(self) -> &'static str {
        match self {
            Target::Vm => VIRTUAL_MACHINES,
            Target::Nic => NETWORK_INTERFACES,
            Target::Subnet => SUBNETS,
            Target::Disk => DISKS,
            Target::DiskEncryptionSet => DISK_ENCRYPTION_SETS,
            Target::KeyVault => KEY_VAULTS,
            Target::RecoveryVault => RECOVERY_VAULTS,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Target::Vm => "virtual machine",
            Target::Nic => "network interface",
            Target::Subnet => "subnet",
            Target::Disk => "managed disk",
            Target::DiskEncryptionSet => "disk encryption set",
            Target::KeyVault => "key vault",
            Target::RecoveryVault => "Recovery Services vault",
        }
    }

    fn held(self, inventory: &Inventory, id: &str) -> bool {
        let id = key(id);
        match self {
            Target::Vm => inventory.vms.contains_key(&id),
            Target::Nic => inventory.nics.contains_key(&id),
            Target::Subnet => inventory.subnets.contains_key(&id),
            Target::Disk => inventory.disks.contains_key(&id),
            Target::DiskEncryptionSet => inventory.disk_encryption_sets.contains_key(&id),
            Target::KeyVault => inventory.key_vaults.contains_key(&id),
            Target::RecoveryVault => inventory.recovery_vaults.contains_key(&id),
        }
    }

    /// The list a gap names when this kind could not be read: embedded kinds arrive in their
    /// parent's list.
    fn listed_as(self) -> &'static str {
        match ResourceType::of_type(self.arm_type()).map(|t| t.listing) {
            Some(Listing::Embedded { parent }) => parent,
            _ => self.arm_type(),
        }
    }
}

/// The references to one kind that name resources the inventory does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dangling {
    /// The ARM type of the resources named but missing.
    pub missing_type: String,
    /// How many distinct ids of that type are named but missing.
    pub missing: usize,
    /// How many references name them (a resource naming the same id in two fields counts twice).
    pub references: usize,
    /// Where the references were found, as `<referrer ARM type> <field>`.
    pub fields: Vec<String>,
    /// The first references, ordered by referrer id.
    pub examples: Vec<DanglingReference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DanglingReference {
    pub referrer: String,
    pub field: String,
    pub missing: String,
}

impl Dangling {
    /// The kind in words, for messages (derived from the type, so a stored report reads the same).
    pub fn label(&self) -> &'static str {
        Target::ALL
            .iter()
            .find(|t| t.arm_type() == self.missing_type)
            .map_or("resource", |t| t.label())
    }

    /// One line for the report's reasons: how many are missing, named from where.
    pub fn summary(&self) -> String {
        format!(
            "{} {}(s) named by {} reference(s) are not in the input ({}): their list was probably not read",
            self.missing,
            self.label(),
            self.references,
            self.fields.join(", ")
        )
    }

    /// One warning per example: the referrer and the missing id.
    pub fn warnings(&self) -> impl Iterator<Item = String> + '_ {
        self.examples.iter().map(|example| {
            format!(
                "{} names {} {} in `{}`, which is not in the input",
                example.referrer,
                self.label(),
                example.missing,
                example.field
            )
        })
    }
}

/// One reference found: which kind it names, from where.
struct Found<'a> {
    target: Target,
    referrer_type: &'static str,
    field: &'static str,
    referrer: &'a str,
    id: &'a str,
}

/// Every dangling reference of `inventory`, by the kind it names, in the order of [`Target`].
pub fn dangling(inventory: &Inventory) -> Vec<Dangling> {
    let mut found = Vec::new();
    references(inventory, &mut found);
    let mut by_target: BTreeMap<Target, Vec<Found>> = BTreeMap::new();
    for reference in found {
        let names_the_kind = type_of(reference.id)
            .is_some_and(|t| t.eq_ignore_ascii_case(reference.target.arm_type()));
        if names_the_kind
            && !reference.target.held(inventory, reference.id)
            && inventory
                .gap_for(reference.id, reference.target.listed_as())
                .is_none()
        {
            by_target
                .entry(reference.target)
                .or_default()
                .push(reference);
        }
    }
    by_target
        .into_iter()
        .map(|(target, mut references)| {
            references.sort_by(|a, b| {
                (key(a.referrer), a.field, key(a.id)).cmp(&(key(b.referrer), b.field, key(b.id)))
            });
            references.dedup_by(|a, b| {
                a.field == b.field && key(a.referrer) == key(b.referrer) && key(a.id) == key(b.id)
            });
            let missing: BTreeSet<String> = references.iter().map(|r| key(r.id)).collect();
            let fields: BTreeSet<String> = references
                .iter()
                .map(|r| format!("{} {}", r.referrer_type, r.field))
                .collect();
            Dangling {
                missing_type: target.arm_type().to_string(),
                missing: missing.len(),
                references: references.len(),
                fields: fields.into_iter().collect(),
                examples: references
                    .iter()
                    .take(MAX_EXAMPLES)
                    .map(|r| DanglingReference {
                        referrer: r.referrer.to_string(),
                        field: r.field.to_string(),
                        missing: r.id.to_string(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The references the resolvers join through, from every resource that holds one.
fn references<'a>(inventory: &'a Inventory, out: &mut Vec<Found<'a>>) {
    let mut add = |target, referrer_type, field, referrer: &'a str, id: Option<&'a str>| {
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            out.push(Found {
                target,
                referrer_type,
                field,
                referrer,
                id,
            });
        }
    };
    for vm in inventory.vms.values() {
        let properties = &vm.properties;
        let nics = properties
            .network_profile
            .iter()
            .flat_map(|p| p.network_interfaces.iter().flatten());
        for nic in nics {
            let field = "properties.networkProfile.networkInterfaces[].id";
            add(
                Target::Nic,
                VIRTUAL_MACHINES,
                field,
                &vm.id,
                nic.id.as_deref(),
            );
        }
        let storage = properties.storage_profile.as_ref();
        let os_disk = storage.and_then(|s| s.os_disk.as_ref());
        let os_disk_id = os_disk.and_then(|d| d.managed_disk.as_ref()?.id.as_deref());
        let field = "properties.storageProfile.osDisk.managedDisk.id";
        add(Target::Disk, VIRTUAL_MACHINES, field, &vm.id, os_disk_id);
        for disk in storage.iter().flat_map(|s| s.data_disks.iter().flatten()) {
            let id = disk.managed_disk.as_ref().and_then(|m| m.id.as_deref());
            let field = "properties.storageProfile.dataDisks[].managedDisk.id";
            add(Target::Disk, VIRTUAL_MACHINES, field, &vm.id, id);
        }
        if let Some(settings) = os_disk.and_then(|d| d.encryption_settings.as_ref()) {
            let vaults = ade_vaults(
                settings.disk_encryption_key.as_ref(),
                settings.key_encryption_key.as_ref(),
            );
            for (field, vault) in VM_ADE_FIELDS.into_iter().zip(vaults) {
                add(Target::KeyVault, VIRTUAL_MACHINES, field, &vm.id, vault);
            }
        }
    }
    for nic in inventory.nics.values() {
        let properties = &nic.properties;
        let vm = properties
            .virtual_machine
            .as_ref()
            .and_then(|r| r.id.as_deref());
        let field = "properties.virtualMachine.id";
        add(Target::Vm, NETWORK_INTERFACES, field, &nic.id, vm);
        for configuration in properties.ip_configurations.iter().flatten() {
            let subnet = configuration
                .properties
                .as_ref()
                .and_then(|p| p.subnet.as_ref()?.id.as_deref());
            let field = "properties.ipConfigurations[].properties.subnet.id";
            add(Target::Subnet, NETWORK_INTERFACES, field, &nic.id, subnet);
        }
    }
    for disk in inventory.disks.values() {
        let managed_by = disk.managed_by.as_deref();
        add(Target::Vm, DISKS, "managedBy", &disk.id, managed_by);
        let properties = disk.properties.as_ref();
        let set = properties
            .and_then(|p| p.encryption.as_ref())
            .and_then(|e| e.disk_encryption_set_id.as_deref());
        let field = "properties.encryption.diskEncryptionSetId";
        add(Target::DiskEncryptionSet, DISKS, field, &disk.id, set);
        let settings = properties
            .and_then(|p| p.encryption_settings_collection.as_ref())
            .into_iter()
            .flat_map(|c| c.encryption_settings.iter().flatten());
        for element in settings {
            let vaults = ade_vaults(
                element.disk_encryption_key.as_ref(),
                element.key_encryption_key.as_ref(),
            );
            for (field, vault) in DISK_ADE_FIELDS.into_iter().zip(vaults) {
                add(Target::KeyVault, DISKS, field, &disk.id, vault);
            }
        }
    }
    for set in inventory.disk_encryption_sets.values() {
        let key = set.properties.active_key.as_ref();
        let vault = key.and_then(|k| k.source_vault.as_ref()?.id.as_deref());
        let field = "properties.activeKey.sourceVault.id";
        add(
            Target::KeyVault,
            DISK_ENCRYPTION_SETS,
            field,
            &set.id,
            vault,
        );
    }
    for item in inventory.protected_items.values() {
        let properties = &item.properties;
        // Azure Backup keeps the recovery points of a VM that was deleted after its protection
        // was stopped with "retain data": such an item names a VM that rightly no longer exists.
        let retained = properties
            .protection_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("ProtectionStopped"));
        if !retained {
            let source = properties.source_resource_id.as_deref();
            let field = "properties.sourceResourceId";
            add(Target::Vm, PROTECTED_ITEMS, field, &item.id, source);
            let vm = properties.virtual_machine_id.as_deref();
            let field = "properties.virtualMachineId";
            add(Target::Vm, PROTECTED_ITEMS, field, &item.id, vm);
        }
    }
    let vault_children = inventory
        .protected_items
        .values()
        .map(|i| (PROTECTED_ITEMS, i.id.as_str()))
        .chain(
            inventory
                .backup_policies
                .values()
                .map(|p| (BACKUP_POLICIES, p.id.as_str())),
        )
        .chain(
            inventory
                .backup_jobs
                .values()
                .map(|j| (BACKUP_JOBS, j.id.as_str())),
        );
    for (referrer_type, id) in vault_children {
        let vault = top_resource(id);
        add(Target::RecoveryVault, referrer_type, "id", id, vault);
    }
}

/// Where a VM's and a disk's Azure Disk Encryption settings name their key vaults: the secret's,
/// then the key encryption key's, in the order [`ade_vaults`] returns them.
const VM_ADE_FIELDS: [&str; 2] = [
    "properties.storageProfile.osDisk.encryptionSettings.diskEncryptionKey.sourceVault.id",
    "properties.storageProfile.osDisk.encryptionSettings.keyEncryptionKey.sourceVault.id",
];
const DISK_ADE_FIELDS: [&str; 2] = [
    "properties.encryptionSettingsCollection.encryptionSettings[].diskEncryptionKey.sourceVault.id",
    "properties.encryptionSettingsCollection.encryptionSettings[].keyEncryptionKey.sourceVault.id",
];

/// The key vaults of one Azure Disk Encryption setting: the secret's and the key's.
fn ade_vaults<'a>(secret: Option<&'a SecretRef>, kek: Option<&'a KeyRef>) -> [Option<&'a str>; 2] {
    [
        secret.and_then(|k| k.source_vault.as_ref()?.id.as_deref()),
        kek.and_then(|k| k.source_vault.as_ref()?.id.as_deref()),
    ]
}

/// The segments of an id after its last `providers` segment: the namespace, then type/name
/// pairs.
fn provider_segments(id: &str) -> Option<Vec<&str>> {
    let segments: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let at = segments
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    let rest = segments[at + 1..].to_vec();
    (rest.len() >= 3 && rest.len() % 2 == 1).then_some(rest)
}

/// The ARM type an id names: `Microsoft.Compute/virtualMachines` for a VM's id, the types of
/// every level for a child (`Microsoft.Network/virtualNetworks/subnets`).
fn type_of(id: &str) -> Option<String> {
    let rest = provider_segments(id)?;
    let types: Vec<&str> = rest[1..].iter().step_by(2).copied().collect();
    Some(format!("{}/{}", rest[0], types.join("/")))
}

/// The id of the top-level resource a child id sits under (a vault for its protected items).
fn top_resource(id: &str) -> Option<&str> {
    let start = id.to_ascii_lowercase().find("/providers/")? + "/providers/".len();
    let mut parts = id[start..].splitn(4, '/');
    let (namespace, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
    if namespace.is_empty() || kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(&id[..start + namespace.len() + kind.len() + name.len() + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_type_and_their_top_resource() {
        let item = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1/backupFabrics/Azure/protectionContainers/c/protectedItems/p";
        assert_eq!(type_of(item).as_deref(), Some(PROTECTED_ITEMS));
        assert_eq!(
            top_resource(item),
            Some(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1"
            )
        );
        let vault =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1";
        assert_eq!(top_resource(vault), Some(vault));
        assert_eq!(type_of(vault).as_deref(), Some(RECOVERY_VAULTS));
        let subnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/n/subnets/a";
        assert_eq!(type_of(subnet).as_deref(), Some(SUBNETS));
        // A uniform scale set's instance is no `virtualMachines` resource.
        let instance = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/0";
        assert_eq!(
            type_of(instance).as_deref(),
            Some("Microsoft.Compute/virtualMachineScaleSets/virtualMachines")
        );
        for broken in [
            "",
            "/subscriptions/s",
            "/subscriptions/s/providers/Microsoft.Compute/virtualMachines",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute",
        ] {
            assert_eq!(type_of(broken), None, "{broken}");
            assert_eq!(top_resource(broken), None, "{broken}");
        }
    }

    use crate::inventory::model::{Gap, Manifest};
    use crate::inventory::registry::{Decoder, Refusal, Resource};
    use serde_json::{json, Value};
    use std::path::Path;

    struct Plain;
    impl Decoder for Plain {
        type Error = String;
        fn decode<T: serde::de::DeserializeOwned>(&self, value: Value) -> Result<T, String> {
            serde_json::from_value(value).map_err(|e| e.to_string())
        }
        fn refuse(&self, refusal: Refusal) -> String {
            refusal.problem.to_string()
        }
    }

    const RG: &str = "/subscriptions/s/resourceGroups/rg/providers";

    fn inventory(resources: &[Value]) -> Inventory {
        let mut inventory = Inventory::default();
        for value in resources {
            let kind = ResourceType::of_type(value["type"].as_str().unwrap())
                .unwrap()
                .kind;
            Resource::decode(kind, value.clone(), &Plain)
                .unwrap()
                .file(&mut inventory, Path::new("t.json"));
        }
        inventory
    }

    fn vm(name: &str, nic: &str) -> Value {
        json!({"id": format!("{RG}/Microsoft.Compute/virtualMachines/{name}"), "name": name,
               "type": VIRTUAL_MACHINES,
               "properties": {"networkProfile": {"networkInterfaces": [{"id": format!("{RG}/Microsoft.Network/networkInterfaces/{nic}")}]}}})
    }

    fn nic(name: &str, vm: &str) -> Value {
        json!({"id": format!("{RG}/Microsoft.Network/networkInterfaces/{name}"), "name": name,
               "type": NETWORK_INTERFACES,
               "properties": {"virtualMachine": {"id": format!("{RG}/Microsoft.Compute/virtualMachines/{vm}")}}})
    }

    fn item(name: &str, vm: &str, state: &str) -> Value {
        let vm = format!("{RG}/Microsoft.Compute/virtualMachines/{vm}");
        json!({"id": format!("{RG}/Microsoft.RecoveryServices/vaults/v1/backupFabrics/Azure/protectionContainers/c/protectedItems/{name}"),
               "name": name, "type": PROTECTED_ITEMS,
               "properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": vm, "virtualMachineId": vm, "protectionState": state}})
    }

    #[test]
    fn a_joined_pair_is_silent_and_each_missing_side_is_named() {
        assert_eq!(
            dangling(&inventory(&[vm("a", "a-nic"), nic("a-nic", "a")])),
            []
        );
        let missing_vm = dangling(&inventory(&[nic("a-nic", "A")]));
        assert_eq!(missing_vm.len(), 1);
        assert_eq!(missing_vm[0].missing_type, VIRTUAL_MACHINES);
        assert_eq!((missing_vm[0].missing, missing_vm[0].references), (1, 1));
        let warning: Vec<String> = missing_vm[0].warnings().collect();
        assert!(
            warning[0].contains("networkInterfaces/a-nic names virtual machine"),
            "{warning:?}"
        );
        assert!(
            warning[0].ends_with(
                "virtualMachines/A in `properties.virtualMachine.id`, which is not in the input"
            ),
            "{warning:?}"
        );
        let missing_nic = dangling(&inventory(&[vm("a", "a-nic")]));
        assert_eq!(missing_nic[0].missing_type, NETWORK_INTERFACES);
    }

    #[test]
    fn counts_are_by_distinct_id_and_examples_are_bounded() {
        // Ten NICs name five VMs, none of them read; each protected item names its VM twice.
        let mut resources: Vec<Value> = (0..10)
            .map(|i| nic(&format!("n{i}"), &format!("vm{}", i / 2)))
            .collect();
        resources.push(item("p", "vm0", "Protected"));
        let found = dangling(&inventory(&resources));
        assert_eq!(found.len(), 2, "the vault is missing as well: {found:?}");
        let vms = &found[0];
        assert_eq!(vms.missing_type, VIRTUAL_MACHINES);
        assert_eq!((vms.missing, vms.references), (5, 12));
        assert_eq!(vms.examples.len(), MAX_EXAMPLES);
        assert_eq!(vms.fields.len(), 3, "{:?}", vms.fields);
        assert_eq!(found[1].missing_type, RECOVERY_VAULTS);
        assert!(
            found[1]
                .summary()
                .starts_with("1 Recovery Services vault(s) named by 1 reference(s)"),
            "{}",
            found[1].summary()
        );
    }

    #[test]
    fn gaps_stopped_protection_and_ids_of_other_types_are_not_dangling() {
        let vault = json!({"id": format!("{RG}/Microsoft.RecoveryServices/vaults/v1"), "name": "v1", "type": RECOVERY_VAULTS});
        // Backup keeps the points of a deleted VM whose protection was stopped with data retained.
        assert_eq!(
            dangling(&inventory(&[
                vault.clone(),
                item("p", "gone", "ProtectionStopped")
            ])),
            []
        );
        assert_eq!(
            dangling(&inventory(&[vault.clone(), item("p", "gone", "Protected")])).len(),
            1
        );
        // A NIC of a scale set's instance names no `virtualMachines` resource.
        let mut scale_set_nic = nic("n", "x");
        scale_set_nic["properties"]["virtualMachine"]["id"] = json!(format!(
            "{RG}/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/0"
        ));
        assert_eq!(dangling(&inventory(&[scale_set_nic])), []);
        // A declared gap on the list already says the VMs could not be read.
        let mut gapped = inventory(&[nic("n", "x")]);
        gapped.manifest = Some(Manifest {
            schema: "backup-doctor/snapshot/v1".into(),
            created: None,
            tenant_id: None,
            cloud: None,
            gaps: vec![Gap {
                scope: "/subscriptions/S".into(),
                what: VIRTUAL_MACHINES.to_ascii_lowercase(),
                reason: "AuthorizationFailed".into(),
            }],
        });
        assert_eq!(dangling(&gapped), []);
    }
}
