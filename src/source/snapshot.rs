//! Reads a snapshot (DESIGN §3): a file or a directory tree of `.json` files holding ARM
//! resources exactly as Azure Resource Manager returns them, as single objects, arrays, or list
//! responses. Resources are recognised by `type`; the few type-less objects (subscriptions,
//! provider registrations, Graph service principals) by their distinctive fields.
//!
//! Files are parsed in parallel (parsing is most of a scan's time), then added to the inventory
//! one file at a time in path order, so "the last one read wins" means the same on every run.

use super::change::kind_of;
use crate::error::InputError;
use crate::inventory::model::*;
use crate::inventory::{key, ArmId, Inventory};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub const MANIFEST_SCHEMA: &str = "backup-doctor/snapshot/v1";

/// Loads every `.json` file under `path` (or `path` itself) into an inventory.
pub fn load(path: &Path) -> Result<Inventory, InputError> {
    load_layers(&[path.to_path_buf()])
}

/// Loads several snapshots in order into one inventory; a resource in a later one replaces the
/// resource with the same id in an earlier one, so a small file can amend a whole snapshot.
pub fn load_layers(paths: &[PathBuf]) -> Result<Inventory, InputError> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(json_files(path)?);
    }
    let parsed = parse_in_parallel(&files);
    let mut inventory = Inventory::default();
    for (file, resources) in files.iter().zip(parsed) {
        for resource in resources? {
            add(&mut inventory, resource, file)?;
        }
    }
    finish(&mut inventory);
    Ok(inventory)
}

/// Loads files already in memory (a live collection), exactly as if read from disk in this order.
pub fn load_files(files: &[(PathBuf, Vec<u8>)]) -> Result<Inventory, InputError> {
    let mut inventory = Inventory::default();
    for (file, bytes) in files {
        for resource in parse_bytes(file, bytes)? {
            add(&mut inventory, resource, file)?;
        }
    }
    finish(&mut inventory);
    Ok(inventory)
}

/// Adds the resources of one file's contents to `inventory`.
pub fn load_bytes(inventory: &mut Inventory, file: &Path, bytes: &[u8]) -> Result<(), InputError> {
    for resource in parse_bytes(file, bytes)? {
        add(inventory, resource, file)?;
    }
    Ok(())
}

/// Reads and parses every file on all cores; results come back in `files` order.
fn parse_in_parallel(files: &[PathBuf]) -> Vec<Parsed> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Parsed>>> = Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(index) else { break };
                let parsed = read(file).and_then(|bytes| parse_bytes(file, &bytes));
                results
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())[index] = Some(parsed);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .map(|r| r.expect("every file index is taken by exactly one worker"))
        .collect()
}

pub(crate) fn read(file: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(file).map_err(|e| {
        InputError::new(
            file,
            None,
            format!("cannot read the file: {e}"),
            "check that the file exists and is readable",
        )
    })
}

/// Parses one file into typed resources, without touching any inventory.
fn parse_bytes(file: &Path, bytes: &[u8]) -> Parsed {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| {
        InputError::new(
            file,
            Some(format!("line {}, column {}", e.line(), e.column())),
            format!("not valid JSON: {e}"),
            "a snapshot file must hold one ARM resource, an array of them, or an ARM list response {\"value\": [...]}; re-export or repair the file",
        )
    })?;
    let mut out = Vec::new();
    match document {
        Value::Array(items) => parse_items(file, "", items, &mut out)?,
        Value::Object(mut object) => {
            if object.get("schema").and_then(Value::as_str) == Some(MANIFEST_SCHEMA) {
                out.push(Resource::Manifest(typed(file, "", Value::Object(object))?));
                return Ok(out);
            }
            let is_list = !object.contains_key("type");
            match object.remove("value") {
                Some(Value::Array(items)) if is_list => {
                    parse_items(file, "value", items, &mut out)?
                }
                Some(other) if is_list => return Err(InputError::new(
                    file,
                    Some("value".into()),
                    format!(
                        "expected an array of resources in `value`, found {}",
                        kind_of(&other)
                    ),
                    "an ARM list response is {\"value\": [ ...resources... ], \"nextLink\": ...}",
                )),
                restored => {
                    if let Some(value) = restored {
                        object.insert("value".into(), value);
                    }
                    out.extend(parse_resource(file, String::new(), Value::Object(object))?);
                }
            }
        }
        other => return Err(InputError::new(
            file,
            None,
            format!(
                "expected a JSON object or array at the top level, found {}",
                kind_of(&other)
            ),
            "a snapshot file must hold one ARM resource, an array of them, or an ARM list response",
        )),
    }
    Ok(out)
}

fn parse_items(
    file: &Path,
    prefix: &str,
    items: Vec<Value>,
    out: &mut Vec<Resource>,
) -> Result<(), InputError> {
    out.reserve(items.len());
    for (index, item) in items.into_iter().enumerate() {
        out.extend(parse_resource(file, format!("{prefix}[{index}]"), item)?);
    }
    Ok(())
}

/// What one file parses into.
type Parsed = Result<Vec<Resource>, InputError>;

/// A resource of a recognised kind, typed. The large kinds are boxed: a file holds thousands of
/// resources until they are filed.
enum Resource {
    Manifest(Manifest),
    Subscription(Subscription),
    Provider(Provider),
    ServicePrincipal(ServicePrincipal),
    ResourceGroup(ResourceGroup),
    VirtualMachine(Box<VirtualMachine>),
    /// An extension and the id of its VM.
    VmExtension(String, VmExtension),
    Disk(Disk),
    DiskEncryptionSet(DiskEncryptionSet),
    Nic(NetworkInterface),
    Vnet(VirtualNetwork),
    Subnet(Subnet),
    Nsg(NetworkSecurityGroup),
    RouteTable(RouteTable),
    PrivateEndpoint(PrivateEndpoint),
    PrivateDnsZone(GenericResource),
    PrivateDnsLink(GenericResource),
    PrivateDnsARecord(GenericResource),
    ServiceTags(ServiceTags),
    Lock(Lock),
    PolicyAssignment(PolicyAssignment),
    PolicyDefinition(PolicyDefinition),
    PolicySetDefinition(PolicySetDefinition),
    PolicyExemption(PolicyExemption),
    RestorePointCollection(RestorePointCollection),
    RoleAssignment(RoleAssignment),
    RoleDefinition(RoleDefinition),
    KeyVault(KeyVault),
    KeyVaultKey(VaultItem),
    KeyVaultSecret(VaultItem),
    RecoveryVault(RecoveryVault),
    BackupPolicy(BackupPolicy),
    ProtectedItem(ProtectedItem),
    BackupJob(BackupJob),
}

/// What a resource is, decided from its `type` or, for type-less objects, its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Subscription,
    Provider,
    ServicePrincipal,
    ResourceGroup,
    VirtualMachine,
    VmExtension,
    Disk,
    DiskEncryptionSet,
    Nic,
    Vnet,
    Subnet,
    Nsg,
    RouteTable,
    PrivateEndpoint,
    PrivateDnsZone,
    PrivateDnsLink,
    PrivateDnsARecord,
    ServiceTags,
    Lock,
    PolicyAssignment,
    PolicyDefinition,
    PolicySetDefinition,
    PolicyExemption,
    RestorePointCollection,
    RoleAssignment,
    RoleDefinition,
    KeyVault,
    KeyVaultKey,
    KeyVaultSecret,
    RecoveryVault,
    BackupPolicy,
    ProtectedItem,
    BackupJob,
}

const KINDS_BY_TYPE: &[(&str, Kind)] = &[
    ("microsoft.resources/subscriptions", Kind::Subscription),
    ("microsoft.resources/resourcegroups", Kind::ResourceGroup),
    ("microsoft.resources/providers", Kind::Provider),
    ("microsoft.compute/virtualmachines", Kind::VirtualMachine),
    (
        "microsoft.compute/virtualmachines/extensions",
        Kind::VmExtension,
    ),
    ("microsoft.compute/disks", Kind::Disk),
    (
        "microsoft.compute/diskencryptionsets",
        Kind::DiskEncryptionSet,
    ),
    ("microsoft.network/networkinterfaces", Kind::Nic),
    ("microsoft.network/virtualnetworks", Kind::Vnet),
    ("microsoft.network/virtualnetworks/subnets", Kind::Subnet),
    ("microsoft.network/networksecuritygroups", Kind::Nsg),
    ("microsoft.network/routetables", Kind::RouteTable),
    ("microsoft.network/privateendpoints", Kind::PrivateEndpoint),
    ("microsoft.network/privatednszones", Kind::PrivateDnsZone),
    (
        "microsoft.network/privatednszones/virtualnetworklinks",
        Kind::PrivateDnsLink,
    ),
    (
        "microsoft.network/privatednszones/a",
        Kind::PrivateDnsARecord,
    ),
    ("microsoft.network/servicetags", Kind::ServiceTags),
    ("microsoft.authorization/locks", Kind::Lock),
    (
        "microsoft.authorization/policyassignments",
        Kind::PolicyAssignment,
    ),
    (
        "microsoft.authorization/policydefinitions",
        Kind::PolicyDefinition,
    ),
    (
        "microsoft.authorization/policysetdefinitions",
        Kind::PolicySetDefinition,
    ),
    (
        "microsoft.authorization/policyexemptions",
        Kind::PolicyExemption,
    ),
    (
        "microsoft.compute/restorepointcollections",
        Kind::RestorePointCollection,
    ),
    (
        "microsoft.authorization/roleassignments",
        Kind::RoleAssignment,
    ),
    (
        "microsoft.authorization/roledefinitions",
        Kind::RoleDefinition,
    ),
    ("microsoft.keyvault/vaults", Kind::KeyVault),
    ("microsoft.keyvault/vaults/keys", Kind::KeyVaultKey),
    ("microsoft.keyvault/vaults/secrets", Kind::KeyVaultSecret),
    ("microsoft.recoveryservices/vaults", Kind::RecoveryVault),
    (
        "microsoft.recoveryservices/vaults/backuppolicies",
        Kind::BackupPolicy,
    ),
    (
        "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems",
        Kind::ProtectedItem,
    ),
    (
        "microsoft.recoveryservices/vaults/backupjobs",
        Kind::BackupJob,
    ),
];

fn classify(
    file: &Path,
    place: &str,
    object: &serde_json::Map<String, Value>,
) -> Result<Option<Kind>, InputError> {
    match object.get("type") {
        Some(Value::String(kind)) => Ok(KINDS_BY_TYPE
            .iter()
            .find(|(name, _)| kind.eq_ignore_ascii_case(name))
            .map(|(_, kind)| *kind)),
        Some(other) => Err(InputError::new(
            file,
            Some(join(place, "type")),
            format!(
                "`type` must be a string such as \"Microsoft.Compute/virtualMachines\", found {}",
                kind_of(other)
            ),
            "fix the resource's `type` field",
        )),
        None if object.contains_key("subscriptionId") && !object.contains_key("properties") => {
            Ok(Some(Kind::Subscription))
        }
        None if object.contains_key("namespace") && object.contains_key("registrationState") => {
            Ok(Some(Kind::Provider))
        }
        None if object.contains_key("appId") => Ok(Some(Kind::ServicePrincipal)),
        None => Ok(None),
    }
}

fn parse_resource(
    file: &Path,
    place: String,
    value: Value,
) -> Result<Option<Resource>, InputError> {
    let Value::Object(object) = &value else {
        return Err(InputError::new(
            file,
            Some(if place.is_empty() {
                "top level".into()
            } else {
                place
            }),
            format!("expected an ARM resource object, found {}", kind_of(&value)),
            "each item of a snapshot list must be a JSON object",
        ));
    };
    let Some(kind) = classify(file, &place, object)? else {
        tracing::debug!(file = %file.display(), place, "skipping an object of an unrecognised type");
        return Ok(None);
    };
    let place = place.as_str();
    Ok(Some(match kind {
        Kind::Subscription => Resource::Subscription(typed(file, place, value)?),
        Kind::Provider => {
            let provider: Provider = typed(file, place, value)?;
            if provider
                .id
                .as_deref()
                .and_then(|id| ArmId::parse(id).subscription)
                .is_none()
            {
                return Err(InputError::new(
                    file,
                    Some(join(place, "id")),
                    "a resource provider needs an `id` of the form /subscriptions/{sub}/providers/{namespace}",
                    "export providers with GET /subscriptions/{sub}/providers, which includes the id",
                ));
            }
            Resource::Provider(provider)
        }
        Kind::ServicePrincipal => Resource::ServicePrincipal(typed(file, place, value)?),
        Kind::ResourceGroup => Resource::ResourceGroup(typed(file, place, value)?),
        Kind::VirtualMachine => Resource::VirtualMachine(Box::new(typed(file, place, value)?)),
        Kind::VmExtension => {
            let extension: VmExtension = typed(file, place, value)?;
            let Some(vm_id) = extension
                .id
                .as_deref()
                .and_then(parent_of_extension)
                .map(String::from)
            else {
                return Err(InputError::new(
                    file,
                    Some(join(place, "id")),
                    "a VM extension needs an `id` ending in /virtualMachines/{vm}/extensions/{name}",
                    "export extensions with GET .../virtualMachines/{vm}/extensions, which includes the id",
                ));
            };
            Resource::VmExtension(vm_id, extension)
        }
        Kind::Disk => Resource::Disk(typed(file, place, value)?),
        Kind::DiskEncryptionSet => Resource::DiskEncryptionSet(typed(file, place, value)?),
        Kind::Nic => Resource::Nic(typed(file, place, value)?),
        Kind::Vnet => Resource::Vnet(typed(file, place, value)?),
        Kind::Subnet => Resource::Subnet(typed(file, place, value)?),
        Kind::Nsg => Resource::Nsg(typed(file, place, value)?),
        Kind::RouteTable => Resource::RouteTable(typed(file, place, value)?),
        Kind::PrivateEndpoint => Resource::PrivateEndpoint(typed(file, place, value)?),
        Kind::PrivateDnsZone => Resource::PrivateDnsZone(typed(file, place, value)?),
        Kind::PrivateDnsLink => Resource::PrivateDnsLink(typed(file, place, value)?),
        Kind::PrivateDnsARecord => Resource::PrivateDnsARecord(typed(file, place, value)?),
        Kind::ServiceTags => Resource::ServiceTags(typed(file, place, value)?),
        Kind::Lock => Resource::Lock(typed(file, place, value)?),
        Kind::PolicyAssignment => Resource::PolicyAssignment(typed(file, place, value)?),
        Kind::PolicyDefinition => Resource::PolicyDefinition(typed(file, place, value)?),
        Kind::PolicySetDefinition => Resource::PolicySetDefinition(typed(file, place, value)?),
        Kind::PolicyExemption => Resource::PolicyExemption(typed(file, place, value)?),
        Kind::RestorePointCollection => {
            Resource::RestorePointCollection(typed(file, place, value)?)
        }
        Kind::RoleAssignment => Resource::RoleAssignment(typed(file, place, value)?),
        Kind::RoleDefinition => Resource::RoleDefinition(typed(file, place, value)?),
        Kind::KeyVault => Resource::KeyVault(typed(file, place, value)?),
        Kind::KeyVaultKey => Resource::KeyVaultKey(typed(file, place, value)?),
        Kind::KeyVaultSecret => Resource::KeyVaultSecret(typed(file, place, value)?),
        Kind::RecoveryVault => Resource::RecoveryVault(typed(file, place, value)?),
        Kind::BackupPolicy => Resource::BackupPolicy(typed(file, place, value)?),
        Kind::ProtectedItem => Resource::ProtectedItem(typed(file, place, value)?),
        Kind::BackupJob => Resource::BackupJob(typed(file, place, value)?),
    }))
}

/// Files a parsed resource in the inventory.
fn add(inventory: &mut Inventory, resource: Resource, file: &Path) -> Result<(), InputError> {
    let warnings = &mut inventory.warnings;
    match resource {
        Resource::Manifest(manifest) => inventory.manifest = Some(manifest),
        Resource::Subscription(sub) => add_subscription(inventory, sub, file),
        Resource::Provider(provider) => {
            let subscription = provider
                .id
                .as_deref()
                .and_then(|id| ArmId::parse(id).subscription)
                .map(key)
                .unwrap_or_default();
            inventory
                .providers
                .entry(subscription)
                .or_default()
                .insert(key(&provider.namespace), provider);
        }
        Resource::ServicePrincipal(sp) => inventory.service_principals.push(sp),
        Resource::ResourceGroup(rg) => insert(
            &mut inventory.resource_groups,
            warnings,
            key(&rg.id),
            rg,
            file,
        ),
        Resource::VirtualMachine(vm) => {
            insert(&mut inventory.vms, warnings, key(&vm.id), *vm, file)
        }
        Resource::VmExtension(vm_id, extension) => add_extension(
            &mut inventory.extensions,
            warnings,
            key(&vm_id),
            extension,
            file,
        ),
        Resource::Disk(r) => insert(&mut inventory.disks, warnings, key(&r.id), r, file),
        Resource::DiskEncryptionSet(r) => insert(
            &mut inventory.disk_encryption_sets,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::Nic(r) => insert(&mut inventory.nics, warnings, key(&r.id), r, file),
        Resource::Vnet(vnet) => {
            for subnet in vnet.properties.subnets.iter().flatten() {
                inventory.subnets.insert(key(&subnet.id), subnet.clone());
            }
            insert(&mut inventory.vnets, warnings, key(&vnet.id), vnet, file);
        }
        Resource::Subnet(r) => insert(&mut inventory.subnets, warnings, key(&r.id), r, file),
        Resource::Nsg(r) => insert(&mut inventory.nsgs, warnings, key(&r.id), r, file),
        Resource::RouteTable(r) => {
            insert(&mut inventory.route_tables, warnings, key(&r.id), r, file)
        }
        Resource::PrivateEndpoint(r) => insert(
            &mut inventory.private_endpoints,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::PrivateDnsZone(r) => insert(
            &mut inventory.private_dns_zones,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::PrivateDnsLink(r) => insert(
            &mut inventory.private_dns_links,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::PrivateDnsARecord(r) => insert(
            &mut inventory.private_dns_a_records,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::ServiceTags(tags) => inventory.service_tags = Some(tags),
        Resource::Lock(r) => insert(&mut inventory.locks, warnings, key(&r.id), r, file),
        Resource::PolicyAssignment(r) => insert(
            &mut inventory.policy_assignments,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::PolicyDefinition(r) => insert(
            &mut inventory.policy_definitions,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::PolicySetDefinition(r) => insert(
            &mut inventory.policy_set_definitions,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::PolicyExemption(r) => insert(
            &mut inventory.policy_exemptions,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::RestorePointCollection(r) => {
            if let Some(vm) = r.properties.source.as_ref().and_then(|s| s.id.as_deref()) {
                inventory
                    .restore_point_collections
                    .entry(key(vm))
                    .or_default()
                    .push(r.id);
            }
        }
        Resource::RoleAssignment(r) => insert(
            &mut inventory.role_assignments,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::RoleDefinition(r) => insert(
            &mut inventory.role_definitions,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::KeyVault(r) => insert(&mut inventory.key_vaults, warnings, key(&r.id), r, file),
        Resource::KeyVaultKey(r) => {
            insert(&mut inventory.key_vault_keys, warnings, key(&r.id), r, file)
        }
        Resource::KeyVaultSecret(r) => insert(
            &mut inventory.key_vault_secrets,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::RecoveryVault(r) => insert(
            &mut inventory.recovery_vaults,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::BackupPolicy(r) => insert(
            &mut inventory.backup_policies,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::ProtectedItem(r) => insert(
            &mut inventory.protected_items,
            warnings,
            key(&r.id),
            r,
            file,
        ),
        Resource::BackupJob(r) => insert(&mut inventory.backup_jobs, warnings, key(&r.id), r, file),
    }
    Ok(())
}

/// A subscription can arrive twice: as `GET /subscriptions` lists it and as its Resource Graph
/// `resourcecontainers` row (which alone knows its management groups). The two complete each
/// other; only two copies of the same shape are a duplicate.
fn add_subscription(inventory: &mut Inventory, sub: Subscription, file: &Path) {
    let id = key(&sub.subscription_id);
    let Some(existing) = inventory.subscriptions.get_mut(&id) else {
        inventory.subscriptions.insert(id, sub);
        return;
    };
    if existing.properties.is_some() == sub.properties.is_some() {
        duplicate(
            &mut inventory.warnings,
            &format!("/subscriptions/{}", sub.subscription_id),
            file,
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

trait Insert<T> {
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

/// Inserts, keeping the last one read on a duplicate id (DESIGN §3) and saying so.
fn insert<T>(
    map: &mut impl Insert<T>,
    warnings: &mut Vec<String>,
    id: String,
    value: T,
    file: &Path,
) {
    if map.put(id.clone(), value).is_some() {
        duplicate(warnings, &id, file);
    }
}

fn duplicate(warnings: &mut Vec<String>, id: &str, file: &Path) {
    let message = format!(
        "duplicate resource id {id}: the copy in {} replaces an earlier one",
        file.display()
    );
    tracing::warn!("{message}");
    warnings.push(message);
}

fn typed<T: DeserializeOwned>(file: &Path, place: &str, value: Value) -> Result<T, InputError> {
    // Path tracking costs on every field, so it runs only to explain a failure.
    if let Ok(resource) = T::deserialize(&value) {
        return Ok(resource);
    }
    serde_path_to_error::deserialize(&value).map_err(|error| {
        let inner = error.path().to_string();
        let at = if inner == "." { place.to_string() } else { join(place, &inner) };
        InputError::new(
            file,
            Some(if at.is_empty() { "top level".into() } else { at }),
            error.inner().to_string(),
            "give the field the JSON type ARM returns (see the ARM REST reference for this resource type), or remove it",
        )
    })
}

/// `.../virtualMachines/{vm}/extensions/{name}` → `.../virtualMachines/{vm}`.
fn parent_of_extension(id: &str) -> Option<&str> {
    let lower = id.to_ascii_lowercase();
    let at = lower.rfind("/extensions/")?;
    Some(&id[..at])
}

/// Files an extension under its VM; one with the same id as an earlier one replaces it, as any
/// other duplicate resource does.
fn add_extension(
    extensions: &mut HashMap<String, Vec<VmExtension>>,
    warnings: &mut Vec<String>,
    vm_key: String,
    extension: VmExtension,
    file: &Path,
) {
    let list = extensions.entry(vm_key).or_default();
    let id = extension.id.as_deref().map(key);
    match list
        .iter_mut()
        .find(|e| id.is_some() && e.id.as_deref().map(key) == id)
    {
        Some(existing) => {
            duplicate(warnings, id.as_deref().unwrap_or_default(), file);
            *existing = extension;
        }
        None => list.push(extension),
    }
}

/// Links what the files do not link explicitly, once every file is read: extensions nested in a
/// VM's `resources` array join the separately listed ones (a separate resource read later wins).
fn finish(inventory: &mut Inventory) {
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

pub(crate) fn json_files(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    let metadata = std::fs::metadata(path).map_err(|e| {
        InputError::new(
            path,
            None,
            format!("cannot open the snapshot: {e}"),
            "pass --snapshot a file or directory of ARM JSON (for example fixtures/fleets/demo)",
        )
    })?;
    if metadata.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            InputError::new(
                &dir,
                None,
                format!("cannot list the directory: {e}"),
                "check its permissions",
            )
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                InputError::new(
                    &dir,
                    None,
                    format!("cannot list the directory: {e}"),
                    "check its permissions",
                )
            })?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| {
                InputError::new(
                    &path,
                    None,
                    format!("cannot stat: {e}"),
                    "check its permissions",
                )
            })?;
            if file_type.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
            {
                files.push(path);
            }
        }
    }
    // Sorted so "the last one read wins" means the same thing on every machine.
    files.sort();
    if files.is_empty() {
        return Err(InputError::new(path, None, "the snapshot directory holds no .json files", "point --snapshot at a directory written by `backup-doctor collect` or holding ARM JSON exports"));
    }
    Ok(files)
}

fn join(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.starts_with('[')) {
        (true, _) => field.to_string(),
        (false, true) => format!("{prefix}{field}"),
        (false, false) => format!("{prefix}.{field}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(inventory: &mut Inventory, text: &str) -> Result<(), InputError> {
        load_bytes(inventory, Path::new("test.json"), text.as_bytes())
    }

    #[test]
    fn recognises_typeless_objects_and_the_manifest() {
        let mut inventory = Inventory::default();
        load_str(&mut inventory, r#"{"schema": "backup-doctor/snapshot/v1", "created": "2026-11-24T06:00:00Z", "gaps": [{"scope": "/subscriptions/s", "what": "Microsoft.Authorization/locks", "reason": "AuthorizationFailed"}]}"#).unwrap();
        load_str(&mut inventory, r#"{"value": [{"id": "/subscriptions/S1", "subscriptionId": "S1", "displayName": "prod"}]}"#).unwrap();
        load_str(&mut inventory, r#"[{"id": "/subscriptions/s1/providers/Microsoft.Compute", "namespace": "Microsoft.Compute", "registrationState": "Registered"}]"#).unwrap();
        load_str(&mut inventory, r#"{"@odata.context": "x", "value": [{"id": "oid", "appId": "262044b1-e2ce-469f-a196-69ab7ada62d3"}]}"#).unwrap();
        assert!(inventory.subscriptions.contains_key("s1"));
        assert!(inventory.providers["s1"].contains_key("microsoft.compute"));
        assert_eq!(inventory.service_principals.len(), 1);
        assert!(inventory
            .gap_for(
                "/subscriptions/s/resourceGroups/rg",
                "microsoft.authorization/locks"
            )
            .is_some());
    }

    #[test]
    fn nested_extensions_join_the_vm_and_duplicates_warn() {
        let vm = r#"{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "name": "vm1",
            "type": "Microsoft.Compute/virtualMachines",
            "resources": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/VMSnapshot",
                           "properties": {"publisher": "Microsoft.Azure.RecoveryServices", "type": "VMSnapshot"}}]}"#;
        let mut inventory = Inventory::default();
        load_str(&mut inventory, vm).unwrap();
        load_str(
            &mut inventory,
            &vm.replace("/vm1\", \"name\"", "/VM1\", \"name\""),
        )
        .unwrap();
        finish(&mut inventory);
        assert_eq!(inventory.vms.len(), 1);
        assert_eq!(inventory.warnings.len(), 1, "{:?}", inventory.warnings);
        assert_eq!(inventory.extensions["/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"].len(), 1);
    }

    #[test]
    fn unknown_types_are_skipped_and_bad_shapes_are_errors() {
        let mut inventory = Inventory::default();
        load_str(
            &mut inventory,
            r#"[{"id": "/x", "type": "Microsoft.Web/sites"}]"#,
        )
        .unwrap();
        let error = load_str(&mut inventory, r#"{"value": 3}"#).unwrap_err();
        assert_eq!(error.place.as_deref(), Some("value"));
        let error = load_str(&mut inventory, "[1]").unwrap_err();
        assert_eq!(error.place.as_deref(), Some("[0]"));
    }
}
