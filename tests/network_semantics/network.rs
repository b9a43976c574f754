//! The VM's network: a VM at 10.10.1.4 in a VNet 10.10.0.0/16, the trimmed service tags document
//! it is read against, and the NSGs and routes parsed in that context.

use crate::arm::{default_security_rules, outbound, route_table};
use backup_doctor::inventory::model::{NetworkSecurityGroup, ServiceTags};
use backup_doctor::network::ip::{parse_cidr, AddressSet, Range};
use backup_doctor::network::nsg::{self, Nsg};
use backup_doctor::network::routes::{system_routes, user_routes, Route};
use backup_doctor::network::tags::{AddressContext, Resolved, TagIndex};
use serde_json::{json, Value};
use std::net::Ipv4Addr;

pub(crate) const VNET: &str = "10.10.0.0/16";
pub(crate) const VM_IP: &str = "10.10.1.4";
pub(crate) const NVA_IP: &str = "10.10.0.4";
pub(crate) const SUBSCRIPTION: &str = "/subscriptions/6b1f1b5e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";

pub(crate) fn ip(text: &str) -> u32 {
    u32::from(text.parse::<Ipv4Addr>().expect("test address parses"))
}

pub(crate) fn addresses(prefixes: &[&str]) -> AddressSet {
    AddressSet::from_prefixes(prefixes.iter().copied())
}

/// A VNet's address prefixes as listed (not merged), as system routes take them.
pub(crate) fn prefixes(prefixes: &[&str]) -> Vec<Range> {
    prefixes
        .iter()
        .map(|p| parse_cidr(p).expect("test prefix parses"))
        .collect()
}

/// A trimmed Service Tags API response. As in the real document, the regional tags repeat
/// prefixes of their global tag and of `AzureCloud`, prefix for prefix. `AzureMonitor` is
/// deliberately absent.
pub(crate) fn service_tags() -> ServiceTags {
    let tag = |name: &str, region: &str, prefixes: &[&str]| {
        json!({
            "name": name,
            "id": name,
            "properties": {
                "changeNumber": 42,
                "region": region,
                "regionId": 0,
                "platform": "Azure",
                "systemService": if name.starts_with("Storage") { "AzureStorage" } else { "" },
                "addressPrefixes": prefixes,
                "networkFeatures": ["API", "NSG", "UDR", "FW"]
            }
        })
    };
    serde_json::from_value(json!({
        "name": "Public",
        "id": format!("{SUBSCRIPTION}/providers/Microsoft.Network/serviceTags/Public"),
        "type": "Microsoft.Network/serviceTags",
        "changeNumber": "120",
        "cloud": "Public",
        "values": [
            tag("Storage", "", &["20.38.96.0/24", "20.60.0.0/16", "52.239.136.0/22", "2603:1000::/40"]),
            tag("Storage.WestEurope", "westeurope", &["20.60.0.0/16", "2603:1020::/40"]),
            tag("AzureCloud", "", &["20.38.0.0/16", "20.60.0.0/16", "20.103.0.0/16", "52.239.0.0/16"]),
            tag("AzureCloud.westeurope", "westeurope", &["20.60.0.0/16", "20.103.0.0/16"]),
            tag("AzureActiveDirectory", "", &["20.190.128.0/18", "40.126.0.0/18"]),
        ]
    }))
    .expect("service tags document deserialises")
}

/// An outbound TCP custom rule as [`outbound`] takes it: (name, priority, access, destination,
/// port).
pub(crate) type Outbound = (&'static str, u32, &'static str, &'static str, &'static str);

/// The tags and VNet an NSG or route table is read against.
pub(crate) struct Network {
    tags: TagIndex,
    vnet: AddressSet,
}

impl Network {
    pub(crate) fn new() -> Network {
        Network::with_tags(Some(&service_tags()))
    }

    pub(crate) fn with_tags(document: Option<&ServiceTags>) -> Network {
        Network {
            tags: TagIndex::new(document),
            vnet: addresses(&[VNET]),
        }
    }

    pub(crate) fn ctx(&self) -> AddressContext<'_> {
        AddressContext::new(&self.tags, self.vnet.clone())
    }

    /// What a tag or CIDR stands for; the tests only resolve ones the document holds.
    pub(crate) fn set(&self, prefix: &str) -> AddressSet {
        match self.ctx().resolve(prefix) {
            Resolved::Set(set) => set,
            Resolved::Unknown(reason) => panic!("{prefix} does not resolve: {reason}"),
        }
    }

    /// An NSG as ARM returns it, custom rules plus the six default rules.
    pub(crate) fn nsg(&self, name: &str, rules: Vec<Value>) -> Nsg {
        self.parse_nsg(name, rules, Some(default_security_rules()))
    }

    /// The VM's NIC NSG with the outbound custom rules `rules`.
    pub(crate) fn nic_nsg(&self, rules: &[Outbound]) -> Nsg {
        self.outbound_nsg("nsg-vm01-nic", rules)
    }

    /// The VM's subnet NSG with the outbound custom rules `rules`.
    pub(crate) fn subnet_nsg(&self, rules: &[Outbound]) -> Nsg {
        self.outbound_nsg("nsg-snet-app", rules)
    }

    fn outbound_nsg(&self, name: &str, rules: &[Outbound]) -> Nsg {
        let rules = rules
            .iter()
            .map(|&(rule, priority, access, destination, port)| {
                outbound(rule, priority, access, destination, port)
            })
            .collect();
        self.nsg(name, rules)
    }

    pub(crate) fn parse_nsg(
        &self,
        name: &str,
        rules: Vec<Value>,
        defaults: Option<Vec<Value>>,
    ) -> Nsg {
        let mut properties = json!({ "securityRules": rules, "provisioningState": "Succeeded" });
        if let Some(defaults) = defaults {
            properties["defaultSecurityRules"] = defaults.into();
        }
        let resource: NetworkSecurityGroup = serde_json::from_value(json!({
            "id": format!("{SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/{name}"),
            "name": name,
            "type": "Microsoft.Network/networkSecurityGroups",
            "location": "westeurope",
            "properties": properties,
        }))
        .expect("NSG deserialises");
        nsg::parse(&resource, &self.ctx())
    }

    pub(crate) fn routes(&self, table_routes: Vec<Value>) -> Vec<Route> {
        self.routes_in_space(table_routes, self.vnet.ranges())
    }

    /// A subnet's effective routes: its route table's user routes plus the system routes.
    pub(crate) fn routes_in_space(&self, table_routes: Vec<Value>, space: &[Range]) -> Vec<Route> {
        let table = route_table(table_routes);
        let mut routes = user_routes(&table, &self.ctx()).expect("route table resolves");
        routes.extend(system_routes(space));
        routes
    }
}
