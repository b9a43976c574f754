//! Microsoft.Network: NICs, virtual networks (their subnets inside), NSGs, route tables, private
//! endpoints, private DNS zones with their links and A records, and the service tags document.

use super::{to_json, Collector, Read};
use crate::inventory::types::SERVICE_TAGS;
use crate::inventory::Kind;

sdk_client!(network: azure_mgmt_network::package_2024_03::Client);
sdk_client!(private_dns: azure_mgmt_privatedns::package_2024_06::Client);

reads! {
    Nic: list |sub| network(sub).network_interfaces_client().list_all(sub.id);
    Vnet: list |sub| network(sub).virtual_networks_client().list_all(sub.id);
    Nsg: list |sub| network(sub).network_security_groups_client().list_all(sub.id);
    RouteTable: list |sub| network(sub).route_tables_client().list_all(sub.id);
    PrivateEndpoint: list |sub|
        network(sub).private_endpoints_client().list_by_subscription(sub.id);
    PrivateDnsZone: list |sub| private_dns(sub).private_zones_client().list(sub.id);
    PrivateDnsLink: child |sub, zone| private_dns(sub)
        .virtual_network_links_client()
        .list(&zone.group, &zone.name, sub.id);
    PrivateDnsARecord: child |sub, zone| private_dns(sub)
        .record_sets_client()
        .list_by_type(&zone.group, &zone.name, "A", sub.id);
}

impl Collector {
    /// The service tags document, once: it is the same for every location of a cloud.
    pub async fn service_tags(&self, subscription: &str, location: &str) {
        let network = network(self);
        let scope = format!("/subscriptions/{subscription}");
        self.list("tenant", &scope, SERVICE_TAGS, async {
            let document = network
                .service_tags_client()
                .list(location, subscription)
                .await
                .and_then(to_json)?;
            Ok(vec![document])
        })
        .await;
    }
}
