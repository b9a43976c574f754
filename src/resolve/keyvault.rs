//! Disk encryption facts: which key vaults the VM's disks depend on (ADE secrets and key
//! encryption keys; disk encryption set keys), whether the Backup Management Service can read
//! what backup needs from them (access policies or RBAC), and whether the keys are usable.

use super::fact_path;
use super::facts::*;
use super::{with_default, Index};
use crate::inventory::id::is_within;
use crate::inventory::model::*;
use crate::inventory::{key, ArmId};
use std::collections::BTreeMap;

/// Data actions an RBAC-mode vault must grant the Backup Management Service (docs/azure-sources.md#encryption-and-key-vault).
const SECRET_DATA_ACTIONS: [&str; 3] = [
    "Microsoft.KeyVault/vaults/secrets/backup/action",
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
];
const KEY_DATA_ACTIONS: [&str; 2] = [
    "Microsoft.KeyVault/vaults/keys/backup/action",
    "Microsoft.KeyVault/vaults/keys/read",
];

/// Built-in roles whose data actions matter here, for snapshots that hold the assignment but not
/// the (tenant-wide) role definition.
const BUILTIN_DATA_ACTIONS: [(&str, &[&str]); 4] = [
    (
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        &["Microsoft.KeyVault/vaults/*"],
    ), // Key Vault Administrator
    (
        "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        &["Microsoft.KeyVault/vaults/keys/*"],
    ), // Key Vault Crypto Officer
    (
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        &["Microsoft.KeyVault/vaults/secrets/*"],
    ), // Key Vault Secrets Officer
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", &[]), // Owner: control plane only
];

/// A key vault the VM depends on and the items it uses there.
#[derive(Default)]
struct Dependency {
    /// The vault's id as the first disk that names it spells it: reports show ids and names
    /// as Azure returned them; only the map's key is folded, for the join.
    id: String,
    role: &'static str,
    /// This vault holds the ADE disk encryption key (BEK secret).
    bek: bool,
    /// This vault holds the key encryption key.
    kek: bool,
    secrets: Vec<String>,
    keys: Vec<String>,
}

pub fn resolve(index: &Index, vm: &VirtualMachine, facts: &mut VmFacts) {
    let (dependencies, problems) = dependencies_of(index, vm);
    for problem in problems {
        facts.mark_unknown(fact_path::ENCRYPTION_KEY_VAULTS, problem);
    }
    let mut vaults = Vec::new();
    for (vault_key, dependency) in &dependencies {
        vaults.push(vault_facts(index, vault_key, dependency, facts));
    }
    facts.encryption.key_vaults = vaults;
}

/// Whether `id` names a key vault (`.../providers/Microsoft.KeyVault/vaults/<name>`), not a
/// key, a managed HSM or another resource: Azure's own examples put other ids in `sourceVault`.
fn is_key_vault_id(id: &str) -> bool {
    let lower = key(id);
    let parts: Vec<&str> = lower.split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "subscriptions", _, "resourcegroups", _, "providers", "microsoft.keyvault", "vaults", name]
            if !name.is_empty()
    )
}

/// The key vaults the VM's disks depend on, by key, and why some dependency cannot be told
/// (a `sourceVault` that is no key vault id, a disk encryption set not in the snapshot).
fn dependencies_of(
    index: &Index,
    vm: &VirtualMachine,
) -> (BTreeMap<String, Dependency>, Vec<String>) {
    let mut found: BTreeMap<String, Dependency> = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    let Some(storage) = vm.properties.storage_profile.as_ref() else {
        return (found, problems);
    };
    let disks = storage
        .os_disk
        .iter()
        .chain(storage.data_disks.iter().flatten());
    let mut cmk: Vec<&KeyRef> = Vec::new();
    let not_a_vault = |id: &str, problems: &mut Vec<String>| {
        let known = is_key_vault_id(id);
        if !known {
            problems.push(format!(
                "the sourceVault `{id}` of a disk's encryption key is not a Microsoft.KeyVault/vaults id"
            ));
        }
        !known
    };
    let mut add_ade =
        |bek: Option<&SecretRef>, kek: Option<&KeyRef>, problems: &mut Vec<String>| {
            let mut vault_of = |vault: &Option<IdRef>| {
                let id = vault.as_ref()?.id.as_deref()?;
                (!not_a_vault(id, problems)).then(|| id.to_string())
            };
            let bek = bek.and_then(|b| Some((vault_of(&b.source_vault)?, b.secret_url.as_deref())));
            let kek = kek.and_then(|k| Some((vault_of(&k.source_vault)?, k.key_url.as_deref())));
            let ade = |id: &str| Dependency {
                id: id.to_string(),
                role: "ade",
                ..Dependency::default()
            };
            if let Some((vault, url)) = bek {
                let entry = found.entry(key(&vault)).or_insert_with(|| ade(&vault));
                entry.bek = true;
                entry.secrets.extend(url.and_then(item_name));
            }
            if let Some((vault, url)) = kek {
                let entry = found.entry(key(&vault)).or_insert_with(|| ade(&vault));
                entry.kek = true;
                entry.keys.extend(url.and_then(item_name));
            }
        };
    for disk in disks {
        if let Some(settings) = disk
            .encryption_settings
            .as_ref()
            .filter(|s| s.enabled == Some(true))
        {
            add_ade(
                settings.disk_encryption_key.as_ref(),
                settings.key_encryption_key.as_ref(),
                &mut problems,
            );
        }
        let resource = disk
            .managed_disk
            .as_ref()
            .and_then(|m| m.id.as_deref())
            .and_then(|id| index.inventory.disks.get(&key(id)));
        let properties = resource.and_then(|r| r.properties.as_ref());
        let collection = properties.and_then(|p| p.encryption_settings_collection.as_ref());
        let settings_read = collection.is_some_and(|c| {
            c.encryption_settings
                .as_ref()
                .is_some_and(|s| !s.is_empty())
        });
        match collection.map(|c| c.enabled) {
            Some(None) => problems.push(format!(
                "disk {} has encryptionSettingsCollection without `enabled`",
                disk.name.as_deref().unwrap_or("(unnamed)")
            )),
            Some(Some(true)) if !settings_read => problems.push(format!(
                "disk {} says Azure Disk Encryption is enabled but lists no encryptionSettings: its key vaults are unknown",
                disk.name.as_deref().unwrap_or("(unnamed)")
            )),
            _ => {}
        }
        if let Some(collection) = collection.filter(|c| c.enabled == Some(true)) {
            for element in collection.encryption_settings.iter().flatten() {
                add_ade(
                    element.disk_encryption_key.as_ref(),
                    element.key_encryption_key.as_ref(),
                    &mut problems,
                );
            }
        }
        let des_id = properties
            .and_then(|p| p.encryption.as_ref())
            .and_then(|e| e.disk_encryption_set_id.clone())
            .or_else(|| {
                disk.managed_disk
                    .as_ref()
                    .and_then(|m| m.disk_encryption_set.as_ref())
                    .and_then(|d| d.id.clone())
            });
        if let Some(id) = des_id {
            match index.inventory.disk_encryption_sets.get(&key(&id)) {
                // A set without an active key names no vault to depend on.
                Some(des) => cmk.extend(des.properties.active_key.as_ref()),
                None => problems.push(format!(
                    "the disk encryption set {id} is not in the snapshot: its key vault is unknown"
                )),
            }
        }
    }
    for active in cmk {
        if let Some(vault) = active.source_vault.as_ref().and_then(|v| v.id.as_deref()) {
            if not_a_vault(vault, &mut problems) {
                continue;
            }
            let entry = found.entry(key(vault)).or_insert_with(|| Dependency {
                id: vault.to_string(),
                role: "cmk",
                ..Dependency::default()
            });
            entry
                .keys
                .extend(active.key_url.as_deref().and_then(item_name));
        }
    }
    for dependency in found.values_mut() {
        dependency.secrets.sort();
        dependency.secrets.dedup();
        dependency.keys.sort();
        dependency.keys.dedup();
    }
    (found, problems)
}

/// `https://kv.vault.azure.net/secrets/<name>/<version>` → `<name>`.
fn item_name(url: &str) -> Option<String> {
    let path = url.split("://").nth(1)?.split_once('/')?.1;
    let mut parts = path.split('/');
    parts.next()?;
    parts.next().filter(|n| !n.is_empty()).map(String::from)
}

fn vault_facts(
    index: &Index,
    vault_key: &str,
    dependency: &Dependency,
    facts: &mut VmFacts,
) -> KeyVaultFacts {
    let name = ArmId::parse(&dependency.id)
        .name
        .unwrap_or_default()
        .to_string();
    let mut out = KeyVaultFacts {
        id: dependency.id.clone(),
        name: name.clone(),
        role: dependency.role.into(),
        kek: dependency.kek,
        ..Default::default()
    };
    let Some(vault) = index.inventory.key_vaults.get(vault_key) else {
        facts.mark_unknown(
            fact_path::ENCRYPTION_KEY_VAULTS,
            format!(
                "key vault {name} is not in the snapshot (another subscription, or not readable)"
            ),
        );
        return out;
    };
    let props = &vault.properties;
    out.id = vault.id.clone();
    out.name = vault.name.clone();
    out.location = vault.location.clone();
    out.rbac = Some(props.enable_rbac_authorization.unwrap_or(false));
    out.soft_delete = Some(props.enable_soft_delete.unwrap_or(true));
    out.purge_protection = Some(props.enable_purge_protection.unwrap_or(false));
    let acls = props.network_acls.as_ref();
    out.firewall_default_action =
        with_default(acls.and_then(|a| a.default_action.clone()), "Allow");
    out.firewall_bypass = with_default(acls.and_then(|a| a.bypass.clone()), "AzureServices");
    // An action ARM does not define (a plan's value known only after apply) may be `Deny`.
    if let Some(action) = out
        .firewall_default_action
        .as_deref()
        .filter(|a| !a.eq_ignore_ascii_case("Allow") && !a.eq_ignore_ascii_case("Deny"))
    {
        facts.mark_unknown(
            fact_path::ENCRYPTION_KEY_VAULTS,
            format!(
                "key vault {}: firewall defaultAction {action:?} is neither Allow nor Deny",
                out.name
            ),
        );
    }
    if dependency.role == "ade" {
        match backup_access(index, vault, dependency) {
            Ok((missing, only_secret_backup)) => {
                out.backup_access = Some(missing.is_empty());
                out.only_secret_backup_missing = Some(only_secret_backup);
                out.missing_permissions = Some(missing);
            }
            Err(reason) => facts.mark_unknown(fact_path::ENCRYPTION_KEY_VAULTS, reason),
        }
    }
    match usable_items(index, vault, dependency) {
        Ok(unusable) => {
            out.keys_usable = Some(unusable.is_empty());
            out.unusable_items = Some(unusable);
        }
        Err(reason) => facts.mark_unknown(fact_path::ENCRYPTION_KEY_VAULTS, reason),
    }
    out
}

/// The permissions the Backup Management Service lacks on `vault`, and whether the only one
/// missing is the ambiguous secrets `backup` right of the BEK+KEK case.
fn backup_access(
    index: &Index,
    vault: &KeyVault,
    dependency: &Dependency,
) -> Result<(Vec<String>, bool), String> {
    let Some(object_id) = index.backup_service_object_id.as_deref() else {
        return Err("the Backup Management Service's object id is unknown: include its Graph service principal in the snapshot or pass --backup-service-object-id".into());
    };
    if vault.properties.enable_rbac_authorization.unwrap_or(false) {
        return rbac_access(index, vault, dependency, object_id).map(|missing| (missing, false));
    }
    let policies = vault.properties.access_policies.as_deref().unwrap_or(&[]);
    let granted = policies.iter().filter(|p| {
        p.object_id
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(object_id))
    });
    let (mut keys, mut secrets) = (Vec::new(), Vec::new());
    for policy in granted {
        keys.extend(
            policy
                .permissions
                .keys
                .iter()
                .flatten()
                .map(|p| p.to_ascii_lowercase()),
        );
        secrets.extend(
            policy
                .permissions
                .secrets
                .iter()
                .flatten()
                .map(|p| p.to_ascii_lowercase()),
        );
    }
    let has = |list: &[String], right: &str| list.iter().any(|p| p == right || p == "all");
    let mut missing = Vec::new();
    if dependency.kek {
        for right in ["get", "list", "backup"] {
            if !has(&keys, right) {
                missing.push(format!("keys/{right}"));
            }
        }
    }
    // The BEK+KEK sample grants secrets get/list only; BEK-only adds backup (reference D12).
    // A vault that holds only the KEK needs no secrets rights.
    if dependency.bek {
        for right in ["get", "list", "backup"] {
            if !has(&secrets, right) {
                missing.push(format!("secrets/{right}"));
            }
        }
    }
    let only_secret_backup = dependency.kek && dependency.bek && missing == ["secrets/backup"];
    if only_secret_backup {
        missing.clear();
    }
    Ok((missing, only_secret_backup))
}

fn rbac_access(
    index: &Index,
    vault: &KeyVault,
    dependency: &Dependency,
    object_id: &str,
) -> Result<Vec<String>, String> {
    let subscription = ArmId::parse(&vault.id).subscription.unwrap_or_default();
    if let Some(gap) = index.inventory.gap_for(
        &crate::inventory::id::subscription_id(subscription),
        "Microsoft.Authorization/roleAssignments",
    ) {
        return Err(format!(
            "role assignments could not be read: {}",
            gap.reason
        ));
    }
    let mut granted: Vec<String> = Vec::new();
    for assignment in index.inventory.role_assignments.values() {
        let props = &assignment.properties;
        if !props
            .principal_id
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(object_id))
        {
            continue;
        }
        let scope = props
            .scope
            .clone()
            .unwrap_or_else(|| assignment_scope(&assignment.id));
        if !is_within(&vault.id, &scope) {
            continue;
        }
        let Some(role) = props.role_definition_id.as_deref() else {
            continue;
        };
        match data_actions(index, role) {
            Some(actions) => granted.extend(actions),
            None => return Err(format!("role definition {role} assigned to the Backup Management Service is not in the snapshot")),
        }
    }
    let secrets: &[&str] = if dependency.bek {
        &SECRET_DATA_ACTIONS
    } else {
        &[]
    };
    let keys: &[&str] = if dependency.kek {
        &KEY_DATA_ACTIONS
    } else {
        &[]
    };
    let needed = secrets.iter().chain(keys);
    Ok(needed
        .filter(|action| !granted.iter().any(|g| action_matches(g, action)))
        .map(|a| a.to_string())
        .collect())
}

fn assignment_scope(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    match lower.find("/providers/microsoft.authorization/roleassignments/") {
        Some(at) => id[..at].to_string(),
        None => String::new(),
    }
}

/// The data actions a role grants (not-data-actions removed), from the snapshot or the built-ins.
fn data_actions(index: &Index, role_definition_id: &str) -> Option<Vec<String>> {
    let guid = role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let definition = index
        .inventory
        .role_definitions
        .get(&key(role_definition_id))
        .or_else(|| {
            index.inventory.role_definitions.values().find(|d| {
                d.id.rsplit('/')
                    .next()
                    .is_some_and(|g| g.eq_ignore_ascii_case(&guid))
            })
        });
    if let Some(definition) = definition {
        let mut actions = Vec::new();
        for permission in &definition.properties.permissions {
            for action in &permission.data_actions {
                // A role that carves the very action out again does not grant it.
                if !permission
                    .not_data_actions
                    .iter()
                    .any(|n| action_matches(n, action))
                {
                    actions.push(action.clone());
                }
            }
        }
        return Some(actions);
    }
    BUILTIN_DATA_ACTIONS
        .iter()
        .find(|(id, _)| *id == guid)
        .map(|(_, actions)| actions.iter().map(|a| a.to_string()).collect())
}

/// Whether a granted action pattern (`*` wildcards, case-insensitive) covers `action`.
fn action_matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == action;
    }
    let mut rest = action.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// The referenced keys and secrets that are missing, disabled or expired.
fn usable_items(
    index: &Index,
    vault: &KeyVault,
    dependency: &Dependency,
) -> Result<Vec<String>, String> {
    let mut unusable = Vec::new();
    let now = index.now.unix_timestamp();
    let mut check = |kind: &str,
                     names: &[String],
                     items: &std::collections::HashMap<String, VaultItem>|
     -> Result<(), String> {
        if names.is_empty() {
            return Ok(());
        }
        let prefix = format!("{}/{kind}/", key(&vault.id));
        let listed = items.keys().any(|k| k.starts_with(&prefix));
        if !listed {
            return Err(format!(
                "the {kind} of key vault {} are not in the snapshot",
                vault.name
            ));
        }
        for name in names {
            match items
                .get(&format!("{prefix}{}", name.to_ascii_lowercase()))
                .and_then(|i| i.properties.attributes.as_ref())
            {
                None => unusable.push(format!("{kind}/{name} (missing)")),
                Some(attributes) if attributes.enabled == Some(false) => {
                    unusable.push(format!("{kind}/{name} (disabled)"))
                }
                Some(attributes) if attributes.exp.is_some_and(|exp| exp < now) => {
                    unusable.push(format!("{kind}/{name} (expired)"))
                }
                Some(_) => {}
            }
        }
        Ok(())
    };
    check("keys", &dependency.keys, &index.inventory.key_vault_keys)?;
    check(
        "secrets",
        &dependency.secrets,
        &index.inventory.key_vault_secrets,
    )?;
    Ok(unusable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_actions() {
        for (pattern, action, matches) in [
            (
                "Microsoft.KeyVault/vaults/*",
                "Microsoft.KeyVault/vaults/secrets/backup/action",
                true,
            ),
            ("*", "Microsoft.KeyVault/vaults/keys/read", true),
            (
                "microsoft.keyvault/vaults/keys/*/action",
                "Microsoft.KeyVault/vaults/keys/backup/action",
                true,
            ),
            (
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                false,
            ),
        ] {
            assert_eq!(
                action_matches(pattern, action),
                matches,
                "{pattern} ~ {action}"
            );
        }
    }

    fn vm_with_source_vaults(vaults: &[&str]) -> VirtualMachine {
        let disk = |vault: &str, lun: usize| {
            serde_json::json!({
                "name": format!("disk{lun}"), "lun": lun,
                "managedDisk": {"id": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/disk{lun}")},
                "encryptionSettings": {"enabled": true, "diskEncryptionKey": {
                    "sourceVault": {"id": vault},
                    "secretUrl": "https://x.vault.azure.net/secrets/bek/1"}}
            })
        };
        let data: Vec<_> = vaults.iter().enumerate().map(|(i, v)| disk(v, i)).collect();
        serde_json::from_value(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
            "name": "vm", "type": "Microsoft.Compute/virtualMachines",
            "properties": {"storageProfile": {"dataDisks": data}}
        }))
        .unwrap()
    }

    #[test]
    fn vault_ids_keep_their_casing_and_other_ids_are_not_vaults() {
        let inventory = crate::inventory::Inventory::default();
        let codes = crate::codes::CodeBook::builtin().unwrap();
        let options = super::super::Options::default();
        let index = Index::new(&inventory, &codes, &options);
        let vault =
            "/subscriptions/s/resourceGroups/RG-Sec/providers/Microsoft.KeyVault/vaults/MyVmVault";
        // Azure's examples carry ids like these in `sourceVault`.
        let key_id =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/keys/k";
        let hsm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/managedHSMs/h";
        let vm = vm_with_source_vaults(&[vault, &vault.to_ascii_lowercase(), key_id, hsm]);
        let mut facts = VmFacts::default();
        resolve(&index, &vm, &mut facts);
        let vaults = &facts.encryption.key_vaults;
        assert_eq!(vaults.len(), 1, "one vault, however its id is cased");
        assert_eq!(vaults[0].id, vault);
        assert_eq!(vaults[0].name, "MyVmVault");
        let reason = facts.unknown[&fact_path::ENCRYPTION_KEY_VAULTS].clone();
        assert!(reason.contains(key_id), "{reason}");
        assert!(!is_key_vault_id(hsm) && !is_key_vault_id(key_id) && is_key_vault_id(vault));
    }

    #[test]
    fn item_names_from_urls() {
        assert_eq!(
            item_name("https://kv.vault.azure.net/secrets/abc/123").as_deref(),
            Some("abc")
        );
        assert_eq!(
            item_name("https://kv.vault.azure.net/keys/kek/").as_deref(),
            Some("kek")
        );
        assert_eq!(item_name("not a url"), None);
    }
}
