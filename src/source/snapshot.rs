//! Reads a snapshot (docs/snapshots.md): a file or a directory tree of `.json` files holding ARM
//! resources exactly as Azure Resource Manager returns them, as single objects, arrays, or list
//! responses. Resources are recognised by `type`; the few type-less objects (subscriptions,
//! provider registrations, Graph service principals) by their distinctive fields.
//!
//! Files are parsed in parallel (parsing is most of a scan's time), then added to the inventory
//! one file at a time in path order, so "the last one read wins" means the same on every run.

use super::change::{join_path, kind_of};
use super::text;
use crate::error::InputError;
use crate::inventory::model::Manifest;
use crate::inventory::reading::{Reading, SkipReason};
use crate::inventory::registry::{self, join_nested_extensions};
use crate::inventory::registry::{Decoder, Refusal, Resource, Shape};
use crate::inventory::types::VIRTUAL_MACHINES;
use crate::inventory::{Inventory, Kind, ResourceType};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub const MANIFEST_SCHEMA: &str = "backup-doctor/snapshot/v1";

/// Loads every `.json` file under `path` (or `path` itself) into an inventory.
pub fn load(path: &Path) -> Result<Inventory, InputError> {
    load_layers(&[path.to_path_buf()])
}

/// Loads several snapshots in order into one inventory; a resource in a later one replaces the
/// resource with the same id in an earlier one, so a small file can amend a whole snapshot.
pub fn load_layers(paths: &[PathBuf]) -> Result<Inventory, InputError> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(json_files(path)?);
    }
    let parsed = parse_in_parallel(&files);
    let mut inventory = Inventory::default();
    for (file, contents) in files.iter().zip(parsed) {
        add(&mut inventory, contents?, file);
    }
    join_nested_extensions(&mut inventory);
    Ok(inventory)
}

/// Loads files already in memory (a live collection), exactly as if read from disk in this order.
pub fn load_files(files: &[(PathBuf, Vec<u8>)]) -> Result<Inventory, InputError> {
    let mut inventory = Inventory::default();
    for (file, bytes) in files {
        add(&mut inventory, parse_bytes(file, bytes)?, file);
    }
    join_nested_extensions(&mut inventory);
    Ok(inventory)
}

/// Adds the resources of one file's contents to `inventory`.
pub fn load_bytes(inventory: &mut Inventory, file: &Path, bytes: &[u8]) -> Result<(), InputError> {
    add(inventory, parse_bytes(file, bytes)?, file);
    Ok(())
}

/// Reads and parses every file on all cores; results come back in `files` order.
fn parse_in_parallel(files: &[PathBuf]) -> Vec<Parsed> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Parsed>>> = Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(index) else { break };
                let parsed = read(file).and_then(|bytes| parse_bytes(file, &bytes));
                results
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())[index] = Some(parsed);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .map(|r| r.expect("every file index is taken by exactly one worker"))
        .collect()
}

pub(crate) fn read(file: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(file).map_err(|e| {
        InputError::new(
            file,
            None,
            format!("cannot read the file: {e}"),
            "check that the file exists and is readable",
        )
    })
}

/// Parses one file into typed resources, without touching any inventory.
fn parse_bytes(file: &Path, bytes: &[u8]) -> Parsed {
    let decoded = text::decode(file, bytes)?;
    let document: Value = serde_json::from_slice(&decoded.bytes).map_err(|e| {
        text::not_json(file, &decoded, &e, "a snapshot file must hold one ARM resource, an array of them, or an ARM list response {\"value\": [...]}; re-export or repair the file")
    })?;
    let mut out = Contents::default();
    match document {
        Value::Array(items) => parse_items(file, "", items, &mut out)?,
        Value::Object(mut object) => {
            if object.get("schema").and_then(Value::as_str) == Some(MANIFEST_SCHEMA) {
                let manifest: Manifest = typed(file, "", Value::Object(object))?;
                if let Some((at, gap)) = registry::unknown_gap(&manifest) {
                    return Err(InputError::new(
                        file,
                        Some(format!("gaps[{at}].what")),
                        format!("the gap `{}` names no list backup-doctor reads", gap.what),
                        format!(
                            "name the list by its ARM type, one of: {} (docs/snapshots.md)",
                            registry::gap_names().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                out.manifest = Some(manifest);
                return Ok(out);
            }
            if let Some(reason) = meant_for_the_gate(&object) {
                out.reading.skip(reason, file, "", None);
                return Ok(out);
            }
            let is_list = !object.contains_key("type");
            match object.remove("value") {
                Some(Value::Array(items)) if is_list => {
                    parse_items(file, "value", items, &mut out)?
                }
                Some(other) if is_list => return Err(InputError::new(
                    file,
                    Some("value".into()),
                    format!(
                        "expected an array of resources in `value`, found {}",
                        kind_of(&other)
                    ),
                    "an ARM list response is {\"value\": [ ...resources... ], \"nextLink\": ...}",
                )),
                restored => {
                    if let Some(value) = restored {
                        object.insert("value".into(), value);
                    }
                    parse_resource(file, String::new(), Value::Object(object), &mut out)?;
                }
            }
        }
        other => return Err(InputError::new(
            file,
            None,
            format!(
                "expected a JSON object or array at the top level, found {}",
                kind_of(&other)
            ),
            "a snapshot file must hold one ARM resource, an array of them, or an ARM list response",
        )),
    }
    Ok(out)
}

fn parse_items(
    file: &Path,
    prefix: &str,
    items: Vec<Value>,
    out: &mut Contents,
) -> Result<(), InputError> {
    out.resources.reserve(items.len());
    for (index, item) in items.into_iter().enumerate() {
        parse_resource(file, format!("{prefix}[{index}]"), item, out)?;
    }
    Ok(())
}

/// Whether a whole file is the gate's input rather than a snapshot: `terraform show -json` of a
/// plan (`format_version` with `resource_changes` or `planned_values`), or an ARM what-if result,
/// as `az deployment ... what-if -o json` prints it (`changes` whose items carry `changeType`) or
/// as the REST API returns it (`properties.changes`). Only objects without `type` are asked: no ARM
/// resource has these fields at its top level.
fn meant_for_the_gate(object: &serde_json::Map<String, Value>) -> Option<SkipReason> {
    if object.contains_key("type") {
        return None;
    }
    if object.contains_key("format_version")
        && (object.contains_key("resource_changes") || object.contains_key("planned_values"))
    {
        return Some(SkipReason::TerraformPlan);
    }
    let changes = |holder: &serde_json::Map<String, Value>| match holder.get("changes") {
        Some(Value::Array(changes)) => changes
            .iter()
            .all(|change| change.get("changeType").is_some()),
        _ => false,
    };
    let rest_body = matches!(object.get("properties"), Some(Value::Object(p)) if changes(p));
    (changes(object) || rest_body).then_some(SkipReason::WhatIf)
}

/// What one file parses into.
type Parsed = Result<Contents, InputError>;

/// The recognised objects of one file: a manifest, or resources of registered kinds; and what
/// reading it saw.
#[derive(Default)]
struct Contents {
    manifest: Option<Manifest>,
    resources: Vec<Resource>,
    reading: Reading,
}

/// What an object is: a kind to file, or the reason it is skipped.
fn classify(
    file: &Path,
    place: &str,
    object: &serde_json::Map<String, Value>,
) -> Result<Result<Kind, SkipReason>, InputError> {
    match object.get("type") {
        Some(Value::String(name)) => Ok(ResourceType::of_type(name)
            .map(|t| t.kind)
            .ok_or(SkipReason::UnusedType)),
        Some(other) => Err(InputError::new(
            file,
            Some(join_path(place, "type")),
            format!(
                "`type` must be a string such as \"{VIRTUAL_MACHINES}\", found {}",
                kind_of(other)
            ),
            "fix the resource's `type` field",
        )),
        None => Ok(Shape::recognise(object).ok_or(SkipReason::NoType)),
    }
}

fn parse_resource(
    file: &Path,
    place: String,
    value: Value,
    out: &mut Contents,
) -> Result<(), InputError> {
    let Value::Object(object) = &value else {
        return Err(InputError::new(
            file,
            Some(if place.is_empty() {
                "top level".into()
            } else {
                place
            }),
            format!("expected an ARM resource object, found {}", kind_of(&value)),
            "each item of a snapshot list must be a JSON object",
        ));
    };
    let kind = match classify(file, &place, object)? {
        Ok(kind) => kind,
        Err(reason) => {
            tracing::debug!(file = %file.display(), place, ?reason, "skipping an object");
            let name = object.get("type").and_then(Value::as_str);
            out.reading.skip(reason, file, &place, name);
            return Ok(());
        }
    };
    let at = At {
        file,
        place: &place,
    };
    out.resources.push(Resource::decode(kind, value, &at)?);
    out.reading.used();
    Ok(())
}

/// Files what one file holds in the inventory.
fn add(inventory: &mut Inventory, contents: Contents, file: &Path) {
    if let Some(manifest) = contents.manifest {
        inventory.manifest = Some(manifest);
    }
    inventory.reading.merge(contents.reading);
    for resource in contents.resources {
        resource.file(inventory, file);
    }
}

/// Where in the snapshot a value is decoded, for its error messages.
struct At<'a> {
    file: &'a Path,
    place: &'a str,
}

impl Decoder for At<'_> {
    type Error = InputError;

    fn decode<T: DeserializeOwned>(&self, value: Value) -> Result<T, InputError> {
        typed(self.file, self.place, value)
    }

    fn refuse(&self, refusal: Refusal) -> InputError {
        InputError::new(
            self.file,
            Some(join_path(self.place, refusal.field)),
            refusal.problem,
            refusal.fix,
        )
    }
}

fn typed<T: DeserializeOwned>(file: &Path, place: &str, value: Value) -> Result<T, InputError> {
    // Path tracking costs on every field, so it runs only to explain a failure.
    if let Ok(resource) = T::deserialize(&value) {
        return Ok(resource);
    }
    serde_path_to_error::deserialize(&value).map_err(|error| {
        let inner = error.path().to_string();
        let at = if inner == "." { place.to_string() } else { join_path(place, &inner) };
        InputError::new(
            file,
            Some(if at.is_empty() { "top level".into() } else { at }),
            error.inner().to_string(),
            "give the field the JSON type ARM returns (see the ARM REST reference for this resource type), or remove it",
        )
    })
}

/// Every `.json` file under `path` (or `path` itself), in path order. Symbolic links are
/// followed, to files and to directories (a subscription folder linked in from elsewhere is as
/// much a part of the snapshot as a copied one); each directory and file is read once however
/// many links lead to it, which also ends any loop.
pub(crate) fn json_files(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    let metadata = std::fs::metadata(path).map_err(|e| {
        InputError::new(
            path,
            None,
            format!("cannot open the snapshot: {e}"),
            "pass --snapshot a file or directory of ARM JSON (for example fixtures/fleets/demo)",
        )
    })?;
    if metadata.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut visited = HashSet::new();
    visited.insert(canonical(path)?);
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let unlistable = |e: std::io::Error| {
            InputError::new(
                &dir,
                None,
                format!("cannot list the directory: {e}"),
                "check its permissions",
            )
        };
        for entry in std::fs::read_dir(&dir).map_err(unlistable)? {
            let entry = entry.map_err(unlistable)?;
            let path = entry.path();
            let unreadable = |e| {
                InputError::new(
                    &path,
                    None,
                    format!("cannot stat: {e}"),
                    "check its permissions",
                )
            };
            let mut file_type = entry.file_type().map_err(unreadable)?;
            if file_type.is_symlink() {
                file_type = std::fs::metadata(&path)
                    .map_err(|e| {
                        InputError::new(
                            &path,
                            None,
                            format!("cannot follow the symbolic link: {e}"),
                            "repair the link or remove it from the snapshot",
                        )
                    })?
                    .file_type();
            }
            if file_type.is_dir() {
                if visited.insert(canonical(&path)?) {
                    pending.push(path);
                } else {
                    tracing::debug!(dir = %path.display(), "already read through another path");
                }
            } else if path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
            {
                let real = canonical(&path)?;
                files.push((path, real));
            }
        }
    }
    // Sorted so "the last one read wins" means the same thing on every machine; a file reached
    // by two paths is read at the first.
    files.sort();
    let mut seen = HashSet::new();
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|(_, real)| seen.insert(real.clone()))
        .map(|(path, _)| path)
        .collect();
    if files.is_empty() {
        return Err(InputError::new(path, None, "the snapshot directory holds no .json files", "point --snapshot at a directory written by `backup-doctor collect` or holding ARM JSON exports"));
    }
    Ok(files)
}

fn canonical(path: &Path) -> Result<PathBuf, InputError> {
    std::fs::canonicalize(path).map_err(|e| {
        InputError::new(
            path,
            None,
            format!("cannot resolve the path: {e}"),
            "check that it exists and that every folder on the way is readable",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(inventory: &mut Inventory, text: &str) -> Result<(), InputError> {
        load_bytes(inventory, Path::new("test.json"), text.as_bytes())
    }

    #[test]
    fn recognises_typeless_objects_and_the_manifest() {
        let mut inventory = Inventory::default();
        load_str(&mut inventory, r#"{"schema": "backup-doctor/snapshot/v1", "created": "2026-11-24T06:00:00Z", "gaps": [{"scope": "/subscriptions/s", "what": "Microsoft.Authorization/locks", "reason": "AuthorizationFailed"}]}"#).unwrap();
        load_str(&mut inventory, r#"{"value": [{"id": "/subscriptions/S1", "subscriptionId": "S1", "displayName": "prod"}]}"#).unwrap();
        load_str(&mut inventory, r#"[{"id": "/subscriptions/s1/providers/Microsoft.Compute", "namespace": "Microsoft.Compute", "registrationState": "Registered"}]"#).unwrap();
        load_str(&mut inventory, r#"{"@odata.context": "x", "value": [{"id": "oid", "appId": "262044b1-e2ce-469f-a196-69ab7ada62d3"}]}"#).unwrap();
        assert!(inventory.subscriptions.contains_key("s1"));
        assert!(inventory.providers["s1"].contains_key("microsoft.compute"));
        assert_eq!(inventory.service_principals.len(), 1);
        assert!(inventory
            .gap_for(
                "/subscriptions/s/resourceGroups/rg",
                "microsoft.authorization/locks"
            )
            .is_some());
    }

    #[test]
    fn nested_extensions_join_the_vm_and_duplicates_warn() {
        let vm = r#"{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "name": "vm1",
            "type": "Microsoft.Compute/virtualMachines",
            "resources": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/VMSnapshot",
                           "properties": {"publisher": "Microsoft.Azure.RecoveryServices", "type": "VMSnapshot"}}]}"#;
        let mut inventory = Inventory::default();
        load_str(&mut inventory, vm).unwrap();
        load_str(
            &mut inventory,
            &vm.replace("/vm1\", \"name\"", "/VM1\", \"name\""),
        )
        .unwrap();
        join_nested_extensions(&mut inventory);
        assert_eq!(inventory.vms.len(), 1);
        assert_eq!(inventory.warnings.len(), 1, "{:?}", inventory.warnings);
        assert_eq!(inventory.extensions["/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"].len(), 1);
    }

    #[test]
    fn unknown_types_are_skipped_and_bad_shapes_are_errors() {
        let mut inventory = Inventory::default();
        load_str(
            &mut inventory,
            r#"[{"id": "/x", "type": "Microsoft.Web/sites"}, {"id": "/y", "name": "y"}, {"id": "/z", "type": "microsoft.web/SITES"}]"#,
        )
        .unwrap();
        let reading = &inventory.reading;
        assert_eq!((reading.objects, reading.skipped_count()), (3, 3));
        let unused = &reading.skipped[&SkipReason::UnusedType];
        assert_eq!(unused.count, 2);
        // Counted as the input spells each type, so the user can find them.
        assert_eq!(unused.types.len(), 2, "{:?}", unused.types);
        let places: Vec<String> = unused.examples.iter().map(|p| p.to_string()).collect();
        assert_eq!(places, ["test.json at [0]", "test.json at [2]"]);
        assert_eq!(
            reading.skipped[&SkipReason::NoType].examples[0].to_string(),
            "test.json at [1]"
        );
        let error = load_str(&mut inventory, r#"{"value": 3}"#).unwrap_err();
        assert_eq!(error.place.as_deref(), Some("value"));
        let error = load_str(&mut inventory, "[1]").unwrap_err();
        assert_eq!(error.place.as_deref(), Some("[0]"));
    }

    /// What reading `text` as a whole file skipped, by reason.
    fn skipped(text: &str) -> Vec<(SkipReason, usize, String)> {
        let mut inventory = Inventory::default();
        load_str(&mut inventory, text).unwrap();
        inventory
            .reading
            .skipped
            .values()
            .map(|g| (g.reason, g.count, g.examples[0].to_string()))
            .collect()
    }

    #[test]
    fn plans_and_what_if_results_are_named_as_such() {
        let whole = |reason| vec![(reason, 1, "test.json".to_string())];
        for plan in [
            r#"{"format_version": "1.2", "terraform_version": "1.9.0", "resource_changes": []}"#,
            r#"{"format_version": "0.1", "planned_values": {"root_module": {}}}"#,
        ] {
            assert_eq!(skipped(plan), whole(SkipReason::TerraformPlan), "{plan}");
        }
        for what_if in [
            // `az deployment group what-if -o json`
            r#"{"changes": [{"changeType": "Modify", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"}], "status": "Succeeded"}"#,
            // The REST body, as `az rest` and the SDKs store it.
            r#"{"status": "Succeeded", "properties": {"changes": [{"changeType": "NoChange", "resourceId": "/x"}]}}"#,
            r#"{"status": "Succeeded", "properties": {"changes": []}}"#,
        ] {
            assert_eq!(skipped(what_if), whole(SkipReason::WhatIf), "{what_if}");
        }
        // Look-alikes stay what they are: a state is no plan, a resource with a `changes` property
        // no what-if result, and `changes` without `changeType` are not a what-if's.
        let no_type = whole(SkipReason::NoType);
        assert_eq!(
            skipped(r#"{"format_version": "1.0", "values": {}}"#),
            no_type
        );
        assert_eq!(skipped(r#"{"changes": [{"op": "replace"}]}"#), no_type);
        assert_eq!(
            skipped(
                r#"{"id": "/a", "type": "Microsoft.Web/sites", "properties": {"changes": []}}"#
            )[0]
            .0,
            SkipReason::UnusedType
        );
        let message = SkipReason::TerraformPlan.message();
        assert!(message.contains("gate --plan"), "{message}");
        assert!(SkipReason::WhatIf.message().contains("gate --what-if"));
    }

    #[test]
    fn typeless_objects_the_loader_knows_are_not_skipped() {
        let mut inventory = Inventory::default();
        load_str(&mut inventory, r#"{"value": [{"id": "/subscriptions/S1", "subscriptionId": "S1"}, {"id": "oid", "appId": "a"}]}"#).unwrap();
        load_str(
            &mut inventory,
            r#"{"schema": "backup-doctor/snapshot/v1", "gaps": []}"#,
        )
        .unwrap();
        assert_eq!(
            inventory.reading.objects, 2,
            "the manifest is no object of the fleet"
        );
        assert_eq!(inventory.reading.skipped_count(), 0);
        assert_eq!(
            skipped(r#"{"value": [{"subscriptionId": "S1", "properties": {}}]}"#),
            [(SkipReason::NoType, 1, "test.json at value[0]".to_string())]
        );
    }
}
