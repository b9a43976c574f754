//! Takes data out of a snapshot directory the way a collector can lose it, for the properties
//! that less data never improves a verdict (tests/gap_properties.rs, tests/monotone.rs): whole
//! lists and files declared as gaps (a 403), single resources gone from a list that is then
//! declared a gap (a partial read), referenced resources gone with no gap declared (an
//! inconsistent snapshot), and field paths gone from every resource of a type. Everything is
//! derived from the snapshot's own files, so a new resource type or field in a fleet is tried
//! without editing a list here.
//!
//! Objects without an ARM `type` (Graph's service principals) need the library's shape
//! recognition to name their list; the caller passes it as `list_name`, since this crate does
//! not link the library.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The ARM type, in lower case, of a VM's instance view read as a list of its own.
pub const VM_INSTANCE_VIEWS: &str = "Microsoft.Compute/virtualMachines/instanceView";
const VIRTUAL_MACHINES: &str = "microsoft.compute/virtualmachines";

/// A snapshot directory's JSON files, relative to it and parsed, `snapshot.json` included.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub root: PathBuf,
    pub files: Vec<(PathBuf, Value)>,
}

impl Fleet {
    pub fn read(root: &Path) -> Fleet {
        let mut files = Vec::new();
        walk(root, root, &mut files);
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Fleet {
            root: root.to_path_buf(),
            files,
        }
    }

    fn manifest(&self) -> &Value {
        &self
            .files
            .iter()
            .find(|(f, _)| f == Path::new("snapshot.json"))
            .unwrap_or_else(|| panic!("{} has no snapshot.json", self.root.display()))
            .1
    }

    /// The resources (objects with an ARM `type` and `id`), each with its file.
    pub fn resources(&self) -> impl Iterator<Item = (&Path, &Value)> {
        self.files
            .iter()
            .filter(|(f, _)| f != Path::new("snapshot.json"))
            .flat_map(|(f, d)| items(d).into_iter().map(move |i| (f.as_path(), i)))
            .filter(|(_, i)| i["type"].is_string() && i["id"].is_string())
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Value)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            let value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((relative, value));
        }
    }
}

/// The items of a snapshot file (an array, a list response or one object).
pub fn items(document: &Value) -> Vec<&Value> {
    match document {
        Value::Array(items) => items.iter().collect(),
        Value::Object(o) if o.get("schema").is_some() => Vec::new(),
        Value::Object(o) if !o.contains_key("type") && o.contains_key("value") => o["value"]
            .as_array()
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
        other => vec![other],
    }
}

/// The folder of a file: a subscription id, or `tenant`.
pub fn folder(file: &Path) -> String {
    file.components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The scope a gap of a folder's list names.
pub fn scope_of(folder: &str) -> String {
    if folder == "tenant" {
        "/".into()
    } else {
        format!("/subscriptions/{folder}")
    }
}

/// The name of an object's list: its ARM type, or what `typeless` makes of a type-less object.
pub type ListName<'a> = &'a dyn Fn(&Value) -> Option<String>;

fn name_of(item: &Value, typeless: ListName) -> Option<String> {
    match item["type"].as_str() {
        Some(t) => Some(t.to_string()),
        None => typeless(item),
    }
}

/// What can be missing from a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Missing {
    /// One list (an ARM type, lower case) of one folder, declared a gap.
    List { folder: String, what: String },
    /// One whole file; every list it holds is declared a gap.
    File(PathBuf),
    /// One resource (by id); with `gap`, its list is declared a gap (the read was partial),
    /// without, the snapshot still claims the list whole (offered only for resources another
    /// object references, so the removal leaves a dangling reference, not a different fleet).
    Resource { id: String, gap: bool },
    /// One field path (`properties.a[].b`) of every resource of a type (lower case), no gap.
    Field { what: String, path: String },
}

/// Every list and file of the fleet that can be missing.
pub fn lists(fleet: &Fleet, typeless: ListName) -> Vec<Missing> {
    let mut out = BTreeSet::new();
    for (file, document) in &fleet.files {
        if file == Path::new("snapshot.json") {
            continue;
        }
        let folder = folder(file);
        let mut any = false;
        for item in items(document) {
            if let Some(what) = name_of(item, typeless) {
                any = true;
                if what.eq_ignore_ascii_case(VIRTUAL_MACHINES) {
                    out.insert(Missing::List {
                        folder: folder.clone(),
                        what: VM_INSTANCE_VIEWS.into(),
                    });
                }
                out.insert(Missing::List {
                    folder: folder.clone(),
                    what: what.to_ascii_lowercase(),
                });
            }
        }
        if any {
            out.insert(Missing::File(file.clone()));
        }
    }
    out.into_iter().collect()
}

/// Every resource of the fleet, gone from a partial list; and each resource another object
/// references (its id, in any case, inside another object's JSON), gone with no gap. A change
/// record (`Microsoft.Resources/changes`) naming a resource is its history, not a reference: a
/// resource deleted since its last change is a different fleet, not a dangling reference.
pub fn resources(fleet: &Fleet) -> Vec<Missing> {
    let serialised: Vec<(String, String)> = fleet
        .resources()
        .map(|(_, item)| {
            (
                item["id"].as_str().unwrap().to_ascii_lowercase(),
                item.to_string().to_ascii_lowercase(),
            )
        })
        .collect();
    let is_change = |id: &str| id.contains("/providers/microsoft.resources/changes/");
    let mut out = Vec::new();
    for (id, _) in &serialised {
        out.push(Missing::Resource {
            id: id.clone(),
            gap: true,
        });
        // `"<id>"` or `"<id>/child"` inside another object, not a longer name sharing a prefix.
        let referenced = serialised.iter().any(|(other, text)| {
            other != id
                && !is_change(other)
                && [format!("\"{id}\""), format!("\"{id}/")]
                    .iter()
                    .any(|needle| text.contains(needle.as_str()))
        });
        if referenced {
            out.push(Missing::Resource {
                id: id.clone(),
                gap: false,
            });
        }
    }
    out
}

/// Every field path of the fleet's resources, by type (lower case):
/// `properties.securityRules[].properties.priority`, a list's elements collapsed to `[]`; `id`
/// and `type` left out (without them an object is no resource: a missing list covers that).
pub fn field_paths(fleet: &Fleet) -> Vec<(String, String)> {
    fn walk(value: &Value, path: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(fields) => {
                for (name, child) in fields {
                    let at = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    out.insert(at.clone());
                    walk(child, &at, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for (_, item) in fleet.resources() {
        let what = item["type"].as_str().unwrap().to_ascii_lowercase();
        let mut paths = BTreeSet::new();
        walk(item, "", &mut paths);
        for path in paths.into_iter().filter(|p| p != "id" && p != "type") {
            out.insert((what.clone(), path));
        }
    }
    out.into_iter().collect()
}

/// Fields whose absence ARM documents as a value, which resolvers read as that value: removing
/// one describes another valid resource, not a field that was not read.
pub const DOCUMENTED_ABSENCE: &[(&str, &str, &str)] = &[
    (
        "microsoft.network/networkinterfaces",
        "properties.networkSecurityGroup",
        "optional reference: a NIC without one has no NSG",
    ),
    (
        "microsoft.network/networkinterfaces",
        "properties.networkSecurityGroup.id",
        "as above",
    ),
    (
        "microsoft.network/virtualnetworks",
        "properties.subnets[].properties.routeTable",
        "optional reference: a subnet without one has no route table",
    ),
    (
        "microsoft.network/virtualnetworks",
        "properties.subnets[].properties.routeTable.id",
        "as above",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties.networkAcls",
        "Key Vault: without network rules every network is allowed",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties.networkAcls.bypass",
        "Key Vault: `AzureServices` when not given",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties.networkAcls.defaultAction",
        "Key Vault: `Allow` when not given",
    ),
    (
        "microsoft.compute/disks",
        "properties.encryptionSettingsCollection",
        "set on a disk only by Azure Disk Encryption: absent, ADE is off",
    ),
    (
        "microsoft.compute/disks",
        "properties.maxShares",
        "a disk created without maxShares attaches to one VM",
    ),
    (
        "microsoft.recoveryservices/vaults",
        "properties.privateEndpointConnections",
        "present only on a vault with private endpoints",
    ),
];

/// Whether ARM documents what the absence of this field means ([`DOCUMENTED_ABSENCE`]).
pub fn absence_documented(what: &str, path: &str) -> bool {
    DOCUMENTED_ABSENCE
        .iter()
        .any(|(w, p, _)| *w == what && *p == path)
}

/// Removes `path` (`a.b[].c`) from `value`, in every element of the lists on the way.
pub fn remove_path(value: &mut Value, path: &str) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (head, false),
    };
    let Value::Object(fields) = value else { return };
    let Some(rest) = rest else {
        fields.remove(name);
        return;
    };
    let Some(child) = fields.get_mut(name) else {
        return;
    };
    if !each {
        remove_path(child, rest);
    } else if let Value::Array(items) = child {
        for item in items {
            remove_path(item, rest);
        }
    }
}

/// The fleet without `missing`, as the files the snapshot loader reads (absolute paths under
/// the fleet's root), with a manifest declaring every gap the removals make.
pub fn without(fleet: &Fleet, missing: &[Missing], typeless: ListName) -> Vec<(PathBuf, Vec<u8>)> {
    let has = |m: &Missing| missing.contains(m);
    let mut fields: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut gone: BTreeMap<&str, bool> = BTreeMap::new();
    for m in missing {
        match m {
            Missing::Field { what, path } => fields.entry(what).or_default().push(path),
            Missing::Resource { id, gap } => {
                *gone.entry(id).or_default() |= *gap;
            }
            _ => {}
        }
    }
    let mut gaps = BTreeSet::new();
    let mut out = Vec::new();
    for (file, document) in &fleet.files {
        if file == Path::new("snapshot.json") {
            continue;
        }
        let folder = folder(file);
        let whole = has(&Missing::File(file.clone()));
        let views_gone = has(&Missing::List {
            folder: folder.clone(),
            what: VM_INSTANCE_VIEWS.into(),
        });
        let mut kept = Vec::new();
        for item in items(document) {
            let Some(what) = name_of(item, typeless) else {
                kept.push(item.clone());
                continue;
            };
            let list_gone = whole
                || has(&Missing::List {
                    folder: folder.clone(),
                    what: what.to_ascii_lowercase(),
                });
            if list_gone {
                gaps.insert((scope_of(&folder), what));
                continue;
            }
            let id = item["id"].as_str().unwrap_or_default().to_ascii_lowercase();
            if let Some(gap) = gone.get(id.as_str()) {
                if *gap {
                    gaps.insert((scope_of(&folder), what));
                }
                continue;
            }
            let mut item = item.clone();
            if views_gone && what.eq_ignore_ascii_case(VIRTUAL_MACHINES) {
                if let Some(props) = item["properties"].as_object_mut() {
                    props.remove("instanceView");
                }
                gaps.insert((scope_of(&folder), VM_INSTANCE_VIEWS.to_string()));
            }
            for path in fields
                .get(what.to_ascii_lowercase().as_str())
                .into_iter()
                .flatten()
            {
                remove_path(&mut item, path);
            }
            kept.push(item);
        }
        out.push((fleet.root.join(file), serde_json::to_vec(&kept).unwrap()));
    }
    let mut manifest = fleet.manifest().clone();
    let mut declared: Vec<Value> = manifest["gaps"].as_array().cloned().unwrap_or_default();
    declared.extend(gaps.into_iter().map(|(scope, what)| {
        json!({"scope": scope, "what": what, "reason": "HTTP 403 AuthorizationFailed (test)"})
    }));
    manifest["gaps"] = Value::Array(declared);
    out.push((
        fleet.root.join("snapshot.json"),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    out
}

/// The ids (lower case) of the VMs `files` still hold.
pub fn vm_ids(files: &[(PathBuf, Vec<u8>)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (file, bytes) in files {
        if file.ends_with("snapshot.json") {
            continue;
        }
        let document: Value = serde_json::from_slice(bytes).unwrap();
        for item in items(&document) {
            if item["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(VIRTUAL_MACHINES))
            {
                if let Some(id) = item["id"].as_str() {
                    out.insert(id.to_ascii_lowercase());
                }
            }
        }
    }
    out
}
