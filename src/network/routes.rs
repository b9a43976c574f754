//! Effective route selection (docs/network.md): longest prefix match; on an exact
//! tie a user-defined route beats a BGP route beats a system route; among user routes an explicit
//! CIDR beats a service tag, and a regional tag beats its global tag, which beats
//! `AzureCloud.<region>`, which beats `AzureCloud`.

use super::ip::{representatives, AddressSet, Range};
use super::tags::{AddressContext, Resolved};
use crate::inventory::model::RouteTable;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextHop {
    VnetLocal,
    Internet,
    VirtualAppliance(Option<String>),
    VirtualNetworkGateway,
    VnetPeering,
    None,
    Other(String),
}

impl NextHop {
    fn parse(kind: &str, address: Option<&str>) -> NextHop {
        match kind.to_ascii_lowercase().as_str() {
            "vnetlocal" => NextHop::VnetLocal,
            "internet" => NextHop::Internet,
            "virtualappliance" => NextHop::VirtualAppliance(address.map(String::from)),
            "virtualnetworkgateway" => NextHop::VirtualNetworkGateway,
            "none" => NextHop::None,
            _ => NextHop::Other(kind.to_string()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            NextHop::VnetLocal => "VnetLocal".into(),
            NextHop::Internet => "Internet".into(),
            NextHop::VirtualAppliance(Some(ip)) => format!("VirtualAppliance {ip}"),
            NextHop::VirtualAppliance(None) => "VirtualAppliance".into(),
            NextHop::VirtualNetworkGateway => "VirtualNetworkGateway".into(),
            NextHop::VnetPeering => "VNetPeering".into(),
            NextHop::None => "None".into(),
            NextHop::Other(kind) => kind.clone(),
        }
    }
}

/// Where a route comes from; the order is the tie-break order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    User,
    Bgp,
    System,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub range: Range,
    pub prefix_len: u8,
    pub next_hop: NextHop,
    pub source: Source,
    /// 0 for an explicit CIDR; 1 regional tag, 2 global tag, 3 `AzureCloud.<region>`, 4 `AzureCloud`.
    pub tag_rank: u8,
    pub table: Option<String>,
}

impl Route {
    pub fn describe(&self) -> String {
        match &self.table {
            // A service-tag route is one route per tag prefix: described once, by its name.
            Some(table) => format!(
                "route {} in {} → {}",
                self.name,
                table,
                self.next_hop.describe()
            ),
            None => format!(
                "system route {}/{} → {}",
                super::ip::show_ip(self.range.lo),
                self.prefix_len,
                self.next_hop.describe()
            ),
        }
    }
}

fn tag_rank(tag: &str) -> u8 {
    let lower = tag.to_ascii_lowercase();
    match (lower.starts_with("azurecloud"), lower.contains('.')) {
        (false, true) => 1,
        (false, false) => 2,
        (true, true) => 3,
        (true, false) => 4,
    }
}

/// The default system routes of a subnet in a VNet whose address space is `address_prefixes`
/// (as listed: each prefix gets its own route, so two adjacent spaces stay two routes).
pub fn system_routes(address_prefixes: &[Range]) -> Vec<Route> {
    let space = AddressSet::from_ranges(address_prefixes.to_vec());
    let mut routes = Vec::new();
    for cidr in [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ] {
        let Some(range) = super::ip::parse_cidr(cidr) else {
            continue;
        };
        // A private range inside the VNet's own space is VnetLocal, not dropped (documented).
        let whole = AddressSet::from_ranges(vec![range]);
        if space.intersection(&whole) == whole {
            continue;
        }
        routes.push(system_route(range, NextHop::None));
    }
    routes.push(system_route(Range::ALL, NextHop::Internet));
    for prefix in address_prefixes {
        routes.extend(
            cidr_blocks(*prefix)
                .into_iter()
                .map(|block| system_route(block, NextHop::VnetLocal)),
        );
    }
    routes
}

/// System routes to peered VNets' address spaces.
pub fn peering_routes(peer_prefixes: &[Range]) -> Vec<Route> {
    peer_prefixes
        .iter()
        .flat_map(|p| cidr_blocks(*p))
        .map(|block| system_route(block, NextHop::VnetPeering))
        .collect()
}

fn system_route(range: Range, next_hop: NextHop) -> Route {
    Route {
        name: range.to_string(),
        range,
        prefix_len: range.prefix_len().unwrap_or(32),
        next_hop,
        source: Source::System,
        tag_rank: 0,
        table: None,
    }
}

/// Splits a range into maximal CIDR blocks.
pub fn cidr_blocks(range: Range) -> Vec<Range> {
    let mut out = Vec::new();
    let mut lo = u64::from(range.lo);
    let hi = u64::from(range.hi);
    while lo <= hi {
        let mut size = if lo == 0 {
            1u64 << 32
        } else {
            1u64 << lo.trailing_zeros().min(32)
        };
        while lo + size - 1 > hi {
            size >>= 1;
        }
        out.push(Range {
            lo: lo as u32,
            hi: (lo + size - 1) as u32,
        });
        lo += size;
    }
    out
}

/// User-defined routes of a route table; tag prefixes expand to one route per tag prefix.
pub fn user_routes(table: &RouteTable, ctx: &AddressContext) -> Result<Vec<Route>, String> {
    let name = table
        .name
        .clone()
        .unwrap_or_else(|| table.id.rsplit('/').next().unwrap_or_default().to_string());
    // ARM sends `routes: []` for a table without routes (the 2024-03-01 `RouteTableList`
    // example), inside `properties` it always sends: absent, the routes were not read.
    let Some(listed) = table.properties.get("routes").and_then(Value::as_array) else {
        return Err(format!(
            "route table {name} has no routes list: its routes are unknown"
        ));
    };
    let mut routes = Vec::new();
    for route in listed {
        let props = route.get("properties").unwrap_or(route);
        let route_name = route
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)")
            .to_string();
        // ARM requires both on every route: one missing means the route was not read whole,
        // and any address could be the one it takes elsewhere.
        let Some(prefix) = props.get("addressPrefix").and_then(Value::as_str) else {
            return Err(format!("route {route_name} in {name} has no addressPrefix"));
        };
        let Some(next_hop_type) = props.get("nextHopType").and_then(Value::as_str) else {
            return Err(format!("route {route_name} in {name} has no nextHopType"));
        };
        let next_hop = NextHop::parse(
            next_hop_type,
            props.get("nextHopIpAddress").and_then(Value::as_str),
        );
        // A service tag becomes one route per listed prefix, each with its own length.
        let (ranges, rank): (Vec<Range>, u8) = match super::ip::parse_cidr(prefix) {
            Some(range) => (vec![range], 0),
            None if prefix.contains(':') => continue,
            None => match ctx.tags.prefixes(prefix) {
                Some(listed) => (listed.to_vec(), tag_rank(prefix)),
                None => match ctx.resolve(prefix) {
                    Resolved::Set(set) => (set.ranges().to_vec(), tag_rank(prefix)),
                    Resolved::Unknown(reason) => {
                        return Err(format!("route {route_name} in {name}: {reason}"))
                    }
                },
            },
        };
        for range in ranges {
            for block in cidr_blocks(range) {
                routes.push(Route {
                    name: route_name.clone(),
                    range: block,
                    prefix_len: block.prefix_len().unwrap_or(32),
                    next_hop: next_hop.clone(),
                    source: Source::User,
                    tag_rank: rank,
                    table: Some(name.clone()),
                });
            }
        }
    }
    Ok(routes)
}

/// Whether the table keeps gateway (BGP) routes off its subnets.
pub fn disables_bgp(table: &RouteTable) -> bool {
    table
        .properties
        .get("disableBgpRoutePropagation")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The route traffic to `ip` takes.
pub fn select(routes: &[Route], ip: u32) -> Option<&Route> {
    routes
        .iter()
        .filter(|r| r.range.contains(ip))
        .min_by(|a, b| {
            b.prefix_len
                .cmp(&a.prefix_len)
                .then(a.source.cmp(&b.source))
                .then(a.tag_rank.cmp(&b.tag_rank))
        })
}

/// The distinct routes traffic to any address of `destination` takes.
pub fn routes_for<'a>(routes: &'a [Route], destination: &AddressSet) -> Vec<&'a Route> {
    let mut cuts = Vec::new();
    for route in routes {
        AddressSet::from_ranges(vec![route.range]).boundaries(&mut cuts);
    }
    let mut chosen: Vec<&Route> = Vec::new();
    for ip in representatives(destination, &mut cuts) {
        if let Some(route) = select(routes, ip) {
            if !chosen.iter().any(|c| std::ptr::eq(*c, route)) {
                chosen.push(route);
            }
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::ip::parse_ip;

    fn user(cidr: &str, hop: NextHop, rank: u8) -> Route {
        let range = super::super::ip::parse_cidr(cidr).unwrap();
        Route {
            name: cidr.into(),
            range,
            prefix_len: range.prefix_len().unwrap(),
            next_hop: hop,
            source: Source::User,
            tag_rank: rank,
            table: Some("rt".into()),
        }
    }

    #[test]
    fn longest_prefix_wins_then_user_over_system() {
        let mut routes = system_routes(&[super::super::ip::parse_cidr("10.1.0.0/16").unwrap()]);
        routes.push(user("0.0.0.0/0", NextHop::None, 0));
        let public = parse_ip("20.38.1.1").unwrap();
        assert_eq!(
            select(&routes, public).unwrap().next_hop,
            NextHop::None,
            "user 0/0 beats system 0/0 on a tie"
        );
        assert_eq!(
            select(&routes, parse_ip("10.1.2.3").unwrap())
                .unwrap()
                .next_hop,
            NextHop::VnetLocal,
            "/16 is longer than /0"
        );
        assert_eq!(
            select(&routes, parse_ip("10.9.0.1").unwrap())
                .unwrap()
                .next_hop,
            NextHop::None,
            "10/8 outside the VNet is dropped"
        );
        routes.push(user("20.38.0.0/16", NextHop::Internet, 1));
        assert_eq!(select(&routes, public).unwrap().next_hop, NextHop::Internet);
    }

    #[test]
    fn explicit_cidr_beats_tag_and_regional_beats_global() {
        let routes = vec![
            user("20.38.0.0/16", NextHop::VirtualNetworkGateway, 2),
            user("20.38.0.0/16", NextHop::Internet, 1),
            user("20.38.0.0/16", NextHop::None, 0),
        ];
        assert_eq!(
            select(&routes, parse_ip("20.38.0.1").unwrap())
                .unwrap()
                .next_hop,
            NextHop::None
        );
        assert_eq!(
            select(&routes[..2], parse_ip("20.38.0.1").unwrap())
                .unwrap()
                .next_hop,
            NextHop::Internet
        );
    }

    #[test]
    fn cidr_blocks_cover_exactly() {
        let blocks = cidr_blocks(Range {
            lo: parse_ip("10.0.0.0").unwrap(),
            hi: parse_ip("10.0.2.255").unwrap(),
        });
        let shown: Vec<String> = blocks.iter().map(|b| b.to_string()).collect();
        assert_eq!(shown, ["10.0.0.0/23", "10.0.2.0/24"]);
        assert_eq!(cidr_blocks(Range::ALL), vec![Range::ALL]);
    }
}
