//! Reads the JSON of `terraform show -json <planfile>` (azurerm provider) into ARM-shaped changes.
//!
//! Each entry of `resource_changes[]` carries `change.actions` (`create`, `update`, `delete`, or a
//! replace as `["delete","create"]` / `["create","delete"]`), `change.before`, `change.after` and
//! `change.after_unknown` (the same shape as `after`, `true` where a value is known only after
//! apply). The azurerm attributes are mapped to the ARM resource the snapshot loader reads; a
//! child resource (rule, route, association, access policy, attachment) becomes an edit of its
//! parent. Values known only after apply are never guessed: they stay absent, or, where absence
//! would mean a default, carry [`KNOWN_AFTER_APPLY`].
//!
//! This file reads the plan. [`registry`] is the table of the Terraform types mapped, with
//! their attribute tables ([`fields`]); [`mapping`] is what every mapping shares (ids, the ARM
//! header, edits); one file per resource family holds the code for what a table cannot say.

mod address;
mod attrs;
mod backup;
mod compute;
mod fields;
mod keyvault;
mod mapping;
mod network;
mod policy;
mod references;
mod registry;

use super::change::*;
use crate::error::InputError;
use crate::inventory::{key, ArmId, Inventory};
use crate::source::text::{self, Decoded, Encoding};
use attrs::Attrs;
use mapping::Planned;
use references::References;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Reads a plan file. `baseline` supplies the subscription of resource groups named by plans that
/// do not know a new resource's id yet, and the key vault of a disk encryption set's key URL.
pub fn load(file: &Path, baseline: Option<&Inventory>) -> Result<ChangeSet, InputError> {
    let bytes = std::fs::read(file).map_err(|e| {
        InputError::new(
            file,
            None,
            format!("cannot read the plan: {e}"),
            "run `terraform show -json tfplan > plan.json` and pass that file to --plan",
        )
    })?;
    let (text, encoding) = text::decode_str(file, &bytes)?;
    parse_text(file, &text, encoding, baseline)
}

/// Reads a plan already in memory as UTF-8.
pub fn parse(
    file: &Path,
    text: &str,
    baseline: Option<&Inventory>,
) -> Result<ChangeSet, InputError> {
    parse_text(file, text, Encoding::Utf8, baseline)
}

fn parse_text(
    file: &Path,
    text: &str,
    encoding: Encoding,
    baseline: Option<&Inventory>,
) -> Result<ChangeSet, InputError> {
    let document: Value = serde_json::from_str(text).map_err(|e| {
        let decoded = Decoded {
            bytes: text.as_bytes().into(),
            encoding,
        };
        text::not_json(
            file,
            &decoded,
            &e,
            "pass the output of `terraform show -json tfplan`, not the binary plan file or the text of `terraform plan`",
        )
    })?;
    let Value::Object(top) = &document else {
        return Err(bad(
            file,
            "top level",
            format!("expected the plan object, found {}", kind_of(&document)),
            FIX_PLAN,
        ));
    };
    if !top.contains_key("format_version") && !top.contains_key("resource_changes") {
        return Err(bad(
            file,
            "top level",
            "this is not a Terraform plan in JSON: it has neither `format_version` nor `resource_changes`",
            FIX_PLAN,
        ));
    }
    let items = match top.get("resource_changes") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(other) => {
            return Err(bad(
                file,
                "resource_changes",
                format!("expected an array, found {}", kind_of(other)),
                FIX_PLAN,
            ))
        }
    };
    check_version(file, top)?;
    let mut context = Context::new(file, top, items, baseline);
    // The ids of the planned resources, for references between them. Two passes, since a
    // resource may be placed by another's (an extension under a VM whose name is random).
    for _ in 0..2 {
        for (index, item) in items.iter().enumerate() {
            if item.get("deposed").is_some() {
                continue;
            }
            let Some(address) = item.get("address").and_then(Value::as_str) else {
                continue;
            };
            if let Some(id) = context.resource_group_id(item) {
                context.references.plan(address, &id);
                continue;
            }
            let place = format!("resource_changes[{index}]");
            if let Ok(Some(change)) = read_change(&context, &place, item, text, &mut Vec::new()) {
                context.references.plan(address, &change.id);
            }
        }
    }
    let mut changes = Vec::new();
    let mut unmapped = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let place = format!("resource_changes[{index}]");
        changes.extend(read_change(&context, &place, item, text, &mut unmapped)?);
    }
    let mut subscriptions: Vec<String> = changes
        .iter()
        .filter_map(|c| ArmId::parse(&c.id).subscription.map(key))
        .filter(|s| s != &key(KNOWN_AFTER_APPLY))
        .collect();
    subscriptions.sort();
    subscriptions.dedup();
    Ok(ChangeSet {
        file: file.to_path_buf(),
        kind: "terraform",
        changes,
        unmapped,
        subscriptions,
        not_evaluated: Vec::new(),
        notes: Vec::new(),
    })
}

/// The JSON output format promises that a new major version is one a reader must refuse; every
/// minor version (0.1 of Terraform 0.12 to 1.2 of 1.8 and later) only adds fields, so it is read.
fn check_version(file: &Path, top: &Map<String, Value>) -> Result<(), InputError> {
    let version = match top.get("format_version") {
        None => return Ok(()),
        Some(Value::String(version)) => version,
        Some(other) => {
            return Err(bad(
                file,
                "format_version",
                format!(
                    "expected a string such as \"1.2\", found {}",
                    kind_of(other)
                ),
                FIX_PLAN,
            ))
        }
    };
    match version.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
        Some(0 | 1) => Ok(()),
        _ => Err(bad(
            file,
            "format_version",
            format!("plan format version {version:?} is not one this tool reads (0.x and 1.x)"),
            "use a Terraform release whose `terraform show -json` writes format 1.x, or a newer backup-doctor",
        )),
    }
}

const FIX_PLAN: &str =
    "produce the file with `terraform plan -out tfplan && terraform show -json tfplan > plan.json`";

fn bad(file: &Path, place: &str, problem: impl Into<String>, fix: &str) -> InputError {
    InputError::new(file, Some(place.to_string()), problem, fix)
}

/// What every mapping needs besides the change itself.
struct Context<'a> {
    file: &'a Path,
    baseline: Option<&'a Inventory>,
    /// The subscription the azurerm provider is configured for, when the plan says so or all the
    /// ids it knows agree.
    default_subscription: Option<String>,
    references: References<'a>,
}

impl<'a> Context<'a> {
    fn new(
        file: &'a Path,
        top: &'a Map<String, Value>,
        items: &[Value],
        baseline: Option<&'a Inventory>,
    ) -> Self {
        let configured = top
            .get("configuration")
            .and_then(|c| {
                c.pointer("/provider_config/azurerm/expressions/subscription_id/constant_value")
            })
            .and_then(Value::as_str)
            .map(String::from);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for item in items {
            for side in ["before", "after"] {
                if let Some(id) = item
                    .pointer(&format!("/change/{side}/id"))
                    .and_then(Value::as_str)
                {
                    if let Some(sub) = ArmId::parse(id).subscription {
                        *seen.entry(sub.to_string()).or_default() += 1;
                    }
                }
            }
        }
        let inferred = (seen.len() == 1)
            .then(|| seen.keys().next().cloned())
            .flatten();
        Context {
            file,
            baseline,
            default_subscription: configured.or(inferred),
            references: References::of_plan(top),
        }
    }

    /// The provider's subscription, or [`KNOWN_AFTER_APPLY`] when the plan does not tell.
    fn provider_subscription(&self) -> String {
        self.default_subscription
            .clone()
            .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_string())
    }

    /// The subscription of a resource group named in the plan: the baseline's group of that name
    /// when there is exactly one, else the provider's subscription.
    fn subscription_for(&self, resource_group: &str) -> String {
        if let Some(inventory) = self.baseline {
            let matches: Vec<&str> = inventory
                .resource_groups
                .values()
                .filter(|rg| rg.name.eq_ignore_ascii_case(resource_group))
                .filter_map(|rg| ArmId::parse(&rg.id).subscription)
                .collect();
            if matches.len() == 1 {
                return matches[0].to_string();
            }
        }
        self.provider_subscription()
    }

    /// The id of a resource of `arm_type` in the plan's resource group `resource_group`, named
    /// by `names` (a nested type's parents first): `Microsoft.Network/virtualNetworks/subnets`
    /// with `[vnet, subnet]` is `.../providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}`.
    fn in_resource_group(&self, resource_group: &str, arm_type: &str, names: &[String]) -> String {
        let (namespace, types) = arm_type.split_once('/').unwrap_or((arm_type, ""));
        let mut path = namespace.to_string();
        for (segment, name) in types.split('/').zip(names) {
            path.push_str(&format!("/{segment}/{name}"));
        }
        format!(
            "/subscriptions/{}/resourceGroups/{resource_group}/providers/{path}",
            self.subscription_for(resource_group)
        )
    }

    /// The id of a resource group the plan manages: the provider's subscription and its name
    /// (a stand-in while the name is known only after apply), so that the resources placed in it
    /// and the locks and assignments scoped to it name the same id. `azurerm_resource_group` is
    /// not mapped, since a group holds none of the facts; only its id is needed.
    fn resource_group_id(&self, item: &Value) -> Option<String> {
        if item.get("type").and_then(Value::as_str) != Some("azurerm_resource_group") {
            return None;
        }
        let address = item.get("address").and_then(Value::as_str)?;
        let change = item.get("change")?;
        let after = change.get("after").filter(|a| a.is_object())?;
        let name = match after.get("name").and_then(Value::as_str) {
            Some(name) => name.to_string(),
            None if change.pointer("/after_unknown/name") == Some(&Value::Bool(true)) => {
                synthetic(&join_path(address, "name"))
            }
            None => return None,
        };
        Some(after.get("id").and_then(Value::as_str).map_or_else(
            || {
                format!(
                    "/subscriptions/{}/resourceGroups/{name}",
                    self.subscription_for(&name)
                )
            },
            String::from,
        ))
    }

    /// The key vault a key URL (`https://{vault}.vault.azure.net/keys/...`) lives in.
    fn vault_of_key_url(&self, url: &str) -> Option<String> {
        let host = url.split("//").nth(1)?.split('/').next()?;
        let name = host.split('.').next()?;
        self.baseline?
            .key_vaults
            .values()
            .find(|kv| kv.name.eq_ignore_ascii_case(name))
            .map(|kv| kv.id.clone())
    }
}

fn read_change(
    context: &Context,
    place: &str,
    item: &Value,
    text: &str,
    unmapped: &mut Vec<String>,
) -> Result<Option<Change>, InputError> {
    let file = context.file;
    let Value::Object(object) = item else {
        return Err(bad(
            file,
            place,
            format!("expected a resource change object, found {}", kind_of(item)),
            FIX_PLAN,
        ));
    };
    let string = |field: &str| -> Result<&str, InputError> {
        match object.get(field) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(bad(
                file,
                &join_path(place, field),
                format!("expected a string, found {}", kind_of(other)),
                FIX_PLAN,
            )),
            None => Err(bad(file, &join_path(place, field), "missing", FIX_PLAN)),
        }
    };
    let address = string("address")?.to_string();
    let resource_type = string("type")?.to_string();
    // A data source only reads Azure (Terraform 0.13+ lists a deferred read as action `read`,
    // and 1.4+ lists it under `resource_changes` whatever its action); its values feed
    // references through `planned_values`, and nothing about it changes.
    if object.get("mode").and_then(Value::as_str) == Some("data") {
        return Ok(None);
    }
    let change_place = join_path(place, "change");
    let Some(Value::Object(change)) = object.get("change") else {
        return Err(bad(
            file,
            &change_place,
            "expected the `change` object with `actions`, `before` and `after`",
            FIX_PLAN,
        ));
    };
    let action = match actions(
        file,
        &join_path(&change_place, "actions"),
        change.get("actions"),
    )? {
        Some(action) => action,
        None => return Ok(None),
    };
    if !resource_type.starts_with("azurerm_") {
        return Ok(None);
    }
    let side = |name: &str| -> Result<Option<&Map<String, Value>>, InputError> {
        match change.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(bad(
                file,
                &join_path(&change_place, name),
                format!("expected an object or null, found {}", kind_of(other)),
                FIX_PLAN,
            )),
        }
    };
    let before = side("before")?;
    let after = side("after")?;
    let empty = Value::Null;
    let after_unknown = change.get("after_unknown").unwrap_or(&empty);
    let mut unknown_after_apply = Vec::new();
    unknown_paths(after_unknown, "", &mut unknown_after_apply);
    // planned_values repeats the address; the change is the entry under resource_changes. A
    // `for_each` key's quotes are escaped in the file.
    let quoted = Value::String(address.clone()).to_string();
    let line = line_of(
        text,
        "\"resource_changes\"",
        &format!("\"address\": {quoted}"),
    )
    .or_else(|| {
        line_of(
            text,
            "\"resource_changes\"",
            &format!("\"address\":{quoted}"),
        )
    });

    let (state, state_place, unknown) = match (action, after, before) {
        (Action::Delete, _, Some(before)) => (before, join_path(&change_place, "before"), &empty),
        (Action::Delete, _, None) => {
            return Err(bad(
                file,
                &join_path(&change_place, "before"),
                "a delete needs the `before` state",
                FIX_PLAN,
            ))
        }
        (_, Some(after), _) => (after, join_path(&change_place, "after"), after_unknown),
        (_, None, _) => {
            return Err(bad(
                file,
                &join_path(&change_place, "after"),
                "a create or update needs the `after` state",
                FIX_PLAN,
            ))
        }
    };
    let Some(mapping) = registry::mapping(&resource_type) else {
        unmapped.push(address);
        return Ok(None);
    };
    let references = context.references.resolve(&address);
    let attrs = Attrs {
        file,
        place: state_place.clone(),
        map: state,
        unknown,
        references: &references,
        address: &address,
    };
    let mapped = mapping.map.apply(&Planned {
        context,
        attrs: &attrs,
        action,
        arm_type: mapping.arm_type,
    })?;
    // A deposed object (`deposed`: the old object a create-before-destroy replacement could not
    // destroy) is deleted on its own. When it has the current object's id, that delete is of
    // the old object only: Azure keeps the resource the current object is.
    if object.contains_key("deposed")
        && context.references.planned_id(&address).map(key) == Some(key(&mapped.id))
    {
        return Ok(None);
    }
    let mut edits = mapped.edits;
    // A replace that moves the resource (a new name or parent) also removes the old one: the
    // `before` state mapped as a delete, so a renamed NSG rule or route leaves its table and a
    // re-pointed association clears the old parent's reference.
    if action == Action::Replace {
        if let Some(before) = before {
            let old_attrs = Attrs {
                file,
                place: join_path(&change_place, "before"),
                map: before,
                unknown: &empty,
                references: references::Resolved::empty(),
                address: &address,
            };
            let old = mapping.map.apply(&Planned {
                context,
                attrs: &old_attrs,
                action: Action::Delete,
                arm_type: mapping.arm_type,
            });
            match old {
                Ok(old) if key(&old.id) != key(&mapped.id) => {
                    edits.splice(0..0, old.edits);
                }
                Ok(_) => {}
                // A `before` the mapping cannot read still names the old id.
                Err(_) => {
                    if let Some(old) = before.get("id").and_then(Value::as_str) {
                        if key(old) != key(&mapped.id) && !old.contains('|') {
                            edits.insert(0, Edit::Remove(old.to_string()));
                        }
                    }
                }
            }
        }
    }
    Ok(Some(Change {
        address,
        action,
        resource_type,
        id: mapped.id,
        unknown_after_apply,
        line,
        place: state_place,
        edits,
    }))
}

/// `None` for no-op, read and forget.
fn actions(file: &Path, place: &str, value: Option<&Value>) -> Result<Option<Action>, InputError> {
    let Some(Value::Array(items)) = value else {
        return Err(bad(
            file,
            place,
            "expected an array of actions such as [\"create\"]",
            FIX_PLAN,
        ));
    };
    let mut names = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(name) => names.push(name),
            None => {
                return Err(bad(
                    file,
                    &format!("{place}[{i}]"),
                    format!("expected a string, found {}", kind_of(item)),
                    FIX_PLAN,
                ))
            }
        }
    }
    Ok(match names.as_slice() {
        ["create"] => Some(Action::Create),
        ["update"] => Some(Action::Update),
        ["delete"] => Some(Action::Delete),
        ["delete", "create"] | ["create", "delete"] => Some(Action::Replace),
        ["no-op"] | ["read"] | ["forget"] | [] => None,
        other => {
            return Err(bad(
                file,
                place,
                format!("unknown actions {other:?}"),
                "Terraform plans use create, update, delete, [delete, create], [create, delete], read, no-op or forget",
            ))
        }
    })
}

/// Collects the attribute paths `after_unknown` marks `true`.
fn unknown_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Bool(true) => out.push(if prefix.is_empty() {
            "(all)".into()
        } else {
            prefix.to_string()
        }),
        Value::Object(map) => {
            for (name, inner) in map {
                unknown_paths(inner, &join_path(prefix, name), out);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                unknown_paths(inner, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
