//! Microsoft.Network: NICs, virtual networks (their subnets inside), NSGs, route tables, private
//! endpoints, private DNS zones with their links and A records, and the service tags document.

use super::{to_json, Collector, Read};
use crate::inventory::types::SERVICE_TAGS;
use crate::inventory::Kind;

sdk_client!(network: azure_mgmt_network::package_2024_03::Client);

/// The api-versions of Network package 2024-03 and Private DNS package 2024-06.
const NETWORK_API: &str = "2024-03-01";
const PRIVATE_DNS_API: &str = "2024-06-01";

reads! {
    Nic: list |sub| sub.arm_list("providers/Microsoft.Network/networkInterfaces", NETWORK_API);
    Vnet: list |sub| sub.arm_list("providers/Microsoft.Network/virtualNetworks", NETWORK_API);
    Nsg: list |sub|
        sub.arm_list("providers/Microsoft.Network/networkSecurityGroups", NETWORK_API);
    RouteTable: list |sub| sub.arm_list("providers/Microsoft.Network/routeTables", NETWORK_API);
    PrivateEndpoint: list |sub|
        sub.arm_list("providers/Microsoft.Network/privateEndpoints", NETWORK_API);
    PrivateDnsZone: list |sub|
        sub.arm_list("providers/Microsoft.Network/privateDnsZones", PRIVATE_DNS_API);
    PrivateDnsLink: child |sub, zone|
        sub.arm_child_list(zone, "virtualNetworkLinks", PRIVATE_DNS_API);
    PrivateDnsARecord: child |sub, zone| sub.arm_child_list(zone, "A", PRIVATE_DNS_API);
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
