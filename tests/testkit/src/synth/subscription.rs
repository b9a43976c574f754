//! Subscription-level resources: resource groups, resource providers, locks and role assignments.

use super::arm::resource_group;
use super::catalogue::{BACKUP_RG, NETWORK_RG, SECURITY_RG};
use super::plan::{BackupLayout, SubPlan, VmPlan};
use super::random::{guid, stream, stream_rng};
use super::time::{Ts, DAY};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub(super) fn resource_groups(sub: &SubPlan, vms: &[VmPlan], layout: &BackupLayout) -> Vec<Value> {
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

pub(super) fn providers(sub: &SubPlan) -> Vec<Value> {
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

pub(super) fn lock(scope: &str, name: &str, notes: &str) -> Value {
    json!({
        "id": format!("{scope}/providers/Microsoft.Authorization/locks/{name}"),
        "name": name,
        "type": "Microsoft.Authorization/locks",
        "properties": { "level": "CanNotDelete", "notes": notes, "owners": [] },
    })
}

pub(super) fn locks(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
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
pub(super) const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub(super) const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub(super) const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub(super) const BACKUP_CONTRIBUTOR: &str = "5e467623-bb1f-42f4-a55d-6e525e11384b";
pub(super) const KEY_VAULT_ADMINISTRATOR: &str = "00482a5a-887f-4fb3-b363-3b7fe8e74483";

pub(super) fn role_assignments(sub: &SubPlan) -> Vec<Value> {
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
