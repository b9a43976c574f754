//! `Microsoft.Authorization`: locks, role assignments and definitions, Azure Policy assignments,
//! definitions, set definitions and exemptions.

use super::Arm;
use serde::Deserialize;
use std::collections::BTreeMap;

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
