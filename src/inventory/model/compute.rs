//! Virtual machines with their instance view and extensions, managed disks, disk encryption
//! sets and restore point collections.

use super::IdRef;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    pub id: String,
    pub name: String,
    pub location: Option<String>,
    #[serde(default)]
    pub properties: VmProperties,
    /// Extensions nested in the VM object (`resources`), as some list responses carry them.
    pub resources: Option<Vec<VmExtension>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmProperties {
    pub provisioning_state: Option<String>,
    pub hardware_profile: Option<HardwareProfile>,
    pub storage_profile: Option<StorageProfile>,
    pub os_profile: Option<OsProfile>,
    pub network_profile: Option<NetworkProfile>,
    pub security_profile: Option<SecurityProfile>,
    pub additional_capabilities: Option<AdditionalCapabilities>,
    pub instance_view: Option<VmInstanceView>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HardwareProfile {
    pub vm_size: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageProfile {
    pub image_reference: Option<ImageReference>,
    pub os_disk: Option<VmDisk>,
    pub data_disks: Option<Vec<VmDisk>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReference {
    pub publisher: Option<String>,
    pub offer: Option<String>,
    pub sku: Option<String>,
}

/// A disk as the VM model references it (OS or data disk).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmDisk {
    pub name: Option<String>,
    pub lun: Option<i64>,
    pub os_type: Option<String>,
    #[serde(rename = "diskSizeGB")]
    pub disk_size_gb: Option<i64>,
    pub managed_disk: Option<ManagedDiskRef>,
    /// Unmanaged disks: the VHD blob.
    pub vhd: Option<Vhd>,
    pub write_accelerator_enabled: Option<bool>,
    /// Legacy (VM-level) ADE settings on the OS disk.
    pub encryption_settings: Option<VmDiskEncryptionSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDiskRef {
    pub id: Option<String>,
    pub storage_account_type: Option<String>,
    pub disk_encryption_set: Option<IdRef>,
    pub security_profile: Option<DiskSecurityProfile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vhd {
    pub uri: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmDiskEncryptionSettings {
    pub enabled: Option<bool>,
    pub disk_encryption_key: Option<SecretRef>,
    pub key_encryption_key: Option<KeyRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    pub secret_url: Option<String>,
    pub source_vault: Option<IdRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    pub key_url: Option<String>,
    pub source_vault: Option<IdRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsProfile {
    pub windows_configuration: Option<AgentConfiguration>,
    pub linux_configuration: Option<AgentConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentConfiguration {
    #[serde(rename = "provisionVMAgent")]
    pub provision_vm_agent: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProfile {
    pub network_interfaces: Option<Vec<NicRef>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicRef {
    pub id: Option<String>,
    pub properties: Option<NicRefProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicRefProperties {
    pub primary: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityProfile {
    pub security_type: Option<String>,
    pub encryption_at_host: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalCapabilities {
    #[serde(rename = "ultraSSDEnabled")]
    pub ultra_ssd_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmInstanceView {
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub vm_agent: Option<VmAgent>,
    pub extensions: Option<Vec<ExtensionInstanceView>>,
    pub statuses: Option<Vec<InstanceViewStatus>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmAgent {
    pub vm_agent_version: Option<String>,
    pub statuses: Option<Vec<InstanceViewStatus>>,
    pub extension_handlers: Option<Vec<ExtensionHandler>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionHandler {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub type_handler_version: Option<String>,
    pub status: Option<InstanceViewStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionInstanceView {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub type_handler_version: Option<String>,
    pub statuses: Option<Vec<InstanceViewStatus>>,
    pub substatuses: Option<Vec<InstanceViewStatus>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceViewStatus {
    pub code: Option<String>,
    pub level: Option<String>,
    pub display_status: Option<String>,
    pub message: Option<String>,
}

/// A `Microsoft.Compute/virtualMachines/extensions` resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmExtension {
    pub id: Option<String>,
    pub name: Option<String>,
    pub properties: Option<VmExtensionProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmExtensionProperties {
    pub publisher: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub type_handler_version: Option<String>,
    pub provisioning_state: Option<String>,
    pub instance_view: Option<ExtensionInstanceView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    pub id: String,
    pub name: Option<String>,
    pub location: Option<String>,
    pub sku: Option<Sku>,
    pub managed_by: Option<String>,
    #[serde(default)]
    pub properties: DiskProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    pub name: Option<String>,
    pub tier: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskProperties {
    pub os_type: Option<String>,
    #[serde(rename = "diskSizeGB")]
    pub disk_size_gb: Option<i64>,
    pub max_shares: Option<i64>,
    pub disk_state: Option<String>,
    pub data_access_auth_mode: Option<String>,
    pub security_profile: Option<DiskSecurityProfile>,
    pub encryption: Option<DiskEncryption>,
    pub encryption_settings_collection: Option<EncryptionSettingsCollection>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskSecurityProfile {
    pub security_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryption {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub disk_encryption_set_id: Option<String>,
}

/// Azure Disk Encryption settings on a managed disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSettingsCollection {
    pub enabled: Option<bool>,
    pub encryption_settings: Option<Vec<EncryptionSettingsElement>>,
    pub encryption_settings_version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSettingsElement {
    pub disk_encryption_key: Option<SecretRef>,
    pub key_encryption_key: Option<KeyRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryptionSet {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub properties: DiskEncryptionSetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryptionSetProperties {
    pub encryption_type: Option<String>,
    pub active_key: Option<KeyRef>,
}

/// A restore point collection: where a VM's instant restore points live.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestorePointCollection {
    pub id: String,
    #[serde(default)]
    pub properties: RestorePointCollectionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestorePointCollectionProperties {
    pub source: Option<IdRef>,
}
