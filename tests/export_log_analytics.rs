//! `scan --export log-analytics` and `serve`'s `[export.log_analytics]` against a local Logs
//! Ingestion endpoint (`backup_doctor_testkit::logs_ingestion`) that checks the token against the
//! ARM emulator's Entra ID issuer, the rule id and stream in the path, the API version, gzip, the
//! size limit and each row's columns against deploy/azure/log-analytics/tables.json: the rows it
//! accepts must equal the JSON report, and a failed export must keep the store's copy and the
//! report and end the run with 2.

mod serve_common;

use assert_cmd::Command;
use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig};
use backup_doctor_testkit::fixtures::demo;
use backup_doctor_testkit::live::{
    demo_config, run_blocking, secret_flags, serve, with_secret, SECRET,
};
use backup_doctor_testkit::logs_ingestion::{
    IngestionConfig, LogsIngestion, AUDIENCE, DCR, MAX_BYTES,
};
use backup_doctor_testkit::synth::{generate, FleetSpec};
use serde_json::{json, Value};
use serve_common::{eventually, live_config, prometheus, Serve};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-24T06:00:00Z";
const VMS: &str = "Custom-BackupDoctorVms";
const FINDINGS: &str = "Custom-BackupDoctorFindings";

struct Setup {
    emulator: Emulator,
    ingestion: LogsIngestion,
    dir: tempfile::TempDir,
}

async fn setup(config: EmulatorConfig) -> Setup {
    let emulator = serve(config).await;
    let ingestion = LogsIngestion::start(IngestionConfig::for_emulator(&emulator)).await;
    Setup {
        emulator,
        ingestion,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn store(&self) -> String {
        self.dir.path().join("history.sqlite").display().to_string()
    }

    fn report_file(&self) -> String {
        self.dir.path().join("report.json").display().to_string()
    }

    /// `scan --snapshot SNAPSHOT --export log-analytics` signed in at the emulator with `--auth
    /// secret`, the rule id from the environment, plus `extra` flags.
    async fn scan(&self, snapshot: &Path, extra: &[&str]) -> Output {
        let mut command = with_secret(&self.emulator, &self.emulator.tenant_id(), SECRET);
        command
            .env("BACKUP_DOCTOR_LOG_ANALYTICS_DCR", DCR)
            .args(["scan", "--format", "json", "--now", NOW, "--snapshot"])
            .arg(snapshot)
            .args(["--store", &self.store(), "--output", &self.report_file()])
            .args(["--auth", "secret", "--export", "log-analytics"])
            .args(["--log-analytics-endpoint", &self.ingestion.url()])
            .args(extra);
        run_blocking(command).await
    }

    fn report(&self) -> Value {
        let text = std::fs::read_to_string(self.report_file()).expect("the report is written");
        serde_json::from_str(&text).unwrap()
    }

    /// How many scans the store holds.
    fn stored_scans(&self) -> usize {
        let output = Command::cargo_bin("backup-doctor")
            .unwrap()
            .args(["history", "--format", "json", "--store", &self.store()])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let history: Value = serde_json::from_slice(&output.stdout).unwrap();
        history["scans"].as_array().expect("scans listed").len()
    }

    /// Fails when a token the emulator issued shows in the run's output.
    fn no_token_in(&self, output: &Output) {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for token in self.emulator.issued_tokens() {
            assert!(!text.contains(&token), "a token is in the output");
        }
        assert!(!text.contains(SECRET));
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The rows the report should become, built from its JSON independently of the exporter.
fn expected_rows(report: &Value, scan_id: &str, time: &str) -> (Vec<Value>, Vec<Value>) {
    let mut vms = Vec::new();
    let mut findings = Vec::new();
    for vm in report["vms"].as_array().unwrap() {
        let common = |row: &mut serde_json::Map<String, Value>| {
            row.insert("TimeGenerated".into(), json!(time));
            row.insert("ScanId".into(), json!(scan_id));
            row.insert("VmId".into(), vm["id"].clone());
            row.insert("VmName".into(), vm["name"].clone());
            row.insert("SubscriptionId".into(), vm["subscription"].clone());
            row.insert("ResourceGroup".into(), vm["resource_group"].clone());
        };
        let list = vm["findings"].as_array().unwrap();
        let count = |status: &str| list.iter().filter(|f| f["status"] == status).count();
        let mut row = serde_json::Map::new();
        common(&mut row);
        row.insert("ScanComplete".into(), report["complete"].clone());
        row.insert("Location".into(), vm["location"].clone());
        row.insert("OsType".into(), vm["os"].clone());
        row.insert("PowerState".into(), vm["power_state"].clone());
        row.insert("Protected".into(), vm["protected"].clone());
        row.insert("Verdict".into(), vm["verdict"].clone());
        let root = vm["root_cause"].as_str().unwrap_or("");
        row.insert("RootCause".into(), json!(root));
        row.insert("Layers".into(), vm["layers"].clone());
        row.insert("FailingFindings".into(), json!(count("fail")));
        row.insert("UnknownFindings".into(), json!(count("unknown")));
        vms.push(Value::Object(row));
        for finding in list {
            let mut row = serde_json::Map::new();
            common(&mut row);
            for (column, field) in [
                ("Rule", "rule"),
                ("Cause", "cause"),
                ("Severity", "severity"),
                ("Status", "status"),
                ("Message", "message"),
                ("ErrorCodes", "explains"),
                ("Resources", "resources"),
                ("Fix", "remediation"),
                ("Docs", "docs"),
            ] {
                row.insert(column.into(), finding[field].clone());
            }
            row.insert(
                "Suppressed".into(),
                json!(finding.get("suppressed").is_some()),
            );
            findings.push(Value::Object(row));
        }
    }
    (vms, findings)
}

fn sorted(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by_key(|row| row.to_string());
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_fleets_rows_read_back_equal_the_json_report() {
    let setup = setup(demo_config()).await;
    let output = setup.scan(&demo(), &[]).await;
    let report = setup.report();
    // The report's own exit code (the demo fleet has failing VMs): the export succeeded.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    setup.no_token_in(&output);

    let vms = setup.ingestion.rows(VMS);
    let findings = setup.ingestion.rows(FINDINGS);
    let scan_id = vms[0]["ScanId"].as_str().unwrap().to_owned();
    assert_eq!(scan_id.len(), 36, "a UUID: {scan_id}");
    let (expected_vms, expected_findings) = expected_rows(&report, &scan_id, NOW);
    assert_eq!(
        vms.len(),
        report["summary"]["vms"].as_u64().unwrap() as usize
    );
    assert!(expected_findings.len() > 10, "the demo fleet fails");
    assert_eq!(sorted(vms), sorted(expected_vms));
    assert_eq!(sorted(findings), sorted(expected_findings));

    // Every request carried a token for Azure Monitor, gzip, within the limit, and was accepted.
    let received = setup.ingestion.received();
    assert_eq!(received.len(), 2, "{received:?}");
    for request in &received {
        assert_eq!(request.status, 204, "{request:?}");
        assert_eq!(request.audience.as_deref(), Some(AUDIENCE));
        assert!(request.compressed_bytes < request.uncompressed_bytes);
    }
    assert_eq!(setup.stored_scans(), 1);

    // A second run is a new scan id.
    let again = setup.scan(&demo(), &[]).await;
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    let ids: std::collections::BTreeSet<String> = setup
        .ingestion
        .rows(VMS)
        .iter()
        .map(|row| row["ScanId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_scan_exports_the_same_way() {
    let setup = setup(demo_config()).await;
    let mut command = with_secret(&setup.emulator, &setup.emulator.tenant_id(), SECRET);
    command
        .args(["scan", "--live", "--format", "json", "--now", NOW])
        .args(["--output", &setup.report_file()])
        .args(secret_flags(&setup.emulator))
        .args(["--export", "log-analytics", "--log-analytics-dcr", DCR])
        .args(["--log-analytics-endpoint", &setup.ingestion.url()]);
    let output = run_blocking(command).await;
    assert!(
        matches!(output.status.code(), Some(1 | 3)),
        "{}",
        stderr(&output)
    );
    setup.no_token_in(&output);
    let report = setup.report();
    let vms = setup.ingestion.rows(VMS);
    let scan_id = vms[0]["ScanId"].as_str().unwrap().to_owned();
    let (expected_vms, expected_findings) = expected_rows(&report, &scan_id, NOW);
    assert_eq!(sorted(vms), sorted(expected_vms));
    assert_eq!(
        sorted(setup.ingestion.rows(FINDINGS)),
        sorted(expected_findings)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_over_the_limit_is_sent_in_several_requests_each_within_it() {
    let setup = setup(demo_config()).await;
    let fleet = setup.dir.path().join("fleet");
    let stats = generate(
        &fleet,
        &FleetSpec {
            subscriptions: 2,
            vms_per_subscription: 600,
            seed: 13,
            jobs_per_vm: 1,
        },
    )
    .unwrap();
    let output = setup.scan(&fleet, &[]).await;
    assert!(
        matches!(output.status.code(), Some(0 | 1 | 3)),
        "{}",
        stderr(&output)
    );
    let received = setup.ingestion.received();
    let vm_requests: Vec<_> = received.iter().filter(|r| r.stream == VMS).collect();
    assert!(vm_requests.len() >= 2, "{received:?}");
    for request in &received {
        assert_eq!(request.status, 204, "{request:?}");
        assert!(request.uncompressed_bytes <= MAX_BYTES, "{request:?}");
    }
    // Full batches: a split is made only when the next row would not fit.
    assert!(vm_requests[0].uncompressed_bytes > MAX_BYTES - 10_000);
    assert_eq!(setup.ingestion.rows(VMS).len(), stats.vms);
    let report = setup.report();
    let (_, findings) = expected_rows(&report, "", NOW);
    assert_eq!(setup.ingestion.rows(FINDINGS).len(), findings.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_unavailability_are_waited_out_as_the_service_says() {
    let setup = setup(demo_config()).await;
    setup.ingestion.fail_next(1, 429, Some(2));
    let started = Instant::now();
    let output = setup.scan(&demo(), &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was not honoured"
    );
    let statuses: Vec<u16> = setup
        .ingestion
        .received()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 204, 204]);

    setup.ingestion.fail_next(3, 503, Some(0));
    let output = setup.scan(&demo(), &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let statuses: Vec<u16> = setup.ingestion.received()[3..]
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 503, 204, 204]);
    let report = setup.report();
    assert_eq!(
        setup.ingestion.rows(VMS).len(),
        2 * report["vms"].as_array().unwrap().len()
    );

    // An outage that outlasts the tries: given up, reported, the scan kept.
    setup.ingestion.fail_next(5, 503, Some(0));
    let output = setup.scan(&demo(), &[]).await;
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("HTTP 503"), "{text}");
    assert!(text.contains("gave up after 5 tries"), "{text}");
    assert_eq!(setup.stored_scans(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_export_is_reported_once_and_keeps_the_store_and_the_report() {
    for (status, said) in [
        (401, "InvalidToken"),
        (403, "does not have access to ingest data"),
        (400, "InvalidContent"),
    ] {
        let setup = setup(demo_config()).await;
        setup.ingestion.fail_next(1, status, None);
        let output = setup.scan(&demo(), &[]).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{status}: {}",
            stderr(&output)
        );
        let text = stderr(&output);
        for needle in [
            setup.ingestion.url().as_str(),
            VMS,
            &format!("HTTP {status}"),
            said,
            "fix:",
        ] {
            assert!(text.contains(needle), "{status}: `{needle}` not in {text}");
        }
        setup.no_token_in(&output);
        // Not tried again: only a 429 or 5xx is.
        assert_eq!(setup.ingestion.received().len(), 1);
        assert!(setup.ingestion.rows(VMS).is_empty());
        assert_eq!(setup.stored_scans(), 1, "the store keeps the scan");
        assert!(!setup.report()["vms"].as_array().unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_for_azure_monitor_of_the_chosen_cloud() {
    // The emulator issues JWTs for the US Government audience too; the endpoint, a public-cloud
    // one, refuses them: the scope follows --cloud.
    let mut config = demo_config();
    config.api_audiences.push("https://monitor.azure.us".into());
    let setup = setup(config).await;
    let output = setup.scan(&demo(), &["--cloud", "usgov"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let received = setup.ingestion.received();
    assert_eq!(
        received[0].audience.as_deref(),
        Some("https://monitor.azure.us")
    );
    assert_eq!(received[0].status, 401);
    assert!(stderr(&output).contains("HTTP 401"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_would_carry_the_token_in_clear_text_is_refused_before_the_scan() {
    let setup = setup(demo_config()).await;
    let mut command = with_secret(&setup.emulator, &setup.emulator.tenant_id(), SECRET);
    command
        .args(["scan", "--snapshot"])
        .arg(demo())
        .args(["--store", &setup.store(), "--auth", "secret"])
        .args(["--export", "log-analytics", "--log-analytics-dcr", DCR])
        .args(["--log-analytics-endpoint", "http://192.0.2.10:8080"]);
    let output = run_blocking(command).await;
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("--log-analytics-endpoint"), "{text}");
    assert!(text.contains("https only"), "{text}");
    assert!(output.stdout.is_empty(), "no report: the scan did not run");
    assert!(!Path::new(&setup.store()).exists());

    let mut command = with_secret(&setup.emulator, &setup.emulator.tenant_id(), SECRET);
    command
        .args(["scan", "--snapshot"])
        .arg(demo())
        .args([
            "--export",
            "log-analytics",
            "--log-analytics-dcr",
            "my-rule",
        ])
        .args(["--log-analytics-endpoint", &setup.ingestion.url()]);
    let output = run_blocking(command).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("immutable id"),
        "{}",
        stderr(&output)
    );

    let mut command = with_secret(&setup.emulator, &setup.emulator.tenant_id(), SECRET);
    command
        .args(["scan", "--snapshot"])
        .arg(demo())
        .args(["--export", "log-analytics"]);
    let output = run_blocking(command).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--log-analytics-endpoint"),
        "{}",
        stderr(&output)
    );
    assert!(setup.ingestion.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_exports_each_recorded_scan_and_counts_the_outcome() {
    let setup = setup(demo_config()).await;
    let store = setup.store();
    let extra = format!(
        "[auth]\ndisabled = true\n[open]\nmetrics = true\n[schedule]\ncron = \"0 3 * * *\"\n\
         time_zone = \"UTC\"\n[export.log_analytics]\nendpoint = \"{}\"\ndcr = \"{DCR}\"\n",
        setup.ingestion.url()
    );
    let config = live_config(&setup.emulator, &store, &extra);
    let server = Serve::start(&setup.emulator, setup.dir.path(), &config, &[]);
    let client = reqwest::Client::new();
    let wait = Duration::from_secs(120);

    // The scheduled scan of the latest slot runs at once, and is exported.
    let logged = |message: &'static str| {
        let server = &server;
        move || {
            let found = server.logs().into_iter().find(|line| {
                serde_json::from_str::<Value>(line)
                    .is_ok_and(|entry| entry["fields"]["message"] == message)
            });
            async move { found }
        }
    };
    let line = eventually(
        wait,
        "the export of the scheduled scan",
        logged("scan exported to Log Analytics"),
    )
    .await;
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["fields"]["scan"], "scheduled", "{entry}");
    let rows = setup.ingestion.rows(VMS);
    assert!(!rows.is_empty());
    assert_eq!(
        rows.len() as u64,
        entry["fields"]["vm_rows"].as_u64().unwrap()
    );
    for request in setup.ingestion.received() {
        assert_eq!(request.audience.as_deref(), Some(AUDIENCE));
    }

    // A requested scan whose export is refused: kept, logged, counted.
    setup.ingestion.fail_next(1, 403, None);
    let url = server.url.clone();
    eventually(wait, "a requested scan to start", || {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client.post(format!("{url}/v1/scans")).send().await.ok()?;
            (response.status().as_u16() == 202).then_some(())
        }
    })
    .await;
    let line = eventually(
        wait,
        "the failed export",
        logged("scan not exported to Log Analytics; it is kept in the store"),
    )
    .await;
    assert!(line.contains("HTTP 403"), "{line}");
    for token in setup.emulator.issued_tokens() {
        assert!(
            !server.logs().iter().any(|l| l.contains(&token)),
            "a token is logged"
        );
    }
    let metrics = format!("{url}/metrics");
    let metrics = client.get(metrics).send().await.unwrap().text().await;
    let samples = prometheus(&metrics.unwrap());
    let value = |series: &str| {
        samples
            .iter()
            .find(|(name, _)| name == series)
            .map(|(_, v)| *v)
    };
    assert_eq!(
        value("backup_doctor_exports_total{outcome=\"ok\"}"),
        Some(1.0)
    );
    assert_eq!(
        value("backup_doctor_exports_total{outcome=\"failed\"}"),
        Some(1.0)
    );
    let (status, scans) = {
        let response = client.get(format!("{url}/v1/scans")).send().await.unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200);
    assert_eq!(
        scans["scans"].as_array().unwrap().len(),
        2,
        "both scans kept"
    );
}
