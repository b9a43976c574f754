//! Deterministic synthetic fleet generator.
//!
//! Writes a snapshot directory in the layout `collect` produces (one ARM list response per
//! subscription and resource type, plus tenant-wide documents) describing a fleet of VMs in which
//! about 30% carry a planted backup fault. The benchmark scans it, load tests feed it to the
//! scanner, and the [`FleetStats::faults`] counts are the ground truth a scan is compared with.
//!
//! Every value derives from [`FleetSpec::seed`] through ChaCha streams, and every timestamp is an
//! offset from the fixed snapshot time, so the same spec always yields byte-identical files. Each
//! subscription has its own seed and each resource builder its own stream of that seed, which
//! lets subscriptions be generated in parallel and builders run in any order without changing a
//! byte of output.
//!
//! Shapes follow what ARM returns (see `shared/reference/arm-and-network.md` §1.2–1.11),
//! including two casing quirks a scanner must tolerate: backup job ids start with
//! `/Subscriptions/`, and about a quarter of the VMs reference their disks and NIC with an
//! upper-cased resource group, as Compute does for VMs deployed from some templates.

use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::ops::RangeInclusive;
use std::panic;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// What to generate.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    pub subscriptions: usize,
    pub vms_per_subscription: usize,
    pub seed: u64,
    /// Backup jobs per protected VM, spread evenly over the 7 days before the snapshot time.
    pub jobs_per_vm: usize,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            subscriptions: 2,
            vms_per_subscription: 50,
            seed: 42,
            jobs_per_vm: 7,
        }
    }
}

/// What was generated: the ground truth a scan of the output is compared with.
#[derive(Debug, Clone, Default)]
pub struct FleetStats {
    pub vms: usize,
    pub files: usize,
    pub bytes: u64,
    /// VMs per planted fault kind (every kind present, zero included); each VM carries at most
    /// one, so `vms - sum` are healthy.
    pub faults: BTreeMap<&'static str, usize>,
}

/// Generates the fleet described by `spec` into `out` (created if missing; files of the same
/// name are overwritten, others are left alone).
pub fn generate(out: &Path, spec: &FleetSpec) -> io::Result<FleetStats> {
    fs::create_dir_all(out)?;
    let tenant = TenantPlan::new(spec);
    let reports = run_parallel(spec.subscriptions, |i| {
        generate_subscription(out, spec, &tenant, i)
    })?;

    // Every kind is listed, zero included, so consumers can index any key on any fleet size.
    let mut stats = FleetStats {
        faults: ALL_FAULTS.iter().map(|f| (f.key(), 0)).collect(),
        ..FleetStats::default()
    };
    let mut regions = BTreeSet::new();
    let mut files = Files::default();
    for report in reports {
        stats.vms += report.vms;
        files.absorb(&report.files);
        for (key, n) in report.faults {
            *stats.faults.entry(key).or_default() += n;
        }
        regions.extend(report.regions);
    }
    write_tenant(out, &tenant, &regions, &mut files)?;
    stats.files = files.count;
    stats.bytes = files.bytes;
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------
// Time: all timestamps are offsets from the snapshot time, never the wall clock.

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const SNAPSHOT_CREATED: &str = "2026-11-24T06:00:00Z";
const SNAPSHOT_UNIX: i64 = days_from_civil(2026, 11, 24) * DAY + 6 * HOUR;
/// Scheduled backups start this long before the snapshot time (23:00 UTC the evening before).
const SCHEDULE_LEAD: i64 = 7 * HOUR;
const JOB_WINDOW: i64 = 7 * DAY;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A point in time with the 100 ns precision ARM prints.
#[derive(Debug, Clone, Copy)]
struct Ts {
    secs: i64,
    ticks: u32,
}

impl Ts {
    fn before_snapshot(secs: i64) -> Ts {
        Ts {
            secs: SNAPSHOT_UNIX - secs,
            ticks: 0,
        }
    }

    /// Adds a random sub-second part, as real service timestamps have.
    fn jitter(self, rng: &mut impl Rng) -> Ts {
        Ts {
            ticks: rng.gen_range(0..10_000_000),
            ..self
        }
    }

    fn plus_ms(self, ms: u64) -> Ts {
        let ticks = u64::from(self.ticks) + (ms % 1_000) * 10_000;
        let secs = self.secs + (ms / 1_000) as i64 + (ticks / 10_000_000) as i64;
        Ts {
            secs,
            ticks: (ticks % 10_000_000) as u32,
        }
    }

    fn unix(self) -> i64 {
        self.secs
    }

    fn civil(self) -> String {
        let (y, mo, d) = civil_from_days(self.secs.div_euclid(DAY));
        let s = self.secs.rem_euclid(DAY);
        format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
            s / HOUR,
            s % HOUR / MINUTE,
            s % MINUTE
        )
    }

    /// `2026-11-23T23:04:05Z`
    fn zulu(self) -> String {
        format!("{}Z", self.civil())
    }

    /// `2026-11-23T23:04:05.1234567Z` (Recovery Services style)
    fn zulu7(self) -> String {
        format!("{}.{:07}Z", self.civil(), self.ticks)
    }

    /// `2026-11-23T23:04:05.1234567+00:00` (Compute style)
    fn offset7(self) -> String {
        format!("{}.{:07}+00:00", self.civil(), self.ticks)
    }
}

/// ISO 8601 duration as the Backup service prints it, e.g. `PT12M3.2S`.
fn iso_duration(ms: u64) -> String {
    let (h, m, s, frac) = (
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000,
    );
    let mut out = String::from("PT");
    if h > 0 {
        out += &format!("{h}H");
    }
    if m > 0 {
        out += &format!("{m}M");
    }
    let frac = format!("{frac:03}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        out += &format!("{s}S");
    } else {
        out += &format!("{s}.{frac}S");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Randomness: one ChaCha stream per purpose, so builders never depend on each other's draws.

mod stream {
    pub const TENANT: u64 = 0;
    pub const PLAN: u64 = 1;
    pub const PRINCIPALS: u64 = 2;
    pub const NETWORK: u64 = 3;
    pub const VAULTS: u64 = 4;
    pub const KEYS: u64 = 5;
    pub const ROLES: u64 = 6;
    pub const VM: u64 = 10;
    pub const DISKS: u64 = 11;
    pub const NIC: u64 = 12;
    pub const EXTENSIONS: u64 = 13;
    pub const ITEM: u64 = 14;
    pub const JOBS: u64 = 15;
    pub const ADE: u64 = 16;
    pub const ADE_SECRET: u64 = 17;
    pub const VM_PLAN: u64 = 20;
    pub const NSG: u64 = 21;
    pub const ROUTES: u64 = 22;
    /// First of the per-key-vault streams that fix each KEK's version.
    pub const KEK_VERSIONS: u64 = 64;
}

fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A random (version 4) GUID.
fn guid(rng: &mut impl Rng) -> String {
    let b: u128 = rng.gen();
    let b = (b & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        b >> 96,
        (b >> 80) & 0xFFFF,
        (b >> 64) & 0xFFFF,
        (b >> 48) & 0xFFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// A Key Vault object version (32 hex digits).
fn hex32(rng: &mut impl Rng) -> String {
    format!("{:032x}", rng.gen::<u128>())
}

fn etag(rng: &mut impl Rng) -> String {
    format!("W/\"{}\"", guid(rng))
}

fn random_text(rng: &mut impl Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

fn base64ish(rng: &mut impl Rng, len: usize) -> String {
    random_text(
        rng,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        len,
    )
}

fn base36(rng: &mut impl Rng, len: usize) -> String {
    random_text(rng, b"abcdefghijklmnopqrstuvwxyz0123456789", len)
}

// ---------------------------------------------------------------------------------------------
// Static catalogue: regions, images, sizes, extensions, job errors.

struct Region {
    name: &'static str,
    /// Suffix of regional service tags (`Storage.WestEurope`).
    tag: &'static str,
    /// Short code used in resource names.
    code: &'static str,
    /// Second octet of the region's synthetic public ranges; unique per region.
    octet: u8,
}

static REGIONS: [Region; 8] = [
    Region {
        name: "westeurope",
        tag: "WestEurope",
        code: "weu",
        octet: 50,
    },
    Region {
        name: "northeurope",
        tag: "NorthEurope",
        code: "neu",
        octet: 54,
    },
    Region {
        name: "eastus",
        tag: "EastUS",
        code: "eus",
        octet: 42,
    },
    Region {
        name: "eastus2",
        tag: "EastUS2",
        code: "eus2",
        octet: 36,
    },
    Region {
        name: "westus2",
        tag: "WestUS2",
        code: "wus2",
        octet: 51,
    },
    Region {
        name: "uksouth",
        tag: "UKSouth",
        code: "uks",
        octet: 58,
    },
    Region {
        name: "germanywestcentral",
        tag: "GermanyWestCentral",
        code: "gwc",
        octet: 52,
    },
    Region {
        name: "swedencentral",
        tag: "SwedenCentral",
        code: "sdc",
        octet: 91,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Os {
    Windows,
    Linux,
}

impl Os {
    fn name(self) -> &'static str {
        match self {
            Os::Windows => "Windows",
            Os::Linux => "Linux",
        }
    }
}

struct Image {
    publisher: &'static str,
    offer: &'static str,
    sku: &'static str,
    exact_version: &'static str,
    os_name: &'static str,
    os_version: &'static str,
    gen2: bool,
}

static WINDOWS_IMAGES: [Image; 4] = [
    Image {
        publisher: "MicrosoftWindowsServer",
        offer: "WindowsServer",
        sku: "2022-datacenter-azure-edition",
        exact_version: "20348.2849.241106",
        os_name: "Windows Server 2022 Datacenter Azure Edition",
        os_version: "10.0.20348.2849",
        gen2: true,
    },
    Image {
        publisher: "MicrosoftWindowsServer",
        offer: "WindowsServer",
        sku: "2019-datacenter-gensecond",
        exact_version: "17763.6532.241101",
        os_name: "Windows Server 2019 Datacenter",
        os_version: "10.0.17763.6532",
        gen2: true,
    },
    Image {
        publisher: "MicrosoftWindowsServer",
        offer: "WindowsServer",
        sku: "2016-datacenter",
        exact_version: "14393.7515.241104",
        os_name: "Windows Server 2016 Datacenter",
        os_version: "10.0.14393.7515",
        gen2: false,
    },
    Image {
        publisher: "MicrosoftWindowsServer",
        offer: "WindowsServer",
        sku: "2025-datacenter-azure-edition",
        exact_version: "26100.2314.241107",
        os_name: "Windows Server 2025 Datacenter Azure Edition",
        os_version: "10.0.26100.2314",
        gen2: true,
    },
];

static LINUX_IMAGES: [Image; 4] = [
    Image {
        publisher: "Canonical",
        offer: "0001-com-ubuntu-server-jammy",
        sku: "22_04-lts-gen2",
        exact_version: "22.04.202411060",
        os_name: "ubuntu",
        os_version: "22.04",
        gen2: true,
    },
    Image {
        publisher: "Canonical",
        offer: "ubuntu-24_04-lts",
        sku: "server",
        exact_version: "24.04.202411030",
        os_name: "ubuntu",
        os_version: "24.04",
        gen2: true,
    },
    Image {
        publisher: "RedHat",
        offer: "RHEL",
        sku: "8-lvm",
        exact_version: "8.10.2024080714",
        os_name: "redhat",
        os_version: "8.10",
        gen2: false,
    },
    Image {
        publisher: "SUSE",
        offer: "sles-15-sp5",
        sku: "gen2",
        exact_version: "2024.10.23",
        os_name: "sles",
        os_version: "15.5",
        gen2: true,
    },
];

const VM_SIZES: [&str; 7] = [
    "Standard_D2s_v5",
    "Standard_D4s_v5",
    "Standard_D8s_v5",
    "Standard_E4s_v5",
    "Standard_E8ds_v5",
    "Standard_F4s_v2",
    "Standard_B2ms",
];

const APPS: [&str; 10] = [
    "erp", "crm", "web", "api", "sql", "etl", "bi", "hr", "pay", "ops",
];
const SUBNETS: [&str; 4] = ["snet-app", "snet-data", "snet-web", "snet-mgmt"];

const DATA_SKUS: [&str; 3] = ["Premium_LRS", "StandardSSD_LRS", "Standard_LRS"];
const ULTRA_SKU: &str = "UltraSSD_LRS";
/// Disk sizes of the P/E/S performance tiers, with the Premium IOPS and MB/s of each.
const DISK_TIERS: [(u32, u32, u32); 8] = [
    (32, 120, 25),
    (64, 240, 50),
    (128, 500, 100),
    (256, 1_100, 125),
    (512, 2_300, 150),
    (1_024, 5_000, 200),
    (2_048, 7_500, 250),
    (4_095, 7_500, 250),
];

const NETWORK_RG: &str = "rg-network";
const BACKUP_RG: &str = "rg-backup";
const SECURITY_RG: &str = "rg-security";
const BASTION_RANGE: &str = "10.255.0.0/26";
const APPGW_RANGE: &str = "10.255.2.0/24";
const HUB_FIREWALL: &str = "10.255.1.4";
const BACKUP_MANAGEMENT_APP_ID: &str = "262044b1-e2ce-469f-a196-69ab7ada62d3";
const KEK_NAME: &str = "kek-ade";

/// Share of VMs without a fault that needs protection which are protected anyway; with the
/// faults that force protection this gives about 80% protected.
const P_PROTECTED: f64 = 0.78;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    Snapshot,
    Monitor,
    Ade,
}

struct ExtInfo {
    name: &'static str,
    publisher: &'static str,
    /// Version in the extension resource (major.minor, auto-upgraded).
    version: &'static str,
    /// Version the agent reports in the instance view.
    handler_version: &'static str,
    message: &'static str,
}

impl Ext {
    fn info(self, os: Os) -> ExtInfo {
        match (self, os) {
            (Ext::Snapshot, Os::Windows) => ExtInfo {
                name: "VMSnapshot",
                publisher: "Microsoft.Azure.RecoveryServices",
                version: "1.0",
                handler_version: "1.0.9225.0",
                message: "Extension installed and enabled successfully.",
            },
            (Ext::Snapshot, Os::Linux) => ExtInfo {
                name: "VMSnapshotLinux",
                publisher: "Microsoft.Azure.RecoveryServices",
                version: "1.0",
                handler_version: "1.0.9216.0",
                message: "Extension installed and enabled successfully.",
            },
            (Ext::Monitor, Os::Windows) => ExtInfo {
                name: "AzureMonitorWindowsAgent",
                publisher: "Microsoft.Azure.Monitor",
                version: "1.30",
                handler_version: "1.30.0.0",
                message: "ExtensionOperation:enable. Status:Success",
            },
            (Ext::Monitor, Os::Linux) => ExtInfo {
                name: "AzureMonitorLinuxAgent",
                publisher: "Microsoft.Azure.Monitor",
                version: "1.33",
                handler_version: "1.33.2",
                message: "Enable succeeded",
            },
            (Ext::Ade, Os::Windows) => ExtInfo {
                name: "AzureDiskEncryption",
                publisher: "Microsoft.Azure.Security",
                version: "2.4",
                handler_version: "2.4.0.26",
                message: "[2.4.0.26] Encryption succeeded for all volumes",
            },
            (Ext::Ade, Os::Linux) => ExtInfo {
                name: "AzureDiskEncryptionForLinux",
                publisher: "Microsoft.Azure.Security",
                version: "1.4",
                handler_version: "1.4.0.20",
                message: "Encryption succeeded for all volumes",
            },
        }
    }
}

/// A backup job failure. The Backup REST model carries an integer `errorCode`; the numbers here
/// are synthetic, and the documented symbolic code travels in `errorString` as the portal shows it.
struct JobError {
    code: &'static str,
    number: i64,
    message: &'static str,
    recommendation: &'static str,
}

const AGENT_UNAVAILABLE: JobError = JobError {
    code: "UserErrorGuestAgentStatusUnavailable",
    number: 400_001,
    message: "VM Agent unable to communicate with Azure Backup",
    recommendation: "Ensure the VM is running and its agent is up to date and Ready, then retry.",
};
const EXTENSION_FAILED: JobError = JobError {
    code: "ExtensionOperationFailedForManagedDisks",
    number: 400_002,
    message: "VMSnapshot extension operation failed",
    recommendation:
        "Uninstall the backup extension so the next backup reinstalls it; check the agent.",
};
const VSS_BAD_STATE: JobError = JobError {
    code: "ExtensionFailedVssWriterInBadState",
    number: 400_003,
    message: "Snapshot operation failed because VSS writers were in bad state",
    recommendation:
        "Restart the VSS writers that are not in a stable state (vssadmin list writers) and retry.",
};
const FSFREEZE_FAILED: JobError = JobError {
    code: "UserErrorFsFreezeFailed",
    number: 400_004,
    message: "Failed to freeze one or more mount-points of the VM",
    recommendation:
        "Repair the file systems, or list the mounts in MountsToSkip in /etc/azure/vmbackup.conf.",
};
const UNSUPPORTED_DISK: JobError = JobError {
    code: "UserErrorUnsupportedDiskConfiguration",
    number: 400_005,
    message: "Currently Azure Backup does not support disks of this type with the Standard policy",
    recommendation: "Move the VM to an Enhanced backup policy, or exclude the unsupported disk.",
};
const SHARED_DISK: JobError = JobError {
    code: "UserErrorSharedDiskBackupNotSupported",
    number: 400_006,
    message: "Backup of VMs with shared disks is not supported",
    recommendation:
        "Use an Enhanced policy and exclude the shared disk; protect it with Azure Disk Backup.",
};
const RP_LIMIT: JobError = JobError {
    code: "UserErrorRpCollectionLimitReached",
    number: 400_007,
    message: "The Restore Point collection max limit has reached",
    recommendation:
        "Remove the lock on the restore point resource group, then run an on-demand backup.",
};
const NOT_DESIRABLE: JobError = JobError {
    code: "UserErrorVmNotInDesirableState",
    number: 400_008,
    message: "VM is not in a state that allows backups",
    recommendation: "Wait until the VM is running or stopped and retry the operation.",
};
const KEYVAULT_PERMISSIONS: JobError = JobError {
    code: "UserErrorKeyvaultPermissionsNotConfigured",
    number: 400_009,
    message: "Backup doesn't have sufficient permissions to the key vault",
    recommendation:
        "Grant Backup Management Service get, list and backup on the vault's keys and secrets.",
};
const LOCATION_MISMATCH: JobError = JobError {
    code: "UserErrorVmVaultLocationMismatch",
    number: 400_010,
    message: "The VM and the Recovery Services vault are in different regions",
    recommendation: "Protect the VM with a Recovery Services vault in the VM's region.",
};

// ---------------------------------------------------------------------------------------------
// Faults.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
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

const ALL_FAULTS: [Fault; 13] = [
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
    fn key(self) -> &'static str {
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
    fn needs_protection(self) -> bool {
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
    fn needs_standard_policy(self) -> bool {
        matches!(self, Fault::UltraDiskStandardPolicy | Fault::SharedDisk)
    }

    /// The error the fault makes jobs fail with, and how many of the most recent jobs fail.
    fn job_failure(self) -> Option<(&'static JobError, RangeInclusive<usize>)> {
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
enum Pick {
    Healthy,
    HealthyAde,
    /// VSS on Windows, fsfreeze on Linux.
    GuestConsistency,
    Fault(Fault),
}

/// `restore_point_rg_lock` is not drawn: it follows from the region a VM lands in (`plan_vm`).
const PICKS: [(Pick, u32); 13] = [
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

// ---------------------------------------------------------------------------------------------
// Plans: every random decision that more than one resource depends on is made here, once.

struct TenantPlan {
    id: String,
    /// Object id of the Backup Management Service principal in this tenant.
    backup_sp: String,
    subscriptions: Vec<(String, u64)>,
}

impl TenantPlan {
    fn new(spec: &FleetSpec) -> Self {
        let mut rng = stream_rng(spec.seed, stream::TENANT);
        let id = guid(&mut rng);
        let backup_sp = guid(&mut rng);
        let subscriptions = (0..spec.subscriptions)
            .map(|_| (guid(&mut rng), rng.gen()))
            .collect();
        TenantPlan {
            id,
            backup_sp,
            subscriptions,
        }
    }
}

struct SubnetPlan {
    name: &'static str,
    routed: bool,
}

struct SubPlan {
    index: usize,
    id: String,
    seed: u64,
    tenant: String,
    backup_sp: String,
    /// Primary and secondary region, as indexes into `REGIONS`.
    regions: [usize; 2],
    subnets: [Vec<SubnetPlan>; 2],
    /// Slot of the region whose restore-point resource group carries a delete lock.
    locked_slot: Option<usize>,
    admins_group: String,
    automation_sp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Policy {
    Standard,
    Enhanced,
}

impl Policy {
    fn name(self) -> &'static str {
        match self {
            Policy::Standard => "DefaultPolicy",
            Policy::Enhanced => "EnhancedPolicy",
        }
    }

    /// Daily recovery points kept in the vault.
    fn retention_days(self) -> u32 {
        match self {
            Policy::Standard => 30,
            Policy::Enhanced => 180,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ade {
    None,
    /// Key vault grants the Backup Management Service access.
    Granted,
    /// Key vault lacks the access policy for the Backup Management Service.
    Missing,
}

struct Protection {
    /// Slot (0 primary, 1 secondary) of the subscription region whose vault protects the VM.
    vault_slot: usize,
    policy: Policy,
    /// The most recent jobs that failed.
    failing_jobs: usize,
    /// The most recent job slots without a job because protection was stopped.
    stopped_jobs: usize,
}

struct DiskPlan {
    lun: u32,
    sku: &'static str,
    size_gb: u32,
    max_shares: Option<u32>,
}

struct VmPlan {
    name: String,
    rg: String,
    app: &'static str,
    env: &'static str,
    os: Os,
    image: &'static Image,
    size: &'static str,
    /// Slot (0 primary, 1 secondary) of the subscription region the VM lives in.
    slot: usize,
    subnet: usize,
    ip_host: u32,
    data_disks: Vec<DiskPlan>,
    fault: Option<Fault>,
    ade_granted: bool,
    protection: Option<Protection>,
    trusted_launch: bool,
    monitoring: bool,
    /// References to disks and NIC carry the resource group upper-cased.
    upper_refs: bool,
    created: Ts,
    /// Offset of this VM's backups into the schedule window.
    job_offset: i64,
    seed: u64,
}

impl VmPlan {
    fn rng(&self, stream: u64) -> ChaCha8Rng {
        stream_rng(self.seed, stream)
    }

    fn ade(&self) -> Ade {
        match (self.fault, self.ade_granted) {
            (Some(Fault::AdeWithoutBackupAccess), _) => Ade::Missing,
            (_, true) => Ade::Granted,
            _ => Ade::None,
        }
    }

    fn extensions(&self) -> Vec<Ext> {
        let mut exts = Vec::new();
        if self.protection.is_some() {
            exts.push(Ext::Snapshot);
        }
        if self.monitoring {
            exts.push(Ext::Monitor);
        }
        if self.ade() != Ade::None {
            exts.push(Ext::Ade);
        }
        exts
    }

    fn os_disk_name(&self) -> String {
        format!("{}-osdisk", self.name)
    }

    fn data_disk_name(&self, lun: u32) -> String {
        format!("{}-datadisk-{lun:02}", self.name)
    }

    fn nic_name(&self) -> String {
        format!("{}-nic", self.name)
    }

    fn computer_name(&self) -> String {
        // Windows limits computer names to 15 characters.
        self.name.trim_start_matches("vm-").replace('-', "")
    }

    fn container(&self) -> String {
        format!("iaasvmcontainerv2;{};{}", self.rg, self.name)
    }

    /// Start of job slot `k` (0 = most recent); slots are spread evenly over the job window.
    /// A pure function of the plan, so the protected item's times match its jobs exactly.
    fn job_start(&self, k: usize, jobs: usize) -> Ts {
        let period = JOB_WINDOW / jobs.max(1) as i64;
        let start = Ts::before_snapshot(SCHEDULE_LEAD + k as i64 * period - self.job_offset);
        let ticks = (self.seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 10_000_000;
        Ts {
            ticks: ticks as u32,
            ..start
        }
    }
}

impl SubPlan {
    fn new(index: usize, id: &str, seed: u64, tenant: &TenantPlan) -> Self {
        let mut rng = stream_rng(seed, stream::PLAN);
        let primary = rng.gen_range(0..REGIONS.len());
        let secondary = (primary + rng.gen_range(1..REGIONS.len())) % REGIONS.len();
        let subnets = [plan_subnets(&mut rng), plan_subnets(&mut rng)];
        let mut principals = stream_rng(seed, stream::PRINCIPALS);
        SubPlan {
            index,
            id: id.to_owned(),
            seed,
            tenant: tenant.id.clone(),
            backup_sp: tenant.backup_sp.clone(),
            regions: [primary, secondary],
            subnets,
            // Every third subscription locks its secondary region (about 15% of its VMs): even
            // small fleets get a lock, and it does not dominate the fault mix.
            locked_slot: (index % 3 == 1).then_some(1),
            admins_group: guid(&mut principals),
            automation_sp: guid(&mut principals),
        }
    }

    fn region(&self, slot: usize) -> &'static Region {
        &REGIONS[self.regions[slot]]
    }

    fn scope(&self) -> String {
        format!("/subscriptions/{}", self.id)
    }

    fn rg_id(&self, rg: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}", self.id)
    }

    fn resource_id(&self, rg: &str, kind: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/{kind}/{name}",
            self.id
        )
    }

    fn short(&self) -> &str {
        &self.id[..8]
    }

    fn vm_id(&self, vm: &VmPlan) -> String {
        self.resource_id(&vm.rg, "Microsoft.Compute/virtualMachines", &vm.name)
    }

    /// The resource group as the VM's references spell it.
    fn ref_rg(vm: &VmPlan) -> String {
        if vm.upper_refs {
            vm.rg.to_uppercase()
        } else {
            vm.rg.clone()
        }
    }

    fn disk_id(&self, rg: &str, name: &str) -> String {
        self.resource_id(rg, "Microsoft.Compute/disks", name)
    }

    fn nic_id(&self, rg: &str, vm: &VmPlan) -> String {
        self.resource_id(rg, "Microsoft.Network/networkInterfaces", &vm.nic_name())
    }

    fn vnet_name(&self, slot: usize) -> String {
        format!("vnet-{}-{}", self.short(), self.region(slot).code)
    }

    fn vnet_id(&self, slot: usize) -> String {
        self.resource_id(
            NETWORK_RG,
            "Microsoft.Network/virtualNetworks",
            &self.vnet_name(slot),
        )
    }

    fn subnet_id(&self, slot: usize, subnet: usize) -> String {
        format!(
            "{}/subnets/{}",
            self.vnet_id(slot),
            self.subnets[slot][subnet].name
        )
    }

    fn nsg_name(&self, slot: usize, subnet: usize) -> String {
        format!(
            "nsg-{}-{}",
            self.region(slot).code,
            self.subnets[slot][subnet].name
        )
    }

    fn nsg_id(&self, slot: usize, subnet: usize) -> String {
        self.resource_id(
            NETWORK_RG,
            "Microsoft.Network/networkSecurityGroups",
            &self.nsg_name(slot, subnet),
        )
    }

    fn route_table_name(&self, slot: usize) -> String {
        format!("rt-{}-spoke", self.region(slot).code)
    }

    fn route_table_id(&self, slot: usize) -> String {
        self.resource_id(
            NETWORK_RG,
            "Microsoft.Network/routeTables",
            &self.route_table_name(slot),
        )
    }

    fn vnet_prefix(&self, slot: usize) -> String {
        format!("10.{}.0.0/16", self.vnet_octet(slot))
    }

    /// Second octet of the slot's VNet (10.x.0.0/16), unique within the fleet's first 125 subs.
    fn vnet_octet(&self, slot: usize) -> usize {
        (self.index * 2 + slot) % 250
    }

    fn vault_name(&self, slot: usize) -> String {
        format!("rsv-{}-{}", self.short(), self.region(slot).code)
    }

    fn vault_id(&self, slot: usize) -> String {
        self.resource_id(
            BACKUP_RG,
            "Microsoft.RecoveryServices/vaults",
            &self.vault_name(slot),
        )
    }

    fn policy_id(&self, slot: usize, policy: Policy) -> String {
        format!("{}/backupPolicies/{}", self.vault_id(slot), policy.name())
    }

    fn restore_point_rg(&self, slot: usize) -> String {
        format!("AzureBackupRG_{}_1", self.region(slot).name)
    }

    fn key_vault_name(&self, slot: usize, grants_backup: bool) -> String {
        let suffix = if grants_backup { "-bk" } else { "" };
        format!("kv-{}-{}{suffix}", self.short(), self.region(slot).code)
    }

    fn key_vault_id(&self, slot: usize, grants_backup: bool) -> String {
        self.resource_id(
            SECURITY_RG,
            "Microsoft.KeyVault/vaults",
            &self.key_vault_name(slot, grants_backup),
        )
    }

    fn key_vault_uri(&self, slot: usize, grants_backup: bool) -> String {
        format!(
            "https://{}.vault.azure.net/",
            self.key_vault_name(slot, grants_backup)
        )
    }

    /// Current version of the key-encryption key in a key vault.
    fn kek_version(&self, slot: usize, grants_backup: bool) -> String {
        let stream = stream::KEK_VERSIONS + slot as u64 * 2 + u64::from(grants_backup);
        hex32(&mut stream_rng(self.seed, stream))
    }

    fn kek_url(&self, slot: usize, grants_backup: bool) -> String {
        format!(
            "{}keys/{KEK_NAME}/{}",
            self.key_vault_uri(slot, grants_backup),
            self.kek_version(slot, grants_backup)
        )
    }
}

fn plan_subnets(rng: &mut impl Rng) -> Vec<SubnetPlan> {
    let n = rng.gen_range(2..=SUBNETS.len());
    SUBNETS[..n]
        .iter()
        .enumerate()
        .map(|(i, &name)| SubnetPlan {
            name,
            routed: i > 0 && rng.gen_bool(0.5),
        })
        .collect()
}

/// Makes the per-VM decisions of one subscription, in VM order.
struct Planner<'a> {
    sub: &'a SubPlan,
    rng: ChaCha8Rng,
    weights: WeightedIndex<u32>,
    /// Next free host number per (region slot, subnet).
    hosts: [[u32; SUBNETS.len()]; 2],
    jobs: usize,
}

impl<'a> Planner<'a> {
    fn new(sub: &'a SubPlan, jobs: usize) -> Self {
        Planner {
            sub,
            rng: stream_rng(sub.seed, stream::VM_PLAN),
            weights: WeightedIndex::new(PICKS.iter().map(|(_, w)| *w))
                .expect("pick weights are valid"),
            hosts: [[0; SUBNETS.len()]; 2],
            jobs,
        }
    }

    fn plan_vm(&mut self, index: usize) -> VmPlan {
        let rng = &mut self.rng;
        let os = if rng.gen_bool(0.55) {
            Os::Linux
        } else {
            Os::Windows
        };
        let images = match os {
            Os::Windows => &WINDOWS_IMAGES,
            Os::Linux => &LINUX_IMAGES,
        };
        let image = &images[rng.gen_range(0..images.len())];
        let slot = usize::from(rng.gen_bool(0.15));
        let app = APPS[rng.gen_range(0..APPS.len())];
        let env = match rng.gen_range(0..5) {
            0..=2 => "prd",
            3 => "stg",
            _ => "dev",
        };

        let (mut fault, ade_granted) = match PICKS[self.weights.sample(rng)].0 {
            Pick::Healthy => (None, false),
            Pick::HealthyAde => (None, true),
            Pick::GuestConsistency if os == Os::Windows => (Some(Fault::VssJobFailure), false),
            Pick::GuestConsistency => (Some(Fault::FsfreezeJobFailure), false),
            Pick::Fault(fault) => (Some(fault), false),
        };
        let protected = fault.is_some_and(Fault::needs_protection) || rng.gen_bool(P_PROTECTED);
        // The lock breaks every protected VM of its region; letting it replace the drawn fault
        // keeps one fault per VM, so the counts partition the fleet.
        if protected && self.sub.locked_slot == Some(slot) {
            fault = Some(Fault::RestorePointRgLock);
        }
        // Trusted Launch is kept off VMs that need Standard policy (Standard + TL is itself a
        // documented restriction) and off ADE VMs, so it never adds an unplanned fault.
        let trusted_launch = image.gen2
            && !ade_granted
            && fault
                .is_none_or(|f| !f.needs_standard_policy() && f != Fault::AdeWithoutBackupAccess)
            && rng.gen_bool(0.4);
        let protection =
            protected.then(|| plan_protection(rng, fault, slot, trusted_launch, self.jobs));
        let subnet = rng.gen_range(0..self.sub.subnets[slot].len());
        let ip_host = self.hosts[slot][subnet];
        self.hosts[slot][subnet] += 1;

        VmPlan {
            name: format!("vm-{app}-{env}-{index:04}"),
            rg: format!("rg-{app}-{env}"),
            app,
            env,
            os,
            image,
            size: VM_SIZES[rng.gen_range(0..VM_SIZES.len())],
            slot,
            subnet,
            ip_host,
            data_disks: plan_disks(rng, fault),
            fault,
            ade_granted,
            protection,
            trusted_launch,
            monitoring: rng.gen_bool(0.5),
            upper_refs: rng.gen_bool(0.25),
            created: Ts::before_snapshot(rng.gen_range(30 * DAY..900 * DAY)).jitter(rng),
            job_offset: rng.gen_range(0..45 * MINUTE),
            seed: rng.gen(),
        }
    }
}

fn plan_vms(sub: &SubPlan, count: usize, jobs: usize) -> Vec<VmPlan> {
    let mut planner = Planner::new(sub, jobs);
    (0..count).map(|i| planner.plan_vm(i)).collect()
}

fn plan_protection(
    rng: &mut impl Rng,
    fault: Option<Fault>,
    slot: usize,
    trusted_launch: bool,
    jobs: usize,
) -> Protection {
    // Trusted Launch VMs are kept on Enhanced, so only planted faults make Standard fail.
    let policy = if fault.is_some_and(Fault::needs_standard_policy)
        || (!trusted_launch && rng.gen_bool(0.7))
    {
        Policy::Standard
    } else {
        Policy::Enhanced
    };
    let failing_jobs = fault
        .and_then(Fault::job_failure)
        .map_or(0, |(_, streak)| rng.gen_range(streak).min(jobs));
    let stopped_jobs = if fault == Some(Fault::ProtectionStopped) {
        rng.gen_range(1..=3)
    } else {
        0
    };
    let vault_slot = if fault == Some(Fault::VaultRegionMismatch) {
        1 - slot
    } else {
        slot
    };
    Protection {
        vault_slot,
        policy,
        failing_jobs,
        stopped_jobs,
    }
}

fn plan_disks(rng: &mut impl Rng, fault: Option<Fault>) -> Vec<DiskPlan> {
    // Most VMs have one or two data disks; a few have up to four.
    let count = [1, 1, 1, 1, 2, 2, 2, 3, 3, 4][rng.gen_range(0..10)];
    let mut disks: Vec<DiskPlan> = (0..count)
        .map(|lun| DiskPlan {
            lun,
            sku: DATA_SKUS[rng.gen_range(0..DATA_SKUS.len())],
            size_gb: DISK_TIERS[rng.gen_range(0..DISK_TIERS.len())].0,
            max_shares: None,
        })
        .collect();
    let last = disks.last_mut().expect("at least one data disk");
    match fault {
        Some(Fault::UltraDiskStandardPolicy) => {
            last.sku = ULTRA_SKU;
            last.size_gb = 1_024;
        }
        Some(Fault::SharedDisk) => {
            // Sharing needs Premium SSD of at least P15.
            last.sku = DATA_SKUS[0];
            last.size_gb = last.size_gb.max(256);
            last.max_shares = Some(2);
        }
        _ => {}
    }
    disks
}

// ---------------------------------------------------------------------------------------------
// Output.

/// Files written and bytes in them.
#[derive(Debug, Default)]
struct Files {
    count: usize,
    bytes: u64,
}

impl Files {
    fn absorb(&mut self, other: &Files) {
        self.count += other.count;
        self.bytes += other.bytes;
    }

    fn write(&mut self, path: &Path, doc: &Value) -> io::Result<()> {
        let mut out = Counting {
            inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
            written: 0,
        };
        serde_json::to_writer_pretty(&mut out, doc)?;
        out.write_all(b"\n")?;
        out.flush()?;
        self.count += 1;
        self.bytes += out.written;
        Ok(())
    }

    /// Writes an ARM list response.
    fn list(&mut self, dir: &Path, name: &str, items: Vec<Value>) -> io::Result<()> {
        self.write(&dir.join(name), &json!({ "value": items }))
    }
}

/// Counts bytes on their way to the file, so the stats need no second pass over the output.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Runs `job` for every index on all cores and returns the results in index order. Each
/// subscription has its own seed and directory, so scheduling cannot change a byte of output.
fn run_parallel<T, F>(n: usize, job: F) -> io::Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> io::Result<T> + Sync,
{
    let workers = thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let worker = || -> io::Result<Vec<(usize, T)>> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return Ok(done);
            }
            match job(i) {
                Ok(t) => done.push((i, t)),
                Err(e) => {
                    // Stop the other workers early: the run has failed anyway.
                    next.store(n, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    };
    let per_worker = thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| panic::resume_unwind(p)))
            .collect::<io::Result<Vec<_>>>()
    })?;
    let mut all: Vec<(usize, T)> = per_worker.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

struct SubReport {
    vms: usize,
    files: Files,
    faults: BTreeMap<&'static str, usize>,
    regions: [usize; 2],
}

fn generate_subscription(
    out: &Path,
    spec: &FleetSpec,
    tenant: &TenantPlan,
    index: usize,
) -> io::Result<SubReport> {
    let (id, seed) = &tenant.subscriptions[index];
    let sub = SubPlan::new(index, id, *seed, tenant);
    let vms = plan_vms(&sub, spec.vms_per_subscription, spec.jobs_per_vm);
    let dir = out.join(&sub.id);
    fs::create_dir_all(&dir)?;
    let mut files = Files::default();
    write_subscription(&dir, &sub, &vms, spec.jobs_per_vm, &mut files)?;

    let mut faults = BTreeMap::new();
    for fault in vms.iter().filter_map(|vm| vm.fault) {
        *faults.entry(fault.key()).or_default() += 1;
    }
    Ok(SubReport {
        vms: vms.len(),
        files,
        faults,
        regions: sub.regions,
    })
}

fn write_subscription(
    dir: &Path,
    sub: &SubPlan,
    vms: &[VmPlan],
    jobs: usize,
    files: &mut Files,
) -> io::Result<()> {
    let layout = BackupLayout::new(vms);
    let layout = &layout;
    let per_vm = |build: &dyn Fn(&VmPlan) -> Vec<Value>| vms.iter().flat_map(build).collect();
    // Each list is built only when its file is written, so one file's values live at a time.
    let lists: [(&str, &dyn Fn() -> Vec<Value>); 18] = [
        ("resourceGroups", &|| resource_groups(sub, vms, layout)),
        ("providers", &|| providers(sub)),
        ("Microsoft.Compute.virtualMachines", &|| {
            per_vm(&|vm| vec![virtual_machine(sub, vm)])
        }),
        ("Microsoft.Compute.virtualMachines.extensions", &|| {
            per_vm(&|vm| extensions(sub, vm))
        }),
        ("Microsoft.Compute.disks", &|| per_vm(&|vm| disks(sub, vm))),
        ("Microsoft.Network.networkInterfaces", &|| {
            per_vm(&|vm| vec![network_interface(sub, vm)])
        }),
        ("Microsoft.Network.virtualNetworks", &|| {
            virtual_networks(sub, vms)
        }),
        ("Microsoft.Network.networkSecurityGroups", &|| {
            network_security_groups(sub)
        }),
        ("Microsoft.Network.routeTables", &|| route_tables(sub)),
        ("Microsoft.Authorization.locks", &|| locks(sub, layout)),
        ("Microsoft.Authorization.roleAssignments", &|| {
            role_assignments(sub)
        }),
        ("Microsoft.KeyVault.vaults", &|| key_vaults(sub, layout)),
        ("Microsoft.KeyVault.vaults.keys", &|| {
            key_vault_keys(sub, layout)
        }),
        ("Microsoft.KeyVault.vaults.secrets", &|| {
            per_vm(&|vm| key_vault_secrets(sub, vm))
        }),
        ("Microsoft.RecoveryServices.vaults", &|| {
            recovery_vaults(sub, layout)
        }),
        ("Microsoft.RecoveryServices.vaults.backupPolicies", &|| {
            backup_policies(sub, layout)
        }),
        (
            "Microsoft.RecoveryServices.vaults.backupProtectedItems",
            &|| per_vm(&|vm| protected_item(sub, vm, jobs)),
        ),
        ("Microsoft.RecoveryServices.vaults.backupJobs", &|| {
            per_vm(&|vm| backup_jobs(sub, vm, jobs))
        }),
    ];
    for (name, build) in lists {
        files.list(dir, &format!("{name}.json"), build())?;
    }
    Ok(())
}

/// Which backup-side resources a subscription needs, derived from its VMs.
struct BackupLayout {
    /// Region slots with a Recovery Services vault.
    vault_slots: BTreeSet<usize>,
    /// Region slots that need a key vault granting the Backup Management Service.
    granted_kv_slots: BTreeSet<usize>,
    /// Protected items per (vault slot, policy).
    policy_items: BTreeMap<(usize, Policy), usize>,
}

impl BackupLayout {
    fn new(vms: &[VmPlan]) -> Self {
        let mut layout = BackupLayout {
            vault_slots: BTreeSet::new(),
            granted_kv_slots: BTreeSet::new(),
            policy_items: BTreeMap::new(),
        };
        for vm in vms {
            if let Some(p) = &vm.protection {
                layout.vault_slots.insert(p.vault_slot);
                *layout
                    .policy_items
                    .entry((p.vault_slot, p.policy))
                    .or_default() += 1;
            }
            if vm.ade() == Ade::Granted {
                layout.granted_kv_slots.insert(vm.slot);
            }
        }
        layout
    }

    fn lock_slot(&self, sub: &SubPlan) -> Option<usize> {
        sub.locked_slot
            .filter(|slot| self.vault_slots.contains(slot))
    }
}

// ---------------------------------------------------------------------------------------------
// Shared small builders.

/// An `InstanceViewStatus`.
#[derive(Default)]
struct Status<'a> {
    code: &'a str,
    level: &'a str,
    display: &'a str,
    message: Option<&'a str>,
    time: Option<String>,
}

impl<'a> Status<'a> {
    fn info(code: &'a str, display: &'a str) -> Self {
        Status {
            code,
            level: "Info",
            display,
            ..Status::default()
        }
    }

    fn succeeded_at(time: Ts) -> Self {
        Status {
            time: Some(time.offset7()),
            ..Status::info("ProvisioningState/succeeded", "Provisioning succeeded")
        }
    }

    /// How a failed extension handler reports (-40: the handler's enable command failed).
    fn extension_failed(display: &'a str) -> Self {
        Status {
            code: "ProvisioningState/failed/-40",
            level: "Error",
            display,
            ..Status::default()
        }
    }

    fn json(self) -> Value {
        let mut v =
            json!({ "code": self.code, "level": self.level, "displayStatus": self.display });
        if let Some(message) = self.message {
            v["message"] = json!(message);
        }
        if let Some(time) = self.time {
            v["time"] = json!(time);
        }
        v
    }
}

fn tags(vm: &VmPlan) -> Value {
    let app_index = APPS.iter().position(|a| *a == vm.app).unwrap_or(0);
    json!({
        "application": vm.app,
        "environment": vm.env,
        "costCenter": format!("CC-{}", 1_000 + app_index * 37),
        "owner": format!("team-{}@contoso.com", vm.app),
    })
}

fn id_ref(id: String) -> Value {
    json!({ "id": id })
}

fn resource_group(sub: &SubPlan, name: &str, location: &str) -> Value {
    json!({
        "id": sub.rg_id(name),
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": { "provisioningState": "Succeeded" },
    })
}

// ---------------------------------------------------------------------------------------------
// Subscription-level resources.

fn resource_groups(sub: &SubPlan, vms: &[VmPlan], layout: &BackupLayout) -> Vec<Value> {
    let home = sub.region(0).name;
    let app_rgs: BTreeSet<&str> = vms.iter().map(|vm| vm.rg.as_str()).collect();
    let mut rgs: Vec<Value> = app_rgs
        .into_iter()
        .map(|rg| resource_group(sub, rg, home))
        .collect();
    for rg in [NETWORK_RG, BACKUP_RG, SECURITY_RG] {
        rgs.push(resource_group(sub, rg, home));
    }
    for &slot in &layout.vault_slots {
        rgs.push(resource_group(
            sub,
            &sub.restore_point_rg(slot),
            sub.region(slot).name,
        ));
    }
    rgs
}

fn providers(sub: &SubPlan) -> Vec<Value> {
    [
        "Microsoft.Compute",
        "Microsoft.Network",
        "Microsoft.Storage",
        "Microsoft.RecoveryServices",
        "Microsoft.KeyVault",
    ]
    .iter()
    .map(|ns| {
        json!({
            "id": format!("{}/providers/{ns}", sub.scope()),
            "namespace": ns,
            "registrationState": "Registered",
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [],
        })
    })
    .collect()
}

fn lock(scope: &str, name: &str, notes: &str) -> Value {
    json!({
        "id": format!("{scope}/providers/Microsoft.Authorization/locks/{name}"),
        "name": name,
        "type": "Microsoft.Authorization/locks",
        "properties": { "level": "CanNotDelete", "notes": notes, "owners": [] },
    })
}

fn locks(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
    // The network lock is harmless to backup; it is there so a scanner must look at lock scope.
    let mut locks = vec![lock(
        &sub.rg_id(NETWORK_RG),
        "protect-shared-network",
        "Shared hub-spoke network",
    )];
    if let Some(slot) = layout.lock_slot(sub) {
        locks.push(lock(
            &sub.rg_id(&sub.restore_point_rg(slot)),
            "rg-no-delete",
            "Applied by governance baseline",
        ));
    }
    locks
}

/// Built-in role definition ids.
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const BACKUP_CONTRIBUTOR: &str = "5e467623-bb1f-42f4-a55d-6e525e11384b";
const KEY_VAULT_ADMINISTRATOR: &str = "00482a5a-887f-4fb3-b363-3b7fe8e74483";

fn role_assignments(sub: &SubPlan) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::ROLES);
    let reader = guid(&mut rng);
    let grants = [
        (sub.scope(), OWNER, sub.admins_group.as_str(), "Group"),
        (
            sub.scope(),
            CONTRIBUTOR,
            sub.automation_sp.as_str(),
            "ServicePrincipal",
        ),
        (sub.scope(), READER, reader.as_str(), "User"),
        (
            sub.rg_id(BACKUP_RG),
            BACKUP_CONTRIBUTOR,
            sub.automation_sp.as_str(),
            "ServicePrincipal",
        ),
        (
            sub.rg_id(SECURITY_RG),
            KEY_VAULT_ADMINISTRATOR,
            sub.admins_group.as_str(),
            "Group",
        ),
    ];
    grants
        .iter()
        .map(|(scope, role, principal, kind)| {
            let name = guid(&mut rng);
            let when = Ts::before_snapshot(rng.gen_range(60 * DAY..700 * DAY))
                .jitter(&mut rng)
                .zulu7();
            json!({
                "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                "name": name,
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    "roleDefinitionId": format!(
                        "{}/providers/Microsoft.Authorization/roleDefinitions/{role}",
                        sub.scope()
                    ),
                    "principalId": principal,
                    "principalType": kind,
                    "scope": scope,
                    "condition": null,
                    "conditionVersion": null,
                    "createdOn": when,
                    "updatedOn": when,
                    "createdBy": sub.admins_group,
                    "updatedBy": sub.admins_group,
                    "delegatedManagedIdentityResourceId": null,
                    "description": null,
                },
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Compute.

fn virtual_machine(sub: &SubPlan, vm: &VmPlan) -> Value {
    let mut rng = vm.rng(stream::VM);
    let location = sub.region(vm.slot).name;
    let ref_rg = SubPlan::ref_rg(vm);
    let ultra = vm.data_disks.iter().any(|d| d.sku == ULTRA_SKU);
    let mut properties = json!({
        "hardwareProfile": { "vmSize": vm.size },
        "provisioningState": "Succeeded",
        "vmId": guid(&mut rng),
        "timeCreated": vm.created.offset7(),
        "storageProfile": storage_profile(sub, vm, &ref_rg),
        "osProfile": os_profile(vm, &mut rng),
        "networkProfile": {
            "networkInterfaces": [{
                "id": sub.nic_id(&ref_rg, vm),
                "properties": { "primary": true, "deleteOption": "Detach" },
            }],
        },
        "diagnosticsProfile": { "bootDiagnostics": { "enabled": true } },
        "instanceView": instance_view(sub, vm, &mut rng),
    });
    if vm.trusted_launch {
        properties["securityProfile"] = json!({
            "securityType": "TrustedLaunch",
            "uefiSettings": { "secureBootEnabled": true, "vTpmEnabled": true },
        });
    }
    if ultra {
        properties["additionalCapabilities"] = json!({ "ultraSSDEnabled": true });
    }
    let mut vm_json = json!({
        "id": sub.vm_id(vm),
        "name": vm.name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": location,
        "tags": tags(vm),
        "properties": properties,
    });
    if ultra {
        // Ultra disks only attach to zonal VMs.
        vm_json["zones"] = json!(["1"]);
    }
    vm_json
}

fn storage_profile(sub: &SubPlan, vm: &VmPlan, ref_rg: &str) -> Value {
    let image = vm.image;
    let os_disk_gb = if vm.os == Os::Windows { 127 } else { 64 };
    let data_disks: Vec<Value> = vm
        .data_disks
        .iter()
        .map(|d| {
            json!({
                "lun": d.lun,
                "name": vm.data_disk_name(d.lun),
                "createOption": "Attach",
                "caching": if d.sku == DATA_SKUS[0] { "ReadOnly" } else { "None" },
                "managedDisk": {
                    "id": sub.disk_id(ref_rg, &vm.data_disk_name(d.lun)),
                    "storageAccountType": d.sku,
                },
                "diskSizeGB": d.size_gb,
                "toBeDetached": false,
                "writeAcceleratorEnabled": false,
                "deleteOption": "Detach",
            })
        })
        .collect();
    json!({
        "imageReference": {
            "publisher": image.publisher,
            "offer": image.offer,
            "sku": image.sku,
            "version": "latest",
            "exactVersion": image.exact_version,
        },
        "osDisk": {
            "osType": vm.os.name(),
            "name": vm.os_disk_name(),
            "createOption": "FromImage",
            "caching": "ReadWrite",
            "managedDisk": {
                "id": sub.disk_id(ref_rg, &vm.os_disk_name()),
                "storageAccountType": "Premium_LRS",
            },
            "diskSizeGB": os_disk_gb,
            "deleteOption": "Delete",
        },
        "dataDisks": data_disks,
        "diskControllerType": "SCSI",
    })
}

fn os_profile(vm: &VmPlan, rng: &mut impl Rng) -> Value {
    let mut profile = json!({
        "computerName": vm.computer_name(),
        "adminUsername": "azureadmin",
        "secrets": [],
        "allowExtensionOperations": true,
        "requireGuestProvisionSignal": true,
    });
    profile[config_key(vm.os)] = match vm.os {
        Os::Windows => json!({
            "provisionVMAgent": true,
            "enableAutomaticUpdates": true,
            "patchSettings": { "patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault" },
        }),
        Os::Linux => json!({
            "disablePasswordAuthentication": true,
            "ssh": {
                "publicKeys": [{
                    "path": "/home/azureadmin/.ssh/authorized_keys",
                    "keyData": format!(
                        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ{} generated-by-synth",
                        base64ish(rng, 338)
                    ),
                }],
            },
            "provisionVMAgent": true,
            "patchSettings": { "patchMode": "ImageDefault", "assessmentMode": "ImageDefault" },
        }),
    };
    profile
}

fn config_key(os: Os) -> &'static str {
    match os {
        Os::Windows => "windowsConfiguration",
        Os::Linux => "linuxConfiguration",
    }
}

/// A time within the hour before the snapshot, as the agent's last heartbeat is.
fn recently(rng: &mut impl Rng) -> Ts {
    Ts::before_snapshot(rng.gen_range(MINUTE..HOUR)).jitter(rng)
}

fn instance_view(sub: &SubPlan, vm: &VmPlan, rng: &mut impl Rng) -> Value {
    let disk_names = std::iter::once(vm.os_disk_name())
        .chain(vm.data_disks.iter().map(|d| vm.data_disk_name(d.lun)));
    let disks: Vec<Value> = disk_names
        .enumerate()
        .map(|(i, name)| {
            let mut disk = json!({
                "name": name,
                "statuses": [Status::succeeded_at(vm.created).json()],
            });
            if i == 0 && vm.ade() != Ade::None {
                disk["encryptionSettings"] = json!([ade_settings(sub, vm)]);
            }
            disk
        })
        .collect();
    let mut view = json!({
        "hyperVGeneration": if vm.image.gen2 { "V2" } else { "V1" },
        "disks": disks,
        "statuses": [
            Status::succeeded_at(recently(rng)).json(),
            power_state(vm.fault).json(),
        ],
    });
    if vm.fault == Some(Fault::StoppedVm) {
        // A deallocated VM has no guest: no agent, no extensions, no OS facts.
        return view;
    }
    view["computerName"] = json!(vm.computer_name());
    view["osName"] = json!(vm.image.os_name);
    view["osVersion"] = json!(vm.image.os_version);
    view["vmAgent"] = vm_agent(vm, recently(rng));
    // An unresponsive agent leaves the extension statuses it last reported in place.
    view["extensions"] = vm
        .extensions()
        .into_iter()
        .map(|ext| extension_view(vm, ext, recently(rng)))
        .collect();
    view
}

fn power_state(fault: Option<Fault>) -> Status<'static> {
    match fault {
        Some(Fault::StoppedVm) => Status::info("PowerState/deallocated", "VM deallocated"),
        Some(Fault::TransitionalPowerState) => Status::info("PowerState/starting", "VM starting"),
        _ => Status::info("PowerState/running", "VM running"),
    }
}

fn vm_agent(vm: &VmPlan, at: Ts) -> Value {
    if vm.fault == Some(Fault::AgentNotReady) {
        return json!({
            "vmAgentVersion": "Unknown",
            "statuses": [Status {
                code: "ProvisioningState/Unavailable",
                level: "Warning",
                display: "Not Ready",
                message: Some("VM Agent is unresponsive."),
                time: Some(at.offset7()),
            }.json()],
        });
    }
    let version = match (vm.os, vm.fault == Some(Fault::AgentOutdated)) {
        (Os::Windows, true) => "2.7.41491.949",
        (Os::Linux, true) => "2.2.45",
        (Os::Windows, false) => "2.7.41491.1152",
        (Os::Linux, false) => "2.12.0.2",
    };
    let handlers: Vec<Value> = vm
        .extensions()
        .into_iter()
        .map(|ext| {
            let info = ext.info(vm.os);
            let failed = extension_failed(vm, ext);
            json!({
                "type": format!("{}.{}", info.publisher, info.name),
                "typeHandlerVersion": info.handler_version,
                "status": if failed {
                    Status::extension_failed("Not Ready").json()
                } else {
                    Status::info("ProvisioningState/succeeded", "Ready").json()
                },
            })
        })
        .collect();
    json!({
        "vmAgentVersion": version,
        "statuses": [Status {
            message: Some("GuestAgent is running and processing the extensions."),
            time: Some(at.offset7()),
            ..Status::info("ProvisioningState/succeeded", "Ready")
        }.json()],
        "extensionHandlers": handlers,
    })
}

fn extension_failed(vm: &VmPlan, ext: Ext) -> bool {
    ext == Ext::Snapshot && vm.fault == Some(Fault::BackupExtensionFailed)
}

const SNAPSHOT_ENABLE_FAILED: &str = "Enable failed: the snapshot plugin exited with code -40. \
     See the VMSnapshot extension logs in the guest.";

fn extension_view(vm: &VmPlan, ext: Ext, at: Ts) -> Value {
    let info = ext.info(vm.os);
    let status = if extension_failed(vm, ext) {
        Status {
            message: Some(SNAPSHOT_ENABLE_FAILED),
            time: Some(at.offset7()),
            ..Status::extension_failed("Provisioning failed")
        }
    } else {
        Status {
            message: Some(info.message),
            time: Some(at.offset7()),
            ..Status::info("ProvisioningState/succeeded", "Provisioning succeeded")
        }
    };
    json!({
        "name": info.name,
        "type": format!("{}.{}", info.publisher, info.name),
        "typeHandlerVersion": info.handler_version,
        "statuses": [status.json()],
    })
}

fn extensions(sub: &SubPlan, vm: &VmPlan) -> Vec<Value> {
    let mut rng = vm.rng(stream::EXTENSIONS);
    let vm_id = sub.vm_id(vm);
    vm.extensions()
        .into_iter()
        .map(|ext| {
            let info = ext.info(vm.os);
            let mut properties = json!({
                "publisher": info.publisher,
                "type": info.name,
                "typeHandlerVersion": info.version,
                "autoUpgradeMinorVersion": true,
                "provisioningState": if extension_failed(vm, ext) { "Failed" } else { "Succeeded" },
                "settings": extension_settings(sub, vm, ext, &mut rng),
            });
            if ext == Ext::Monitor {
                properties["enableAutomaticUpgrade"] = json!(true);
            }
            json!({
                "id": format!("{vm_id}/extensions/{}", info.name),
                "name": info.name,
                "type": "Microsoft.Compute/virtualMachines/extensions",
                "location": sub.region(vm.slot).name,
                "properties": properties,
            })
        })
        .collect()
}

fn extension_settings(sub: &SubPlan, vm: &VmPlan, ext: Ext, rng: &mut impl Rng) -> Value {
    match ext {
        Ext::Snapshot => json!({
            "locale": "en-us",
            "taskId": guid(rng),
            "commandToExecute": "snapshot",
            "commandStartTimeUTCTicks": (vm.job_start(0, 1).unix() + 62_135_596_800) * 10_000_000,
            "vmType": "microsoft.compute/virtualmachines",
            "objectStr": base64ish(rng, 200),
        }),
        Ext::Monitor => {
            json!({ "authentication": { "managedIdentity": { "identifier-name": "mi_res_id" } } })
        }
        Ext::Ade => {
            let granted = vm.ade() == Ade::Granted;
            json!({
                "EncryptionOperation": "EnableEncryption",
                "KeyVaultURL": sub.key_vault_uri(vm.slot, granted),
                "KeyVaultResourceId": sub.key_vault_id(vm.slot, granted),
                "KeyEncryptionKeyURL": sub.kek_url(vm.slot, granted),
                "KekVaultResourceId": sub.key_vault_id(vm.slot, granted),
                "KeyEncryptionAlgorithm": "RSA-OAEP",
                "VolumeType": "All",
            })
        }
    }
}

/// The ADE secret of the VM's OS disk: (name, version).
fn ade_secret(vm: &VmPlan) -> (String, String) {
    let mut rng = vm.rng(stream::ADE);
    (guid(&mut rng), hex32(&mut rng))
}

fn ade_settings(sub: &SubPlan, vm: &VmPlan) -> Value {
    let granted = vm.ade() == Ade::Granted;
    let (secret, version) = ade_secret(vm);
    let vault = id_ref(sub.key_vault_id(vm.slot, granted));
    json!({
        "diskEncryptionKey": {
            "sourceVault": vault,
            "secretUrl": format!(
                "{}secrets/{secret}/{version}",
                sub.key_vault_uri(vm.slot, granted)
            ),
        },
        "keyEncryptionKey": { "sourceVault": vault, "keyUrl": sub.kek_url(vm.slot, granted) },
    })
}

fn disks(sub: &SubPlan, vm: &VmPlan) -> Vec<Value> {
    let mut rng = vm.rng(stream::DISKS);
    let os_gb = if vm.os == Os::Windows { 127 } else { 64 };
    let mut out = vec![disk(
        sub,
        vm,
        &vm.os_disk_name(),
        "Premium_LRS",
        os_gb,
        &mut rng,
    )];
    let os_disk = &mut out[0];
    let image = vm.image;
    os_disk["properties"]["osType"] = json!(vm.os.name());
    os_disk["properties"]["hyperVGeneration"] = json!(if image.gen2 { "V2" } else { "V1" });
    os_disk["properties"]["creationData"] = json!({
        "createOption": "FromImage",
        "imageReference": {
            "id": platform_image_id(sub, vm),
        },
    });
    if vm.ade() != Ade::None {
        os_disk["properties"]["encryptionSettingsCollection"] = json!({
            "enabled": true,
            "encryptionSettings": [ade_settings(sub, vm)],
            "encryptionSettingsVersion": "1.1",
        });
    }
    for d in &vm.data_disks {
        let mut data = disk(
            sub,
            vm,
            &vm.data_disk_name(d.lun),
            d.sku,
            d.size_gb,
            &mut rng,
        );
        if let Some(shares) = d.max_shares {
            data["properties"]["maxShares"] = json!(shares);
            data["properties"]["shareInfo"] = json!([{ "vmUri": sub.vm_id(vm) }]);
            data["managedByExtended"] = json!([sub.vm_id(vm)]);
        }
        out.push(data);
    }
    out
}

/// The platform image an OS disk was created from, spelled the way Compute records it.
fn platform_image_id(sub: &SubPlan, vm: &VmPlan) -> String {
    let image = vm.image;
    format!(
        "/Subscriptions/{}/Providers/Microsoft.Compute/Locations/{}/Publishers/{}\
         /ArtifactTypes/VMImage/Offers/{}/Skus/{}/Versions/{}",
        sub.id,
        sub.region(vm.slot).name,
        image.publisher,
        image.offer,
        image.sku,
        image.exact_version
    )
}

/// A managed disk attached to `vm`, without the OS-disk-only and sharing fields.
fn disk(
    sub: &SubPlan,
    vm: &VmPlan,
    name: &str,
    sku: &str,
    size_gb: u32,
    rng: &mut impl Rng,
) -> Value {
    let tier_index = DISK_TIERS
        .iter()
        .position(|t| t.0 >= size_gb)
        .unwrap_or(DISK_TIERS.len() - 1);
    let (_, premium_iops, premium_mbps) = DISK_TIERS[tier_index];
    let (sku_tier, tier_prefix, iops, mbps) = match sku {
        "Premium_LRS" => ("Premium", Some("P"), premium_iops, premium_mbps),
        "StandardSSD_LRS" => ("Standard", Some("E"), 500, 60),
        "Standard_LRS" => ("Standard", Some("S"), 500, 60),
        _ => ("Ultra", None, 5_000, 200),
    };
    let mut properties = json!({
        "creationData": { "createOption": "Empty" },
        "diskSizeGB": size_gb,
        "diskSizeBytes": u64::from(size_gb) << 30,
        "diskIOPSReadWrite": iops,
        "diskMBpsReadWrite": mbps,
        "uniqueId": guid(rng),
        "encryption": { "type": "EncryptionAtRestWithPlatformKey" },
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "timeCreated": vm.created.offset7(),
        "provisioningState": "Succeeded",
        "diskState": "Attached",
    });
    if let Some(prefix) = tier_prefix {
        properties["tier"] = json!(format!(
            "{prefix}{}",
            [4, 6, 10, 15, 20, 30, 40, 50][tier_index]
        ));
    }
    let mut disk = json!({
        "id": sub.disk_id(&vm.rg, name),
        "name": name,
        "type": "Microsoft.Compute/disks",
        "location": sub.region(vm.slot).name,
        "managedBy": sub.vm_id(vm),
        "sku": { "name": sku, "tier": sku_tier },
        "properties": properties,
    });
    if sku == ULTRA_SKU {
        disk["zones"] = json!(["1"]);
    }
    disk
}

// ---------------------------------------------------------------------------------------------
// Network.

fn vm_ip(sub: &SubPlan, vm: &VmPlan) -> String {
    // Azure reserves the first four addresses of a subnet; each subnet is a /18.
    let offset = 4 + vm.ip_host % 16_370;
    format!(
        "10.{}.{}.{}",
        sub.vnet_octet(vm.slot),
        vm.subnet as u32 * 64 + offset / 256,
        offset % 256
    )
}

fn network_interface(sub: &SubPlan, vm: &VmPlan) -> Value {
    let mut rng = vm.rng(stream::NIC);
    let id = sub.nic_id(&vm.rg, vm);
    let mac: Vec<String> = std::iter::once("00-22-48".to_owned())
        .chain((0..3).map(|_| format!("{:02X}", rng.gen::<u8>())))
        .collect();
    let etag = etag(&mut rng);
    let dns_suffix = format!("{}.ax.internal.cloudapp.net", base36(&mut rng, 26));
    json!({
        "name": vm.nic_name(),
        "id": id,
        "etag": etag,
        "type": "Microsoft.Network/networkInterfaces",
        "location": sub.region(vm.slot).name,
        "tags": tags(vm),
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": guid(&mut rng),
            "ipConfigurations": [{
                "name": "ipconfig1",
                "id": format!("{id}/ipConfigurations/ipconfig1"),
                "etag": etag,
                "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateIPAddress": vm_ip(sub, vm),
                    "privateIPAllocationMethod": "Dynamic",
                    "subnet": id_ref(sub.subnet_id(vm.slot, vm.subnet)),
                    "primary": true,
                    "privateIPAddressVersion": "IPv4",
                },
            }],
            "dnsSettings": {
                "dnsServers": [],
                "appliedDnsServers": [],
                "internalDomainNameSuffix": dns_suffix,
            },
            "macAddress": mac.join("-"),
            "vnetEncryptionSupported": false,
            "enableIPForwarding": false,
            "enableAcceleratedNetworking": vm.size != "Standard_B2ms",
            "disableTcpStateTracking": false,
            "primary": true,
            "virtualMachine": id_ref(sub.vm_id(vm)),
            "hostedWorkloads": [],
            "tapConfigurations": [],
            "nicType": "Standard",
            "auxiliaryMode": "None",
            "auxiliarySku": "None",
        },
    })
}

fn virtual_networks(sub: &SubPlan, vms: &[VmPlan]) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::NETWORK);
    (0..2)
        .map(|slot| {
            let subnets: Vec<Value> = (0..sub.subnets[slot].len())
                .map(|i| subnet(sub, vms, slot, i, &mut rng))
                .collect();
            json!({
                "name": sub.vnet_name(slot),
                "id": sub.vnet_id(slot),
                "etag": etag(&mut rng),
                "type": "Microsoft.Network/virtualNetworks",
                "location": sub.region(slot).name,
                "properties": {
                    "provisioningState": "Succeeded",
                    "resourceGuid": guid(&mut rng),
                    "addressSpace": { "addressPrefixes": [sub.vnet_prefix(slot)] },
                    "dhcpOptions": { "dnsServers": [] },
                    "subnets": subnets,
                    "virtualNetworkPeerings": [],
                    "enableDdosProtection": false,
                },
            })
        })
        .collect()
}

fn subnet(sub: &SubPlan, vms: &[VmPlan], slot: usize, index: usize, rng: &mut impl Rng) -> Value {
    // Network lists a subnet's IP configurations with the resource group upper-cased, whatever
    // casing the NIC was created with.
    let ip_configs: Vec<Value> = vms
        .iter()
        .filter(|vm| vm.slot == slot && vm.subnet == index)
        .map(|vm| {
            let nic = sub.nic_id(&vm.rg.to_uppercase(), vm);
            id_ref(format!("{nic}/ipConfigurations/ipconfig1"))
        })
        .collect();
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "addressPrefix": format!("10.{}.{}.0/18", sub.vnet_octet(slot), index * 64),
        "networkSecurityGroup": id_ref(sub.nsg_id(slot, index)),
        "ipConfigurations": ip_configs,
        "serviceEndpoints": [],
        "delegations": [],
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
    });
    let plan = &sub.subnets[slot][index];
    if plan.routed {
        properties["routeTable"] = id_ref(sub.route_table_id(slot));
    }
    json!({
        "name": plan.name,
        "id": sub.subnet_id(slot, index),
        "etag": etag(rng),
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "properties": properties,
    })
}

struct RuleSpec {
    name: &'static str,
    priority: u32,
    direction: &'static str,
    access: &'static str,
    protocol: &'static str,
    source: &'static str,
    destination: String,
    ports: &'static [&'static str],
    description: &'static str,
}

/// The custom rules an NSG may carry, in the order they are handed out (first two always).
fn custom_rules(region: &Region) -> Vec<RuleSpec> {
    let rule = |name: &'static str,
                priority: u32,
                direction: &'static str,
                source: &'static str,
                destination: String,
                ports: &'static [&'static str],
                description: &'static str| RuleSpec {
        name,
        priority,
        direction,
        access: "Allow",
        protocol: "Tcp",
        source,
        destination,
        ports,
        description,
    };
    vec![
        rule(
            "AllowBastionRdpInbound",
            100,
            "Inbound",
            BASTION_RANGE,
            "VirtualNetwork".into(),
            &["3389"],
            "RDP from Azure Bastion",
        ),
        rule(
            "AllowBastionSshInbound",
            110,
            "Inbound",
            BASTION_RANGE,
            "VirtualNetwork".into(),
            &["22"],
            "SSH from Azure Bastion",
        ),
        rule(
            "AllowAppGatewayInbound",
            120,
            "Inbound",
            APPGW_RANGE,
            "VirtualNetwork".into(),
            &["443", "8443"],
            "HTTPS from the application gateway",
        ),
        rule(
            "AllowAzureBackupOutbound",
            200,
            "Outbound",
            "VirtualNetwork",
            "AzureBackup".into(),
            &["443"],
            "Workload backup to Azure Backup",
        ),
        rule(
            "AllowStorageOutbound",
            210,
            "Outbound",
            "VirtualNetwork",
            format!("Storage.{}", region.tag),
            &["443"],
            "Regional storage",
        ),
        rule(
            "AllowEntraIdOutbound",
            220,
            "Outbound",
            "VirtualNetwork",
            "AzureActiveDirectory".into(),
            &["443"],
            "Microsoft Entra ID",
        ),
    ]
}

/// The six rules every NSG has:
/// (name, priority, direction, access, source, destination, description).
const DEFAULT_RULES: [(&str, u32, &str, &str, &str, &str, &str); 6] = [
    (
        "AllowVnetInBound",
        65_000,
        "Inbound",
        "Allow",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow inbound traffic from all VMs in VNET",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        65_001,
        "Inbound",
        "Allow",
        "AzureLoadBalancer",
        "*",
        "Allow inbound traffic from azure load balancer",
    ),
    (
        "DenyAllInBound",
        65_500,
        "Inbound",
        "Deny",
        "*",
        "*",
        "Deny all inbound traffic",
    ),
    (
        "AllowVnetOutBound",
        65_000,
        "Outbound",
        "Allow",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow outbound traffic from all VMs to all VMs in VNET",
    ),
    (
        "AllowInternetOutBound",
        65_001,
        "Outbound",
        "Allow",
        "*",
        "Internet",
        "Allow outbound traffic from all VMs to Internet",
    ),
    (
        "DenyAllOutBound",
        65_500,
        "Outbound",
        "Deny",
        "*",
        "*",
        "Deny all outbound traffic",
    ),
];

fn security_rule(nsg_id: &str, collection: &str, rule: &RuleSpec, rng: &mut impl Rng) -> Value {
    let (port, ports): (Option<&str>, &[&str]) = match rule.ports {
        [single] => (Some(*single), &[]),
        many => (None, many),
    };
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "description": rule.description,
        "protocol": rule.protocol,
        "sourcePortRange": "*",
        "sourceAddressPrefix": rule.source,
        "destinationAddressPrefix": rule.destination,
        "access": rule.access,
        "priority": rule.priority,
        "direction": rule.direction,
        "sourcePortRanges": [],
        "destinationPortRanges": ports,
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
    });
    if let Some(port) = port {
        properties["destinationPortRange"] = json!(port);
    }
    json!({
        "name": rule.name,
        "id": format!("{nsg_id}/{collection}/{}", rule.name),
        "etag": etag(rng),
        "type": format!("Microsoft.Network/networkSecurityGroups/{collection}"),
        "properties": properties,
    })
}

fn network_security_groups(sub: &SubPlan) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::NSG);
    let defaults: Vec<RuleSpec> = DEFAULT_RULES
        .iter()
        .map(
            |&(name, priority, direction, access, source, destination, description)| RuleSpec {
                name,
                priority,
                direction,
                access,
                protocol: "*",
                source,
                destination: destination.into(),
                ports: &["*"],
                description,
            },
        )
        .collect();
    let mut nsgs = Vec::new();
    for slot in 0..2 {
        let candidates = custom_rules(sub.region(slot));
        for i in 0..sub.subnets[slot].len() {
            let id = sub.nsg_id(slot, i);
            let count = rng.gen_range(2..=candidates.len());
            let rules: Vec<Value> = candidates[..count]
                .iter()
                .map(|r| security_rule(&id, "securityRules", r, &mut rng))
                .collect();
            let default_rules: Vec<Value> = defaults
                .iter()
                .map(|r| security_rule(&id, "defaultSecurityRules", r, &mut rng))
                .collect();
            nsgs.push(json!({
                "name": sub.nsg_name(slot, i),
                "id": id,
                "etag": etag(&mut rng),
                "type": "Microsoft.Network/networkSecurityGroups",
                "location": sub.region(slot).name,
                "properties": {
                    "provisioningState": "Succeeded",
                    "resourceGuid": guid(&mut rng),
                    "securityRules": rules,
                    "defaultSecurityRules": default_rules,
                    "subnets": [id_ref(sub.subnet_id(slot, i))],
                },
            }));
        }
    }
    nsgs
}

fn route_tables(sub: &SubPlan) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::ROUTES);
    let routes = [
        ("to-onprem", "192.168.0.0/16", "VirtualNetworkGateway", None),
        (
            "to-hub",
            "10.255.0.0/16",
            "VirtualAppliance",
            Some(HUB_FIREWALL),
        ),
        (
            "to-partner",
            "172.16.0.0/12",
            "VirtualAppliance",
            Some(HUB_FIREWALL),
        ),
    ];
    (0..2)
        .map(|slot| {
            let id = sub.route_table_id(slot);
            let count = rng.gen_range(2..=routes.len());
            let routes: Vec<Value> = routes[..count]
                .iter()
                .map(|(name, prefix, hop, ip)| {
                    let mut properties = json!({
                        "provisioningState": "Succeeded",
                        "addressPrefix": prefix,
                        "nextHopType": hop,
                        "hasBgpOverride": false,
                    });
                    if let Some(ip) = ip {
                        properties["nextHopIpAddress"] = json!(ip);
                    }
                    json!({
                        "name": name,
                        "id": format!("{id}/routes/{name}"),
                        "etag": etag(&mut rng),
                        "type": "Microsoft.Network/routeTables/routes",
                        "properties": properties,
                    })
                })
                .collect();
            let subnets: Vec<Value> = (0..sub.subnets[slot].len())
                .filter(|&i| sub.subnets[slot][i].routed)
                .map(|i| id_ref(sub.subnet_id(slot, i)))
                .collect();
            json!({
                "name": sub.route_table_name(slot),
                "id": id,
                "etag": etag(&mut rng),
                "type": "Microsoft.Network/routeTables",
                "location": sub.region(slot).name,
                "properties": {
                    "provisioningState": "Succeeded",
                    "resourceGuid": guid(&mut rng),
                    "disableBgpRoutePropagation": false,
                    "routes": routes,
                    "subnets": subnets,
                },
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Key Vault.

/// Key vaults: one per region slot (no grant for Backup, used by the ADE faults), plus one that
/// grants Backup where healthy ADE VMs need it.
fn key_vault_slots(layout: &BackupLayout) -> Vec<(usize, bool)> {
    let mut slots = vec![(0, false), (1, false)];
    slots.extend(layout.granted_kv_slots.iter().map(|&slot| (slot, true)));
    slots
}

fn access_policy(tenant: &str, object_id: &str, keys: &[&str], secrets: &[&str]) -> Value {
    json!({
        "tenantId": tenant,
        "objectId": object_id,
        "permissions": { "keys": keys, "secrets": secrets, "certificates": [], "storage": [] },
    })
}

fn key_vaults(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
    let all = ["all"];
    let read = ["get", "list"];
    key_vault_slots(layout)
        .into_iter()
        .map(|(slot, grants_backup)| {
            let mut policies = vec![
                access_policy(&sub.tenant, &sub.admins_group, &all, &all),
                access_policy(&sub.tenant, &sub.automation_sp, &read, &read),
            ];
            if grants_backup {
                // Secrets in portal capitalisation, keys as the CLI writes them: both occur.
                let (keys, secrets) = (["get", "list", "backup"], ["Get", "List", "Backup"]);
                policies.push(access_policy(&sub.tenant, &sub.backup_sp, &keys, &secrets));
            }
            let name = sub.key_vault_name(slot, grants_backup);
            json!({
                "id": sub.key_vault_id(slot, grants_backup),
                "name": name,
                "type": "Microsoft.KeyVault/vaults",
                "location": sub.region(slot).name,
                "tags": {},
                "properties": {
                    "sku": { "family": "A", "name": "standard" },
                    "tenantId": sub.tenant,
                    "accessPolicies": policies,
                    "enabledForDeployment": false,
                    "enabledForDiskEncryption": true,
                    "enabledForTemplateDeployment": false,
                    "enableSoftDelete": true,
                    "softDeleteRetentionInDays": 90,
                    "enableRbacAuthorization": false,
                    "vaultUri": sub.key_vault_uri(slot, grants_backup),
                    "provisioningState": "Succeeded",
                    "publicNetworkAccess": "Enabled",
                    "networkAcls": {
                        "bypass": "AzureServices",
                        "defaultAction": "Allow",
                        "ipRules": [],
                        "virtualNetworkRules": [],
                    },
                },
            })
        })
        .collect()
}

fn kv_attributes(rng: &mut impl Rng) -> Value {
    let created = Ts::before_snapshot(rng.gen_range(30 * DAY..600 * DAY)).unix();
    json!({
        "enabled": true,
        "created": created,
        "updated": created,
        "recoveryLevel": "Recoverable+Purgeable",
    })
}

fn key_vault_keys(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::KEYS);
    key_vault_slots(layout)
        .into_iter()
        .map(|(slot, grants_backup)| {
            let uri = format!("{}keys/{KEK_NAME}", sub.key_vault_uri(slot, grants_backup));
            let mut attributes = kv_attributes(&mut rng);
            attributes["exportable"] = json!(false);
            json!({
                "id": format!("{}/keys/{KEK_NAME}", sub.key_vault_id(slot, grants_backup)),
                "name": KEK_NAME,
                "type": "Microsoft.KeyVault/vaults/keys",
                "location": sub.region(slot).name,
                "properties": {
                    "attributes": attributes,
                    "kty": "RSA",
                    "keyOps": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                    "keySize": 2048,
                    "keyUri": uri,
                    "keyUriWithVersion": sub.kek_url(slot, grants_backup),
                },
            })
        })
        .collect()
}

fn key_vault_secrets(sub: &SubPlan, vm: &VmPlan) -> Vec<Value> {
    let grants_backup = match vm.ade() {
        Ade::None => return Vec::new(),
        ade => ade == Ade::Granted,
    };
    let mut rng = vm.rng(stream::ADE_SECRET);
    let (secret, version) = ade_secret(vm);
    let uri = format!(
        "{}secrets/{secret}",
        sub.key_vault_uri(vm.slot, grants_backup)
    );
    let file = if vm.os == Os::Windows {
        format!("{}.BEK", guid(&mut rng).to_uppercase())
    } else {
        "LinuxPassPhraseFileName".into()
    };
    vec![json!({
        "id": format!("{}/secrets/{secret}", sub.key_vault_id(vm.slot, grants_backup)),
        "name": secret,
        "type": "Microsoft.KeyVault/vaults/secrets",
        "location": sub.region(vm.slot).name,
        "tags": {
            "DiskEncryptionKeyEncryptionAlgorithm": "RSA-OAEP",
            "DiskEncryptionKeyEncryptionKeyURL": sub.kek_url(vm.slot, grants_backup),
            "DiskEncryptionKeyFileName": file,
            "MachineName": vm.computer_name(),
        },
        "properties": {
            "attributes": kv_attributes(&mut rng),
            "contentType": "Wrapped BEK",
            "secretUri": uri,
            "secretUriWithVersion": format!("{uri}/{version}"),
        },
    })]
}

// ---------------------------------------------------------------------------------------------
// Recovery Services.

fn recovery_vaults(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
    let mut rng = stream_rng(sub.seed, stream::VAULTS);
    layout
        .vault_slots
        .iter()
        .map(|&slot| {
            let changed = Ts::before_snapshot(rng.gen_range(DAY..90 * DAY)).jitter(&mut rng);
            json!({
                "id": sub.vault_id(slot),
                "name": sub.vault_name(slot),
                "type": "Microsoft.RecoveryServices/vaults",
                "location": sub.region(slot).name,
                "tags": { "environment": "prd" },
                "etag": format!("W/\"datetime'{}'\"", changed.zulu7().replace(':', "%3A")),
                "sku": { "name": "RS0", "tier": "Standard" },
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateEndpointStateForBackup": "None",
                    "privateEndpointStateForSiteRecovery": "None",
                    "publicNetworkAccess": "Enabled",
                    "securitySettings": {
                        "softDeleteSettings": {
                            "softDeleteState": "Enabled",
                            "softDeleteRetentionPeriodInDays": 14,
                            "enhancedSecurityState": "Enabled",
                        },
                        "immutabilitySettings": { "state": "Disabled" },
                        "multiUserAuthorization": "Disabled",
                    },
                    "redundancySettings": {
                        "standardTierStorageRedundancy": "GeoRedundant",
                        "crossRegionRestore": "Disabled",
                    },
                    "monitoringSettings": {
                        "azureMonitorAlertSettings": { "alertsForAllJobFailures": "Enabled" },
                        "classicAlertSettings": { "alertsForCriticalOperations": "Disabled" },
                    },
                    "secureScore": "Adequate",
                    "bcdrSecurityLevel": "Good",
                },
            })
        })
        .collect()
}

fn backup_policies(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
    let run_time = Ts::before_snapshot(SCHEDULE_LEAD + 170 * DAY).zulu();
    let mut policies = Vec::new();
    for &slot in &layout.vault_slots {
        for policy in [Policy::Standard, Policy::Enhanced] {
            let items = layout
                .policy_items
                .get(&(slot, policy))
                .copied()
                .unwrap_or(0);
            let mut properties = match policy {
                Policy::Standard => json!({
                    "backupManagementType": "AzureIaasVM",
                    "instantRPDetails": {},
                    "schedulePolicy": {
                        "schedulePolicyType": "SimpleSchedulePolicy",
                        "scheduleRunFrequency": "Daily",
                        "scheduleRunTimes": [run_time],
                        "scheduleWeeklyFrequency": 0,
                    },
                    "retentionPolicy": retention(&run_time, policy.retention_days()),
                    "instantRpRetentionRangeInDays": 2,
                    "timeZone": "UTC",
                }),
                Policy::Enhanced => json!({
                    "backupManagementType": "AzureIaasVM",
                    "policyType": "V2",
                    "instantRPDetails": {},
                    "schedulePolicy": {
                        "schedulePolicyType": "SimpleSchedulePolicyV2",
                        "scheduleRunFrequency": "Hourly",
                        "hourlySchedule": {
                            "interval": 4,
                            "scheduleWindowStartTime": run_time,
                            "scheduleWindowDuration": 16,
                        },
                    },
                    "retentionPolicy": retention(&run_time, policy.retention_days()),
                    "instantRpRetentionRangeInDays": 7,
                    "timeZone": "UTC",
                }),
            };
            properties["protectedItemsCount"] = json!(items);
            policies.push(json!({
                "id": sub.policy_id(slot, policy),
                "name": policy.name(),
                "type": "Microsoft.RecoveryServices/vaults/backupPolicies",
                "properties": properties,
            }));
        }
    }
    policies
}

fn retention(run_time: &str, days: u32) -> Value {
    json!({
        "retentionPolicyType": "LongTermRetentionPolicy",
        "dailySchedule": {
            "retentionTimes": [run_time],
            "retentionDuration": { "count": days, "durationType": "Days" },
        },
    })
}

/// A job's outcome: the error of a failed job, `None` for a completed one.
fn job_error(vm: &VmPlan, protection: &Protection, k: usize) -> Option<&'static JobError> {
    if k < protection.failing_jobs {
        vm.fault
            .and_then(Fault::job_failure)
            .map(|(error, _)| error)
    } else {
        None
    }
}

const PROTECTED_ITEM_TYPE: &str =
    "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems";

fn protected_item(sub: &SubPlan, vm: &VmPlan, jobs: usize) -> Vec<Value> {
    let Some(p) = &vm.protection else {
        return Vec::new();
    };
    let mut rng = vm.rng(stream::ITEM);
    let name = format!("VM;{}", vm.container());
    let last = p.stopped_jobs;
    let last_failed = job_error(vm, p, last).is_some();
    // Failures are always the most recent jobs, so the newest success follows them.
    let last_success = last.max(p.failing_jobs);
    let retained = i64::from(p.policy.retention_days());
    let state = match vm.fault {
        Some(Fault::ProtectionStopped) => "ProtectionStopped",
        _ => "Protected",
    };
    let mut properties = json!({
        "protectedItemType": "Microsoft.Compute/virtualMachines",
        "backupManagementType": "AzureIaasVM",
        "workloadType": "VM",
        "friendlyName": vm.name,
        "virtualMachineId": sub.vm_id(vm),
        "sourceResourceId": sub.vm_id(vm),
        "containerName": vm.container(),
        "protectionStatus": if last_failed { "Unhealthy" } else { "Healthy" },
        "protectionState": state,
        "healthStatus": "Passed",
        "healthDetails": [],
        "lastBackupStatus": if last_failed { "Failed" } else { "Completed" },
        "lastBackupTime": vm.job_start(last, jobs).zulu7(),
        "lastRecoveryPoint": vm.job_start(last_success, jobs).zulu7(),
        "policyId": sub.policy_id(p.vault_slot, p.policy),
        "policyName": p.policy.name(),
        "protectedItemDataId": rng.gen_range(10_000_000_000_000u64..99_999_999_999_999).to_string(),
        "extendedInfo": {
            "oldestRecoveryPoint": Ts::before_snapshot(retained * DAY).jitter(&mut rng).zulu7(),
            "recoveryPointCount": retained - p.failing_jobs as i64,
            "policyInconsistent": false,
        },
        "isScheduledForDeferredDelete": false,
        "softDeleteRetentionPeriodInDays": 14,
    });
    if p.policy == Policy::Enhanced {
        properties["policyType"] = json!("V2");
    }
    let vault = sub.vault_id(p.vault_slot);
    vec![json!({
        "id": format!(
            "{vault}/backupFabrics/Azure/protectionContainers/IaasVMContainer;{}\
             /protectedItems/{name}",
            vm.container()
        ),
        "name": name,
        "type": PROTECTED_ITEM_TYPE,
        "properties": properties,
    })]
}

fn backup_jobs(sub: &SubPlan, vm: &VmPlan, jobs: usize) -> Vec<Value> {
    let Some(p) = &vm.protection else {
        return Vec::new();
    };
    let mut rng = vm.rng(stream::JOBS);
    // The Backup service returns job ids with a capitalised `Subscriptions` segment.
    let vault = sub
        .vault_id(p.vault_slot)
        .replacen("/subscriptions/", "/Subscriptions/", 1);
    (p.stopped_jobs..jobs)
        .map(|k| {
            backup_job(
                vm,
                &vault,
                vm.job_start(k, jobs),
                job_error(vm, p, k),
                &mut rng,
            )
        })
        .collect()
}

fn job_task(id: &str, status: &str, ms: u64) -> Value {
    json!({ "taskId": id, "duration": iso_duration(ms), "status": status })
}

fn backup_job(
    vm: &VmPlan,
    vault: &str,
    start: Ts,
    error: Option<&JobError>,
    rng: &mut impl Rng,
) -> Value {
    let name = guid(rng);
    let snapshot_ms = rng.gen_range(30_000..240_000);
    let transfer_ms = if error.is_some() {
        0
    } else {
        rng.gen_range(300_000..3_000_000)
    };
    let end = start.plus_ms(snapshot_ms + transfer_ms);
    let (status, snapshot_status, transfer_status) = match error {
        Some(_) => ("Failed", "Failed", "Cancelled"),
        None => ("Completed", "Completed", "Completed"),
    };
    let mut extended = json!({
        "tasksList": [
            job_task("Take Snapshot", snapshot_status, snapshot_ms),
            job_task("Transfer data to vault", transfer_status, transfer_ms),
        ],
        "propertyBag": {},
    });
    let mut properties = json!({
        "jobType": "AzureIaaSVMJobV2",
        "entityFriendlyName": vm.name,
        "backupManagementType": "AzureIaasVM",
        "operation": "Backup",
        "status": status,
        "startTime": start.zulu7(),
        "endTime": end.zulu7(),
        "duration": iso_duration(snapshot_ms + transfer_ms),
        "activityId": guid(rng),
        "containerName": vm.container(),
        "virtualMachineVersion": "Compute",
        "isUserTriggered": false,
        "errorDetails": [],
        "actionsInfo": [],
    });
    if let Some(e) = error {
        properties["errorDetails"] = json!([{
            "errorCode": e.number,
            "errorString": format!("{} ({})", e.message, e.code),
            "errorTitle": "",
            "recommendations": [e.recommendation],
        }]);
        properties["actionsInfo"] = json!(["Retriable"]);
        extended["dynamicErrorMessage"] = json!(format!("{} ({})", e.message, e.code));
    }
    properties["extendedInfo"] = extended;
    json!({
        "id": format!("{vault}/backupJobs/{name}"),
        "name": name,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": properties,
    })
}

// ---------------------------------------------------------------------------------------------
// Tenant-wide documents.

fn write_tenant(
    out: &Path,
    tenant: &TenantPlan,
    regions: &BTreeSet<usize>,
    files: &mut Files,
) -> io::Result<()> {
    let dir = out.join("tenant");
    fs::create_dir_all(&dir)?;
    let subscriptions: Vec<Value> = tenant
        .subscriptions
        .iter()
        .enumerate()
        .map(|(i, (id, _))| {
            json!({
                "id": format!("/subscriptions/{id}"),
                "authorizationSource": "RoleBased",
                "managedByTenants": [],
                "subscriptionId": id,
                "tenantId": tenant.id,
                "displayName": format!("Contoso Workloads {:02}", i + 1),
                "state": "Enabled",
                "subscriptionPolicies": {
                    "locationPlacementId": "Public_2014-09-01",
                    "quotaId": "EnterpriseAgreement_2014-09-01",
                    "spendingLimit": "Off",
                },
            })
        })
        .collect();
    files.list(&dir, "subscriptions.json", subscriptions)?;
    files.write(
        &dir.join("graph.servicePrincipals.json"),
        &json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals",
            "value": [{
                "id": tenant.backup_sp,
                "appId": BACKUP_MANAGEMENT_APP_ID,
                "displayName": "Backup Management Service",
                "servicePrincipalType": "Application",
            }],
        }),
    )?;
    let first_sub = tenant
        .subscriptions
        .first()
        .map_or("00000000-0000-0000-0000-000000000000", |(id, _)| {
            id.as_str()
        });
    files.write(
        &dir.join("Microsoft.Network.serviceTags.json"),
        &service_tags(first_sub, regions),
    )?;
    files.write(
        &out.join("snapshot.json"),
        &json!({
            "schema": "backup-doctor/snapshot/v1",
            "created": SNAPSHOT_CREATED,
            "tenantId": tenant.id,
            "cloud": "public",
            "gaps": [],
        }),
    )
}

/// Services with regional tags: (tag name, systemService, index into the region's ranges).
const REGIONAL_SERVICES: [(&str, &str, u32); 2] = [
    ("AzureBackup", "AzureBackup", 0),
    ("Storage", "AzureStorage", 1),
];
/// Microsoft Entra ID has no regional tags.
const AAD_PREFIXES: [&str; 3] = ["20.190.128.0/18", "40.126.0.0/18", "2603:1006:2000::/48"];

/// Synthetic public ranges of service `service` (2 = general compute) in a region.
fn regional_prefixes(region: &Region, region_index: usize, service: u32) -> Vec<String> {
    vec![
        format!("20.{}.{}.0/21", region.octet, service * 64),
        format!("20.{}.{}.0/22", region.octet, service * 64 + 8),
        format!(
            "2603:10{:02x}:{:x}::/48",
            0x20 + region_index,
            0x100 * (service + 1)
        ),
    ]
}

fn service_tag(name: &str, system_service: &str, region: &str, prefixes: Vec<String>) -> Value {
    json!({
        "name": name,
        "id": name,
        "properties": {
            "changeNumber": "30",
            "region": region,
            "systemService": system_service,
            "addressPrefixes": prefixes,
        },
    })
}

fn service_tags(first_sub: &str, regions: &BTreeSet<usize>) -> Value {
    let mut values = Vec::new();
    // Global tags are the union of their regional variants, so containment holds by construction.
    for (tag, system, service) in REGIONAL_SERVICES {
        let regional: Vec<(&Region, Vec<String>)> = regions
            .iter()
            .map(|&r| (&REGIONS[r], regional_prefixes(&REGIONS[r], r, service)))
            .collect();
        values.push(service_tag(
            tag,
            system,
            "",
            regional.iter().flat_map(|(_, p)| p.clone()).collect(),
        ));
        for (region, prefixes) in regional {
            values.push(service_tag(
                &format!("{tag}.{}", region.tag),
                system,
                region.name,
                prefixes,
            ));
        }
    }
    values.push(service_tag(
        "AzureActiveDirectory",
        "AzureAD",
        "",
        AAD_PREFIXES.iter().map(|p| p.to_string()).collect(),
    ));
    let cloud_regional: Vec<(&Region, Vec<String>)> = regions
        .iter()
        .map(|&r| {
            (
                &REGIONS[r],
                (0..3)
                    .flat_map(|service| regional_prefixes(&REGIONS[r], r, service))
                    .collect(),
            )
        })
        .collect();
    let mut cloud: Vec<String> = cloud_regional.iter().flat_map(|(_, p)| p.clone()).collect();
    cloud.extend(AAD_PREFIXES.iter().map(|p| p.to_string()));
    values.push(service_tag("AzureCloud", "", "", cloud));
    for (region, prefixes) in cloud_regional {
        values.push(service_tag(
            &format!("AzureCloud.{}", region.tag),
            "",
            region.name,
            prefixes,
        ));
    }
    json!({
        "name": "Public",
        "id": format!("/subscriptions/{first_sub}/providers/Microsoft.Network/serviceTags/Public"),
        "type": "Microsoft.Network/serviceTags",
        "changeNumber": "112",
        "cloud": "Public",
        "values": values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::path::PathBuf;
    use std::sync::atomic::AtomicU32;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> TempDir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            TempDir(std::env::temp_dir().join(format!("synth-{label}-{}-{n}", std::process::id())))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn small_spec() -> FleetSpec {
        FleetSpec {
            subscriptions: 3,
            vms_per_subscription: 60,
            seed: 7,
            jobs_per_vm: 7,
        }
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d).expect("read generated dir") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path);
                }
            }
        }
        out.sort();
        out
    }

    fn read_list(path: &Path) -> Vec<Value> {
        let doc: Value =
            serde_json::from_slice(&fs::read(path).expect("read file")).expect("valid JSON");
        doc["value"].as_array().cloned().unwrap_or_default()
    }

    fn subscription_dirs(out: &Path) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = fs::read_dir(out)
            .expect("read out dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "tenant"))
            .collect();
        dirs.sort();
        dirs
    }

    fn ids(list: &[Value]) -> HashSet<String> {
        list.iter()
            .filter_map(|v| v["id"].as_str())
            .map(str::to_ascii_lowercase)
            .collect()
    }

    #[test]
    fn same_spec_gives_byte_identical_output() {
        let (a, b) = (TempDir::new("det-a"), TempDir::new("det-b"));
        let stats_a = generate(&a.0, &small_spec()).expect("first generation");
        let stats_b = generate(&b.0, &small_spec()).expect("second generation");
        let (files_a, files_b) = (files_under(&a.0), files_under(&b.0));
        assert_eq!(files_a.len(), stats_a.files);
        assert_eq!(
            (stats_a.files, stats_a.bytes, &stats_a.faults),
            (stats_b.files, stats_b.bytes, &stats_b.faults)
        );
        for (fa, fb) in files_a.iter().zip(&files_b) {
            assert_eq!(fa.strip_prefix(&a.0).ok(), fb.strip_prefix(&b.0).ok());
            assert!(
                fs::read(fa).ok() == fs::read(fb).ok(),
                "{} differs",
                fa.display()
            );
        }
        let on_disk: u64 = files_a
            .iter()
            .map(|f| fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        assert_eq!(on_disk, stats_a.bytes);
    }

    #[test]
    fn fault_counts_add_up_and_match_the_output() {
        let out = TempDir::new("faults");
        let spec = FleetSpec {
            subscriptions: 3,
            vms_per_subscription: 200,
            seed: 11,
            jobs_per_vm: 7,
        };
        let stats = generate(&out.0, &spec).expect("generation");
        assert_eq!(stats.vms, 600);
        let faulty: usize = stats.faults.values().sum();
        let healthy = stats.vms - faulty;
        assert!(
            (0.6..0.8).contains(&(healthy as f64 / stats.vms as f64)),
            "healthy share {healthy}/{}",
            stats.vms
        );
        assert_eq!(
            stats.faults.len(),
            ALL_FAULTS.len(),
            "every fault kind is reported"
        );

        // Recount from the files the faults a scanner can see directly.
        let (mut vms, mut not_ready, mut deallocated, mut stopped, mut locked_rgs) =
            (0, 0, 0, 0, 0);
        for dir in subscription_dirs(&out.0) {
            for vm in read_list(&dir.join("Microsoft.Compute.virtualMachines.json")) {
                vms += 1;
                let view = &vm["properties"]["instanceView"];
                not_ready += usize::from(view["vmAgent"]["vmAgentVersion"] == "Unknown");
                deallocated += usize::from(view["statuses"][1]["code"] == "PowerState/deallocated");
            }
            for item in
                read_list(&dir.join("Microsoft.RecoveryServices.vaults.backupProtectedItems.json"))
            {
                stopped +=
                    usize::from(item["properties"]["protectionState"] == "ProtectionStopped");
            }
            locked_rgs += read_list(&dir.join("Microsoft.Authorization.locks.json"))
                .iter()
                .filter(|l| {
                    l["id"]
                        .as_str()
                        .is_some_and(|id| id.contains("/AzureBackupRG_"))
                })
                .count();
        }
        let count = |key| stats.faults.get(key).copied().unwrap_or(0);
        assert_eq!(vms, stats.vms);
        assert_eq!(not_ready, count("agent_not_ready"));
        assert_eq!(deallocated, count("stopped_vm"));
        assert_eq!(stopped, count("protection_stopped"));
        assert!(locked_rgs <= spec.subscriptions);
        assert_eq!(locked_rgs > 0, count("restore_point_rg_lock") > 0);
    }

    #[test]
    fn every_reference_resolves_to_a_generated_resource() {
        let out = TempDir::new("refs");
        generate(&out.0, &small_spec()).expect("generation");
        for dir in subscription_dirs(&out.0) {
            let list = |name: &str| read_list(&dir.join(name));
            let vms = list("Microsoft.Compute.virtualMachines.json");
            let nics = list("Microsoft.Network.networkInterfaces.json");
            let disks = ids(&list("Microsoft.Compute.disks.json"));
            let nic_ids = ids(&nics);
            let vm_ids = ids(&vms);
            let subnets: HashSet<String> = list("Microsoft.Network.virtualNetworks.json")
                .iter()
                .flat_map(|vnet| {
                    vnet["properties"]["subnets"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|s| s["id"].as_str().map(str::to_ascii_lowercase))
                .collect();
            for vm in &vms {
                let p = &vm["properties"];
                for nic in p["networkProfile"]["networkInterfaces"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let id = nic["id"].as_str().expect("nic id").to_ascii_lowercase();
                    assert!(nic_ids.contains(&id), "dangling NIC {id}");
                }
                let storage = &p["storageProfile"];
                let data = storage["dataDisks"].as_array().into_iter().flatten();
                for disk in std::iter::once(&storage["osDisk"]).chain(data) {
                    let id = disk["managedDisk"]["id"]
                        .as_str()
                        .expect("disk id")
                        .to_ascii_lowercase();
                    assert!(disks.contains(&id), "dangling disk {id}");
                }
            }
            for nic in &nics {
                let subnet = nic["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"]
                    .as_str()
                    .expect("subnet");
                assert!(
                    subnets.contains(&subnet.to_ascii_lowercase()),
                    "dangling subnet {subnet}"
                );
            }
            let policies = ids(&list(
                "Microsoft.RecoveryServices.vaults.backupPolicies.json",
            ));
            for item in list("Microsoft.RecoveryServices.vaults.backupProtectedItems.json") {
                let vm = item["properties"]["virtualMachineId"]
                    .as_str()
                    .expect("vm id");
                let policy = item["properties"]["policyId"].as_str().expect("policy id");
                assert!(
                    vm_ids.contains(&vm.to_ascii_lowercase()),
                    "dangling item VM {vm}"
                );
                assert!(
                    policies.contains(&policy.to_ascii_lowercase()),
                    "dangling policy {policy}"
                );
            }
        }
    }
}
