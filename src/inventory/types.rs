//! The ARM resource types backup-doctor reads, named once. The snapshot loader recognises
//! resources by these names, the collector names its lists and gaps by them, the Terraform and
//! what-if sources map onto them, and the resolvers look gaps up by them.
//!
//! ARM compares type names case-insensitively; these are spelled as the REST specs spell them.

pub const SUBSCRIPTIONS: &str = "Microsoft.Resources/subscriptions";
pub const RESOURCE_GROUPS: &str = "Microsoft.Resources/resourceGroups";
/// The type ARM puts on resource group objects returned by `GET .../resourcegroups`.
pub const SUBSCRIPTION_RESOURCE_GROUPS: &str = "Microsoft.Resources/subscriptions/resourceGroups";
pub const PROVIDERS: &str = "Microsoft.Resources/providers";

pub const VIRTUAL_MACHINES: &str = "Microsoft.Compute/virtualMachines";
pub const VM_EXTENSIONS: &str = "Microsoft.Compute/virtualMachines/extensions";
pub const DISKS: &str = "Microsoft.Compute/disks";
pub const DISK_ENCRYPTION_SETS: &str = "Microsoft.Compute/diskEncryptionSets";
pub const RESTORE_POINT_COLLECTIONS: &str = "Microsoft.Compute/restorePointCollections";

pub const NETWORK_INTERFACES: &str = "Microsoft.Network/networkInterfaces";
pub const VIRTUAL_NETWORKS: &str = "Microsoft.Network/virtualNetworks";
pub const SUBNETS: &str = "Microsoft.Network/virtualNetworks/subnets";
pub const NETWORK_SECURITY_GROUPS: &str = "Microsoft.Network/networkSecurityGroups";
pub const ROUTE_TABLES: &str = "Microsoft.Network/routeTables";
pub const ROUTES: &str = "Microsoft.Network/routeTables/routes";
pub const PRIVATE_ENDPOINTS: &str = "Microsoft.Network/privateEndpoints";
pub const PRIVATE_DNS_ZONES: &str = "Microsoft.Network/privateDnsZones";
pub const PRIVATE_DNS_LINKS: &str = "Microsoft.Network/privateDnsZones/virtualNetworkLinks";
pub const PRIVATE_DNS_A_RECORDS: &str = "Microsoft.Network/privateDnsZones/A";
pub const SERVICE_TAGS: &str = "Microsoft.Network/serviceTags";

pub const LOCKS: &str = "Microsoft.Authorization/locks";
pub const POLICY_ASSIGNMENTS: &str = "Microsoft.Authorization/policyAssignments";
pub const POLICY_DEFINITIONS: &str = "Microsoft.Authorization/policyDefinitions";
pub const POLICY_SET_DEFINITIONS: &str = "Microsoft.Authorization/policySetDefinitions";
pub const POLICY_EXEMPTIONS: &str = "Microsoft.Authorization/policyExemptions";
pub const ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";
pub const ROLE_DEFINITIONS: &str = "Microsoft.Authorization/roleDefinitions";

pub const KEY_VAULTS: &str = "Microsoft.KeyVault/vaults";
pub const KEY_VAULT_KEYS: &str = "Microsoft.KeyVault/vaults/keys";
pub const KEY_VAULT_SECRETS: &str = "Microsoft.KeyVault/vaults/secrets";

pub const RECOVERY_VAULTS: &str = "Microsoft.RecoveryServices/vaults";
pub const BACKUP_POLICIES: &str = "Microsoft.RecoveryServices/vaults/backupPolicies";
pub const PROTECTED_ITEMS: &str =
    "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems";
pub const BACKUP_JOBS: &str = "Microsoft.RecoveryServices/vaults/backupJobs";

/// Resource Graph's `resourcechanges` rows (docs/change-attribution.md): what changed on a
/// resource, when, and who changed it.
pub const RESOURCE_CHANGES: &str = "Microsoft.Resources/changes";

/// The `what` of a gap in reading the subscriptions' Resource Graph `resourcecontainers` rows
/// (their management-group ancestry), which is no ARM resource type.
pub const RESOURCE_CONTAINERS: &str = "resourceContainers";

/// The `what` of a gap in reading VMs' run-time status (the `statusOnly` list or one VM's
/// instance view), which ARM serves as a sub-resource of the VM, not as a type of its own.
pub const VM_INSTANCE_VIEWS: &str = "Microsoft.Compute/virtualMachines/instanceView";

/// The `what` of the Microsoft Graph service principals read (no ARM resource type), and the
/// name of their file in a collection.
pub const SERVICE_PRINCIPALS: &str = "graph/servicePrincipals";

/// The lists a manifest gap may name besides the ARM types of the kinds read (see
/// `registry::gap_names`).
pub const LISTS_BEYOND_TYPES: &[&str] =
    &[RESOURCE_CONTAINERS, VM_INSTANCE_VIEWS, SERVICE_PRINCIPALS];
