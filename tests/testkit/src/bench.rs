//! What the benchmarks share: their settings from the environment, and the synthetic fleet they
//! run on, generated once and kept under `target/`.

use crate::fixtures::root;
use crate::synth::{generate, FleetSpec};
use std::path::PathBuf;
use std::time::Instant;

/// The environment variable `name` as a number, or `default` when it is unset or not one.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The benchmark fleet: BD_BENCH_SUBSCRIPTIONS × BD_BENCH_VMS VMs (default 20 × 500) of a fixed
/// seed, so every run and every benchmark measures the same files.
pub fn fleet_spec() -> FleetSpec {
    FleetSpec {
        subscriptions: env_usize("BD_BENCH_SUBSCRIPTIONS", 20),
        vms_per_subscription: env_usize("BD_BENCH_VMS", 500),
        seed: 42,
        ..FleetSpec::default()
    }
}

/// The directory holding the fleet of `spec`, generated on first use. A marker file written last
/// tells a complete fleet from one an interrupted run left half written.
pub fn fleet(spec: &FleetSpec) -> PathBuf {
    let dir = root().join("target").join(format!(
        "bench-fleet-{}x{}-{}",
        spec.subscriptions, spec.vms_per_subscription, spec.seed
    ));
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        let stats = generate(&dir, spec).expect("the synthetic fleet is written");
        std::fs::write(&done, b"").expect("marker written");
        eprintln!(
            "generated {} VMs, {} files, {:.1} MB in {:.1?}",
            stats.vms,
            stats.files,
            stats.bytes as f64 / 1e6,
            started.elapsed()
        );
    }
    dir
}
