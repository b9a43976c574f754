//! Key vaults, their key-encryption keys, and the disk encryption secrets of ADE VMs.

use super::catalogue::{Os, KEK_NAME};
use super::compute::ade_secret;
use super::plan::{Ade, BackupLayout, SubPlan, VmPlan};
use super::random::{guid, stream, stream_rng};
use super::time::{Ts, DAY};
use rand::Rng;
use serde_json::{json, Value};

/// Key vaults: one per region slot (no grant for Backup, used by the ADE faults), plus one that
/// grants Backup where healthy ADE VMs need it.
pub(super) fn key_vault_slots(layout: &BackupLayout) -> Vec<(usize, bool)> {
    let mut slots = vec![(0, false), (1, false)];
    slots.extend(layout.granted_kv_slots.iter().map(|&slot| (slot, true)));
    slots
}

pub(super) fn access_policy(
    tenant: &str,
    object_id: &str,
    keys: &[&str],
    secrets: &[&str],
) -> Value {
    json!({
        "tenantId": tenant,
        "objectId": object_id,
        "permissions": { "keys": keys, "secrets": secrets, "certificates": [], "storage": [] },
    })
}

pub(super) fn key_vaults(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
    let all = ["all"];
    let read = ["get", "list"];
    key_vault_slots(layout)
        .into_iter()
        .map(|(slot, grants_backup)| {
            let mut policies = vec![
                access_policy(&sub.tenant, &sub.admins_group, &all, &all),
                access_policy(&sub.tenant, &sub.automation_sp, &read, &read),
            ];
            if grants_backup {
                // Secrets in portal capitalisation, keys as the CLI writes them: both occur.
                let (keys, secrets) = (["get", "list", "backup"], ["Get", "List", "Backup"]);
                policies.push(access_policy(&sub.tenant, &sub.backup_sp, &keys, &secrets));
            }
            let name = sub.key_vault_name(slot, grants_backup);
            json!({
                "id": sub.key_vault_id(slot, grants_backup),
                "name": name,
                "type": "Microsoft.KeyVault/vaults",
                "location": sub.region(slot).name,
                "tags": {},
                "properties": {
                    "sku": { "family": "A", "name": "standard" },
                    "tenantId": sub.tenant,
                    "accessPolicies": policies,
                    "enabledForDeployment": false,
                    "enabledForDiskEncryption": true,
                    "enabledForTemplateDeployment": false,
                    "enableSoftDelete": true,
                    "softDeleteRetentionInDays": 90,
                    "enableRbacAuthorization": false,
                    "vaultUri": sub.key_vault_uri(slot, grants_backup),
                    "provisioningState": "Succeeded",
                    "publicNetworkAccess": "Enabled",
                    "networkAcls": {
                        "bypass": "AzureServices",
                        "defaultAction": "Allow",
                        "ipRules": [],
                        "virtualNetworkRules": [],
                    },
                },
            })
        })
        .collect()
}

pub(super) fn kv_attributes(rng: &mut impl Rng) -> Value {
    let created = Ts::before_snapshot(rng.gen_range(30 * DAY..600 * DAY)).unix();
    json!({
        "enabled": true,
        "created": created,
        "updated": created,
        "recoveryLevel": "Recoverable+Purgeable",
    })
}

pub(super) fn key_vault_keys(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::KEYS);
    key_vault_slots(layout)
        .into_iter()
        .map(|(slot, grants_backup)| {
            let uri = format!("{}keys/{KEK_NAME}", sub.key_vault_uri(slot, grants_backup));
            let mut attributes = kv_attributes(&mut rng);
            attributes["exportable"] = json!(false);
            json!({
                "id": format!("{}/keys/{KEK_NAME}", sub.key_vault_id(slot, grants_backup)),
                "name": KEK_NAME,
                "type": "Microsoft.KeyVault/vaults/keys",
                "location": sub.region(slot).name,
                "properties": {
                    "attributes": attributes,
                    "kty": "RSA",
                    "keyOps": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                    "keySize": 2048,
                    "keyUri": uri,
                    "keyUriWithVersion": sub.kek_url(slot, grants_backup),
                },
            })
        })
        .collect()
}

pub(super) fn key_vault_secrets(sub: &SubPlan, vm: &VmPlan) -> Vec<Value> {
    let grants_backup = match vm.ade() {
        Ade::None => return Vec::new(),
        ade => ade == Ade::Granted,
    };
    let mut rng = vm.rng(stream::ADE_SECRET);
    let (secret, version) = ade_secret(vm);
    let uri = format!(
        "{}secrets/{secret}",
        sub.key_vault_uri(vm.slot, grants_backup)
    );
    let file = if vm.os == Os::Windows {
        format!("{}.BEK", guid(&mut rng).to_uppercase())
    } else {
        "LinuxPassPhraseFileName".into()
    };
    vec![json!({
        "id": format!("{}/secrets/{secret}", sub.key_vault_id(vm.slot, grants_backup)),
        "name": secret,
        "type": "Microsoft.KeyVault/vaults/secrets",
        "location": sub.region(vm.slot).name,
        "tags": {
            "DiskEncryptionKeyEncryptionAlgorithm": "RSA-OAEP",
            "DiskEncryptionKeyEncryptionKeyURL": sub.kek_url(vm.slot, grants_backup),
            "DiskEncryptionKeyFileName": file,
            "MachineName": vm.computer_name(),
        },
        "properties": {
            "attributes": kv_attributes(&mut rng),
            "contentType": "Wrapped BEK",
            "secretUri": uri,
            "secretUriWithVersion": format!("{uri}/{version}"),
        },
    })]
}
