//! Key vaults and the control-plane metadata of their keys and secrets.

use serde::Deserialize;

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
