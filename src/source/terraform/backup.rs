//! Azure Backup: what a table cannot say of VM backup policies and protected VMs.

use super::attrs::Attrs;
use super::mapping::{Placed, Planned, Resource};
use crate::error::InputError;
use crate::inventory::types::VIRTUAL_MACHINES;
use crate::inventory::ArmId;
use serde_json::json;

/// `azurerm_backup_policy_vm` is always a policy for Azure VMs.
pub(super) fn vm_policy(_: &Planned, policy: &mut Resource) -> Result<(), InputError> {
    policy
        .properties()
        .insert("backupManagementType".into(), json!("AzureIaasVM"));
    Ok(())
}

/// The VM a protected item backs up, and the container Azure Backup names after it.
struct Source {
    vm: String,
    name: String,
    container: String,
}

fn source(a: &Attrs) -> Result<Source, InputError> {
    let vm = a.required("source_vm_id")?;
    let parsed = ArmId::parse(&vm);
    let (resource_group, name) = (
        parsed.resource_group.unwrap_or_default().to_string(),
        parsed.name.unwrap_or_default().to_string(),
    );
    let container = format!(
        "iaasvmcontainerv2;{};{}",
        resource_group.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    );
    Ok(Source {
        vm,
        name,
        container,
    })
}

/// `.../vaults/{vault}/backupFabrics/Azure/protectionContainers/IaasVMContainer;{container}/protectedItems/VM;{container}`,
/// the id Azure Backup gives an Azure VM's protected item.
pub(super) fn protected_item_id(planned: &Planned) -> Result<Placed, InputError> {
    let a = planned.attrs;
    let Source { container, .. } = source(a)?;
    let id = match a.text("id")? {
        Some(id) => id,
        None => {
            let rg = a.required("resource_group_name")?;
            let vault = a.required("recovery_vault_name")?;
            let names = [
                vault,
                "Azure".to_string(),
                format!("IaasVMContainer;{container}"),
                format!("VM;{container}"),
            ];
            planned
                .context
                .in_resource_group(&rg, planned.arm_type, &names)
        }
    };
    Ok(Placed { id, name: None })
}

/// What Azure Backup reports of a protected VM: its source, container and disk exclusions.
pub(super) fn protected_vm(planned: &Planned, item: &mut Resource) -> Result<(), InputError> {
    let a = planned.attrs;
    let source = source(a)?;
    let properties = item.properties();
    for (name, value) in [
        ("protectedItemType", VIRTUAL_MACHINES),
        ("workloadType", "VM"),
        ("friendlyName", &source.name),
        ("containerName", &source.container),
        ("sourceResourceId", &source.vm),
        ("virtualMachineId", &source.vm),
    ] {
        properties.insert(name.into(), json!(value));
    }
    let include = a.strings("include_disk_luns")?.filter(|l| !l.is_empty());
    let exclude = a.strings("exclude_disk_luns")?.filter(|l| !l.is_empty());
    if let Some((luns, inclusion)) = include.map(|l| (l, true)).or(exclude.map(|l| (l, false))) {
        properties.insert(
            "extendedProperties".into(),
            json!({ "diskExclusionProperties": { "diskLunList": luns, "isInclusionList": inclusion } }),
        );
    }
    Ok(())
}
