//! Network: what a table cannot say of NICs, subnets, NSGs and their rules, route tables and
//! their routes, private endpoints and private DNS zones. (NSG and route table associations are
//! declared whole in the registry.)

use super::fields::{self, field, Field, Kind::*};
use super::mapping::{Id, Location, Mapped, Planned, Resource};
use crate::error::InputError;
use crate::inventory::types::RECOVERY_VAULTS;
use crate::source::change::{Action, Edit, KNOWN_AFTER_APPLY};
use serde_json::{json, Value};

/// The NIC's IP configurations; without `primary`, the first one is (as in ARM).
pub(super) fn ip_configurations(planned: &Planned, nic: &mut Resource) -> Result<(), InputError> {
    let mut configurations = Vec::new();
    for (i, block) in planned
        .attrs
        .blocks("ip_configuration")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let mut configuration = fields::child(block, IP_CONFIGURATION)?;
        configuration["properties"]["primary"] = block.boolean("primary")?.unwrap_or(json!(i == 0));
        configurations.push(configuration);
    }
    nic.properties()
        .insert("ipConfigurations".into(), Value::Array(configurations));
    Ok(())
}

/// ARM's `addressPrefix` is the first of the subnet's prefixes.
pub(super) fn address_prefixes(planned: &Planned, subnet: &mut Resource) -> Result<(), InputError> {
    if let Some(prefixes) = planned.attrs.strings("address_prefixes")? {
        let properties = subnet.properties();
        if let Some(first) = prefixes.first() {
            properties.insert("addressPrefix".into(), first.clone());
        }
        properties.insert("addressPrefixes".into(), Value::Array(prefixes));
    }
    Ok(())
}

/// An NSG's inline rules.
pub(super) fn security_rules(planned: &Planned, nsg: &mut Resource) -> Result<(), InputError> {
    let rules = match planned.attrs.blocks("security_rule")? {
        Some(rules) => Value::Array(
            rules
                .iter()
                .map(|rule| fields::child(rule, SECURITY_RULE))
                .collect::<Result<_, _>>()?,
        ),
        // Rules known only after apply: one undecidable rule stands for them, so no verdict passes.
        None => {
            json!([{ "name": KNOWN_AFTER_APPLY, "properties": { "priority": 100, "direction": "Outbound", "access": KNOWN_AFTER_APPLY, "protocol": "*", "destinationAddressPrefix": "*", "destinationPortRange": "*", "sourceAddressPrefix": "*", "sourcePortRange": "*" } }])
        }
    };
    nsg.properties().insert("securityRules".into(), rules);
    Ok(())
}

/// azurerm 4 says `bgp_route_propagation_enabled`, azurerm 3 `disable_bgp_route_propagation`.
pub(super) fn bgp_route_propagation(
    planned: &Planned,
    table: &mut Resource,
) -> Result<(), InputError> {
    let a = planned.attrs;
    let disabled = match a.boolean("bgp_route_propagation_enabled")? {
        Some(enabled) => Some(enabled.as_bool().map(|e| json!(!e)).unwrap_or(enabled)),
        None => a.boolean("disable_bgp_route_propagation")?,
    };
    if let Some(disabled) = disabled {
        table
            .properties()
            .insert("disableBgpRoutePropagation".into(), disabled);
    }
    Ok(())
}

/// ARM records an endpoint's connection to a Recovery Services vault on the vault too, which is
/// where the DNS checks start.
pub(super) fn vault_connections(
    planned: &Planned,
    endpoint: &mut Resource,
) -> Result<(), InputError> {
    let vault_type = format!("/providers/{RECOVERY_VAULTS}/").to_ascii_lowercase();
    let vaults: Vec<String> = endpoint
        .properties()
        .get("privateLinkServiceConnections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer("/properties/privateLinkServiceId")?.as_str())
        .filter(|target| target.to_ascii_lowercase().contains(&vault_type))
        .map(String::from)
        .collect();
    for vault in vaults {
        let id = endpoint.id.clone();
        endpoint.also.push(Edit::Element {
            parent: vault,
            array: &["properties", "privateEndpointConnections"],
            key_field: &["properties", "privateEndpoint", "id"],
            key: id.clone(),
            item: (planned.action != Action::Delete)
                .then(|| json!({ "properties": { "privateEndpoint": { "id": id } } })),
        });
    }
    Ok(())
}

/// A zone lives in no region and carries no properties the checks read.
pub(super) fn dns_zone(planned: &Planned) -> Result<Mapped, InputError> {
    let zone = planned.header(&Id::InResourceGroup(&[]), &Location::Global)?;
    Ok(zone.into_mapped(planned.action))
}

/// A NIC's `ip_configuration` block.
#[rustfmt::skip]
pub(super) const IP_CONFIGURATION: &[Field] = &[
    field("subnet_id", "properties.subnet.id", Str),
    field("private_ip_address", "properties.privateIPAddress", Str),
    field("name", "name", Str),
];

/// An NSG rule, inline (`security_rule`) or declared on its own (a child: see
/// [`fields::child`](super::fields::child)). azurerm's empty lists mean
/// "not given", next to the single-value form.
#[rustfmt::skip]
pub(super) const SECURITY_RULE: &[Field] = &[
    field("direction", "properties.direction", Str),
    field("access", "properties.access", Str),
    field("protocol", "properties.protocol", Str),
    field("source_port_range", "properties.sourcePortRange", Str),
    field("destination_port_range", "properties.destinationPortRange", Str),
    field("source_address_prefix", "properties.sourceAddressPrefix", Str),
    field("destination_address_prefix", "properties.destinationAddressPrefix", Str),
    field("description", "properties.description", Str),
    field("priority", "properties.priority", Num),
    field("source_port_ranges", "properties.sourcePortRanges", Strs).unless_empty(),
    field("destination_port_ranges", "properties.destinationPortRanges", Strs).unless_empty(),
    field("source_address_prefixes", "properties.sourceAddressPrefixes", Strs).unless_empty(),
    field("destination_address_prefixes", "properties.destinationAddressPrefixes", Strs).unless_empty(),
    field("source_application_security_group_ids", "properties.sourceApplicationSecurityGroups", Wrapped("id")).unless_empty(),
    field("destination_application_security_group_ids", "properties.destinationApplicationSecurityGroups", Wrapped("id")).unless_empty(),
    field("name", "name", Str).or_null(),
];

/// A route, inline (`route`) or declared on its own (a child).
#[rustfmt::skip]
pub(super) const ROUTE: &[Field] = &[
    field("address_prefix", "properties.addressPrefix", Str),
    field("next_hop_type", "properties.nextHopType", Str),
    field("next_hop_in_ip_address", "properties.nextHopIpAddress", Str),
    field("name", "name", Str).or_null(),
];
