//! The facts a resolver can fail to establish, as typed paths: `VmFacts::mark_unknown` takes
//! only these, and a test checks that each names a fact of the schema derived from the structs,
//! so a renamed field cannot leave a resolver recording a reason under a path no rule reads.

use serde::Serialize;
use std::borrow::Borrow;

/// A fact path, `vm.…` as rules spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FactPath(&'static str);

impl FactPath {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// `VmFacts::unknown_reason` looks reasons up by the paths a rule reads.
impl Borrow<str> for FactPath {
    fn borrow(&self) -> &str {
        self.0
    }
}

macro_rules! fact_paths {
    ($($name:ident = $path:literal,)*) => {
        $(pub const $name: FactPath = FactPath($path);)*

        #[cfg(test)]
        const ALL: &[FactPath] = &[$($name),*];
    };
}

fact_paths! {
    OS = "vm.os",
    PROVISIONING_STATE = "vm.provisioning_state",
    POWER_STATE = "vm.power_state",
    PROVISION_VM_AGENT = "vm.provision_vm_agent",
    AGENT = "vm.agent",
    AGENT_STATUS = "vm.agent.status",
    AGENT_VERSION = "vm.agent.version",
    EXTENSIONS = "vm.extensions",
    EXTENSIONS_STATUS = "vm.extensions[].status",
    BACKUP_EXTENSION = "vm.backup_extension",
    BACKUP_EXTENSION_PROVISIONING_STATE = "vm.backup_extension.provisioning_state",
    BACKUP_EXTENSION_STATUS = "vm.backup_extension.status",
    DISKS = "vm.disks",
    DATA_DISK_COUNT = "vm.data_disk_count",
    LOCKS = "vm.locks",
    RESTORE_POINT_RG = "vm.restore_point_rg",
    POLICY_DENIALS = "vm.policy_denials",
    PROVIDERS = "vm.providers",
    PROTECTION_PROTECTED = "vm.protection.protected",
    PROTECTION_VAULT_ID = "vm.protection.vault_id",
    PROTECTION_VAULT_NAME = "vm.protection.vault_name",
    PROTECTION_VAULT_LOCATION = "vm.protection.vault_location",
    PROTECTION_VAULT_SUBSCRIPTION = "vm.protection.vault_subscription",
    PROTECTION_POLICY_TYPE = "vm.protection.policy_type",
    PROTECTION_STATE = "vm.protection.protection_state",
    PROTECTION_RECOVERY_POINT_AGE = "vm.protection.recovery_point_age_hours",
    PROTECTION_PROMISED_AGE = "vm.protection.promised_age_hours",
    PROTECTION_OVERDUE = "vm.protection.recovery_point_overdue",
    READINESS_VAULTS_IN_REGION = "vm.readiness.vaults_in_region",
    ENCRYPTION_ADE = "vm.encryption.ade",
    ENCRYPTION_CMK = "vm.encryption.cmk",
    ENCRYPTION_KEY_VAULTS = "vm.encryption.key_vaults",
    JOBS = "vm.jobs",
    NETWORK = "vm.network",
    REQUIREMENT_SEVERITY = "vm.network.requirements[].severity",
    REQUIREMENT_NSG_ALLOWED = "vm.network.requirements[].nsg_allowed",
    REQUIREMENT_ROUTE_DROPS = "vm.network.requirements[].route_drops",
    REQUIREMENT_ROUTE_VIA_APPLIANCE = "vm.network.requirements[].route_via_appliance",
    NETWORK_PRIVATE_DNS = "vm.network.private_dns",
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::fact_schema::{describe, fact_structs, Fact};
    use crate::resolve::facts::VmFacts;

    fn not_in_schema(paths: &[FactPath], schema: &[Fact]) -> Vec<FactPath> {
        paths
            .iter()
            .copied()
            .filter(|path| !schema.iter().any(|fact| fact.path == path.as_str()))
            .collect()
    }

    #[test]
    fn every_path_names_a_fact_of_the_schema() {
        assert_eq!(not_in_schema(ALL, &VmFacts::schema()), []);
    }

    #[test]
    fn a_path_to_a_renamed_field_is_caught() {
        fact_structs! {
            /// A struct whose field `status` was renamed.
            pub struct Renamed {
                /// The former `status`.
                state: Option<String>,
            }
        }
        let schema = describe::<Renamed>("vm");
        let stale = FactPath("vm.status");
        let current = FactPath("vm.state");
        assert_eq!(not_in_schema(&[stale, current], &schema), [stale]);
    }
}
