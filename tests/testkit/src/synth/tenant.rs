//! Tenant-wide documents: the subscription list, the Backup Management Service principal, the
//! service tags of the regions in use, and the snapshot manifest.

use super::catalogue::{Region, BACKUP_MANAGEMENT_APP_ID, REGIONS};
use super::plan::TenantPlan;
use super::time::SNAPSHOT_CREATED;
use super::write::Files;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::{fs, io};

pub(super) fn write_tenant(
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
pub(super) const REGIONAL_SERVICES: [(&str, &str, u32); 2] = [
    ("AzureBackup", "AzureBackup", 0),
    ("Storage", "AzureStorage", 1),
];
/// Microsoft Entra ID has no regional tags.
pub(super) const AAD_PREFIXES: [&str; 3] =
    ["20.190.128.0/18", "40.126.0.0/18", "2603:1006:2000::/48"];

/// Synthetic public ranges of service `service` (2 = general compute) in a region.
pub(super) fn regional_prefixes(region: &Region, region_index: usize, service: u32) -> Vec<String> {
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

pub(super) fn service_tag(
    name: &str,
    system_service: &str,
    region: &str,
    prefixes: Vec<String>,
) -> Value {
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

pub(super) fn service_tags(first_sub: &str, regions: &BTreeSet<usize>) -> Value {
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
