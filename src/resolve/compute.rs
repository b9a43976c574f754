//! Facts from the VM model, its instance view, its extensions and its disks.

use super::fact_path;
use super::facts::*;
use super::{with_default, Index};
use crate::inventory::key;
use crate::inventory::model::*;

const BACKUP_EXTENSION_TYPES: [&str; 2] = ["VMSnapshot", "VMSnapshotLinux"];
// Older schema pages name the publisher without "Azure." (reference D2); accept both.
const BACKUP_EXTENSION_PUBLISHERS: [&str; 2] = [
    "Microsoft.Azure.RecoveryServices",
    "Microsoft.RecoveryServices",
];

pub fn resolve(index: &Index, vm: &VirtualMachine, facts: &mut VmFacts) {
    let props = &vm.properties;
    facts.os = facts.or_unknown(
        os_of(vm),
        fact_path::OS,
        "the VM model has no storageProfile.osDisk.osType and no OS configuration",
    );
    facts.size = props
        .hardware_profile
        .as_ref()
        .and_then(|h| h.vm_size.clone());
    facts.image = props
        .storage_profile
        .as_ref()
        .and_then(|s| s.image_reference.as_ref())
        .and_then(|i| {
            Some(format!(
                "{}:{}:{}",
                i.publisher.as_deref()?,
                i.offer.as_deref()?,
                i.sku.as_deref()?
            ))
        });
    facts.provisioning_state = facts.or_unknown(
        props.provisioning_state.clone(),
        fact_path::PROVISIONING_STATE,
        "the VM model has no properties.provisioningState",
    );
    facts.security_type = with_default(
        props
            .security_profile
            .as_ref()
            .and_then(|s| s.security_type.clone()),
        "Standard",
    );
    let provision_vm_agent = props
        .os_profile
        .as_ref()
        .and_then(|os| {
            os.windows_configuration
                .as_ref()
                .or(os.linux_configuration.as_ref())
        })
        .and_then(|c| c.provision_vm_agent);
    facts.provision_vm_agent = facts.or_unknown(
        provision_vm_agent,
        fact_path::PROVISION_VM_AGENT,
        "the VM model has no osProfile (VMs created from a specialized disk have none)",
    );

    match &props.instance_view {
        Some(view) => resolve_instance_view(view, facts),
        None => {
            let reason = "the VM's instance view is not in the snapshot (collect it with $expand=instanceView)";
            facts.mark_unknown(fact_path::AGENT, reason);
            facts.mark_unknown(fact_path::POWER_STATE, reason);
        }
    }
    resolve_extensions(index, vm, facts);
    resolve_disks(index, vm, facts);
}

fn os_of(vm: &VirtualMachine) -> Option<String> {
    let from_disk = vm
        .properties
        .storage_profile
        .as_ref()
        .and_then(|s| s.os_disk.as_ref())
        .and_then(|d| d.os_type.as_deref())
        .map(str::to_ascii_lowercase);
    from_disk.or_else(|| {
        let os = vm.properties.os_profile.as_ref()?;
        if os.windows_configuration.is_some() {
            Some("windows".into())
        } else if os.linux_configuration.is_some() {
            Some("linux".into())
        } else {
            None
        }
    })
}

fn resolve_instance_view(view: &VmInstanceView, facts: &mut VmFacts) {
    let power_state = view
        .statuses
        .iter()
        .flatten()
        .filter_map(|s| s.code.as_deref())
        .find_map(|code| strip_prefix_ci(code, "PowerState/"))
        .map(str::to_ascii_lowercase);
    facts.power_state = facts.or_unknown(
        power_state,
        fact_path::POWER_STATE,
        "the instance view reports no PowerState status (it can be missing mid-transition)",
    );
    let agent_status = view
        .vm_agent
        .as_ref()
        .and_then(|a| a.statuses.as_ref())
        .and_then(|s| s.first());
    match (&view.vm_agent, agent_status) {
        (Some(agent), Some(status)) => {
            facts.agent = AgentFacts {
                reported: Some(true),
                status: facts.or_unknown(
                    status.display_status.clone(),
                    fact_path::AGENT_STATUS,
                    "the agent status has no displayStatus",
                ),
                status_code: status.code.clone(),
                version: facts.or_unknown(
                    agent.vm_agent_version.clone(),
                    fact_path::AGENT_VERSION,
                    "the instance view reports no vmAgentVersion",
                ),
                message: status.message.clone(),
            };
        }
        _ => {
            facts.agent.reported = Some(false);
            let reason = "the instance view has no VM agent status: the agent is not installed or not reporting";
            facts.mark_unknown(fact_path::AGENT_STATUS, reason);
            facts.mark_unknown(fact_path::AGENT_VERSION, reason);
        }
    }
}

/// Merges extension resources with the instance view's extension statuses.
fn resolve_extensions(index: &Index, vm: &VirtualMachine, facts: &mut VmFacts) {
    let resources = index.inventory.extensions.get(&key(&vm.id));
    let view = vm.properties.instance_view.as_ref();
    let view_extensions: &[ExtensionInstanceView] =
        view.and_then(|v| v.extensions.as_deref()).unwrap_or(&[]);
    if resources.is_none() && view.is_none() {
        let reason = "neither the VM's extensions nor its instance view are in the snapshot";
        facts.mark_unknown(fact_path::EXTENSIONS, reason);
        facts.mark_unknown(fact_path::BACKUP_EXTENSION, reason);
        return;
    }
    // A stopped or deallocated VM's agent reports nothing, so its extensions have no current
    // status; they cannot be failing a backup that runs crash-consistent from the host.
    let not_running = facts
        .power_state
        .as_deref()
        .is_some_and(|p| p == "deallocated" || p == "stopped");
    let mut extensions: Vec<ExtensionFacts> = Vec::new();
    for resource in resources.into_iter().flatten() {
        let props = resource.properties.clone().unwrap_or_default();
        let name = resource
            .name
            .clone()
            .or_else(|| {
                resource
                    .id
                    .as_deref()
                    .and_then(|id| id.rsplit('/').next())
                    .map(String::from)
            })
            .unwrap_or_default();
        let kind = props.kind.clone().unwrap_or_default();
        let own_view = props.instance_view.as_ref();
        let matched_view = own_view.or_else(|| {
            view_extensions.iter().find(|v| {
                v.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&name))
            })
        });
        let (mut status, message) = matched_view.map(status_of).unwrap_or((None, None));
        if status.is_none() && not_running {
            status = Some("not reported".into());
        }
        let publisher = props.publisher.clone().unwrap_or_default();
        extensions.push(ExtensionFacts {
            is_backup: is_backup_extension(&publisher, &kind),
            name,
            publisher,
            kind,
            provisioning_state: props.provisioning_state.clone(),
            status,
            message,
        });
    }
    for view_ext in view_extensions {
        let name = view_ext.name.clone().unwrap_or_default();
        if extensions
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        // The instance view gives `type` as "<publisher>.<type>".
        let full_type = view_ext.kind.clone().unwrap_or_default();
        let (publisher, kind) = match full_type.rfind('.') {
            Some(at) => (full_type[..at].to_string(), full_type[at + 1..].to_string()),
            None => (String::new(), full_type.clone()),
        };
        let (status, message) = status_of(view_ext);
        extensions.push(ExtensionFacts {
            is_backup: is_backup_extension(&publisher, &kind),
            name,
            publisher,
            kind,
            provisioning_state: None,
            status,
            message,
        });
    }
    // Without a status, an extension is decided only by its resource's provisioningState. That
    // is the outcome of the last operation ARM ran on it (install, update, delete): `Failed`
    // is a failure, but `Succeeded` says the handler installed, not that the extension works
    // now; only the instance view (`$expand=instanceView`) reports how it runs.
    let silent: Vec<&str> = extensions
        .iter()
        .filter(|e| e.status.is_none())
        .map(|e| e.name.as_str())
        .collect();
    let status_reason = (!silent.is_empty()).then(|| match view {
        None => format!(
            "the VM was read without its instance view ($expand=instanceView): the provisioningState of {} tells whether it installed, not how it runs now",
            silent.join(", ")
        ),
        Some(_) => format!("the instance view reports no status for {}", silent.join(", ")),
    });
    // Marked for every element only when no extension has a status: the mark hides the field
    // in every element, and a status that was read must stay visible.
    if let (Some(reason), true) = (&status_reason, silent.len() == extensions.len()) {
        facts.mark_unknown(fact_path::EXTENSIONS_STATUS, reason);
    }
    facts.backup_extension = Some(match extensions.iter().find(|e| e.is_backup) {
        Some(e) => BackupExtensionFacts {
            present: true,
            name: Some(e.name.clone()),
            provisioning_state: e.provisioning_state.clone(),
            status: e.status.clone(),
            message: e.message.clone(),
        },
        None => BackupExtensionFacts::default(),
    });
    let (status_missing, state_missing) = facts
        .backup_extension
        .as_ref()
        .map(|b| {
            (
                b.present && b.status.is_none(),
                b.present && b.provisioning_state.is_none(),
            )
        })
        .unwrap_or_default();
    if status_missing {
        facts.mark_unknown(
            fact_path::BACKUP_EXTENSION_STATUS,
            status_reason
                .as_deref()
                .unwrap_or("the backup extension's instance view status is not in the snapshot"),
        );
    }
    if state_missing {
        facts.mark_unknown(
            fact_path::BACKUP_EXTENSION_PROVISIONING_STATE,
            "the backup extension resource is not in the snapshot, only its instance view",
        );
    }
    facts.extensions = Some(extensions);
}

fn is_backup_extension(publisher: &str, kind: &str) -> bool {
    BACKUP_EXTENSION_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(kind))
        && (publisher.is_empty()
            || BACKUP_EXTENSION_PUBLISHERS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(publisher)))
}

/// Reduces an extension's statuses to `succeeded` / `failed` / `transitioning` / `warning` and
/// the joined messages (substatuses included: guest evidence such as VSS errors lives there).
fn status_of(view: &ExtensionInstanceView) -> (Option<String>, Option<String>) {
    let statuses: Vec<&InstanceViewStatus> = view
        .statuses
        .iter()
        .flatten()
        .chain(view.substatuses.iter().flatten())
        .collect();
    if statuses.is_empty() {
        return (None, None);
    }
    let failed = statuses.iter().any(|s| {
        s.level
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("Error"))
            || s.code
                .as_deref()
                .is_some_and(|c| c.to_ascii_lowercase().contains("/failed"))
    });
    let transitioning = statuses.iter().any(|s| {
        s.code.as_deref().is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("/transitioning")
                || c.contains("/creating")
                || c.contains("/updating")
                || c.contains("/deleting")
        })
    });
    let warning = statuses.iter().any(|s| {
        s.level
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("Warning"))
    });
    let status = if failed {
        "failed"
    } else if transitioning {
        "transitioning"
    } else if warning {
        "warning"
    } else {
        "succeeded"
    };
    let message = statuses
        .iter()
        .filter_map(|s| s.message.as_deref())
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    (
        Some(status.to_string()),
        (!message.is_empty()).then_some(message),
    )
}

fn resolve_disks(index: &Index, vm: &VirtualMachine, facts: &mut VmFacts) {
    let Some(storage) = vm.properties.storage_profile.as_ref() else {
        for path in [
            fact_path::DISKS,
            fact_path::DATA_DISK_COUNT,
            fact_path::ENCRYPTION_ADE,
            fact_path::ENCRYPTION_CMK,
            fact_path::ENCRYPTION_KEY_VAULTS,
        ] {
            facts.mark_unknown(path, "the VM model has no storageProfile");
        }
        return;
    };
    // Every VM has an OS disk, and ARM sends `dataDisks` on every VM model (`[]` without data
    // disks; the collector keeps ARM's JSON as it came): without either, which disks the VM has,
    // and how they are encrypted, is unknown.
    let missing = match (&storage.os_disk, &storage.data_disks) {
        (None, _) => Some("the VM model has no storageProfile.osDisk"),
        (_, None) => Some("the VM model has no storageProfile.dataDisks"),
        _ => None,
    };
    if let Some(reason) = missing {
        for path in [
            fact_path::DISKS,
            fact_path::ENCRYPTION_ADE,
            fact_path::ENCRYPTION_CMK,
            fact_path::ENCRYPTION_KEY_VAULTS,
        ] {
            facts.mark_unknown(path, reason);
        }
    }
    let data_disks = storage.data_disks.as_deref().unwrap_or(&[]);
    match &storage.data_disks {
        Some(listed) => facts.data_disk_count = Some(listed.len() as i64),
        None => facts.mark_unknown(
            fact_path::DATA_DISK_COUNT,
            "the VM model has no storageProfile.dataDisks",
        ),
    }
    let mut disks = Vec::with_capacity(1 + data_disks.len());
    let mut unresolved = Vec::new();
    for (role, disk) in storage
        .os_disk
        .iter()
        .map(|d| ("os", d))
        .chain(data_disks.iter().map(|d| ("data", d)))
    {
        let disk_facts = disk_facts(index, role, disk);
        if disk_facts.managed && !disk_facts.resolved {
            unresolved.push(disk_facts.name.clone());
        }
        disks.push(disk_facts);
    }
    let ade = disks.iter().any(|d| d.ade) || vm_level_ade(storage);
    let cmk = disks.iter().any(|d| {
        d.encryption_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().contains("customerkey"))
    });
    // A disk resource that was not read may be the encrypted one: only a yes is decided
    // without it. The key vaults are read from the disks too.
    facts.encryption.ade = (ade || unresolved.is_empty()).then_some(ade);
    facts.encryption.cmk = (cmk || unresolved.is_empty()).then_some(cmk);
    if !unresolved.is_empty() {
        let reason = format!("the managed disk resources {} are not in the snapshot or have no properties (SKU, sharing, auth mode and encryption unknown)", unresolved.join(", "));
        facts.mark_unknown(fact_path::DISKS, &reason);
        if !ade {
            facts.mark_unknown(fact_path::ENCRYPTION_ADE, &reason);
        }
        if !cmk {
            facts.mark_unknown(fact_path::ENCRYPTION_CMK, &reason);
        }
        facts.mark_unknown(fact_path::ENCRYPTION_KEY_VAULTS, reason);
    }
    facts.disks = Some(disks);
}

fn vm_level_ade(storage: &StorageProfile) -> bool {
    storage
        .os_disk
        .as_ref()
        .and_then(|d| d.encryption_settings.as_ref())
        .and_then(|e| e.enabled)
        .unwrap_or(false)
}

fn disk_facts(index: &Index, role: &str, disk: &VmDisk) -> DiskFacts {
    let managed_ref = disk.managed_disk.as_ref();
    // A disk resource without `properties` is as good as one that was not read.
    let resource = managed_ref
        .and_then(|m| m.id.as_deref())
        .and_then(|id| index.inventory.disks.get(&key(id)))
        .and_then(|r| Some((r, r.properties.as_ref()?)));
    let name = disk
        .name
        .clone()
        .or_else(|| resource.and_then(|(r, _)| r.name.clone()))
        .unwrap_or_else(|| format!("{role} disk"));
    let vhd_uri = disk.vhd.as_ref().and_then(|v| v.uri.clone());
    let managed = managed_ref.is_some() || vhd_uri.is_none();
    let mut facts = DiskFacts {
        name,
        id: managed_ref.and_then(|m| m.id.clone()),
        role: role.to_string(),
        lun: disk.lun,
        managed,
        resolved: resource.is_some(),
        sku: managed_ref.and_then(|m| m.storage_account_type.clone()),
        size_gb: disk.disk_size_gb,
        max_shares: None,
        write_accelerator: disk.write_accelerator_enabled.unwrap_or(false),
        security_type: managed_ref
            .and_then(|m| m.security_profile.as_ref())
            .and_then(|s| s.security_type.clone()),
        data_access_auth_mode: None,
        encryption_type: None,
        ade: false,
        vhd_uri,
    };
    if let Some((resource, props)) = resource {
        facts.sku = resource
            .sku
            .as_ref()
            .and_then(|s| s.name.clone())
            .or(facts.sku);
        facts.size_gb = props.disk_size_gb.or(facts.size_gb);
        facts.max_shares = Some(props.max_shares.unwrap_or(1));
        facts.security_type = props
            .security_profile
            .as_ref()
            .and_then(|s| s.security_type.clone())
            .or(facts.security_type);
        facts.data_access_auth_mode = with_default(props.data_access_auth_mode.clone(), "None");
        facts.encryption_type = with_default(
            props.encryption.as_ref().and_then(|e| e.kind.clone()),
            "EncryptionAtRestWithPlatformKey",
        );
        facts.ade = props
            .encryption_settings_collection
            .as_ref()
            .and_then(|c| c.enabled)
            .unwrap_or(false);
    } else if !managed {
        // Unmanaged disks have no disk resource; what the VM model says is all there is.
        facts.max_shares = Some(1);
        facts.data_access_auth_mode = Some("None".into());
        facts.ade = disk
            .encryption_settings
            .as_ref()
            .and_then(|e| e.enabled)
            .unwrap_or(false);
    }
    facts
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &text[prefix.len()..])
}
