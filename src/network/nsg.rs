//! Effective outbound NSG evaluation (docs/network.md): per NSG, rules in
//! priority order, first match wins; for outbound traffic the NIC's NSG is evaluated first, then
//! the subnet's; both must allow, a missing NSG allows. A destination is a set of addresses (a
//! service tag), so the rules are evaluated at one address per piece of the set that no rule
//! boundary splits, and at one source port per piece of the ephemeral range: exact, not sampled.

use super::ip::{representatives, AddressSet};
use super::tags::{AddressContext, Resolved};
use crate::inventory::key;
use crate::inventory::model::{NetworkSecurityGroup, SecurityRule};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Esp,
    Ah,
    Any,
}

impl Protocol {
    fn parse(text: &str) -> Option<Protocol> {
        Some(match text.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "icmp" => Protocol::Icmp,
            "esp" => Protocol::Esp,
            "ah" => Protocol::Ah,
            "*" | "any" => Protocol::Any,
            _ => return None,
        })
    }
}

/// Source ports of outbound connections: the ephemeral range of both Windows and Linux guests.
pub const EPHEMERAL_PORTS: (u16, u16) = (1024, 65535);

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub priority: u32,
    pub access: Access,
    pub protocol: Protocol,
    pub sources: Vec<Resolved>,
    pub destinations: Vec<Resolved>,
    pub source_ports: Vec<(u16, u16)>,
    pub destination_ports: Vec<(u16, u16)>,
    /// Lower-cased ASG ids; a rule with source ASGs applies only to member NICs.
    pub source_asgs: Vec<String>,
    pub destination_asgs: Vec<String>,
    pub default: bool,
    /// A field that could not be parsed makes the rule undecidable.
    pub invalid: Option<String>,
}

/// An NSG's outbound rules, custom and default, in priority order.
#[derive(Debug, Clone)]
pub struct Nsg {
    pub id: String,
    pub name: String,
    pub outbound: Vec<Rule>,
}

/// The six documented defaults, outbound half, for NSGs exported without `defaultSecurityRules`.
fn default_outbound(ctx: &AddressContext) -> Vec<Rule> {
    let rule = |name: &str, priority, access, destination: &str, source: &str| Rule {
        name: name.into(),
        priority,
        access,
        protocol: Protocol::Any,
        sources: vec![ctx.resolve(source)],
        destinations: vec![ctx.resolve(destination)],
        source_ports: vec![(0, 65535)],
        destination_ports: vec![(0, 65535)],
        source_asgs: Vec::new(),
        destination_asgs: Vec::new(),
        default: true,
        invalid: None,
    };
    vec![
        rule(
            "AllowVnetOutBound",
            65000,
            Access::Allow,
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        rule(
            "AllowInternetOutBound",
            65001,
            Access::Allow,
            "Internet",
            "*",
        ),
        rule("DenyAllOutBound", 65500, Access::Deny, "*", "*"),
    ]
}

pub fn parse(nsg: &NetworkSecurityGroup, ctx: &AddressContext) -> Nsg {
    let outbound_of = |rules: &[SecurityRule], default: bool| -> Vec<Rule> {
        rules
            .iter()
            .filter_map(|rule| {
                let name = rule.name.as_deref().unwrap_or("(unnamed)");
                parse_rule(name, &rule.properties, default, ctx)
            })
            .collect()
    };
    let custom = nsg.properties.security_rules.as_deref().unwrap_or_default();
    let mut outbound = outbound_of(custom, false);
    match &nsg.properties.default_security_rules {
        Some(defaults) if !defaults.is_empty() => outbound.extend(outbound_of(defaults, true)),
        _ => outbound.extend(default_outbound(ctx)),
    }
    outbound.sort_by_key(|r| r.priority);
    Nsg {
        id: nsg.id.clone(),
        name: nsg
            .name
            .clone()
            .unwrap_or_else(|| nsg.id.rsplit('/').next().unwrap_or_default().to_string()),
        outbound,
    }
}

/// Parses one rule's `properties`; inbound rules give `None`.
pub fn parse_rule(name: &str, props: &Value, default: bool, ctx: &AddressContext) -> Option<Rule> {
    let text = |field: &str| props.get(field).and_then(Value::as_str);
    let direction = text("direction").unwrap_or("Outbound");
    if direction.eq_ignore_ascii_case("Inbound") {
        return None;
    }
    let mut invalid = None;
    let mut note = |problem: String| {
        invalid.get_or_insert(problem);
    };
    // Neither direction (a plan's value known only after apply): it may be outbound.
    if !direction.eq_ignore_ascii_case("Outbound") {
        note(format!(
            "direction {direction:?} is neither Inbound nor Outbound"
        ));
    }
    let access = match text("access") {
        Some(a) if a.eq_ignore_ascii_case("Allow") => Access::Allow,
        Some(a) if a.eq_ignore_ascii_case("Deny") => Access::Deny,
        other => {
            note(format!("access {other:?} is neither Allow nor Deny"));
            Access::Deny
        }
    };
    let protocol = text("protocol")
        .map(Protocol::parse)
        .unwrap_or(Some(Protocol::Any))
        .unwrap_or_else(|| {
            note(format!(
                "protocol {:?} is not one NSGs accept",
                text("protocol")
            ));
            Protocol::Any
        });
    let priority = props
        .get("priority")
        .and_then(Value::as_u64)
        .map(|p| p as u32)
        .unwrap_or_else(|| {
            note("it has no priority".into());
            // Where it sits is unknown: first, so that if it can match the flow the verdict is
            // unknown, rather than last, where the rules before it would decide unchallenged.
            0
        });
    let strings = |single: &str, plural: &str| -> Vec<String> {
        let mut out: Vec<String> = text(single)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .into_iter()
            .collect();
        out.extend(
            props
                .get(plural)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from),
        );
        out
    };
    let ports = |single: &str, plural: &str, note: &mut dyn FnMut(String)| -> Vec<(u16, u16)> {
        let specs = strings(single, plural);
        if specs.is_empty() {
            return vec![(0, 65535)];
        }
        specs
            .iter()
            .filter_map(|spec| {
                // A range that does not parse may cover any port: the rule stays in reach of
                // every flow, and `invalid` makes its match unknown.
                parse_ports(spec).or_else(|| {
                    note(format!("port range {spec:?} does not parse"));
                    Some((0, 65535))
                })
            })
            .collect()
    };
    let asgs = |field: &str| -> Vec<String> {
        props
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("id").and_then(Value::as_str))
            .map(key)
            .collect()
    };
    let source_ports = ports("sourcePortRange", "sourcePortRanges", &mut note);
    let destination_ports = ports("destinationPortRange", "destinationPortRanges", &mut note);
    // An ASG that is no ARM id (a plan's id known only after apply) may hold any NIC: the rule
    // is kept in reach of every address, and `invalid` makes its match unknown.
    let mut checked = |field: &str| -> Vec<String> {
        let ids = asgs(field);
        match ids.iter().find(|id| !id.starts_with("/subscriptions/")) {
            Some(bad) => {
                note(format!("{field} holds {bad:?}, which is no resource id"));
                Vec::new()
            }
            None => ids,
        }
    };
    let source_asgs = checked("sourceApplicationSecurityGroups");
    let destination_asgs = checked("destinationApplicationSecurityGroups");
    let resolve_all = |specs: Vec<String>, asgs: &[String]| -> Vec<Resolved> {
        if specs.is_empty() && asgs.is_empty() {
            vec![Resolved::Set(AddressSet::all())]
        } else {
            specs.iter().map(|s| ctx.resolve(s)).collect()
        }
    };
    Some(Rule {
        name: name.to_string(),
        priority,
        access,
        protocol,
        sources: resolve_all(
            strings("sourceAddressPrefix", "sourceAddressPrefixes"),
            &source_asgs,
        ),
        destinations: resolve_all(
            strings("destinationAddressPrefix", "destinationAddressPrefixes"),
            &destination_asgs,
        ),
        source_ports,
        destination_ports,
        source_asgs,
        destination_asgs,
        default,
        invalid,
    })
}

/// `*`, `443`, `1000-2000`.
pub fn parse_ports(spec: &str) -> Option<(u16, u16)> {
    let spec = spec.trim();
    if spec == "*" {
        return Some((0, 65535));
    }
    match spec.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
            (lo <= hi).then_some((lo, hi))
        }
        None => spec.parse().ok().map(|p| (p, p)),
    }
}

/// One connection.
#[derive(Debug, Clone)]
pub struct Flow<'a> {
    pub src_ip: u32,
    pub src_port: u16,
    pub dst_ip: u32,
    pub dst_port: u16,
    pub protocol: Protocol,
    /// Lower-cased ids of the ASGs the source NIC configuration belongs to.
    pub src_asgs: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Yes,
    No,
    Unknown(String),
}

fn address_match(specs: &[Resolved], ip: u32) -> Match {
    let mut unknown = None;
    for spec in specs {
        match spec {
            Resolved::Set(set) if set.contains(ip) => return Match::Yes,
            Resolved::Set(_) => {}
            Resolved::Unknown(reason) => unknown = Some(reason.clone()),
        }
    }
    unknown.map(Match::Unknown).unwrap_or(Match::No)
}

pub fn rule_matches(rule: &Rule, flow: &Flow) -> Match {
    let in_ranges =
        |ranges: &[(u16, u16)], port: u16| ranges.iter().any(|(lo, hi)| *lo <= port && port <= *hi);
    if rule.protocol != Protocol::Any && rule.protocol != flow.protocol {
        return Match::No;
    }
    if !in_ranges(&rule.destination_ports, flow.dst_port)
        || !in_ranges(&rule.source_ports, flow.src_port)
    {
        return Match::No;
    }
    let source = if rule.source_asgs.is_empty() {
        address_match(&rule.sources, flow.src_ip)
    } else if rule.source_asgs.iter().any(|a| flow.src_asgs.contains(a)) {
        Match::Yes
    } else {
        Match::No
    };
    // Destination ASGs hold NICs of the virtual network, never the public service addresses
    // backup needs, so such a rule cannot match those flows.
    let destination = if rule.destination_asgs.is_empty() {
        address_match(&rule.destinations, flow.dst_ip)
    } else {
        Match::No
    };
    let verdict = match (source, destination) {
        (Match::No, _) | (_, Match::No) => Match::No,
        (Match::Unknown(r), _) | (_, Match::Unknown(r)) => Match::Unknown(r),
        (Match::Yes, Match::Yes) => Match::Yes,
    };
    match (&verdict, &rule.invalid) {
        (Match::No, _) => Match::No,
        (_, Some(problem)) => {
            Match::Unknown(format!("rule {} cannot be evaluated: {problem}", rule.name))
        }
        _ => verdict,
    }
}

/// First match in one NSG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Decided { access: Access, rule: usize },
    Unknown(String),
}

pub fn first_match(nsg: &Nsg, flow: &Flow) -> Outcome {
    for (index, rule) in nsg.outbound.iter().enumerate() {
        match rule_matches(rule, flow) {
            Match::No => continue,
            Match::Yes => {
                return Outcome::Decided {
                    access: rule.access,
                    rule: index,
                }
            }
            Match::Unknown(reason) => return Outcome::Unknown(reason),
        }
    }
    // Unreachable with the default DenyAllOutBound in place; kept total for hand-made NSGs.
    Outcome::Decided {
        access: Access::Deny,
        rule: usize::MAX,
    }
}

/// A rule that decided a flow, for the report's evidence chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    pub level: &'static str,
    pub nsg_id: String,
    pub nsg_name: String,
    pub rule: String,
    pub priority: u32,
    pub allow: bool,
}

impl Decider {
    pub fn describe(&self) -> String {
        format!(
            "{} NSG {} rule {} (priority {}, {})",
            self.level,
            self.nsg_name,
            self.rule,
            self.priority,
            if self.allow { "Allow" } else { "Deny" }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every address of the destination is allowed; the rules that allowed the first one.
    Allowed(Vec<Decider>),
    /// Some addresses are denied: the rules that deny, and how many of the pieces.
    Blocked {
        by: Vec<Decider>,
        blocked_pieces: usize,
        pieces: usize,
    },
    Unknown(String),
}

fn decider(level: &'static str, nsg: &Nsg, rule: usize) -> Decider {
    match nsg.outbound.get(rule) {
        Some(r) => Decider {
            level,
            nsg_id: nsg.id.clone(),
            nsg_name: nsg.name.clone(),
            rule: r.name.clone(),
            priority: r.priority,
            allow: r.access == Access::Allow,
        },
        None => Decider {
            level,
            nsg_id: nsg.id.clone(),
            nsg_name: nsg.name.clone(),
            rule: "(no rule matched)".into(),
            priority: u32::MAX,
            allow: false,
        },
    }
}

/// Outbound verdict for traffic from `src_ip`, from any port in `source_ports` (normally
/// [`EPHEMERAL_PORTS`]), to every address of `destination` on `port`.
/// `levels` are (name, NSG) in evaluation order: NIC first, then subnet.
pub fn evaluate_outbound(
    levels: &[(&'static str, Option<&Nsg>)],
    src_ip: u32,
    src_asgs: &[String],
    destination: &AddressSet,
    port: u16,
    protocol: Protocol,
    source_ports: (u16, u16),
) -> Verdict {
    if destination.is_empty() {
        return Verdict::Unknown("the destination has no IPv4 addresses".into());
    }
    let mut address_cuts = Vec::new();
    let mut port_cuts: Vec<u64> = Vec::new();
    for (_, nsg) in levels {
        for rule in nsg.iter().flat_map(|n| &n.outbound) {
            for spec in &rule.destinations {
                if let Resolved::Set(set) = spec {
                    set.boundaries(&mut address_cuts);
                }
            }
            for (lo, hi) in &rule.source_ports {
                port_cuts.push(u64::from(*lo));
                port_cuts.push(u64::from(*hi) + 1);
            }
        }
    }
    let addresses = representatives(destination, &mut address_cuts);
    let ephemeral = AddressSet::from_ranges(vec![super::ip::Range {
        lo: u32::from(source_ports.0),
        hi: u32::from(source_ports.1),
    }]);
    let ports: Vec<u16> = representatives(&ephemeral, &mut port_cuts)
        .into_iter()
        .map(|p| p as u16)
        .collect();

    let mut blockers: Vec<Decider> = Vec::new();
    let mut blocked_pieces = 0;
    let mut unknown = None;
    let mut allowed_by = None;
    for &dst_ip in &addresses {
        for &src_port in &ports {
            let flow = Flow {
                src_ip,
                src_port,
                dst_ip,
                dst_port: port,
                protocol,
                src_asgs,
            };
            let mut deciders = Vec::new();
            let mut denied = None;
            let mut undecided = None;
            for (level, nsg) in levels {
                let Some(nsg) = nsg else { continue };
                match first_match(nsg, &flow) {
                    Outcome::Decided {
                        access: Access::Allow,
                        rule,
                    } => deciders.push(decider(level, nsg, rule)),
                    Outcome::Decided {
                        access: Access::Deny,
                        rule,
                    } => {
                        denied = Some(decider(level, nsg, rule));
                        break;
                    }
                    Outcome::Unknown(reason) => undecided = undecided.or(Some(reason)),
                }
            }
            match (denied, undecided) {
                (Some(by), _) => {
                    blocked_pieces += 1;
                    if !blockers.contains(&by) {
                        blockers.push(by);
                    }
                }
                (None, Some(reason)) => unknown = unknown.or(Some(reason)),
                (None, None) => {
                    allowed_by.get_or_insert(deciders);
                }
            }
        }
    }
    let pieces = addresses.len() * ports.len();
    if !blockers.is_empty() {
        Verdict::Blocked {
            by: blockers,
            blocked_pieces,
            pieces,
        }
    } else if let Some(reason) = unknown {
        Verdict::Unknown(reason)
    } else {
        Verdict::Allowed(allowed_by.unwrap_or_default())
    }
}
