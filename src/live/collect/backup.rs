//! Microsoft.RecoveryServices: Recovery Services vaults, and each vault's protected items, backup
//! policies and the backup jobs of the run's window.

use super::Read;
use crate::inventory::Kind;

/// The api-version of the vault list and of the backup item, policy and job reads (Recovery
/// Services and Recovery Services Backup, packages 2024-04).
const BACKUP_API: &str = "2024-04-01";

// Backup jobs are read in the run's window only (`$filter`); `errorCode` is kept as ARM sent it,
// an integer or, in some exports, a symbolic code (docs/snapshots.md accepts both).
reads! {
    RecoveryVault: list |sub|
        sub.arm_list("providers/Microsoft.RecoveryServices/vaults", BACKUP_API);
    ProtectedItem: child |sub, vault|
        sub.arm_child_list(vault, "backupProtectedItems", BACKUP_API);
    BackupPolicy: child |sub, vault| sub.arm_child_list(vault, "backupPolicies", BACKUP_API);
    BackupJob: child |sub, vault| sub.raw_list(
        format!("{}/backupJobs", vault.path),
        BACKUP_API,
        Some(("$filter", sub.jobs_filter.clone())),
    );
}
