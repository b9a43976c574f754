//! The generator's guarantees: the same spec gives the same bytes, the fault counts match what the
//! files show, and every reference points at a generated resource.

use super::faults::ALL_FAULTS;
use super::{generate, FleetSpec};
use serde_json::Value;
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

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
    let (mut vms, mut not_ready, mut deallocated, mut stopped, mut locked_rgs) = (0, 0, 0, 0, 0);
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
            stopped += usize::from(item["properties"]["protectionState"] == "ProtectionStopped");
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
