//! Writing the files: a subscription's resource lists, each built only when its file is written,
//! subscriptions generated in parallel, and the bytes counted on their way to disk.

use super::backup::{backup_jobs, backup_policies, protected_item, recovery_vaults};
use super::compute::{disks, extensions, virtual_machine};
use super::keyvault::{key_vault_keys, key_vault_secrets, key_vaults};
use super::network::{network_interface, network_security_groups, route_tables, virtual_networks};
use super::plan::{plan_vms, BackupLayout, SubPlan, TenantPlan, VmPlan};
use super::subscription::{locks, providers, resource_groups, role_assignments};
use super::FleetSpec;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::{fs, io, panic, thread};

/// Files written and bytes in them.
#[derive(Debug, Default)]
pub(super) struct Files {
    pub(super) count: usize,
    pub(super) bytes: u64,
}

impl Files {
    pub(super) fn absorb(&mut self, other: &Files) {
        self.count += other.count;
        self.bytes += other.bytes;
    }

    pub(super) fn write(&mut self, path: &Path, doc: &Value) -> io::Result<()> {
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
    pub(super) fn list(&mut self, dir: &Path, name: &str, items: Vec<Value>) -> io::Result<()> {
        self.write(&dir.join(name), &json!({ "value": items }))
    }
}

/// Counts bytes on their way to the file, so the stats need no second pass over the output.
pub(super) struct Counting<W> {
    pub(super) inner: W,
    pub(super) written: u64,
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
pub(super) fn run_parallel<T, F>(n: usize, job: F) -> io::Result<Vec<T>>
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

pub(super) struct SubReport {
    pub(super) vms: usize,
    pub(super) files: Files,
    pub(super) faults: BTreeMap<&'static str, usize>,
    pub(super) regions: [usize; 2],
}

pub(super) fn generate_subscription(
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

pub(super) fn write_subscription(
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
