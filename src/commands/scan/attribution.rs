//! Why now: which of Resource Graph's change records can explain each failing finding
//! (docs/change-attribution.md). A change explains a finding when it is to a resource the
//! finding names and falls inside the window (after the previous scan, or `--changes-since`):
//! a change from before the previous scan was already there when that scan passed. Among those,
//! a change touching a property backup-doctor reads for the finding's layer comes first, then
//! the latest.

use crate::inventory::model::ResourceChange;
use crate::inventory::types::*;
use crate::inventory::{key, Inventory};
use crate::outcome::{
    AttributedFinding, Attribution, ExplainingChange, Finding, PropertyDelta, Report, Status,
};
use std::collections::{BTreeSet, HashMap};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Resource Graph keeps about 14 days of changes: the window without a previous scan.
pub const DEFAULT_DAYS: i64 = 14;

/// The window changes are looked for in, and where its start came from.
#[derive(Debug, Clone)]
pub struct Window {
    pub since: OffsetDateTime,
    pub until: OffsetDateTime,
    pub since_from: &'static str,
}

impl Window {
    pub fn contains(&self, time: OffsetDateTime) -> bool {
        time > self.since && time <= self.until
    }
}

/// The property paths backup-doctor reads of each resource type, as prefixes of Resource
/// Graph's change paths. A create or a delete touches every one of them.
const READ_PROPERTIES: &[(&str, &[&str])] = &[
    (
        NETWORK_SECURITY_GROUPS,
        &[
            "properties.securityRules",
            "properties.defaultSecurityRules",
        ],
    ),
    (
        ROUTE_TABLES,
        &["properties.routes", "properties.disableBgpRoutePropagation"],
    ),
    (ROUTES, &["properties."]),
    (
        SUBNETS,
        &[
            "properties.networkSecurityGroup",
            "properties.routeTable",
            "properties.addressPrefix",
        ],
    ),
    (
        VIRTUAL_NETWORKS,
        &["properties.subnets", "properties.dhcpOptions"],
    ),
    (
        NETWORK_INTERFACES,
        &[
            "properties.networkSecurityGroup",
            "properties.ipConfigurations",
            "properties.dnsSettings",
        ],
    ),
    (
        KEY_VAULTS,
        &[
            "properties.networkAcls",
            "properties.accessPolicies",
            "properties.enableRbacAuthorization",
            "properties.publicNetworkAccess",
        ],
    ),
    (LOCKS, &["properties.level"]),
    (
        POLICY_ASSIGNMENTS,
        &[
            "properties.enforcementMode",
            "properties.parameters",
            "properties.notScopes",
            "properties.policyDefinitionId",
        ],
    ),
    (
        DISKS,
        &[
            "properties.encryption",
            "properties.encryptionSettingsCollection",
            "properties.diskSizeGB",
            "properties.maxShares",
            "sku",
        ],
    ),
    (
        VIRTUAL_MACHINES,
        &[
            "properties.storageProfile",
            "properties.networkProfile",
            "properties.osProfile",
            "properties.securityProfile",
            "properties.provisioningState",
            "properties.extended.instanceView",
            "properties.instanceView",
            "location",
        ],
    ),
    (VM_EXTENSIONS, &["properties."]),
    (
        PRIVATE_DNS_A_RECORDS,
        &["properties.aRecords", "properties.ttl"],
    ),
    (
        RECOVERY_VAULTS,
        &[
            "properties.privateEndpointConnections",
            "properties.publicNetworkAccess",
        ],
    ),
    (
        PROTECTED_ITEMS,
        &["properties.protectionState", "properties.policyId"],
    ),
];

/// The layers whose failures start inside the guest, where Resource Graph sees nothing.
const GUEST_SIDE: &[&str] = &["agent", "extension", "vss", "fsfreeze"];

/// Which failing findings to attribute.
pub struct Scope<'a> {
    /// The `(vm id lower-cased, rule)` of the findings new since the previous scan; `None`
    /// when there was no previous scan to compare with (every failure is then new).
    pub new: Option<&'a BTreeSet<(String, String)>>,
    /// Every failing finding, not only the new ones (`--all-changes`).
    pub all: bool,
}

/// The attribution of `report`'s failing findings from `inventory`'s change records.
pub fn attribute(
    report: &Report,
    inventory: &Inventory,
    window: &Window,
    scope: Scope,
) -> Attribution {
    let incomplete_because: Vec<String> = inventory
        .gaps()
        .iter()
        .filter(|gap| gap.what.eq_ignore_ascii_case(RESOURCE_CHANGES))
        .map(|gap| format!("{}: {}", gap.scope, gap.reason))
        .collect();
    let mut by_target: HashMap<String, Vec<&ResourceChange>> = HashMap::new();
    for change in inventory.resource_changes.values() {
        by_target
            .entry(key(&change.properties.target_resource_id))
            .or_default()
            .push(change);
    }
    let mut findings = Vec::new();
    for vm in &report.vms {
        for finding in vm.findings.iter().filter(|f| f.status == Status::Fail) {
            let new = scope.new.is_none_or(|new| {
                new.contains(&(vm.id.to_ascii_lowercase(), finding.rule.clone()))
            });
            if !new && !scope.all {
                continue;
            }
            let changes = explaining(finding, &by_target, window);
            let unexplained = unexplained(finding, &changes, !incomplete_because.is_empty());
            findings.push(AttributedFinding {
                vm: vm.name.clone(),
                vm_id: vm.id.clone(),
                rule: finding.rule.clone(),
                cause: finding.cause.as_str().to_owned(),
                new,
                changes,
                unexplained,
            });
        }
    }
    Attribution {
        since: rfc3339(window.since),
        until: rfc3339(window.until),
        since_from: window.since_from.to_owned(),
        complete: incomplete_because.is_empty(),
        incomplete_because,
        findings,
    }
}

/// The ids whose changes can explain the failing findings `scope` selects: what a live scan
/// asks Resource Graph about.
pub fn named_resources(report: &Report, scope: &Scope) -> Vec<String> {
    let mut ids = BTreeSet::new();
    for vm in &report.vms {
        for finding in vm.findings.iter().filter(|f| f.status == Status::Fail) {
            let new = scope.new.is_none_or(|new| {
                new.contains(&(vm.id.to_ascii_lowercase(), finding.rule.clone()))
            });
            if new || scope.all {
                ids.extend(named(finding, &vm.id).into_iter().map(|id| key(&id)));
            }
        }
    }
    ids.into_iter().collect()
}

/// The resources a finding names; a rule that names none is about its VM.
fn named(finding: &Finding, vm_id: &str) -> Vec<String> {
    if finding.resources.is_empty() {
        vec![vm_id.to_owned()]
    } else {
        finding.resources.clone()
    }
}

fn explaining(
    finding: &Finding,
    by_target: &HashMap<String, Vec<&ResourceChange>>,
    window: &Window,
) -> Vec<ExplainingChange> {
    let mut seen = BTreeSet::new();
    let mut ranked: Vec<(bool, OffsetDateTime, ExplainingChange)> = Vec::new();
    for resource in &finding.resources {
        if !seen.insert(key(resource)) {
            continue;
        }
        for change in by_target.get(&key(resource)).into_iter().flatten() {
            let attributes = &change.properties.change_attributes;
            let Ok(time) = OffsetDateTime::parse(&attributes.timestamp, &Rfc3339) else {
                continue;
            };
            if !window.contains(time) {
                continue;
            }
            let reads = touches_read_property(change);
            ranked.push((reads, time, explaining_change(change)));
        }
    }
    // A change touching what the rule reads first, then the latest.
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    ranked.into_iter().map(|(_, _, change)| change).collect()
}

fn explaining_change(change: &ResourceChange) -> ExplainingChange {
    let properties = &change.properties;
    let attributes = &properties.change_attributes;
    ExplainingChange {
        time: attributes.timestamp.clone(),
        resource: properties.target_resource_id.clone(),
        resource_name: properties
            .target_resource_id
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        change_type: properties.change_type.clone(),
        changed_by: attributes.changed_by.clone(),
        client_type: attributes.client_type.clone(),
        operation: attributes.operation.clone(),
        properties: properties
            .changes
            .iter()
            .map(|(path, delta)| PropertyDelta {
                path: path.clone(),
                previous: delta.previous_value.clone(),
                new: delta.new_value.clone(),
            })
            .collect(),
        touches_read_property: touches_read_property(change),
    }
}

/// Whether `change` touches a property backup-doctor reads of its resource's type.
fn touches_read_property(change: &ResourceChange) -> bool {
    let properties = &change.properties;
    if !properties.change_type.eq_ignore_ascii_case("update") {
        return true;
    }
    let type_ = type_of(properties);
    let Some((_, prefixes)) = READ_PROPERTIES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&type_))
    else {
        return false;
    };
    properties.changes.keys().any(|path| {
        prefixes.iter().any(|prefix| {
            path.to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase())
        })
    })
}

/// The changed resource's type: Resource Graph's `targetResourceType`, else read off the id
/// (`…/providers/Microsoft.Network/networkSecurityGroups/name` → the provider and its types).
fn type_of(properties: &crate::inventory::model::ResourceChangeProperties) -> String {
    if let Some(type_) = &properties.target_resource_type {
        return type_.clone();
    }
    let id = &properties.target_resource_id;
    let lower = id.to_ascii_lowercase();
    let Some(at) = lower.rfind("/providers/") else {
        return String::new();
    };
    let segments: Vec<&str> = id[at + "/providers/".len()..].split('/').collect();
    let mut parts = vec![segments.first().copied().unwrap_or_default()];
    parts.extend(segments.iter().skip(1).step_by(2));
    parts.join("/")
}

/// Said plainly when nothing in the window explains the finding.
fn unexplained(
    finding: &Finding,
    changes: &[ExplainingChange],
    read_failed: bool,
) -> Option<String> {
    if changes.iter().any(|c| c.touches_read_property) {
        return None;
    }
    let cause = finding.cause.as_str();
    Some(if read_failed {
        "attribution incomplete: the change records could not all be read".to_owned()
    } else if !changes.is_empty() {
        "no change in the window touches what this rule reads (only other properties changed)"
            .to_owned()
    } else if cause == "agent" {
        "no Azure change to the resources it names in the window: a guest-side cause (the agent stopped reporting or fell behind inside the VM)".to_owned()
    } else if GUEST_SIDE.contains(&cause) {
        format!("no Azure change to the resources it names in the window: a guest-side cause (inside the VM, {cause} layer)")
    } else {
        "no Azure change to the resources it names in the window explains it".to_owned()
    })
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::CodeBook;
    use crate::engine::{Engine, RuleSet};
    use time::macros::datetime;

    fn demo() -> (Inventory, Report) {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let inventory =
            crate::source::snapshot::load_layers(&[root.join("fixtures/fleets/demo")]).unwrap();
        let report = crate::commands::scan::evaluate(
            &inventory,
            &Engine::new(RuleSet::load(&[]).unwrap()),
            &CodeBook::builtin().unwrap(),
            &Default::default(),
        );
        (inventory, report)
    }

    fn window(since: OffsetDateTime) -> Window {
        Window {
            since,
            until: datetime!(2026-11-24 06:00 UTC),
            since_from: "previous scan",
        }
    }

    fn of<'a>(attribution: &'a Attribution, vm: &str, rule: &str) -> &'a AttributedFinding {
        attribution
            .findings
            .iter()
            .find(|f| f.vm == vm && f.rule == rule)
            .unwrap_or_else(|| panic!("{vm} {rule} not attributed"))
    }

    #[test]
    fn the_change_touching_what_the_rule_reads_ranks_before_a_later_one() {
        let (inventory, report) = demo();
        let all = Scope {
            new: None,
            all: true,
        };
        let a = attribute(
            &report,
            &inventory,
            &window(datetime!(2026-11-10 06:00 UTC)),
            all,
        );
        let nsg = of(&a, "vm-sql-02", "network/nsg-blocks-required-path");
        // The tag change of 22 Nov is later, but the rule added on 20 Nov is what the rule reads.
        assert_eq!(nsg.changes.len(), 2);
        assert_eq!(nsg.changes[0].time, "2026-11-20T14:02:11.000Z");
        assert!(nsg.changes[0].touches_read_property);
        assert!(!nsg.changes[1].touches_read_property);
        assert_eq!(nsg.unexplained, None);
        assert!(nsg.changes[0]
            .sentence()
            .contains("by alice@contoso.com via Terraform"));
        let lock = of(&a, "vm-batch-01", "snapshot/restore-point-rg-locked");
        assert_eq!(lock.changes[0].change_type, "Create");
        let kv = of(&a, "vm-enc-03", "encryption/key-vault-firewall");
        assert!(kv.changes[0]
            .sentence()
            .contains("defaultAction: Allow → Deny"));
        // The agent stopped reporting: nothing in Azure changed.
        let agent = of(&a, "vm-app-02", "agent/not-ready");
        assert!(agent.changes.is_empty());
        assert!(agent
            .unexplained
            .as_deref()
            .unwrap()
            .contains("guest-side cause"));
    }

    #[test]
    fn a_change_before_the_previous_scan_does_not_explain_a_new_failure() {
        let (inventory, report) = demo();
        let all = || Scope {
            new: None,
            all: true,
        };
        // The access policy removed on 2 Nov is outside the default 14-day window.
        let a = attribute(
            &report,
            &inventory,
            &window(datetime!(2026-11-10 06:00 UTC)),
            all(),
        );
        assert!(of(&a, "vm-enc-01", "encryption/ade-backup-access")
            .changes
            .is_empty());
        let wide = attribute(
            &report,
            &inventory,
            &window(datetime!(2026-11-01 00:00 UTC)),
            all(),
        );
        assert_eq!(
            of(&wide, "vm-enc-01", "encryption/ade-backup-access")
                .changes
                .len(),
            1
        );
        // A previous scan after the NSG rule was added: the rule was already there.
        let later = attribute(
            &report,
            &inventory,
            &window(datetime!(2026-11-21 00:00 UTC)),
            all(),
        );
        let nsg = of(&later, "vm-sql-02", "network/nsg-blocks-required-path");
        assert!(nsg.changes.iter().all(|c| !c.touches_read_property));
        assert!(nsg.unexplained.is_some());
    }

    #[test]
    fn only_new_failures_are_attributed_unless_all_are_asked_for() {
        let (inventory, report) = demo();
        let new: BTreeSet<(String, String)> = report
            .vms
            .iter()
            .filter(|vm| vm.name == "vm-sql-02")
            .map(|vm| {
                (
                    vm.id.to_ascii_lowercase(),
                    "network/nsg-blocks-required-path".to_owned(),
                )
            })
            .collect();
        let w = window(datetime!(2026-11-10 06:00 UTC));
        let a = attribute(
            &report,
            &inventory,
            &w,
            Scope {
                new: Some(&new),
                all: false,
            },
        );
        assert_eq!(a.findings.len(), 1);
        let named = named_resources(
            &report,
            &Scope {
                new: Some(&new),
                all: false,
            },
        );
        assert!(named.iter().any(|id| id.ends_with("/vm-sql-02-nsg")));
        let every = attribute(
            &report,
            &inventory,
            &w,
            Scope {
                new: Some(&new),
                all: true,
            },
        );
        assert!(every.findings.len() > 1);
        assert_eq!(every.findings.iter().filter(|f| f.new).count(), 1);
    }
}
