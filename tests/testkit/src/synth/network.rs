//! Network resources: NICs, virtual networks with their subnets, NSGs and route tables.

use super::arm::{id_ref, tags};
use super::catalogue::{Region, APPGW_RANGE, BASTION_RANGE, HUB_FIREWALL};
use super::plan::{SubPlan, VmPlan};
use super::random::{base36, etag, guid, stream, stream_rng};
use rand::Rng;
use serde_json::{json, Value};

pub(super) fn vm_ip(sub: &SubPlan, vm: &VmPlan) -> String {
    // Azure reserves the first four addresses of a subnet; each subnet is a /18.
    let offset = 4 + vm.ip_host % 16_370;
    format!(
        "10.{}.{}.{}",
        sub.vnet_octet(vm.slot),
        vm.subnet as u32 * 64 + offset / 256,
        offset % 256
    )
}

pub(super) fn network_interface(sub: &SubPlan, vm: &VmPlan) -> Value {
    let mut rng = vm.rng(stream::NIC);
    let id = sub.nic_id(&vm.rg, vm);
    let mac: Vec<String> = std::iter::once("00-22-48".to_owned())
        .chain((0..3).map(|_| format!("{:02X}", rng.gen::<u8>())))
        .collect();
    let etag = etag(&mut rng);
    let dns_suffix = format!("{}.ax.internal.cloudapp.net", base36(&mut rng, 26));
    json!({
        "name": vm.nic_name(),
        "id": id,
        "etag": etag,
        "type": "Microsoft.Network/networkInterfaces",
        "location": sub.region(vm.slot).name,
        "tags": tags(vm),
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": guid(&mut rng),
            "ipConfigurations": [{
                "name": "ipconfig1",
                "id": format!("{id}/ipConfigurations/ipconfig1"),
                "etag": etag,
                "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateIPAddress": vm_ip(sub, vm),
                    "privateIPAllocationMethod": "Dynamic",
                    "subnet": id_ref(sub.subnet_id(vm.slot, vm.subnet)),
                    "primary": true,
                    "privateIPAddressVersion": "IPv4",
                },
            }],
            "dnsSettings": {
                "dnsServers": [],
                "appliedDnsServers": [],
                "internalDomainNameSuffix": dns_suffix,
            },
            "macAddress": mac.join("-"),
            "vnetEncryptionSupported": false,
            "enableIPForwarding": false,
            "enableAcceleratedNetworking": vm.size != "Standard_B2ms",
            "disableTcpStateTracking": false,
            "primary": true,
            "virtualMachine": id_ref(sub.vm_id(vm)),
            "hostedWorkloads": [],
            "tapConfigurations": [],
            "nicType": "Standard",
            "auxiliaryMode": "None",
            "auxiliarySku": "None",
        },
    })
}

pub(super) fn virtual_networks(sub: &SubPlan, vms: &[VmPlan]) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::NETWORK);
    (0..2)
        .map(|slot| {
            let subnets: Vec<Value> = (0..sub.subnets[slot].len())
                .map(|i| subnet(sub, vms, slot, i, &mut rng))
                .collect();
            let properties = json!({
                "addressSpace": { "addressPrefixes": [sub.vnet_prefix(slot)] },
                "dhcpOptions": { "dnsServers": [] },
                "subnets": subnets,
                "virtualNetworkPeerings": [],
                "enableDdosProtection": false,
            });
            let kind = "Microsoft.Network/virtualNetworks";
            let identity = (sub.vnet_name(slot), sub.vnet_id(slot));
            regional_resource(sub, slot, kind, identity, properties, &mut rng)
        })
        .collect()
}

pub(super) fn subnet(
    sub: &SubPlan,
    vms: &[VmPlan],
    slot: usize,
    index: usize,
    rng: &mut impl Rng,
) -> Value {
    // Network lists a subnet's IP configurations with the resource group upper-cased, whatever
    // casing the NIC was created with.
    let ip_configs: Vec<Value> = vms
        .iter()
        .filter(|vm| vm.slot == slot && vm.subnet == index)
        .map(|vm| {
            let nic = sub.nic_id(&vm.rg.to_uppercase(), vm);
            id_ref(format!("{nic}/ipConfigurations/ipconfig1"))
        })
        .collect();
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "addressPrefix": format!("10.{}.{}.0/18", sub.vnet_octet(slot), index * 64),
        "networkSecurityGroup": id_ref(sub.nsg_id(slot, index)),
        "ipConfigurations": ip_configs,
        "serviceEndpoints": [],
        "delegations": [],
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
    });
    let plan = &sub.subnets[slot][index];
    if plan.routed {
        properties["routeTable"] = id_ref(sub.route_table_id(slot));
    }
    json!({
        "name": plan.name,
        "id": sub.subnet_id(slot, index),
        "etag": etag(rng),
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "properties": properties,
    })
}

pub(super) struct RuleSpec {
    pub(super) name: &'static str,
    pub(super) priority: u32,
    pub(super) direction: &'static str,
    pub(super) access: &'static str,
    pub(super) protocol: &'static str,
    pub(super) source: &'static str,
    pub(super) destination: String,
    pub(super) ports: &'static [&'static str],
    pub(super) description: &'static str,
}

/// The custom rules an NSG may carry, in the order they are handed out (first two always).
pub(super) fn custom_rules(region: &Region) -> Vec<RuleSpec> {
    let rule = |name: &'static str,
                priority: u32,
                direction: &'static str,
                source: &'static str,
                destination: String,
                ports: &'static [&'static str],
                description: &'static str| RuleSpec {
        name,
        priority,
        direction,
        access: "Allow",
        protocol: "Tcp",
        source,
        destination,
        ports,
        description,
    };
    vec![
        rule(
            "AllowBastionRdpInbound",
            100,
            "Inbound",
            BASTION_RANGE,
            "VirtualNetwork".into(),
            &["3389"],
            "RDP from Azure Bastion",
        ),
        rule(
            "AllowBastionSshInbound",
            110,
            "Inbound",
            BASTION_RANGE,
            "VirtualNetwork".into(),
            &["22"],
            "SSH from Azure Bastion",
        ),
        rule(
            "AllowAppGatewayInbound",
            120,
            "Inbound",
            APPGW_RANGE,
            "VirtualNetwork".into(),
            &["443", "8443"],
            "HTTPS from the application gateway",
        ),
        rule(
            "AllowAzureBackupOutbound",
            200,
            "Outbound",
            "VirtualNetwork",
            "AzureBackup".into(),
            &["443"],
            "Workload backup to Azure Backup",
        ),
        rule(
            "AllowStorageOutbound",
            210,
            "Outbound",
            "VirtualNetwork",
            format!("Storage.{}", region.tag),
            &["443"],
            "Regional storage",
        ),
        rule(
            "AllowEntraIdOutbound",
            220,
            "Outbound",
            "VirtualNetwork",
            "AzureActiveDirectory".into(),
            &["443"],
            "Microsoft Entra ID",
        ),
    ]
}

/// The six rules every NSG has:
/// (name, priority, direction, access, source, destination, description).
pub(super) const DEFAULT_RULES: [(&str, u32, &str, &str, &str, &str, &str); 6] = [
    (
        "AllowVnetInBound",
        65_000,
        "Inbound",
        "Allow",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow inbound traffic from all VMs in VNET",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        65_001,
        "Inbound",
        "Allow",
        "AzureLoadBalancer",
        "*",
        "Allow inbound traffic from azure load balancer",
    ),
    (
        "DenyAllInBound",
        65_500,
        "Inbound",
        "Deny",
        "*",
        "*",
        "Deny all inbound traffic",
    ),
    (
        "AllowVnetOutBound",
        65_000,
        "Outbound",
        "Allow",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow outbound traffic from all VMs to all VMs in VNET",
    ),
    (
        "AllowInternetOutBound",
        65_001,
        "Outbound",
        "Allow",
        "*",
        "Internet",
        "Allow outbound traffic from all VMs to Internet",
    ),
    (
        "DenyAllOutBound",
        65_500,
        "Outbound",
        "Deny",
        "*",
        "*",
        "Deny all outbound traffic",
    ),
];

pub(super) fn security_rule(
    nsg_id: &str,
    collection: &str,
    rule: &RuleSpec,
    rng: &mut impl Rng,
) -> Value {
    let (port, ports): (Option<&str>, &[&str]) = match rule.ports {
        [single] => (Some(*single), &[]),
        many => (None, many),
    };
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "description": rule.description,
        "protocol": rule.protocol,
        "sourcePortRange": "*",
        "sourceAddressPrefix": rule.source,
        "destinationAddressPrefix": rule.destination,
        "access": rule.access,
        "priority": rule.priority,
        "direction": rule.direction,
        "sourcePortRanges": [],
        "destinationPortRanges": ports,
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
    });
    if let Some(port) = port {
        properties["destinationPortRange"] = json!(port);
    }
    json!({
        "name": rule.name,
        "id": format!("{nsg_id}/{collection}/{}", rule.name),
        "etag": etag(rng),
        "type": format!("Microsoft.Network/networkSecurityGroups/{collection}"),
        "properties": properties,
    })
}

pub(super) fn network_security_groups(sub: &SubPlan) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::NSG);
    let defaults: Vec<RuleSpec> = DEFAULT_RULES
        .iter()
        .map(
            |&(name, priority, direction, access, source, destination, description)| RuleSpec {
                name,
                priority,
                direction,
                access,
                protocol: "*",
                source,
                destination: destination.into(),
                ports: &["*"],
                description,
            },
        )
        .collect();
    let mut nsgs = Vec::new();
    for slot in 0..2 {
        let candidates = custom_rules(sub.region(slot));
        for i in 0..sub.subnets[slot].len() {
            let id = sub.nsg_id(slot, i);
            let count = rng.gen_range(2..=candidates.len());
            let rules: Vec<Value> = candidates[..count]
                .iter()
                .map(|r| security_rule(&id, "securityRules", r, &mut rng))
                .collect();
            let default_rules: Vec<Value> = defaults
                .iter()
                .map(|r| security_rule(&id, "defaultSecurityRules", r, &mut rng))
                .collect();
            let properties = json!({
                "securityRules": rules,
                "defaultSecurityRules": default_rules,
                "subnets": [id_ref(sub.subnet_id(slot, i))],
            });
            let kind = "Microsoft.Network/networkSecurityGroups";
            let identity = (sub.nsg_name(slot, i), id);
            nsgs.push(regional_resource(
                sub, slot, kind, identity, properties, &mut rng,
            ));
        }
    }
    nsgs
}

pub(super) fn route_tables(sub: &SubPlan) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::ROUTES);
    let routes = [
        ("to-onprem", "192.168.0.0/16", "VirtualNetworkGateway", None),
        (
            "to-hub",
            "10.255.0.0/16",
            "VirtualAppliance",
            Some(HUB_FIREWALL),
        ),
        (
            "to-partner",
            "172.16.0.0/12",
            "VirtualAppliance",
            Some(HUB_FIREWALL),
        ),
    ];
    (0..2)
        .map(|slot| {
            let id = sub.route_table_id(slot);
            let count = rng.gen_range(2..=routes.len());
            let routes: Vec<Value> = routes[..count]
                .iter()
                .map(|(name, prefix, hop, ip)| {
                    let mut properties = json!({
                        "provisioningState": "Succeeded",
                        "addressPrefix": prefix,
                        "nextHopType": hop,
                        "hasBgpOverride": false,
                    });
                    if let Some(ip) = ip {
                        properties["nextHopIpAddress"] = json!(ip);
                    }
                    json!({
                        "name": name,
                        "id": format!("{id}/routes/{name}"),
                        "etag": etag(&mut rng),
                        "type": "Microsoft.Network/routeTables/routes",
                        "properties": properties,
                    })
                })
                .collect();
            let subnets: Vec<Value> = (0..sub.subnets[slot].len())
                .filter(|&i| sub.subnets[slot][i].routed)
                .map(|i| id_ref(sub.subnet_id(slot, i)))
                .collect();
            let properties = json!({
                "disableBgpRoutePropagation": false,
                "routes": routes,
                "subnets": subnets,
            });
            let kind = "Microsoft.Network/routeTables";
            let identity = (sub.route_table_name(slot), id);
            regional_resource(sub, slot, kind, identity, properties, &mut rng)
        })
        .collect()
}

/// A network resource of region slot `slot` as ARM lists it, from its `(name, id)` and its own
/// `properties`, with the provisioning state and resource GUID every one carries. Its etag and
/// GUID are drawn after everything `properties` drew, in the order the files always had.
fn regional_resource(
    sub: &SubPlan,
    slot: usize,
    kind: &str,
    (name, id): (String, String),
    mut properties: Value,
    rng: &mut impl Rng,
) -> Value {
    let etag = etag(rng);
    properties["provisioningState"] = json!("Succeeded");
    properties["resourceGuid"] = json!(guid(rng));
    json!({
        "name": name,
        "id": id,
        "etag": etag,
        "type": kind,
        "location": sub.region(slot).name,
        "properties": properties,
    })
}
