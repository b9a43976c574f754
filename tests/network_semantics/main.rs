//! The documented NSG and route semantics (docs/network.md, "The Azure behaviour it follows"),
//! one readable case each, written with ARM-shaped JSON as a snapshot holds it. A VM at 10.10.1.4
//! in a VNet 10.10.0.0/16 talks to Azure service addresses from a small service tags document.
//!
//! `network` holds the VM's network and service tags, `arm` the ARM-shaped rules and routes, and
//! `verdicts` the outbound evaluation helpers; the cases themselves are below.

mod arm;
mod network;
mod verdicts;

use arm::{outbound, route, route_table, rule};
use backup_doctor::inventory::key;
use backup_doctor::inventory::model::ServiceTags;
use backup_doctor::network::nsg::{Nsg, Protocol, Verdict};
use backup_doctor::network::routes::{
    routes_for, select, system_routes, user_routes, NextHop, Route,
};
use network::{addresses, ip, prefixes, Network, NVA_IP, SUBSCRIPTION, VNET};
use serde_json::{json, Value};
use verdicts::{
    allowed_by, blocked_by, is_blocked, is_complete_block, is_unknown, verdict, verdict_of,
};

// ------------------------------------------------------------------------- NSG: level order

#[test]
fn nic_deny_wins_over_subnet_allow() {
    let net = Network::new();
    let nic = net.nic_nsg(&[("deny-internet", 4000, "Deny", "Internet", "*")]);
    let subnet = net.subnet_nsg(&[("allow-storage", 100, "Allow", "Storage", "443")]);
    let v = verdict(Some(&nic), Some(&subnet), &net.set("Storage"), 443);
    // Outbound traffic meets the NIC NSG first; its deny ends evaluation before the subnet.
    assert_eq!(blocked_by(&v), ["NIC deny-internet"]);
    assert!(is_complete_block(&v));
}

#[test]
fn subnet_deny_blocks_even_when_nic_allows() {
    let net = Network::new();
    let nic = net.nic_nsg(&[("allow-storage", 100, "Allow", "Storage", "443")]);
    let subnet = net.subnet_nsg(&[("deny-internet", 4000, "Deny", "Internet", "*")]);
    let v = verdict(Some(&nic), Some(&subnet), &net.set("Storage"), 443);
    assert_eq!(blocked_by(&v), ["subnet deny-internet"]);
}

#[test]
fn a_missing_nsg_allows_at_its_level() {
    let net = Network::new();
    let deny = net.subnet_nsg(&[("deny-internet", 4000, "Deny", "Internet", "*")]);
    let storage = net.set("Storage");
    let v = verdict(None, None, &storage, 443);
    assert_eq!(allowed_by(&v), Vec::<String>::new());
    let allow_all = net.nic_nsg(&[]);
    let v = verdict(Some(&allow_all), None, &storage, 443);
    assert_eq!(
        allowed_by(&v),
        ["NIC AllowInternetOutBound"],
        "no subnet NSG: the NIC NSG alone decides"
    );
    let v = verdict(None, Some(&deny), &storage, 443);
    assert_eq!(
        blocked_by(&v),
        ["subnet deny-internet"],
        "no NIC NSG does not stop the subnet NSG from denying"
    );
}

// ---------------------------------------------------------------------- NSG: priority order

#[test]
fn lower_priority_number_is_evaluated_first_whatever_the_listed_order() {
    let net = Network::new();
    let storage = net.set("Storage");
    let nsg = net.subnet_nsg(&[
        ("deny-internet", 300, "Deny", "Internet", "*"),
        ("allow-storage", 200, "Allow", "Storage", "443"),
    ]);
    let v = verdict(None, Some(&nsg), &storage, 443);
    assert_eq!(allowed_by(&v), ["subnet allow-storage"]);
    let swapped = net.subnet_nsg(&[
        ("allow-storage", 300, "Allow", "Storage", "443"),
        ("deny-internet", 200, "Deny", "Internet", "*"),
    ]);
    let v = verdict(None, Some(&swapped), &storage, 443);
    assert_eq!(blocked_by(&v), ["subnet deny-internet"]);
}

#[test]
fn first_match_stops_evaluation() {
    let net = Network::new();
    let nsg = net.subnet_nsg(&[
        ("allow-storage-https", 100, "Allow", "Storage", "443"),
        ("deny-all", 200, "Deny", "*", "*"),
    ]);
    let storage = net.set("Storage");
    // 443 matches rule 100 and never reaches the deny; 80 falls through to it.
    let v = verdict(None, Some(&nsg), &storage, 443);
    assert_eq!(allowed_by(&v), ["subnet allow-storage-https"]);
    let v = verdict(None, Some(&nsg), &storage, 80);
    assert_eq!(blocked_by(&v), ["subnet deny-all"]);
}

// ----------------------------------------------------------------------- NSG: default rules

/// Checks the three outbound defaults against destinations each one decides.
fn assert_default_outbound_rules(nsg: &Nsg, net: &Network) {
    let names: Vec<(&str, u32)> = nsg
        .outbound
        .iter()
        .map(|r| (r.name.as_str(), r.priority))
        .collect();
    assert_eq!(
        names,
        [
            ("AllowVnetOutBound", 65000),
            ("AllowInternetOutBound", 65001),
            ("DenyAllOutBound", 65500)
        ],
        "only the outbound defaults, in priority order"
    );
    let in_vnet = addresses(&["10.10.2.10"]);
    let private_outside_vnet = addresses(&["192.168.50.0/24"]);
    let v = verdict(None, Some(nsg), &in_vnet, 445);
    assert_eq!(allowed_by(&v), ["subnet AllowVnetOutBound"]);
    let v = verdict(None, Some(nsg), &net.set("Storage"), 443);
    assert_eq!(
        allowed_by(&v),
        ["subnet AllowInternetOutBound"],
        "Azure service addresses are Internet by default"
    );
    let v = verdict(None, Some(nsg), &private_outside_vnet, 443);
    assert_eq!(
        blocked_by(&v),
        ["subnet DenyAllOutBound"],
        "a private range outside the VNet is neither VirtualNetwork nor Internet"
    );
}

#[test]
fn default_rules_from_default_security_rules() {
    let net = Network::new();
    assert_default_outbound_rules(&net.subnet_nsg(&[]), &net);
}

#[test]
fn default_rules_apply_when_default_security_rules_is_absent() {
    let net = Network::new();
    assert_default_outbound_rules(&net.parse_nsg("nsg-snet-app", vec![], None), &net);
    assert_default_outbound_rules(&net.parse_nsg("nsg-snet-app", vec![], Some(vec![])), &net);
}

// ------------------------------------------------------------------- NSG: tag containment

#[test]
fn denying_internet_blocks_storage_unless_a_higher_priority_storage_allow_exists() {
    let net = Network::new();
    let storage = net.set("Storage");
    let deny_internet = ("deny-internet", 4000, "Deny", "Internet", "*");

    let only_deny = net.subnet_nsg(&[deny_internet]);
    let v = verdict(None, Some(&only_deny), &storage, 443);
    assert_eq!(blocked_by(&v), ["subnet deny-internet"]);
    assert!(
        is_complete_block(&v),
        "every Storage address is inside Internet"
    );

    let allowed_first = net.subnet_nsg(&[
        deny_internet,
        ("allow-storage", 3000, "Allow", "Storage", "443"),
    ]);
    let v = verdict(None, Some(&allowed_first), &storage, 443);
    assert_eq!(allowed_by(&v), ["subnet allow-storage"]);

    let allowed_too_late = net.subnet_nsg(&[
        deny_internet,
        ("allow-storage", 4010, "Allow", "Storage", "443"),
    ]);
    let v = verdict(None, Some(&allowed_too_late), &storage, 443);
    assert_eq!(blocked_by(&v), ["subnet deny-internet"]);
}

#[test]
fn azure_cloud_contains_storage_west_europe() {
    let net = Network::new();
    let regional = net.set("Storage.WestEurope");
    assert_eq!(regional.intersection(&net.set("AzureCloud")), regional);
    assert_eq!(regional.intersection(&net.set("Storage")), regional);
    let nsg = net.subnet_nsg(&[("deny-azure", 1000, "Deny", "AzureCloud", "*")]);
    let v = verdict(None, Some(&nsg), &regional, 443);
    assert_eq!(blocked_by(&v), ["subnet deny-azure"]);
    assert!(is_complete_block(&v));
}

#[test]
fn a_deny_covering_part_of_a_tag_is_a_partial_block() {
    let net = Network::new();
    // 20.60.0.0/16 is Storage.WestEurope: one of Storage's three IPv4 prefixes.
    let nsg = net.subnet_nsg(&[("deny-weu-storage", 500, "Deny", "20.60.0.0/16", "443")]);
    let v = verdict(None, Some(&nsg), &net.set("Storage"), 443);
    assert_eq!(blocked_by(&v), ["subnet deny-weu-storage"]);
    let Verdict::Blocked {
        blocked_pieces,
        pieces,
        ..
    } = v
    else {
        unreachable!()
    };
    assert!(
        0 < blocked_pieces && blocked_pieces < pieces,
        "{blocked_pieces} of {pieces}"
    );
}

// ------------------------------------------------------------- NSG: rule fields and syntax

#[test]
fn augmented_rules_match_any_listed_prefix_and_port() {
    let net = Network::new();
    let mut augmented = outbound("deny-listed", 500, "Deny", "", "");
    let props = &mut augmented["properties"];
    props
        .as_object_mut()
        .unwrap()
        .remove("destinationAddressPrefix");
    props
        .as_object_mut()
        .unwrap()
        .remove("destinationPortRange");
    props["destinationAddressPrefixes"] = json!(["20.60.0.0/16", "52.239.136.0/22"]);
    props["destinationPortRanges"] = json!(["443", "8443-8444"]);
    let nsg = net.nsg("nsg-snet-app", vec![augmented]);
    let to = |address: &str, port| verdict(None, Some(&nsg), &addresses(&[address]), port);

    assert_eq!(blocked_by(&to("20.60.1.1", 443)), ["subnet deny-listed"]);
    assert_eq!(
        blocked_by(&to("52.239.139.255", 8444)),
        ["subnet deny-listed"]
    );
    assert_eq!(
        allowed_by(&to("20.38.96.5", 443)),
        ["subnet AllowInternetOutBound"],
        "prefix not listed"
    );
    assert_eq!(
        allowed_by(&to("20.60.1.1", 8445)),
        ["subnet AllowInternetOutBound"],
        "port not listed"
    );
}

#[test]
fn port_ranges_are_inclusive() {
    let net = Network::new();
    let nsg = net.subnet_nsg(&[("deny-range", 500, "Deny", "*", "1000-2000")]);
    let storage = net.set("Storage");
    for (port, blocked) in [
        (999, false),
        (1000, true),
        (1500, true),
        (2000, true),
        (2001, false),
    ] {
        let v = verdict(None, Some(&nsg), &storage, port);
        assert_eq!(is_blocked(&v), blocked, "port {port}: {v:?}");
    }
}

#[test]
fn protocol_star_matches_tcp_and_udp_while_tcp_and_udp_match_only_themselves() {
    let net = Network::new();
    let storage = net.set("Storage");
    for (protocol, blocks_tcp, blocks_udp) in [
        ("*", true, true),
        ("Tcp", true, false),
        ("Udp", false, true),
    ] {
        let nsg = net.nsg(
            "nsg-snet-app",
            vec![rule("deny", 500, "Deny", protocol, "Internet", "443")],
        );
        for (flow, expected) in [(Protocol::Tcp, blocks_tcp), (Protocol::Udp, blocks_udp)] {
            let v = verdict_of(None, Some(&nsg), &storage, 443, flow, &[]);
            assert_eq!(is_blocked(&v), expected, "rule {protocol}, flow {flow:?}");
        }
    }
}

#[test]
fn a_source_asg_rule_applies_only_to_member_nics() {
    let net = Network::new();
    let asg_id = format!("{SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Network/applicationSecurityGroups/asg-Backup-Clients");
    let mut deny = outbound("deny-backup-clients", 500, "Deny", "Storage", "443");
    deny["properties"]
        .as_object_mut()
        .unwrap()
        .remove("sourceAddressPrefix");
    deny["properties"]["sourceApplicationSecurityGroups"] = json!([{ "id": asg_id }]);
    let nsg = net.nsg("nsg-snet-app", vec![deny]);
    let storage = net.set("Storage");

    // NIC ASG memberships arrive as lower-cased ids, whatever case the rule's id has.
    let member = [key(&asg_id)];
    let v = verdict_of(None, Some(&nsg), &storage, 443, Protocol::Tcp, &member);
    assert_eq!(blocked_by(&v), ["subnet deny-backup-clients"]);
    let other = [key(&asg_id.replace("asg-Backup-Clients", "asg-web"))];
    for asgs in [&other[..], &[]] {
        let v = verdict_of(None, Some(&nsg), &storage, 443, Protocol::Tcp, asgs);
        assert_eq!(
            allowed_by(&v),
            ["subnet AllowInternetOutBound"],
            "non-member {asgs:?}"
        );
    }
}

// ------------------------------------------------------------------- NSG: unknown tags

#[test]
fn an_unknown_tag_in_a_deciding_rule_makes_the_verdict_unknown() {
    let net = Network::new();
    let storage = net.set("Storage");
    let deny_unknown = net.subnet_nsg(&[("deny-monitor", 100, "Deny", "AzureMonitor", "443")]);
    let v = verdict(None, Some(&deny_unknown), &storage, 443);
    assert!(
        matches!(&v, Verdict::Unknown(reason) if reason.contains("AzureMonitor")),
        "{v:?}"
    );

    // An allow we cannot evaluate in front of a deny: allowing would be a guess.
    let allow_unknown = net.subnet_nsg(&[
        ("allow-monitor", 100, "Allow", "AzureMonitor", "443"),
        ("deny-internet", 200, "Deny", "Internet", "*"),
    ]);
    assert!(is_unknown(&verdict(
        None,
        Some(&allow_unknown),
        &storage,
        443
    )));
}

#[test]
fn an_unknown_tag_in_a_rule_that_cannot_apply_does_not_matter() {
    let net = Network::new();
    let nsg = net.subnet_nsg(&[("deny-monitor-smtp", 100, "Deny", "AzureMonitor", "25")]);
    let v = verdict(None, Some(&nsg), &net.set("Storage"), 443);
    assert_eq!(allowed_by(&v), ["subnet AllowInternetOutBound"]);
}

#[test]
fn without_a_service_tags_document_tag_rules_are_unknown_not_empty() {
    let net = Network::with_tags(None);
    let nsg = net.subnet_nsg(&[
        ("allow-storage", 100, "Allow", "Storage", "443"),
        ("deny-internet", 200, "Deny", "Internet", "*"),
    ]);
    let public = addresses(&["20.60.1.1"]);
    assert!(is_unknown(&verdict(None, Some(&nsg), &public, 443)));
}

#[test]
fn an_undecidable_nic_level_still_loses_to_a_subnet_deny() {
    let net = Network::new();
    let nic = net.nic_nsg(&[("allow-monitor", 100, "Allow", "AzureMonitor", "443")]);
    let subnet = net.subnet_nsg(&[("deny-internet", 200, "Deny", "Internet", "*")]);
    // Whatever the NIC NSG would say, the subnet NSG drops the traffic: both must allow.
    let v = verdict(Some(&nic), Some(&subnet), &net.set("Storage"), 443);
    assert_eq!(blocked_by(&v), ["subnet deny-internet"]);
}

// ------------------------------------------------------------------------------------ routes

/// The chosen route's (name, next hop) for traffic to `address`.
fn hop(routes: &[Route], address: &str) -> (String, NextHop) {
    let r = select(routes, ip(address)).unwrap_or_else(|| panic!("no route to {address}"));
    (r.name.clone(), r.next_hop.clone())
}

/// Asserts that traffic to `address` takes the route `name` to `next_hop`.
#[track_caller]
fn assert_hop(routes: &[Route], address: &str, name: &str, next_hop: NextHop) {
    assert_eq!(hop(routes, address), (name.to_string(), next_hop));
}

/// The regional Storage tag routed through the NVA, against an explicit CIDR route below.
fn storage_weu_via_nva() -> Value {
    route(
        "storage-weu-via-nva",
        "Storage.WestEurope",
        "VirtualAppliance",
    )
}

fn appliance() -> NextHop {
    NextHop::VirtualAppliance(Some(NVA_IP.into()))
}

#[test]
fn longest_prefix_match_wins() {
    let net = Network::new();
    let routes = net.routes(vec![
        route("default-via-nva", "0.0.0.0/0", "VirtualAppliance"),
        route("storage-weu-direct", "20.60.0.0/16", "Internet"),
        route("one-host", "20.60.7.7/32", "None"),
    ]);
    assert_hop(
        &routes,
        "20.60.1.1",
        "storage-weu-direct",
        NextHop::Internet,
    );
    assert_hop(&routes, "20.60.7.7", "one-host", NextHop::None);
    assert_hop(&routes, "8.8.8.8", "default-via-nva", appliance());
}

#[test]
fn a_user_route_beats_a_system_route_with_the_same_prefix() {
    let net = Network::new();
    let routes = net.routes(vec![
        route("default-via-nva", "0.0.0.0/0", "VirtualAppliance"),
        route("vnet-via-nva", VNET, "VirtualAppliance"),
    ]);
    assert_hop(&routes, "20.60.1.1", "default-via-nva", appliance());
    assert_hop(&routes, "10.10.3.3", "vnet-via-nva", appliance());
    let system_only = net.routes(vec![]);
    assert_eq!(hop(&system_only, "20.60.1.1").1, NextHop::Internet);
    assert_eq!(hop(&system_only, "10.10.3.3").1, NextHop::VnetLocal);
}

#[test]
fn an_explicit_cidr_beats_a_service_tag_route_with_the_same_prefix() {
    let net = Network::new();
    // Listed tag first so that list order cannot be what decides.
    let routes = net.routes(vec![
        storage_weu_via_nva(),
        route("storage-weu-direct", "20.60.0.0/16", "Internet"),
    ]);
    assert_hop(
        &routes,
        "20.60.1.1",
        "storage-weu-direct",
        NextHop::Internet,
    );
}

#[test]
fn a_regional_tag_beats_its_global_tag_which_beats_azure_cloud() {
    let net = Network::new();
    // All four tags hold 20.60.0.0/16 exactly, so only the tag order can decide.
    let mut table = vec![
        route("azurecloud-drop", "AzureCloud", "None"),
        route(
            "azurecloud-weu-gateway",
            "AzureCloud.westeurope",
            "VirtualNetworkGateway",
        ),
        route("storage-via-nva", "Storage", "VirtualAppliance"),
        route("storage-weu-direct", "Storage.WestEurope", "Internet"),
    ];
    let mut expected = vec![
        ("azurecloud-drop", NextHop::None),
        ("azurecloud-weu-gateway", NextHop::VirtualNetworkGateway),
        ("storage-via-nva", appliance()),
        ("storage-weu-direct", NextHop::Internet),
    ];
    while let Some((name, next_hop)) = expected.pop() {
        let routes = net.routes(table.clone());
        assert_hop(&routes, "20.60.1.1", name, next_hop);
        table.pop();
    }
    // Outside the regional tag, the global tag's own prefix decides.
    let routes = net.routes(vec![
        route("storage-via-nva", "Storage", "VirtualAppliance"),
        route("storage-weu-direct", "Storage.WestEurope", "Internet"),
    ]);
    assert_hop(&routes, "20.38.96.10", "storage-via-nva", appliance());
}

#[test]
fn default_route_to_none_drops_public_destinations_but_the_vnet_route_still_wins() {
    let net = Network::new();
    let routes = net.routes(vec![route("blackhole", "0.0.0.0/0", "None")]);
    assert_hop(&routes, "20.60.1.1", "blackhole", NextHop::None);
    assert_eq!(
        hop(&routes, "10.10.3.3").1,
        NextHop::VnetLocal,
        "/16 is longer than /0"
    );
    assert_eq!(
        hop(&routes, "10.20.0.1").1,
        NextHop::None,
        "system 10/8 outside the VNet drops"
    );

    let to_storage: Vec<NextHop> = routes_for(&routes, &net.set("Storage"))
        .iter()
        .map(|r| r.next_hop.clone())
        .collect();
    assert_eq!(to_storage, [NextHop::None]);
    let to_vnet: Vec<NextHop> = routes_for(&routes, &addresses(&["10.10.8.0/24"]))
        .iter()
        .map(|r| r.next_hop.clone())
        .collect();
    assert_eq!(to_vnet, [NextHop::VnetLocal]);
}

#[test]
fn a_route_naming_an_unknown_tag_is_an_error_not_a_missing_route() {
    let net = Network::new();
    let table = route_table(vec![route(
        "monitor-via-nva",
        "AzureMonitor",
        "VirtualAppliance",
    )]);
    let error = user_routes(&table, &net.ctx()).expect_err("an unresolvable route must not vanish");
    assert!(
        error.contains("monitor-via-nva") && error.contains("AzureMonitor"),
        "{error}"
    );
}

#[test]
fn a_vnet_space_equal_to_a_private_range_is_vnet_local() {
    // docs/network.md, Routes: the private ranges route to None "unless inside the VNet", so a
    // VNet space of exactly 10.0.0.0/8 makes it VnetLocal.
    let routes = system_routes(&prefixes(&["10.0.0.0/8"]));
    assert_eq!(hop(&routes, "10.1.2.3").1, NextHop::VnetLocal);
}

#[test]
fn tag_route_prefixes_keep_their_own_length() {
    // Storage.WestEurope as two adjacent /25s. Azure installs one route per tag prefix, so the
    // /25 tag routes are longer than the explicit /24 and win.
    let document: ServiceTags = serde_json::from_value(json!({
        "cloud": "Public",
        "values": [{ "name": "Storage.WestEurope", "properties": {
            "region": "westeurope", "addressPrefixes": ["20.60.0.0/25", "20.60.0.128/25"] } }]
    }))
    .unwrap();
    let net = Network::with_tags(Some(&document));
    let routes = net.routes(vec![
        storage_weu_via_nva(),
        route("block-direct", "20.60.0.0/24", "Internet"),
    ]);
    assert_hop(&routes, "20.60.0.10", "storage-weu-via-nva", appliance());
}

#[test]
fn adjacent_vnet_address_spaces_keep_their_own_system_routes() {
    // A VNet with address spaces 10.10.0.0/16 and 10.11.0.0/16 has two /16 VnetLocal system
    // routes; a user route for 10.10.0.0/15 is shorter and must lose inside the VNet.
    let net = Network::new();
    let space = prefixes(&["10.10.0.0/16", "10.11.0.0/16"]);
    let routes = net.routes_in_space(
        vec![route("both-via-nva", "10.10.0.0/15", "VirtualAppliance")],
        &space,
    );
    assert_eq!(hop(&routes, "10.10.1.1").1, NextHop::VnetLocal);
}
