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
//! Shapes follow what ARM returns, as `docs/snapshots.md` describes each resource type,
//! including two casing quirks a scanner must tolerate: backup job ids start with
//! `/Subscriptions/`, and about a quarter of the VMs reference their disks and NIC with an
//! upper-cased resource group, as Compute does for VMs deployed from some templates.

mod arm;
mod backup;
mod catalogue;
mod compute;
mod faults;
mod keyvault;
mod network;
mod plan;
mod random;
mod subscription;
mod tenant;
#[cfg(test)]
mod tests;
mod time;
mod write;

use faults::ALL_FAULTS;
use plan::TenantPlan;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;
use tenant::write_tenant;
use write::{generate_subscription, run_parallel, Files};

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
