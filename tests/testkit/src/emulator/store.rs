//! The snapshot as the emulator serves it: raw ARM objects, indexed by lower-cased id and type.
//!
//! The emulator deliberately does not go through `backup_doctor::source::snapshot`: that loader
//! turns resources into typed models and drops what it does not understand, while ARM has to
//! answer with the objects exactly as they were captured.

use super::EmulatorError;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// One held ARM resource.
#[derive(Debug)]
pub(crate) struct Entry {
    pub id: String,
    pub type_: String,
    pub value: Value,
    /// The resource as list pages serve it, serialised when it was read.
    pub served: super::arm::Served,
}

/// What an id resolves to for a single `GET {id}`.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Resource(usize),
    Subscription(usize),
    Provider(usize),
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Resources in read order (sorted file paths, then order in the file), so that lists and
    /// their pages are stable between requests.
    entries: Vec<Entry>,
    by_type: HashMap<String, Vec<usize>>,
    /// `by_type` split by subscription (type → subscription → indices), so that a list in one
    /// subscription does not scan the resources of every other: a big fleet's list pages asked
    /// for one subscription each went through all 10,000 VMs of the fleet.
    by_type_in_subscription: HashMap<String, HashMap<String, Vec<usize>>>,
    /// Resources by their id minus the last two segments (`{parent}/{child}/{name}` → parent), so
    /// a per-VM or per-vault child list does not scan every resource of the type: collecting a
    /// large fleet asks for one such list per VM.
    by_parent: HashMap<String, Vec<usize>>,
    by_id: HashMap<String, Slot>,
    pub subscriptions: Vec<Value>,
    /// Resource Graph `resourcecontainers` rows of subscriptions, apart from `subscriptions`:
    /// they share the subscription's id but are not what `GET /subscriptions` answers.
    pub containers: Vec<Value>,
    providers: Vec<(String, Value)>,
    pub principals: Vec<Value>,
    /// Lower-cased ids of every subscription the snapshot mentions, from subscription objects or
    /// from resource ids, so that a path naming an unknown subscription answers like ARM does.
    pub known_subscriptions: BTreeSet<String>,
    pub manifest_tenant: Option<String>,
}

impl Store {
    /// Reads a snapshot directory (recursively, sorted paths) or a single snapshot file.
    pub(crate) fn load(root: &Path) -> Result<Store, EmulatorError> {
        let meta = fs::metadata(root).map_err(|source| EmulatorError::Read {
            path: root.to_path_buf(),
            source,
        })?;
        let mut files = Vec::new();
        if meta.is_dir() {
            collect_files(root, &mut files)?;
        } else {
            files.push(root.to_path_buf());
        }
        let mut store = Store::default();
        for file in files {
            let bytes = fs::read(&file).map_err(|source| EmulatorError::Read {
                path: file.clone(),
                source,
            })?;
            let doc: Value =
                serde_json::from_slice(&bytes).map_err(|source| EmulatorError::Json {
                    path: file.clone(),
                    source,
                })?;
            if is_manifest(&file) {
                store.manifest_tenant = doc
                    .get("tenantId")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                continue;
            }
            store.add_document(doc);
        }
        store.finish();
        Ok(store)
    }

    /// Adds every object of one file (a single object, an array, or an ARM list).
    pub(crate) fn add_document(&mut self, doc: Value) {
        let items = match doc {
            Value::Array(items) => items,
            Value::Object(mut map) => match map.remove("value") {
                Some(Value::Array(items)) => items,
                Some(other) => {
                    map.insert("value".to_owned(), other);
                    vec![Value::Object(map)]
                }
                None => vec![Value::Object(map)],
            },
            _ => Vec::new(),
        };
        for item in items {
            self.add(item);
        }
    }

    fn add(&mut self, item: Value) {
        let Some(obj) = item.as_object() else {
            tracing::debug!("snapshot item is not an object; skipped");
            return;
        };
        let id = obj.get("id").and_then(Value::as_str).map(str::to_lowercase);
        let type_ = obj
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_lowercase);
        let is_subscription_type = type_.as_deref() == Some("microsoft.resources/subscriptions");
        // ARM's subscription objects carry no `properties`; Resource Graph's rows of the same
        // subscriptions do (the management group ancestry among them).
        if is_subscription_type && obj.get("properties").is_some_and(Value::is_object) {
            let sub = obj
                .get("subscriptionId")
                .and_then(Value::as_str)
                .map(str::to_lowercase)
                .or_else(|| id.as_deref().and_then(subscription_of).map(str::to_owned));
            if let Some(sub) = sub {
                self.known_subscriptions.insert(sub);
            }
            let same =
                |row: &Value| row.get("id").and_then(Value::as_str).map(str::to_lowercase) == id;
            match self
                .containers
                .iter_mut()
                .find(|row| id.is_some() && same(row))
            {
                Some(row) => *row = item,
                None => self.containers.push(item),
            }
            return;
        }
        if obj.contains_key("subscriptionId") && (type_.is_none() || is_subscription_type) {
            let sub = obj
                .get("subscriptionId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase();
            let id = id.unwrap_or_else(|| format!("/subscriptions/{sub}"));
            self.known_subscriptions.insert(sub);
            match self.by_id.get(&id) {
                Some(Slot::Subscription(i)) => self.subscriptions[*i] = item,
                _ => {
                    self.by_id
                        .insert(id, Slot::Subscription(self.subscriptions.len()));
                    self.subscriptions.push(item);
                }
            }
            return;
        }
        if obj.contains_key("namespace") && obj.contains_key("registrationState") {
            let Some(id) = id else {
                tracing::debug!("resource provider without an id; skipped");
                return;
            };
            match self.by_id.get(&id) {
                Some(Slot::Provider(i)) => self.providers[*i].1 = item,
                _ => {
                    self.by_id
                        .insert(id.clone(), Slot::Provider(self.providers.len()));
                    self.providers.push((id, item));
                }
            }
            return;
        }
        if obj.contains_key("appId") && type_.is_none() {
            self.principals.push(item);
            return;
        }
        let (Some(id), Some(type_)) = (id, type_) else {
            tracing::debug!("snapshot object without id and type; skipped");
            return;
        };
        // Duplicate ids: the last one read wins, as in the project's snapshot loader, but the
        // resource keeps its first position so list order stays stable.
        match self.by_id.get(&id) {
            Some(Slot::Resource(i)) => {
                let i = *i;
                let old_type = std::mem::replace(&mut self.entries[i].type_, type_.clone());
                if old_type != type_ {
                    if let Some(list) = self.by_type.get_mut(&old_type) {
                        list.retain(|&j| j != i);
                    }
                    if let Some(sub) = subscription_of(&id) {
                        if let Some(list) = self
                            .by_type_in_subscription
                            .get_mut(&old_type)
                            .and_then(|subs| subs.get_mut(sub))
                        {
                            list.retain(|&j| j != i);
                        }
                        self.index_in_subscription(&type_, sub, i);
                    }
                    self.by_type.entry(type_).or_default().push(i);
                }
                let current_type = self.entries[i].type_.clone();
                self.entries[i].served = super::arm::Served::of(&current_type, &item);
                self.entries[i].value = item;
            }
            _ => {
                let i = self.entries.len();
                self.by_id.insert(id.clone(), Slot::Resource(i));
                if let Some(parent) = parent_of(&id) {
                    self.by_parent.entry(parent.to_owned()).or_default().push(i);
                }
                self.by_type.entry(type_.clone()).or_default().push(i);
                if let Some(sub) = subscription_of(&id) {
                    self.index_in_subscription(&type_, sub, i);
                }
                let served = super::arm::Served::of(&type_, &item);
                self.entries.push(Entry {
                    id,
                    type_,
                    value: item,
                    served,
                });
            }
        }
    }

    fn index_in_subscription(&mut self, type_: &str, sub: &str, i: usize) {
        self.by_type_in_subscription
            .entry(type_.to_owned())
            .or_default()
            .entry(sub.to_owned())
            .or_default()
            .push(i);
    }

    pub(crate) fn finish(&mut self) {
        let from_ids: Vec<String> = self
            .entries
            .iter()
            .map(|e| e.id.as_str())
            .chain(self.providers.iter().map(|(id, _)| id.as_str()))
            .filter_map(subscription_of)
            .map(str::to_owned)
            .collect();
        self.known_subscriptions.extend(from_ids);
        // A snapshot without tenant/subscriptions.json still has to be enumerable through
        // `GET /subscriptions`, so synthesise minimal subscription objects from the ids.
        if self.subscriptions.is_empty() {
            let tenant = self.manifest_tenant.clone();
            for sub in self.known_subscriptions.clone() {
                let mut obj = serde_json::json!({
                    "id": format!("/subscriptions/{sub}"),
                    "subscriptionId": sub,
                    "displayName": sub,
                    "state": "Enabled",
                });
                if let Some(t) = &tenant {
                    obj["tenantId"] = Value::String(t.clone());
                }
                self.by_id.insert(
                    format!("/subscriptions/{sub}"),
                    Slot::Subscription(self.subscriptions.len()),
                );
                self.subscriptions.push(obj);
            }
        }
    }

    /// The object held under `id_lower`, if any.
    pub(crate) fn get(&self, id_lower: &str) -> Option<(&str, &Value)> {
        match self.by_id.get(id_lower)? {
            Slot::Resource(i) => {
                let e = &self.entries[*i];
                Some((e.type_.as_str(), &e.value))
            }
            Slot::Subscription(i) => {
                Some(("microsoft.resources/subscriptions", &self.subscriptions[*i]))
            }
            Slot::Provider(i) => Some(("microsoft.resources/providers", &self.providers[*i].1)),
        }
    }

    /// The lower-cased names of the management groups above a subscription, nearest first, as its
    /// Resource Graph container row says; none without a row.
    pub(crate) fn management_groups_of(&self, sub_lower: &str) -> Vec<String> {
        let id = format!("/subscriptions/{sub_lower}");
        self.containers
            .iter()
            .filter(|row| {
                row.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|i| i.eq_ignore_ascii_case(&id))
            })
            .flat_map(|row| {
                row.pointer("/properties/managementGroupAncestorsChain")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|group| group.get("name").and_then(Value::as_str))
            .map(str::to_lowercase)
            .collect()
    }

    /// Resources of type `type_lower` whose id starts with `prefix_lower`, in read order.
    pub(crate) fn of_type<'a>(
        &'a self,
        type_lower: &str,
        prefix_lower: &'a str,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        let indices = match subscription_of(prefix_lower) {
            // Every id under `/subscriptions/{s}/...` is in that subscription's index.
            Some(sub) if prefix_lower.len() > "/subscriptions/".len() + sub.len() => self
                .by_type_in_subscription
                .get(type_lower)
                .and_then(|subs| subs.get(sub)),
            _ => self.by_type.get(type_lower),
        };
        indices
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&i| &self.entries[i])
            .filter(move |e| e.id.starts_with(prefix_lower))
    }

    /// Resources whose type satisfies `keep`, under `prefix_lower`, in read order.
    pub(crate) fn matching<'a>(
        &'a self,
        prefix_lower: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<&'a Entry> {
        let mut indices: Vec<usize> = self
            .by_type
            .iter()
            .filter(|(type_, _)| keep(type_))
            .flat_map(|(_, list)| list.iter().copied())
            .filter(|&i| self.entries[i].id.starts_with(prefix_lower))
            .collect();
        indices.sort_unstable();
        indices.into_iter().map(|i| &self.entries[i]).collect()
    }

    /// The direct children `{parent}/{child}/{name}` of type `type_lower`, in read order.
    pub(crate) fn children<'a>(
        &'a self,
        parent_lower: &str,
        type_lower: &'a str,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.by_parent
            .get(parent_lower)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&i| &self.entries[i])
            .filter(move |e| e.type_ == type_lower)
    }

    pub(crate) fn providers_under<'a>(
        &'a self,
        prefix_lower: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.providers
            .iter()
            .filter(move |(id, _)| id.starts_with(prefix_lower))
            .map(|(_, v)| v)
    }
}

/// The lower-cased subscription id of an ARM id, if it is subscription-scoped.
pub(crate) fn subscription_of(id_lower: &str) -> Option<&str> {
    let rest = id_lower.strip_prefix("/subscriptions/")?;
    let sub = rest.split('/').next()?;
    (!sub.is_empty()).then_some(sub)
}

/// `{parent}/{child}/{name}` → `{parent}`.
fn parent_of(id_lower: &str) -> Option<&str> {
    let (rest, _name) = id_lower.rsplit_once('/')?;
    let (parent, _child) = rest.rsplit_once('/')?;
    (!parent.is_empty()).then_some(parent)
}

fn is_manifest(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.eq_ignore_ascii_case("snapshot.json"))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), EmulatorError> {
    let read_err = |source| EmulatorError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        paths.push(entry.map_err(read_err)?.path());
    }
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(docs: Vec<Value>) -> Store {
        let mut s = Store::default();
        for d in docs {
            s.add_document(d);
        }
        s.finish();
        s
    }

    #[test]
    fn classifies_the_three_shapes_and_special_objects() {
        let s = store(vec![
            json!({"value": [{"id": "/subscriptions/S1", "subscriptionId": "S1"}]}),
            json!([{"id": "/subscriptions/s1/providers/Microsoft.Compute", "namespace": "Microsoft.Compute", "registrationState": "Registered"}]),
            json!({"id": "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1", "type": "Microsoft.Compute/virtualMachines"}),
            json!({"value": [{"id": "sp", "appId": "app", "displayName": "x"}]}),
        ]);
        assert_eq!(s.subscriptions.len(), 1);
        assert_eq!(s.principals.len(), 1);
        assert!(s
            .get("/subscriptions/s1/providers/microsoft.compute")
            .is_some());
        let (t, _) = s
            .get("/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1")
            .unwrap();
        assert_eq!(t, "microsoft.compute/virtualmachines");
        assert_eq!(
            s.of_type("microsoft.compute/virtualmachines", "/subscriptions/s1/")
                .count(),
            1
        );
        assert_eq!(s.providers_under("/subscriptions/s1/providers/").count(), 1);
    }

    #[test]
    fn duplicate_ids_last_wins_in_first_position() {
        let s = store(vec![
            json!({"id": "/subscriptions/s/a", "type": "T", "n": 1}),
            json!({"id": "/subscriptions/s/b", "type": "T", "n": 2}),
            json!({"id": "/SUBSCRIPTIONS/s/A", "type": "t", "n": 3}),
        ]);
        let ns: Vec<_> = s.of_type("t", "/").map(|e| e.value["n"].clone()).collect();
        assert_eq!(ns, vec![json!(3), json!(2)]);
    }

    #[test]
    fn container_rows_are_kept_apart_from_subscriptions() {
        let row = |n: u32| {
            json!({"id": "/subscriptions/S1", "type": "microsoft.resources/subscriptions",
                   "subscriptionId": "S1", "name": "one", "n": n,
                   "properties": {"managementGroupAncestorsChain": [
                       {"name": "MG-Near", "displayName": "Near"}, {"name": "root"}]}})
        };
        // Rows first, as `tenant/resourceContainers.json` sorts before `subscriptions.json`.
        let s = store(vec![
            json!({"value": [row(1)]}),
            json!({"value": [{"id": "/subscriptions/S1", "subscriptionId": "S1", "displayName": "one"}]}),
            json!([row(2)]),
        ]);
        assert_eq!(s.subscriptions.len(), 1);
        assert!(s.subscriptions[0].get("properties").is_none());
        assert_eq!(s.containers.len(), 1);
        assert_eq!(s.containers[0]["n"], 2);
        let (t, v) = s.get("/subscriptions/s1").unwrap();
        assert_eq!(t, "microsoft.resources/subscriptions");
        assert_eq!(v["displayName"], "one");
        assert_eq!(s.management_groups_of("s1"), vec!["mg-near", "root"]);
        assert!(s.management_groups_of("s2").is_empty());

        // Rows alone still make their subscriptions known and listable.
        let s = store(vec![json!({"value": [row(1)]})]);
        assert!(s.known_subscriptions.contains("s1"));
        assert_eq!(s.subscriptions.len(), 1);
        assert!(s.subscriptions[0].get("properties").is_none());
    }

    #[test]
    fn synthesises_subscriptions_when_none_are_given() {
        let s = store(vec![
            json!({"id": "/subscriptions/abc/resourceGroups/rg", "type": "Microsoft.Resources/resourceGroups"}),
        ]);
        assert_eq!(s.subscriptions.len(), 1);
        assert_eq!(s.subscriptions[0]["subscriptionId"], "abc");
        assert!(s.known_subscriptions.contains("abc"));
    }
}
