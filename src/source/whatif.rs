//! Reads ARM what-if results (`WhatIfOperationResult` in Azure/azure-rest-api-specs) at every
//! deployment scope, in the two shapes they are stored in: the REST body `az rest`, the SDKs and
//! pipeline tasks keep (`{"status", "properties": {"changes", "potentialChanges", "diagnostics"},
//! "error"}`) and the flat form of `az deployment … what-if --no-pretty-print -o json`, which
//! lifts `properties` to the top level.
//!
//! Each change carries `changeType` and usually `resourceId` and the resource `before` and
//! `after` the deployment, both already ARM-shaped. Template expressions the service could not
//! evaluate (`"[reference(...)]"`) are values known only after the deployment and are never taken
//! literally. What the gate cannot lay over the baseline (no `after`, no `resourceId`, a change
//! what-if does not support, a potential change) is listed as not evaluated with the reason,
//! never a refusal of the file; a what-if that itself failed is.

use super::change::*;
use crate::error::InputError;
use crate::inventory::types::{RESOURCE_GROUPS, ROUTES, SUBSCRIPTIONS};
use crate::inventory::{key, ArmId, ResourceType};
use crate::source::text::{self, Decoded, Encoding};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Child types the inventory keeps inside their parent (an NSG's rules, a vault's access
/// policies) rather than as resources of their own; routes are named in the inventory's types.
const SECURITY_RULES: &str = "Microsoft.Network/networkSecurityGroups/securityRules";
const ACCESS_POLICIES: &str = "Microsoft.KeyVault/vaults/accessPolicies";

const FIX: &str = "produce the file with `az deployment group what-if --no-pretty-print -o json ... > whatif.json` (or `az deployment sub|mg|tenant what-if`), or store the body `az rest` returns for the whatIf operation";

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

/// The lists of a what-if result, wherever its shape keeps them.
struct Body<'a> {
    /// `properties.` in a REST body, empty in the CLI's flat form: the prefix of every place.
    prefix: &'static str,
    changes: Option<&'a Value>,
    potential: Option<&'a Value>,
    diagnostics: Option<&'a Value>,
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
    let body = body(&document).map_err(|problem| bad("top level", problem))?;
    check_status(file, &document)?;
    let mut set = ChangeSet::new(file, "what-if");
    for (section, list, potential) in [
        ("changes", body.changes, false),
        ("potentialChanges", body.potential, true),
    ] {
        let place = format!("{}{section}", body.prefix);
        for (index, item) in array(list, &place)
            .map_err(|p| bad(&place, p))?
            .iter()
            .enumerate()
        {
            let at = format!("{place}[{index}]");
            let line = |id: &str| line_in(text, section, id);
            match read_change(item, &at, potential, &line).map_err(|(p, why)| bad(&p, why))? {
                Read::Change(change) => set.changes.push(change),
                Read::NotEvaluated(entry) => set.not_evaluated.push(entry),
                Read::Unmapped(address) => set.unmapped.push(address),
                Read::Skip => {}
            }
        }
    }
    let place = format!("{}diagnostics", body.prefix);
    for (index, item) in array(body.diagnostics, &place)
        .map_err(|p| bad(&place, p))?
        .iter()
        .enumerate()
    {
        set.notes.push(note(item, format!("{place}[{index}]")));
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

/// Finds the lists in either shape; the problem when the document is no what-if result.
fn body(document: &Value) -> Result<Body<'_>, String> {
    let Value::Object(top) = document else {
        return Err(format!(
            "this is not a what-if result: it has no `changes` array (found {} at the top level)",
            kind_of(document)
        ));
    };
    let lists = |object: &'_ Map<String, Value>| {
        ["changes", "potentialChanges", "diagnostics"]
            .iter()
            .any(|name| object.contains_key(*name))
    };
    if lists(top) {
        return Ok(Body {
            prefix: "",
            changes: top.get("changes"),
            potential: top.get("potentialChanges"),
            diagnostics: top.get("diagnostics"),
        });
    }
    if let Some(Value::Object(properties)) = top.get("properties") {
        if lists(properties) || top.contains_key("status") {
            return Ok(Body {
                prefix: "properties.",
                changes: properties.get("changes"),
                potential: properties.get("potentialChanges"),
                diagnostics: properties.get("diagnostics"),
            });
        }
    }
    // A failed what-if may carry nothing but its status and error: let `check_status` say so.
    if top.contains_key("error") || top.contains_key("status") {
        return Ok(Body {
            prefix: "",
            changes: None,
            potential: None,
            diagnostics: None,
        });
    }
    if top.keys().any(|k| k.eq_ignore_ascii_case("changes")) {
        return Err("this is not a what-if result as the CLI or the REST API writes it: its keys are capitalised (`Changes`), as Azure PowerShell's `Get-Az…DeploymentWhatIfResult | ConvertTo-Json` writes them, and that output spells change types as numbers".into());
    }
    Err("this is not a what-if result: it has no `changes` array, and no `properties.changes` as the REST body has".into())
}

/// A what-if that failed, was cancelled or has not finished is no result to evaluate: exit 2 with
/// Azure's own message.
fn check_status(file: &Path, document: &Value) -> Result<(), InputError> {
    let status = document.get("status").and_then(Value::as_str);
    if let Some(error) = document.get("error").filter(|e| !e.is_null()) {
        return Err(InputError::new(
            file,
            Some("error".into()),
            format!("the what-if operation failed: {}", azure_error(error)),
            "correct the template or its parameters as Azure's message says, then run what-if again",
        ));
    }
    match status {
        None => Ok(()),
        Some(s) if s.eq_ignore_ascii_case("succeeded") => Ok(()),
        Some(s) if s.eq_ignore_ascii_case("failed") || s.eq_ignore_ascii_case("canceled") => {
            Err(InputError::new(
                file,
                Some("status".into()),
                format!("the what-if operation ended `{s}` and the file carries no error from Azure"),
                "run what-if again and store its whole result",
            ))
        }
        Some(s) => Err(InputError::new(
            file,
            Some("status".into()),
            format!("the what-if operation has not finished (status `{s}`): the file holds no result yet"),
            "wait for the operation: `az deployment … what-if` waits by itself; with `az rest`, poll the `Location` the POST returned until it answers 200",
        )),
    }
}

/// `code: message (target …)`, then each detail the same way, as ARM's error response nests them.
fn azure_error(error: &Value) -> String {
    let field = |name: &str| error.get(name).and_then(Value::as_str);
    let mut out = match (field("code"), field("message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (None, Some(message)) => message.to_string(),
        (Some(code), None) => code.to_string(),
        (None, None) => match error {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    };
    if let Some(target) = field("target") {
        out.push_str(&format!(" (target {target})"));
    }
    let details: Vec<String> = error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(azure_error)
        .collect();
    if !details.is_empty() {
        out.push_str(&format!("; details: {}", details.join("; ")));
    }
    out
}

/// An absent or null list is empty; anything else but an array is an error.
fn array<'a>(list: Option<&'a Value>, _place: &str) -> Result<&'a [Value], String> {
    match list {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("expected an array, found {}", kind_of(other))),
    }
}

/// What one entry of `changes` or `potentialChanges` amounts to.
enum Read {
    Change(Change),
    NotEvaluated(NotEvaluated),
    /// A changed resource of a type the gate does not map.
    Unmapped(String),
    /// NoChange, Ignore, NoEffect: nothing happens to the resource.
    Skip,
}

/// The error of a malformed change: the place and the problem.
type Bad = (String, String);

fn read_change(
    item: &Value,
    place: &str,
    potential: bool,
    line: &dyn Fn(&str) -> Option<usize>,
) -> Result<Read, Bad> {
    let Value::Object(object) = item else {
        return Err((
            place.to_string(),
            format!("expected a change object, found {}", kind_of(item)),
        ));
    };
    let string = |field: &str| -> Result<Option<&str>, Bad> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err((
                join_path(place, field),
                format!("expected a string, found {}", kind_of(other)),
            )),
        }
    };
    let change_type = string("changeType")?
        .ok_or_else(|| (join_path(place, "changeType"), "missing".to_string()))?;
    let resource_id = string("resourceId")?;
    let action = match change_type.to_ascii_lowercase().as_str() {
        "create" => Some(Action::Create),
        "delete" => Some(Action::Delete),
        "modify" | "deploy" => Some(Action::Update),
        "nochange" | "ignore" | "noeffect" => return Ok(Read::Skip),
        "unsupported" => None,
        other => {
            return Err((
                join_path(place, "changeType"),
                format!("unknown change type `{other}`; what-if uses Create, Delete, Deploy, Modify, NoChange, NoEffect, Ignore, Unsupported"),
            ))
        }
    };
    let not_evaluated = |address: String, kind: &str, reason: String| {
        Read::NotEvaluated(NotEvaluated {
            line: line(&address),
            address,
            change_type: change_type.to_string(),
            reason,
            mapped: maps(kind),
        })
    };
    let Some(resource_id) = resource_id else {
        let kind = string("resourceType")?.unwrap_or_default();
        return Ok(not_evaluated(
            extensible_address(object, place),
            kind,
            "no `resourceId`: an extensible resource (a Bicep extension's, outside Azure Resource Manager), which the gate does not read".into(),
        ));
    };
    let kind = arm_type(resource_id);
    let Some(action) = action else {
        let why = string("unsupportedReason")?.unwrap_or("no reason given");
        return Ok(not_evaluated(
            resource_id.into(),
            &kind,
            format!("what-if cannot predict this change: {why}"),
        ));
    };
    if potential {
        return Ok(not_evaluated(
            resource_id.into(),
            &kind,
            "a potential change: what-if cannot tell whether the deployment makes it".into(),
        ));
    }
    if !maps(&kind) {
        return Ok(Read::Unmapped(resource_id.to_string()));
    }
    let side = |name: &str| -> Result<Option<Value>, Bad> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(other) => Err((
                join_path(place, name),
                format!("expected an object or null, found {}", kind_of(other)),
            )),
        }
    };
    let after = side("after")?;
    let before = side("before")?;
    let state = match (action, after) {
        (Action::Delete, _) => before.unwrap_or_else(|| json!({ "id": resource_id })),
        (_, Some(after)) => after,
        (_, None) => {
            return Ok(not_evaluated(
                resource_id.into(),
                &kind,
                "the change has no `after` (a ResourceIdOnly result, or what-if could not compute the resource): run what-if with the full result format (the default) to evaluate it".into(),
            ))
        }
    };
    if action != Action::Delete {
        if let Some(problem) = not_the_resource(&state, &kind) {
            return Ok(not_evaluated(resource_id.into(), &kind, problem));
        }
    }
    let mut unknown_after_apply = Vec::new();
    let state = mark_expressions(state, "", &mut unknown_after_apply);
    let Some(edits) = edits_for(resource_id, action, state) else {
        return Ok(Read::Unmapped(resource_id.to_string()));
    };
    Ok(Read::Change(Change {
        address: resource_id.to_string(),
        action,
        resource_type: kind,
        id: resource_id.to_string(),
        unknown_after_apply,
        line: line(resource_id),
        place: join_path(place, "after"),
        edits,
    }))
}

/// Why an `after` cannot stand for the resource of the change: it names no type or another one.
/// The whole object replaces the baseline's, so a payload that is not the resource would delete it.
fn not_the_resource(after: &Value, kind: &str) -> Option<String> {
    match after.get("type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case(kind) => None,
        Some(t) => Some(format!(
            "the `after` is a `{t}`, not the `{kind}` the resource id names"
        )),
        None => Some(format!(
            "the `after` has no `type`, so it is no `{kind}` resource the gate can lay over the baseline"
        )),
    }
}

/// What names a change without a resource id: its symbolic name, the extension and the
/// identifiers it is known by (API 2024-11-01 and later).
fn extensible_address(object: &Map<String, Value>, place: &str) -> String {
    let mut parts = Vec::new();
    if let Some(name) = object.get("symbolicName").and_then(Value::as_str) {
        parts.push(name.to_string());
    }
    if let Some(kind) = object.get("resourceType").and_then(Value::as_str) {
        parts.push(kind.to_string());
    }
    if let Some(extension) = object.get("extension").filter(|e| e.is_object()) {
        let field = |name: &str| extension.get(name).and_then(Value::as_str);
        if let Some(name) = field("name") {
            let version = field("version")
                .map(|v| format!("@{v}"))
                .unwrap_or_default();
            parts.push(format!("extension {name}{version}"));
        }
    }
    if let Some(identifiers) = object.get("identifiers").filter(|i| !i.is_null()) {
        parts.push(identifiers.to_string());
    }
    if parts.is_empty() {
        place.to_string()
    } else {
        parts.join(" ")
    }
}

/// Whether the gate reads resources of this ARM type: a change to one can move a VM's backup.
fn maps(kind: &str) -> bool {
    ResourceType::of_type(kind).is_some()
        || [SECURITY_RULES, ROUTES, ACCESS_POLICIES]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(kind))
}

/// A what-if diagnostic as the file gives it; an entry of another shape is kept whole.
fn note(item: &Value, place: String) -> FileNote {
    let field = |name: &str| item.get(name).and_then(Value::as_str).map(String::from);
    FileNote {
        level: field("level")
            .unwrap_or_else(|| "warning".into())
            .to_ascii_lowercase(),
        code: field("code"),
        message: field("message").unwrap_or_else(|| item.to_string()),
        target: field("target"),
        place,
    }
}

/// The 1-based line of the change with this id in `section` of the file.
fn line_in(text: &str, section: &str, id: &str) -> Option<usize> {
    let anchor = format!("\"{section}\"");
    let quoted = serde_json::to_string(id).ok()?;
    line_of(text, &anchor, &quoted)
}

/// `Microsoft.Network/networkSecurityGroups/securityRules` from a resource id.
fn arm_type(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    let Some(at) = lower.rfind("/providers/") else {
        return if ArmId::parse(id).resource_group.is_some() {
            RESOURCE_GROUPS.into()
        } else {
            SUBSCRIPTIONS.into()
        };
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
    let kind = arm_type(id);
    let is = |t: &str| kind.eq_ignore_ascii_case(t);
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
    Some(if is(SECURITY_RULES) {
        element("/securityrules/", &["properties", "securityRules"])?
    } else if is(ROUTES) {
        element("/routes/", &["properties", "routes"])?
    } else if is(ACCESS_POLICIES) {
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
    } else {
        let mut state = state;
        if let Value::Object(map) = &mut state {
            map.entry("id").or_insert_with(|| json!(id));
        }
        vec![match action {
            Action::Create | Action::Replace => Edit::Put(state),
            Action::Update => Edit::Model(state),
            Action::Delete => Edit::Remove(id.to_string()),
        }]
    })
}
