//! Compute resources: VMs with their instance views, VM extensions and managed disks.

use super::arm::{id_ref, tags, Status};
use super::catalogue::{Ext, Os, DATA_SKUS, DISK_TIERS, ULTRA_SKU};
use super::faults::Fault;
use super::plan::{Ade, SubPlan, VmPlan};
use super::random::{base64ish, guid, hex32, stream};
use super::time::{Ts, HOUR, MINUTE};
use rand::Rng;
use serde_json::{json, Value};

pub(super) fn virtual_machine(sub: &SubPlan, vm: &VmPlan) -> Value {
    let mut rng = vm.rng(stream::VM);
    let location = sub.region(vm.slot).name;
    let ref_rg = SubPlan::ref_rg(vm);
    let ultra = vm.data_disks.iter().any(|d| d.sku == ULTRA_SKU);
    let mut properties = json!({
        "hardwareProfile": { "vmSize": vm.size },
        "provisioningState": "Succeeded",
        "vmId": guid(&mut rng),
        "timeCreated": vm.created.offset7(),
        "storageProfile": storage_profile(sub, vm, &ref_rg),
        "osProfile": os_profile(vm, &mut rng),
        "networkProfile": {
            "networkInterfaces": [{
                "id": sub.nic_id(&ref_rg, vm),
                "properties": { "primary": true, "deleteOption": "Detach" },
            }],
        },
        "diagnosticsProfile": { "bootDiagnostics": { "enabled": true } },
        "instanceView": instance_view(sub, vm, &mut rng),
    });
    if vm.trusted_launch {
        properties["securityProfile"] = json!({
            "securityType": "TrustedLaunch",
            "uefiSettings": { "secureBootEnabled": true, "vTpmEnabled": true },
        });
    }
    if ultra {
        properties["additionalCapabilities"] = json!({ "ultraSSDEnabled": true });
    }
    let mut vm_json = json!({
        "id": sub.vm_id(vm),
        "name": vm.name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": location,
        "tags": tags(vm),
        "properties": properties,
    });
    if ultra {
        // Ultra disks only attach to zonal VMs.
        vm_json["zones"] = json!(["1"]);
    }
    vm_json
}

pub(super) fn storage_profile(sub: &SubPlan, vm: &VmPlan, ref_rg: &str) -> Value {
    let image = vm.image;
    let os_disk_gb = if vm.os == Os::Windows { 127 } else { 64 };
    let data_disks: Vec<Value> = vm
        .data_disks
        .iter()
        .map(|d| {
            json!({
                "lun": d.lun,
                "name": vm.data_disk_name(d.lun),
                "createOption": "Attach",
                "caching": if d.sku == DATA_SKUS[0] { "ReadOnly" } else { "None" },
                "managedDisk": {
                    "id": sub.disk_id(ref_rg, &vm.data_disk_name(d.lun)),
                    "storageAccountType": d.sku,
                },
                "diskSizeGB": d.size_gb,
                "toBeDetached": false,
                "writeAcceleratorEnabled": false,
                "deleteOption": "Detach",
            })
        })
        .collect();
    json!({
        "imageReference": {
            "publisher": image.publisher,
            "offer": image.offer,
            "sku": image.sku,
            "version": "latest",
            "exactVersion": image.exact_version,
        },
        "osDisk": {
            "osType": vm.os.name(),
            "name": vm.os_disk_name(),
            "createOption": "FromImage",
            "caching": "ReadWrite",
            "managedDisk": {
                "id": sub.disk_id(ref_rg, &vm.os_disk_name()),
                "storageAccountType": "Premium_LRS",
            },
            "diskSizeGB": os_disk_gb,
            "deleteOption": "Delete",
        },
        "dataDisks": data_disks,
        "diskControllerType": "SCSI",
    })
}

pub(super) fn os_profile(vm: &VmPlan, rng: &mut impl Rng) -> Value {
    let mut profile = json!({
        "computerName": vm.computer_name(),
        "adminUsername": "azureadmin",
        "secrets": [],
        "allowExtensionOperations": true,
        "requireGuestProvisionSignal": true,
    });
    profile[config_key(vm.os)] = match vm.os {
        Os::Windows => json!({
            "provisionVMAgent": true,
            "enableAutomaticUpdates": true,
            "patchSettings": { "patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault" },
        }),
        Os::Linux => json!({
            "disablePasswordAuthentication": true,
            "ssh": {
                "publicKeys": [{
                    "path": "/home/azureadmin/.ssh/authorized_keys",
                    "keyData": format!(
                        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ{} generated-by-synth",
                        base64ish(rng, 338)
                    ),
                }],
            },
            "provisionVMAgent": true,
            "patchSettings": { "patchMode": "ImageDefault", "assessmentMode": "ImageDefault" },
        }),
    };
    profile
}

pub(super) fn config_key(os: Os) -> &'static str {
    match os {
        Os::Windows => "windowsConfiguration",
        Os::Linux => "linuxConfiguration",
    }
}

/// A time within the hour before the snapshot, as the agent's last heartbeat is.
pub(super) fn recently(rng: &mut impl Rng) -> Ts {
    Ts::before_snapshot(rng.gen_range(MINUTE..HOUR)).jitter(rng)
}

pub(super) fn instance_view(sub: &SubPlan, vm: &VmPlan, rng: &mut impl Rng) -> Value {
    let disk_names = std::iter::once(vm.os_disk_name())
        .chain(vm.data_disks.iter().map(|d| vm.data_disk_name(d.lun)));
    let disks: Vec<Value> = disk_names
        .enumerate()
        .map(|(i, name)| {
            let mut disk = json!({
                "name": name,
                "statuses": [Status::succeeded_at(vm.created).json()],
            });
            if i == 0 && vm.ade() != Ade::None {
                disk["encryptionSettings"] = json!([ade_settings(sub, vm)]);
            }
            disk
        })
        .collect();
    let mut view = json!({
        "hyperVGeneration": if vm.image.gen2 { "V2" } else { "V1" },
        "disks": disks,
        "statuses": [
            Status::succeeded_at(recently(rng)).json(),
            power_state(vm.fault).json(),
        ],
    });
    if vm.fault == Some(Fault::StoppedVm) {
        // A deallocated VM has no guest: no agent, no extensions, no OS facts.
        return view;
    }
    view["computerName"] = json!(vm.computer_name());
    view["osName"] = json!(vm.image.os_name);
    view["osVersion"] = json!(vm.image.os_version);
    view["vmAgent"] = vm_agent(vm, recently(rng));
    // An unresponsive agent leaves the extension statuses it last reported in place.
    view["extensions"] = vm
        .extensions()
        .into_iter()
        .map(|ext| extension_view(vm, ext, recently(rng)))
        .collect();
    view
}

pub(super) fn power_state(fault: Option<Fault>) -> Status<'static> {
    match fault {
        Some(Fault::StoppedVm) => Status::info("PowerState/deallocated", "VM deallocated"),
        Some(Fault::TransitionalPowerState) => Status::info("PowerState/starting", "VM starting"),
        _ => Status::info("PowerState/running", "VM running"),
    }
}

pub(super) fn vm_agent(vm: &VmPlan, at: Ts) -> Value {
    if vm.fault == Some(Fault::AgentNotReady) {
        return json!({
            "vmAgentVersion": "Unknown",
            "statuses": [Status {
                code: "ProvisioningState/Unavailable",
                level: "Warning",
                display: "Not Ready",
                message: Some("VM Agent is unresponsive."),
                time: Some(at.offset7()),
            }.json()],
        });
    }
    let version = match (vm.os, vm.fault == Some(Fault::AgentOutdated)) {
        (Os::Windows, true) => "2.7.41491.949",
        (Os::Linux, true) => "2.2.45",
        (Os::Windows, false) => "2.7.41491.1152",
        (Os::Linux, false) => "2.12.0.2",
    };
    let handlers: Vec<Value> = vm
        .extensions()
        .into_iter()
        .map(|ext| {
            let info = ext.info(vm.os);
            let failed = extension_failed(vm, ext);
            json!({
                "type": format!("{}.{}", info.publisher, info.name),
                "typeHandlerVersion": info.handler_version,
                "status": if failed {
                    Status::extension_failed("Not Ready").json()
                } else {
                    Status::info("ProvisioningState/succeeded", "Ready").json()
                },
            })
        })
        .collect();
    json!({
        "vmAgentVersion": version,
        "statuses": [Status {
            message: Some("GuestAgent is running and processing the extensions."),
            time: Some(at.offset7()),
            ..Status::info("ProvisioningState/succeeded", "Ready")
        }.json()],
        "extensionHandlers": handlers,
    })
}

pub(super) fn extension_failed(vm: &VmPlan, ext: Ext) -> bool {
    ext == Ext::Snapshot && vm.fault == Some(Fault::BackupExtensionFailed)
}

pub(super) const SNAPSHOT_ENABLE_FAILED: &str =
    "Enable failed: the snapshot plugin exited with code -40. \
     See the VMSnapshot extension logs in the guest.";

pub(super) fn extension_view(vm: &VmPlan, ext: Ext, at: Ts) -> Value {
    let info = ext.info(vm.os);
    let status = if extension_failed(vm, ext) {
        Status {
            message: Some(SNAPSHOT_ENABLE_FAILED),
            time: Some(at.offset7()),
            ..Status::extension_failed("Provisioning failed")
        }
    } else {
        Status {
            message: Some(info.message),
            time: Some(at.offset7()),
            ..Status::info("ProvisioningState/succeeded", "Provisioning succeeded")
        }
    };
    json!({
        "name": info.name,
        "type": format!("{}.{}", info.publisher, info.name),
        "typeHandlerVersion": info.handler_version,
        "statuses": [status.json()],
    })
}

pub(super) fn extensions(sub: &SubPlan, vm: &VmPlan) -> Vec<Value> {
    let mut rng = vm.rng(stream::EXTENSIONS);
    let vm_id = sub.vm_id(vm);
    vm.extensions()
        .into_iter()
        .map(|ext| {
            let info = ext.info(vm.os);
            let mut properties = json!({
                "publisher": info.publisher,
                "type": info.name,
                "typeHandlerVersion": info.version,
                "autoUpgradeMinorVersion": true,
                "provisioningState": if extension_failed(vm, ext) { "Failed" } else { "Succeeded" },
                "settings": extension_settings(sub, vm, ext, &mut rng),
            });
            if ext == Ext::Monitor {
                properties["enableAutomaticUpgrade"] = json!(true);
            }
            json!({
                "id": format!("{vm_id}/extensions/{}", info.name),
                "name": info.name,
                "type": "Microsoft.Compute/virtualMachines/extensions",
                "location": sub.region(vm.slot).name,
                "properties": properties,
            })
        })
        .collect()
}

pub(super) fn extension_settings(
    sub: &SubPlan,
    vm: &VmPlan,
    ext: Ext,
    rng: &mut impl Rng,
) -> Value {
    match ext {
        Ext::Snapshot => json!({
            "locale": "en-us",
            "taskId": guid(rng),
            "commandToExecute": "snapshot",
            "commandStartTimeUTCTicks": (vm.job_start(0, 1).unix() + 62_135_596_800) * 10_000_000,
            "vmType": "microsoft.compute/virtualmachines",
            "objectStr": base64ish(rng, 200),
        }),
        Ext::Monitor => {
            json!({ "authentication": { "managedIdentity": { "identifier-name": "mi_res_id" } } })
        }
        Ext::Ade => {
            let granted = vm.ade() == Ade::Granted;
            json!({
                "EncryptionOperation": "EnableEncryption",
                "KeyVaultURL": sub.key_vault_uri(vm.slot, granted),
                "KeyVaultResourceId": sub.key_vault_id(vm.slot, granted),
                "KeyEncryptionKeyURL": sub.kek_url(vm.slot, granted),
                "KekVaultResourceId": sub.key_vault_id(vm.slot, granted),
                "KeyEncryptionAlgorithm": "RSA-OAEP",
                "VolumeType": "All",
            })
        }
    }
}

/// The ADE secret of the VM's OS disk: (name, version).
pub(super) fn ade_secret(vm: &VmPlan) -> (String, String) {
    let mut rng = vm.rng(stream::ADE);
    (guid(&mut rng), hex32(&mut rng))
}

pub(super) fn ade_settings(sub: &SubPlan, vm: &VmPlan) -> Value {
    let granted = vm.ade() == Ade::Granted;
    let (secret, version) = ade_secret(vm);
    let vault = id_ref(sub.key_vault_id(vm.slot, granted));
    json!({
        "diskEncryptionKey": {
            "sourceVault": vault,
            "secretUrl": format!(
                "{}secrets/{secret}/{version}",
                sub.key_vault_uri(vm.slot, granted)
            ),
        },
        "keyEncryptionKey": { "sourceVault": vault, "keyUrl": sub.kek_url(vm.slot, granted) },
    })
}

pub(super) fn disks(sub: &SubPlan, vm: &VmPlan) -> Vec<Value> {
    let mut rng = vm.rng(stream::DISKS);
    let os_gb = if vm.os == Os::Windows { 127 } else { 64 };
    let mut out = vec![disk(
        sub,
        vm,
        &vm.os_disk_name(),
        "Premium_LRS",
        os_gb,
        &mut rng,
    )];
    let os_disk = &mut out[0];
    let image = vm.image;
    os_disk["properties"]["osType"] = json!(vm.os.name());
    os_disk["properties"]["hyperVGeneration"] = json!(if image.gen2 { "V2" } else { "V1" });
    os_disk["properties"]["creationData"] = json!({
        "createOption": "FromImage",
        "imageReference": {
            "id": platform_image_id(sub, vm),
        },
    });
    if vm.ade() != Ade::None {
        os_disk["properties"]["encryptionSettingsCollection"] = json!({
            "enabled": true,
            "encryptionSettings": [ade_settings(sub, vm)],
            "encryptionSettingsVersion": "1.1",
        });
    }
    for d in &vm.data_disks {
        let mut data = disk(
            sub,
            vm,
            &vm.data_disk_name(d.lun),
            d.sku,
            d.size_gb,
            &mut rng,
        );
        if let Some(shares) = d.max_shares {
            data["properties"]["maxShares"] = json!(shares);
            data["properties"]["shareInfo"] = json!([{ "vmUri": sub.vm_id(vm) }]);
            data["managedByExtended"] = json!([sub.vm_id(vm)]);
        }
        out.push(data);
    }
    out
}

/// The platform image an OS disk was created from, spelled the way Compute records it.
pub(super) fn platform_image_id(sub: &SubPlan, vm: &VmPlan) -> String {
    let image = vm.image;
    format!(
        "/Subscriptions/{}/Providers/Microsoft.Compute/Locations/{}/Publishers/{}\
         /ArtifactTypes/VMImage/Offers/{}/Skus/{}/Versions/{}",
        sub.id,
        sub.region(vm.slot).name,
        image.publisher,
        image.offer,
        image.sku,
        image.exact_version
    )
}

/// A managed disk attached to `vm`, without the OS-disk-only and sharing fields.
pub(super) fn disk(
    sub: &SubPlan,
    vm: &VmPlan,
    name: &str,
    sku: &str,
    size_gb: u32,
    rng: &mut impl Rng,
) -> Value {
    let tier_index = DISK_TIERS
        .iter()
        .position(|t| t.0 >= size_gb)
        .unwrap_or(DISK_TIERS.len() - 1);
    let (_, premium_iops, premium_mbps) = DISK_TIERS[tier_index];
    let (sku_tier, tier_prefix, iops, mbps) = match sku {
        "Premium_LRS" => ("Premium", Some("P"), premium_iops, premium_mbps),
        "StandardSSD_LRS" => ("Standard", Some("E"), 500, 60),
        "Standard_LRS" => ("Standard", Some("S"), 500, 60),
        _ => ("Ultra", None, 5_000, 200),
    };
    let mut properties = json!({
        "creationData": { "createOption": "Empty" },
        "diskSizeGB": size_gb,
        "diskSizeBytes": u64::from(size_gb) << 30,
        "diskIOPSReadWrite": iops,
        "diskMBpsReadWrite": mbps,
        "uniqueId": guid(rng),
        "encryption": { "type": "EncryptionAtRestWithPlatformKey" },
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "timeCreated": vm.created.offset7(),
        "provisioningState": "Succeeded",
        "diskState": "Attached",
    });
    if let Some(prefix) = tier_prefix {
        properties["tier"] = json!(format!(
            "{prefix}{}",
            [4, 6, 10, 15, 20, 30, 40, 50][tier_index]
        ));
    }
    let mut disk = json!({
        "id": sub.disk_id(&vm.rg, name),
        "name": name,
        "type": "Microsoft.Compute/disks",
        "location": sub.region(vm.slot).name,
        "managedBy": sub.vm_id(vm),
        "sku": { "name": sku, "tier": sku_tier },
        "properties": properties,
    });
    if sku == ULTRA_SKU {
        disk["zones"] = json!(["1"]);
    }
    disk
}
