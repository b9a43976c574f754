//! Network interfaces, virtual networks and subnets, NSGs, route tables, private endpoints,
//! private DNS, and the service tags document.

use super::{Arm, IdRef};
use serde::Deserialize;

pub type NetworkInterface = Arm<NicProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicProperties {
    pub network_security_group: Option<IdRef>,
    pub ip_configurations: Option<Vec<NicIpConfiguration>>,
    pub virtual_machine: Option<IdRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicIpConfiguration {
    pub name: Option<String>,
    pub properties: Option<NicIpConfigurationProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicIpConfigurationProperties {
    #[serde(rename = "privateIPAddress")]
    pub private_ip_address: Option<String>,
    pub subnet: Option<IdRef>,
    pub primary: Option<bool>,
    pub application_security_groups: Option<Vec<IdRef>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetwork {
    pub id: String,
    pub name: Option<String>,
    pub location: Option<String>,
    #[serde(default)]
    pub properties: VnetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetProperties {
    pub address_space: Option<AddressSpace>,
    pub subnets: Option<Vec<Subnet>>,
    pub dhcp_options: Option<DhcpOptions>,
    /// Kept whole: only the peers' address spaces are read.
    pub virtual_network_peerings: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressSpace {
    pub address_prefixes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DhcpOptions {
    pub dns_servers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub properties: SubnetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetProperties {
    pub address_prefix: Option<String>,
    pub address_prefixes: Option<Vec<String>>,
    pub network_security_group: Option<IdRef>,
    pub route_table: Option<IdRef>,
}

pub type NetworkSecurityGroup = Arm<NsgProperties>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgProperties {
    pub security_rules: Option<Vec<SecurityRule>>,
    pub default_security_rules: Option<Vec<SecurityRule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRule {
    pub name: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Value,
}

pub type RouteTable = Arm<serde_json::Value>;

pub type PrivateEndpoint = Arm<serde_json::Value>;

/// Private DNS zones, their virtual network links and A record sets are kept whole for the
/// network analyser; the foundation only indexes them.
pub type GenericResource = Arm<serde_json::Value>;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTags {
    pub cloud: Option<String>,
    #[serde(default)]
    pub values: Vec<ServiceTag>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTag {
    pub name: String,
    #[serde(default)]
    pub properties: ServiceTagProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTagProperties {
    pub region: Option<String>,
    #[serde(default)]
    pub address_prefixes: Vec<String>,
}
