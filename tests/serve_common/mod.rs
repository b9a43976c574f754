//! What the `serve` end-to-end tests share: a `serve` process signed in at the ARM emulator,
//! an HTTP client, and the check of every JSON answer against the service's own OpenAPI
//! document.
#![allow(dead_code)]

use backup_doctor_testkit::emulator::Emulator;
use backup_doctor_testkit::live::SECRET;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `serve` process; killed when dropped.
pub struct Serve {
    pub child: Child,
    pub url: String,
    /// Every line it logged (JSON), as they come.
    pub logs: Arc<Mutex<Vec<String>>>,
    pub config: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The configuration of a serve on any free loopback port that reads the emulator live.
pub fn live_config(emulator: &Emulator, store: &str, extra: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
store = "{store}"
log_format = "json"
{extra}
[live]
auth = "secret"
arm_endpoint = "{url}"
graph_endpoint = "{url}"
concurrency = 8
"#,
        url = emulator.url()
    )
}

impl Serve {
    /// Starts `serve --config` on `config` (written to `dir`), signed in at `emulator` as its
    /// test service principal, and waits for its "serving" log line.
    pub fn start(emulator: &Emulator, dir: &Path, config: &str, env: &[(&str, &str)]) -> Serve {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("serve-{n}.toml"));
        std::fs::write(&path, config).unwrap();
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("backup-doctor"));
        command
            .args(["serve", "--config"])
            .arg(&path)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AZURE_TENANT_ID", emulator.tenant_id())
            .env("AZURE_CLIENT_ID", emulator.client_id())
            .env("AZURE_CLIENT_SECRET", SECRET)
            .env("AZURE_AUTHORITY_HOST", emulator.url())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("serve starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line) {
                    if entry["fields"]["message"] == "serving" {
                        let listen = entry["fields"]["listen"].as_str().unwrap_or("").to_string();
                        let _ = address_tx.send(listen);
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let address = address_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve did not start: {:?}", logs.lock().unwrap()));
        Serve {
            child,
            url: format!("http://{address}"),
            logs,
            config: path,
        }
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "serve did not stop within {within:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The OpenAPI document as served, and a check of answers against it.
pub struct Api {
    pub document: Value,
}

impl Api {
    pub async fn fetch(client: &reqwest::Client, url: &str) -> Api {
        let document = client
            .get(format!("{url}/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        Api { document }
    }

    /// Fails unless `body` is what the document says `method path` answers with `status`
    /// (`path` as the document writes it, e.g. `/v1/vms/{id}`).
    pub fn conforms(&self, method: &str, path: &str, status: u16, body: &Value) {
        let operation = &self.document["paths"][path][method];
        assert!(
            operation.is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
        let response = &operation["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {path} answered {status}, which the OpenAPI document does not list"
        );
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path} {status} has no JSON schema"
        );
        let pointer = schema["$ref"]
            .as_str()
            .map(|r| format!("urn:openapi{r}"))
            .expect("responses refer to components");
        let resource = jsonschema::Resource::from_contents(self.document.clone()).unwrap();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_resource("urn:openapi", resource)
            .build(&serde_json::json!({ "$ref": pointer }))
            .expect("the OpenAPI schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status} does not match the OpenAPI document:\n  {}\n{body:.2000}",
            errors.join("\n  ")
        );
    }
}

/// Polls `probe` every 200 ms until it gives a value, failing after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each sample line of a Prometheus text exposition as (name with labels, value); fails on a
/// line that is neither a comment nor a sample.
pub fn prometheus(text: &str) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unterminated labels in {line}");
        }
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        samples.push((series.to_string(), value));
    }
    samples
}

/// A throwaway PostgreSQL server for one test (or the one `BACKUP_DOCTOR_TEST_POSTGRES` names, with
/// a fresh database in it); stopped when dropped.
pub struct Postgres {
    pub url: String,
    bin: Option<PathBuf>,
    data: Option<tempfile::TempDir>,
    as_user: Option<&'static str>,
}

impl Postgres {
    /// `None` (said loudly) only when no PostgreSQL binaries exist on this machine.
    pub fn start(name: &str) -> Option<Postgres> {
        if let Ok(url) = std::env::var("BACKUP_DOCTOR_TEST_POSTGRES") {
            let database = format!("bd_{name}_{}", std::process::id());
            let status = Command::new("psql")
                .args([
                    url.as_str(),
                    "-q",
                    "-c",
                    &format!("CREATE DATABASE {database}"),
                ])
                .status()
                .expect("psql runs (BACKUP_DOCTOR_TEST_POSTGRES is set)");
            assert!(status.success(), "cannot create database {database}");
            let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&url);
            return Some(Postgres {
                url: format!("{base}/{database}"),
                bin: None,
                data: None,
                as_user: None,
            });
        }
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .find(|bin| bin.join("initdb").exists());
        let Some(bin) = bin else {
            eprintln!("SKIPPED: no PostgreSQL binaries (apt-get install postgresql, or set BACKUP_DOCTOR_TEST_POSTGRES) — the PostgreSQL serve test did not run");
            return None;
        };
        let data = tempfile::tempdir().unwrap();
        // initdb refuses root: run the server as the package's `postgres` user then.
        let as_user = (Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false))
        .then_some("postgres");
        if let Some(user) = as_user {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(data.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let port = free_port();
        let run = |program: &str, args: &[&str]| {
            let mut command = match as_user {
                Some(user) => {
                    let mut c = Command::new("runuser");
                    c.args(["-u", user, "--"]).arg(bin.join(program));
                    c
                }
                None => Command::new(bin.join(program)),
            };
            let output = command.args(args).output().unwrap();
            assert!(
                output.status.success(),
                "{program}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let dir = data.path().display().to_string();
        let pgdata = format!("{dir}/data");
        run(
            "initdb",
            &["-D", &pgdata, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        let options = format!("-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off");
        run(
            "pg_ctl",
            &[
                "-D",
                &pgdata,
                "-o",
                &options,
                "-l",
                &format!("{dir}/log"),
                "-w",
                "start",
            ],
        );
        Some(Postgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin: Some(bin),
            data: Some(data),
            as_user,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let (Some(bin), Some(data)) = (&self.bin, &self.data) {
            let pgdata = data.path().join("data");
            let mut command = match self.as_user {
                Some(user) => {
                    let mut c = Command::new("runuser");
                    c.args(["-u", user, "--"]).arg(bin.join("pg_ctl"));
                    c
                }
                None => Command::new(bin.join("pg_ctl")),
            };
            let _ = command
                .arg("-D")
                .arg(pgdata)
                .args(["-m", "immediate", "stop"])
                .output();
        }
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
