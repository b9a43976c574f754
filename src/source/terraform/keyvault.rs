//! Key Vault: what a table cannot say of a vault's access (RBAC or access policies) and
//! firewall, and access policies declared on their own.

use super::attrs::Attrs;
use super::fields::{self, field, Field, Kind::*};
use super::mapping::{Mapped, Planned, Resource};
use crate::error::InputError;
use crate::source::change::{unknown_value, Action, Edit, KNOWN_AFTER_APPLY};
use serde_json::{json, Value};

/// Who may reach the vault and its keys: RBAC or access policies, and the firewall. A firewall
/// or a list of policies known only after apply is marked so, since its absence would mean
/// "open" or "nobody".
pub(super) fn access(planned: &Planned, vault: &mut Resource) -> Result<(), InputError> {
    let a = planned.attrs;
    let properties = vault.properties();
    // azurerm 4.x renamed `enable_rbac_authorization` to `rbac_authorization_enabled`.
    let rbac = a
        .boolean("rbac_authorization_enabled")?
        .or(a.boolean("enable_rbac_authorization")?);
    if let Some(rbac) = rbac {
        properties.insert("enableRbacAuthorization".into(), rbac);
    }
    // Soft delete cannot be turned off on key vaults since 2020; azurerm 3+ has no attribute.
    properties.insert("enableSoftDelete".into(), json!(true));
    match a.blocks("network_acls")? {
        Some(acls) => {
            if let Some(acl) = acls.first() {
                let acl = fields::build(acl, json!({}), NETWORK_ACL)?;
                properties.insert("networkAcls".into(), acl);
            }
        }
        // The firewall known only after apply: its action and bypass are, not absent (absent,
        // ARM's defaults would let every network in).
        None => {
            properties.insert(
                "networkAcls".into(),
                json!({ "defaultAction": unknown_value(), "bypass": unknown_value() }),
            );
        }
    }
    match a.blocks("access_policy")? {
        Some(policies) => {
            // Policies managed as separate resources appear here too once refreshed; an empty list
            // from a vault that manages none inline says nothing, so it does not erase them.
            if !policies.is_empty() || planned.action != Action::Update {
                let entries = policies
                    .iter()
                    .map(access_policy_entry)
                    .collect::<Result<Vec<_>, _>>()?;
                properties.insert("accessPolicies".into(), Value::Array(entries));
            }
        }
        None => {
            properties.insert("accessPolicies".into(), unknown_value());
        }
    }
    Ok(())
}

/// An access policy, inline in its vault or declared on its own.
fn access_policy_entry(policy: &Attrs) -> Result<Value, InputError> {
    fields::build(policy, json!({ "permissions": {} }), ACCESS_POLICY)
}

/// A policy declared on its own is the element of its vault's policies for its object id.
pub(super) fn access_policy(planned: &Planned) -> Result<Mapped, InputError> {
    let a = planned.attrs;
    let vault = a.required("key_vault_id")?;
    let object_id = a
        .text("object_id")?
        .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_string());
    let id = format!("{vault}/objectId/{object_id}");
    let item = (planned.action != Action::Delete)
        .then(|| access_policy_entry(a))
        .transpose()?;
    Ok(Mapped {
        id,
        edits: vec![Edit::Element {
            parent: vault,
            array: &["properties", "accessPolicies"],
            key_field: &["objectId"],
            key: object_id,
            item,
        }],
    })
}

/// A key vault's firewall (`network_acls`).
#[rustfmt::skip]
pub(super) const NETWORK_ACL: &[Field] = &[
    field("default_action", "defaultAction", Str),
    field("bypass", "bypass", Str),
    field("ip_rules", "ipRules", Wrapped("value")),
    field("virtual_network_subnet_ids", "virtualNetworkRules", Wrapped("id")),
];

/// A key vault access policy, inline (`access_policy`) or declared on its own.
#[rustfmt::skip]
pub(super) const ACCESS_POLICY: &[Field] = &[
    field("key_permissions", "permissions.keys", Strs),
    field("secret_permissions", "permissions.secrets", Strs),
    field("certificate_permissions", "permissions.certificates", Strs),
    field("tenant_id", "tenantId", Str),
    field("object_id", "objectId", Str),
    field("application_id", "applicationId", Str),
];
