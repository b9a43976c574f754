//! The route reference: longest prefix, then User < BGP < System, then tag rank, checked against
//! `select` and `routes_for`, and the system routes against the documented defaults.

use crate::addresses::{
    addresses_of, cidr_in, cidr_in_universe, ip, mask, set_in_universe, universe, Cidr,
    PRIVATE_BLOCK,
};
use backup_doctor::network::ip::AddressSet;
use backup_doctor::network::routes::{routes_for, select, system_routes, NextHop, Route, Source};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Addresses outside the universe blocks that the wide routes (0/0, 10/8, 20/8) still decide.
const ROUTE_SENTINELS: [&str; 5] = [
    "8.8.8.8",
    "10.200.0.1",
    "20.60.0.1",
    "192.168.1.1",
    "255.255.255.255",
];

fn route_addresses() -> Vec<u32> {
    let mut all = universe();
    all.extend(ROUTE_SENTINELS.iter().map(|a| ip(a)));
    all
}

fn source_rank(source: Source) -> u8 {
    match source {
        Source::User => 0,
        Source::Bgp => 1,
        Source::System => 2,
    }
}

fn route_contains(route: &Route, address: u32) -> bool {
    address & mask(route.prefix_len) == route.range.lo & mask(route.prefix_len)
}

/// The index of the route traffic to `address` takes: all containing routes sorted by prefix
/// length (longest first), then User < BGP < System, then tag rank, then list order.
fn reference_select(routes: &[Route], address: u32) -> Option<usize> {
    let mut candidates: Vec<usize> = (0..routes.len())
        .filter(|&i| route_contains(&routes[i], address))
        .collect();
    candidates.sort_by(|&a, &b| {
        let (ra, rb) = (&routes[a], &routes[b]);
        rb.prefix_len
            .cmp(&ra.prefix_len)
            .then(source_rank(ra.source).cmp(&source_rank(rb.source)))
            .then(ra.tag_rank.cmp(&rb.tag_rank))
            .then(a.cmp(&b))
    });
    candidates.first().copied()
}

fn index_of(routes: &[Route], chosen: &Route) -> usize {
    routes
        .iter()
        .position(|r| std::ptr::eq(r, chosen))
        .expect("a selected route comes from the list")
}

#[derive(Debug, Clone)]
struct RouteSpec {
    cidr: Cidr,
    next_hop: NextHop,
    bgp: bool,
    tag_rank: u8,
}

fn route_spec() -> impl Strategy<Value = RouteSpec> {
    let cidr = prop_oneof![
        8 => cidr_in_universe(),
        1 => Just(Cidr::parse("0.0.0.0/0")),
        1 => Just(Cidr::parse("10.0.0.0/8")),
        1 => Just(Cidr::parse("20.0.0.0/8")),
    ];
    let next_hop = prop_oneof![
        Just(NextHop::None),
        Just(NextHop::Internet),
        Just(NextHop::VnetLocal),
        Just(NextHop::VirtualNetworkGateway),
        Just(NextHop::VirtualAppliance(Some("10.0.0.36".into()))),
    ];
    (cidr, next_hop, prop::bool::weighted(0.2), 0u8..=4).prop_map(
        |(cidr, next_hop, bgp, tag_rank)| RouteSpec {
            cidr,
            next_hop,
            bgp,
            tag_rank,
        },
    )
}

#[derive(Debug)]
pub(crate) struct RouteCase {
    extra: Vec<RouteSpec>,
    vnet_space: Vec<Cidr>,
    /// How far the combined list is rotated, so system routes are not always last.
    rotate: usize,
    destination: AddressSet,
}

pub(crate) fn route_case() -> impl Strategy<Value = RouteCase> {
    (
        vec(route_spec(), 0..=8),
        vec(cidr_in(Cidr::parse(PRIVATE_BLOCK)), 1..=2),
        any::<usize>(),
        set_in_universe(),
    )
        .prop_map(|(extra, vnet_space, rotate, destination)| RouteCase {
            extra,
            vnet_space,
            rotate,
            destination,
        })
}

fn build_routes(case: &RouteCase) -> (AddressSet, Vec<Route>) {
    let space = AddressSet::from_ranges(case.vnet_space.iter().map(Cidr::range).collect());
    let mut routes: Vec<Route> = case
        .extra
        .iter()
        .enumerate()
        .map(|(i, spec)| Route {
            name: format!("route-{i}"),
            range: spec.cidr.range(),
            prefix_len: spec.cidr.len,
            next_hop: spec.next_hop.clone(),
            source: if spec.bgp { Source::Bgp } else { Source::User },
            tag_rank: spec.tag_rank,
            table: (!spec.bgp).then(|| "rt-spoke".to_string()),
        })
        .collect();
    routes.extend(system_routes(
        &case.vnet_space.iter().map(Cidr::range).collect::<Vec<_>>(),
    ));
    let len = routes.len();
    routes.rotate_left(case.rotate % len);
    (space, routes)
}

pub(crate) fn check_route_case(case: &RouteCase) -> Result<(), TestCaseError> {
    let (_, routes) = build_routes(case);
    for address in route_addresses() {
        let chosen = select(&routes, address).map(|r| index_of(&routes, r));
        prop_assert_eq!(
            chosen,
            reference_select(&routes, address),
            "select disagrees at {}",
            Ipv4Addr::from(address)
        );
    }
    let reported: Vec<usize> = routes_for(&routes, &case.destination)
        .into_iter()
        .map(|r| index_of(&routes, r))
        .collect();
    let distinct: BTreeSet<usize> = reported.iter().copied().collect();
    prop_assert_eq!(distinct.len(), reported.len(), "routes_for repeats a route");
    let expected: BTreeSet<usize> = addresses_of(&case.destination)
        .into_iter()
        .filter_map(|a| reference_select(&routes, a))
        .collect();
    prop_assert_eq!(distinct, expected);
    Ok(())
}

/// The system routes themselves: well-formed blocks, the documented fixed routes, and VnetLocal
/// routes covering exactly the VNet space.
pub(crate) fn check_system_routes(case: &RouteCase) -> Result<(), TestCaseError> {
    let (space, _) = build_routes(case);
    let routes = system_routes(&case.vnet_space.iter().map(Cidr::range).collect::<Vec<_>>());
    for route in &routes {
        prop_assert_eq!(route.source, Source::System);
        let size = u64::from(route.range.hi - route.range.lo) + 1;
        prop_assert_eq!(
            size,
            1u64 << (32 - route.prefix_len),
            "{:?} is not its prefix",
            route
        );
        prop_assert_eq!(
            route.range.lo & !mask(route.prefix_len),
            0,
            "{:?} is unaligned",
            route
        );
    }
    for (cidr, hop) in [
        ("0.0.0.0/0", NextHop::Internet),
        ("10.0.0.0/8", NextHop::None),
        ("172.16.0.0/12", NextHop::None),
        ("192.168.0.0/16", NextHop::None),
        ("100.64.0.0/10", NextHop::None),
    ] {
        let c = Cidr::parse(cidr);
        let present = routes
            .iter()
            .any(|r| r.range.lo == c.lo && r.prefix_len == c.len && r.next_hop == hop);
        // A private range wholly inside the VNet's space is VnetLocal, so its None route is gone.
        let whole = AddressSet::from_ranges(vec![c.range()]);
        let inside_vnet = hop == NextHop::None && space.intersection(&whole) == whole;
        prop_assert_eq!(present, !inside_vnet, "system route {} → {:?}", cidr, hop);
    }
    for address in route_addresses() {
        let in_space = case.vnet_space.iter().any(|c| c.contains(address));
        let vnet_local = routes
            .iter()
            .any(|r| r.next_hop == NextHop::VnetLocal && route_contains(r, address));
        prop_assert_eq!(
            in_space,
            vnet_local,
            "VnetLocal coverage at {}",
            Ipv4Addr::from(address)
        );
    }
    Ok(())
}
