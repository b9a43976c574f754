//! Generated NSGs: rule and NSG specs, the ARM JSON they become, the service tags document they
//! are read against, and the strategies that generate NSGs and flows.

use crate::addresses::{cidr_in_universe, set_in_universe, Cidr};
use backup_doctor::inventory::model::{NetworkSecurityGroup, ServiceTags};
use backup_doctor::network::ip::AddressSet;
use backup_doctor::network::nsg::Protocol;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{json, Value};

/// The flow's source NIC address; every generated VNet contains it.
pub(crate) const SRC_IP: &str = "10.0.0.4";
pub(crate) const ASGS: [&str; 2] = [
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Network/applicationSecurityGroups/asg-Web",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Network/applicationSecurityGroups/asg-Db",
];
/// Service tags inside the public block. `Storage` is not one CIDR, and its regional variant is a
/// strict part of it, so tag rules split destination sets in interesting places. The IPv6 prefix
/// must be ignored.
pub(crate) const STORAGE: [&str; 3] = ["20.38.0.0/28", "20.38.0.24/29", "2603:1000::/40"];
pub(crate) const STORAGE_WEST_EUROPE: [&str; 1] = ["20.38.0.0/29"];
/// A tag the document does not hold: a rule naming it cannot be evaluated.
const MISSING_TAG: &str = "AzureMonitor";

const RULE_SOURCE_PORTS: (u16, u16) = (996, 1035);
const FLOW_SOURCE_PORTS: (u16, u16) = (1000, 1031);
const DESTINATION_PORTS: (u16, u16) = (440, 447);

pub(crate) fn tags_document() -> ServiceTags {
    serde_json::from_value(json!({
        "cloud": "Public",
        "values": [
            { "name": "Storage", "properties": { "region": "", "addressPrefixes": STORAGE } },
            {
                "name": "Storage.WestEurope",
                "properties": { "region": "westeurope", "addressPrefixes": STORAGE_WEST_EUROPE }
            }
        ]
    }))
    .expect("service tags document deserialises")
}

#[derive(Debug, Clone)]
pub(crate) enum Destination {
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
pub(crate) enum SourceSpec {
    Any,
    VirtualNetwork,
    Cidr(Cidr),
    /// `sourceApplicationSecurityGroups` with the ASG of this index.
    Asg(usize),
}

#[derive(Debug, Clone)]
pub(crate) enum Ports {
    Any,
    Single(u16),
    Range(u16, u16),
    /// The plural `*PortRanges` array.
    List(Vec<(u16, u16)>),
}

#[derive(Debug, Clone)]
pub(crate) struct RuleSpec {
    pub(crate) name: String,
    pub(crate) priority: u32,
    pub(crate) allow: bool,
    /// `None` is `*`.
    pub(crate) protocol: Option<Protocol>,
    pub(crate) source: SourceSpec,
    pub(crate) destination: Destination,
    pub(crate) source_ports: Ports,
    pub(crate) destination_ports: Ports,
}

#[derive(Debug, Clone)]
pub(crate) struct NsgSpec {
    pub(crate) custom: Vec<RuleSpec>,
    /// Whether the export lists `defaultSecurityRules` (as ARM does) or leaves them out (as some
    /// exports do), in which case the parser must supply them.
    explicit_defaults: bool,
    /// An inbound deny-all custom rule, which outbound evaluation must skip.
    inbound_deny: bool,
}

/// The documented outbound defaults, as the reference applies them.
pub(crate) fn default_rules() -> Vec<RuleSpec> {
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
    pub(crate) fn to_arm(&self, direction: &str) -> Value {
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
    pub(crate) fn to_arm(&self, name: &str) -> NetworkSecurityGroup {
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
// ------------------------------------------------------------------------------- strategies

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
pub(crate) struct NsgCase {
    pub(crate) nic: Option<NsgSpec>,
    pub(crate) subnet: Option<NsgSpec>,
    pub(crate) vnet: Cidr,
    pub(crate) nic_asgs: Vec<usize>,
    pub(crate) destination: AddressSet,
    pub(crate) port: u16,
    pub(crate) protocol: Protocol,
    pub(crate) source_ports: (u16, u16),
}

pub(crate) fn nsg_case() -> impl Strategy<Value = NsgCase> {
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
