//! Static catalogue: regions, images, sizes, extensions, job errors.

pub(super) struct Region {
    pub(super) name: &'static str,
    /// Suffix of regional service tags (`Storage.WestEurope`).
    pub(super) tag: &'static str,
    /// Short code used in resource names.
    pub(super) code: &'static str,
    /// Second octet of the region's synthetic public ranges; unique per region.
    pub(super) octet: u8,
}

pub(super) static REGIONS: [Region; 8] = [
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
pub(super) enum Os {
    Windows,
    Linux,
}

impl Os {
    pub(super) fn name(self) -> &'static str {
        match self {
            Os::Windows => "Windows",
            Os::Linux => "Linux",
        }
    }
}

pub(super) struct Image {
    pub(super) publisher: &'static str,
    pub(super) offer: &'static str,
    pub(super) sku: &'static str,
    pub(super) exact_version: &'static str,
    pub(super) os_name: &'static str,
    pub(super) os_version: &'static str,
    pub(super) gen2: bool,
}

pub(super) static WINDOWS_IMAGES: [Image; 4] = [
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

pub(super) static LINUX_IMAGES: [Image; 4] = [
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

pub(super) const VM_SIZES: [&str; 7] = [
    "Standard_D2s_v5",
    "Standard_D4s_v5",
    "Standard_D8s_v5",
    "Standard_E4s_v5",
    "Standard_E8ds_v5",
    "Standard_F4s_v2",
    "Standard_B2ms",
];

pub(super) const APPS: [&str; 10] = [
    "erp", "crm", "web", "api", "sql", "etl", "bi", "hr", "pay", "ops",
];
pub(super) const SUBNETS: [&str; 4] = ["snet-app", "snet-data", "snet-web", "snet-mgmt"];

pub(super) const DATA_SKUS: [&str; 3] = ["Premium_LRS", "StandardSSD_LRS", "Standard_LRS"];
pub(super) const ULTRA_SKU: &str = "UltraSSD_LRS";
/// Disk sizes of the P/E/S performance tiers, with the Premium IOPS and MB/s of each.
pub(super) const DISK_TIERS: [(u32, u32, u32); 8] = [
    (32, 120, 25),
    (64, 240, 50),
    (128, 500, 100),
    (256, 1_100, 125),
    (512, 2_300, 150),
    (1_024, 5_000, 200),
    (2_048, 7_500, 250),
    (4_095, 7_500, 250),
];

pub(super) const NETWORK_RG: &str = "rg-network";
pub(super) const BACKUP_RG: &str = "rg-backup";
pub(super) const SECURITY_RG: &str = "rg-security";
pub(super) const BASTION_RANGE: &str = "10.255.0.0/26";
pub(super) const APPGW_RANGE: &str = "10.255.2.0/24";
pub(super) const HUB_FIREWALL: &str = "10.255.1.4";
pub(super) const BACKUP_MANAGEMENT_APP_ID: &str = "262044b1-e2ce-469f-a196-69ab7ada62d3";
pub(super) const KEK_NAME: &str = "kek-ade";

/// Share of VMs without a fault that needs protection which are protected anyway; with the
/// faults that force protection this gives about 80% protected.
pub(super) const P_PROTECTED: f64 = 0.78;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ext {
    Snapshot,
    Monitor,
    Ade,
}

pub(super) struct ExtInfo {
    pub(super) name: &'static str,
    pub(super) publisher: &'static str,
    /// Version in the extension resource (major.minor, auto-upgraded).
    pub(super) version: &'static str,
    /// Version the agent reports in the instance view.
    pub(super) handler_version: &'static str,
    pub(super) message: &'static str,
}

impl Ext {
    pub(super) fn info(self, os: Os) -> ExtInfo {
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
pub(super) struct JobError {
    pub(super) code: &'static str,
    pub(super) number: i64,
    pub(super) message: &'static str,
    pub(super) recommendation: &'static str,
}

pub(super) const AGENT_UNAVAILABLE: JobError = JobError {
    code: "UserErrorGuestAgentStatusUnavailable",
    number: 400_001,
    message: "VM Agent unable to communicate with Azure Backup",
    recommendation: "Ensure the VM is running and its agent is up to date and Ready, then retry.",
};
pub(super) const EXTENSION_FAILED: JobError = JobError {
    code: "ExtensionOperationFailedForManagedDisks",
    number: 400_002,
    message: "VMSnapshot extension operation failed",
    recommendation:
        "Uninstall the backup extension so the next backup reinstalls it; check the agent.",
};
pub(super) const VSS_BAD_STATE: JobError = JobError {
    code: "ExtensionFailedVssWriterInBadState",
    number: 400_003,
    message: "Snapshot operation failed because VSS writers were in bad state",
    recommendation:
        "Restart the VSS writers that are not in a stable state (vssadmin list writers) and retry.",
};
pub(super) const FSFREEZE_FAILED: JobError = JobError {
    code: "UserErrorFsFreezeFailed",
    number: 400_004,
    message: "Failed to freeze one or more mount-points of the VM",
    recommendation:
        "Repair the file systems, or list the mounts in MountsToSkip in /etc/azure/vmbackup.conf.",
};
pub(super) const UNSUPPORTED_DISK: JobError = JobError {
    code: "UserErrorUnsupportedDiskConfiguration",
    number: 400_005,
    message: "Currently Azure Backup does not support disks of this type with the Standard policy",
    recommendation: "Move the VM to an Enhanced backup policy, or exclude the unsupported disk.",
};
pub(super) const SHARED_DISK: JobError = JobError {
    code: "UserErrorSharedDiskBackupNotSupported",
    number: 400_006,
    message: "Backup of VMs with shared disks is not supported",
    recommendation:
        "Use an Enhanced policy and exclude the shared disk; protect it with Azure Disk Backup.",
};
pub(super) const RP_LIMIT: JobError = JobError {
    code: "UserErrorRpCollectionLimitReached",
    number: 400_007,
    message: "The Restore Point collection max limit has reached",
    recommendation:
        "Remove the lock on the restore point resource group, then run an on-demand backup.",
};
pub(super) const NOT_DESIRABLE: JobError = JobError {
    code: "UserErrorVmNotInDesirableState",
    number: 400_008,
    message: "VM is not in a state that allows backups",
    recommendation: "Wait until the VM is running or stopped and retry the operation.",
};
pub(super) const KEYVAULT_PERMISSIONS: JobError = JobError {
    code: "UserErrorKeyvaultPermissionsNotConfigured",
    number: 400_009,
    message: "Backup doesn't have sufficient permissions to the key vault",
    recommendation:
        "Grant Backup Management Service get, list and backup on the vault's keys and secrets.",
};
pub(super) const LOCATION_MISMATCH: JobError = JobError {
    code: "UserErrorVmVaultLocationMismatch",
    number: 400_010,
    message: "The VM and the Recovery Services vault are in different regions",
    recommendation: "Protect the VM with a Recovery Services vault in the VM's region.",
};
