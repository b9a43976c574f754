//! Typed views of the ARM resources backup-doctor reads, grouped by resource family. Only the
//! fields the facts need are declared; everything is optional because ARM omits absent values, and
//! an absent value must become an `unknown` fact rather than a load error (serde reads a missing
//! `Option` as `None`; other fields that may be absent say `#[serde(default)]`). A present value
//! of the wrong JSON type is a load error (see `source::snapshot`).

pub use super::types::{
    POLICY_ASSIGNMENTS, POLICY_DEFINITIONS, POLICY_EXEMPTIONS, POLICY_SET_DEFINITIONS,
    RESOURCE_CONTAINERS,
};

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdRef {
    pub id: Option<String>,
}

/// An ARM resource of which only the id, the name and the properties are read. Resources are
/// decoded from JSON objects only, so serde's "expected struct ..." never names this wrapper in
/// a message; a subnet, which can stand as an element of its virtual network, keeps its own struct.
#[derive(Debug, Clone, Deserialize)]
pub struct Arm<P> {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub properties: P,
}

// Tenant-level objects (subscriptions, provider registrations, Graph service principals),
// resource groups, and the manifest `collect` writes with the gaps of a collection.

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub display_name: Option<String>,
    pub state: Option<String>,
    /// Present on Resource Graph `resourcecontainers` rows (`GET /subscriptions` has no
    /// `properties`): the management groups the subscription sits under.
    pub properties: Option<SubscriptionContainerProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionContainerProperties {
    /// Nearest parent first, the tenant root group last.
    pub management_group_ancestors_chain: Option<Vec<ManagementGroupRef>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroupRef {
    pub name: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub id: Option<String>,
    pub namespace: String,
    pub registration_state: Option<String>,
}

/// A Microsoft Graph service principal (only the fields that map an appId to an object id).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    pub location: Option<String>,
}

/// The manifest `collect` writes beside the resources (`snapshot.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema: String,
    pub created: Option<String>,
    pub tenant_id: Option<String>,
    pub cloud: Option<String>,
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

/// Something the collector could not read: facts that depend on it become unknown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
pub struct Gap {
    pub scope: String,
    pub what: String,
    pub reason: String,
}

// Virtual machines with their instance view and extensions, managed disks, disk encryption
// sets and restore point collections.

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    pub id: String,
    pub name: String,
    pub location: Option<String>,
    /// The VM's Azure tags (`null` in some responses); reported for filtering, not judged.
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
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
    /// ARM sends `dataDisks: []` for a VM without data disks: absent, they were not read.
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
    /// ARM always sends a disk's `properties`: without them nothing about the disk is known,
    /// which is not the same as a disk with no encryption, sharing or auth mode set.
    pub properties: Option<DiskProperties>,
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

// Network interfaces, virtual networks and subnets, NSGs, route tables, private endpoints,
// private DNS, and the service tags document.

pub type NetworkInterface = Arm<NicProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicProperties {
    pub network_security_group: Option<IdRef>,
    pub ip_configurations: Option<Vec<NicIpConfiguration>>,
    pub virtual_machine: Option<IdRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicIpConfiguration {
    pub name: Option<String>,
    pub properties: Option<NicIpConfigurationProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicIpConfigurationProperties {
    #[serde(rename = "privateIPAddress")]
    pub private_ip_address: Option<String>,
    pub subnet: Option<IdRef>,
    pub primary: Option<bool>,
    pub application_security_groups: Option<Vec<IdRef>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetwork {
    pub id: String,
    pub name: Option<String>,
    pub location: Option<String>,
    #[serde(default)]
    pub properties: VnetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetProperties {
    pub address_space: Option<AddressSpace>,
    pub subnets: Option<Vec<Subnet>>,
    pub dhcp_options: Option<DhcpOptions>,
    /// Kept whole: only the peers' address spaces are read.
    pub virtual_network_peerings: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressSpace {
    pub address_prefixes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DhcpOptions {
    pub dns_servers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub id: String,
    pub name: Option<String>,
    /// Absent, the subnet's NSG and route table are unknown: an absent `networkSecurityGroup`
    /// inside present `properties` is no NSG, an absent `properties` says nothing.
    pub properties: Option<SubnetProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetProperties {
    pub address_prefix: Option<String>,
    pub address_prefixes: Option<Vec<String>>,
    pub network_security_group: Option<IdRef>,
    pub route_table: Option<IdRef>,
}

pub type NetworkSecurityGroup = Arm<NsgProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgProperties {
    /// ARM sends `securityRules: []` for an NSG without rules of its own (the 2024-03-01
    /// `NetworkSecurityGroupList` example): absent, the rules were not read.
    pub security_rules: Option<Vec<SecurityRule>>,
    pub default_security_rules: Option<Vec<SecurityRule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRule {
    pub name: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Value,
}

pub type RouteTable = Arm<serde_json::Value>;

pub type PrivateEndpoint = Arm<serde_json::Value>;

/// Private DNS zones, their virtual network links and A record sets are kept whole for the
/// network analyser; the foundation only indexes them.
pub type GenericResource = Arm<serde_json::Value>;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTags {
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
    pub region: Option<String>,
    #[serde(default)]
    pub address_prefixes: Vec<String>,
}

// `Microsoft.Authorization`: locks, role assignments and definitions, Azure Policy assignments,
// definitions, set definitions and exemptions.

pub type Lock = Arm<LockProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockProperties {
    pub level: Option<String>,
    pub notes: Option<String>,
}

impl Lock {
    /// The scope a lock applies to: the prefix of its id before the locks provider segment.
    pub fn scope(&self) -> &str {
        policy_object_scope(&self.id, "locks")
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
    pub role_definition_id: Option<String>,
    pub principal_id: Option<String>,
    pub scope: Option<String>,
}

pub type RoleDefinition = Arm<RoleDefinitionProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
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

/// A parameter value as assignments and set-definition members give it: `{"value": ...}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PolicyParameterValue {
    pub value: Option<serde_json::Value>,
}

/// A parameter as a definition declares it; only the default matters for evaluation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyParameterDefinition {
    pub default_value: Option<serde_json::Value>,
}

pub type PolicyAssignment = Arm<PolicyAssignmentProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignmentProperties {
    pub display_name: Option<String>,
    pub policy_definition_id: Option<String>,
    pub scope: Option<String>,
    pub not_scopes: Option<Vec<String>>,
    pub parameters: Option<BTreeMap<String, PolicyParameterValue>>,
    /// `Default` or `DoNotEnforce`.
    pub enforcement_mode: Option<String>,
    /// Newer assignments can change the effect per selector (API 2022-06-01 and later); kept
    /// raw because only their presence is judged.
    pub overrides: Option<serde_json::Value>,
    pub resource_selectors: Option<serde_json::Value>,
}

pub type PolicyDefinition = Arm<PolicyDefinitionProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDefinitionProperties {
    pub display_name: Option<String>,
    /// `All`, `Indexed`, or a resource provider mode (`Microsoft.KeyVault.Data`, ...).
    pub mode: Option<String>,
    pub parameters: Option<BTreeMap<String, PolicyParameterDefinition>>,
    /// `{"if": ..., "then": {"effect": ...}}`, evaluated by `resolve::policy_rule`.
    pub policy_rule: Option<serde_json::Value>,
}

pub type PolicySetDefinition = Arm<PolicySetDefinitionProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySetDefinitionProperties {
    pub display_name: Option<String>,
    pub parameters: Option<BTreeMap<String, PolicyParameterDefinition>>,
    #[serde(default)]
    pub policy_definitions: Vec<PolicyDefinitionReference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDefinitionReference {
    pub policy_definition_id: Option<String>,
    pub policy_definition_reference_id: Option<String>,
    pub parameters: Option<BTreeMap<String, PolicyParameterValue>>,
}

pub type PolicyExemption = Arm<PolicyExemptionProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyExemptionProperties {
    pub display_name: Option<String>,
    pub policy_assignment_id: Option<String>,
    pub policy_definition_reference_ids: Option<Vec<String>>,
    pub exemption_category: Option<String>,
    pub expires_on: Option<String>,
}

/// The scope an Azure Policy object or a lock applies at: the part of its id before
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

// Key vaults and the control-plane metadata of their keys and secrets.

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVault {
    pub id: String,
    pub name: String,
    pub location: Option<String>,
    #[serde(default)]
    pub properties: KeyVaultProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVaultProperties {
    pub vault_uri: Option<String>,
    pub access_policies: Option<Vec<AccessPolicy>>,
    pub enable_rbac_authorization: Option<bool>,
    pub enabled_for_disk_encryption: Option<bool>,
    pub enable_soft_delete: Option<bool>,
    pub enable_purge_protection: Option<bool>,
    pub network_acls: Option<NetworkAcls>,
    pub public_network_access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    pub object_id: Option<String>,
    #[serde(default)]
    pub permissions: AccessPolicyPermissions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyPermissions {
    pub keys: Option<Vec<String>>,
    pub secrets: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAcls {
    pub default_action: Option<String>,
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
    pub attributes: Option<VaultItemAttributes>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultItemAttributes {
    pub enabled: Option<bool>,
    /// Expiry, seconds since the epoch.
    pub exp: Option<i64>,
}

// Recovery Services vaults, backup policies, protected items and backup jobs.

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryVault {
    pub id: String,
    pub name: String,
    pub location: Option<String>,
    /// Absent, the vault's private endpoints are unknown (an absent
    /// `privateEndpointConnections` inside present `properties` is none).
    pub properties: Option<RecoveryVaultProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryVaultProperties {
    pub public_network_access: Option<String>,
    pub encryption: Option<serde_json::Value>,
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
    pub backup_management_type: Option<String>,
    pub policy_type: Option<String>,
    #[serde(rename = "instantRPDetails")]
    pub instant_rp_details: Option<InstantRpDetails>,
    pub instant_rp_retention_range_in_days: Option<i64>,
    /// When backups run (`SimpleSchedulePolicy` of Standard, `SimpleSchedulePolicyV2` of Enhanced).
    pub schedule_policy: Option<SchedulePolicy>,
    /// A Windows time-zone name (`W. Europe Standard Time`, `UTC`) the run times are read in.
    pub time_zone: Option<String>,
}

/// A VM backup policy's schedule, as ARM returns it: Standard policies give `scheduleRunTimes`
/// (and `scheduleRunDays` when weekly) at this level, Enhanced ones nest them in
/// `dailySchedule` / `weeklySchedule` or give an `hourlySchedule`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulePolicy {
    pub schedule_policy_type: Option<String>,
    /// `Daily`, `Weekly` or `Hourly`.
    pub schedule_run_frequency: Option<String>,
    pub schedule_run_times: Option<Vec<String>>,
    pub schedule_run_days: Option<Vec<String>>,
    pub hourly_schedule: Option<HourlySchedule>,
    pub daily_schedule: Option<DailySchedule>,
    pub weekly_schedule: Option<WeeklySchedule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourlySchedule {
    /// Hours between runs: 4, 6, 8, 12 or 24.
    pub interval: Option<i64>,
    /// Only the time of day counts; the date is the day the policy was written.
    pub schedule_window_start_time: Option<String>,
    /// Hours the window stays open from its start.
    pub schedule_window_duration: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailySchedule {
    pub schedule_run_times: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeeklySchedule {
    pub schedule_run_days: Option<Vec<String>>,
    pub schedule_run_times: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantRpDetails {
    #[serde(rename = "azureBackupRGNamePrefix")]
    pub azure_backup_rg_name_prefix: Option<String>,
    #[serde(rename = "azureBackupRGNameSuffix")]
    pub azure_backup_rg_name_suffix: Option<String>,
}

pub type ProtectedItem = Arm<ProtectedItemProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedItemProperties {
    pub protected_item_type: Option<String>,
    pub workload_type: Option<String>,
    pub friendly_name: Option<String>,
    pub virtual_machine_id: Option<String>,
    pub source_resource_id: Option<String>,
    pub container_name: Option<String>,
    pub protection_state: Option<String>,
    pub protection_status: Option<String>,
    pub health_status: Option<String>,
    pub last_backup_status: Option<String>,
    pub last_backup_time: Option<String>,
    /// When the newest recovery point was taken.
    pub last_recovery_point: Option<String>,
    pub policy_id: Option<String>,
    pub policy_name: Option<String>,
    pub policy_type: Option<String>,
    pub extended_properties: Option<ProtectedItemExtendedProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedItemExtendedProperties {
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
    pub entity_friendly_name: Option<String>,
    pub backup_management_type: Option<String>,
    pub operation: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub container_name: Option<String>,
    pub virtual_machine_id: Option<String>,
    pub error_details: Option<Vec<JobErrorDetail>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobErrorDetail {
    /// An integer in the REST spec; some exports carry the symbolic code here instead.
    pub error_code: Option<IntOrString>,
    pub error_string: Option<String>,
    pub error_title: Option<String>,
    pub recommendations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

// ---------------------------------------------------------------------------------------------
// Change history: Resource Graph `resourcechanges` rows
// ---------------------------------------------------------------------------------------------

/// One change to one resource, as a row of Resource Graph's `resourcechanges` table holds it
/// (docs/change-attribution.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceChange {
    pub id: String,
    pub properties: ResourceChangeProperties,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceChangeProperties {
    pub target_resource_id: String,
    #[serde(default)]
    pub target_resource_type: Option<String>,
    /// `Create`, `Update` or `Delete`.
    pub change_type: String,
    pub change_attributes: ChangeAttributes,
    /// Changed property paths (`properties.securityRules[3].properties.access`); empty for a
    /// create or a delete.
    #[serde(default)]
    pub changes: BTreeMap<String, PropertyChange>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeAttributes {
    /// When ARM recorded the change (RFC 3339).
    pub timestamp: String,
    #[serde(default)]
    pub changed_by: Option<String>,
    #[serde(default)]
    pub changed_by_type: Option<String>,
    /// `Azure Portal`, `Terraform`, `Azure CLI`, `Azure Policy`, …
    #[serde(default)]
    pub client_type: Option<String>,
    /// The ARM operation, `Microsoft.Network/networkSecurityGroups/write`.
    #[serde(default)]
    pub operation: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyChange {
    #[serde(default)]
    pub previous_value: Option<serde_json::Value>,
    #[serde(default)]
    pub new_value: Option<serde_json::Value>,
    #[serde(default)]
    pub property_change_type: Option<String>,
    #[serde(default)]
    pub change_category: Option<String>,
}
