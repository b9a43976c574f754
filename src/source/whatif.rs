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
    // `None`: the gate cannot tell what the change does. A change type outside the documented
    // enum (one a later API version adds) is listed as not evaluated rather than guessed: for a
    // type the gate maps that leaves the run incomplete, so it can never pass unseen, and a
    // team's pipeline does not break the day Azure adds a value.
    let action = match change_type.to_ascii_lowercase().as_str() {
        "create" => Some(Action::Create),
        "delete" => Some(Action::Delete),
        "modify" | "deploy" => Some(Action::Update),
        "nochange" | "ignore" | "noeffect" => return Ok(Read::Skip),
        _ => None,
    };
    let known_type = change_type.eq_ignore_ascii_case("unsupported");
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
        let reason = if known_type {
            let why = string("unsupportedReason")?.unwrap_or("no reason given");
            format!("what-if cannot predict this change: {why}")
        } else {
            format!("change type `{change_type}` is not one this version knows (Create, Delete, Deploy, Modify, NoChange, NoEffect, Ignore, Unsupported): upgrade backup-doctor to evaluate it")
        };
        return Ok(not_evaluated(resource_id.into(), &kind, reason));
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
    let mut state = state;
    if action != Action::Delete {
        // The id and type what-if could not evaluate are the change's own: its resource id says
        // them, while an unknown id would lay the resource nowhere and change nothing.
        if let Value::Object(fields) = &mut state {
            let unevaluated =
                |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(is_expression);
            if unevaluated(fields.get("id")) {
                fields.insert("id".into(), json!(resource_id));
            }
            if unevaluated(fields.get("type")) {
                fields.insert("type".into(), json!(kind));
            }
            if unevaluated(fields.get("properties")) {
                return Ok(not_evaluated(
                    resource_id.into(),
                    &kind,
                    "its `properties` are known only after the deployment".into(),
                ));
            }
        }
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
/// A template expression ARM left unevaluated (`[reference(...)]`); `[[` escapes a literal.
fn is_expression(s: &str) -> bool {
    s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[")
}

fn mark_expressions(value: Value, path: &str, out: &mut Vec<String>) -> Value {
    match value {
        Value::String(s) if is_expression(&s) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RG: &str = "/subscriptions/s/resourceGroups/rg/providers";

    fn read(document: &Value) -> Result<ChangeSet, InputError> {
        parse(Path::new("w.json"), &document.to_string())
    }

    fn rest(properties: Value) -> Value {
        json!({ "status": "Succeeded", "properties": properties })
    }

    #[test]
    fn reads_changes_and_marks_expressions() {
        let route = format!("{RG}/Microsoft.Network/routeTables/rt/routes/default");
        let disk = format!("{RG}/Microsoft.Compute/disks/d");
        let set = read(&json!({
            "status": "Succeeded", "error": null,
            "changes": [
                { "resourceId": route, "changeType": "Create", "before": null,
                  "after": { "name": "default", "type": "Microsoft.Network/routeTables/routes",
                             "properties": { "addressPrefix": "0.0.0.0/0", "nextHopType": "None" } } },
                { "resourceId": disk, "changeType": "Modify", "before": {},
                  "after": { "type": "Microsoft.Compute/disks", "properties": { "diskSizeGB": "[parameters('size')]" } } },
                { "resourceId": format!("{RG}/Microsoft.Web/sites/w"), "changeType": "NoChange" }
            ]
        }))
        .unwrap();
        assert_eq!(set.changes.len(), 2);
        let Edit::Element { parent, .. } = &set.changes[0].edits[0] else {
            panic!("{:?}", set.changes[0].edits)
        };
        assert!(parent.ends_with("/routeTables/rt"));
        assert_eq!(
            set.changes[1].unknown_after_apply,
            vec!["properties.diskSizeGB"]
        );
        assert_eq!(
            set.changes[0].resource_type,
            "Microsoft.Network/routeTables/routes"
        );
        assert!(set.not_evaluated.is_empty() && set.unmapped.is_empty());
    }

    #[test]
    fn the_rest_body_and_the_flat_form_read_alike_but_for_the_place() {
        let nic = format!("{RG}/Microsoft.Network/networkInterfaces/nic");
        let lists = json!({
            "changes": [
                { "resourceId": nic, "changeType": "Modify",
                  "after": { "type": "Microsoft.Network/networkInterfaces", "properties": {} } },
                { "resourceId": format!("{RG}/Microsoft.Compute/virtualMachines/vm"), "changeType": "Modify" }
            ],
            "potentialChanges": [ { "resourceId": nic, "changeType": "Delete" } ],
            "diagnostics": [ { "level": "Warning", "code": "W1", "message": "m", "target": "t" } ]
        });
        let flat = read(&lists).unwrap();
        let body = read(&rest(lists)).unwrap();
        for set in [&flat, &body] {
            assert_eq!(set.changes.len(), 1);
            assert_eq!(set.not_evaluated.len(), 2, "{:?}", set.not_evaluated);
            assert!(set.not_evaluated.iter().all(|n| n.mapped));
            assert_eq!(set.notes.len(), 1);
            assert_eq!(set.subscriptions, vec!["s".to_string()]);
        }
        assert_eq!(flat.notes[0].place, "diagnostics[0]");
        assert_eq!(body.notes[0].place, "properties.diagnostics[0]");
        assert_eq!(body.changes[0].place, "properties.changes[0].after");
        let note = &body.notes[0];
        assert_eq!(
            (
                note.level.as_str(),
                note.code.as_deref(),
                note.target.as_deref()
            ),
            ("warning", Some("W1"), Some("t"))
        );
    }

    #[test]
    fn a_failed_what_if_is_refused_with_azures_own_message() {
        let failed = json!({
            "status": "Failed",
            "error": { "code": "InvalidTemplate", "message": "Deployment template validation failed.",
                       "details": [ { "code": "InvalidResourceName", "message": "name too long", "target": "vm1" } ] }
        });
        let error = read(&failed).unwrap_err();
        assert_eq!(error.place.as_deref(), Some("error"));
        for needle in [
            "InvalidTemplate: Deployment template validation failed.",
            "InvalidResourceName: name too long (target vm1)",
        ] {
            assert!(
                error.problem.contains(needle),
                "{needle}: {}",
                error.problem
            );
        }
        // The error refuses the file even when the status says otherwise or the lists are present.
        let mut flat = failed.clone();
        flat["status"] = json!("Succeeded");
        flat["changes"] = json!([]);
        assert!(read(&flat).is_err());
        let error = read(&json!({ "status": "Failed", "properties": null })).unwrap_err();
        assert_eq!(error.place.as_deref(), Some("status"));
        let error = read(&json!({ "status": "Running" })).unwrap_err();
        assert!(
            error.problem.contains("has not finished"),
            "{}",
            error.problem
        );
        assert!(read(&json!({ "status": "Succeeded", "error": null, "changes": [] })).is_ok());
        assert!(read(&rest(json!({}))).is_ok());
    }

    #[test]
    fn what_is_no_what_if_result_is_refused_naming_the_shape() {
        let error = read(&json!([])).unwrap_err();
        assert!(error.problem.contains("an array"), "{}", error.problem);
        let error = read(&json!({ "Status": "Succeeded", "Changes": [] })).unwrap_err();
        assert!(error.problem.contains("PowerShell"), "{}", error.problem);
        let error = read(&json!({ "resource_changes": [] })).unwrap_err();
        assert!(
            error.problem.contains("properties.changes"),
            "{}",
            error.problem
        );
    }

    #[test]
    fn malformed_entries_name_the_place() {
        for (document, place) in [
            (json!({ "changes": {} }), "changes"),
            (rest(json!({ "changes": 3 })), "properties.changes"),
            (
                rest(json!({ "potentialChanges": [1] })),
                "properties.potentialChanges[0]",
            ),
            (
                json!({ "changes": [{ "resourceId": 3, "changeType": "Create" }] }),
                "changes[0].resourceId",
            ),
            (
                json!({ "changes": [{ "resourceId": "/x" }] }),
                "changes[0].changeType",
            ),
            (
                json!({ "changes": [{ "resourceId": format!("{RG}/Microsoft.Compute/disks/d"), "changeType": "Create", "after": [] }] }),
                "changes[0].after",
            ),
        ] {
            let error = read(&document).unwrap_err();
            assert_eq!(error.place.as_deref(), Some(place), "{document}");
        }
    }

    #[test]
    fn changes_without_a_resource_id_are_named_by_what_they_carry() {
        let set = read(&rest(json!({ "changes": [
            { "deploymentId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Resources/deployments/main",
              "symbolicName": "group", "changeType": "Create",
              "identifiers": { "uniqueName": "ops" },
              "extension": { "name": "MicrosoftGraph", "version": "1.0.0" },
              "after": { "uniqueName": "ops" } },
            { "changeType": "Delete" }
        ] })))
        .unwrap();
        assert_eq!(set.not_evaluated.len(), 2);
        let named = &set.not_evaluated[0];
        for part in ["group", "MicrosoftGraph@1.0.0", "\"uniqueName\":\"ops\""] {
            assert!(named.address.contains(part), "{part} in {}", named.address);
        }
        assert!(!named.mapped);
        assert_eq!(set.not_evaluated[1].address, "properties.changes[1]");
        assert!(set.changes.is_empty());
    }

    #[test]
    fn an_after_that_is_not_the_resource_is_not_laid_over_it() {
        let vm = format!("{RG}/Microsoft.Compute/virtualMachines/vm");
        for after in [
            json!({ "properties": {} }),
            json!({ "type": "Microsoft.Compute/disks", "properties": {} }),
        ] {
            let set = read(&json!({ "changes": [{ "resourceId": vm, "changeType": "Modify", "after": after }] }))
                .unwrap();
            assert!(set.changes.is_empty());
            assert!(set.not_evaluated[0].mapped, "{after}");
        }
        // A delete needs no payload: the id says what goes.
        let set =
            read(&json!({ "changes": [{ "resourceId": vm, "changeType": "delete" }] })).unwrap();
        assert!(matches!(&set.changes[0].edits[..], [Edit::Remove(id)] if id == &vm));
    }

    /// A change entry as what-if could write it, and where it must end up.
    #[derive(Debug, Clone)]
    struct Item {
        change_type: &'static str,
        kind: (&'static str, bool),
        id: bool,
        after: Option<bool>,
        potential: bool,
    }

    fn item() -> impl Strategy<Value = Item> {
        (
            prop::sample::select(vec![
                "Create",
                "create",
                "Delete",
                "Modify",
                "MODIFY",
                "Deploy",
                "NoChange",
                "Ignore",
                "NoEffect",
                "Unsupported",
            ]),
            prop::sample::select(vec![
                ("Microsoft.Network/networkInterfaces", true),
                ("Microsoft.Compute/virtualMachines", true),
                (
                    "Microsoft.Network/networkSecurityGroups/securityRules",
                    true,
                ),
                ("Microsoft.Web/sites", false),
            ]),
            any::<bool>(),
            prop::option::of(any::<bool>()),
            any::<bool>(),
        )
            .prop_map(|(change_type, kind, id, after, potential)| Item {
                change_type,
                kind,
                id,
                after,
                potential,
            })
    }

    fn entry(index: usize, item: &Item) -> Value {
        let (kind, _) = item.kind;
        let mut segments = String::new();
        for (depth, part) in kind.split('/').skip(1).enumerate() {
            segments.push_str(&format!("/{part}/n{index}x{depth}"));
        }
        let namespace = kind.split('/').next().unwrap();
        let mut entry = json!({ "changeType": item.change_type });
        if item.id {
            entry["resourceId"] = json!(format!("{RG}/{namespace}{segments}"));
        }
        if let Some(right_type) = item.after {
            let t = if right_type {
                kind
            } else {
                "Microsoft.Other/things"
            };
            entry["after"] = json!({ "type": t, "properties": {} });
        }
        entry
    }

    proptest! {
        /// Every entry is read, never refused: it becomes exactly one change, not-evaluated
        /// entry or unmapped id, unless nothing happens to it; nothing potential is laid over the
        /// baseline, and nothing without a usable `after` is either, unless it is a delete.
        #[test]
        fn every_entry_is_accounted_for(items in prop::collection::vec(item(), 0..12), body in any::<bool>()) {
            let (mut changes, mut potential) = (Vec::new(), Vec::new());
            for (index, item) in items.iter().enumerate() {
                let list = if item.potential { &mut potential } else { &mut changes };
                list.push(entry(index, item));
            }
            let lists = json!({ "changes": changes, "potentialChanges": potential });
            let document = if body { rest(lists) } else { lists };
            let set = read(&document).unwrap();
            let skipped = items
                .iter()
                .filter(|i| ["nochange", "ignore", "noeffect"].contains(&i.change_type.to_ascii_lowercase().as_str()))
                .count();
            prop_assert_eq!(
                set.changes.len() + set.not_evaluated.len() + set.unmapped.len() + skipped,
                items.len()
            );
            let laid_over = items.iter().filter(|i| {
                let lower = i.change_type.to_ascii_lowercase();
                !i.potential && i.id && i.kind.1
                    && (lower == "delete" || (["create", "modify", "deploy"].contains(&lower.as_str()) && i.after == Some(true)))
            });
            prop_assert_eq!(set.changes.len(), laid_over.count());
            for entry in &set.not_evaluated {
                prop_assert!(!entry.reason.is_empty());
            }
            let mapped_listed = items.iter().filter(|i| {
                let lower = i.change_type.to_ascii_lowercase();
                let evaluable = lower == "delete" || i.after == Some(true);
                i.id && i.kind.1 && !["nochange", "ignore", "noeffect"].contains(&lower.as_str())
                    && (i.potential || !evaluable || lower == "unsupported")
            });
            prop_assert_eq!(set.not_evaluated.iter().filter(|n| n.mapped).count(), mapped_listed.count());
        }
    }
}
