//! Governance: what a table cannot say of Azure Policy assignments and definitions, and
//! resource provider registrations. (Locks and exemptions are declared whole in the registry.)

use super::mapping::{Mapped, Placed, Planned, Resource};
use crate::error::InputError;
use crate::source::change::{unknown_value, Action, Edit};
use serde_json::{json, Value};

/// Where the assignment applies and whether it is enforced: `enforce = false` is ARM's
/// `DoNotEnforce`. Overrides and resource selectors are kept only as present, which is all the
/// evaluation judges.
pub(super) fn assignment_effect(
    planned: &Planned,
    assignment: &mut Resource,
) -> Result<(), InputError> {
    let a = planned.attrs;
    if let Some(scope) = assignment.scope.clone() {
        assignment
            .properties()
            .insert("scope".into(), Value::String(scope));
    }
    let enforcement = match a.boolean("enforce")? {
        Some(Value::Bool(false)) => json!("DoNotEnforce"),
        Some(Value::Bool(true)) | None => json!("Default"),
        Some(unknown) => unknown,
    };
    let properties = assignment.properties();
    properties.insert("enforcementMode".into(), enforcement);
    for (attribute, field) in [
        ("overrides", "overrides"),
        ("resource_selectors", "resourceSelectors"),
    ] {
        match a.blocks(attribute)? {
            Some(blocks) if blocks.is_empty() => {}
            Some(blocks) => {
                properties.insert(field.into(), json!(vec![json!({}); blocks.len()]));
            }
            None => {
                properties.insert(field.into(), unknown_value());
            }
        }
    }
    Ok(())
}

/// A definition lives in a management group when the plan names one, else in the provider's
/// subscription.
pub(super) fn definition_id(planned: &Planned) -> Result<Placed, InputError> {
    let a = planned.attrs;
    let name = a.required("name")?;
    let id = match (a.text("id")?, a.text("management_group_id")?) {
        (Some(id), _) => id,
        (None, Some(group)) => format!(
            "{}/providers/{}/{name}",
            group.trim_end_matches('/'),
            planned.arm_type
        ),
        (None, None) => format!(
            "/subscriptions/{}/providers/{}/{name}",
            planned.context.provider_subscription(),
            planned.arm_type
        ),
    };
    Ok(Placed {
        id,
        name: Some(name),
    })
}

/// A provider registration is the object `GET /subscriptions/{id}/providers` lists, not an ARM
/// resource with a header.
pub(super) fn provider_registration(planned: &Planned) -> Result<Mapped, InputError> {
    let a = planned.attrs;
    let namespace = a.required("name")?;
    let id = match a.text("id")? {
        Some(id) => id,
        None => format!(
            "/subscriptions/{}/providers/{namespace}",
            planned.context.provider_subscription()
        ),
    };
    // Destroying the registration resource unregisters the namespace.
    let state = if planned.action == Action::Delete {
        "Unregistered"
    } else {
        "Registered"
    };
    let resource = json!({ "id": id, "namespace": namespace, "registrationState": state });
    Ok(Mapped {
        id,
        edits: vec![Edit::Put(resource)],
    })
}
