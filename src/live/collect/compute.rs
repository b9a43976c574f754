//! Microsoft.Compute: VMs with their run-time status, disks, disk encryption sets, restore point
//! collections.

use super::{id_of, Parent, Read, Subscription};
use crate::inventory::types::{VIRTUAL_MACHINES, VM_INSTANCE_VIEWS};
use crate::inventory::Kind;
use serde_json::Value;
use std::collections::BTreeMap;

/// The api-versions of Compute package 2024-07-01: the disk resource provider versions on its own.
const COMPUTE_API: &str = "2024-07-01";
const DISKS_API: &str = "2024-03-02";

reads! {
    VirtualMachine: own |sub| sub.collector.counted_as_one_list(sub.id, sub.virtual_machines());
    Disk: list |sub| sub.arm_list("providers/Microsoft.Compute/disks", DISKS_API);
    DiskEncryptionSet: list |sub|
        sub.arm_list("providers/Microsoft.Compute/diskEncryptionSets", DISKS_API);
    RestorePointCollection: list |sub|
        sub.arm_list("providers/Microsoft.Compute/restorePointCollections", COMPUTE_API);
}

/// The VM list, under the subscription's scope.
const VM_LIST: &str = "providers/Microsoft.Compute/virtualMachines";

impl Subscription<'_> {
    /// The VM models, then their run-time status from the `statusOnly` list, merged by id into
    /// `properties.instanceView` (the shape of docs/snapshots.md). A VM whose status lacks the
    /// agent gets its own instance view call; the docs do not promise `statusOnly` carries the
    /// agent.
    async fn virtual_machines(&self) {
        let (collector, s, scope) = (self.collector, self.id, self.scope.as_str());
        let models = async {
            let _permit = collector.permits.acquire().await;
            self.arm_list(VM_LIST, COMPUTE_API).await
        };
        let statuses = async {
            let _permit = collector.permits.acquire().await;
            self.raw_list(
                format!("{scope}/{VM_LIST}"),
                COMPUTE_API,
                Some(("statusOnly", "true".into())),
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
            async move {
                let vm = Parent::under(s, VIRTUAL_MACHINES, id)?;
                let _permit = collector.permits.acquire().await.ok()?;
                let result = collector
                    .raw_get(&format!("{}/instanceView", vm.path), COMPUTE_API)
                    .await;
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
