//! Facts derived from lists that were not read. A resolver that finds nothing cannot tell "there
//! is none" from "it was not read": the manifest's gaps tell. This table names, for each list a
//! fact is derived from, the facts a gap on that list leaves unknown, so no resolver has to
//! remember it. Resolvers still mark what they find missing by id (a referenced disk or vault
//! that is not in the snapshot); the table covers what a missing list hides without any id
//! pointing at it: extensions, protected items, private endpoints and DNS records.

use super::fact_path::{self, FactPath};
use super::facts::VmFacts;
use super::Index;
use crate::inventory::model::{Gap, VirtualMachine};
use crate::inventory::{id, types};

/// Where a list must have been read for the facts of a VM derived from it to stand.
#[derive(Debug, Clone, Copy)]
enum Reach {
    /// In the VM's subscription: ARM keeps a VM's extensions, disks and NICs there.
    Vm,
    /// Anywhere: a vault protecting the VM, its private endpoints and the DNS zones that answer
    /// for them may sit in any subscription.
    Anywhere,
}

struct Derived {
    lists: &'static [&'static str],
    reach: Reach,
    facts: &'static [FactPath],
    /// Whether the VM's facts depend on the list at all.
    applies: fn(&VmFacts) -> bool,
}

fn always(_: &VmFacts) -> bool {
    true
}

/// The names the VM's vault private endpoints must resolve through exist only when the VM has
/// a vault with private endpoints.
fn has_private_endpoints(facts: &VmFacts) -> bool {
    facts
        .network
        .as_ref()
        .is_some_and(|n| !n.private_dns.is_empty())
}

/// A VM with no protected item found may be protected by a vault whose items were not read.
fn no_item_found(facts: &VmFacts) -> bool {
    facts.protection.item_id.is_none()
}

const DERIVED: &[Derived] = &[
    // The extension list is the only source of extensions' provisioning states, and of the
    // extensions the agent does not report.
    Derived {
        lists: &[types::VM_EXTENSIONS],
        reach: Reach::Vm,
        facts: &[fact_path::EXTENSIONS, fact_path::BACKUP_EXTENSION],
        applies: always,
    },
    // Jobs reach a VM through its protected item (container or entity name in the item's
    // vault): with no item found, the VM's jobs were not looked at, not found empty.
    Derived {
        lists: &[types::PROTECTED_ITEMS],
        reach: Reach::Anywhere,
        facts: &[fact_path::PROTECTION_PROTECTED, fact_path::JOBS],
        applies: no_item_found,
    },
    // Workload items (SQL Server, SAP HANA databases) name the vaults whose private endpoints
    // the VM must resolve, and make those names required; the vaults list their endpoints.
    Derived {
        lists: &[
            types::PROTECTED_ITEMS,
            types::RECOVERY_VAULTS,
            types::PRIVATE_ENDPOINTS,
        ],
        reach: Reach::Anywhere,
        facts: &[fact_path::NETWORK_PRIVATE_DNS],
        applies: always,
    },
    Derived {
        lists: &[
            types::PRIVATE_DNS_ZONES,
            types::PRIVATE_DNS_LINKS,
            types::PRIVATE_DNS_A_RECORDS,
        ],
        reach: Reach::Anywhere,
        facts: &[fact_path::NETWORK_PRIVATE_DNS],
        applies: has_private_endpoints,
    },
];

/// Marks unknown every fact of `vm` derived from a list the manifest declares a gap.
pub fn apply(index: &Index, vm: &VirtualMachine, facts: &mut VmFacts) {
    let inventory = index.inventory;
    if inventory.gaps().is_empty() {
        return;
    }
    let subscription = id::subscription_id(&facts.subscription);
    for derived in DERIVED {
        let gap: Option<&Gap> = derived.lists.iter().find_map(|list| match derived.reach {
            Reach::Vm => inventory
                .gap_for(&vm.id, list)
                .or_else(|| inventory.gap_for(&subscription, list)),
            Reach::Anywhere => inventory
                .gaps()
                .iter()
                .find(|g| g.what.eq_ignore_ascii_case(list)),
        });
        let Some(gap) = gap else { continue };
        if !(derived.applies)(facts) {
            continue;
        }
        for fact in derived.facts {
            facts.mark_unknown(
                *fact,
                format!(
                    "{} could not be read at {}: {}",
                    gap.what, gap.scope, gap.reason
                ),
            );
        }
    }
}
