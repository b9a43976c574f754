//! The declarative half of the mapping. One row per Terraform type this source maps: the ARM
//! type its changes write, where the resource's id comes from and where it lives, the
//! attributes copied as they are, and the function (in the family's file) for what a table
//! cannot say. Below the rows, the attribute tables of the nested blocks those functions build.
//!
//! A type whose attributes all copy as they are is one row here and nothing else.

use super::fields::{field, Field, Kind::*};
use super::mapping::{Association, Element, Fill, Id, Location, Location::*, Map};
use super::{backup, compute, keyvault, network, policy};
use crate::inventory::types::{
    BACKUP_POLICIES, DISKS, DISK_ENCRYPTION_SETS, KEY_VAULTS, LOCKS, NETWORK_INTERFACES,
    NETWORK_SECURITY_GROUPS, POLICY_ASSIGNMENTS, POLICY_DEFINITIONS, POLICY_EXEMPTIONS,
    PRIVATE_DNS_A_RECORDS, PRIVATE_DNS_LINKS, PRIVATE_DNS_ZONES, PRIVATE_ENDPOINTS,
    PROTECTED_ITEMS, PROVIDERS, RECOVERY_VAULTS, ROUTE_TABLES, SUBNETS, VIRTUAL_MACHINES,
    VM_EXTENSIONS,
};

/// A Terraform type, the ARM type its changes write, and how.
pub(super) struct Mapping {
    pub terraform: &'static str,
    /// The resource's own ARM type, or, for a child, an association or an attachment that
    /// changes another resource, that resource's type.
    pub arm_type: &'static str,
    pub map: Map,
}

/// The mapping of a Terraform type, if this source maps it.
pub(super) fn mapping(terraform: &str) -> Option<&'static Mapping> {
    MAPPINGS.iter().find(|m| m.terraform == terraform)
}

#[rustfmt::skip]
pub(super) const MAPPINGS: &[Mapping] = &[
    // Compute (compute.rs)
    resource("azurerm_linux_virtual_machine", VIRTUAL_MACHINES,
        IN_GROUP, FromPlan, Some(compute::linux_vm), VM),
    resource("azurerm_windows_virtual_machine", VIRTUAL_MACHINES,
        IN_GROUP, FromPlan, Some(compute::windows_vm), VM),
    resource("azurerm_virtual_machine", VIRTUAL_MACHINES,
        IN_GROUP, FromPlan, Some(compute::legacy_vm), &[
        field("vm_size", "properties.hardwareProfile.vmSize", Str),
        field("storage_data_disk", "properties.storageProfile.dataDisks", BlocksOf(compute::legacy_disk)),
        field("os_profile_windows_config.provision_vm_agent", "properties.osProfile.windowsConfiguration.provisionVMAgent", Bool),
        ULTRA_SSD,
    ]),
    resource("azurerm_virtual_machine_extension", VM_EXTENSIONS,
        Id::Under("virtual_machine_id"), Omitted, Some(compute::redeployed), &[
        field("publisher", "properties.publisher", Str),
        field("type", "properties.type", Str),
        field("type_handler_version", "properties.typeHandlerVersion", Str),
    ]),
    resource("azurerm_managed_disk", DISKS,
        IN_GROUP, FromPlan, Some(compute::disk_encryption), &[
        field("storage_account_type", "sku.name", Str),
        field("disk_size_gb", "properties.diskSizeGB", Num),
        field("max_shares", "properties.maxShares", Num),
        field("os_type", "properties.osType", Str),
        field("security_type", "properties.securityProfile.securityType", Str),
    ]),
    row("azurerm_virtual_machine_data_disk_attachment", VIRTUAL_MACHINES,
        Map::Edits(compute::data_disk_attachment)),
    resource("azurerm_disk_encryption_set", DISK_ENCRYPTION_SETS,
        IN_GROUP, FromPlan, Some(compute::active_key), &[
        field("encryption_type", "properties.encryptionType", Str),
    ]),

    // Network (network.rs)
    resource("azurerm_network_interface", NETWORK_INTERFACES,
        IN_GROUP, FromPlan, Some(network::ip_configurations), &[]),
    association("azurerm_network_interface_security_group_association", NETWORK_INTERFACES,
        "network_interface_id", "network_security_group_id", NSG_REFERENCE, "|"),
    resource("azurerm_subnet", SUBNETS,
        Id::InResourceGroup(&["virtual_network_name"]), Omitted, Some(network::address_prefixes), &[]),
    association("azurerm_subnet_network_security_group_association", SUBNETS,
        "subnet_id", "network_security_group_id", NSG_REFERENCE, ""),
    association("azurerm_subnet_route_table_association", SUBNETS,
        "subnet_id", "route_table_id", &["properties", "routeTable"], ""),
    resource("azurerm_network_security_group", NETWORK_SECURITY_GROUPS,
        IN_GROUP, FromPlan, Some(network::security_rules), &[]),
    element("azurerm_network_security_rule", NETWORK_SECURITY_GROUPS,
        "network_security_group_name", &["properties", "securityRules"], network::SECURITY_RULE),
    resource("azurerm_route_table", ROUTE_TABLES,
        IN_GROUP, FromPlan, Some(network::bgp_route_propagation), &[
        field("route", "properties.routes", Children(network::ROUTE)),
    ]),
    element("azurerm_route", ROUTE_TABLES,
        "route_table_name", &["properties", "routes"], network::ROUTE),
    resource("azurerm_private_endpoint", PRIVATE_ENDPOINTS,
        IN_GROUP, FromPlan, Some(network::vault_connections), &[
        field("subnet_id", "properties.subnet.id", Str),
        field("private_service_connection", "properties.privateLinkServiceConnections", Blocks(&[
            field("private_connection_resource_id", "properties.privateLinkServiceId", Str).or_null(),
            field("name", "name", Str).or_null(),
            field("subresource_names", "properties.groupIds", Strs).or_null(),
        ])),
        field("custom_dns_configs", "properties.customDnsConfigs", Blocks(&[
            field("fqdn", "fqdn", Str).or_null(),
            field("ip_addresses", "ipAddresses", Strs).or_null(),
        ])),
    ]),
    row("azurerm_private_dns_zone", PRIVATE_DNS_ZONES,
        Map::Edits(network::dns_zone)),
    resource("azurerm_private_dns_zone_virtual_network_link", PRIVATE_DNS_LINKS,
        Id::InResourceGroup(&["private_dns_zone_name"]), Global, None, &[
        field("name", "name", Required),
        field("virtual_network_id", "properties.virtualNetwork.id", Str),
        field("registration_enabled", "properties.registrationEnabled", Bool),
        field("resolution_policy", "properties.resolutionPolicy", Str),
    ]),
    resource("azurerm_private_dns_a_record", PRIVATE_DNS_A_RECORDS,
        Id::InResourceGroup(&["zone_name"]), Omitted, None, &[
        field("name", "name", Required),
        field("ttl", "properties.ttl", Num),
        field("records", "properties.aRecords", Wrapped("ipv4Address")),
    ]),

    // Governance (policy.rs): azurerm has one policy assignment and one exemption type per kind
    // of scope.
    resource("azurerm_management_lock", LOCKS,
        Id::AtScope("scope"), Omitted, None, &[
        field("lock_level", "properties.level", Str),
        field("notes", "properties.notes", Str),
    ]),
    resource("azurerm_subscription_policy_assignment", POLICY_ASSIGNMENTS,
        Id::AtScope("subscription_id"), FromPlan, ENFORCEMENT, ASSIGNMENT),
    resource("azurerm_resource_group_policy_assignment", POLICY_ASSIGNMENTS,
        Id::AtScope("resource_group_id"), FromPlan, ENFORCEMENT, ASSIGNMENT),
    resource("azurerm_management_group_policy_assignment", POLICY_ASSIGNMENTS,
        Id::AtScope("management_group_id"), FromPlan, ENFORCEMENT, ASSIGNMENT),
    resource("azurerm_resource_policy_assignment", POLICY_ASSIGNMENTS,
        Id::AtScope("resource_id"), FromPlan, ENFORCEMENT, ASSIGNMENT),
    resource("azurerm_policy_definition", POLICY_DEFINITIONS,
        Id::Computed(policy::definition_id), Omitted, None, &[
        field("display_name", "properties.displayName", Str),
        field("policy_type", "properties.policyType", Str),
        field("mode", "properties.mode", Str),
        field("parameters", "properties.parameters", Json),
        field("policy_rule", "properties.policyRule", Json),
    ]),
    resource("azurerm_subscription_policy_exemption", POLICY_EXEMPTIONS,
        Id::AtScope("subscription_id"), Omitted, None, EXEMPTION),
    resource("azurerm_resource_group_policy_exemption", POLICY_EXEMPTIONS,
        Id::AtScope("resource_group_id"), Omitted, None, EXEMPTION),
    resource("azurerm_management_group_policy_exemption", POLICY_EXEMPTIONS,
        Id::AtScope("management_group_id"), Omitted, None, EXEMPTION),
    resource("azurerm_resource_policy_exemption", POLICY_EXEMPTIONS,
        Id::AtScope("resource_id"), Omitted, None, EXEMPTION),
    row("azurerm_resource_provider_registration", PROVIDERS,
        Map::Edits(policy::provider_registration)),

    // Key Vault (keyvault.rs)
    resource("azurerm_key_vault", KEY_VAULTS,
        IN_GROUP, FromPlan, Some(keyvault::access), &[
        field("tenant_id", "properties.tenantId", Str),
        field("vault_uri", "properties.vaultUri", Str),
        field("enabled_for_disk_encryption", "properties.enabledForDiskEncryption", Bool),
        field("purge_protection_enabled", "properties.enablePurgeProtection", Bool),
        field("public_network_access_enabled", "properties.publicNetworkAccess", EnabledDisabled),
    ]),
    row("azurerm_key_vault_access_policy", KEY_VAULTS,
        Map::Edits(keyvault::access_policy)),

    // Backup (backup.rs)
    resource("azurerm_recovery_services_vault", RECOVERY_VAULTS,
        IN_GROUP, FromPlan, None, &[
        field("sku", "sku.name", Str),
        field("public_network_access_enabled", "properties.publicNetworkAccess", EnabledDisabled),
    ]),
    resource("azurerm_backup_policy_vm", BACKUP_POLICIES,
        Id::InResourceGroup(&["recovery_vault_name"]), Omitted, Some(backup::vm_policy), &[
        field("name", "name", Required),
        field("policy_type", "properties.policyType", Str),
        field("instant_restore_retention_days", "properties.instantRpRetentionRangeInDays", Num),
        field("instant_restore_resource_group", "properties.instantRPDetails", Block(&[
            field("prefix", "azureBackupRGNamePrefix", Str),
            field("suffix", "azureBackupRGNameSuffix", Str),
        ])),
    ]),
    resource("azurerm_backup_protected_vm", PROTECTED_ITEMS,
        Id::Computed(backup::protected_item_id), Omitted, Some(backup::protected_vm), &[
        field("backup_policy_id", "properties.policyId", Str),
        field("protection_state", "properties.protectionState", Str),
    ]),
];

const IN_GROUP: Id = Id::InResourceGroup(&[]);
const NSG_REFERENCE: &[&str] = &["properties", "networkSecurityGroup"];
const ENFORCEMENT: Option<Fill> = Some(policy::assignment_effect);

#[rustfmt::skip]
const VM: &[Field] = &[
    field("size", "properties.hardwareProfile.vmSize", Str),
    field("source_image_reference", "properties.storageProfile.imageReference", Block(&[
        field("publisher", "publisher", Str),
        field("offer", "offer", Str),
        field("sku", "sku", Str),
    ])),
    field("encryption_at_host_enabled", "properties.securityProfile.encryptionAtHost", Bool),
    ULTRA_SSD,
];

#[rustfmt::skip]
const ULTRA_SSD: Field =
    field("additional_capabilities.ultra_ssd_enabled", "properties.additionalCapabilities.ultraSSDEnabled", Bool);

#[rustfmt::skip]
const ASSIGNMENT: &[Field] = &[
    field("display_name", "properties.displayName", Str),
    field("policy_definition_id", "properties.policyDefinitionId", Str),
    field("not_scopes", "properties.notScopes", Strs),
    field("parameters", "properties.parameters", Json),
];

#[rustfmt::skip]
const EXEMPTION: &[Field] = &[
    field("display_name", "properties.displayName", Str),
    field("policy_assignment_id", "properties.policyAssignmentId", Str),
    field("exemption_category", "properties.exemptionCategory", Str),
    field("expires_on", "properties.expiresOn", Str),
    field("policy_definition_reference_ids", "properties.policyDefinitionReferenceIds", Strs),
];

const fn row(terraform: &'static str, arm_type: &'static str, map: Map) -> Mapping {
    Mapping {
        terraform,
        arm_type,
        map,
    }
}

const fn resource(
    terraform: &'static str,
    arm_type: &'static str,
    id: Id,
    location: Location,
    fill: Option<Fill>,
    fields: &'static [Field],
) -> Mapping {
    row(
        terraform,
        arm_type,
        Map::Resource {
            id,
            location,
            fields,
            fill,
        },
    )
}

const fn association(
    terraform: &'static str,
    arm_type: &'static str,
    parent: &'static str,
    target: &'static str,
    path: &'static [&'static str],
    separator: &'static str,
) -> Mapping {
    let association = Association {
        parent,
        target,
        path,
        separator,
    };
    row(terraform, arm_type, Map::Association(association))
}

const fn element(
    terraform: &'static str,
    arm_type: &'static str,
    parent_name: &'static str,
    array: &'static [&'static str],
    fields: &'static [Field],
) -> Mapping {
    let element = Element {
        parent_name,
        array,
        fields,
    };
    row(terraform, arm_type, Map::Element(element))
}
