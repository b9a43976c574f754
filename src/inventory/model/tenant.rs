//! Tenant-level objects (subscriptions, provider registrations, Graph service principals),
//! resource groups, and the manifest `collect` writes with the gaps of a collection.

use serde::Deserialize;

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
