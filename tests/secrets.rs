//! Secrets never leave the process: the real binary run along every path that handles a
//! credential (live scans at every log level and in every format, the certificate sign-in,
//! `collect --out`, the stores, `serve`'s logs and answers, and the error paths where a server's
//! answer echoes the request back), with EVERYTHING it produced (stdout, stderr, every file it
//! wrote, the SQLite store's bytes, every HTTP answer) searched for the client secret, the
//! certificate password, the PostgreSQL password and every bearer token the emulator issued, in
//! their raw, URL-encoded and base64 forms.
//!
//! The secrets hold characters that URL encoding changes (`+`, `/`, `=`, `~`, `&`), so a form
//! body or a URL that carries one is found in its encoded form too.

mod serve_common;

use assert_cmd::Command;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig};
use backup_doctor_testkit::live::{
    demo_config, endpoint_flags, make_certificate, run_blocking, serve, signing_in,
};
use backup_doctor_testkit::loopback::{lock, Loopback};
use base64::Engine;
use serde_json::Value;
use serve_common::{eventually, Serve};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CLIENT_SECRET: &str = "Cl1ent~Secret+7c1d/9e=Q&x";
const CERTIFICATE_PASSWORD: &str = "Pfx+Pass/3b8a61=Z&k";
const POSTGRES_PASSWORD: &str = "Pg+Pass/91e2c4=W&m";
const DCR: &str = "dcr-00112233445566778899aabbccddeeff";
const NOW: &str = "2026-11-24T06:00:00Z";

/// What one path produced, under a label that says where it came from.
#[derive(Default)]
struct Haystack {
    pieces: Vec<(String, Vec<u8>)>,
}

impl Haystack {
    fn add(&mut self, label: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.pieces.push((label.into(), bytes.into()));
    }

    fn output(&mut self, label: &str, output: &Output) {
        self.add(format!("{label}: stdout"), output.stdout.clone());
        self.add(format!("{label}: stderr"), output.stderr.clone());
    }

    /// Every file under `dir`, at any depth, byte for byte (a SQLite store is searched as the
    /// bytes on disk, its journal included).
    fn files(&mut self, dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                self.files(&path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                self.add(path.display().to_string(), bytes);
            }
        }
    }

    /// Fails naming every place a secret is found, in any of its forms.
    fn assert_clean(&self, secrets: &[(&str, String)]) {
        let mut found = Vec::new();
        for (what, secret) in secrets {
            for form in forms(secret) {
                for (label, bytes) in &self.pieces {
                    if contains(bytes, form.as_bytes()) {
                        found.push(format!("{what} (as {form:?}) in {label}"));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "secrets left the process:\n  {}",
            found.join("\n  ")
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A secret as it may appear: raw, URL-encoded (form and path style), and base64 (standard and
/// URL-safe alphabets) at each of the three byte alignments a longer encoded text can put it at.
/// A bearer token is also looked for by its signature alone, the part a truncated print keeps.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    let form_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    forms.push(form_encoded);
    let path_encoded: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push(path_encoded);
    let bytes = secret.as_bytes();
    for skip in 0..3 {
        // Whole 3-byte groups from `skip` encode to the same characters wherever the group
        // boundary falls in a longer text.
        let rest = &bytes[skip.min(bytes.len())..];
        let whole = &rest[..rest.len() / 3 * 3];
        if whole.len() >= 9 {
            forms.push(base64::engine::general_purpose::STANDARD_NO_PAD.encode(whole));
            forms.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(whole));
        }
    }
    if secret.matches('.').count() == 2 {
        if let Some(signature) = secret.rsplit('.').next().filter(|s| s.len() >= 16) {
            forms.push(signature.to_owned());
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// The secrets of a run against `emulator`: the client secret, the certificate and PostgreSQL
/// passwords, and every token it issued so far (at least `min_tokens`, or the path did not sign
/// in and proves nothing).
fn secrets_of(emulator: &Emulator, min_tokens: usize) -> Vec<(&'static str, String)> {
    let tokens = emulator.issued_tokens();
    assert!(
        tokens.len() >= min_tokens,
        "the emulator issued {} tokens, expected at least {min_tokens}",
        tokens.len()
    );
    let mut secrets = vec![
        ("the client secret", CLIENT_SECRET.to_owned()),
        ("the certificate password", CERTIFICATE_PASSWORD.to_owned()),
        ("the PostgreSQL password", POSTGRES_PASSWORD.to_owned()),
    ];
    secrets.extend(tokens.into_iter().map(|t| ("a bearer token", t)));
    secrets
}

fn config() -> EmulatorConfig {
    EmulatorConfig {
        client_secret: CLIENT_SECRET.into(),
        ..demo_config()
    }
}

/// The binary signed in at `authority` with the client secret, with `log` as its log settings:
/// `-v` flags, or `RUST_LOG=…`.
fn with_secret_at(emulator: &Emulator, authority: &str, log: &str) -> Command {
    let mut command = signing_in(emulator, &emulator.tenant_id());
    command
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
        .env("AZURE_AUTHORITY_HOST", authority);
    if let Some(filter) = log.strip_prefix("RUST_LOG=") {
        command.env("RUST_LOG", filter);
    } else if !log.is_empty() {
        command.arg(log);
    }
    command
}

/// The log settings the live paths run under: the default, each `-v` level, and `RUST_LOG` at
/// trace and debug for everything, the dependencies' HTTP and SDK targets included.
const LOG_LEVELS: &[&str] = &[
    "",
    "-v",
    "-vv",
    "-vvv",
    "RUST_LOG=trace",
    "RUST_LOG=debug,reqwest=trace,hyper=trace,hyper_util=trace,azure_core=trace,azure_identity=trace,rustls=trace",
    "RUST_LOG=azure_core::policies::transport=trace,azure_core=trace,sqlx=trace,rusqlite=trace",
];
const FORMATS: &[&str] = &[
    "console", "json", "html", "markdown", "sarif", "junit", "csv",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_scans_at_every_log_level_and_in_every_format_leak_nothing() {
    let emulator = serve(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    let mut haystack = Haystack::default();
    let mut log_lines = 0;
    for (n, (format, log)) in FORMATS.iter().zip(LOG_LEVELS.iter()).enumerate() {
        let report = dir.path().join(format!("report-{n}.{format}"));
        let mut command = with_secret_at(&emulator, &emulator.url(), log);
        command
            .args(["scan", "--live", "--auth", "secret", "--format", format])
            .args(["--fail-on", "never", "--store"])
            .arg(&store)
            .arg("--output")
            .arg(&report)
            .args(endpoint_flags(&emulator));
        if n % 2 == 1 {
            command.args(["--log-format", "json"]);
        }
        let output = run_blocking(command).await;
        assert!(
            matches!(output.status.code(), Some(0 | 3)),
            "scan --format {format} {log}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if log.contains("trace") {
            log_lines += output.stderr.split(|&b| b == b'\n').count();
        }
        haystack.output(&format!("scan --format {format} {log}"), &output);
    }
    // The trace runs must have logged, or the log levels proved nothing.
    assert!(log_lines > 200, "trace logging printed {log_lines} lines");
    // `history` reads the store back.
    let mut command = Command::cargo_bin("backup-doctor").unwrap();
    command
        .args(["history", "--format", "json", "-vvv", "--store"])
        .arg(&store);
    haystack.output("history", &run_blocking(command).await);
    haystack.files(dir.path());
    haystack.assert_clean(&secrets_of(&emulator, 1));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_sign_in_and_collect_out_leak_nothing() {
    // The certificate and its key are the test's input, outside the searched directory.
    let keys = tempfile::tempdir().unwrap();
    let (pfx, thumbprint) = make_certificate(keys.path(), CERTIFICATE_PASSWORD);
    let emulator = serve(EmulatorConfig {
        certificate_thumbprint: Some(thumbprint),
        ..config()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut haystack = Haystack::default();
    for (n, (password, log, expected)) in [
        (CERTIFICATE_PASSWORD, "-vvv", 0),
        (CERTIFICATE_PASSWORD, "RUST_LOG=trace", 0),
        // A wrong password: the archive cannot be opened, and the message must not echo either.
        ("Wrong+Pass/00=", "-vvv", 2),
    ]
    .into_iter()
    .enumerate()
    {
        let out = dir.path().join(format!("snapshot-{n}"));
        let mut command = signing_in(&emulator, &emulator.tenant_id());
        command
            .env("AZURE_CLIENT_CERTIFICATE_PATH", &pfx)
            .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", password)
            .args(["collect", "--live", "--auth", "certificate", "--out"])
            .arg(&out)
            .args(endpoint_flags(&emulator));
        if let Some(filter) = log.strip_prefix("RUST_LOG=") {
            command.env("RUST_LOG", filter);
        } else {
            command.arg(log);
        }
        let output = run_blocking(command).await;
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        haystack.output(&format!("collect --auth certificate {log}"), &output);
    }
    haystack.files(dir.path());
    let mut secrets = secrets_of(&emulator, 1);
    secrets.push((
        "the wrong certificate password",
        "Wrong+Pass/00=".to_owned(),
    ));
    haystack.assert_clean(&secrets);
    emulator.shutdown().await;
}

/// A server that answers every request with an error whose message is the whole request as it
/// came (method, path, every header, the body): a token endpoint, ARM or a Logs Ingestion
/// endpoint that echoes back the secret or the bearer token it was sent, so any path that
/// prints a server's error message is caught printing the secret.
struct Echo {
    url: String,
    status: Arc<Mutex<u16>>,
    seen: Arc<Mutex<Vec<String>>>,
    _server: Loopback,
}

#[derive(Clone)]
struct EchoState {
    status: Arc<Mutex<u16>>,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn echo(State(state): State<EchoState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut text = format!("{} {}\n", parts.method, parts.uri);
    for (name, value) in &parts.headers {
        text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("?")));
    }
    text.push_str(&String::from_utf8_lossy(&body));
    lock(&state.seen).push(text.clone());
    let status = *lock(&state.status);
    let body = if parts.uri.path().contains("/oauth2/") {
        serde_json::json!({
            "error": "invalid_client",
            "error_description": format!("AADSTS7000215: Invalid client secret provided. The request was: {text}"),
        })
    } else {
        serde_json::json!({
            "error": {
                "code": if status == 401 { "InvalidAuthenticationToken" } else { "AuthorizationFailed" },
                "message": format!("The request was refused: {text}"),
            }
        })
    };
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    (status, axum::Json(body)).into_response()
}

impl Echo {
    async fn start(status: u16) -> Echo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = EchoState {
            status: Arc::new(Mutex::new(status)),
            seen: Arc::default(),
        };
        let app = Router::new().fallback(echo).with_state(state.clone());
        Echo {
            url,
            status: state.status,
            seen: state.seen,
            _server: Loopback::serve(listener, app, "echo"),
        }
    }

    fn set_status(&self, status: u16) {
        *lock(&self.status) = status;
    }

    /// Whether some request this server saw carried `needle`: the error path was really taken
    /// with the secret in hand.
    fn saw(&self, needle: &str) -> bool {
        lock(&self.seen)
            .iter()
            .any(|request| request.contains(needle))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_that_echo_the_secret_or_the_token_leak_nothing() {
    let emulator = serve(config()).await;
    let echo = Echo::start(401).await;
    let dir = tempfile::tempdir().unwrap();
    let mut haystack = Haystack::default();

    // The token endpoint refuses the secret with a 401 whose body repeats the request's form.
    for log in ["", "-vvv", "RUST_LOG=trace"] {
        let mut command = with_secret_at(&emulator, &echo.url, log);
        command
            .args(["scan", "--live", "--auth", "secret", "--format", "json"])
            .args(endpoint_flags(&emulator));
        let output = run_blocking(command).await;
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        haystack.output(&format!("token endpoint 401, {log}"), &output);
    }
    let form_secret: String =
        url::form_urlencoded::byte_serialize(CLIENT_SECRET.as_bytes()).collect();
    assert!(
        echo.saw(&form_secret),
        "the token request never reached the echoing endpoint"
    );

    // ARM answers 401 and 403 with bodies that repeat the request, bearer token included.
    for status in [401, 403] {
        echo.set_status(status);
        for log in ["", "-vvv"] {
            let mut command = with_secret_at(&emulator, &emulator.url(), log);
            command
                .args(["scan", "--live", "--auth", "secret", "--format", "json"])
                .args(["--arm-endpoint", &echo.url, "--graph-endpoint", &echo.url]);
            let output = run_blocking(command).await;
            assert!(
                matches!(output.status.code(), Some(2 | 3)),
                "ARM {status}: {output:?}"
            );
            haystack.output(&format!("ARM {status}, {log}"), &output);
        }
    }
    assert!(
        echo.saw("Bearer "),
        "no bearer token reached the echoing ARM"
    );

    // The Logs Ingestion endpoint refuses the export the same way.
    echo.set_status(401);
    for log in ["", "-vvv"] {
        let mut command = with_secret_at(&emulator, &emulator.url(), log);
        command
            .env("BACKUP_DOCTOR_LOG_ANALYTICS_DCR", DCR)
            .args(["scan", "--format", "json", "--now", NOW, "--snapshot"])
            .arg(backup_doctor_testkit::fixtures::demo())
            .args(["--auth", "secret", "--export", "log-analytics"])
            .args(["--log-analytics-endpoint", &echo.url]);
        let output = run_blocking(command).await;
        assert_eq!(output.status.code(), Some(2), "export: {output:?}");
        haystack.output(&format!("export 401, {log}"), &output);
    }

    // A PostgreSQL store URL with a password, where no server listens.
    let port = serve_common::free_port();
    let store = format!(
        "postgres://auditor:{}@127.0.0.1:{port}/history",
        url::form_urlencoded::byte_serialize(POSTGRES_PASSWORD.as_bytes()).collect::<String>()
    );
    // Each run waits out the driver's pool timeout (about 15 s), so they run side by side.
    let mut runs = Vec::new();
    for log in ["", "-vvv", "RUST_LOG=trace"] {
        let mut command = Command::cargo_bin("backup-doctor").unwrap();
        command
            .env_clear()
            .args(["scan", "--format", "json", "--now", NOW, "--snapshot"])
            .arg(backup_doctor_testkit::fixtures::demo())
            .args(["--store", &store]);
        if let Some(filter) = log.strip_prefix("RUST_LOG=") {
            command.env("RUST_LOG", filter);
        } else if !log.is_empty() {
            command.arg(log);
        }
        runs.push((format!("scan on the PostgreSQL store, {log}"), command));
    }
    let mut command = Command::cargo_bin("backup-doctor").unwrap();
    command
        .env_clear()
        .args(["history", "-vvv", "--store", &store]);
    runs.push(("history on the PostgreSQL store, -vvv".to_owned(), command));
    // `serve` on that store, at trace level. Its configuration is the test's input, not the
    // binary's output: it is kept out of the searched directory.
    let inputs = tempfile::tempdir().unwrap();
    let config = inputs.path().join("serve.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\nstore = \"{store}\"\n[auth]\ndisabled = true\n"),
    )
    .unwrap();
    let mut command = with_secret_at(&emulator, &emulator.url(), "RUST_LOG=trace");
    command.arg("serve").arg("--config").arg(&config);
    runs.push((
        "serve on the PostgreSQL store, RUST_LOG=trace".to_owned(),
        command,
    ));
    let (labels, commands): (Vec<String>, Vec<Command>) = runs.into_iter().unzip();
    let outputs = futures::future::join_all(commands.into_iter().map(run_blocking)).await;
    for (label, output) in labels.iter().zip(&outputs) {
        assert_eq!(output.status.code(), Some(2), "{label}: {output:?}");
        haystack.output(label, output);
    }

    haystack.files(dir.path());
    haystack.assert_clean(&secrets_of(&emulator, 2));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_and_answers_leak_nothing() {
    let emulator = serve(config()).await;
    let echo = Echo::start(401).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("serve.sqlite");
    let config = serve_common::live_config(
        &emulator,
        &store.display().to_string(),
        &format!(
            "[auth]\ndisabled = true\n[open]\nmetrics = true\n\
             [export.log_analytics]\nendpoint = \"{}\"\ndcr = \"{DCR}\"\n",
            echo.url
        ),
    );
    let mut serve = Serve::start(
        &emulator,
        dir.path(),
        &config,
        &[
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET),
            ("RUST_LOG", "trace"),
        ],
    );
    let client = reqwest::Client::new();
    let mut haystack = Haystack::default();
    let mut answer = |label: String, status: u16, body: String| {
        haystack.add(format!("{label} ({status})"), body);
    };

    let started = client
        .post(format!("{}/v1/scans", serve.url))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let run: Value = started.json().await.unwrap();
    let run = run["run"].as_str().unwrap().to_owned();
    let scan_id = eventually(Duration::from_secs(90), "the scan to be recorded", || {
        let client = client.clone();
        let url = format!("{}/v1/scans/runs/{run}", serve.url);
        async move {
            let state: Value = client.get(url).send().await.ok()?.json().await.ok()?;
            assert_ne!(state["state"], "failed", "{state}");
            state["scan_id"].as_i64()
        }
    })
    .await;
    let vms: Value = client
        .get(format!("{}/v1/vms?limit=1", serve.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vm = vms["items"][0]["id"].as_str().unwrap().to_owned();
    let mut gets: Vec<String> = FORMATS
        .iter()
        .map(|f| format!("/v1/scans/{scan_id}?format={f}"))
        .collect();
    gets.extend([
        "/v1/scans".to_owned(),
        "/v1/vms".to_owned(),
        format!("/v1/vms{vm}"),
        "/metrics".to_owned(),
        "/readyz".to_owned(),
        format!("/v1/scans/runs/{run}"),
        "/".to_owned(),
        "/history".to_owned(),
    ]);
    for path in gets {
        let response = client
            .get(format!("{}{path}", serve.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = format!("{:?}", response.headers());
        answer(format!("GET {path} headers"), status, headers);
        answer(
            format!("GET {path}"),
            status,
            response.text().await.unwrap(),
        );
    }
    let response = client
        .post(format!("{}/v1/check", serve.url))
        .json(&serde_json::json!({ "vms": [vm] }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    answer(
        "POST /v1/check".into(),
        status,
        response.text().await.unwrap(),
    );
    // The export runs after the scan is recorded, so it may still be on its way.
    eventually(
        Duration::from_secs(60),
        "the export to reach the echoing endpoint",
        || async { echo.saw("Bearer ").then_some(()) },
    )
    .await;
    serve.terminate(Duration::from_secs(30));
    haystack.add("serve's log", serve.logs().join("\n"));
    assert!(
        serve.logs().len() > 100,
        "serve logged {} lines at trace level",
        serve.logs().len()
    );
    drop(serve);
    haystack.files(dir.path());
    haystack.assert_clean(&secrets_of(&emulator, 1));
    emulator.shutdown().await;
}
