//! Two `serve` replicas on one PostgreSQL store never run the same scheduled scan twice: both
//! see every slot, the store's lease lets one scan, and the other finds the slot recorded.

mod serve_common;

use backup_doctor_testkit::live::{demo_config, serve};
use serde_json::Value;
use serve_common::{live_config, Postgres, Serve};
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_store_scan_each_slot_once() {
    let Some(postgres) = Postgres::start("replicas") else {
        return;
    };
    let emulator = serve(demo_config()).await;
    let dir = tempfile::tempdir().unwrap();
    // A slot every 20 seconds (croner's optional seconds field), so a few pass in a test.
    let config = live_config(
        &emulator,
        &postgres.url,
        "[auth]\ndisabled = true\n[schedule]\ncron = \"*/20 * * * * *\"\nlease_seconds = 10\n",
    );
    let a = Serve::start(&emulator, dir.path(), &config, &[]);
    let b = Serve::start(&emulator, dir.path(), &config, &[]);
    tokio::time::sleep(Duration::from_secs(50)).await;
    let scans: Value = reqwest::get(format!("{}/v1/scans?limit=100", a.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_slot: BTreeMap<String, usize> = BTreeMap::new();
    for scan in scans["scans"].as_array().unwrap() {
        let source = scan["source"].as_str().unwrap();
        if source.starts_with("live (scheduled ") {
            *per_slot.entry(source.to_string()).or_default() += 1;
        }
    }
    assert!(
        per_slot.len() >= 2,
        "at least two slots were scanned: {scans}"
    );
    assert!(
        per_slot.values().all(|n| *n == 1),
        "a slot was scanned twice: {per_slot:?}"
    );
    // Both replicas took part: each saw the lease held or the slot done at least once.
    let skipped = |server: &Serve| {
        server.logs().iter().any(|line| {
            line.contains("the scan lease is held") || line.contains("slot already scanned")
        })
    };
    assert!(
        skipped(&a) || skipped(&b),
        "neither replica ever deferred to the other"
    );
    drop((a, b));
}
