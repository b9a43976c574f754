//! Compute: what a table cannot say of virtual machines (the Linux and Windows resources and the
//! legacy `azurerm_virtual_machine`), extensions, managed disks, data disk attachments and disk
//! encryption sets.

use super::attrs::Attrs;
use super::fields::{self, field, Field, Kind::*};
use super::mapping::{Mapped, Planned, Resource};
use crate::error::InputError;
use crate::source::change::{Action, Edit};
use serde_json::{json, Map as Object, Value};

/// What differs between the Linux and the Windows VM resources.
struct Os {
    os_type: &'static str,
    provision_agent: Field,
}

const LINUX: Os = Os {
    os_type: "Linux",
    provision_agent: field(
        "provision_vm_agent",
        "properties.osProfile.linuxConfiguration.provisionVMAgent",
        Bool,
    ),
};

const WINDOWS: Os = Os {
    os_type: "Windows",
    provision_agent: field(
        "provision_vm_agent",
        "properties.osProfile.windowsConfiguration.provisionVMAgent",
        Bool,
    ),
};

pub(super) fn linux_vm(planned: &Planned, vm: &mut Resource) -> Result<(), InputError> {
    fill_vm(planned, vm, &LINUX)
}

pub(super) fn windows_vm(planned: &Planned, vm: &mut Resource) -> Result<(), InputError> {
    fill_vm(planned, vm, &WINDOWS)
}

/// The agent's provisioning and the OS disk (whose OS type the resource type says), the NICs
/// and the security type of a VM.
fn fill_vm(planned: &Planned, vm: &mut Resource, os: &Os) -> Result<(), InputError> {
    let a = planned.attrs;
    fields::copy(a, std::slice::from_ref(&os.provision_agent), &mut vm.object)?;
    let os_disk = a.block("os_disk")?;
    let storage = fields::object_at(&mut vm.object, "properties.storageProfile");
    if let Some(disk) = &os_disk {
        let template = json!({ "osType": os.os_type, "managedDisk": {} });
        storage.insert("osDisk".into(), fields::build(disk, template, OS_DISK)?);
    }
    // These VM resources cannot hold data disks inline: attachments (merged later) add them.
    if planned.action != Action::Update {
        storage.insert("dataDisks".into(), json!([]));
    }
    network_profile(a, vm)?;
    let trusted = [
        a.boolean("secure_boot_enabled")?,
        a.boolean("vtpm_enabled")?,
    ]
    .iter()
    .any(|v| v.as_ref().and_then(Value::as_bool) == Some(true));
    let confidential = match &os_disk {
        Some(disk) => disk.text("security_encryption_type")?.is_some(),
        None => false,
    };
    let security_type = if confidential {
        Some("ConfidentialVM")
    } else if trusted {
        Some("TrustedLaunch")
    } else {
        None
    };
    if let Some(security_type) = security_type {
        let path = "properties.securityProfile.securityType";
        fields::set(&mut vm.object, path, json!(security_type));
    }
    Ok(())
}

/// The VM's NICs, the first one primary (as azurerm orders `network_interface_ids`).
fn network_profile(a: &Attrs, vm: &mut Resource) -> Result<(), InputError> {
    if let Some(ids) = a.strings("network_interface_ids")? {
        let refs: Vec<Value> = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| json!({ "id": id, "properties": { "primary": i == 0 } }))
            .collect();
        vm.properties().insert(
            "networkProfile".into(),
            json!({ "networkInterfaces": refs }),
        );
    }
    Ok(())
}

/// The legacy `azurerm_virtual_machine`, whose disks are inline blocks.
pub(super) fn legacy_vm(planned: &Planned, vm: &mut Resource) -> Result<(), InputError> {
    let os_disk = planned.attrs.block("storage_os_disk")?;
    let storage = fields::object_at(&mut vm.object, "properties.storageProfile");
    if let Some(disk) = os_disk {
        storage.insert("osDisk".into(), legacy_disk(&disk)?);
    }
    network_profile(planned.attrs, vm)
}

/// A disk block of the legacy VM: unmanaged when it names a VHD, managed otherwise.
pub(super) fn legacy_disk(disk: &Attrs) -> Result<Value, InputError> {
    let mut out = Object::new();
    fields::copy(disk, LEGACY_DISK, &mut out)?;
    match disk.string("vhd_uri")? {
        Some(uri) => out.insert("vhd".into(), json!({ "uri": uri })),
        None => {
            let managed = fields::build(disk, json!({}), LEGACY_MANAGED_DISK)?;
            out.insert("managedDisk".into(), managed)
        }
    };
    Ok(Value::Object(out))
}

/// An updated extension is deployed again: its earlier status says nothing about the next run.
pub(super) fn redeployed(_: &Planned, extension: &mut Resource) -> Result<(), InputError> {
    extension.redeployed = true;
    Ok(())
}

/// A disk's encryption: with a customer-managed key (a disk encryption set), and Azure Disk
/// Encryption's settings, which ARM keeps as a collection of one.
pub(super) fn disk_encryption(planned: &Planned, disk: &mut Resource) -> Result<(), InputError> {
    let a = planned.attrs;
    if let Some(set) = a.string("disk_encryption_set_id")? {
        disk.properties().insert(
            "encryption".into(),
            json!({ "type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": set }),
        );
    }
    if let Some(settings) = a.block("encryption_settings")? {
        let element = fields::build(&settings, json!({}), ENCRYPTION_SETTINGS)?;
        disk.properties().insert(
            "encryptionSettingsCollection".into(),
            json!({ "enabled": true, "encryptionSettings": [element], "encryptionSettingsVersion": "1.1" }),
        );
    }
    Ok(())
}

/// An attachment is an element of the VM's data disks, keyed by the managed disk's id.
pub(super) fn data_disk_attachment(planned: &Planned) -> Result<Mapped, InputError> {
    let a = planned.attrs;
    let vm = a.required("virtual_machine_id")?;
    let disk = a.required("managed_disk_id")?;
    let disk_name = disk.rsplit('/').next().unwrap_or_default().to_string();
    let id = a
        .text("id")?
        .unwrap_or_else(|| format!("{vm}/dataDisks/{disk_name}"));
    let template =
        json!({ "name": disk_name, "createOption": "Attach", "managedDisk": { "id": disk } });
    let item = (planned.action != Action::Delete)
        .then(|| fields::build(a, template, ATTACHED_DISK))
        .transpose()?;
    Ok(Mapped {
        id,
        edits: vec![Edit::Element {
            parent: vm,
            array: &["properties", "storageProfile", "dataDisks"],
            key_field: &["managedDisk", "id"],
            key: disk,
            item,
        }],
    })
}

/// The set's key, with the key vault it lives in when the baseline knows the vault by the name
/// in the key's URL.
pub(super) fn active_key(planned: &Planned, set: &mut Resource) -> Result<(), InputError> {
    if let Some(url) = planned.attrs.string("key_vault_key_id")? {
        let vault = url
            .as_str()
            .and_then(|u| planned.context.vault_of_key_url(u));
        let mut key = Object::new();
        key.insert("keyUrl".into(), url);
        if let Some(vault) = vault {
            key.insert("sourceVault".into(), json!({ "id": vault }));
        }
        set.properties()
            .insert("activeKey".into(), Value::Object(key));
    }
    Ok(())
}

/// A VM's OS disk (`os_disk`), into the ARM `osDisk` the mapping starts.
#[rustfmt::skip]
pub(super) const OS_DISK: &[Field] = &[
    field("name", "name", Str),
    field("disk_size_gb", "diskSizeGB", Num),
    field("write_accelerator_enabled", "writeAcceleratorEnabled", Bool),
    field("storage_account_type", "managedDisk.storageAccountType", Str),
    field("disk_encryption_set_id", "managedDisk.diskEncryptionSet.id", Str),
    field("security_encryption_type", "managedDisk.securityProfile.securityEncryptionType", KnownStr),
];

/// A disk block of the legacy VM (`storage_os_disk`, `storage_data_disk`).
#[rustfmt::skip]
pub(super) const LEGACY_DISK: &[Field] = &[
    field("name", "name", Str),
    field("lun", "lun", Num),
    field("os_type", "osType", Str),
    field("disk_size_gb", "diskSizeGB", Num),
    field("write_accelerator_enabled", "writeAcceleratorEnabled", Bool),
];

/// The managed disk of a legacy VM's disk block that names no VHD.
#[rustfmt::skip]
pub(super) const LEGACY_MANAGED_DISK: &[Field] = &[
    field("managed_disk_id", "id", Str),
    field("managed_disk_type", "storageAccountType", Str),
];

/// Azure Disk Encryption's secret and key (`encryption_settings`), each with its key vault.
#[rustfmt::skip]
pub(super) const ENCRYPTION_SETTINGS: &[Field] = &[
    field("disk_encryption_key", "diskEncryptionKey", Block(&[
        field("secret_url", "secretUrl", Str).or_null(),
        field("source_vault_id", "sourceVault.id", Str).or_null(),
    ])),
    field("key_encryption_key", "keyEncryptionKey", Block(&[
        field("key_url", "keyUrl", Str).or_null(),
        field("source_vault_id", "sourceVault.id", Str).or_null(),
    ])),
];

/// A data disk attachment, as the element of the VM's `dataDisks`.
#[rustfmt::skip]
pub(super) const ATTACHED_DISK: &[Field] = &[
    field("lun", "lun", Num),
    field("caching", "caching", Str),
    field("write_accelerator_enabled", "writeAcceleratorEnabled", Bool),
];
