//! Private endpoint name resolution from a VM's virtual network (docs/network.md):
//! each private endpoint name of the vault that backs the VM (or its workloads) up must resolve,
//! from the VM's VNet, to the endpoint's address: the privatelink zone exists, is linked to that
//! VNet, and holds an A record with the address.

use super::fact_path;
use super::facts::*;
use super::Index;
use crate::inventory::model::*;
use crate::inventory::{key, ArmId};
use serde_json::Value;

/// Checks the private endpoints of the vault that backs the VM (or its workloads) up: each
/// endpoint name must resolve, from the VM's virtual network, to the endpoint's address.
pub fn private_dns(
    index: &Index,
    vm: &VirtualMachine,
    facts: &mut VmFacts,
    vnet_id: &str,
    custom_dns: &[String],
) -> Vec<DnsCheck> {
    let inventory = index.inventory;
    let workload = facts.workloads.as_ref().is_some_and(|w| !w.is_empty());
    let mut vault_ids: Vec<String> = facts.protection.vault_id.iter().cloned().collect();
    for item_key in index
        .workload_items_by_vm
        .get(&key(&vm.id))
        .into_iter()
        .flatten()
    {
        vault_ids.push(super::protection::vault_of(item_key).to_string());
    }
    vault_ids.sort_by_key(|v| key(v));
    vault_ids.dedup_by_key(|v| key(v));
    let (severity, why) = if workload {
        (
            "error",
            "workload backup inside the VM reaches the vault through its private endpoints",
        )
    } else {
        (
            "warning",
            "file recovery from VM backups goes through the vault's private endpoints",
        )
    };
    let mut checks = Vec::new();
    for vault_id in vault_ids {
        let Some(vault) = inventory.recovery_vaults.get(&key(&vault_id)) else {
            // Its private endpoints are listed on the vault: without it, no name can be checked.
            facts.mark_unknown(
                fact_path::NETWORK_PRIVATE_DNS,
                format!("the Recovery Services vault {vault_id} is not in the snapshot"),
            );
            continue;
        };
        let Some(properties) = &vault.properties else {
            facts.mark_unknown(
                fact_path::NETWORK_PRIVATE_DNS,
                format!(
                    "the Recovery Services vault {} has no properties: its private endpoints are unknown",
                    vault.name
                ),
            );
            continue;
        };
        // Present only on a vault with private endpoints: absent inside `properties`, none.
        for connection in properties.private_endpoint_connections.iter().flatten() {
            let Some(pe_id) = connection
                .pointer("/properties/privateEndpoint/id")
                .and_then(Value::as_str)
            else {
                facts.mark_unknown(
                    fact_path::NETWORK_PRIVATE_DNS,
                    format!(
                        "a private endpoint connection of vault {} names no private endpoint",
                        vault.name
                    ),
                );
                continue;
            };
            let Some(endpoint) = inventory.private_endpoints.get(&key(pe_id)) else {
                facts.mark_unknown(
                    fact_path::NETWORK_PRIVATE_DNS,
                    format!(
                        "private endpoint {pe_id} of vault {} is not in the snapshot",
                        vault.name
                    ),
                );
                continue;
            };
            // Network resources carry their lists as `[]` when empty (the 2024-03-01
            // `PrivateEndpointList` example sends `applicationSecurityGroups: []`), and a
            // private endpoint always has `properties`: absent, the names were not read.
            let Some(configs) = endpoint
                .properties
                .get("customDnsConfigs")
                .and_then(Value::as_array)
            else {
                facts.mark_unknown(
                    fact_path::NETWORK_PRIVATE_DNS,
                    format!("private endpoint {pe_id} has no customDnsConfigs list: the names it serves are unknown"),
                );
                continue;
            };
            for config in configs {
                let Some(fqdn) = config.get("fqdn").and_then(Value::as_str) else {
                    facts.mark_unknown(
                        fact_path::NETWORK_PRIVATE_DNS,
                        format!("a customDnsConfigs entry of private endpoint {pe_id} has no fqdn"),
                    );
                    continue;
                };
                let ip = config
                    .get("ipAddresses")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                checks.push(dns_check(
                    index, facts, vnet_id, custom_dns, fqdn, ip, endpoint, severity, why,
                ));
            }
        }
    }
    checks
}

/// `x.privatelink.eus.backup.windowsazure.com` or `x.blob.core.windows.net` → (zone, record).
pub fn private_zone_of(fqdn: &str) -> Option<(String, String)> {
    let fqdn = fqdn.trim_end_matches('.').to_ascii_lowercase();
    if let Some(at) = fqdn.find(".privatelink.") {
        return Some((fqdn[at + 1..].to_string(), fqdn[..at].to_string()));
    }
    let (record, parent) = fqdn.split_once('.')?;
    let parent = if parent == "vault.azure.net" {
        "vaultcore.azure.net"
    } else {
        parent
    };
    Some((format!("privatelink.{parent}"), record.to_string()))
}

#[allow(clippy::too_many_arguments)]
fn dns_check(
    index: &Index,
    facts: &mut VmFacts,
    vnet_id: &str,
    custom_dns: &[String],
    fqdn: &str,
    ip: &str,
    endpoint: &PrivateEndpoint,
    severity: &str,
    why: &str,
) -> DnsCheck {
    let cache = &index.network;
    let (zone_name, record) =
        private_zone_of(fqdn).unwrap_or_else(|| (fqdn.to_string(), String::new()));
    let mut check = DnsCheck {
        fqdn: fqdn.to_string(),
        zone: zone_name.clone(),
        private_endpoint: endpoint.name.clone().unwrap_or_else(|| endpoint.id.clone()),
        private_endpoint_id: endpoint.id.clone(),
        ip: ip.to_string(),
        required_by: why.to_string(),
        severity: severity.to_string(),
        ..Default::default()
    };
    if !custom_dns.is_empty() {
        facts.mark_unknown(
            fact_path::NETWORK_PRIVATE_DNS,
            format!("the VM's virtual network uses custom DNS servers ({}): whether they forward {zone_name} to Azure DNS cannot be read", custom_dns.join(", ")),
        );
        return check;
    }
    let zones = cache
        .zones_by_name
        .get(&zone_name)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let link_of = |zone: &GenericResource| {
        cache
            .links_by_zone
            .get(&key(&zone.id))
            .into_iter()
            .flatten()
            .copied()
            .find(|l| {
                l.properties
                    .pointer("/virtualNetwork/id")
                    .and_then(Value::as_str)
                    .is_some_and(|v| key(v) == key(vnet_id))
            })
    };
    // Only a zone linked to the VM's VNet answers for it; several zones may share the name.
    let linked = zones
        .iter()
        .find_map(|zone| link_of(zone).map(|link| (*zone, link)));
    let Some(first) = zones.first() else {
        check.problem =
            format!("private DNS zone {zone_name} does not exist in the snapshot's subscriptions");
        check.resolves = Some(false);
        return check;
    };
    check.zone_exists = true;
    check.linked = Some(linked.is_some());
    let vnet_name = ArmId::parse(vnet_id).name.unwrap_or_default();
    let Some((zone, link)) = linked else {
        check.zone_id = Some(first.id.clone());
        check.record_ok = Some(false);
        check.resolves = Some(false);
        check.problem = format!("zone {zone_name} is not linked to virtual network {vnet_name}: the name resolves to the public address");
        return check;
    };
    check.zone_id = Some(zone.id.clone());
    let record_id = format!("{}/a/{}", key(&zone.id), record);
    let addresses: Vec<String> = index
        .inventory
        .private_dns_a_records
        .get(&record_id)
        .and_then(|r| r.properties.get("aRecords").and_then(Value::as_array))
        .into_iter()
        .flatten()
        .filter_map(|a| {
            a.get("ipv4Address")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect();
    let record_ok = addresses.iter().any(|a| a == ip);
    check.record_ok = Some(record_ok);
    check.resolves = Some(record_ok);
    let fallback = link
        .properties
        .get("resolutionPolicy")
        .and_then(Value::as_str)
        .is_some_and(|p| p.eq_ignore_ascii_case("NxDomainRedirect"));
    check.problem = match (record_ok, addresses.is_empty(), fallback) {
        (true, _, _) => String::new(),
        (false, true, true) => format!("no A record {record} in {zone_name}; the link's NxDomainRedirect policy falls back to public resolution"),
        (false, true, false) => format!("no A record {record} in {zone_name}: the name does not resolve (NXDOMAIN)"),
        (false, false, _) => format!("A record {record} in {zone_name} points at {} instead of the endpoint's {ip}", addresses.join(", ")),
    };
    check
}

#[cfg(test)]
mod tests {
    use super::private_zone_of;

    #[test]
    fn private_zones_of_endpoint_names() {
        assert_eq!(
            private_zone_of("abc-ab-pod01-fc1.privatelink.eus.backup.windowsazure.com"),
            Some((
                "privatelink.eus.backup.windowsazure.com".into(),
                "abc-ab-pod01-fc1".into()
            ))
        );
        assert_eq!(
            private_zone_of("acct.blob.core.windows.net"),
            Some(("privatelink.blob.core.windows.net".into(), "acct".into()))
        );
        assert_eq!(
            private_zone_of("kv1.vault.azure.net"),
            Some(("privatelink.vaultcore.azure.net".into(), "kv1".into()))
        );
    }
}
