//! The backup faults planted in the fleet: the job errors each makes, and how often the per-VM
//! draw picks each.

use super::catalogue::{
    JobError, AGENT_UNAVAILABLE, EXTENSION_FAILED, FSFREEZE_FAILED, KEYVAULT_PERMISSIONS,
    LOCATION_MISMATCH, NOT_DESIRABLE, RP_LIMIT, SHARED_DISK, UNSUPPORTED_DISK, VSS_BAD_STATE,
};
use std::ops::RangeInclusive;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    AgentNotReady,
    AgentOutdated,
    BackupExtensionFailed,
    VssJobFailure,
    FsfreezeJobFailure,
    UltraDiskStandardPolicy,
    SharedDisk,
    RestorePointRgLock,
    TransitionalPowerState,
    AdeWithoutBackupAccess,
    VaultRegionMismatch,
    ProtectionStopped,
    StoppedVm,
}

pub(super) const ALL_FAULTS: [Fault; 13] = [
    Fault::AgentNotReady,
    Fault::AgentOutdated,
    Fault::BackupExtensionFailed,
    Fault::VssJobFailure,
    Fault::FsfreezeJobFailure,
    Fault::UltraDiskStandardPolicy,
    Fault::SharedDisk,
    Fault::RestorePointRgLock,
    Fault::TransitionalPowerState,
    Fault::AdeWithoutBackupAccess,
    Fault::VaultRegionMismatch,
    Fault::ProtectionStopped,
    Fault::StoppedVm,
];

impl Fault {
    pub(super) fn key(self) -> &'static str {
        match self {
            Fault::AgentNotReady => "agent_not_ready",
            Fault::AgentOutdated => "agent_outdated",
            Fault::BackupExtensionFailed => "backup_extension_failed",
            Fault::VssJobFailure => "vss_job_failure",
            Fault::FsfreezeJobFailure => "fsfreeze_job_failure",
            Fault::UltraDiskStandardPolicy => "ultra_disk_standard_policy",
            Fault::SharedDisk => "shared_disk",
            Fault::RestorePointRgLock => "restore_point_rg_lock",
            Fault::TransitionalPowerState => "transitional_power_state",
            Fault::AdeWithoutBackupAccess => "ade_without_backup_access",
            Fault::VaultRegionMismatch => "vault_region_mismatch",
            Fault::ProtectionStopped => "protection_stopped",
            Fault::StoppedVm => "stopped_vm",
        }
    }

    /// Faults that only exist on a protected VM (they live in the vault, the backup extension or
    /// the job history).
    pub(super) fn needs_protection(self) -> bool {
        matches!(
            self,
            Fault::BackupExtensionFailed
                | Fault::VssJobFailure
                | Fault::FsfreezeJobFailure
                | Fault::UltraDiskStandardPolicy
                | Fault::RestorePointRgLock
                | Fault::VaultRegionMismatch
                | Fault::ProtectionStopped
        )
    }

    /// Faults whose VM is protected with the Standard policy, because Enhanced would avoid them.
    pub(super) fn needs_standard_policy(self) -> bool {
        matches!(self, Fault::UltraDiskStandardPolicy | Fault::SharedDisk)
    }

    /// The error the fault makes jobs fail with, and how many of the most recent jobs fail.
    pub(super) fn job_failure(self) -> Option<(&'static JobError, RangeInclusive<usize>)> {
        // Capped at the job count when planned.
        let all = usize::MAX..=usize::MAX;
        Some(match self {
            Fault::AgentNotReady => (&AGENT_UNAVAILABLE, 2..=4),
            Fault::BackupExtensionFailed => (&EXTENSION_FAILED, 2..=5),
            Fault::VssJobFailure => (&VSS_BAD_STATE, 1..=3),
            Fault::FsfreezeJobFailure => (&FSFREEZE_FAILED, 1..=3),
            Fault::UltraDiskStandardPolicy => (&UNSUPPORTED_DISK, 3..=5),
            Fault::SharedDisk => (&SHARED_DISK, all),
            Fault::RestorePointRgLock => (&RP_LIMIT, 2..=4),
            Fault::TransitionalPowerState => (&NOT_DESIRABLE, 1..=1),
            Fault::AdeWithoutBackupAccess => (&KEYVAULT_PERMISSIONS, 2..=5),
            Fault::VaultRegionMismatch => (&LOCATION_MISMATCH, all),
            Fault::AgentOutdated | Fault::ProtectionStopped | Fault::StoppedVm => return None,
        })
    }
}

/// One outcome of the per-VM draw, weighted per mille.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pick {
    Healthy,
    HealthyAde,
    /// VSS on Windows, fsfreeze on Linux.
    GuestConsistency,
    Fault(Fault),
}

/// `restore_point_rg_lock` is not drawn: it follows from the region a VM lands in (`plan_vm`).
pub(super) const PICKS: [(Pick, u32); 13] = [
    (Pick::Healthy, 700),
    (Pick::HealthyAde, 30),
    (Pick::GuestConsistency, 35),
    (Pick::Fault(Fault::AgentNotReady), 35),
    (Pick::Fault(Fault::AgentOutdated), 30),
    (Pick::Fault(Fault::BackupExtensionFailed), 25),
    (Pick::Fault(Fault::UltraDiskStandardPolicy), 15),
    (Pick::Fault(Fault::SharedDisk), 15),
    (Pick::Fault(Fault::TransitionalPowerState), 15),
    (Pick::Fault(Fault::AdeWithoutBackupAccess), 25),
    (Pick::Fault(Fault::VaultRegionMismatch), 15),
    (Pick::Fault(Fault::ProtectionStopped), 25),
    (Pick::Fault(Fault::StoppedVm), 35),
];
