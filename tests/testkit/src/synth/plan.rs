//! Plans: every random decision that more than one resource depends on is made here, once.

use super::catalogue::{
    Ext, Image, Os, Region, APPS, BACKUP_RG, DATA_SKUS, DISK_TIERS, KEK_NAME, LINUX_IMAGES,
    NETWORK_RG, P_PROTECTED, REGIONS, SECURITY_RG, SUBNETS, ULTRA_SKU, VM_SIZES, WINDOWS_IMAGES,
};
use super::faults::{Fault, Pick, PICKS};
use super::random::{guid, hex32, stream, stream_rng};
use super::time::{Ts, DAY, JOB_WINDOW, MINUTE, SCHEDULE_LEAD};
use super::FleetSpec;
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct TenantPlan {
    pub(super) id: String,
    /// Object id of the Backup Management Service principal in this tenant.
    pub(super) backup_sp: String,
    pub(super) subscriptions: Vec<(String, u64)>,
}

impl TenantPlan {
    pub(super) fn new(spec: &FleetSpec) -> Self {
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

pub(super) struct SubnetPlan {
    pub(super) name: &'static str,
    pub(super) routed: bool,
}

pub(super) struct SubPlan {
    pub(super) index: usize,
    pub(super) id: String,
    pub(super) seed: u64,
    pub(super) tenant: String,
    pub(super) backup_sp: String,
    /// Primary and secondary region, as indexes into `REGIONS`.
    pub(super) regions: [usize; 2],
    pub(super) subnets: [Vec<SubnetPlan>; 2],
    /// Slot of the region whose restore-point resource group carries a delete lock.
    pub(super) locked_slot: Option<usize>,
    pub(super) admins_group: String,
    pub(super) automation_sp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Policy {
    Standard,
    Enhanced,
}

impl Policy {
    pub(super) fn name(self) -> &'static str {
        match self {
            Policy::Standard => "DefaultPolicy",
            Policy::Enhanced => "EnhancedPolicy",
        }
    }

    /// Daily recovery points kept in the vault.
    pub(super) fn retention_days(self) -> u32 {
        match self {
            Policy::Standard => 30,
            Policy::Enhanced => 180,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ade {
    None,
    /// Key vault grants the Backup Management Service access.
    Granted,
    /// Key vault lacks the access policy for the Backup Management Service.
    Missing,
}

pub(super) struct Protection {
    /// Slot (0 primary, 1 secondary) of the subscription region whose vault protects the VM.
    pub(super) vault_slot: usize,
    pub(super) policy: Policy,
    /// The most recent jobs that failed.
    pub(super) failing_jobs: usize,
    /// The most recent job slots without a job because protection was stopped.
    pub(super) stopped_jobs: usize,
}

pub(super) struct DiskPlan {
    pub(super) lun: u32,
    pub(super) sku: &'static str,
    pub(super) size_gb: u32,
    pub(super) max_shares: Option<u32>,
}

pub(super) struct VmPlan {
    pub(super) name: String,
    pub(super) rg: String,
    pub(super) app: &'static str,
    pub(super) env: &'static str,
    pub(super) os: Os,
    pub(super) image: &'static Image,
    pub(super) size: &'static str,
    /// Slot (0 primary, 1 secondary) of the subscription region the VM lives in.
    pub(super) slot: usize,
    pub(super) subnet: usize,
    pub(super) ip_host: u32,
    pub(super) data_disks: Vec<DiskPlan>,
    pub(super) fault: Option<Fault>,
    pub(super) ade_granted: bool,
    pub(super) protection: Option<Protection>,
    pub(super) trusted_launch: bool,
    pub(super) monitoring: bool,
    /// References to disks and NIC carry the resource group upper-cased.
    pub(super) upper_refs: bool,
    pub(super) created: Ts,
    /// Offset of this VM's backups into the schedule window.
    pub(super) job_offset: i64,
    pub(super) seed: u64,
}

impl VmPlan {
    pub(super) fn rng(&self, stream: u64) -> ChaCha8Rng {
        stream_rng(self.seed, stream)
    }

    pub(super) fn ade(&self) -> Ade {
        match (self.fault, self.ade_granted) {
            (Some(Fault::AdeWithoutBackupAccess), _) => Ade::Missing,
            (_, true) => Ade::Granted,
            _ => Ade::None,
        }
    }

    pub(super) fn extensions(&self) -> Vec<Ext> {
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

    pub(super) fn os_disk_name(&self) -> String {
        format!("{}-osdisk", self.name)
    }

    pub(super) fn data_disk_name(&self, lun: u32) -> String {
        format!("{}-datadisk-{lun:02}", self.name)
    }

    pub(super) fn nic_name(&self) -> String {
        format!("{}-nic", self.name)
    }

    pub(super) fn computer_name(&self) -> String {
        // Windows limits computer names to 15 characters.
        self.name.trim_start_matches("vm-").replace('-', "")
    }

    pub(super) fn container(&self) -> String {
        format!("iaasvmcontainerv2;{};{}", self.rg, self.name)
    }

    /// Start of job slot `k` (0 = most recent); slots are spread evenly over the job window.
    /// A pure function of the plan, so the protected item's times match its jobs exactly.
    pub(super) fn job_start(&self, k: usize, jobs: usize) -> Ts {
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
    pub(super) fn new(index: usize, id: &str, seed: u64, tenant: &TenantPlan) -> Self {
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

    pub(super) fn region(&self, slot: usize) -> &'static Region {
        &REGIONS[self.regions[slot]]
    }

    pub(super) fn scope(&self) -> String {
        format!("/subscriptions/{}", self.id)
    }

    pub(super) fn rg_id(&self, rg: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}", self.id)
    }

    pub(super) fn resource_id(&self, rg: &str, kind: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/{kind}/{name}",
            self.id
        )
    }

    pub(super) fn short(&self) -> &str {
        &self.id[..8]
    }

    pub(super) fn vm_id(&self, vm: &VmPlan) -> String {
        self.resource_id(&vm.rg, "Microsoft.Compute/virtualMachines", &vm.name)
    }

    /// The resource group as the VM's references spell it.
    pub(super) fn ref_rg(vm: &VmPlan) -> String {
        if vm.upper_refs {
            vm.rg.to_uppercase()
        } else {
            vm.rg.clone()
        }
    }

    pub(super) fn disk_id(&self, rg: &str, name: &str) -> String {
        self.resource_id(rg, "Microsoft.Compute/disks", name)
    }

    pub(super) fn nic_id(&self, rg: &str, vm: &VmPlan) -> String {
        self.resource_id(rg, "Microsoft.Network/networkInterfaces", &vm.nic_name())
    }

    /// The name of a resource the subscription has one of per region: `{prefix}-{sub}-{region}`.
    fn regional_name(&self, prefix: &str, slot: usize) -> String {
        format!("{prefix}-{}-{}", self.short(), self.region(slot).code)
    }

    pub(super) fn vnet_name(&self, slot: usize) -> String {
        self.regional_name("vnet", slot)
    }

    pub(super) fn vnet_id(&self, slot: usize) -> String {
        let name = self.vnet_name(slot);
        self.resource_id(NETWORK_RG, "Microsoft.Network/virtualNetworks", &name)
    }

    pub(super) fn subnet_id(&self, slot: usize, subnet: usize) -> String {
        format!(
            "{}/subnets/{}",
            self.vnet_id(slot),
            self.subnets[slot][subnet].name
        )
    }

    pub(super) fn nsg_name(&self, slot: usize, subnet: usize) -> String {
        format!(
            "nsg-{}-{}",
            self.region(slot).code,
            self.subnets[slot][subnet].name
        )
    }

    pub(super) fn nsg_id(&self, slot: usize, subnet: usize) -> String {
        let name = self.nsg_name(slot, subnet);
        self.resource_id(NETWORK_RG, "Microsoft.Network/networkSecurityGroups", &name)
    }

    pub(super) fn route_table_name(&self, slot: usize) -> String {
        format!("rt-{}-spoke", self.region(slot).code)
    }

    pub(super) fn route_table_id(&self, slot: usize) -> String {
        let name = self.route_table_name(slot);
        self.resource_id(NETWORK_RG, "Microsoft.Network/routeTables", &name)
    }

    pub(super) fn vnet_prefix(&self, slot: usize) -> String {
        format!("10.{}.0.0/16", self.vnet_octet(slot))
    }

    /// Second octet of the slot's VNet (10.x.0.0/16), unique within the fleet's first 125 subs.
    pub(super) fn vnet_octet(&self, slot: usize) -> usize {
        (self.index * 2 + slot) % 250
    }

    pub(super) fn vault_name(&self, slot: usize) -> String {
        self.regional_name("rsv", slot)
    }

    pub(super) fn vault_id(&self, slot: usize) -> String {
        let name = self.vault_name(slot);
        self.resource_id(BACKUP_RG, "Microsoft.RecoveryServices/vaults", &name)
    }

    pub(super) fn policy_id(&self, slot: usize, policy: Policy) -> String {
        format!("{}/backupPolicies/{}", self.vault_id(slot), policy.name())
    }

    pub(super) fn restore_point_rg(&self, slot: usize) -> String {
        format!("AzureBackupRG_{}_1", self.region(slot).name)
    }

    pub(super) fn key_vault_name(&self, slot: usize, grants_backup: bool) -> String {
        let suffix = if grants_backup { "-bk" } else { "" };
        format!("{}{suffix}", self.regional_name("kv", slot))
    }

    pub(super) fn key_vault_id(&self, slot: usize, grants_backup: bool) -> String {
        let name = self.key_vault_name(slot, grants_backup);
        self.resource_id(SECURITY_RG, "Microsoft.KeyVault/vaults", &name)
    }

    pub(super) fn key_vault_uri(&self, slot: usize, grants_backup: bool) -> String {
        format!(
            "https://{}.vault.azure.net/",
            self.key_vault_name(slot, grants_backup)
        )
    }

    /// Current version of the key-encryption key in a key vault.
    pub(super) fn kek_version(&self, slot: usize, grants_backup: bool) -> String {
        let stream = stream::KEK_VERSIONS + slot as u64 * 2 + u64::from(grants_backup);
        hex32(&mut stream_rng(self.seed, stream))
    }

    pub(super) fn kek_url(&self, slot: usize, grants_backup: bool) -> String {
        format!(
            "{}keys/{KEK_NAME}/{}",
            self.key_vault_uri(slot, grants_backup),
            self.kek_version(slot, grants_backup)
        )
    }
}

pub(super) fn plan_subnets(rng: &mut impl Rng) -> Vec<SubnetPlan> {
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
pub(super) struct Planner<'a> {
    pub(super) sub: &'a SubPlan,
    pub(super) rng: ChaCha8Rng,
    pub(super) weights: WeightedIndex<u32>,
    /// Next free host number per (region slot, subnet).
    pub(super) hosts: [[u32; SUBNETS.len()]; 2],
    pub(super) jobs: usize,
}

impl<'a> Planner<'a> {
    pub(super) fn new(sub: &'a SubPlan, jobs: usize) -> Self {
        Planner {
            sub,
            rng: stream_rng(sub.seed, stream::VM_PLAN),
            weights: WeightedIndex::new(PICKS.iter().map(|(_, w)| *w))
                .expect("pick weights are valid"),
            hosts: [[0; SUBNETS.len()]; 2],
            jobs,
        }
    }

    pub(super) fn plan_vm(&mut self, index: usize) -> VmPlan {
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

pub(super) fn plan_vms(sub: &SubPlan, count: usize, jobs: usize) -> Vec<VmPlan> {
    let mut planner = Planner::new(sub, jobs);
    (0..count).map(|i| planner.plan_vm(i)).collect()
}

pub(super) fn plan_protection(
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

pub(super) fn plan_disks(rng: &mut impl Rng, fault: Option<Fault>) -> Vec<DiskPlan> {
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

/// Which backup-side resources a subscription needs, derived from its VMs.
pub(super) struct BackupLayout {
    /// Region slots with a Recovery Services vault.
    pub(super) vault_slots: BTreeSet<usize>,
    /// Region slots that need a key vault granting the Backup Management Service.
    pub(super) granted_kv_slots: BTreeSet<usize>,
    /// Protected items per (vault slot, policy).
    pub(super) policy_items: BTreeMap<(usize, Policy), usize>,
}

impl BackupLayout {
    pub(super) fn new(vms: &[VmPlan]) -> Self {
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

    pub(super) fn lock_slot(&self, sub: &SubPlan) -> Option<usize> {
        sub.locked_slot
            .filter(|slot| self.vault_slots.contains(slot))
    }
}
