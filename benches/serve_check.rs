//! Benchmark of `POST /v1/check` (`cargo bench --bench serve_check`): the service runs in this
//! process on a loopback socket, reading the demo fleet (2 subscriptions) from the ARM emulator
//! with BD_BENCH_LATENCY_MS of latency per call (default 30). It checks 1 VM and 20 VMs, with a
//! cold cache (`check.cache_seconds = 0`: every check reads its subscriptions) and a warm one,
//! BD_BENCH_REPEAT times each (default 5), and prints the median latency with the ARM calls each
//! check made, counted by the emulator.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use backup_doctor::serve::{config, shutdown, start};
use backup_doctor_testkit::bench::env_usize;
use backup_doctor_testkit::emulator::Emulator;
use backup_doctor_testkit::fixtures::demo;
use backup_doctor_testkit::live::{demo_config, SECRET};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    backup_doctor::allocator::keep_freed_memory();
    let latency = Duration::from_millis(env_usize("BD_BENCH_LATENCY_MS", 30) as u64);
    let repeat = env_usize("BD_BENCH_REPEAT", 5).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut emulator_config = demo_config();
        emulator_config.latency = latency;
        let emulator = Emulator::start(emulator_config).await.expect("the emulator starts");
        // The service signs in as `scan --live` does: from the environment.
        std::env::set_var("AZURE_TENANT_ID", emulator.tenant_id());
        std::env::set_var("AZURE_CLIENT_ID", emulator.client_id());
        std::env::set_var("AZURE_CLIENT_SECRET", SECRET);
        std::env::set_var("AZURE_AUTHORITY_HOST", emulator.url());
        let vms = demo_vm_ids();
        assert!(vms.len() >= 20, "the demo fleet has {} VMs", vms.len());
        let one = vec![vms[0].clone()];
        let twenty: Vec<String> = vms.iter().take(20).cloned().collect();
        println!(
            "POST /v1/check against the ARM emulator ({} ms per ARM call), median of {repeat}:",
            latency.as_millis()
        );
        println!("{:<6} {:<6} {:>10} {:>10}", "VMs", "cache", "latency", "ARM calls");
        for (cache_seconds, label) in [(0, "cold"), (600, "warm")] {
            let dir = tempfile::tempdir().expect("a temp dir");
            let text = format!(
                "listen = \"127.0.0.1:0\"\nstore = \"{}\"\n[auth]\ndisabled = true\n[live]\nauth = \"secret\"\narm_endpoint = \"{url}\"\ngraph_endpoint = \"{url}\"\n[check]\ncache_seconds = {cache_seconds}\n",
                dir.path().join("bench.sqlite").display(),
                url = emulator.url()
            );
            let settings = config::parse(Path::new("bench.toml"), &text, &[]).expect("a valid configuration");
            let (trigger, stop) = shutdown::channel();
            let running = start(settings, stop).await.expect("serve starts");
            let url = format!("http://{}/v1/check", running.address);
            let client = reqwest::Client::new();
            for (name, ids) in [("1", &one), ("20", &twenty)] {
                if label == "warm" {
                    // Fill the cache first; the measured checks read nothing.
                    post(&client, &url, ids).await;
                }
                let mut times = Vec::new();
                let mut calls = Vec::new();
                for _ in 0..repeat {
                    emulator.reset_log();
                    let started = Instant::now();
                    let header_calls = post(&client, &url, ids).await;
                    times.push(started.elapsed());
                    // ARM and Graph reads; the sign-in's token requests are not ARM calls.
                    let logged = emulator
                        .requests()
                        .iter()
                        .filter(|r| !r.path.contains("/oauth2/"))
                        .count();
                    calls.push(logged);
                    if label == "warm" {
                        assert_eq!(header_calls, 0, "a warm check read ARM");
                    }
                }
                times.sort();
                calls.sort();
                println!(
                    "{name:<6} {label:<6} {:>8.0}ms {:>10}",
                    times[times.len() / 2].as_secs_f64() * 1000.0,
                    calls[calls.len() / 2]
                );
            }
            trigger.request();
            let _ = running.done.await;
        }
    });
}

/// POSTs a check and answers the `x-arm-calls` the service reported.
async fn post(client: &reqwest::Client, url: &str, vms: &[String]) -> u64 {
    let response = client
        .post(url)
        .json(&json!({ "vms": vms }))
        .send()
        .await
        .expect("serve answers");
    assert_eq!(
        response.status().as_u16(),
        200,
        "{:?}",
        response.text().await
    );
    response.headers()["x-arm-calls"]
        .to_str()
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// The ARM ids of the demo fleet's VMs.
fn demo_vm_ids() -> Vec<String> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(demo()).expect("the demo fleet").flatten() {
        let file = entry.path().join("Microsoft.Compute.virtualMachines.json");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let list: Value = serde_json::from_str(&text).expect("JSON");
        for vm in list["value"].as_array().into_iter().flatten() {
            if let Some(id) = vm["id"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    ids.sort();
    ids
}
