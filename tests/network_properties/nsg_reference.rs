//! The NSG reference: every flow of a generated case evaluated one by one with the documented
//! 5-tuple, priority and level semantics, and the check that the crate's verdict agrees.

use crate::addresses::{addresses_of, ip, Cidr, PUBLIC_BLOCK};
use crate::nsg::{
    default_rules, tags_document, Destination, NsgCase, NsgSpec, Ports, RuleSpec, SourceSpec, ASGS,
    SRC_IP, STORAGE, STORAGE_WEST_EUROPE,
};
use backup_doctor::inventory::key;
use backup_doctor::network::ip::AddressSet;
use backup_doctor::network::nsg::{self, evaluate_outbound, Decider, Protocol, Verdict};
use backup_doctor::network::tags::{AddressContext, TagIndex};
use proptest::prelude::*;
use std::collections::BTreeSet;

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

pub(crate) fn check_nsg_case(case: &NsgCase) -> Result<(), TestCaseError> {
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
