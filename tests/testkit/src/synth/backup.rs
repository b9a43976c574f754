//! Recovery Services: vaults, backup policies, protected items and backup jobs.

use super::catalogue::JobError;
use super::faults::Fault;
use super::plan::{BackupLayout, Policy, Protection, SubPlan, VmPlan};
use super::random::{guid, stream, stream_rng};
use super::time::{iso_duration, Ts, DAY, SCHEDULE_LEAD};
use rand::Rng;
use serde_json::{json, Value};

pub(super) fn recovery_vaults(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
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

pub(super) fn backup_policies(sub: &SubPlan, layout: &BackupLayout) -> Vec<Value> {
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

pub(super) fn retention(run_time: &str, days: u32) -> Value {
    json!({
        "retentionPolicyType": "LongTermRetentionPolicy",
        "dailySchedule": {
            "retentionTimes": [run_time],
            "retentionDuration": { "count": days, "durationType": "Days" },
        },
    })
}

/// A job's outcome: the error of a failed job, `None` for a completed one.
pub(super) fn job_error(
    vm: &VmPlan,
    protection: &Protection,
    k: usize,
) -> Option<&'static JobError> {
    if k < protection.failing_jobs {
        vm.fault
            .and_then(Fault::job_failure)
            .map(|(error, _)| error)
    } else {
        None
    }
}

pub(super) const PROTECTED_ITEM_TYPE: &str =
    "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems";

pub(super) fn protected_item(sub: &SubPlan, vm: &VmPlan, jobs: usize) -> Vec<Value> {
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

pub(super) fn backup_jobs(sub: &SubPlan, vm: &VmPlan, jobs: usize) -> Vec<Value> {
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

pub(super) fn job_task(id: &str, status: &str, ms: u64) -> Value {
    json!({ "taskId": id, "duration": iso_duration(ms), "status": status })
}

pub(super) fn backup_job(
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
