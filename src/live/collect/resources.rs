//! Microsoft.Resources: the subscriptions to scan, and each one's resource groups and provider
//! registrations.

use super::{to_json, Collector, Read};
use crate::inventory::types::SUBSCRIPTIONS;
use crate::inventory::Kind;
use serde_json::Value;

sdk_client!(resources: azure_mgmt_resources::package_resources_2021_04::Client);
sdk_client!(subscriptions: azure_mgmt_resources::package_subscriptions_2021_01::Client);

reads! {
    ResourceGroup: list |sub| resources(sub).resource_groups_client().list(sub.id);
    Provider: list |sub| resources(sub).providers_client().list(sub.id);
}

/// The subscriptions list's file: `tenant/subscriptions.json`, the objects as `GET /subscriptions`
/// returns them.
const SUBSCRIPTIONS_FILE: &str = "subscriptions";

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
}
