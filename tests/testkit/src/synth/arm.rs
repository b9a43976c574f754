//! Small ARM shapes the resource builders share: instance view statuses, tags, id references and
//! resource groups.

use super::catalogue::APPS;
use super::plan::{SubPlan, VmPlan};
use super::time::Ts;
use serde_json::{json, Value};

/// An `InstanceViewStatus`.
#[derive(Default)]
pub(super) struct Status<'a> {
    pub(super) code: &'a str,
    pub(super) level: &'a str,
    pub(super) display: &'a str,
    pub(super) message: Option<&'a str>,
    pub(super) time: Option<String>,
}

impl<'a> Status<'a> {
    pub(super) fn info(code: &'a str, display: &'a str) -> Self {
        Status {
            code,
            level: "Info",
            display,
            ..Status::default()
        }
    }

    pub(super) fn succeeded_at(time: Ts) -> Self {
        Status {
            time: Some(time.offset7()),
            ..Status::info("ProvisioningState/succeeded", "Provisioning succeeded")
        }
    }

    /// How a failed extension handler reports (-40: the handler's enable command failed).
    pub(super) fn extension_failed(display: &'a str) -> Self {
        Status {
            code: "ProvisioningState/failed/-40",
            level: "Error",
            display,
            ..Status::default()
        }
    }

    pub(super) fn json(self) -> Value {
        let mut v =
            json!({ "code": self.code, "level": self.level, "displayStatus": self.display });
        if let Some(message) = self.message {
            v["message"] = json!(message);
        }
        if let Some(time) = self.time {
            v["time"] = json!(time);
        }
        v
    }
}

pub(super) fn tags(vm: &VmPlan) -> Value {
    let app_index = APPS.iter().position(|a| *a == vm.app).unwrap_or(0);
    json!({
        "application": vm.app,
        "environment": vm.env,
        "costCenter": format!("CC-{}", 1_000 + app_index * 37),
        "owner": format!("team-{}@contoso.com", vm.app),
    })
}

pub(super) fn id_ref(id: String) -> Value {
    json!({ "id": id })
}

pub(super) fn resource_group(sub: &SubPlan, name: &str, location: &str) -> Value {
    json!({
        "id": sub.rg_id(name),
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": { "provisioningState": "Succeeded" },
    })
}
