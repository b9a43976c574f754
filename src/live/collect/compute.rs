//! Microsoft.Compute: VMs with their run-time status, disks, disk encryption sets, restore point
//! collections.

use super::{id_of, to_json, Parent, Read, Subscription};
use crate::inventory::types::{VIRTUAL_MACHINES, VM_INSTANCE_VIEWS};
use crate::inventory::Kind;
use serde_json::Value;
use std::collections::BTreeMap;

sdk_client!(compute: azure_mgmt_compute::package_2024_07_01::Client);

reads! {
    VirtualMachine: own |sub| sub.collector.counted_as_one_list(sub.id, sub.virtual_machines());
    Disk: list |sub| compute(sub).disks_client().list(sub.id);
    DiskEncryptionSet: list |sub| compute(sub).disk_encryption_sets_client().list(sub.id);
    RestorePointCollection: list |sub|
        compute(sub).restore_point_collections_client().list_all(sub.id);
}

impl Subscription<'_> {
    /// The VM models, then their run-time status from the `statusOnly` list, merged by id into
    /// `properties.instanceView` (the shape of docs/snapshots.md). A VM whose status lacks the
    /// agent gets its own instance view call; the docs do not promise `statusOnly` carries the
    /// agent.
    async fn virtual_machines(&self) {
        let (collector, s, scope) = (self.collector, self.id, self.scope.as_str());
        let compute = compute(self);
        let models = async {
            let _permit = collector.permits.acquire().await;
            collector
                .drain(compute.virtual_machines_client().list_all(s).into_stream())
                .await
        };
        let statuses = async {
            let _permit = collector.permits.acquire().await;
            collector
                .drain(
                    compute
                        .virtual_machines_client()
                        .list_all(s)
                        .status_only("true")
                        .into_stream(),
                )
                .await
        };
        let (models, statuses) = futures::join!(models, statuses);
        let mut models = match models {
            Ok(models) => models,
            Err(error) => return collector.gap(scope, VIRTUAL_MACHINES, &error),
        };
        let mut views: BTreeMap<String, Value> = BTreeMap::new();
        match statuses {
            Ok(items) => {
                for mut item in items {
                    let id = id_of(&item).to_ascii_lowercase();
                    if let Some(view) = item.pointer_mut("/properties/instanceView") {
                        views.insert(id, view.take());
                    }
                }
            }
            Err(error) => collector.gap(scope, VM_INSTANCE_VIEWS, &error),
        }
        let missing: Vec<usize> = models
            .iter()
            .enumerate()
            .filter(|(_, vm)| {
                views
                    .get(&id_of(vm).to_ascii_lowercase())
                    .is_none_or(needs_own_instance_view)
            })
            .map(|(i, _)| i)
            .collect();
        let fetched = futures::future::join_all(missing.iter().map(|&i| {
            let id = id_of(&models[i]).to_owned();
            let compute = &compute;
            async move {
                let vm = Parent::of(id)?;
                let _permit = collector.permits.acquire().await.ok()?;
                let result = compute
                    .virtual_machines_client()
                    .instance_view(vm.group, vm.name, s)
                    .await
                    .and_then(to_json);
                Some((vm.id, result))
            }
        }))
        .await;
        for (id, result) in fetched.into_iter().flatten() {
            match result {
                Ok(view) => {
                    views.insert(id.to_ascii_lowercase(), view);
                }
                Err(error) => collector.gap(&id, VM_INSTANCE_VIEWS, &error),
            }
        }
        for vm in &mut models {
            if let Some(view) = views.remove(&id_of(vm).to_ascii_lowercase()) {
                if let Some(properties) = vm.get_mut("properties").and_then(Value::as_object_mut) {
                    properties.insert("instanceView".into(), view);
                }
            }
        }
        collector.put(s, VIRTUAL_MACHINES, models);
    }
}

/// Whether a `statusOnly` instance view lacks what the VM's own instance view would add: the
/// agent of a VM that runs (or whose power state is not said). A stopped or deallocated VM has
/// no agent status anywhere, so a call for it would cost a read and add nothing.
fn needs_own_instance_view(view: &Value) -> bool {
    if view.get("vmAgent").is_some() {
        return false;
    }
    let power = view
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("code").and_then(Value::as_str))
        .find_map(|code| code.strip_prefix("PowerState/"));
    matches!(power, None | Some("running") | Some("starting"))
}
