//! Lays planned changes over a baseline snapshot at the JSON level, then reads the result with the
//! ordinary snapshot loader, so "after" is exactly what a snapshot of the changed tenant would
//! give. Resources are keyed by id case-insensitively; subnets are kept nested in their virtual
//! network and extensions as separate resources, the layout the loader reads without duplicates.

use crate::error::InputError;
use crate::inventory::id::is_within;
use crate::inventory::types;
use crate::inventory::{key, Inventory};
use crate::source::change::{is_unknown, ChangeSet, Edit, NotEvaluated};
use crate::source::{snapshot, text};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where a resource came from, for error messages.
#[derive(Debug, Clone)]
struct Origin {
    file: PathBuf,
    place: String,
}

#[derive(Debug, Default)]
pub struct RawSnapshot {
    resources: Vec<Option<(Value, Origin)>>,
    by_id: HashMap<String, usize>,
    /// Objects without an id (the manifest).
    documents: Vec<(Value, Origin)>,
    /// Changes that could not be applied (their parent is in neither the baseline nor the plan).
    /// Each is a resource type the gate maps, so it leaves the run incomplete.
    pub unapplied: Vec<NotEvaluated>,
}

/// ARM types whose absence from a plan evaluated alone must not read as "there are none".
const TYPES_OUTSIDE_A_PLAN: &[&str] = &[
    types::LOCKS,
    types::PROVIDERS,
    types::PROTECTED_ITEMS,
    types::BACKUP_JOBS,
    types::ROLE_ASSIGNMENTS,
    types::PRIVATE_DNS_ZONES,
    types::POLICY_ASSIGNMENTS,
];

impl RawSnapshot {
    pub fn read(paths: &[PathBuf]) -> Result<RawSnapshot, InputError> {
        let mut raw = RawSnapshot::default();
        let mut files = Vec::new();
        for path in paths {
            files.extend(snapshot::json_files(path)?);
        }
        for file in files {
            let bytes = snapshot::read(&file)?;
            let decoded = text::decode(&file, &bytes)?;
            let document: Value = serde_json::from_slice(&decoded.bytes).map_err(|e| {
                text::not_json(&file, &decoded, &e, "repair or re-export the snapshot file")
            })?;
            raw.add_document(&file, document);
        }
        Ok(raw)
    }

    /// A plan evaluated alone: nothing outside it is known, which the manifest's gaps say.
    pub fn without_baseline(subscriptions: &[String]) -> RawSnapshot {
        let mut raw = RawSnapshot::default();
        let gaps: Vec<Value> = subscriptions
            .iter()
            .flat_map(|sub| {
                TYPES_OUTSIDE_A_PLAN.iter().map(move |what| {
                    json!({ "scope": format!("/subscriptions/{sub}"), "what": what,
                            "reason": "not in the plan, and the gate ran without --baseline" })
                })
            })
            .collect();
        raw.documents.push((
            json!({ "schema": snapshot::MANIFEST_SCHEMA, "gaps": gaps }),
            Origin {
                file: PathBuf::from("(gate without --baseline)"),
                place: String::new(),
            },
        ));
        raw
    }

    fn add_document(&mut self, file: &Path, document: Value) {
        match document {
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    self.add_resource(file, format!("[{i}]"), item);
                }
            }
            Value::Object(mut object)
                if !object.contains_key("type")
                    && matches!(object.get("value"), Some(Value::Array(_))) =>
            {
                if let Some(Value::Array(items)) = object.remove("value") {
                    for (i, item) in items.into_iter().enumerate() {
                        self.add_resource(file, format!("value[{i}]"), item);
                    }
                }
            }
            other => self.add_resource(file, String::new(), other),
        }
    }

    fn add_resource(&mut self, file: &Path, place: String, mut value: Value) {
        let origin = Origin {
            file: file.to_path_buf(),
            place,
        };
        // Extensions nested in a VM become separate resources, which an overlay can replace.
        if let Some(Value::Array(nested)) =
            value.as_object_mut().and_then(|o| o.remove("resources"))
        {
            for (i, mut extension) in nested.into_iter().enumerate() {
                if let Value::Object(map) = &mut extension {
                    map.entry("type")
                        .or_insert_with(|| json!(types::VM_EXTENSIONS));
                }
                self.add_resource(file, format!("{}.resources[{i}]", origin.place), extension);
            }
        }
        // A subscription's Resource Graph row shares its id with the subscription object it
        // completes (the loader merges the two), so it must not replace it here.
        if is_subscription_container(&value) {
            self.documents.push((value, origin));
            return;
        }
        match value.get("id").and_then(Value::as_str).map(key) {
            Some(id) => self.upsert(id, value, origin),
            None => self.documents.push((value, origin)),
        }
    }

    fn upsert(&mut self, id: String, value: Value, origin: Origin) {
        match self.by_id.get(&id) {
            Some(&index) => self.resources[index] = Some((value, origin)),
            None => {
                self.by_id.insert(id, self.resources.len());
                self.resources.push(Some((value, origin)));
            }
        }
    }

    /// Applies every change: whole resources first, then the edits of parents, so a rule or an
    /// association finds its parent whether the baseline or the same plan holds it.
    pub fn apply(&mut self, set: &ChangeSet) {
        for change in &set.changes {
            let origin = Origin {
                file: set.file.clone(),
                place: change.place.clone(),
            };
            for edit in &change.edits {
                match edit {
                    Edit::Put(value) => self.put(value.clone(), &origin),
                    Edit::Merge(value) => self.merge(value.clone(), &origin),
                    Edit::Model(value) => self.model(value.clone(), &origin),
                    Edit::Remove(id) => self.remove(id),
                    _ => {}
                }
            }
        }
        for change in &set.changes {
            for edit in &change.edits {
                let applied = match edit {
                    Edit::Element {
                        parent,
                        array,
                        key_field,
                        key: wanted,
                        item,
                    } => self.with_parent(parent, |resource| {
                        set_element(resource, array, key_field, wanted, item.clone())
                    }),
                    Edit::Field {
                        parent,
                        path,
                        value,
                    } => self
                        .with_parent(parent, |resource| set_field(resource, path, value.clone())),
                    _ => true,
                };
                if !applied {
                    // A replaced child (a renamed rule) edits its missing parent twice: one note.
                    let reason = format!(
                        "it changes {}, which is in neither the baseline nor the plan: its effect cannot be evaluated",
                        edit.target().unwrap_or_default()
                    );
                    let seen = self
                        .unapplied
                        .iter()
                        .any(|n| n.address == change.address && n.reason == reason);
                    if !seen {
                        self.unapplied.push(NotEvaluated {
                            address: change.address.clone(),
                            change_type: change.action.as_str().to_string(),
                            reason,
                            mapped: true,
                            line: change.line,
                        });
                    }
                }
            }
        }
    }

    fn put(&mut self, value: Value, origin: &Origin) {
        let Some(id) = value.get("id").and_then(Value::as_str).map(String::from) else {
            return;
        };
        if is_subnet(&id) && self.with_vnet_subnet(&id, |slot| *slot = value.clone()) {
            return;
        }
        self.upsert(key(&id), value, origin.clone());
    }

    fn merge(&mut self, value: Value, origin: &Origin) {
        let Some(id) = value.get("id").and_then(Value::as_str).map(String::from) else {
            return;
        };
        if self.with_parent(&id, |existing| deep_merge(existing, value.clone())) {
            return;
        }
        self.put(value, origin);
    }

    fn model(&mut self, mut value: Value, origin: &Origin) {
        let Some(id) = value.get("id").and_then(Value::as_str).map(String::from) else {
            return;
        };
        let mut runtime = None;
        self.with_parent(&id, |existing| {
            runtime = existing.pointer("/properties/instanceView").cloned();
        });
        if let (Some(view), Some(Value::Object(props))) = (runtime, value.get_mut("properties")) {
            props.entry("instanceView").or_insert(view);
        }
        self.put(value, origin);
    }

    fn remove(&mut self, id: &str) {
        let doomed: Vec<String> = self
            .by_id
            .keys()
            .filter(|k| is_within(k, id))
            .cloned()
            .collect();
        for k in doomed {
            if let Some(index) = self.by_id.remove(&k) {
                self.resources[index] = None;
            }
        }
        if is_subnet(id) {
            let vnet = vnet_of(id);
            if let Some(&index) = self.by_id.get(&key(&vnet)) {
                if let Some((resource, _)) = &mut self.resources[index] {
                    if let Some(Value::Array(subnets)) = resource.pointer_mut("/properties/subnets")
                    {
                        subnets.retain(|s| {
                            s.get("id").and_then(Value::as_str).map(key) != Some(key(id))
                        });
                    }
                }
            }
        }
    }

    /// Runs `edit` on the resource with this id (a subnet may live inside its virtual network);
    /// false when there is no such resource.
    fn with_parent(&mut self, id: &str, edit: impl FnOnce(&mut Value)) -> bool {
        if let Some(&index) = self.by_id.get(&key(id)) {
            if let Some((resource, _)) = &mut self.resources[index] {
                edit(resource);
                return true;
            }
        }
        is_subnet(id) && self.with_vnet_subnet(id, edit)
    }

    fn with_vnet_subnet(&mut self, id: &str, edit: impl FnOnce(&mut Value)) -> bool {
        let Some(&index) = self.by_id.get(&key(&vnet_of(id))) else {
            return false;
        };
        let Some((vnet, _)) = &mut self.resources[index] else {
            return false;
        };
        let subnets = ensure_array(vnet, &["properties", "subnets"]);
        match subnets
            .iter_mut()
            .find(|s| s.get("id").and_then(Value::as_str).map(key) == Some(key(id)))
        {
            Some(existing) => edit(existing),
            None => {
                let name = id.rsplit('/').next().unwrap_or_default();
                let mut fresh = json!({ "id": id, "name": name, "properties": {} });
                edit(&mut fresh);
                subnets.push(fresh);
            }
        }
        true
    }

    /// Reads the overlaid resources with the snapshot loader. Errors name the file and place the
    /// resource came from.
    pub fn into_inventory(self) -> Result<Inventory, InputError> {
        let mut inventory = Inventory::default();
        let entries = self
            .documents
            .into_iter()
            .chain(self.resources.into_iter().flatten());
        for (mut value, origin) in entries {
            strip_unknowns(&mut value, false);
            let bytes = serde_json::to_vec(&value).unwrap_or_default();
            snapshot::load_bytes(&mut inventory, &origin.file, &bytes).map_err(|mut error| {
                error.place = Some(match error.place.as_deref() {
                    None | Some("top level") => origin.place.clone(),
                    Some(inner) if origin.place.is_empty() => inner.to_string(),
                    Some(inner) => format!("{}.{inner}", origin.place),
                });
                error
            })?;
        }
        Ok(inventory)
    }
}

fn is_subscription_container(value: &Value) -> bool {
    value
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("microsoft.resources/subscriptions"))
}

fn is_subnet(id: &str) -> bool {
    id.to_ascii_lowercase()
        .contains("/providers/microsoft.network/virtualnetworks/")
        && id.to_ascii_lowercase().contains("/subnets/")
}

fn vnet_of(subnet_id: &str) -> String {
    let lower = subnet_id.to_ascii_lowercase();
    match lower.rfind("/subnets/") {
        Some(at) => subnet_id[..at].to_string(),
        None => subnet_id.to_string(),
    }
}

/// Objects merge field by field; anything else (arrays included) is replaced.
fn deep_merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(existing), Value::Object(patch)) => {
            for (name, value) in patch {
                match existing.get_mut(&name) {
                    Some(slot) => deep_merge(slot, value),
                    None => {
                        existing.insert(name, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

fn ensure_object<'v>(value: &'v mut Value, path: &[&str]) -> &'v mut Map<String, Value> {
    let mut current = value;
    for part in path {
        if !current.is_object() {
            *current = json!({});
        }
        current = current
            .as_object_mut()
            .expect("just made an object")
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
    if !current.is_object() {
        *current = json!({});
    }
    current.as_object_mut().expect("just made an object")
}

fn ensure_array<'v>(value: &'v mut Value, path: &[&str]) -> &'v mut Vec<Value> {
    let (last, parents) = path.split_last().expect("array paths are not empty");
    let object = ensure_object(value, parents);
    let slot = object.entry(last.to_string()).or_insert_with(|| json!([]));
    if !slot.is_array() {
        *slot = json!([]);
    }
    slot.as_array_mut().expect("just made an array")
}

fn field_text(value: &Value, path: &[&str]) -> Option<String> {
    let mut current = value;
    for part in path {
        current = current.get(part)?;
    }
    match current {
        Value::String(s) => Some(key(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn set_element(
    resource: &mut Value,
    array: &[&str],
    key_field: &[&str],
    wanted: &str,
    item: Option<Value>,
) {
    let items = ensure_array(resource, array);
    let position = items.iter().position(|element| {
        field_text(element, key_field).as_deref() == Some(key(wanted).as_str())
    });
    match (position, item) {
        (Some(at), Some(item)) => items[at] = item,
        (None, Some(item)) => items.push(item),
        (Some(at), None) => {
            items.remove(at);
        }
        (None, None) => {}
    }
}

fn set_field(resource: &mut Value, path: &[&str], value: Option<Value>) {
    let (last, parents) = path.split_last().expect("field paths are not empty");
    let object = ensure_object(resource, parents);
    match value {
        Some(value) => {
            object.insert(last.to_string(), value);
        }
        None => {
            object.remove(*last);
        }
    }
}

/// Drops values known only after apply, so the facts that need them are absent (unknown). They
/// stay where absence would mean a default (NSG rules, routes, a key vault's firewall, whose
/// absent action is `Allow`) and in references by id.
fn strip_unknowns(value: &mut Value, keep: bool) {
    match value {
        Value::Object(map) => {
            if !keep {
                map.retain(|name, v| name == "id" || !is_unknown(v));
            }
            for (name, inner) in map.iter_mut() {
                let keep_inside =
                    keep || matches!(name.as_str(), "securityRules" | "routes" | "networkAcls");
                strip_unknowns(inner, keep_inside);
            }
        }
        Value::Array(items) => {
            if !keep {
                items.retain(|v| !is_unknown(v));
            }
            for inner in items {
                strip_unknowns(inner, keep);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::change::{Action, Change};

    fn change(edits: Vec<Edit>) -> ChangeSet {
        ChangeSet {
            file: PathBuf::from("plan.json"),
            kind: "terraform",
            changes: vec![Change {
                address: "a.b".into(),
                action: Action::Update,
                resource_type: "t".into(),
                id: "/x".into(),
                unknown_after_apply: vec![],
                line: None,
                place: "resource_changes[0].change.after".into(),
                edits,
            }],
            unmapped: vec![],
            subscriptions: vec![],
            not_evaluated: vec![],
            notes: vec![],
        }
    }

    const VNET: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v";

    #[test]
    fn subnet_edits_land_in_the_nested_subnet_and_unknown_ids_stay() {
        let mut raw = RawSnapshot::default();
        raw.add_document(
            Path::new("base.json"),
            json!({ "value": [{ "id": VNET, "name": "v", "type": "Microsoft.Network/virtualNetworks",
                     "properties": { "subnets": [{ "id": format!("{VNET}/subnets/a"), "name": "a", "properties": {} }] } }] }),
        );
        raw.apply(&change(vec![Edit::Field {
            parent: format!("{VNET}/SUBNETS/A"),
            path: &["properties", "networkSecurityGroup"],
            value: Some(json!({ "id": crate::source::change::KNOWN_AFTER_APPLY })),
        }]));
        assert!(raw.unapplied.is_empty());
        let inventory = raw.into_inventory().unwrap();
        let subnet = &inventory.subnets[&key(&format!("{VNET}/subnets/a"))];
        assert_eq!(
            subnet
                .properties
                .as_ref()
                .unwrap()
                .network_security_group
                .as_ref()
                .unwrap()
                .id
                .as_deref(),
            Some(crate::source::change::KNOWN_AFTER_APPLY)
        );
    }

    #[test]
    fn merge_keeps_unmanaged_fields_and_drops_unknowns_remove_takes_children() {
        let vm =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
        let mut raw = RawSnapshot::default();
        raw.add_document(
            Path::new("base.json"),
            json!([{ "id": vm, "name": "vm1", "type": "Microsoft.Compute/virtualMachines",
                     "properties": { "hardwareProfile": { "vmSize": "Standard_D2s_v5" }, "instanceView": { "osName": "x" } },
                     "resources": [{ "id": format!("{vm}/extensions/VMSnapshot"), "properties": {} }] }]),
        );
        raw.apply(&change(vec![Edit::Merge(json!({ "id": vm, "properties": { "hardwareProfile": { "vmSize": crate::source::change::KNOWN_AFTER_APPLY } } }))]));
        let inventory = raw.into_inventory().unwrap();
        let loaded = &inventory.vms[&key(vm)];
        assert!(loaded.properties.instance_view.is_some());
        assert!(loaded
            .properties
            .hardware_profile
            .as_ref()
            .unwrap()
            .vm_size
            .is_none());
        assert_eq!(inventory.extensions[&key(vm)].len(), 1);

        let mut raw = RawSnapshot::default();
        raw.add_document(
            Path::new("b.json"),
            json!([{ "id": vm, "name": "vm1", "type": "Microsoft.Compute/virtualMachines",
            "resources": [{ "id": format!("{vm}/extensions/VMSnapshot") }] }]),
        );
        raw.apply(&change(vec![Edit::Remove(vm.into())]));
        let inventory = raw.into_inventory().unwrap();
        assert!(inventory.vms.is_empty() && inventory.extensions.is_empty());
    }

    #[test]
    fn a_missing_parent_is_noted() {
        let mut raw = RawSnapshot::default();
        raw.apply(&change(vec![Edit::Element {
            parent: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n".into(),
            array: &["properties", "securityRules"],
            key_field: &["name"],
            key: "r".into(),
            item: Some(json!({ "name": "r" })),
        }]));
        assert_eq!(raw.unapplied.len(), 1);
        assert!(raw.unapplied[0].mapped);
    }
}
