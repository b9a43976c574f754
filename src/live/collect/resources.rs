//! Microsoft.Resources: the subscriptions to scan (with the Microsoft.Management groups that name
//! some of them), and each one's resource groups and provider registrations.

use super::{reason, to_json, Collector, Read};
use crate::inventory::types::SUBSCRIPTIONS;
use crate::inventory::Kind;
use crate::live::LiveError;
use serde_json::Value;

sdk_client!(subscriptions: azure_mgmt_resources::package_subscriptions_2021_01::Client);

/// The api-version of Resources package 2021-04.
const RESOURCES_API: &str = "2021-04-01";

reads! {
    ResourceGroup: list |sub| sub.arm_list("resourcegroups", RESOURCES_API);
    Provider: list |sub| sub.arm_list("providers", RESOURCES_API);
}

/// The subscriptions list's file: `tenant/subscriptions.json`, the objects as `GET /subscriptions`
/// returns them.
const SUBSCRIPTIONS_FILE: &str = "subscriptions";

/// The api-version of the management group descendants list (docs/live-scans.md).
const MANAGEMENT_GROUPS_API: &str = "2020-05-01";
/// The type of a subscription among a management group's descendants; child groups are
/// listed too, with every subscription below them, so none needs a read of its own.
const GROUP_SUBSCRIPTION_TYPE: &str = "Microsoft.Management/managementGroups/subscriptions";

impl Collector {
    /// The subscriptions to scan: the ones named, or every one the identity can see. Never capped,
    /// never matched by name.
    pub async fn subscriptions(&self, named: &[String]) -> Result<Vec<Value>, azure_core::Error> {
        // The SDK's model of this list requires `nextLink`, which ARM omits on the last page, so
        // the list is read through the azure_core pipeline directly (same policies, same token).
        // Named subscriptions that the pages read do not hold are read one by one below, so
        // only a scan of every subscription loses anything to a page that cannot be read.
        let pages = self
            .raw_list_pages("/subscriptions".into(), "2021-01-01", None)
            .await?;
        let all = pages.items;
        let chosen: Vec<Value> = if named.is_empty() {
            // A list cut short after its first page still names subscriptions worth scanning;
            // the ones it could not name are the gap, and the run says it is incomplete.
            if let Some(error) = &pages.stopped {
                self.gap("/", SUBSCRIPTIONS, error);
            }
            all
        } else {
            let mut chosen = Vec::new();
            for wanted in named {
                match all.iter().find(|s| {
                    s.get("subscriptionId")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.eq_ignore_ascii_case(wanted))
                }) {
                    Some(found) => chosen.push(found.clone()),
                    None => {
                        // Not visible in the list (e.g. a guest identity): read it directly.
                        let one = subscriptions(self)
                            .subscriptions_client()
                            .get(wanted.clone())
                            .await?;
                        chosen.push(to_json(one)?);
                    }
                }
            }
            chosen
        };
        self.put("tenant", SUBSCRIPTIONS_FILE, chosen.clone());
        Ok(chosen)
    }

    /// The ids of every subscription below management group `group`, at any depth. Unlike a
    /// subscription's lists, a group that cannot be read is no gap: the run would otherwise
    /// report a narrower scope than asked for as if it were complete.
    pub async fn management_group_subscriptions(
        &self,
        group: &str,
    ) -> Result<Vec<String>, LiveError> {
        let path = format!("/providers/Microsoft.Management/managementGroups/{group}/descendants");
        let items = self
            .raw_list(path, MANAGEMENT_GROUPS_API, None)
            .await
            .map_err(|error| group_error(group, &error))?;
        Ok(items
            .iter()
            .filter(|item| {
                item.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(GROUP_SUBSCRIPTION_TYPE))
            })
            .filter_map(|item| {
                let name = item.get("name").and_then(Value::as_str);
                let from_id = || {
                    item.get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| id.rsplit('/').next())
                };
                name.or_else(from_id).filter(|id| !id.is_empty())
            })
            .map(str::to_owned)
            .collect())
    }
}

/// Why management group `group` could not be read, and what to do. ARM answers 403 rather than
/// 404 for a group the identity may not see, existing or not, so both get the same fix.
fn group_error(group: &str, error: &azure_core::Error) -> LiveError {
    let status = match error.kind() {
        azure_core::error::ErrorKind::HttpResponse { status, .. } => Some(u16::from(*status)),
        _ => None,
    };
    let problem = match status {
        Some(404) => format!(
            "management group `{group}` does not exist ({})",
            reason(error)
        ),
        Some(403) => format!(
            "management group `{group}` cannot be read ({})",
            reason(error)
        ),
        _ => format!(
            "cannot list the subscriptions below management group `{group}`: {}",
            reason(error)
        ),
    };
    let fix = match status {
        Some(401) | None => "check the credential (tenant, client id, secret or token file) and the authority host; `--auth` picks the kind",
        _ => "check the management group id (the id, not the display name), and give the identity Reader on the management group (it needs Microsoft.Management/managementGroups/descendants/read)",
    };
    LiveError {
        problem,
        fix: fix.into(),
    }
}
