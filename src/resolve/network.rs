//! Network facts per VM: the destinations its backup needs (docs/azure-sources.md#network-requirements), the effective
//! outbound NSG verdict and effective route to each, and whether the private endpoints of its
//! vault resolve from its virtual network. NSGs, routes and verdicts depend on the subnet and NSG
//! pair, not the VM, so they are computed once per pair and shared ([`NetworkCache`]).

use super::fact_path;
use super::facts::*;
use super::Index;
use crate::inventory::model::*;
use crate::inventory::{key, ArmId, Inventory};
use crate::network::ip::{parse_cidr, parse_ip, show_ip, AddressSet, Range};
use crate::network::nsg::{self, Nsg, Protocol, Verdict};
use crate::network::routes::{self, NextHop, Route};
use crate::network::tags::{AddressContext, Resolved, TagIndex};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What is shared by every VM of a subnet.
struct SubnetContext {
    vnet_id: String,
    virtual_network: AddressSet,
    nsg: Result<Option<Arc<Nsg>>, String>,
    routes: Result<Vec<Route>, String>,
    /// Why gateway-learned routes could change the answer, when they could.
    bgp_unknown: Option<String>,
    custom_dns: Vec<String>,
    route_table: Option<String>,
    subnet_nsg_id: Option<String>,
}

type VerdictKey = (Option<String>, String, String, u16, Vec<String>, Vec<bool>);
/// An NSG parsed for a subnet, or why it could not be.
type ParsedNsg = Result<Arc<Nsg>, String>;
/// The NIC and subnet NSGs of a path (either may be absent).
type NsgPair = (Option<Arc<Nsg>>, Option<Arc<Nsg>>);

pub struct NetworkCache<'a> {
    inventory: &'a Inventory,
    tags: TagIndex,
    subnets: Mutex<HashMap<String, Arc<Result<SubnetContext, String>>>>,
    nsgs: Mutex<HashMap<(String, String), ParsedNsg>>,
    verdicts: Mutex<HashMap<VerdictKey, Verdict>>,
    /// Zones by name; several zones may share a name (one per hub, say), sorted by id.
    pub(crate) zones_by_name: HashMap<String, Vec<&'a GenericResource>>,
    pub(crate) links_by_zone: HashMap<String, Vec<&'a GenericResource>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<'a> NetworkCache<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut zones_by_name: HashMap<String, Vec<&GenericResource>> = HashMap::new();
        for zone in inventory.private_dns_zones.values() {
            if let Some(name) = zone.name.as_deref().or_else(|| zone.id.rsplit('/').next()) {
                zones_by_name
                    .entry(name.to_ascii_lowercase())
                    .or_default()
                    .push(zone);
            }
        }
        for zones in zones_by_name.values_mut() {
            zones.sort_by_key(|z| key(&z.id));
        }
        let mut links_by_zone: HashMap<String, Vec<&GenericResource>> = HashMap::new();
        for link in inventory.private_dns_links.values() {
            let lower = key(&link.id);
            if let Some(at) = lower.find("/virtualnetworklinks/") {
                links_by_zone
                    .entry(lower[..at].to_string())
                    .or_default()
                    .push(link);
            }
        }
        NetworkCache {
            inventory,
            tags: TagIndex::new(inventory.service_tags.as_ref()),
            subnets: Mutex::new(HashMap::new()),
            nsgs: Mutex::new(HashMap::new()),
            verdicts: Mutex::new(HashMap::new()),
            zones_by_name,
            links_by_zone,
        }
    }

    fn subnet(&self, subnet_id: &str) -> Arc<Result<SubnetContext, String>> {
        let subnet_key = key(subnet_id);
        if let Some(found) = lock(&self.subnets).get(&subnet_key) {
            return found.clone();
        }
        let built = Arc::new(self.build_subnet(subnet_id));
        lock(&self.subnets).insert(subnet_key, built.clone());
        built
    }

    fn build_subnet(&self, subnet_id: &str) -> Result<SubnetContext, String> {
        let inventory = self.inventory;
        let subnet = inventory
            .subnets
            .get(&key(subnet_id))
            .ok_or_else(|| format!("subnet {subnet_id} is not in the snapshot"))?;
        let lower = key(subnet_id);
        let vnet_id = lower
            .find("/subnets/")
            .map(|at| subnet_id[..at].to_string())
            .ok_or_else(|| format!("{subnet_id} is not a subnet id"))?;
        let vnet = inventory
            .vnets
            .get(&key(&vnet_id))
            .ok_or_else(|| format!("virtual network {vnet_id} is not in the snapshot"))?;
        let subnet_properties = subnet.properties.as_ref().ok_or_else(|| {
            format!("subnet {subnet_id} has no properties: its NSG and route table are unknown")
        })?;
        let table = subnet_properties
            .route_table
            .as_ref()
            .and_then(|r| r.id.as_deref());
        let route_table = match table {
            Some(id) => Some(
                inventory
                    .route_tables
                    .get(&key(id))
                    .ok_or_else(|| format!("route table {id} is not in the snapshot"))?,
            ),
            None => None,
        };
        let own_prefixes: Vec<Range> = vnet
            .properties
            .address_space
            .iter()
            .flat_map(|a| a.address_prefixes.iter().flatten())
            .filter_map(|p| parse_cidr(p))
            .collect();
        let peer_prefixes: Vec<Range> = vnet
            .properties
            .virtual_network_peerings
            .iter()
            .flatten()
            .filter_map(|p| {
                p.pointer("/properties/remoteAddressSpace/addressPrefixes")
                    .and_then(Value::as_array)
            })
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(parse_cidr)
            .collect();
        let space =
            AddressSet::from_ranges(own_prefixes.iter().chain(&peer_prefixes).copied().collect());
        // The VirtualNetwork tag also covers the prefixes of user-defined routes (documented).
        let mut virtual_network = space.clone();
        let bare_context = AddressContext::new(&self.tags, space.clone());
        let user_routes = match route_table {
            Some(table) => routes::user_routes(table, &bare_context),
            None => Ok(Vec::new()),
        };
        if let Ok(user) = &user_routes {
            virtual_network = virtual_network.union(&AddressSet::from_ranges(
                user.iter().map(|r| r.range).collect(),
            ));
        }
        let routes = user_routes.map(|mut user| {
            user.extend(routes::system_routes(&own_prefixes));
            user.extend(routes::peering_routes(&peer_prefixes));
            user
        });
        let has_gateway = vnet.properties.subnets.iter().flatten().any(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case("GatewaySubnet"))
        });
        let bgp_unknown = (has_gateway && !route_table.is_some_and(routes::disables_bgp)).then(|| {
            format!("virtual network {} has a gateway and the subnet's route table does not disable BGP route propagation: routes the gateway learns are not readable with Reader rights", vnet.name.as_deref().unwrap_or(&vnet_id))
        });
        let subnet_nsg_id = subnet_properties
            .network_security_group
            .as_ref()
            .and_then(|n| n.id.clone());
        let context = SubnetContext {
            vnet_id: vnet.id.clone(),
            virtual_network,
            nsg: Ok(None),
            routes,
            bgp_unknown,
            custom_dns: vnet
                .properties
                .dhcp_options
                .iter()
                .flat_map(|d| d.dns_servers.iter().flatten())
                .cloned()
                .collect(),
            route_table: route_table.map(|t| t.name.clone().unwrap_or_else(|| t.id.clone())),
            subnet_nsg_id: subnet_nsg_id.clone(),
        };
        let nsg = match &subnet_nsg_id {
            Some(id) => self.nsg(id, subnet_id, &context).map(Some),
            None => Ok(None),
        };
        Ok(SubnetContext { nsg, ..context })
    }

    /// An NSG parsed in the address context of a subnet, once per (NSG, subnet).
    fn nsg(
        &self,
        nsg_id: &str,
        subnet_id: &str,
        context: &SubnetContext,
    ) -> Result<Arc<Nsg>, String> {
        let cache_key = (key(nsg_id), key(subnet_id));
        if let Some(found) = lock(&self.nsgs).get(&cache_key) {
            return found.clone();
        }
        let parsed = match self.inventory.nsgs.get(&key(nsg_id)) {
            // ARM sends `securityRules: []` for an NSG without rules of its own (the 2024-03-01
            // `NetworkSecurityGroupList` example), inside `properties` it always sends.
            Some(resource) if resource.properties.security_rules.is_none() => Err(format!(
                "network security group {} has no securityRules list: its rules are unknown",
                resource.name.as_deref().unwrap_or(nsg_id)
            )),
            Some(resource) => Ok(Arc::new(nsg::parse(
                resource,
                &AddressContext::new(&self.tags, context.virtual_network.clone()),
            ))),
            None => Err(format!(
                "network security group {nsg_id} is referenced but not in the snapshot"
            )),
        };
        lock(&self.nsgs).insert(cache_key, parsed.clone());
        parsed
    }
}

/// A destination backup needs.
struct Need {
    tag: &'static str,
    port: u16,
    severity: &'static str,
    why: String,
    /// Why the severity could be higher than `severity` on facts that were not read.
    severity_unknown: Option<String>,
}

/// The destinations the VM's backup needs (docs/azure-sources.md#network-requirements; the rule docs give the rationale).
fn needs(facts: &VmFacts) -> Vec<Need> {
    let mut out: Vec<Need> = Vec::new();
    let mut add = |tag: &'static str, severity: &'static str, why: String| match out
        .iter_mut()
        .find(|n| n.tag == tag)
    {
        // The firmest documentation decides the severity, and only its rationale is kept.
        Some(existing) if severity == "error" && existing.severity == "warning" => {
            existing.severity = "error";
            existing.why = why;
        }
        Some(existing) if severity == existing.severity => {
            existing.why = format!("{}; {why}", existing.why)
        }
        Some(_) => {}
        None => out.push(Need {
            tag,
            port: 443,
            severity,
            why,
            severity_unknown: None,
        }),
    };
    if let Some(workloads) = facts.workloads.as_ref().filter(|w| !w.is_empty()) {
        let why = format!(
            "{} backup inside the VM (current workload backup docs)",
            workloads.join(" and ")
        );
        for tag in ["AzureBackup", "Storage", "AzureActiveDirectory"] {
            add(tag, "error", why.clone());
        }
    }
    let old_agent = facts
        .agent
        .version
        .as_deref()
        .zip(facts.os.as_deref())
        .is_some_and(|(version, os)| {
            let minimum: &[u64] = if os == "windows" {
                &[2, 7, 41491, 1010]
            } else {
                &[2, 2, 53, 1]
            };
            let parts: Option<Vec<u64>> = version.split('.').map(|p| p.parse().ok()).collect();
            parts.is_some_and(|p| p.as_slice() < minimum)
        });
    if old_agent {
        add("Storage", "error", "a VM agent below the supported version fetches extensions and status from regional Storage (current prepare docs)".into());
    }
    if facts.disks.iter().flatten().any(|d| d.write_accelerator) {
        add("Storage", "error", "VMs with Write Accelerator disks need outbound connectivity for backup (current support matrix)".into());
    }
    add("Storage", "warning", "snapshot backup: older prepare docs and the troubleshooting guide ask for outbound 443 to Storage".into());
    add(
        "AzureBackup",
        "warning",
        "the troubleshooting guide asks for outbound 443 to the AzureBackup service tag".into(),
    );
    // An agent below the supported version makes Storage required: with its version unread,
    // the Storage row's severity is not decided either.
    if !old_agent {
        if let Some((_, reason)) = facts.unknown_reason(fact_path::AGENT_VERSION.as_str()) {
            let reason = format!("the VM agent's version decides whether Storage is required, and it is unknown ({reason})");
            if let Some(storage) = out
                .iter_mut()
                .find(|n| n.tag == "Storage" && n.severity == "warning")
            {
                storage.severity_unknown = Some(reason);
            }
        }
    }
    out
}

pub fn resolve(index: &Index, vm: &VirtualMachine, facts: &mut VmFacts) {
    facts.workloads = Some(workloads(index, vm));
    let cache = &index.network;
    let nic_ref = vm.properties.network_profile.as_ref().and_then(|p| {
        let nics = p.network_interfaces.as_deref()?;
        nics.iter()
            .find(|n| n.properties.as_ref().and_then(|p| p.primary) == Some(true))
            .or(nics.first())
    });
    let Some(nic_id) = nic_ref.and_then(|n| n.id.clone()) else {
        facts.mark_unknown(
            fact_path::NETWORK,
            "the VM model lists no network interface",
        );
        return;
    };
    let Some(nic) = index.inventory.nics.get(&key(&nic_id)) else {
        facts.mark_unknown(
            fact_path::NETWORK,
            format!("network interface {nic_id} is not in the snapshot"),
        );
        return;
    };
    let configs = nic.properties.ip_configurations.as_deref().unwrap_or(&[]);
    let config = configs
        .iter()
        .find(|c| c.properties.as_ref().and_then(|p| p.primary) == Some(true))
        .or(configs.first())
        .and_then(|c| c.properties.as_ref());
    let Some(subnet_id) = config
        .and_then(|c| c.subnet.as_ref())
        .and_then(|s| s.id.clone())
    else {
        facts.mark_unknown(
            fact_path::NETWORK,
            format!(
                "network interface {} has no IP configuration with a subnet",
                nic.name.as_deref().unwrap_or(&nic_id)
            ),
        );
        return;
    };
    let subnet = cache.subnet(&subnet_id);
    let subnet = match subnet.as_ref() {
        Ok(subnet) => subnet,
        Err(reason) => {
            facts.mark_unknown(fact_path::NETWORK, reason.clone());
            return;
        }
    };
    let private_ip = config
        .and_then(|c| c.private_ip_address.as_deref())
        .and_then(parse_ip);
    let asgs: Vec<String> = config
        .and_then(|c| c.application_security_groups.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|a| a.id.as_deref())
        .map(key)
        .collect();
    let nic_nsg_id = nic
        .properties
        .network_security_group
        .as_ref()
        .and_then(|n| n.id.clone());
    let nic_nsg = nic_nsg_id
        .as_deref()
        .map(|id| cache.nsg(id, &subnet_id, subnet));
    let name = |id: &str| ArmId::parse(id).name.unwrap_or(id).to_string();
    let chain = format!(
        "VM {} → NIC {} ({}) → subnet {} → NIC NSG {} / subnet NSG {} / route table {}",
        facts.name,
        nic.name.as_deref().unwrap_or(&nic_id),
        private_ip
            .map(show_ip)
            .unwrap_or_else(|| "no IPv4 address".into()),
        name(&subnet_id),
        nic_nsg_id
            .as_deref()
            .map(name)
            .unwrap_or_else(|| "none".into()),
        subnet
            .subnet_nsg_id
            .as_deref()
            .map(name)
            .unwrap_or_else(|| "none".into()),
        subnet.route_table.as_deref().unwrap_or("none"),
    );
    let mut network = NetworkFacts {
        nic: nic.id.clone(),
        private_ip: private_ip.map(show_ip),
        subnet: subnet_id.clone(),
        vnet: subnet.vnet_id.clone(),
        nic_nsg: nic_nsg_id.clone(),
        subnet_nsg: subnet.subnet_nsg_id.clone(),
        route_table: subnet.route_table.clone(),
        custom_dns: !subnet.custom_dns.is_empty(),
        chain,
        requirements: Vec::new(),
        private_dns: Vec::new(),
    };
    for need in needs(facts) {
        let row = network.requirements.len();
        if let Some(reason) = &need.severity_unknown {
            facts.mark_element_unknown(fact_path::REQUIREMENT_SEVERITY, row, reason.clone());
        }
        let requirement = requirement(
            index,
            facts,
            row,
            &need,
            private_ip,
            &asgs,
            nic_nsg_id.as_deref(),
            nic_nsg.as_ref(),
            subnet,
            &subnet_id,
        );
        network.requirements.push(requirement);
    }
    network.private_dns =
        super::dns::private_dns(index, vm, facts, &subnet.vnet_id, &subnet.custom_dns);
    facts.network = Some(network);
}

/// The NSG verdict of requirement `row` is unknown; the other rows keep theirs, so a row that is
/// decided (a deny on AzureBackup) still fails while another cannot be placed.
fn nsg_unknown(facts: &mut VmFacts, row: usize, reason: impl Into<String>) {
    facts.mark_element_unknown(fact_path::REQUIREMENT_NSG_ALLOWED, row, reason);
}

/// The routes of requirement `row` are unknown, the other rows' are not.
fn routes_unknown(facts: &mut VmFacts, row: usize, reason: &str) {
    facts.mark_element_unknown(fact_path::REQUIREMENT_ROUTE_DROPS, row, reason);
    facts.mark_element_unknown(fact_path::REQUIREMENT_ROUTE_VIA_APPLIANCE, row, reason);
}

/// One destination's row: the effective NSG verdict and the routes to it. What cannot be
/// decided is unknown for this row alone (`row`, its index in `vm.network.requirements`).
#[allow(clippy::too_many_arguments)]
fn requirement(
    index: &Index,
    facts: &mut VmFacts,
    row: usize,
    need: &Need,
    private_ip: Option<u32>,
    asgs: &[String],
    nic_nsg_id: Option<&str>,
    nic_nsg: Option<&Result<Arc<Nsg>, String>>,
    subnet: &SubnetContext,
    subnet_id: &str,
) -> NetworkRequirement {
    let cache = &index.network;
    let mut out = NetworkRequirement {
        port: i64::from(need.port),
        protocol: "TCP".into(),
        required_by: need.why.clone(),
        severity: need.severity.into(),
        ..Default::default()
    };
    let Some((destination, addresses)) = cache
        .tags
        .regional_or_global(need.tag, facts.location.as_deref())
    else {
        out.destination = need.tag.to_string();
        let reason = if cache.tags.present {
            format!(
                "service tag {} is not in the snapshot's service tags document",
                need.tag
            )
        } else {
            "the snapshot has no service tags document (Microsoft.Network/serviceTags)".to_string()
        };
        routes_unknown(facts, row, &reason);
        nsg_unknown(facts, row, reason);
        return out;
    };
    out.destination = destination.clone();

    // NSG verdict, shared by every VM with the same NSG pair, ASGs and source-rule matches.
    let nsg_levels: Result<NsgPair, String> = (|| {
        let nic = match nic_nsg {
            Some(Ok(nsg)) => Some(nsg.clone()),
            Some(Err(reason)) => return Err(reason.clone()),
            None => None,
        };
        let sub = subnet.nsg.clone()?;
        Ok((nic, sub))
    })();
    match (nsg_levels, private_ip) {
        (Err(reason), _) => nsg_unknown(facts, row, reason),
        (Ok(_), None) => nsg_unknown(facts, row, "the NIC has no IPv4 private address"),
        (Ok((nic, sub)), Some(ip)) => {
            let signature: Vec<bool> = nic
                .iter()
                .chain(sub.iter())
                .flat_map(|n| &n.outbound)
                .map(|r| {
                    r.sources
                        .iter()
                        .any(|s| matches!(s, Resolved::Set(set) if set.contains(ip)))
                })
                .collect();
            let verdict_key: VerdictKey = (
                nic_nsg_id.map(key),
                key(subnet_id),
                destination.clone(),
                need.port,
                asgs.to_vec(),
                signature,
            );
            let cached = lock(&cache.verdicts).get(&verdict_key).cloned();
            let verdict = cached.unwrap_or_else(|| {
                let levels = [("NIC", nic.as_deref()), ("subnet", sub.as_deref())];
                let verdict = nsg::evaluate_outbound(
                    &levels,
                    ip,
                    asgs,
                    addresses,
                    need.port,
                    Protocol::Tcp,
                    nsg::EPHEMERAL_PORTS,
                );
                lock(&cache.verdicts).insert(verdict_key, verdict.clone());
                verdict
            });
            match verdict {
                Verdict::Allowed(by) => {
                    out.nsg_allowed = Some(true);
                    out.nsg_evidence = by.iter().map(|d| d.describe()).collect();
                }
                Verdict::Blocked {
                    by,
                    blocked_pieces,
                    pieces,
                } => {
                    out.nsg_allowed = Some(false);
                    for decider in &by {
                        if !out.blocking_nsgs.contains(&decider.nsg_id) {
                            out.blocking_nsgs.push(decider.nsg_id.clone());
                        }
                    }
                    out.nsg_evidence = by.iter().map(|d| d.describe()).collect();
                    if blocked_pieces < pieces {
                        out.nsg_evidence.push(format!("blocks {blocked_pieces} of {pieces} address/port ranges of {destination}"));
                    }
                }
                Verdict::Unknown(reason) => nsg_unknown(facts, row, reason),
            }
        }
    }

    match &subnet.routes {
        Err(reason) => routes_unknown(facts, row, reason),
        Ok(routes) => {
            let chosen = routes::routes_for(routes, addresses);
            let describe = |filter: &dyn Fn(&Route) -> bool| {
                let mut out: Vec<String> = Vec::new();
                for text in chosen.iter().filter(|r| filter(r)).map(|r| r.describe()) {
                    if !out.contains(&text) {
                        out.push(text);
                    }
                }
                out
            };
            out.routes = describe(&|_| true);
            out.drop_routes = describe(&|r| r.next_hop == NextHop::None);
            out.appliance_routes = describe(&|r| {
                matches!(
                    r.next_hop,
                    NextHop::VirtualAppliance(_) | NextHop::VirtualNetworkGateway
                )
            });
            // A next hop the check does not know (a plan's value known only after apply) may
            // drop the traffic or send it through an appliance: the route decides nothing.
            let undecided = chosen.iter().find_map(|r| match &r.next_hop {
                NextHop::Other(kind) => Some(format!(
                    "the route {} has the next hop `{kind}`, which is not one Azure documents",
                    r.describe()
                )),
                _ => None,
            });
            // A gateway-learned route can be longer than any user route, so while the gateway
            // may propagate routes, no decision here is certain.
            match subnet.bgp_unknown.as_ref().or(undecided.as_ref()) {
                Some(reason) => routes_unknown(facts, row, reason),
                None => {
                    out.route_drops = Some(!out.drop_routes.is_empty());
                    out.route_via_appliance = Some(!out.appliance_routes.is_empty());
                }
            }
        }
    }
    out
}

/// `SQL Server` / `SAP HANA` when a workload inside the VM is protected or its workload
/// extension is installed.
fn workloads(index: &Index, vm: &VirtualMachine) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !found.iter().any(|f| f == name) {
            found.push(name.to_string());
        }
    };
    for item_key in index
        .workload_items_by_vm
        .get(&key(&vm.id))
        .into_iter()
        .flatten()
    {
        let Some(item) = index.inventory.protected_items.get(*item_key) else {
            continue;
        };
        let kind = item
            .properties
            .protected_item_type
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let workload = item
            .properties
            .workload_type
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if kind.contains("saphana") || workload.contains("saphana") {
            add("SAP HANA");
        } else if kind.contains("sql") || workload.contains("sql") {
            add("SQL Server");
        } else {
            add("workload");
        }
    }
    for extension in index
        .inventory
        .extensions
        .get(&key(&vm.id))
        .into_iter()
        .flatten()
    {
        let kind = extension
            .properties
            .as_ref()
            .and_then(|p| p.kind.as_deref())
            .unwrap_or_default();
        if kind.eq_ignore_ascii_case("AzureBackupWindowsWorkload") {
            add("SQL Server");
        } else if kind.eq_ignore_ascii_case("AzureBackupLinuxWorkload") {
            add("SAP HANA");
        }
    }
    found
}
