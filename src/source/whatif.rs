//! Reads the JSON of `az deployment group|sub what-if --no-pretty-print -o json`: a
//! `changes[]` list whose entries carry `resourceId`, `changeType` (Create, Delete, Deploy,
//! Modify, NoChange, Ignore, Unsupported) and the resource `before` and `after` the deployment,
//! both already ARM-shaped. Template expressions the service could not evaluate (`"[reference(...)]"`)
//! are values known only after the deployment and are never taken literally.

use super::change::*;
use crate::error::InputError;
use crate::inventory::types::RESOURCE_GROUPS;
use crate::inventory::{key, ArmId};
use crate::source::text::{self, Decoded, Encoding};
use serde_json::{json, Map, Value};
use std::path::Path;

const FIX: &str = "produce the file with `az deployment group what-if --no-pretty-print -o json ... > whatif.json` (or `az deployment sub what-if`)";

pub fn load(file: &Path) -> Result<ChangeSet, InputError> {
    let bytes = std::fs::read(file).map_err(|e| {
        InputError::new(
            file,
            None,
            format!("cannot read the what-if result: {e}"),
            FIX,
        )
    })?;
    let (text, encoding) = text::decode_str(file, &bytes)?;
    parse_text(file, &text, encoding)
}

/// Reads a what-if result already in memory as UTF-8.
pub fn parse(file: &Path, text: &str) -> Result<ChangeSet, InputError> {
    parse_text(file, text, Encoding::Utf8)
}

fn parse_text(file: &Path, text: &str, encoding: Encoding) -> Result<ChangeSet, InputError> {
    let document: Value = serde_json::from_str(text).map_err(|e| {
        let decoded = Decoded {
            bytes: text.as_bytes().into(),
            encoding,
        };
        text::not_json(file, &decoded, &e, FIX)
    })?;
    let bad =
        |place: &str, problem: String| InputError::new(file, Some(place.to_string()), problem, FIX);
    let changes = match document.get("changes") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(bad(
                "changes",
                format!("expected an array, found {}", kind_of(other)),
            ))
        }
        None => {
            return Err(bad(
                "top level",
                "this is not a what-if result: it has no `changes` array".into(),
            ))
        }
    };
    if let Some(error) = document.get("error").filter(|e| !e.is_null()) {
        return Err(bad(
            "error",
            format!(
                "the what-if operation failed: {}",
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)")
            ),
        ));
    }
    let mut set = ChangeSet::new(file, "what-if");
    for (index, item) in changes.iter().enumerate() {
        let place = format!("changes[{index}]");
        let Value::Object(object) = item else {
            return Err(bad(
                &place,
                format!("expected a change object, found {}", kind_of(item)),
            ));
        };
        let string = |field: &str| -> Result<&str, InputError> {
            match object.get(field) {
                Some(Value::String(s)) => Ok(s),
                Some(other) => Err(bad(
                    &join_path(&place, field),
                    format!("expected a string, found {}", kind_of(other)),
                )),
                None => Err(bad(&join_path(&place, field), "missing".into())),
            }
        };
        let resource_id = string("resourceId")?.to_string();
        let change_type = string("changeType")?;
        let action = match change_type.to_ascii_lowercase().as_str() {
            "create" => Action::Create,
            "delete" => Action::Delete,
            "modify" | "deploy" => Action::Update,
            "nochange" | "ignore" => continue,
            "unsupported" => {
                set.unmapped.push(format!("{resource_id} (what-if cannot predict this change)"));
                continue;
            }
            other => {
                return Err(bad(
                    &join_path(&place, "changeType"),
                    format!("unknown change type `{other}`; what-if uses Create, Delete, Deploy, Modify, NoChange, Ignore, Unsupported"),
                ))
            }
        };
        let side = |name: &str| -> Result<Option<Value>, InputError> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
                Some(other) => Err(bad(
                    &join_path(&place, name),
                    format!("expected an object or null, found {}", kind_of(other)),
                )),
            }
        };
        let after_place = join_path(&place, "after");
        let after = side("after")?;
        let before = side("before")?;
        let state = match (action, after, before) {
            (Action::Delete, _, before) => before.unwrap_or_else(|| json!({ "id": resource_id })),
            (_, Some(after), _) => after,
            (_, None, _) => {
                return Err(bad(
                    &after_place,
                    "a Create, Modify or Deploy needs the `after` resource".into(),
                ))
            }
        };
        let mut unknown_after_apply = Vec::new();
        let state = mark_expressions(state, "", &mut unknown_after_apply);
        let Some(edits) = edits_for(&resource_id, action, state) else {
            set.unmapped.push(resource_id);
            continue;
        };
        let line = line_of(
            text,
            "\"changes\"",
            &format!("\"resourceId\": \"{resource_id}\""),
        )
        .or_else(|| {
            line_of(
                text,
                "\"changes\"",
                &format!("\"resourceId\":\"{resource_id}\""),
            )
        });
        set.changes.push(Change {
            address: resource_id.clone(),
            action,
            resource_type: arm_type(&resource_id),
            id: resource_id,
            unknown_after_apply,
            line,
            place: after_place,
            edits,
        });
    }
    let mut subscriptions: Vec<String> = set
        .changes
        .iter()
        .filter_map(|c| ArmId::parse(&c.id).subscription.map(key))
        .collect();
    subscriptions.sort();
    subscriptions.dedup();
    set.subscriptions = subscriptions;
    Ok(set)
}

/// `Microsoft.Network/networkSecurityGroups/securityRules` from a resource id.
fn arm_type(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    let Some(at) = lower.rfind("/providers/") else {
        return RESOURCE_GROUPS.into();
    };
    let parts: Vec<&str> = id[at + "/providers/".len()..].split('/').collect();
    let namespace = parts.first().copied().unwrap_or_default();
    let types: Vec<&str> = parts.iter().skip(1).step_by(2).copied().collect();
    format!("{namespace}/{}", types.join("/"))
}

/// Replaces unevaluated template expressions by [`KNOWN_AFTER_APPLY`] and records where.
fn mark_expressions(value: Value, path: &str, out: &mut Vec<String>) -> Value {
    match value {
        Value::String(s) if s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[") => {
            out.push(path.to_string());
            unknown_value()
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let inner = mark_expressions(v, &join_path(path, &k), out);
                    (k, inner)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| mark_expressions(v, &format!("{path}[{i}]"), out))
                .collect(),
        ),
        other => other,
    }
}

/// The edits of one what-if change; `None` for child types that have no parent to merge into.
fn edits_for(id: &str, action: Action, state: Value) -> Option<Vec<Edit>> {
    let kind = arm_type(id).to_ascii_lowercase();
    let parent = |segment: &str| {
        let lower = id.to_ascii_lowercase();
        lower.rfind(segment).map(|at| id[..at].to_string())
    };
    let name = id.rsplit('/').next().unwrap_or_default().to_string();
    let element = |segment: &str, array: &'static [&'static str]| -> Option<Vec<Edit>> {
        let item = (action != Action::Delete).then(|| {
            let mut item = Map::new();
            item.insert("name".into(), json!(name));
            item.insert(
                "properties".into(),
                state.get("properties").cloned().unwrap_or(json!({})),
            );
            Value::Object(item)
        });
        Some(vec![Edit::Element {
            parent: parent(segment)?,
            array,
            key_field: &["name"],
            key: name.clone(),
            item,
        }])
    };
    Some(match kind.as_str() {
        "microsoft.network/networksecuritygroups/securityrules" => {
            element("/securityrules/", &["properties", "securityRules"])?
        }
        "microsoft.network/routetables/routes" => element("/routes/", &["properties", "routes"])?,
        "microsoft.keyvault/vaults/accesspolicies" => {
            let vault = parent("/accesspolicies/")?;
            let policies = state
                .pointer("/properties/accessPolicies")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let remove = action == Action::Delete || name.eq_ignore_ascii_case("remove");
            policies
                .into_iter()
                .map(|policy| Edit::Element {
                    parent: vault.clone(),
                    array: &["properties", "accessPolicies"],
                    key_field: &["objectId"],
                    key: policy
                        .get("objectId")
                        .and_then(Value::as_str)
                        .unwrap_or(KNOWN_AFTER_APPLY)
                        .to_string(),
                    item: (!remove).then_some(policy),
                })
                .collect()
        }
        _ => {
            let mut state = state;
            if let Value::Object(map) = &mut state {
                map.entry("id").or_insert_with(|| json!(id));
            }
            vec![match action {
                Action::Create | Action::Replace => Edit::Put(state),
                Action::Update => Edit::Model(state),
                Action::Delete => Edit::Remove(id.to_string()),
            }]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_changes_and_marks_expressions() {
        let text = json!({
            "status": "Succeeded", "error": null,
            "changes": [
                { "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt/routes/default",
                  "changeType": "Create", "before": null,
                  "after": { "name": "default", "properties": { "addressPrefix": "0.0.0.0/0", "nextHopType": "None" } } },
                { "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
                  "changeType": "Modify", "before": {}, "after": { "properties": { "diskSizeGB": "[parameters('size')]" } } },
                { "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/w", "changeType": "NoChange" }
            ]
        })
        .to_string();
        let set = parse(Path::new("w.json"), &text).unwrap();
        assert_eq!(set.changes.len(), 2);
        let Edit::Element { parent, .. } = &set.changes[0].edits[0] else {
            panic!()
        };
        assert!(parent.ends_with("/routeTables/rt"));
        assert_eq!(
            set.changes[1].unknown_after_apply,
            vec!["properties.diskSizeGB"]
        );
        assert_eq!(
            arm_type(&set.changes[0].id),
            "Microsoft.Network/routeTables/routes"
        );
    }

    #[test]
    fn bad_shapes_name_the_place() {
        let error = parse(Path::new("w.json"), r#"{"changes": [{"resourceId": 3}]}"#).unwrap_err();
        assert_eq!(error.place.as_deref(), Some("changes[0].resourceId"));
        let error = parse(
            Path::new("w.json"),
            r#"{"changes": [{"resourceId": "/x", "changeType": "Teleport"}]}"#,
        )
        .unwrap_err();
        assert_eq!(error.place.as_deref(), Some("changes[0].changeType"));
    }
}
