//! The per-VM BackupPath facts: everything a rule may read, as the CEL variable `vm`.
//! A fact that could not be established is `None` and is left out of the CEL value, so a rule
//! that reads it cannot evaluate and becomes `unknown`; `VmFacts::unknown` says why.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize)]
pub struct VmFacts {
    pub id: String,
    pub name: String,
    pub subscription: String,
    pub resource_group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `windows` or `linux`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// The `PowerState/<x>` suffix: running, stopped, deallocated, starting, stopping, deallocating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_state: Option<String>,
    /// `Standard`, `TrustedLaunch` or `ConfidentialVM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision_vm_agent: Option<bool>,
    pub agent: AgentFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<ExtensionFacts>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_extension: Option<BackupExtensionFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<DiskFacts>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_disk_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locks: Option<LockFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_point_rg: Option<RestorePointRgFacts>,
    /// The Azure Policy assignments whose Deny would stop Backup creating the restore-point
    /// resource group or the VM's restore point collection; empty when none would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_denials: Option<Vec<PolicyDenialFact>>,
    /// Registration state by provider namespace, for the VM's subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub providers: Option<BTreeMap<String, String>>,
    pub protection: ProtectionFacts,
    pub encryption: EncryptionFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<JobFacts>,
    /// Workloads backed up from inside the VM (`SQL Server`, `SAP HANA`): they need outbound
    /// access that plain VM backup does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workloads: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkFacts>,
    /// Present in a readiness check only: how the proposed protection in `protection` was
    /// chosen. Its presence is what tells a readiness check's facts from a scan's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ReadinessFacts>,
    /// Why a fact is missing, by fact path (`vm.agent`, `vm.locks`, ...). Not visible to rules.
    #[serde(skip)]
    pub unknown: BTreeMap<String, String>,
    /// The protecting policy's custom restore-point resource group naming, for `locks`.
    #[serde(skip)]
    pub restore_point_rg_override: Option<crate::inventory::model::InstantRpDetails>,
}

impl VmFacts {
    pub fn mark_unknown(&mut self, path: &str, reason: impl Into<String>) {
        self.unknown
            .entry(path.to_string())
            .or_insert_with(|| reason.into());
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

#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentFacts {
    /// Whether the instance view has a `vmAgent` block with a status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported: Option<bool>,
    /// `displayStatus`: `Ready`, `Not Ready`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExtensionFacts {
    pub name: String,
    pub publisher: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The resource's `provisioningState` (`Succeeded`, `Failed`, `Deleting`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// From the instance view: `succeeded`, `failed`, `transitioning`, `warning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub is_backup: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupExtensionFacts {
    /// Whether VMSnapshot / VMSnapshotLinux is installed. Its absence is normal before the first
    /// backup and for agentless (MDCC) backups.
    pub present: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Status and substatus messages joined; guest-side evidence (VSS, fsfreeze) shows up here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiskFacts {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `os` or `data`.
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lun: Option<i64>,
    pub managed: bool,
    /// Whether the disk resource itself was in the snapshot (not just the VM's reference).
    pub resolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_gb: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_shares: Option<i64>,
    pub write_accelerator: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_access_auth_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_type: Option<String>,
    pub ade: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vhd_uri: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LockFact {
    pub id: String,
    pub name: String,
    /// `CanNotDelete` or `ReadOnly`.
    pub level: String,
    pub scope: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LockFacts {
    pub subscription: Vec<LockFact>,
    /// Locks on the VM's own resource group.
    pub resource_group: Vec<LockFact>,
    /// Locks on the VM resource itself.
    pub vm: Vec<LockFact>,
    /// Locks on any resource group that holds (or will hold) the VM's restore points; absent
    /// when that resource group's name is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_point_rg: Option<Vec<LockFact>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyDenialFact {
    /// The assignment's display name (or name).
    pub assignment: String,
    pub assignment_id: String,
    /// The display name of the definition that denies (a set's member, for an initiative).
    pub definition: String,
    pub definition_id: String,
    /// The member's reference id inside an initiative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// Where the assignment is made (management group, subscription or resource group).
    pub scope: String,
    /// What Backup would be denied creating: its type and name.
    pub resource_type: String,
    pub resource: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RestorePointRgFacts {
    /// e.g. `AzureBackupRG_westeurope_{n}` or `<prefix>{n}<suffix>`.
    pub pattern: String,
    pub custom: bool,
    /// The existing resource groups that match the pattern.
    pub existing: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadinessFacts {
    /// The vault was named (`--vault`) rather than taken from the VM's region and subscription.
    pub vault_given: bool,
    /// Names of the Recovery Services vaults in the VM's region and subscription; absent when
    /// the vaults could not be read or the VM's region is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vaults_in_region: Option<Vec<String>>,
    /// The policy asked for: `standard`, `enhanced` or a policy name.
    pub policy: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProtectionFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_subscription: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// `Standard` or `Enhanced` (policyType V2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_backup_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_exclusion: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EncryptionFacts {
    /// Azure Disk Encryption on any disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ade: Option<bool>,
    /// Server-side encryption with customer-managed keys (disk encryption set) on any disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmk: Option<bool>,
    /// Key vaults holding the VM's ADE secrets/keys or its disk encryption sets' keys.
    pub key_vaults: Vec<KeyVaultFacts>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyVaultFacts {
    pub id: String,
    pub name: String,
    /// `ade` (BitLocker/dm-crypt secrets and KEKs) or `cmk` (disk encryption set key).
    pub role: String,
    /// Whether a key encryption key is in use (ADE BEK+KEK).
    pub kek: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rbac: Option<bool>,
    /// Whether the Backup Management Service can read what backup needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_access: Option<bool>,
    /// e.g. `keys/backup`, `secrets/get`, or a data action in RBAC mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_permissions: Option<Vec<String>>,
    /// Only the secrets `backup` right is missing in the BEK+KEK case, which the documentation
    /// leaves ambiguous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only_secret_backup_missing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_delete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall_default_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall_bypass: Option<String>,
    /// Whether every referenced key (KEK) / secret (BEK) exists and is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_usable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unusable_items: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct JobFacts {
    pub window_days: i64,
    pub failed: Vec<FailedJobFacts>,
    /// Canonical codes of the failed jobs in the window, each once.
    pub codes: Vec<String>,
    /// The causes those codes belong to, each once.
    pub causes: Vec<String>,
    pub in_progress: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FailedJobFacts {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    pub operation: String,
    /// Canonical codes recognised in the job's error details (may be empty).
    pub codes: Vec<String>,
    /// Raw error text for the report.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NetworkFacts {
    pub nic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    pub subnet: String,
    pub vnet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nic_nsg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_nsg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_table: Option<String>,
    /// The VNet resolves names with its own DNS servers, not Azure DNS.
    pub custom_dns: bool,
    /// `VM → NIC → subnet → NSGs / route table`, for the report.
    pub chain: String,
    pub requirements: Vec<NetworkRequirement>,
    pub private_dns: Vec<DnsCheck>,
}

/// One destination the VM's backup needs, and whether the network lets traffic reach it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetworkRequirement {
    /// The service tag, regional where the document has the VM's region (`Storage.westeurope`).
    pub destination: String,
    pub port: i64,
    pub protocol: String,
    /// Why backup needs it, and which documentation says so.
    pub required_by: String,
    /// `error` where current documentation requires the path, `warning` where only older
    /// documentation or the troubleshooting guide does.
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nsg_allowed: Option<bool>,
    /// The deciding rules, e.g. `NIC NSG nsg-x rule deny-443 (priority 100, Deny)`.
    pub nsg_evidence: Vec<String>,
    /// Ids of the NSGs whose rules deny the path.
    pub blocking_nsgs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_drops: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_via_appliance: Option<bool>,
    /// The routes traffic to the destination takes.
    pub routes: Vec<String>,
    /// Those of them with next hop None.
    pub drop_routes: Vec<String>,
    /// Those of them to a virtual appliance or gateway.
    pub appliance_routes: Vec<String>,
}

/// Name resolution of one private endpoint the VM's backup path uses.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsCheck {
    pub fqdn: String,
    pub zone: String,
    /// The zone that answers (or would) for the VM's VNet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    pub private_endpoint: String,
    pub private_endpoint_id: String,
    pub ip: String,
    pub required_by: String,
    pub severity: String,
    pub zone_exists: bool,
    /// The zone is linked to the VM's virtual network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked: Option<bool>,
    /// The zone holds an A record for the name with the endpoint's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_ok: Option<bool>,
    /// Whether the name resolves to the private endpoint from the VM's network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolves: Option<bool>,
    pub problem: String,
}
