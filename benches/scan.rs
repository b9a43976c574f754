//! Benchmark of the offline scan (`cargo bench --bench scan`): a synthetic fleet of
//! BD_BENCH_SUBSCRIPTIONS × BD_BENCH_VMS VMs (default 20 × 500 = 10,000) is generated once, then
//! load, resolve and evaluate are timed separately (median of BD_BENCH_RUNS, default 5) beside the
//! time serde_json alone takes to read and parse the same files into `Value`. Peak heap is
//! measured by a counting allocator. A plain harness rather than criterion: a 10,000-VM scan is
//! seconds long, the interesting output is the stage split and memory, and criterion's
//! statistics over hundreds of iterations would take minutes for no extra insight.

use backup_doctor::codes::CodeBook;
use backup_doctor::commands::scan::report;
use backup_doctor::engine::{evaluate_vm, Engine, RuleSet};
use backup_doctor::parallel;
use backup_doctor::resolve::{resolve_vm, Index, Options};
use backup_doctor::source::snapshot;
use backup_doctor_testkit::bench::{env_usize, fleet, fleet_spec};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("fleet directory readable")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct Run {
    parse: Duration,
    load: Duration,
    resolve: Duration,
    /// Network analysis alone (also inside `resolve`), cold cache.
    network: Duration,
    evaluate: Duration,
    report: Duration,
    peak: usize,
    vms: usize,
}

fn run_once(dir: &Path, files: &[PathBuf], engine: &Engine, codes: &CodeBook) -> Run {
    let started = Instant::now();
    let mut values = 0usize;
    for file in files {
        let bytes = std::fs::read(file).expect("readable");
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        values += usize::from(!value.is_null());
    }
    let parse = started.elapsed();
    assert_eq!(values, files.len());

    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let started = Instant::now();
    let inventory = snapshot::load(dir).expect("the fleet loads");
    let load = started.elapsed();

    let options = Options::default();
    let started = Instant::now();
    let index = Index::new(&inventory, codes, &options);
    let vms: Vec<_> = inventory.vms.values().collect();
    let facts = parallel::map(&vms, |vm| resolve_vm(&index, vm));
    let resolve = started.elapsed();

    // Network analysis alone, on a fresh (cold) cache: the share of the scan it costs.
    let network_index = Index::new(&inventory, codes, &options);
    let pairs: Vec<_> = vms.iter().copied().zip(facts.iter()).collect();
    let vm_count = vms.len();
    let started = Instant::now();
    let network_facts = parallel::map(&pairs, |(vm, f)| {
        let mut f = (*f).clone();
        f.network = None;
        backup_doctor::resolve::network::resolve(&network_index, vm, &mut f);
        f.network.is_some()
    });
    let network = started.elapsed();
    assert_eq!(network_facts.len(), vm_count);
    drop(pairs);

    let started = Instant::now();
    let evaluations = parallel::map_owned(facts, |f| evaluate_vm(engine, f));
    let evaluate = started.elapsed();

    let started = Instant::now();
    let vms = evaluations.len();
    let report = report::build(evaluations, &inventory, codes);
    let rendered = backup_doctor::render::json::render(&report);
    let report_time = started.elapsed();
    assert!(rendered.len() > vms);
    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    Run {
        parse,
        load,
        resolve,
        network,
        evaluate,
        report: report_time,
        peak,
        vms,
    }
}

fn main() {
    // `cargo bench` passes harness flags such as `--bench`; nothing here takes arguments.
    let runs = env_usize("BD_BENCH_RUNS", 5).max(1);
    let dir = fleet(&fleet_spec());
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let codes = CodeBook::builtin().expect("codes load");
    let engine = Engine::new(RuleSet::load(&[]).expect("rules load"));

    let results: Vec<Run> = (0..runs)
        .map(|_| run_once(&dir, &files, &engine, &codes))
        .collect();
    let pick = |f: fn(&Run) -> Duration| median(results.iter().map(f).collect());
    let (parse, load, resolve, evaluate, report) = (
        pick(|r| r.parse),
        pick(|r| r.load),
        pick(|r| r.resolve),
        pick(|r| r.evaluate),
        pick(|r| r.report),
    );
    let network = pick(|r| r.network);
    let scan = load + resolve + evaluate + report;
    let peak = results.iter().map(|r| r.peak).max().unwrap_or(0);
    println!(
        "offline scan benchmark: {} VMs, {} files, {:.1} MB, median of {runs} runs",
        results[0].vms,
        files.len(),
        bytes as f64 / 1e6
    );
    println!("  serde_json parse alone   {:>9.3?}", parse);
    println!("  load (parse + typed)     {:>9.3?}", load);
    println!("  resolve                  {:>9.3?}", resolve);
    println!(
        "    network alone (cold)   {:>9.3?}  = {:.1}% of the whole scan (goal: <= 20%)",
        network,
        100.0 * network.as_secs_f64() / scan.as_secs_f64()
    );
    println!(
        "  evaluate ({} rules)      {:>9.3?}",
        engine.rules.rules.len(),
        evaluate
    );
    println!("  report (JSON)            {:>9.3?}", report);
    println!(
        "  whole scan               {:>9.3?}  = {:.2}x the parse time (goal: <= 3x)",
        scan,
        scan.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "  peak heap during scan    {:>9.1} MB (goal: < 1024 MB)",
        peak as f64 / 1048576.0
    );
}
