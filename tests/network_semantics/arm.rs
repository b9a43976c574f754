//! NSG rules, default rules, route tables and routes in the JSON shape ARM returns them.

use crate::network::{NVA_IP, SUBSCRIPTION};
use backup_doctor::inventory::model::RouteTable;
use serde_json::{json, Value};

/// An outbound custom rule in ARM shape with one destination prefix and one port spec.
pub(crate) fn outbound(
    name: &str,
    priority: u32,
    access: &str,
    destination: &str,
    port: &str,
) -> Value {
    rule(name, priority, access, "Tcp", destination, port)
}

pub(crate) fn rule(
    name: &str,
    priority: u32,
    access: &str,
    protocol: &str,
    destination: &str,
    port: &str,
) -> Value {
    json!({
        "name": name,
        "id": format!("{SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg/securityRules/{name}"),
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": {
            "provisioningState": "Succeeded",
            "protocol": protocol,
            "sourcePortRange": "*",
            "destinationPortRange": port,
            "sourceAddressPrefix": "*",
            "destinationAddressPrefix": destination,
            "access": access,
            "priority": priority,
            "direction": "Outbound",
            "sourcePortRanges": [],
            "destinationPortRanges": [],
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": []
        }
    })
}

/// The six default rules exactly as `GET networkSecurityGroups` returns them.
pub(crate) fn default_security_rules() -> Vec<Value> {
    let default = |name: &str,
                   priority: u32,
                   access: &str,
                   direction: &str,
                   source: &str,
                   destination: &str| {
        json!({
            "name": name,
            "id": format!("{SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg/defaultSecurityRules/{name}"),
            "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
            "properties": {
                "provisioningState": "Succeeded",
                "description": "default rule",
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "sourceAddressPrefix": source,
                "destinationAddressPrefix": destination,
                "access": access,
                "priority": priority,
                "direction": direction,
                "sourcePortRanges": [],
                "destinationPortRanges": [],
                "sourceAddressPrefixes": [],
                "destinationAddressPrefixes": []
            }
        })
    };
    vec![
        default(
            "AllowVnetInBound",
            65000,
            "Allow",
            "Inbound",
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        default(
            "AllowAzureLoadBalancerInBound",
            65001,
            "Allow",
            "Inbound",
            "AzureLoadBalancer",
            "*",
        ),
        default("DenyAllInBound", 65500, "Deny", "Inbound", "*", "*"),
        default(
            "AllowVnetOutBound",
            65000,
            "Allow",
            "Outbound",
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        default(
            "AllowInternetOutBound",
            65001,
            "Allow",
            "Outbound",
            "*",
            "Internet",
        ),
        default("DenyAllOutBound", 65500, "Deny", "Outbound", "*", "*"),
    ]
}

pub(crate) fn route_table(routes: Vec<Value>) -> RouteTable {
    serde_json::from_value(json!({
        "id": format!("{SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-spoke"),
        "name": "rt-spoke",
        "type": "Microsoft.Network/routeTables",
        "location": "westeurope",
        "properties": { "disableBgpRoutePropagation": true, "routes": routes }
    }))
    .expect("route table deserialises")
}

pub(crate) fn route(name: &str, prefix: &str, next_hop: &str) -> Value {
    let mut properties = json!({ "addressPrefix": prefix, "nextHopType": next_hop, "provisioningState": "Succeeded" });
    if next_hop == "VirtualAppliance" {
        properties["nextHopIpAddress"] = json!(NVA_IP);
    }
    json!({ "name": name, "type": "Microsoft.Network/routeTables/routes", "properties": properties })
}
