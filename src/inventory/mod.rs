//! The normalized, SDK-free model of everything read from Azure. Sources (snapshot files, later
//! the live collector and plan overlays) fill it; `resolve` reads it. Every map is keyed by
//! [`id::key`], so joins are case-insensitive.

pub mod id;
pub mod model;
pub mod types;

use model::*;
use std::collections::{BTreeMap, HashMap};

pub use id::{key, ArmId};

#[derive(Debug, Default)]
pub struct Inventory {
    pub manifest: Option<Manifest>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub resource_groups: HashMap<String, ResourceGroup>,
    /// Provider registrations, keyed by subscription key, then namespace key.
    pub providers: HashMap<String, HashMap<String, Provider>>,
    pub service_principals: Vec<ServicePrincipal>,
    /// Ordered by id so reports are stable.
    pub vms: BTreeMap<String, VirtualMachine>,
    /// Extension resources keyed by the key of the VM they belong to.
    pub extensions: HashMap<String, Vec<VmExtension>>,
    pub disks: HashMap<String, Disk>,
    pub disk_encryption_sets: HashMap<String, DiskEncryptionSet>,
    pub nics: HashMap<String, NetworkInterface>,
    pub vnets: HashMap<String, VirtualNetwork>,
    /// Subnets flattened out of their virtual networks, keyed by subnet id.
    pub subnets: HashMap<String, Subnet>,
    pub nsgs: HashMap<String, NetworkSecurityGroup>,
    pub route_tables: HashMap<String, RouteTable>,
    pub private_endpoints: HashMap<String, PrivateEndpoint>,
    pub private_dns_zones: HashMap<String, GenericResource>,
    pub private_dns_links: HashMap<String, GenericResource>,
    pub private_dns_a_records: HashMap<String, GenericResource>,
    pub service_tags: Option<ServiceTags>,
    pub locks: HashMap<String, Lock>,
    pub policy_assignments: HashMap<String, PolicyAssignment>,
    pub policy_definitions: HashMap<String, PolicyDefinition>,
    pub policy_set_definitions: HashMap<String, PolicySetDefinition>,
    pub policy_exemptions: HashMap<String, PolicyExemption>,
    /// Restore point collection ids keyed by the key of the VM they hold points of.
    pub restore_point_collections: HashMap<String, Vec<String>>,
    pub role_assignments: HashMap<String, RoleAssignment>,
    pub role_definitions: HashMap<String, RoleDefinition>,
    pub key_vaults: HashMap<String, KeyVault>,
    pub key_vault_keys: HashMap<String, VaultItem>,
    pub key_vault_secrets: HashMap<String, VaultItem>,
    pub recovery_vaults: HashMap<String, RecoveryVault>,
    pub backup_policies: HashMap<String, BackupPolicy>,
    pub protected_items: HashMap<String, ProtectedItem>,
    pub backup_jobs: HashMap<String, BackupJob>,
    /// Non-fatal observations made while reading (duplicate ids and the like).
    pub warnings: Vec<String>,
}

impl Inventory {
    /// The gaps the source recorded: what could not be read, by scope and resource type.
    pub fn gaps(&self) -> &[Gap] {
        self.manifest
            .as_ref()
            .map(|m| m.gaps.as_slice())
            .unwrap_or(&[])
    }

    /// The gap, if any, that hides resources of `what` (an ARM type) for `scope` or anything
    /// above it.
    pub fn gap_for(&self, scope: &str, what: &str) -> Option<&Gap> {
        self.gaps().iter().find(|gap| {
            gap.what.eq_ignore_ascii_case(what)
                && (id::is_within(scope, &gap.scope) || id::is_within(&gap.scope, scope))
        })
    }

    pub fn vm_count(&self) -> usize {
        self.vms.len()
    }
}
