//! Property tests for the network analyser. The implementation is fast because it never looks at
//! addresses or ports one by one: it splits destination sets and source-port ranges at rule
//! boundaries and evaluates one representative per piece. The references below do the opposite:
//! they walk every address and every source port of a small universe with the plainest code that
//! states the documented semantics (reference arm-and-network §3.1–3.2), so a wrong boundary, an
//! off-by-one at a range end or a mis-ordered tie-break shows up as a disagreement.

use backup_doctor::inventory::key;
use backup_doctor::inventory::model::{
    NetworkSecurityGroup, ServiceTag, ServiceTagProperties, ServiceTags,
};
use backup_doctor::network::ip::{representatives, AddressSet, Range};
use backup_doctor::network::nsg::{self, evaluate_outbound, Decider, Protocol, Verdict};
use backup_doctor::network::routes::{routes_for, select, system_routes, NextHop, Route, Source};
use backup_doctor::network::tags::{AddressContext, TagIndex};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

// ------------------------------------------------------------------------------------ addresses

fn ip(text: &str) -> u32 {
    u32::from(text.parse::<Ipv4Addr>().expect("test address parses"))
}

/// A CIDR block as the tests generate and reason about it, independent of `ip::parse_cidr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    lo: u32,
    len: u8,
}

impl Cidr {
    fn parse(text: &str) -> Cidr {
        let (address, len) = text.split_once('/').unwrap_or((text, "32"));
        let len: u8 = len.parse().expect("test prefix length parses");
        Cidr {
            lo: ip(address) & mask(len),
            len,
        }
    }

    fn contains(&self, address: u32) -> bool {
        address & mask(self.len) == self.lo
    }

    fn text(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.lo), self.len)
    }

    fn range(&self) -> Range {
        Range {
            lo: self.lo,
            hi: self.lo | !mask(self.len),
        }
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// The NSG and route universe: a private block that holds the VNet and a public block that
/// stands for Azure service addresses (it is "Internet" and holds the Storage tags). Small enough
/// to enumerate, split in two so that the `Internet` and `VirtualNetwork` tags both matter.
const PRIVATE_BLOCK: &str = "10.0.0.0/26";
const PUBLIC_BLOCK: &str = "20.38.0.0/27";

fn blocks() -> [Cidr; 2] {
    [Cidr::parse(PRIVATE_BLOCK), Cidr::parse(PUBLIC_BLOCK)]
}

fn universe() -> Vec<u32> {
    blocks().iter().flat_map(|b| b.lo..=b.range().hi).collect()
}

/// A random CIDR block inside `block`, of any size up to the whole block.
fn cidr_in(block: Cidr) -> impl Strategy<Value = Cidr> {
    let block_bits = 32 - block.len;
    (any::<u32>(), 0..=block_bits).prop_map(move |(raw, host_bits)| {
        let offset = (raw % (1 << block_bits)) & !((1u32 << host_bits) - 1);
        Cidr {
            lo: block.lo + offset,
            len: 32 - host_bits,
        }
    })
}

fn cidr_in_universe() -> impl Strategy<Value = Cidr> {
    let [private, public] = blocks();
    prop_oneof![cidr_in(private), cidr_in(public)]
}

/// A random set of addresses inside the universe, built from arbitrary (not only CIDR) ranges so
/// that pieces start and end off rule boundaries.
fn set_in_universe() -> impl Strategy<Value = AddressSet> {
    let range = (any::<bool>(), any::<u8>(), any::<u8>()).prop_map(|(public, a, b)| {
        let block = blocks()[usize::from(public)];
        let size = 1u32 << (32 - block.len);
        let (a, b) = (u32::from(a) % size, u32::from(b) % size);
        Range {
            lo: block.lo + a.min(b),
            hi: block.lo + a.max(b),
        }
    });
    vec(range, 1..=3).prop_map(AddressSet::from_ranges)
}

/// Every address of `set`, read from its ranges (the sets here are small).
fn addresses_of(set: &AddressSet) -> Vec<u32> {
    set.ranges().iter().flat_map(|r| r.lo..=r.hi).collect()
}

// ------------------------------------------------------------------------------------------ NSG

/// The flow's source NIC address; every generated VNet contains it.
const SRC_IP: &str = "10.0.0.4";
const ASGS: [&str; 2] = [
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Network/applicationSecurityGroups/asg-Web",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Network/applicationSecurityGroups/asg-Db",
];
/// Service tags inside the public block. `Storage` is not one CIDR, and its regional variant is a
/// strict part of it, so tag rules split destination sets in interesting places. The IPv6 prefix
/// must be ignored.
const STORAGE: [&str; 3] = ["20.38.0.0/28", "20.38.0.24/29", "2603:1000::/40"];
const STORAGE_WEST_EUROPE: [&str; 1] = ["20.38.0.0/29"];
/// A tag the document does not hold: a rule naming it cannot be evaluated.
const MISSING_TAG: &str = "AzureMonitor";

const RULE_SOURCE_PORTS: (u16, u16) = (996, 1035);
const FLOW_SOURCE_PORTS: (u16, u16) = (1000, 1031);
const DESTINATION_PORTS: (u16, u16) = (440, 447);

fn tags_document() -> ServiceTags {
    let tag = |name: &str, region: &str, prefixes: &[&str]| ServiceTag {
        name: name.into(),
        properties: ServiceTagProperties {
            region: Some(region.into()),
            address_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        },
    };
    ServiceTags {
        cloud: Some("Public".into()),
        values: vec![
            tag("Storage", "", &STORAGE),
            tag("Storage.WestEurope", "westeurope", &STORAGE_WEST_EUROPE),
        ],
    }
}

#[derive(Debug, Clone)]
enum Destination {
    Any,
    /// One CIDR goes in `destinationAddressPrefix`, several in `destinationAddressPrefixes`.
    Cidrs(Vec<Cidr>),
    VirtualNetwork,
    Internet,
    Storage,
    StorageWestEurope,
    MissingTag,
}

#[derive(Debug, Clone)]
enum SourceSpec {
    Any,
    VirtualNetwork,
    Cidr(Cidr),
    /// `sourceApplicationSecurityGroups` with the ASG of this index.
    Asg(usize),
}

#[derive(Debug, Clone)]
enum Ports {
    Any,
    Single(u16),
    Range(u16, u16),
    /// The plural `*PortRanges` array.
    List(Vec<(u16, u16)>),
}

#[derive(Debug, Clone)]
struct RuleSpec {
    name: String,
    priority: u32,
    allow: bool,
    /// `None` is `*`.
    protocol: Option<Protocol>,
    source: SourceSpec,
    destination: Destination,
    source_ports: Ports,
    destination_ports: Ports,
}

#[derive(Debug, Clone)]
struct NsgSpec {
    custom: Vec<RuleSpec>,
    /// Whether the export lists `defaultSecurityRules` (as ARM does) or leaves them out (as some
    /// exports do), in which case the parser must supply them.
    explicit_defaults: bool,
    /// An inbound deny-all custom rule, which outbound evaluation must skip.
    inbound_deny: bool,
}

/// The documented outbound defaults, as the reference applies them.
fn default_rules() -> Vec<RuleSpec> {
    let rule = |name: &str, priority, allow, source, destination| RuleSpec {
        name: name.into(),
        priority,
        allow,
        protocol: None,
        source,
        destination,
        source_ports: Ports::Any,
        destination_ports: Ports::Any,
    };
    vec![
        rule(
            "AllowVnetOutBound",
            65000,
            true,
            SourceSpec::VirtualNetwork,
            Destination::VirtualNetwork,
        ),
        rule(
            "AllowInternetOutBound",
            65001,
            true,
            SourceSpec::Any,
            Destination::Internet,
        ),
        rule(
            "DenyAllOutBound",
            65500,
            false,
            SourceSpec::Any,
            Destination::Any,
        ),
    ]
}

fn port_text((lo, hi): (u16, u16)) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

/// Writes the singular or plural port field the way ARM returns it.
fn put_ports(props: &mut Value, ports: &Ports, single: &str, plural: &str) {
    let (one, many): (String, Vec<String>) = match ports {
        Ports::Any => ("*".into(), vec![]),
        Ports::Single(p) => (p.to_string(), vec![]),
        Ports::Range(lo, hi) => (format!("{lo}-{hi}"), vec![]),
        Ports::List(list) => (String::new(), list.iter().copied().map(port_text).collect()),
    };
    if !one.is_empty() {
        props[single] = json!(one);
    }
    props[plural] = json!(many);
}

impl RuleSpec {
    /// The rule as an ARM `securityRules` element.
    fn to_arm(&self, direction: &str) -> Value {
        let mut props = json!({
            "protocol": match self.protocol {
                Some(Protocol::Tcp) => "Tcp",
                Some(Protocol::Udp) => "Udp",
                _ => "*",
            },
            "access": if self.allow { "Allow" } else { "Deny" },
            "priority": self.priority,
            "direction": direction,
            "sourceAddressPrefixes": [],
            "provisioningState": "Succeeded",
        });
        match &self.source {
            SourceSpec::Any => props["sourceAddressPrefix"] = json!("*"),
            SourceSpec::VirtualNetwork => props["sourceAddressPrefix"] = json!("VirtualNetwork"),
            SourceSpec::Cidr(c) => props["sourceAddressPrefix"] = json!(c.text()),
            SourceSpec::Asg(i) => {
                props["sourceApplicationSecurityGroups"] = json!([{ "id": ASGS[*i] }])
            }
        }
        let single_destination = |prefix: &str| (json!(prefix), json!([]));
        let (one, many) = match &self.destination {
            Destination::Any => single_destination("*"),
            Destination::Cidrs(cidrs) if cidrs.len() == 1 => single_destination(&cidrs[0].text()),
            Destination::Cidrs(cidrs) => (
                Value::Null,
                cidrs.iter().map(Cidr::text).collect::<Vec<_>>().into(),
            ),
            Destination::VirtualNetwork => single_destination("VirtualNetwork"),
            Destination::Internet => single_destination("Internet"),
            Destination::Storage => single_destination("Storage"),
            Destination::StorageWestEurope => single_destination("Storage.WestEurope"),
            Destination::MissingTag => single_destination(MISSING_TAG),
        };
        if !one.is_null() {
            props["destinationAddressPrefix"] = one;
        }
        props["destinationAddressPrefixes"] = many;
        put_ports(
            &mut props,
            &self.source_ports,
            "sourcePortRange",
            "sourcePortRanges",
        );
        put_ports(
            &mut props,
            &self.destination_ports,
            "destinationPortRange",
            "destinationPortRanges",
        );
        json!({
            "name": self.name,
            "type": "Microsoft.Network/networkSecurityGroups/securityRules",
            "properties": props,
        })
    }
}

impl NsgSpec {
    fn to_arm(&self, name: &str) -> NetworkSecurityGroup {
        let mut custom: Vec<Value> = self.custom.iter().map(|r| r.to_arm("Outbound")).collect();
        if self.inbound_deny {
            let inbound = RuleSpec {
                name: "DenyEverythingInbound".into(),
                // Inbound and outbound priorities are independent, so this may repeat one.
                priority: 100,
                allow: false,
                protocol: None,
                source: SourceSpec::Any,
                destination: Destination::Any,
                source_ports: Ports::Any,
                destination_ports: Ports::Any,
            };
            custom.push(inbound.to_arm("Inbound"));
        }
        let mut properties = json!({ "securityRules": custom });
        if self.explicit_defaults {
            properties["defaultSecurityRules"] = default_rules()
                .iter()
                .map(|r| r.to_arm("Outbound"))
                .chain([json!({
                    "name": "DenyAllInBound",
                    "properties": { "protocol": "*", "sourcePortRange": "*",
                        "destinationPortRange": "*", "sourceAddressPrefix": "*",
                        "destinationAddressPrefix": "*", "access": "Deny",
                        "priority": 65500, "direction": "Inbound" }
                })])
                .collect::<Vec<_>>()
                .into();
        }
        serde_json::from_value(json!({
            "id": format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/{name}"),
            "name": name,
            "type": "Microsoft.Network/networkSecurityGroups",
            "properties": properties,
        }))
        .expect("generated NSG deserialises")
    }
}

/// One connection the reference checks.
struct RefFlow<'a> {
    dst_ip: u32,
    src_port: u16,
    dst_port: u16,
    protocol: Protocol,
    /// Indexes into `ASGS` of the groups the source NIC belongs to.
    nic_asgs: &'a [usize],
    vnet: Cidr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefMatch {
    Yes,
    No,
    Unknown,
}

fn in_ports(ports: &Ports, port: u16) -> bool {
    match ports {
        Ports::Any => true,
        Ports::Single(p) => *p == port,
        Ports::Range(lo, hi) => (*lo..=*hi).contains(&port),
        Ports::List(list) => list.iter().any(|(lo, hi)| (*lo..=*hi).contains(&port)),
    }
}

/// Whether `rule` applies to `flow`, straight from the documented 5-tuple semantics.
fn reference_match(rule: &RuleSpec, flow: &RefFlow) -> RefMatch {
    let protocol = rule.protocol.is_none_or(|p| p == flow.protocol);
    let ports = in_ports(&rule.source_ports, flow.src_port)
        && in_ports(&rule.destination_ports, flow.dst_port);
    let source = match &rule.source {
        SourceSpec::Any => true,
        SourceSpec::VirtualNetwork => flow.vnet.contains(ip(SRC_IP)),
        SourceSpec::Cidr(c) => c.contains(ip(SRC_IP)),
        SourceSpec::Asg(i) => flow.nic_asgs.contains(i),
    };
    let in_any = |prefixes: &[&str]| {
        prefixes
            .iter()
            .filter(|p| !p.contains(':'))
            .any(|p| Cidr::parse(p).contains(flow.dst_ip))
    };
    let destination = match &rule.destination {
        Destination::Any => Some(true),
        Destination::Cidrs(cidrs) => Some(cidrs.iter().any(|c| c.contains(flow.dst_ip))),
        Destination::VirtualNetwork => Some(flow.vnet.contains(flow.dst_ip)),
        // Within the universe the VNet is private, so Internet is exactly the public block.
        Destination::Internet => Some(Cidr::parse(PUBLIC_BLOCK).contains(flow.dst_ip)),
        Destination::Storage => Some(in_any(&STORAGE)),
        Destination::StorageWestEurope => Some(in_any(&STORAGE_WEST_EUROPE)),
        Destination::MissingTag => None,
    };
    match (protocol && ports && source, destination) {
        (false, _) | (true, Some(false)) => RefMatch::No,
        (true, None) => RefMatch::Unknown,
        (true, Some(true)) => RefMatch::Yes,
    }
}

/// (level, rule name, priority, allow): a deciding rule, comparable with the crate's `Decider`.
type RefDecider = (String, String, u32, bool);

fn as_ref_decider(d: &Decider) -> RefDecider {
    (d.level.to_string(), d.rule.clone(), d.priority, d.allow)
}

enum LevelOutcome {
    Decided(RefDecider),
    Unknown,
}

/// First match in one NSG: custom and default rules by ascending priority.
fn reference_nsg(level: &str, spec: &NsgSpec, flow: &RefFlow) -> LevelOutcome {
    let mut rules: Vec<RuleSpec> = spec.custom.iter().cloned().chain(default_rules()).collect();
    rules.sort_by_key(|r| r.priority);
    for rule in &rules {
        match reference_match(rule, flow) {
            RefMatch::No => continue,
            RefMatch::Yes => {
                return LevelOutcome::Decided((
                    level.into(),
                    rule.name.clone(),
                    rule.priority,
                    rule.allow,
                ))
            }
            RefMatch::Unknown => return LevelOutcome::Unknown,
        }
    }
    unreachable!("DenyAllOutBound matches every flow")
}

enum FlowOutcome {
    Allowed(Vec<RefDecider>),
    /// The first level, in evaluation order, whose first match denies.
    Denied(RefDecider),
    Unknown,
}

/// Outbound: the NIC NSG, then the subnet NSG; a deny at either level drops the flow, a missing
/// NSG allows. A level that cannot be evaluated leaves the flow unknown unless a level denies.
fn reference_flow(levels: &[(&str, Option<&NsgSpec>)], flow: &RefFlow) -> FlowOutcome {
    let mut allowed_by = Vec::new();
    let mut unknown = false;
    for (level, spec) in levels {
        let Some(spec) = spec else { continue };
        match reference_nsg(level, spec, flow) {
            LevelOutcome::Decided(d) if !d.3 => return FlowOutcome::Denied(d),
            LevelOutcome::Decided(d) => allowed_by.push(d),
            LevelOutcome::Unknown => unknown = true,
        }
    }
    if unknown {
        FlowOutcome::Unknown
    } else {
        FlowOutcome::Allowed(allowed_by)
    }
}

fn ports_in(domain: (u16, u16)) -> impl Strategy<Value = Ports> {
    let range = (domain.0..=domain.1, domain.0..=domain.1).prop_map(|(a, b)| (a.min(b), a.max(b)));
    prop_oneof![
        2 => Just(Ports::Any),
        3 => (domain.0..=domain.1).prop_map(Ports::Single),
        3 => range.clone().prop_map(|(lo, hi)| Ports::Range(lo, hi)),
        1 => vec(range, 2..=3).prop_map(Ports::List),
    ]
}

/// A custom rule without its name and priority.
fn rule_body() -> impl Strategy<Value = RuleSpec> {
    let protocol = prop_oneof![
        Just(None),
        Just(Some(Protocol::Tcp)),
        Just(Some(Protocol::Udp))
    ];
    let source = prop_oneof![
        6 => Just(SourceSpec::Any),
        1 => Just(SourceSpec::VirtualNetwork),
        1 => Just(SourceSpec::Cidr(Cidr::parse("10.0.0.0/24"))),
        1 => Just(SourceSpec::Cidr(Cidr::parse("10.0.0.128/25"))),
        1 => Just(SourceSpec::Cidr(Cidr::parse(SRC_IP))),
        2 => (0..ASGS.len()).prop_map(SourceSpec::Asg),
    ];
    let destination = prop_oneof![
        2 => Just(Destination::Any),
        8 => cidr_in_universe().prop_map(|c| Destination::Cidrs(vec![c])),
        3 => vec(cidr_in_universe(), 2..=3).prop_map(Destination::Cidrs),
        1 => Just(Destination::VirtualNetwork),
        1 => Just(Destination::Internet),
        2 => Just(Destination::Storage),
        1 => Just(Destination::StorageWestEurope),
        2 => Just(Destination::MissingTag),
    ];
    (
        any::<bool>(),
        protocol,
        source,
        destination,
        ports_in(RULE_SOURCE_PORTS),
        ports_in(DESTINATION_PORTS),
    )
        .prop_map(
            |(allow, protocol, source, destination, source_ports, destination_ports)| RuleSpec {
                name: String::new(),
                priority: 0,
                allow,
                protocol,
                source,
                destination,
                source_ports,
                destination_ports,
            },
        )
}

fn nsg_spec() -> impl Strategy<Value = NsgSpec> {
    // Unique priorities in the custom range, in random order so the export's order never helps.
    let priorities = subsequence((100u32..=4096).collect::<Vec<_>>(), 0..=6).prop_shuffle();
    (
        priorities,
        vec(rule_body(), 6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(priorities, bodies, explicit_defaults, inbound_deny)| NsgSpec {
                custom: priorities
                    .into_iter()
                    .zip(bodies)
                    .enumerate()
                    .map(|(i, (priority, body))| RuleSpec {
                        name: format!("rule-{i}-p{priority}"),
                        priority,
                        ..body
                    })
                    .collect(),
                explicit_defaults,
                inbound_deny,
            },
        )
}

/// VNet spaces that all hold `SRC_IP`: smaller than, equal to and larger than the private block.
fn vnet() -> impl Strategy<Value = Cidr> {
    prop_oneof![
        Just(Cidr::parse("10.0.0.0/28")),
        Just(Cidr::parse("10.0.0.0/27")),
        Just(Cidr::parse("10.0.0.0/26")),
        Just(Cidr::parse("10.0.0.0/16")),
    ]
}

#[derive(Debug)]
struct NsgCase {
    nic: Option<NsgSpec>,
    subnet: Option<NsgSpec>,
    vnet: Cidr,
    nic_asgs: Vec<usize>,
    destination: AddressSet,
    port: u16,
    protocol: Protocol,
    source_ports: (u16, u16),
}

fn nsg_case() -> impl Strategy<Value = NsgCase> {
    let nsg = || prop::option::weighted(0.85, nsg_spec());
    let source_ports = (
        FLOW_SOURCE_PORTS.0..=FLOW_SOURCE_PORTS.1,
        FLOW_SOURCE_PORTS.0..=FLOW_SOURCE_PORTS.1,
    )
        .prop_map(|(a, b)| (a.min(b), a.max(b)));
    (
        (nsg(), nsg(), vnet()),
        subsequence(vec![0usize, 1], 0..=2),
        set_in_universe(),
        DESTINATION_PORTS.0..=DESTINATION_PORTS.1,
        prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp)],
        source_ports,
    )
        .prop_map(
            |((nic, subnet, vnet), nic_asgs, destination, port, protocol, source_ports)| NsgCase {
                nic,
                subnet,
                vnet,
                nic_asgs,
                destination,
                port,
                protocol,
                source_ports,
            },
        )
}

fn check_nsg_case(case: &NsgCase) -> Result<(), TestCaseError> {
    let document = tags_document();
    let tags = TagIndex::new(Some(&document));
    let ctx = AddressContext::new(
        &tags,
        AddressSet::from_prefixes([case.vnet.text().as_str()]),
    );
    let nic = case
        .nic
        .as_ref()
        .map(|s| nsg::parse(&s.to_arm("nsg-nic"), &ctx));
    let subnet = case
        .subnet
        .as_ref()
        .map(|s| nsg::parse(&s.to_arm("nsg-subnet"), &ctx));
    let src_asgs: Vec<String> = case.nic_asgs.iter().map(|&i| key(ASGS[i])).collect();
    let verdict = evaluate_outbound(
        &[("NIC", nic.as_ref()), ("subnet", subnet.as_ref())],
        ip(SRC_IP),
        &src_asgs,
        &case.destination,
        case.port,
        case.protocol,
        case.source_ports,
    );

    let levels = [("NIC", case.nic.as_ref()), ("subnet", case.subnet.as_ref())];
    let mut deniers: BTreeSet<RefDecider> = BTreeSet::new();
    let (mut denied, mut unknown, mut flows) = (0usize, false, 0usize);
    let mut first_allowed_by = None;
    for dst_ip in addresses_of(&case.destination) {
        for src_port in case.source_ports.0..=case.source_ports.1 {
            let flow = RefFlow {
                dst_ip,
                src_port,
                dst_port: case.port,
                protocol: case.protocol,
                nic_asgs: &case.nic_asgs,
                vnet: case.vnet,
            };
            flows += 1;
            match reference_flow(&levels, &flow) {
                FlowOutcome::Denied(by) => {
                    denied += 1;
                    deniers.insert(by);
                }
                FlowOutcome::Unknown => unknown = true,
                FlowOutcome::Allowed(by) => {
                    first_allowed_by.get_or_insert(by);
                }
            }
        }
    }

    match verdict {
        Verdict::Blocked {
            by,
            blocked_pieces,
            pieces,
        } => {
            prop_assert!(denied > 0, "Blocked, but the reference denies no flow");
            let reported: BTreeSet<RefDecider> = by.iter().map(as_ref_decider).collect();
            prop_assert_eq!(
                reported.len(),
                by.len(),
                "a blocking rule is reported twice"
            );
            // Every piece is uniform, so the rules seen at representatives are exactly the rules
            // that deny some flow.
            prop_assert_eq!(&reported, &deniers);
            prop_assert!(pieces <= flows && 0 < blocked_pieces && blocked_pieces <= pieces);
            prop_assert_eq!(
                blocked_pieces == pieces,
                denied == flows,
                "a partial block must say so (blocked {} of {} pieces, {} of {} flows)",
                blocked_pieces,
                pieces,
                denied,
                flows
            );
        }
        Verdict::Unknown(reason) => {
            prop_assert_eq!(
                denied,
                0,
                "Unknown ({}), but the reference denies flows",
                reason
            );
            prop_assert!(
                unknown,
                "Unknown ({}), but the reference decides every flow",
                reason
            );
        }
        Verdict::Allowed(by) => {
            prop_assert_eq!(denied, 0, "Allowed, but the reference denies flows");
            prop_assert!(
                !unknown,
                "Allowed, but the reference cannot decide some flow"
            );
            // The evidence is the rules that allowed the first address from the lowest port.
            let reported: Vec<RefDecider> = by.iter().map(as_ref_decider).collect();
            prop_assert_eq!(Some(reported), first_allowed_by);
        }
    }
    Ok(())
}

// --------------------------------------------------------------------------------------- routes

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
struct RouteCase {
    extra: Vec<RouteSpec>,
    vnet_space: Vec<Cidr>,
    /// How far the combined list is rotated, so system routes are not always last.
    rotate: usize,
    destination: AddressSet,
}

fn route_case() -> impl Strategy<Value = RouteCase> {
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

fn check_route_case(case: &RouteCase) -> Result<(), TestCaseError> {
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
fn check_system_routes(case: &RouteCase) -> Result<(), TestCaseError> {
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

// ------------------------------------------------------------------------------ address algebra

/// 64 addresses in three windows: the bottom and top of the IPv4 space (where `complement` and
/// `hi + 1` can overflow) and a private block in between. One bit per address of a `u64`.
fn algebra_universe() -> Vec<u32> {
    let base = ip("10.0.0.0");
    (0..16)
        .chain(base..base + 32)
        .chain(u32::MAX - 15..=u32::MAX)
        .collect()
}

/// Ranges with both ends in the universe; they may span the gaps between windows.
fn ranges_in_algebra_universe() -> impl Strategy<Value = Vec<Range>> {
    let range = (0usize..64, 0usize..64).prop_map(|(a, b)| {
        let u = algebra_universe();
        Range {
            lo: u[a.min(b)],
            hi: u[a.max(b)],
        }
    });
    vec(range, 0..=4)
}

/// The bit-set model of ranges: bit k is set iff universe address k is in one of them.
fn model(ranges: &[Range]) -> u64 {
    algebra_universe()
        .iter()
        .enumerate()
        .filter(|(_, &a)| ranges.iter().any(|r| r.lo <= a && a <= r.hi))
        .fold(0, |bits, (k, _)| bits | 1 << k)
}

/// Sorted, non-empty, disjoint and non-adjacent: the form that makes `==` mean "same set".
fn assert_canonical(set: &AddressSet) -> Result<(), TestCaseError> {
    for r in set.ranges() {
        prop_assert!(r.lo <= r.hi, "empty range in {:?}", set);
    }
    for pair in set.ranges().windows(2) {
        prop_assert!(
            u64::from(pair[0].hi) + 1 < u64::from(pair[1].lo),
            "ranges overlap or touch in {:?}",
            set
        );
    }
    Ok(())
}

fn check_algebra(a: &[Range], b: &[Range]) -> Result<(), TestCaseError> {
    let (set_a, set_b) = (
        AddressSet::from_ranges(a.to_vec()),
        AddressSet::from_ranges(b.to_vec()),
    );
    let (model_a, model_b) = (model(a), model(b));
    let union = set_a.union(&set_b);
    let intersection = set_a.intersection(&set_b);
    let complement = set_a.complement();
    for (set, expected, what) in [
        (&set_a, model_a, "from_ranges"),
        (&union, model_a | model_b, "union"),
        (&intersection, model_a & model_b, "intersection"),
        (&complement, !model_a, "complement"),
    ] {
        assert_canonical(set)?;
        prop_assert_eq!(
            model(set.ranges()),
            expected,
            "{} of {:?} and {:?}",
            what,
            a,
            b
        );
    }
    for (k, &address) in algebra_universe().iter().enumerate() {
        prop_assert_eq!(set_a.contains(address), model_a >> k & 1 == 1);
    }
    prop_assert_eq!(complement.complement(), set_a.clone());
    prop_assert_eq!(set_a.is_empty(), a.is_empty());
    Ok(())
}

/// `representatives` yields the first address of every piece of `within` that the cuts make, and
/// nothing else.
fn check_representatives(within: &[Range], cut_sets: &[Vec<Range>]) -> Result<(), TestCaseError> {
    let within = AddressSet::from_ranges(within.to_vec());
    let mut cuts = Vec::new();
    for ranges in cut_sets {
        AddressSet::from_ranges(ranges.clone()).boundaries(&mut cuts);
    }
    let all_cuts = cuts.clone();
    let reps = representatives(&within, &mut cuts);
    let range_of = |address: u32| {
        within
            .ranges()
            .iter()
            .position(|r| r.lo <= address && address <= r.hi)
    };
    let cut_between = |lo: u32, hi: u32| {
        all_cuts
            .iter()
            .any(|&c| u64::from(lo) < c && c <= u64::from(hi))
    };
    prop_assert!(
        reps.windows(2).all(|w| w[0] < w[1]),
        "not increasing: {:?}",
        reps
    );
    for &rep in &reps {
        prop_assert!(range_of(rep).is_some(), "{} is outside the set", rep);
    }
    for pair in reps.windows(2) {
        if range_of(pair[0]) == range_of(pair[1]) {
            prop_assert!(cut_between(pair[0], pair[1]), "{:?} share a piece", pair);
        }
    }
    for address in algebra_universe() {
        let Some(range) = range_of(address) else {
            continue;
        };
        let rep = reps.iter().rev().find(|&&r| r <= address);
        prop_assert!(
            rep.is_some_and(|&r| range_of(r) == Some(range) && !cut_between(r, address)),
            "the piece of {} has no representative ({:?})",
            address,
            reps
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------ the tests

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nsg_verdict_matches_per_flow_reference(case in nsg_case()) {
        check_nsg_case(&case)?;
    }

    #[test]
    fn route_selection_matches_naive_reference(case in route_case()) {
        check_route_case(&case)?;
    }

    #[test]
    fn system_routes_are_the_documented_defaults(case in route_case()) {
        check_system_routes(&case)?;
    }

    #[test]
    fn address_set_algebra_matches_bit_set(a in ranges_in_algebra_universe(), b in ranges_in_algebra_universe()) {
        check_algebra(&a, &b)?;
    }

    #[test]
    fn representatives_hit_every_piece(
        within in ranges_in_algebra_universe(),
        cut_sets in vec(ranges_in_algebra_universe(), 0..=3),
    ) {
        check_representatives(&within, &cut_sets)?;
    }
}
