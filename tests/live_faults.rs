//! Live scans under faults (issue 14): tokens that expire mid-run, connections reset before and
//! during an answer, answers that stall past the per-call timeout, bodies cut short or not JSON,
//! a `Retry-After` longer than the deadline, and answers that point at another host. Whatever
//! the emulator does, the scan ends, complete or incomplete with gaps naming what it could not
//! read (exit 3), every VM the emulator serves is in the report, nothing it could not read passes,
//! and the bearer token never reaches a host other than the configured ones.
//!
//! `serve`'s live check reads through the same `live::collect`, so what holds here holds there.
//! Each scan is of the demo fleet in pages of five with short timeouts: the file runs in well
//! under a minute in a debug build.

use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig, Fault};
use backup_doctor_testkit::fixtures::{demo, demo_tenant};
use backup_doctor_testkit::live::{
    demo_config, run_blocking, secret_flags, serve, with_secret, SECRET,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOW: &str = "2026-11-24T06:00:00Z";
const LOCKS: &str = "/providers/Microsoft.Authorization/locks";
const DISKS: &str = "/providers/Microsoft.Compute/disks";
const NICS: &str = "/providers/Microsoft.Network/networkInterfaces";
const NSGS: &str = "/providers/Microsoft.Network/networkSecurityGroups";
const ROUTE_TABLES: &str = "/providers/Microsoft.Network/routeTables";
const KEY_VAULTS: &str = "/providers/Microsoft.KeyVault/vaults";

fn faults(specs: &[&str]) -> Vec<Fault> {
    specs
        .iter()
        .map(|spec| spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}")))
        .collect()
}

/// What a scan gave: its exit code, the JSON report, stderr and how long it took.
struct Scan {
    code: Option<i32>,
    report: Value,
    stderr: String,
    took: Duration,
}

impl Scan {
    /// The report's gaps as (scope, what, reason).
    fn gaps(&self) -> Vec<(String, String, String)> {
        let text = |gap: &Value, key: &str| gap[key].as_str().unwrap_or_default().to_owned();
        self.report["gaps"]
            .as_array()
            .map(|gaps| {
                gaps.iter()
                    .map(|g| (text(g, "scope"), text(g, "what"), text(g, "reason")))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `scan --live --format json` of what `emulator` serves, failing on no finding, so the exit code
/// says complete (0) or incomplete (3).
async fn scan_live(emulator: &Emulator, extra: &[&str]) -> Scan {
    let mut command = with_secret(emulator, &demo_tenant(), SECRET);
    command
        .args([
            "scan",
            "--live",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--now",
            NOW,
        ])
        .args(secret_flags(emulator))
        .args(extra);
    let started = Instant::now();
    let output = run_blocking(command).await;
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    Scan {
        code: output.status.code(),
        report,
        stderr,
        took,
    }
}

/// The offline scan of the demo fleet (every fact read) and its exit code.
fn offline() -> (Value, Option<i32>) {
    let output = assert_cmd::Command::cargo_bin("backup-doctor")
        .unwrap()
        .args([
            "scan",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--now",
            NOW,
            "--snapshot",
        ])
        .arg(demo())
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).expect("the offline scan's report");
    (report, output.status.code())
}

/// Every status a VM's report gives: its verdict, each layer and each finding, by name.
fn statuses(vm: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    out.insert("verdict".to_owned(), text(&vm["verdict"]));
    for layer in vm["layers"].as_array().into_iter().flatten() {
        out.insert(
            format!("layer {}", text(&layer["cause"])),
            text(&layer["status"]),
        );
    }
    for finding in vm["findings"].as_array().into_iter().flatten() {
        out.insert(
            format!("finding {}", text(&finding["rule"])),
            text(&finding["status"]),
        );
    }
    out
}

/// What every faulty scan must hold to: it read everything (no gap, the offline report's VMs word
/// for word) or it is incomplete (exit 3, gaps naming each list it could not read); every
/// VM of the fleet is in the report; and no verdict, layer or finding passes that does not pass
/// with every fact read.
fn assert_complete_or_honest(scan: &Scan) {
    let (full, offline_code) = offline();
    let vms_of = |report: &Value| -> BTreeMap<String, Value> {
        report["vms"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|vm| {
                (
                    vm["id"].as_str().unwrap_or_default().to_ascii_lowercase(),
                    vm.clone(),
                )
            })
            .collect()
    };
    let (live, want) = (vms_of(&scan.report), vms_of(&full));
    assert!(want.len() > 10);
    assert_eq!(
        live.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "a VM is missing from the report: {}",
        scan.stderr
    );
    let gaps = scan.gaps();
    if gaps.is_empty() {
        // Read in full: the offline report, exit code included (the demo fleet has checks
        // unknown by design, so both exit 3 under --fail-on never).
        assert_eq!(scan.report["vms"], full["vms"]);
        assert_eq!(scan.report["complete"], full["complete"]);
        assert_eq!(scan.code, offline_code, "{}", scan.stderr);
    } else {
        assert_eq!(scan.code, Some(3), "{}", scan.stderr);
        assert_eq!(scan.report["complete"], false);
        for (scope, what, reason) in &gaps {
            assert!(
                !scope.is_empty() && !what.is_empty() && !reason.is_empty(),
                "{gaps:?}"
            );
        }
    }
    for (id, vm) in &live {
        let (got, full) = (statuses(vm), statuses(&want[id]));
        for (what, status) in &got {
            if status == "pass" {
                assert_eq!(
                    full.get(what).map(String::as_str),
                    Some("pass"),
                    "{id}: {what}"
                );
            }
        }
    }
}

/// A scan of what `config` serves, which must read everything in spite of its faults.
async fn read_in_full(config: EmulatorConfig, extra: &[&str]) -> (Emulator, Scan) {
    let emulator = serve(config).await;
    let scan = scan_live(&emulator, extra).await;
    assert!(scan.gaps().is_empty(), "{:?}\n{}", scan.gaps(), scan.stderr);
    assert_complete_or_honest(&scan);
    (emulator, scan)
}

/// A scan of the demo fleet served with `faults`, which must end incomplete and honest.
async fn incomplete_under(faults_: &[&str], extra: &[&str]) -> (Emulator, Scan) {
    let emulator = serve(EmulatorConfig {
        faults: faults(faults_),
        ..demo_config()
    })
    .await;
    let scan = scan_live(&emulator, extra).await;
    assert_eq!(scan.code, Some(3), "{:?}\n{}", scan.gaps(), scan.stderr);
    assert_complete_or_honest(&scan);
    (emulator, scan)
}

/// `scan` has one gap on the lists of type `what` in each of the demo fleet's two subscriptions,
/// each reason containing `why`.
fn assert_gaps(scan: &Scan, what: &str, why: &str) {
    let gaps = gaps_of(scan, what);
    assert_eq!(gaps.len(), 2, "{what}: {:?}", scan.gaps());
    for (scope, reason) in gaps {
        assert!(scope.starts_with("/subscriptions/"), "{scope}");
        assert!(reason.contains(why), "{what}: {reason}");
    }
}

/// The gaps of `scan` on lists whose type is `what`.
fn gaps_of(scan: &Scan, what: &str) -> Vec<(String, String)> {
    scan.gaps()
        .into_iter()
        .filter(|(_, w, _)| w == what)
        .map(|(scope, _, reason)| (scope, reason))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_expire_mid_run_are_renewed_and_the_scan_completes() {
    // The client keeps a token until 20 s before the announced expiry, so with 22 s announced it
    // uses each for 2 s; ARM refuses each after 300 ms, so most of the client's tokens reach ARM
    // expired. Latency and two calls at a time make the scan outlive several tokens.
    let (emulator, _) = read_in_full(
        EmulatorConfig {
            token_lifetime: Duration::from_secs(22),
            token_accepted_for: Some(Duration::from_millis(300)),
            latency: Duration::from_millis(15),
            ..demo_config()
        },
        &["--concurrency", "2"],
    )
    .await;
    let requests = emulator.requests();
    let expired = requests.iter().filter(|r| r.status == 401).count();
    assert!(
        expired > 0,
        "no token reached ARM expired: the fault was not exercised"
    );
    let tokens = emulator.issued_tokens().len();
    assert!(tokens >= 3, "the scan used {tokens} tokens");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_before_or_during_an_answer_are_retried() {
    // The first two disk lists are reset before their answer, the first two NIC lists and lock
    // lists cut mid-body (the whole body's Content-Length, half the body): each read is tried
    // again and the scan misses nothing.
    let (emulator, _) = read_in_full(
        EmulatorConfig {
            faults: faults(&[
                &format!("reset@{DISKS}#2"),
                &format!("cut-body@{NICS}#2"),
                &format!("cut-body@{LOCKS}#2"),
            ]),
            ..demo_config()
        },
        &[],
    )
    .await;
    let requests = emulator.requests();
    let reset = requests.iter().filter(|r| r.status == 0).count();
    assert_eq!(reset, 2, "two requests were reset");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_that_always_break_off_or_are_not_json_are_gaps_naming_the_list_and_why() {
    let emulator = serve(EmulatorConfig {
        faults: faults(&[
            &format!("cut-body@{ROUTE_TABLES}"),
            &format!("broken-json@{NSGS}"),
        ]),
        // The existing fault: half the body with its own (correct) length.
        malformed: vec![KEY_VAULTS.to_owned()],
        ..demo_config()
    })
    .await;
    let scan = scan_live(&emulator, &[]).await;
    assert_eq!(scan.code, Some(3), "{:?}\n{}", scan.gaps(), scan.stderr);
    assert_complete_or_honest(&scan);
    for (what, why) in [
        ("Microsoft.Network/routeTables", "the connection failed"),
        (
            "Microsoft.Network/networkSecurityGroups",
            "the response could not be read",
        ),
        (
            "Microsoft.KeyVault/vaults",
            "the response could not be read",
        ),
    ] {
        assert_gaps(&scan, what, why);
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_stall_past_the_call_timeout_are_retried_then_gaps() {
    // Lock lists stall once each (retried: the scan completes), key vault lists every time
    // (given up after three tries of a second each).
    let (emulator, scan) = incomplete_under(
        &[
            &format!("stall=30@{LOCKS}#2"),
            &format!("stall=30@{KEY_VAULTS}"),
        ],
        &["--call-timeout", "1"],
    )
    .await;
    assert_gaps(&scan, "Microsoft.KeyVault/vaults", "per-call timeout");
    assert_eq!(scan.gaps().len(), 2, "{:?}", scan.gaps());
    assert!(scan.took < Duration::from_secs(25), "{:?}", scan.took);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_bounds_the_run_whatever_the_server_does() {
    // Every lock list stalls far past the deadline, and the per-call timeout is longer still:
    // the deadline alone ends those reads, as gaps.
    let (emulator, scan) = incomplete_under(
        &[&format!("stall=120@{LOCKS}")],
        &["--deadline", "8", "--call-timeout", "100"],
    )
    .await;
    assert!(scan.took < Duration::from_secs(20), "{:?}", scan.took);
    assert_gaps(&scan, "Microsoft.Authorization/locks", "deadline");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_longer_than_the_deadline_is_a_throttled_gap_not_a_sleep() {
    let (emulator, scan) = incomplete_under(
        &[&format!("retry-after=3600@{DISKS}")],
        &["--deadline", "600"],
    )
    .await;
    assert!(scan.took < Duration::from_secs(30), "{:?}", scan.took);
    assert_gaps(
        &scan,
        "Microsoft.Compute/disks",
        "throttled: ARM asked to wait 3600 s",
    );
    emulator.shutdown().await;
}

/// A listener on another loopback address (another port of 127.0.0.1 where 127.0.0.2 cannot be
/// bound) that keeps every request it gets, head and body as text, and answers 404.
struct Foreign {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Foreign {
    async fn start() -> Foreign {
        let listener = match tokio::net::TcpListener::bind("127.0.0.2:0").await {
            Ok(listener) => listener,
            Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut received = Vec::new();
                    let mut buffer = [0u8; 4096];
                    // The head and what body came with it, for up to a second.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Ok(n) = socket.read(&mut buffer).await {
                            if n == 0 {
                                break;
                            }
                            received.extend_from_slice(&buffer[..n]);
                            if received.windows(4).any(|w| w == b"\r\n\r\n") {
                                break;
                            }
                        }
                    })
                    .await;
                    kept.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&received).into_owned());
                    let _ = socket
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        Foreign { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_a_host_the_answers_point_at() {
    let foreign = Foreign::start().await;
    // The listener does record what reaches it: the assertions below could fail.
    let probe = reqwest::Client::new()
        .get(format!("{}/probe", foreign.url))
        .header("authorization", "Bearer probe-token")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 404);
    assert!(foreign.requests()[0].contains("Bearer probe-token"));

    let lure = &foreign.url;
    let emulator = serve(EmulatorConfig {
        faults: faults(&[
            &format!("redirect={lure}@{DISKS}"),
            &format!("accepted={lure}@{LOCKS}"),
            &format!("error-naming={lure}@{NSGS}"),
        ]),
        foreign_next_links: vec![(KEY_VAULTS.to_owned(), lure.clone())],
        ..demo_config()
    })
    .await;
    let scan = scan_live(&emulator, &[]).await;
    assert_eq!(scan.code, Some(3), "{:?}\n{}", scan.gaps(), scan.stderr);
    assert_complete_or_honest(&scan);
    assert_eq!(foreign.requests().len(), 1, "{:?}", foreign.requests());
    for (what, why) in [
        ("Microsoft.Compute/disks", "HTTP 307"),
        ("Microsoft.Authorization/locks", "HTTP 202"),
        ("Microsoft.Network/networkSecurityGroups", "HTTP 409"),
        (
            "Microsoft.KeyVault/vaults",
            "nextLink points to another host",
        ),
    ] {
        assert_gaps(&scan, what, why);
    }
    for token in emulator.issued_tokens() {
        assert!(!scan.stderr.contains(&token));
    }
    emulator.shutdown().await;

    // The token endpoint itself redirecting: the client secret must not follow.
    let emulator = serve(EmulatorConfig {
        faults: faults(&[&format!("redirect={lure}@/oauth2/")]),
        ..demo_config()
    })
    .await;
    let refused = scan_live(&emulator, &[]).await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(!refused.stderr.contains(SECRET));
    let reached = foreign.requests();
    assert_eq!(reached.len(), 1, "{reached:?}");
    emulator.shutdown().await;
}
