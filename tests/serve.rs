//! `backup-doctor serve` end to end over HTTP: a `serve` process reads the demo fleet live from
//! the ARM emulator on a schedule and on request, and answers the API; every JSON answer is
//! checked against the service's own OpenAPI document.

mod serve_common;

use backup_doctor_testkit::browser::{browser, chromium};
use backup_doctor_testkit::live::{demo_config, serve};
use serde_json::{json, Value};
use serve_common::{eventually, live_config, prometheus, Api, Serve};
use std::collections::BTreeSet;
use std::time::Duration;

const SCAN_WAIT: Duration = Duration::from_secs(120);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[test]
fn check_config_names_the_unknown_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\n[auth]\ndisabled = true\n[schedule]\ncron = \"0 2 * * *\"\ntimezone = \"UTC\"\n").unwrap();
    let output = assert_cmd::Command::cargo_bin("backup-doctor")
        .unwrap()
        .args(["serve", "--check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("schedule.timezone"), "{stderr}");
    assert!(stderr.contains("serve.toml"), "{stderr}");

    std::fs::write(&file, "listen = \"127.0.0.1:0\"\n[auth]\ndisabled = true\n[schedule]\ncron = \"0 2 * * *\"\ntime_zone = \"Europe/Amsterdam\"\n").unwrap();
    let output = assert_cmd::Command::cargo_bin("backup-doctor")
        .unwrap()
        .args(["serve", "--check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The environment overrides the file: a listen address that is not loopback with auth off
    // is refused, naming the key.
    let output = assert_cmd::Command::cargo_bin("backup-doctor")
        .unwrap()
        .args(["serve", "--check-config", "--config"])
        .arg(&file)
        .env("BACKUP_DOCTOR_LISTEN", "0.0.0.0:8080")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("auth.disabled"));
}

/// The README's walk-through: a scheduled scan runs at start (its slot was missed), a requested
/// one completes (and a second request meanwhile is refused), the failing demo VMs are listed,
/// a VM is checked live (the second check from the cache), the metrics parse, the stored report
/// renders in every format, and the dashboard pages are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scans_lists_checks_and_reports_over_http() {
    let emulator = serve(demo_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    let config = live_config(
        &emulator,
        &store.display().to_string(),
        "[auth]\ndisabled = true\n[open]\nmetrics = true\n[schedule]\ncron = \"0 3 * * *\"\ntime_zone = \"Europe/Amsterdam\"\n",
    );
    let server = Serve::start(&emulator, dir.path(), &config, &[]);
    let url = server.url.clone();
    let client = client();
    let api = Api::fetch(&client, &url).await;

    // The scheduled scan of the latest slot runs at once: the store has none for it.
    let scans = eventually(SCAN_WAIT, "the scheduled scan", || async {
        let (status, body) = get_json(&client, &format!("{url}/v1/scans")).await;
        (status == 200 && !body["scans"].as_array()?.is_empty()).then_some(body)
    })
    .await;
    api.conforms("get", "/v1/scans", 200, &scans);
    let first = &scans["scans"][0];
    assert!(
        first["source"]
            .as_str()
            .unwrap()
            .starts_with("live (scheduled "),
        "{first}"
    );
    let scan_id = first["id"].as_i64().unwrap();

    // A requested scan: 202 with its run, a second request meanwhile 409, then complete.
    // The scheduled scan is listed a moment before its lease is released: 409 until then.
    let response = eventually(SCAN_WAIT, "the lease of the scheduled scan", || async {
        let response = client.post(format!("{url}/v1/scans")).send().await.unwrap();
        (response.status().as_u16() != 409).then_some(response)
    })
    .await;
    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let run: Value = response.json().await.unwrap();
    api.conforms("post", "/v1/scans", 202, &run);
    let busy = client.post(format!("{url}/v1/scans")).send().await.unwrap();
    assert_eq!(busy.status().as_u16(), 409);
    api.conforms("post", "/v1/scans", 409, &busy.json().await.unwrap());
    let done = eventually(SCAN_WAIT, "the requested scan", || async {
        let (_, body) = get_json(&client, &format!("{url}{location}")).await;
        (body["state"] != "running").then_some(body)
    })
    .await;
    api.conforms("get", "/v1/scans/runs/{run}", 200, &done);
    assert_eq!(done["state"], "complete", "{done}");
    let requested_id = done["scan_id"].as_i64().unwrap();
    assert!(requested_id > scan_id);

    // The failing VMs: exactly those the stored report says fail.
    let (status, report) = get_json(
        &client,
        &format!("{url}/v1/scans/{requested_id}?format=json"),
    )
    .await;
    assert_eq!(status, 200);
    api.conforms("get", "/v1/scans/{id}", 200, &report);
    let failing: BTreeSet<String> = report["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|vm| vm["verdict"] == "fail")
        .map(|vm| vm["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        failing.len() >= 8,
        "the demo fleet fails at every layer: {failing:?}"
    );
    let (status, page) = get_json(&client, &format!("{url}/v1/vms?verdict=fail&limit=500")).await;
    assert_eq!(status, 200, "{page}");
    api.conforms("get", "/v1/vms", 200, &page);
    let listed: BTreeSet<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vm| vm["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, failing);
    assert_eq!(page["total"].as_u64().unwrap() as usize, failing.len());
    // Paging: two at a time, the same VMs.
    let (_, first_two) = get_json(
        &client,
        &format!("{url}/v1/vms?verdict=fail&limit=2&offset=0"),
    )
    .await;
    assert_eq!(first_two["items"].as_array().unwrap().len(), 2);
    assert_eq!(first_two["total"], page["total"]);

    // One VM: its diagnosis with fixes, and its verdict in both scans.
    let sql = failing
        .iter()
        .find(|id| id.ends_with("/vm-sql-01"))
        .expect("vm-sql-01 fails")
        .clone();
    let (status, vm) = get_json(&client, &format!("{url}/v1/vms{sql}")).await;
    assert_eq!(status, 200, "{vm}");
    api.conforms("get", "/v1/vms/{id}", 200, &vm);
    assert_eq!(vm["vm"]["root_cause"], "agent");
    assert!(vm["vm"]["findings"][0]["remediation"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert_eq!(vm["history"].as_array().unwrap().len(), 2, "{vm}");
    let (status, missing) = get_json(&client, &format!("{url}/v1/vms/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/none")).await;
    assert_eq!(status, 404);
    api.conforms("get", "/v1/vms/{id}", 404, &missing);

    // The readiness check, live, then from the cache.
    let body = json!({ "vms": [sql] });
    let response = client
        .post(format!("{url}/v1/check"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cold_calls: u64 = response.headers()["x-arm-calls"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let check: Value = response.json().await.unwrap();
    api.conforms("post", "/v1/check", 200, &check);
    assert_eq!(check["summary"]["vms"], 1);
    assert!(cold_calls > 0);
    let response = client
        .post(format!("{url}/v1/check"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["x-arm-calls"],
        "0",
        "the second check is answered from the cache"
    );
    // A subscription ARM does not know is the request's mistake, not an outage.
    let unknown_subscription = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-x";
    for bad in [
        json!({ "vms": [] }),
        json!({ "vms": ["vm-sql-01"] }),
        json!({ "vm": [sql] }),
        json!({ "vms": [unknown_subscription] }),
    ] {
        let response = client
            .post(format!("{url}/v1/check"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{bad}");
        api.conforms("post", "/v1/check", 400, &response.json().await.unwrap());
    }
    let huge = json!({ "vms": [ "x".repeat(200_000) ] });
    // The server answers before reading the whole body and then drops the connection; a
    // pooled client would reuse it for the next request, so this one asks not to.
    let response = client
        .post(format!("{url}/v1/check"))
        .header("connection", "close")
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);

    // Metrics: valid exposition text with the fleet of the latest scan.
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = prometheus(&text);
    let value = |series: &str| samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v);
    assert_eq!(
        value("backup_doctor_vms{verdict=\"fail\"}"),
        Some(failing.len() as f64),
        "{text}"
    );
    assert_eq!(
        value("backup_doctor_check_requests_total{outcome=\"ok\"}"),
        Some(2.0)
    );
    assert!(
        value("backup_doctor_last_scan_arm_calls").is_some_and(|calls| calls > 0.0),
        "{text}"
    );
    assert!(
        value("backup_doctor_last_scan_duration_seconds").is_some(),
        "{text}"
    );
    assert!(samples
        .iter()
        .any(|(s, _)| s.starts_with("backup_doctor_vms_by_root_cause{root_cause=\"agent\"}")));

    // The stored report in every format, by ?format= and by Accept.
    for (format, media) in [
        ("html", "text/html"),
        ("csv", "text/csv"),
        ("sarif", "application/sarif+json"),
        ("junit", "application/xml"),
        ("markdown", "text/markdown"),
        ("console", "text/plain"),
    ] {
        let response = client
            .get(format!("{url}/v1/scans/{requested_id}?format={format}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{format}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media),
            "{format}"
        );
        let by_accept = client
            .get(format!("{url}/v1/scans/{requested_id}"))
            .header("accept", media)
            .send()
            .await
            .unwrap();
        assert!(
            by_accept.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media),
            "{media}"
        );
        assert!(!response.text().await.unwrap().is_empty());
    }
    let response = client
        .get(format!("{url}/v1/scans/{requested_id}"))
        .header("accept", "image/png")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 406);
    let (status, body) = get_json(
        &client,
        &format!("{url}/v1/scans/{requested_id}?format=pdf"),
    )
    .await;
    assert_eq!(status, 400);
    api.conforms("get", "/v1/scans/{id}", 400, &body);
    let (status, body) = get_json(&client, &format!("{url}/v1/vms?verdict=maybe")).await;
    assert_eq!(status, 400);
    api.conforms("get", "/v1/vms", 400, &body);
    assert!(body["error"]["message"].as_str().unwrap().contains("maybe"));

    // Dashboard: the latest report as the HTML page, with its CSP as a header too; the history.
    let response = client.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(response.text().await.unwrap().contains("vm-sql-01"));
    let history = client
        .get(format!("{url}/history"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("Failing VMs by root cause") && history.contains("<polyline"),
        "{history:.500}"
    );

    // The dashboard in a browser: the report's script runs under its CSP and draws the VMs;
    // the history page draws its trend. Screenshots for people to look at.
    if let Some(browser) = browser() {
        let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let base = url.clone();
        tokio::task::spawn_blocking(move || {
            for (page, shot, expect) in [
                ("/", "serve-dashboard.png", "vm-sql-01"),
                ("/history", "serve-history.png", "<polyline"),
            ] {
                let dom = chromium(
                    &browser,
                    &format!("{base}{page}"),
                    &["--dump-dom".to_string()],
                );
                assert!(
                    dom.contains("</html>") && dom.contains(expect),
                    "{page}: {dom:.300}"
                );
                let path = shots.join(shot);
                let _ = std::fs::remove_file(&path);
                chromium(
                    &browser,
                    &format!("{base}{page}"),
                    &[
                        format!("--screenshot={}", path.display()),
                        "--window-size=1400,1600".to_string(),
                        "--hide-scrollbars".to_string(),
                    ],
                );
                let png = std::fs::read(&path).expect("chromium wrote the screenshot");
                assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
                eprintln!("screenshot: {}", path.display());
            }
        })
        .await
        .unwrap();
    }

    // Health.
    let (status, ready) = get_json(&client, &format!("{url}/readyz")).await;
    let (_, listed) = get_json(&client, &format!("{url}/v1/scans")).await;
    assert_eq!(status, 200, "{ready} {listed}");
    api.conforms("get", "/readyz", 200, &ready);

    // One log line per request with method, path, status, latency and caller; one per scan.
    let logs = server.logs();
    let requests: Vec<Value> = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["fields"]["message"] == "request")
        .collect();
    assert!(
        requests.iter().any(|r| r["fields"]["path"] == "/v1/check"
            && r["fields"]["status"] == 200
            && r["fields"]["caller"] == "anonymous"
            && r["fields"]["latency_ms"].is_number()),
        "{requests:?}"
    );
    assert!(
        logs.iter()
            .filter(|line| line.contains("\"scan recorded\""))
            .count()
            >= 2
    );
    for line in &logs {
        for token in emulator.issued_tokens() {
            assert!(!line.contains(&token), "a token reached the log: {line}");
        }
    }
}

/// SIGTERM during a scan: the process stops promptly, nothing of the scan is written, and the
/// lease is released (a new serve on the same store can scan at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_abandons_the_running_scan_without_writing_it() {
    let mut slow = demo_config();
    // Slow enough that the scan is still reading when the signal comes.
    slow.latency = Duration::from_millis(200);
    let emulator = serve(slow).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    let config = live_config(
        &emulator,
        &store.display().to_string(),
        "[auth]\ndisabled = true\n",
    );
    let mut server = Serve::start(&emulator, dir.path(), &config, &[]);
    let client = client();
    let response = client
        .post(format!("{}/v1/scans", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let logs = server.logs();
    assert!(
        logs.iter()
            .any(|line| line.contains("abandoned at shutdown")),
        "{logs:?}"
    );
    let history = assert_cmd::Command::cargo_bin("backup-doctor")
        .unwrap()
        .args(["history", "--format", "json", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let history: Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history["scans"].as_array().unwrap().len(), 0, "{history}");

    // The lease was released: a new serve starts a scan at once instead of answering 409.
    let fast = serve(demo_config()).await;
    let config = live_config(
        &fast,
        &store.display().to_string(),
        "[auth]\ndisabled = true\n",
    );
    let again = Serve::start(&fast, dir.path(), &config, &[]);
    let response = client
        .post(format!("{}/v1/scans", again.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
}
