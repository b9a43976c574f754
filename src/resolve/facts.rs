//! The per-VM BackupPath facts: everything a rule may read, as the CEL variable `vm`. Each
//! field's doc comment is the fact's doc in the schema (`backup-doctor rules facts`).
//! A fact that could not be established is `None` and is left out of the CEL value, so a rule
//! that reads it cannot evaluate and becomes `unknown`; `VmFacts::unknown` says why.

use super::fact_path::FactPath;
use super::fact_schema::{describe, fact_structs, Fact};
use std::collections::BTreeMap;

fact_structs! {
    /// The VM being evaluated.
    pub struct VmFacts {
        /// ARM id of the VM.
        id: String,
        /// VM name.
        name: String,
        /// Subscription id.
        subscription: String,
        /// Resource group name.
        resource_group: String,
        /// Azure region, e.g. `westeurope`.
        location: Option<String>,
        /// `windows` or `linux` (from the OS disk's osType).
        os: Option<String>,
        /// VM size, e.g. `Standard_D4s_v5`.
        size: Option<String>,
        /// `publisher:offer:sku` of the marketplace image, when known.
        image: Option<String>,
        /// The VM's `provisioningState` (`Succeeded`, `Failed`, `Updating`, ...).
        provisioning_state: Option<String>,
        /// Instance view `PowerState/<x>` suffix: `running`, `stopped`, `deallocated`,
        /// `starting`, `stopping`, `deallocating`.
        power_state: Option<String>,
        /// `Standard`, `TrustedLaunch` or `ConfidentialVM`.
        security_type: Option<String>,
        /// `osProfile.*Configuration.provisionVMAgent`.
        provision_vm_agent: Option<bool>,
        /// The VM agent as the instance view reports it.
        agent: AgentFacts,
        /// Every extension of the VM (resources merged with instance view).
        extensions: Option<Vec<ExtensionFacts>>,
        /// The backup extension (VMSnapshot / VMSnapshotLinux).
        backup_extension: Option<BackupExtensionFacts>,
        /// OS disk then data disks.
        disks: Option<Vec<DiskFacts>>,
        /// Number of data disks.
        data_disk_count: Option<i64>,
        /// Locks that apply, by where they sit.
        locks: Option<LockFacts>,
        /// Where the VM's restore point collections go.
        restore_point_rg: Option<RestorePointRgFacts>,
        /// Azure Policy assignments whose enforced, unexempted Deny would stop Backup creating
        /// the restore-point resource group or the VM's restore point collection; empty when
        /// none would.
        policy_denials: Option<Vec<PolicyDenialFact>>,
        /// Registration state by provider namespace, e.g.
        /// `vm.providers['Microsoft.RecoveryServices']`.
        #[each = "`Registered`, `NotRegistered`, `Registering`, `Unregistering`."]
        providers: Option<BTreeMap<String, String>>,
        /// Azure Backup protection of the VM; in a readiness check, the proposed one (vault,
        /// policy type and name, no disk exclusion).
        protection: ProtectionFacts,
        // Its presence is what tells a readiness check's facts from a scan's.
        /// Readiness checks only: how the proposed protection in `vm.protection` was chosen
        /// (rules reading it need `applies_to = "readiness"`).
        readiness: Option<ReadinessFacts>,
        /// Disk encryption.
        encryption: EncryptionFacts,
        /// Backup jobs of the window.
        jobs: Option<JobFacts>,
        // These workloads need outbound access that plain VM backup does not.
        /// Workloads backed up from inside the VM: `SQL Server`, `SAP HANA` (protected items
        /// or workload extension).
        #[each = "A workload."]
        workloads: Option<Vec<String>>,
        /// The VM's network path: primary NIC, subnet, NSGs, route table.
        network: Option<NetworkFacts>,
        /// Why a fact is missing, by fact path (`vm.agent`, `vm.locks`, ...). Not visible to
        /// rules.
        #[serde(skip)]
        unknown: BTreeMap<FactPath, String>,
        /// Why one element's fact is missing, by its path with the element's index
        /// (`vm.network.requirements[2].nsg_allowed`): the list's other elements stay known.
        #[serde(skip)]
        unknown_elements: BTreeMap<String, String>,
        /// Recovery-point age and forecast figures for the report. Not visible to rules.
        #[serde(skip)]
        recovery: Option<crate::outcome::Recovery>,
        /// The protecting policy's custom restore-point resource group naming, for `locks`.
        #[serde(skip)]
        restore_point_rg_override: Option<crate::inventory::model::InstantRpDetails>,
    }

    /// The VM agent as the instance view reports it.
    pub struct AgentFacts {
        /// Whether the instance view has an agent status at all.
        reported: Option<bool>,
        /// Agent `displayStatus`: `Ready`, `Not Ready`.
        status: Option<String>,
        /// Agent status code, e.g. `ProvisioningState/Unavailable`.
        status_code: Option<String>,
        /// `vmAgentVersion` (may be `Unknown`).
        version: Option<String>,
        /// Agent status message.
        message: Option<String>,
    }

    /// One extension.
    pub struct ExtensionFacts {
        /// Extension name.
        name: String,
        /// Publisher, e.g. `Microsoft.Azure.RecoveryServices`.
        publisher: String,
        /// Extension type, e.g. `VMSnapshot`.
        #[serde(rename = "type")]
        kind: String,
        /// Resource `provisioningState`.
        provisioning_state: Option<String>,
        /// Instance view status: `succeeded`, `failed`, `transitioning`, `warning`; `not
        /// reported` on a stopped or deallocated VM.
        status: Option<String>,
        /// Instance view status and substatus messages.
        message: Option<String>,
        /// Whether this is the backup extension.
        is_backup: bool,
    }

    /// The backup extension (VMSnapshot / VMSnapshotLinux).
    pub struct BackupExtensionFacts {
        // Absent for agentless (MDCC) backups too.
        /// Installed. Absent is normal before the first backup.
        present: bool,
        /// Its name.
        name: Option<String>,
        /// Resource `provisioningState`.
        provisioning_state: Option<String>,
        /// `succeeded`, `failed`, `transitioning`, `warning`; `not reported` on a stopped or
        /// deallocated VM.
        status: Option<String>,
        /// Status and substatus messages (guest evidence: VSS, fsfreeze).
        message: Option<String>,
    }

    /// One disk.
    pub struct DiskFacts {
        /// Disk name.
        name: String,
        /// Managed disk id.
        id: Option<String>,
        /// `os` or `data`.
        role: String,
        /// LUN of a data disk.
        lun: Option<i64>,
        /// Managed disk (false: unmanaged VHD).
        managed: bool,
        /// Whether the disk resource was in the snapshot.
        resolved: bool,
        /// `Premium_LRS`, `UltraSSD_LRS`, `PremiumV2_LRS`, ...; absent for an unmanaged (VHD)
        /// disk, which has no disk SKU (Azure retired unmanaged disks on 2025-09-30).
        sku: Option<String>,
        /// `diskSizeGB`.
        size_gb: Option<i64>,
        /// `maxShares` (1 when not shared).
        max_shares: Option<i64>,
        /// Write Accelerator enabled.
        write_accelerator: bool,
        /// Disk `securityProfile.securityType`.
        security_type: Option<String>,
        /// `None` or `AzureActiveDirectory`.
        data_access_auth_mode: Option<String>,
        /// Server-side encryption type.
        encryption_type: Option<String>,
        /// Azure Disk Encryption enabled on the disk.
        ade: bool,
        /// VHD URI of an unmanaged disk.
        vhd_uri: Option<String>,
    }

    /// A lock.
    pub struct LockFact {
        /// Lock id.
        id: String,
        /// Lock name.
        name: String,
        /// `CanNotDelete` or `ReadOnly`.
        level: String,
        /// Scope the lock sits at.
        scope: String,
    }

    /// Locks that apply, by where they sit.
    pub struct LockFacts {
        /// Locks on the subscription (they cascade to every resource group).
        subscription: Vec<LockFact>,
        /// Locks on the VM's resource group.
        resource_group: Vec<LockFact>,
        /// Locks on the VM resource.
        vm: Vec<LockFact>,
        // Absent when the restore-point resource group's name is unknown.
        /// Locks on the restore-point resource group(s).
        restore_point_rg: Option<Vec<LockFact>>,
    }

    /// One denying assignment (an initiative's member, for a set).
    pub struct PolicyDenialFact {
        /// The assignment's display name.
        assignment: String,
        /// The assignment's id.
        assignment_id: String,
        /// The denying definition's display name.
        definition: String,
        /// The denying definition's id.
        definition_id: String,
        /// The member's reference id inside an initiative.
        reference_id: Option<String>,
        /// Where the assignment is made: management group, subscription or resource group.
        scope: String,
        /// What Backup would be denied: `Microsoft.Resources/subscriptions/resourceGroups` or
        /// `Microsoft.Compute/restorePointCollections`.
        resource_type: String,
        /// The name Backup would create it with.
        resource: String,
    }

    /// Where the VM's restore point collections go.
    pub struct RestorePointRgFacts {
        /// `AzureBackupRG_<location>_{n}` or the policy's `<prefix>{n}<suffix>`.
        pattern: String,
        /// Whether the policy sets a custom name.
        custom: bool,
        /// Existing resource groups matching the pattern.
        #[each = "A resource group name."]
        existing: Vec<String>,
    }

    /// How the proposed protection of a readiness check was chosen.
    pub struct ReadinessFacts {
        /// The vault was named with `--vault` rather than taken from the VM's region and
        /// subscription.
        vault_given: bool,
        // Absent when the vaults could not be read or the VM's region is unknown.
        /// Names of the Recovery Services vaults in the VM's region and subscription.
        #[each = "A vault name."]
        vaults_in_region: Option<Vec<String>>,
        /// The policy asked for: `standard`, `enhanced` or a policy name.
        policy: String,
    }

    /// Azure Backup protection of the VM.
    pub struct ProtectionFacts {
        /// Whether a vault protects the VM.
        protected: Option<bool>,
        /// Protected item id.
        item_id: Option<String>,
        /// Recovery Services vault id.
        vault_id: Option<String>,
        /// Vault name.
        vault_name: Option<String>,
        /// Vault region.
        vault_location: Option<String>,
        /// Vault subscription id.
        vault_subscription: Option<String>,
        /// Backup policy name.
        policy_name: Option<String>,
        /// `Standard` or `Enhanced`.
        policy_type: Option<String>,
        /// `Protected`, `ProtectionStopped`, `ProtectionPaused`, `ProtectionError`,
        /// `IRPending`, `BackupsSuspended`.
        protection_state: Option<String>,
        /// `Passed`, `ActionRequired`, `ActionSuggested`, `Invalid`.
        health_status: Option<String>,
        /// `Completed`, `Failed`, ...
        last_backup_status: Option<String>,
        /// Selective disk backup configured.
        disk_exclusion: Option<bool>,
        /// Whole hours since the last recovery point was taken, at the scan's reference time.
        recovery_point_age_hours: Option<i64>,
        /// The age of recovery point the policy promises, in whole hours (rounded up): the
        /// longest gap between two scheduled runs plus the 2 hours a backup may start late.
        promised_age_hours: Option<i64>,
        /// The last recovery point is older than the policy promises (docs/recovery-points.md);
        /// unknown when the item has no recovery point or its policy cannot be read.
        recovery_point_overdue: Option<bool>,
    }

    /// Disk encryption.
    pub struct EncryptionFacts {
        /// Azure Disk Encryption on any disk.
        ade: Option<bool>,
        /// SSE with customer-managed keys on any disk.
        cmk: Option<bool>,
        /// Key vaults the disks depend on.
        key_vaults: Vec<KeyVaultFacts>,
    }

    /// One key vault.
    pub struct KeyVaultFacts {
        /// Key vault id.
        id: String,
        /// Key vault name.
        name: String,
        /// `ade` or `cmk`.
        role: String,
        /// ADE uses a key encryption key in this vault.
        kek: bool,
        /// Region.
        location: Option<String>,
        /// RBAC authorization mode.
        rbac: Option<bool>,
        /// The Backup Management Service can read what backup needs.
        backup_access: Option<bool>,
        /// Missing rights (`keys/backup`, data actions, ...).
        #[each = "A missing right."]
        missing_permissions: Option<Vec<String>>,
        // The documentation leaves that one right ambiguous.
        /// Only the ambiguous secrets `backup` right is missing (BEK+KEK).
        only_secret_backup_missing: Option<bool>,
        /// Soft delete enabled.
        soft_delete: Option<bool>,
        /// Purge protection enabled.
        purge_protection: Option<bool>,
        /// `networkAcls.defaultAction` (`Allow` when absent).
        firewall_default_action: Option<String>,
        /// `networkAcls.bypass`.
        firewall_bypass: Option<String>,
        /// Every referenced key / secret exists, is enabled and not expired.
        keys_usable: Option<bool>,
        /// The ones that are not.
        #[each = "e.g. `keys/ade-kek (disabled)`."]
        unusable_items: Option<Vec<String>>,
    }

    /// Backup jobs of the window.
    pub struct JobFacts {
        /// Window length in days.
        window_days: i64,
        /// Failed jobs, newest first.
        failed: Vec<FailedJobFacts>,
        /// Canonical codes of all failed jobs in the window, each once.
        #[each = "A code."]
        codes: Vec<String>,
        /// Pipeline layers of those codes.
        #[each = "A cause id."]
        causes: Vec<String>,
        /// A job is running now.
        in_progress: bool,
    }

    /// A failed job.
    pub struct FailedJobFacts {
        /// Job id.
        id: String,
        /// Start time.
        start_time: Option<String>,
        /// `Backup`, ...
        operation: String,
        /// Canonical documented codes found in the job's errors.
        #[each = "A code."]
        codes: Vec<String>,
        /// Raw error texts.
        #[each = "An error text."]
        errors: Vec<String>,
    }

    /// The VM's network path: primary NIC, subnet, NSGs, route table.
    pub struct NetworkFacts {
        /// Primary NIC id.
        nic: String,
        /// Its primary private IPv4 address.
        private_ip: Option<String>,
        /// Subnet id.
        subnet: String,
        /// Virtual network id.
        vnet: String,
        /// NSG on the NIC.
        nic_nsg: Option<String>,
        /// NSG on the subnet.
        subnet_nsg: Option<String>,
        /// Route table on the subnet.
        route_table: Option<String>,
        /// The VNet uses custom DNS servers.
        custom_dns: bool,
        /// VM → NIC → subnet → NSGs / route table, for messages.
        chain: String,
        /// Destinations backup needs, with the NSG and route verdicts.
        requirements: Vec<NetworkRequirement>,
        /// Private endpoint names of the vault the backup path uses.
        private_dns: Vec<DnsCheck>,
    }

    /// One destination.
    pub struct NetworkRequirement {
        /// Service tag, regional where known (`Storage.westeurope`).
        destination: String,
        /// Destination port (443).
        port: i64,
        /// `TCP`.
        protocol: String,
        /// Why backup needs it and which documentation says so.
        required_by: String,
        /// `error` (current docs require it) or `warning` (older docs / the guide).
        severity: String,
        /// Effective outbound NSG verdict (NIC then subnet) allows every address.
        nsg_allowed: Option<bool>,
        /// The deciding rules.
        #[each = "A rule, e.g. `NIC NSG x rule y (priority 100, Deny)`."]
        nsg_evidence: Vec<String>,
        /// Some address is routed to next hop None.
        route_drops: Option<bool>,
        /// Some address is routed to a virtual appliance or gateway.
        route_via_appliance: Option<bool>,
        /// The routes taken.
        #[each = "A route."]
        routes: Vec<String>,
        /// The routes taken with next hop None.
        #[each = "A route."]
        drop_routes: Vec<String>,
        /// The routes taken to a virtual appliance or gateway.
        #[each = "A route."]
        appliance_routes: Vec<String>,
        /// Ids of the NSGs that deny the path.
        #[each = "An NSG id."]
        blocking_nsgs: Vec<String>,
    }

    /// One name.
    pub struct DnsCheck {
        /// The endpoint's name.
        fqdn: String,
        /// The privatelink zone it must resolve in.
        zone: String,
        /// The zone resource that answers for the VM's VNet (or the first of that name).
        zone_id: Option<String>,
        /// Private endpoint id.
        private_endpoint_id: String,
        /// Private endpoint name.
        private_endpoint: String,
        /// The endpoint's address.
        ip: String,
        /// Why.
        required_by: String,
        /// `error` for workload backup, `warning` for file recovery.
        severity: String,
        /// The zone exists.
        zone_exists: bool,
        /// The zone is linked to the VM's VNet.
        linked: Option<bool>,
        /// An A record holds the endpoint's address.
        record_ok: Option<bool>,
        /// The name resolves to the endpoint from the VM's VNet.
        resolves: Option<bool>,
        /// What is wrong, in words.
        problem: String,
    }
}

impl VmFacts {
    /// Every fact a rule may read, under the CEL variable `vm`.
    pub fn schema() -> Vec<Fact> {
        describe::<VmFacts>("vm")
    }

    /// Records why `path` could not be established; the first reason given stays.
    pub fn mark_unknown(&mut self, path: FactPath, reason: impl Into<String>) {
        self.unknown.entry(path).or_insert_with(|| reason.into());
    }

    /// Passes `value` through, recording `reason` under `path` when it is absent.
    pub fn or_unknown<T>(&mut self, value: Option<T>, path: FactPath, reason: &str) -> Option<T> {
        if value.is_none() {
            self.mark_unknown(path, reason);
        }
        value
    }

    /// Records why `path` (`vm.list[].field`) could not be established for the element at
    /// `index` of the list alone; the first reason given stays.
    pub fn mark_element_unknown(
        &mut self,
        path: FactPath,
        index: usize,
        reason: impl Into<String>,
    ) {
        let at = path.as_str().replacen("[]", &format!("[{index}]"), 1);
        self.unknown_elements
            .entry(at)
            .or_insert_with(|| reason.into());
    }

    /// Every unknown fact with its reason: whole facts, then single elements' facts.
    pub fn unknown_paths(&self) -> impl Iterator<Item = (&str, &str)> {
        self.unknown
            .iter()
            .map(|(path, reason)| (path.as_str(), reason.as_str()))
            .chain(
                self.unknown_elements
                    .iter()
                    .map(|(path, reason)| (path.as_str(), reason.as_str())),
            )
    }

    pub fn is_unknown(&self, path: FactPath) -> bool {
        self.unknown.contains_key(&path)
    }

    /// The recorded reason for `path` or the nearest enclosing fact.
    pub fn unknown_reason(&self, path: &str) -> Option<(&str, &str)> {
        let mut candidate = path;
        loop {
            if let Some((fact, reason)) = self.unknown.get_key_value(candidate) {
                return Some((fact.as_str(), reason.as_str()));
            }
            candidate = &candidate[..candidate.rfind('.')?];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::fact_schema::tests::{schema_paths, serialised_paths};
    use crate::resolve::fact_schema::FactShape;

    #[test]
    fn the_schema_lists_exactly_the_paths_the_facts_serialise_to() {
        let sample = serde_json::to_value(VmFacts::sample()).unwrap();
        assert_eq!(
            serialised_paths(&sample, "vm"),
            schema_paths(&VmFacts::schema())
        );
    }

    #[test]
    fn every_fact_has_a_doc() {
        let undocumented: Vec<_> = VmFacts::schema()
            .into_iter()
            .filter(|fact| fact.doc.is_empty())
            .map(|fact| fact.path)
            .collect();
        assert_eq!(undocumented, Vec::<String>::new());
    }
}
