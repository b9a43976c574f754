//! Microsoft.RecoveryServices: Recovery Services vaults, and each vault's protected items, backup
//! policies and the backup jobs of the run's window.

use super::{Parent, Read, Subscription};
use crate::inventory::types::RECOVERY_VAULTS;
use crate::inventory::Kind;

sdk_client!(recovery_services: azure_mgmt_recoveryservices::package_2024_04::Client);
sdk_client!(backup: azure_mgmt_recoveryservicesbackup::package_2024_04::Client);

/// The api-version of the backup item, policy and job reads (the SDK crate's default package).
const BACKUP_API: &str = "2024-04-01";

// Policies and jobs are read without the SDK's models: the policy model cannot read
// `scheduleRunTimes` (date-times in an array lose their RFC 3339 format in the generated code)
// and the job model takes `errorCode` as an integer only, while docs/snapshots.md accepts the
// symbolic codes too.
reads! {
    RecoveryVault: list |sub|
        recovery_services(sub).vaults_client().list_by_subscription_id(sub.id);
    ProtectedItem: child |sub, vault| backup(sub)
        .backup_protected_items_client()
        .list(&vault.name, &vault.group, sub.id);
    BackupPolicy: raw_child |sub, vault| sub.raw_list(
        format!("{}/backupPolicies", vault_path(sub, vault)),
        BACKUP_API,
        None,
    );
    BackupJob: raw_child |sub, vault| sub.raw_list(
        format!("{}/backupJobs", vault_path(sub, vault)),
        BACKUP_API,
        Some(sub.jobs_filter.clone()),
    );
}

/// The vault's path as the scan's subscription list and the vault's id spell its parts.
fn vault_path(sub: &Subscription, vault: &Parent) -> String {
    let (s, rg, name) = (sub.id, &vault.group, &vault.name);
    format!("/subscriptions/{s}/resourceGroups/{rg}/providers/{RECOVERY_VAULTS}/{name}")
}
