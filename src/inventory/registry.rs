//! The one registry of resource kinds: every kind backup-doctor reads is one row of the
//! `resource_types!` table below, and everything that must agree about the kinds is generated
//! from that row, so it cannot drift:
//!
//! - [`Kind`], one variant per row, and [`RESOURCE_TYPES`], one [`ResourceType`] descriptor per
//!   row in the same order ([`Kind::descriptor`] indexes it);
//! - the [`Inventory`] struct: the row's map field is declared there, with its doc comment;
//! - [`Resource`], a typed resource of a kind, with [`Resource::decode`] (the typed parse; a row
//!   may name a check that refuses a resource which parsed but cannot be filed) and
//!   [`Resource::file`] (filing into the row's map: `by_id` inserts under the case-insensitive
//!   key of the resource's `id` and warns on a duplicate, `with(f)` hands it to a filer in
//!   the filers at the end of this file for the special cases);
//! - [`ResourceType::of_type`], the classification of a `type` field, and [`TYPELESS`], the
//!   shapes that identify objects which carry no `type`.
//!
//! The descriptor is what code outside the loader builds on: the live collector lists a kind as
//! its [`Listing`] says and names its gaps by `arm_type`, the Terraform and what-if mappings write
//! ARM JSON with that `type`, and a test can check what a mapping covers against
//! [`RESOURCE_TYPES`].
//!
//! Adding a resource type: a row here (and its constant in `inventory::types`), its model struct
//! in its family's section of `inventory/model.rs`, and the collector's or Terraform mapping's family
//! file that produces it.

use super::model::*;
use super::types::*;
use super::{key, ArmId};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// How the live collector obtains a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Once for the whole run: the subscriptions list, the service tags document, the Microsoft
    /// Graph service principals.
    Tenant,
    /// One list call per subscription (`GET /subscriptions/{s}/providers/{arm_type}`).
    PerSubscription,
    /// One list call under each resource of the `parent` type (a vault's protected items, a key
    /// vault's keys, a DNS zone's links).
    Child { parent: &'static str },
    /// Not listed: arrives inside the objects of the `parent` type (a virtual network's subnets).
    Embedded { parent: &'static str },
    /// One Resource Graph query for all subscriptions (ARM has no list wider than one parent).
    ResourceGraph,
    /// One GET per id that other resources reference (policy definitions: the built-ins number
    /// in the thousands, so they are never listed).
    Referenced,
    /// Resource Graph's change history of the resources failing findings name, read after the
    /// rules ran (`live::collect::changes`); never part of the collection of resources.
    ChangeHistory,
}

/// What code outside the loader needs to know about a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    pub kind: Kind,
    /// The ARM type as the REST specs spell it (compare case-insensitively); `None` for objects
    /// that are no ARM resource (Microsoft Graph service principals).
    pub arm_type: Option<&'static str>,
    /// The [`Inventory`] field the kind is filed in.
    pub map: &'static str,
    pub listing: Listing,
}

impl ResourceType {
    /// The kind whose ARM type is `arm_type`, compared case-insensitively as ARM does.
    pub fn of_type(arm_type: &str) -> Option<&'static ResourceType> {
        RESOURCE_TYPES.iter().find(|descriptor| {
            descriptor
                .arm_type
                .is_some_and(|name| name.eq_ignore_ascii_case(arm_type))
        })
    }
}

impl Kind {
    pub fn descriptor(self) -> &'static ResourceType {
        &RESOURCE_TYPES[self as usize]
    }
}

/// The one vocabulary of a manifest gap's `what`: the ARM type of every kind read, as the REST
/// specs spell it (compared case-insensitively), and the few lists that are no ARM type. The
/// collector names its gaps and its files by these; a gap under another name would hide nothing
/// from the resolvers, so it is refused rather than ignored.
pub fn gap_names() -> impl Iterator<Item = &'static str> {
    RESOURCE_TYPES
        .iter()
        .filter_map(|d| d.arm_type)
        .chain(LISTS_BEYOND_TYPES.iter().copied())
}

/// The first gap of `manifest` whose `what` is not in [`gap_names`], with its index.
pub fn unknown_gap(manifest: &Manifest) -> Option<(usize, &Gap)> {
    manifest
        .gaps
        .iter()
        .enumerate()
        .find(|(_, gap)| !gap_names().any(|name| name.eq_ignore_ascii_case(&gap.what)))
}

/// A type-less object recognised by its fields: it has every field of `has` and none of `lacks`.
pub struct Shape {
    pub has: &'static [&'static str],
    pub lacks: &'static [&'static str],
    pub kind: Kind,
}

/// The objects that come without a `type`, first match wins: subscriptions as `GET
/// /subscriptions` lists them (a Resource Graph row of one has `properties`), provider
/// registrations, Graph service principals.
pub const TYPELESS: &[Shape] = &[
    Shape {
        has: &["subscriptionId"],
        lacks: &["properties"],
        kind: Kind::Subscription,
    },
    Shape {
        has: &["namespace", "registrationState"],
        lacks: &[],
        kind: Kind::Provider,
    },
    Shape {
        has: &["appId"],
        lacks: &[],
        kind: Kind::ServicePrincipal,
    },
];

impl Shape {
    pub fn recognise(object: &Map<String, Value>) -> Option<Kind> {
        TYPELESS
            .iter()
            .find(|shape| {
                shape.has.iter().all(|field| object.contains_key(*field))
                    && !shape.lacks.iter().any(|field| object.contains_key(*field))
            })
            .map(|shape| shape.kind)
    }
}

/// Why a resource that parsed cannot be filed: the field at fault, what is wrong, what to do.
#[derive(Debug)]
pub struct Refusal {
    pub field: &'static str,
    pub problem: &'static str,
    pub fix: &'static str,
}

/// Deserialises a model from JSON; the snapshot loader's implementation places errors in the
/// file being read.
pub trait Decoder {
    type Error;
    fn decode<T: DeserializeOwned>(&self, value: Value) -> Result<T, Self::Error>;
    fn refuse(&self, refusal: Refusal) -> Self::Error;
}

macro_rules! resource_types {
    (@file by_id, $inventory:ident, $map:ident, $model:ident, $source:ident) => {
        insert(&mut $inventory.$map, &mut $inventory.warnings, key(&$model.id), $model, $source)
    };
    (@file with($filer:path), $inventory:ident, $map:ident, $model:ident, $source:ident) => {
        $filer($inventory, $model, $source)
    };
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident: $arm_type:expr, $model:ty $(, check $check:path)?
            => $map:ident: $map_type:ty, $filing:ident $(($filer:path))?, $listing:expr;
    )*) => {
        /// What a resource is, decided from its `type` or, for type-less objects, its fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind { $($kind,)* }

        /// One descriptor per [`Kind`], in the order of its variants.
        pub const RESOURCE_TYPES: &[ResourceType] = &[$(
            ResourceType {
                kind: Kind::$kind,
                arm_type: $arm_type,
                map: stringify!($map),
                listing: { use Listing::*; $listing },
            },
        )*];

        /// Everything read, one map per kind. Maps are keyed by [`super::key`], so joins are
        /// case-insensitive.
        #[derive(Debug, Default)]
        pub struct Inventory {
            pub manifest: Option<Manifest>,
            $($(#[doc = $doc])* pub $map: $map_type,)*
            /// Non-fatal observations made while reading (duplicate ids and the like).
            pub warnings: Vec<String>,
            /// How many objects were read, and those skipped, by reason.
            pub reading: super::reading::Reading,
        }

        /// A resource of a recognised kind, typed.
        pub enum Resource { $($kind($model),)* }

        impl Resource {
            pub fn decode<D: Decoder>(kind: Kind, value: Value, decoder: &D) -> Result<Resource, D::Error> {
                Ok(match kind {$(
                    Kind::$kind => {
                        let model: $model = decoder.decode(value)?;
                        $($check(&model).map_err(|refusal| decoder.refuse(refusal))?;)?
                        Resource::$kind(model)
                    }
                )*})
            }

            /// Files the resource in its map; `source` names the file in a duplicate's warning.
            pub fn file(self, inventory: &mut Inventory, source: &Path) {
                match self {$(
                    Resource::$kind(model) => resource_types!(@file $filing $(($filer))?, inventory, $map, model, source),
                )*}
            }
        }
    };
}

// One row per kind:
//   Kind: ARM type, model [, check refusal_fn] => Inventory field: its type, filing, listing;
// The VM model is boxed: it is by far the largest, and a file holds thousands of resources until
// they are filed.
resource_types! {
    Subscription: Some(SUBSCRIPTIONS), Subscription => subscriptions: BTreeMap<String, Subscription>, with(file_subscription), Tenant;
    ResourceGroup: Some(RESOURCE_GROUPS), ResourceGroup => resource_groups: HashMap<String, ResourceGroup>, by_id, PerSubscription;
    /// Provider registrations, keyed by subscription key, then namespace key.
    Provider: Some(PROVIDERS), Provider, check provider_in_subscription => providers: HashMap<String, HashMap<String, Provider>>, with(file_provider), PerSubscription;
    ServicePrincipal: None, ServicePrincipal => service_principals: Vec<ServicePrincipal>, with(file_service_principal), Tenant;
    /// Ordered by id so reports are stable.
    VirtualMachine: Some(VIRTUAL_MACHINES), Box<VirtualMachine> => vms: BTreeMap<String, VirtualMachine>, with(file_vm), PerSubscription;
    /// Extension resources keyed by the key of the VM they belong to.
    VmExtension: Some(VM_EXTENSIONS), VmExtension, check extension_under_vm => extensions: HashMap<String, Vec<VmExtension>>, with(file_extension), ResourceGraph;
    Disk: Some(DISKS), Disk => disks: HashMap<String, Disk>, by_id, PerSubscription;
    DiskEncryptionSet: Some(DISK_ENCRYPTION_SETS), DiskEncryptionSet => disk_encryption_sets: HashMap<String, DiskEncryptionSet>, by_id, PerSubscription;
    Nic: Some(NETWORK_INTERFACES), NetworkInterface => nics: HashMap<String, NetworkInterface>, by_id, PerSubscription;
    Vnet: Some(VIRTUAL_NETWORKS), VirtualNetwork => vnets: HashMap<String, VirtualNetwork>, with(file_vnet), PerSubscription;
    /// Subnets flattened out of their virtual networks, keyed by subnet id.
    Subnet: Some(SUBNETS), Subnet => subnets: HashMap<String, Subnet>, by_id, Embedded { parent: VIRTUAL_NETWORKS };
    Nsg: Some(NETWORK_SECURITY_GROUPS), NetworkSecurityGroup => nsgs: HashMap<String, NetworkSecurityGroup>, by_id, PerSubscription;
    RouteTable: Some(ROUTE_TABLES), RouteTable => route_tables: HashMap<String, RouteTable>, by_id, PerSubscription;
    PrivateEndpoint: Some(PRIVATE_ENDPOINTS), PrivateEndpoint => private_endpoints: HashMap<String, PrivateEndpoint>, by_id, PerSubscription;
    PrivateDnsZone: Some(PRIVATE_DNS_ZONES), GenericResource => private_dns_zones: HashMap<String, GenericResource>, by_id, PerSubscription;
    PrivateDnsLink: Some(PRIVATE_DNS_LINKS), GenericResource => private_dns_links: HashMap<String, GenericResource>, by_id, Child { parent: PRIVATE_DNS_ZONES };
    PrivateDnsARecord: Some(PRIVATE_DNS_A_RECORDS), GenericResource => private_dns_a_records: HashMap<String, GenericResource>, by_id, Child { parent: PRIVATE_DNS_ZONES };
    ServiceTags: Some(SERVICE_TAGS), ServiceTags => service_tags: Option<ServiceTags>, with(file_service_tags), Tenant;
    Lock: Some(LOCKS), Lock => locks: HashMap<String, Lock>, by_id, PerSubscription;
    PolicyAssignment: Some(POLICY_ASSIGNMENTS), PolicyAssignment => policy_assignments: HashMap<String, PolicyAssignment>, by_id, PerSubscription;
    PolicyDefinition: Some(POLICY_DEFINITIONS), PolicyDefinition => policy_definitions: HashMap<String, PolicyDefinition>, by_id, Referenced;
    PolicySetDefinition: Some(POLICY_SET_DEFINITIONS), PolicySetDefinition => policy_set_definitions: HashMap<String, PolicySetDefinition>, by_id, Referenced;
    PolicyExemption: Some(POLICY_EXEMPTIONS), PolicyExemption => policy_exemptions: HashMap<String, PolicyExemption>, by_id, PerSubscription;
    /// Restore point collection ids keyed by the key of the VM they hold points of.
    RestorePointCollection: Some(RESTORE_POINT_COLLECTIONS), RestorePointCollection => restore_point_collections: HashMap<String, Vec<String>>, with(file_restore_point_collection), PerSubscription;
    RoleAssignment: Some(ROLE_ASSIGNMENTS), RoleAssignment => role_assignments: HashMap<String, RoleAssignment>, by_id, PerSubscription;
    RoleDefinition: Some(ROLE_DEFINITIONS), RoleDefinition => role_definitions: HashMap<String, RoleDefinition>, by_id, PerSubscription;
    KeyVault: Some(KEY_VAULTS), KeyVault => key_vaults: HashMap<String, KeyVault>, by_id, PerSubscription;
    KeyVaultKey: Some(KEY_VAULT_KEYS), VaultItem => key_vault_keys: HashMap<String, VaultItem>, by_id, Child { parent: KEY_VAULTS };
    KeyVaultSecret: Some(KEY_VAULT_SECRETS), VaultItem => key_vault_secrets: HashMap<String, VaultItem>, by_id, Child { parent: KEY_VAULTS };
    RecoveryVault: Some(RECOVERY_VAULTS), RecoveryVault => recovery_vaults: HashMap<String, RecoveryVault>, by_id, PerSubscription;
    BackupPolicy: Some(BACKUP_POLICIES), BackupPolicy => backup_policies: HashMap<String, BackupPolicy>, by_id, Child { parent: RECOVERY_VAULTS };
    ProtectedItem: Some(PROTECTED_ITEMS), ProtectedItem => protected_items: HashMap<String, ProtectedItem>, by_id, Child { parent: RECOVERY_VAULTS };
    BackupJob: Some(BACKUP_JOBS), BackupJob => backup_jobs: HashMap<String, BackupJob>, by_id, Child { parent: RECOVERY_VAULTS };
    /// Resource Graph change records, keyed by the change's id; they explain findings, no
    /// resolver reads them.
    ResourceChange: Some(RESOURCE_CHANGES), ResourceChange => resource_changes: HashMap<String, ResourceChange>, by_id, ChangeHistory;
}

// How resources are filed: under the case-insensitive key of their id, the last one read winning
// a duplicate with a warning (the snapshot format's rule), and the special cases the table's
// `with(...)` rows name.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_follow_the_kinds_and_name_each_type_once() {
        for (index, descriptor) in RESOURCE_TYPES.iter().enumerate() {
            assert_eq!(descriptor.kind as usize, index);
            assert_eq!(descriptor.kind.descriptor(), descriptor);
            if let Some(name) = descriptor.arm_type {
                let lower = name.to_ascii_lowercase();
                assert_eq!(ResourceType::of_type(&lower), Some(descriptor), "{name}");
            }
        }
    }

    #[test]
    fn children_name_a_registered_parent() {
        for descriptor in RESOURCE_TYPES {
            if let Listing::Child { parent } | Listing::Embedded { parent } = descriptor.listing {
                let parent = ResourceType::of_type(parent).expect("registered parent");
                assert_eq!(
                    parent.listing,
                    Listing::PerSubscription,
                    "{:?}",
                    descriptor.kind
                );
            }
        }
    }

    #[test]
    fn typeless_objects_are_recognised_by_their_fields() {
        let shape = |text: &str| {
            let Value::Object(object) = serde_json::from_str(text).unwrap() else {
                unreachable!()
            };
            Shape::recognise(&object)
        };
        assert_eq!(
            shape(r#"{"subscriptionId": "s"}"#),
            Some(Kind::Subscription)
        );
        assert_eq!(shape(r#"{"subscriptionId": "s", "properties": {}}"#), None);
        assert_eq!(
            shape(r#"{"namespace": "n", "registrationState": "Registered"}"#),
            Some(Kind::Provider)
        );
        assert_eq!(shape(r#"{"appId": "a"}"#), Some(Kind::ServicePrincipal));
    }
}
