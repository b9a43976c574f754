//! Typed views of the ARM resources backup-doctor reads. Only the fields the facts need are
//! declared; everything is optional because ARM omits absent values, and an absent value must
//! become an `unknown` fact rather than a load error. A present value of the wrong JSON type is a
//! load error (see `source::snapshot`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdRef {
    #[serde(default)]
    pub id: Option<String>,
}

/// Fields every ARM resource carries.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

// ---------------------------------------------------------------- tenant-level objects

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// Present on Resource Graph `resourcecontainers` rows (`GET /subscriptions` has no
    /// `properties`): the management groups the subscription sits under.
    #[serde(default)]
    pub properties: Option<SubscriptionContainerProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionContainerProperties {
    /// Nearest parent first, the tenant root group last.
    #[serde(default)]
    pub management_group_ancestors_chain: Option<Vec<ManagementGroupRef>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroupRef {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    #[serde(default)]
    pub id: Option<String>,
    pub namespace: String,
    #[serde(default)]
    pub registration_state: Option<String>,
}

/// A Microsoft Graph service principal (only the fields that map an appId to an object id).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
}

// ---------------------------------------------------------------- compute

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub properties: VmProperties,
    /// Extensions nested in the VM object (`resources`), as some list responses carry them.
    #[serde(default)]
    pub resources: Option<Vec<VmExtension>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmProperties {
    #[serde(default)]
    pub provisioning_state: Option<String>,
    #[serde(default)]
    pub hardware_profile: Option<HardwareProfile>,
    #[serde(default)]
    pub storage_profile: Option<StorageProfile>,
    #[serde(default)]
    pub os_profile: Option<OsProfile>,
    #[serde(default)]
    pub network_profile: Option<NetworkProfile>,
    #[serde(default)]
    pub security_profile: Option<SecurityProfile>,
    #[serde(default)]
    pub additional_capabilities: Option<AdditionalCapabilities>,
    #[serde(default)]
    pub instance_view: Option<VmInstanceView>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HardwareProfile {
    #[serde(default)]
    pub vm_size: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageProfile {
    #[serde(default)]
    pub image_reference: Option<ImageReference>,
    #[serde(default)]
    pub os_disk: Option<VmDisk>,
    #[serde(default)]
    pub data_disks: Option<Vec<VmDisk>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReference {
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    pub offer: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
}

/// A disk as the VM model references it (OS or data disk).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmDisk {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub lun: Option<i64>,
    #[serde(default)]
    pub os_type: Option<String>,
    #[serde(default, rename = "diskSizeGB")]
    pub disk_size_gb: Option<i64>,
    #[serde(default)]
    pub managed_disk: Option<ManagedDiskRef>,
    /// Unmanaged disks: the VHD blob.
    #[serde(default)]
    pub vhd: Option<Vhd>,
    #[serde(default)]
    pub write_accelerator_enabled: Option<bool>,
    /// Legacy (VM-level) ADE settings on the OS disk.
    #[serde(default)]
    pub encryption_settings: Option<VmDiskEncryptionSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDiskRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub storage_account_type: Option<String>,
    #[serde(default)]
    pub disk_encryption_set: Option<IdRef>,
    #[serde(default)]
    pub security_profile: Option<DiskSecurityProfile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vhd {
    #[serde(default)]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmDiskEncryptionSettings {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub disk_encryption_key: Option<SecretRef>,
    #[serde(default)]
    pub key_encryption_key: Option<KeyRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    #[serde(default)]
    pub secret_url: Option<String>,
    #[serde(default)]
    pub source_vault: Option<IdRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    #[serde(default)]
    pub key_url: Option<String>,
    #[serde(default)]
    pub source_vault: Option<IdRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsProfile {
    #[serde(default)]
    pub windows_configuration: Option<AgentConfiguration>,
    #[serde(default)]
    pub linux_configuration: Option<AgentConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentConfiguration {
    #[serde(default, rename = "provisionVMAgent")]
    pub provision_vm_agent: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProfile {
    #[serde(default)]
    pub network_interfaces: Option<Vec<NicRef>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub properties: Option<NicRefProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicRefProperties {
    #[serde(default)]
    pub primary: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityProfile {
    #[serde(default)]
    pub security_type: Option<String>,
    #[serde(default)]
    pub encryption_at_host: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalCapabilities {
    #[serde(default, rename = "ultraSSDEnabled")]
    pub ultra_ssd_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmInstanceView {
    #[serde(default)]
    pub os_name: Option<String>,
    #[serde(default)]
    pub os_version: Option<String>,
    #[serde(default)]
    pub vm_agent: Option<VmAgent>,
    #[serde(default)]
    pub extensions: Option<Vec<ExtensionInstanceView>>,
    #[serde(default)]
    pub statuses: Option<Vec<InstanceViewStatus>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmAgent {
    #[serde(default)]
    pub vm_agent_version: Option<String>,
    #[serde(default)]
    pub statuses: Option<Vec<InstanceViewStatus>>,
    #[serde(default)]
    pub extension_handlers: Option<Vec<ExtensionHandler>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionHandler {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub type_handler_version: Option<String>,
    #[serde(default)]
    pub status: Option<InstanceViewStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionInstanceView {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub type_handler_version: Option<String>,
    #[serde(default)]
    pub statuses: Option<Vec<InstanceViewStatus>>,
    #[serde(default)]
    pub substatuses: Option<Vec<InstanceViewStatus>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceViewStatus {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub display_status: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// A `Microsoft.Compute/virtualMachines/extensions` resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmExtension {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: Option<VmExtensionProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmExtensionProperties {
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub type_handler_version: Option<String>,
    #[serde(default)]
    pub provisioning_state: Option<String>,
    #[serde(default)]
    pub instance_view: Option<ExtensionInstanceView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub sku: Option<Sku>,
    #[serde(default)]
    pub managed_by: Option<String>,
    #[serde(default)]
    pub properties: DiskProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tier: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskProperties {
    #[serde(default)]
    pub os_type: Option<String>,
    #[serde(default, rename = "diskSizeGB")]
    pub disk_size_gb: Option<i64>,
    #[serde(default)]
    pub max_shares: Option<i64>,
    #[serde(default)]
    pub disk_state: Option<String>,
    #[serde(default)]
    pub data_access_auth_mode: Option<String>,
    #[serde(default)]
    pub security_profile: Option<DiskSecurityProfile>,
    #[serde(default)]
    pub encryption: Option<DiskEncryption>,
    #[serde(default)]
    pub encryption_settings_collection: Option<EncryptionSettingsCollection>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskSecurityProfile {
    #[serde(default)]
    pub security_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryption {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub disk_encryption_set_id: Option<String>,
}

/// Azure Disk Encryption settings on a managed disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSettingsCollection {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub encryption_settings: Option<Vec<EncryptionSettingsElement>>,
    #[serde(default)]
    pub encryption_settings_version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSettingsElement {
    #[serde(default)]
    pub disk_encryption_key: Option<SecretRef>,
    #[serde(default)]
    pub key_encryption_key: Option<KeyRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryptionSet {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: DiskEncryptionSetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryptionSetProperties {
    #[serde(default)]
    pub encryption_type: Option<String>,
    #[serde(default)]
    pub active_key: Option<KeyRef>,
}

// ---------------------------------------------------------------- network

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: NicProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicProperties {
    #[serde(default)]
    pub network_security_group: Option<IdRef>,
    #[serde(default)]
    pub ip_configurations: Option<Vec<NicIpConfiguration>>,
    #[serde(default)]
    pub virtual_machine: Option<IdRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicIpConfiguration {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: Option<NicIpConfigurationProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicIpConfigurationProperties {
    #[serde(default, rename = "privateIPAddress")]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub subnet: Option<IdRef>,
    #[serde(default)]
    pub primary: Option<bool>,
    #[serde(default)]
    pub application_security_groups: Option<Vec<IdRef>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetwork {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub properties: VnetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetProperties {
    #[serde(default)]
    pub address_space: Option<AddressSpace>,
    #[serde(default)]
    pub subnets: Option<Vec<Subnet>>,
    #[serde(default)]
    pub dhcp_options: Option<DhcpOptions>,
    /// Kept whole: only the peers' address spaces are read.
    #[serde(default)]
    pub virtual_network_peerings: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressSpace {
    #[serde(default)]
    pub address_prefixes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DhcpOptions {
    #[serde(default)]
    pub dns_servers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: SubnetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetProperties {
    #[serde(default)]
    pub address_prefix: Option<String>,
    #[serde(default)]
    pub address_prefixes: Option<Vec<String>>,
    #[serde(default)]
    pub network_security_group: Option<IdRef>,
    #[serde(default)]
    pub route_table: Option<IdRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSecurityGroup {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: NsgProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgProperties {
    #[serde(default)]
    pub security_rules: Option<Vec<SecurityRule>>,
    #[serde(default)]
    pub default_security_rules: Option<Vec<SecurityRule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRule {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTable {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpoint {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Value,
}

/// Private DNS zones, their virtual network links and A record sets are kept whole for the
/// network analyser; the foundation only indexes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenericResource {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTags {
    #[serde(default)]
    pub cloud: Option<String>,
    #[serde(default)]
    pub values: Vec<ServiceTag>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTag {
    pub name: String,
    #[serde(default)]
    pub properties: ServiceTagProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTagProperties {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub address_prefixes: Vec<String>,
}

// ---------------------------------------------------------------- Azure Policy

/// A parameter value as assignments and set-definition members give it: `{"value": ...}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PolicyParameterValue {
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

/// A parameter as a definition declares it; only the default matters for evaluation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyParameterDefinition {
    #[serde(default)]
    pub default_value: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignment {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: PolicyAssignmentProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignmentProperties {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub policy_definition_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub not_scopes: Option<Vec<String>>,
    #[serde(default)]
    pub parameters: Option<std::collections::BTreeMap<String, PolicyParameterValue>>,
    /// `Default` or `DoNotEnforce`.
    #[serde(default)]
    pub enforcement_mode: Option<String>,
    /// Newer assignments can change the effect per selector (API 2022-06-01 and later); kept
    /// raw because only their presence is judged.
    #[serde(default)]
    pub overrides: Option<serde_json::Value>,
    #[serde(default)]
    pub resource_selectors: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDefinition {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: PolicyDefinitionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDefinitionProperties {
    #[serde(default)]
    pub display_name: Option<String>,
    /// `All`, `Indexed`, or a resource provider mode (`Microsoft.KeyVault.Data`, ...).
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub parameters: Option<std::collections::BTreeMap<String, PolicyParameterDefinition>>,
    /// `{"if": ..., "then": {"effect": ...}}`, evaluated by `resolve::policy_rule`.
    #[serde(default)]
    pub policy_rule: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySetDefinition {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: PolicySetDefinitionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySetDefinitionProperties {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub parameters: Option<std::collections::BTreeMap<String, PolicyParameterDefinition>>,
    #[serde(default)]
    pub policy_definitions: Vec<PolicyDefinitionReference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDefinitionReference {
    #[serde(default)]
    pub policy_definition_id: Option<String>,
    #[serde(default)]
    pub policy_definition_reference_id: Option<String>,
    #[serde(default)]
    pub parameters: Option<std::collections::BTreeMap<String, PolicyParameterValue>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyExemption {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: PolicyExemptionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyExemptionProperties {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub policy_assignment_id: Option<String>,
    #[serde(default)]
    pub policy_definition_reference_ids: Option<Vec<String>>,
    #[serde(default)]
    pub exemption_category: Option<String>,
    #[serde(default)]
    pub expires_on: Option<String>,
}

/// The scope an Azure Policy object applies at: the part of its id before
/// `/providers/Microsoft.Authorization/<kind>/`.
pub fn policy_object_scope<'a>(id: &'a str, kind: &str) -> &'a str {
    let needle = format!(
        "/providers/microsoft.authorization/{}/",
        kind.to_ascii_lowercase()
    );
    match id.to_ascii_lowercase().find(&needle) {
        Some(at) => &id[..at],
        None => id,
    }
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
    #[serde(default)]
    pub source: Option<IdRef>,
}

// ---------------------------------------------------------------- authorization

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: LockProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockProperties {
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl Lock {
    /// The scope a lock applies to: the prefix of its id before the locks provider segment.
    pub fn scope(&self) -> &str {
        let lower = self.id.to_ascii_lowercase();
        match lower.find("/providers/microsoft.authorization/locks/") {
            Some(at) => &self.id[..at],
            None => &self.id,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    #[serde(default)]
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    #[serde(default)]
    pub role_definition_id: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    #[serde(default)]
    pub role_name: Option<String>,
    #[serde(default)]
    pub permissions: Vec<RolePermission>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolePermission {
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

// ---------------------------------------------------------------- key vault

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVault {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub properties: KeyVaultProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVaultProperties {
    #[serde(default)]
    pub vault_uri: Option<String>,
    #[serde(default)]
    pub access_policies: Option<Vec<AccessPolicy>>,
    #[serde(default)]
    pub enable_rbac_authorization: Option<bool>,
    #[serde(default)]
    pub enabled_for_disk_encryption: Option<bool>,
    #[serde(default)]
    pub enable_soft_delete: Option<bool>,
    #[serde(default)]
    pub enable_purge_protection: Option<bool>,
    #[serde(default)]
    pub network_acls: Option<NetworkAcls>,
    #[serde(default)]
    pub public_network_access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub permissions: AccessPolicyPermissions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyPermissions {
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    #[serde(default)]
    pub secrets: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAcls {
    #[serde(default)]
    pub default_action: Option<String>,
    #[serde(default)]
    pub bypass: Option<String>,
}

/// Control-plane metadata of a key or secret (`Microsoft.KeyVault/vaults/keys|secrets`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultItem {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: VaultItemProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultItemProperties {
    #[serde(default)]
    pub attributes: Option<VaultItemAttributes>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultItemAttributes {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Expiry, seconds since the epoch.
    #[serde(default)]
    pub exp: Option<i64>,
}

// ---------------------------------------------------------------- recovery services

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryVault {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub properties: RecoveryVaultProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryVaultProperties {
    #[serde(default)]
    pub public_network_access: Option<String>,
    #[serde(default)]
    pub encryption: Option<serde_json::Value>,
    #[serde(default)]
    pub private_endpoint_connections: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicy {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: BackupPolicyProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicyProperties {
    #[serde(default)]
    pub backup_management_type: Option<String>,
    #[serde(default)]
    pub policy_type: Option<String>,
    #[serde(default, rename = "instantRPDetails")]
    pub instant_rp_details: Option<InstantRpDetails>,
    #[serde(default)]
    pub instant_rp_retention_range_in_days: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantRpDetails {
    #[serde(default, rename = "azureBackupRGNamePrefix")]
    pub azure_backup_rg_name_prefix: Option<String>,
    #[serde(default, rename = "azureBackupRGNameSuffix")]
    pub azure_backup_rg_name_suffix: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedItem {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: ProtectedItemProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedItemProperties {
    #[serde(default)]
    pub protected_item_type: Option<String>,
    #[serde(default)]
    pub workload_type: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub virtual_machine_id: Option<String>,
    #[serde(default)]
    pub source_resource_id: Option<String>,
    #[serde(default)]
    pub container_name: Option<String>,
    #[serde(default)]
    pub protection_state: Option<String>,
    #[serde(default)]
    pub protection_status: Option<String>,
    #[serde(default)]
    pub health_status: Option<String>,
    #[serde(default)]
    pub last_backup_status: Option<String>,
    #[serde(default)]
    pub last_backup_time: Option<String>,
    #[serde(default)]
    pub policy_id: Option<String>,
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub policy_type: Option<String>,
    #[serde(default)]
    pub extended_properties: Option<ProtectedItemExtendedProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedItemExtendedProperties {
    #[serde(default)]
    pub disk_exclusion_properties: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupJob {
    pub id: String,
    #[serde(default)]
    pub properties: BackupJobProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupJobProperties {
    #[serde(default)]
    pub entity_friendly_name: Option<String>,
    #[serde(default)]
    pub backup_management_type: Option<String>,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub container_name: Option<String>,
    #[serde(default)]
    pub virtual_machine_id: Option<String>,
    #[serde(default)]
    pub error_details: Option<Vec<JobErrorDetail>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobErrorDetail {
    /// An integer in the REST spec; some exports carry the symbolic code here instead.
    #[serde(default)]
    pub error_code: Option<IntOrString>,
    #[serde(default)]
    pub error_string: Option<String>,
    #[serde(default)]
    pub error_title: Option<String>,
    #[serde(default)]
    pub recommendations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

/// The manifest `collect` writes beside the resources (`snapshot.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema: String,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub cloud: Option<String>,
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

pub use super::types::{
    POLICY_ASSIGNMENTS, POLICY_DEFINITIONS, POLICY_EXEMPTIONS, POLICY_SET_DEFINITIONS,
    RESOURCE_CONTAINERS,
};

/// Something the collector could not read: facts that depend on it become unknown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
pub struct Gap {
    pub scope: String,
    pub what: String,
    pub reason: String,
}
