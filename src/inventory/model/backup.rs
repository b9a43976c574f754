//! Recovery Services vaults, backup policies, protected items and backup jobs.

use super::Arm;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryVault {
    pub id: String,
    pub name: String,
    pub location: Option<String>,
    #[serde(default)]
    pub properties: RecoveryVaultProperties,
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
