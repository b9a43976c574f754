//! Benchmark of live collection (`cargo bench --bench collect`): a synthetic fleet of
//! BD_BENCH_SUBSCRIPTIONS × BD_BENCH_VMS VMs (default 20 × 500) is served by the ARM emulator with
//! BD_BENCH_LATENCY_MS of latency per call (default 30) and ARM's token bucket per subscription
//! (250 burst, 25/s), and collected through the Azure SDK crates at BD_BENCH_CONCURRENCY calls in
//! flight (default 64). It prints the calls made against the minimum (the pages the lists need,
//! counted from the emulator's own data) and the wall time against a lower bound: the larger of
//! the latency critical path (the longest chain of calls that must follow one another) and the
//! time ARM's bucket needs to refill for the calls beyond the burst.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use backup_doctor::live::auth::{AuthKind, Cloud, Endpoints};
use backup_doctor::live::{collect, LiveOptions};
use backup_doctor_testkit::bench::{env_usize, fleet, fleet_spec};
use backup_doctor_testkit::emulator::{Bucket, Emulator, EmulatorConfig, LoggedRequest};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn main() {
    // The same allocator settings as the binary's.
    backup_doctor::allocator::keep_freed_memory();
    // BD_BENCH_LOG=backup_doctor=debug shows when each list finished, to see what the wall time waits on.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("BD_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let spec = fleet_spec();
    let latency = Duration::from_millis(env_usize("BD_BENCH_LATENCY_MS", 30) as u64);
    let concurrency = env_usize("BD_BENCH_CONCURRENCY", 64);
    let page_size = env_usize("BD_BENCH_PAGE_SIZE", 100);
    let dir = fleet(&spec);
    // The emulator and the collector run on runtimes of their own, with named threads, so the
    // CPU each spends can be told apart (the emulator's is the benchmark's, not the product's).
    let emulator_runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-emulator")
        .enable_all()
        .build()
        .expect("runtime");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-collector")
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = emulator_runtime
        .block_on(Emulator::start(EmulatorConfig {
            snapshot: dir.clone(),
            page_size,
            // Resource Graph pages hold up to 1,000 rows ($top's maximum); ARM lists far fewer.
            graph_page_size: Some(1000),
            latency,
            throttle: Some(Bucket::arm()),
            client_id: "bench".into(),
            client_secret: "bench-secret".into(),
            ..EmulatorConfig::default()
        }))
        .expect("the emulator serves the fleet");
    runtime.block_on(async {
        // The credential reads these, as it would in a pipeline.
        std::env::set_var("AZURE_TENANT_ID", emulator.tenant_id());
        std::env::set_var("AZURE_CLIENT_ID", "bench");
        std::env::set_var("AZURE_CLIENT_SECRET", "bench-secret");
        let endpoints = Endpoints::resolve(
            Cloud::Public,
            Some(&emulator.url()),
            Some(&emulator.url()),
            Some(&emulator.url()),
        )
        .expect("endpoints");
        let options = LiveOptions {
            auth: AuthKind::Secret,
            endpoints,
            subscriptions: Vec::new(),
            management_groups: Vec::new(),
            concurrency,
            deadline: Some(Duration::from_secs(600)),
            call_timeout: backup_doctor::live::transport::DEFAULT_CALL_TIMEOUT,
            job_window_days: 7,
            now: time::OffsetDateTime::now_utc(),
            backup_service_object_id: None,
            progress_bars: false,
        };
        let cpu_before = (process_cpu(), threads_cpu("bench-collector"));
        let started = Instant::now();
        let collection = collect(&options).await.expect("the collection runs");
        let wall = started.elapsed();
        let cpu = process_cpu().saturating_sub(cpu_before.0);
        let collector_cpu = threads_cpu("bench-collector").saturating_sub(cpu_before.1);
        assert!(
            collection.gaps.is_empty(),
            "the benchmark fleet must collect completely: {:?}",
            collection.gaps
        );

        let requests = emulator.requests();
        let arm: Vec<_> = requests
            .iter()
            .filter(|r| !r.path.contains("/oauth2/"))
            .collect();
        let answered = arm.iter().filter(|r| r.status == 200).count();
        let throttled = arm.iter().filter(|r| r.status == 429).count();
        let mut per_subscription: BTreeMap<String, usize> = BTreeMap::new();
        for request in &arm {
            if let Some(s) = &request.subscription {
                *per_subscription.entry(s.clone()).or_default() += 1;
            }
        }
        // The minimum: every list the rules need, each read once, page by page. A page that ARM
        // answered is needed (the collector never reads a page twice), so the minimum is the
        // number of 200 answers, and the overhead is the 429s.
        let minimum = answered;
        let max_per_subscription = per_subscription.values().copied().max().unwrap_or(0);
        // Critical path: the token, the subscription list, then the longest chain in one
        // subscription: the vault list, then the pages of one vault's jobs, one after another.
        let longest_chain = longest_page_chain(&arm);
        let chain_calls = 2 + 1 + longest_chain;
        let latency_bound = latency * chain_calls as u32;
        // ARM's bucket starts full (250), so only the reads beyond it wait for the refill; the
        // issue's formula (every call of the busiest subscription at 25/s) is printed beside it.
        let refill_bound = Duration::from_secs_f64(
            (max_per_subscription as f64 - 250.0).max(0.0) / 25.0,
        );
        let calls_over_refill = Duration::from_secs_f64(max_per_subscription as f64 / 25.0);
        let bound = latency_bound.max(refill_bound);
        let stated_bound = latency_bound.max(calls_over_refill);
        println!(
            "live collection benchmark: {} subscriptions x {} VMs, latency {:?}, page size {}, concurrency {}",
            spec.subscriptions, spec.vms_per_subscription, latency, page_size, concurrency
        );
        println!("  calls made              {:>7} ({} answered, {} throttled 429)", arm.len(), answered, throttled);
        println!("  minimum (pages needed)  {minimum:>7}");
        println!(
            "  calls per subscription  {:>7} at most ({} VMs each)",
            max_per_subscription, spec.vms_per_subscription
        );
        println!("  wall time              {:>8.2?}", wall);
        println!(
            "  lower bound            {:>8.2?}  (critical path {} calls x {:?} = {:.2?}; refill beyond the burst {:.2?})",
            bound, chain_calls, latency, latency_bound, refill_bound
        );
        println!(
            "  ratio                  {:>8.2}x the strict bound",
            wall.as_secs_f64() / bound.as_secs_f64()
        );
        println!(
            "  issue's bound          {:>8.2?}  (max of the critical path and {} calls / 25 per s) -> {:.2}x (goal <= 1.5x)",
            stated_bound,
            max_per_subscription,
            wall.as_secs_f64() / stated_bound.as_secs_f64()
        );
        println!(
            "  CPU time               {:>8.2?}  of which the collector {:.2?}, the emulator and the rest {:.2?} ({} cores)",
            cpu,
            collector_cpu,
            cpu.saturating_sub(collector_cpu),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    });
    emulator_runtime.block_on(emulator.shutdown());
}

/// User and system CPU time of this process so far (Linux `/proc/self/stat`), zero elsewhere.
fn process_cpu() -> Duration {
    std::fs::read_to_string("/proc/self/stat").map_or(Duration::ZERO, |stat| stat_cpu(&stat))
}

/// CPU time so far of this process's threads whose name starts with `prefix` (Linux only; the
/// kernel keeps 15 characters of a thread's name).
fn threads_cpu(prefix: &str) -> Duration {
    let prefix: String = prefix.chars().take(15).collect();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim().starts_with(&prefix))
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .map(|stat| stat_cpu(&stat))
        .sum()
}

fn stat_cpu(stat: &str) -> Duration {
    // The command name may hold spaces; the fields counted here come after its closing ')'.
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name and state.
    let clock_ticks_per_second = 100;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / clock_ticks_per_second)
}

/// The most pages one list needed: its pages follow one another, each a round trip.
fn longest_page_chain(requests: &[&LoggedRequest]) -> usize {
    let mut pages: BTreeMap<String, usize> = BTreeMap::new();
    for request in requests.iter().filter(|r| r.status == 200) {
        *pages.entry(request.path.to_ascii_lowercase()).or_default() += 1;
    }
    pages.values().copied().max().unwrap_or(1)
}
