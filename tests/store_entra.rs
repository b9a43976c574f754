//! The PostgreSQL store signed in with Microsoft Entra (`?azure_auth=` in the store URL): a real
//! PostgreSQL server (the testkit's throwaway cluster) whose role's password is set to a token the
//! emulator's managed identity endpoint is scripted to hand out, so a store that does not send
//! that token as its password cannot connect. `serve` refreshes the token before it expires and
//! opens new connections with the new one after the old one stops working; a password next to
//! `azure_auth` and a token in clear to a remote server are refused before any token is fetched;
//! no token reaches an error or a log.

mod serve_common;

use backup_doctor_testkit::binary::{assert_mentions, command, Outcome};
use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig, ScriptedTokens};
use backup_doctor_testkit::live::{demo_config, serve};
use backup_doctor_testkit::postgres::{Cluster, PASSWORD};
use serve_common::{eventually, live_config, Serve};
use std::time::Duration;

/// The audience Azure Database for PostgreSQL tokens are for, as the managed identity endpoints'
/// `resource` parameter carries it.
const RESOURCE: &str = "https://ossrdbms-aad.database.windows.net";
const IDENTITY_HEADER: &str = "emulator-identity-header";

async fn emulator_with(tokens: &[(&str, u64)]) -> Emulator {
    serve(EmulatorConfig {
        scripted_tokens: Some(ScriptedTokens {
            resource: RESOURCE.into(),
            tokens: tokens
                .iter()
                .map(|(t, s)| (t.to_string(), Duration::from_secs(*s)))
                .collect(),
        }),
        ..demo_config()
    })
    .await
}

/// A role of the test server that owns a fresh database, with `password`; the superuser's URL
/// of the database and the role's store URL (loopback, no sslmode: the TLS exemption).
fn role_database(cluster: &Cluster, role: &str, password: &str) -> (String, String) {
    let admin = cluster.database();
    let database = admin.rsplit('/').next().unwrap().to_string();
    cluster.psql(
        &admin,
        &format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD '{password}'; ALTER DATABASE {database} OWNER TO {role};"
        ),
    );
    let host = admin
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();
    (
        admin,
        format!("postgres://{role}@{host}/{database}?azure_auth=managed-identity"),
    )
}

/// A user-assigned identity's client id, as Container Apps sets AZURE_CLIENT_ID in deploy/azure.
const CLIENT_ID: &str = "5e29463d-71da-4fe0-8e69-999b57db23b0";

/// The binary with the Container Apps managed identity endpoint pointing at the emulator, as the
/// system-assigned identity (no AZURE_CLIENT_ID).
fn run(emulator: &Emulator, args: &[&str]) -> Outcome {
    run_as(emulator, None, args)
}

/// As `run`, as the user-assigned identity `client_id` names.
fn run_as(emulator: &Emulator, client_id: Option<&str>, args: &[&str]) -> Outcome {
    let mut command = command();
    command.env_remove("AZURE_CLIENT_ID");
    if let Some(client_id) = client_id {
        command.env("AZURE_CLIENT_ID", client_id);
    }
    let output = command
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", emulator.url()))
        .env("IDENTITY_HEADER", IDENTITY_HEADER)
        .args(args)
        .output()
        .expect("the binary runs");
    let outcome = Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    outcome
}

/// The queries of the managed identity requests for Azure Database for PostgreSQL tokens.
fn token_requests(emulator: &Emulator) -> Vec<String> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/msi/token" && r.query.contains("ossrdbms-aad"))
        .map(|r| r.query)
        .collect()
}

fn assert_no_token(emulator: &Emulator, text: &str) {
    for token in emulator.issued_tokens() {
        assert!(!text.contains(&token), "a token reached the output: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_signs_in_with_the_token_and_a_token_that_is_not_the_password_is_not_shown() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let emulator =
        emulator_with(&[("tok-cli-right-7f3a", 3600), ("tok-cli-wrong-91c2", 3600)]).await;
    let (admin, store) = role_database(cluster, "bd_entra_cli", "tok-cli-right-7f3a");
    // A live scan as the container job runs it: ARM, Graph and the store all signed in as the
    // user-assigned managed identity.
    let url = emulator.url();
    let out = run_as(
        &emulator,
        Some(CLIENT_ID),
        &[
            "-vvv",
            "scan",
            "--live",
            "--auth",
            "managed-identity",
            "--arm-endpoint",
            &url,
            "--graph-endpoint",
            &url,
            "--store",
            &store,
        ],
    );
    assert_eq!(
        out.code, 1,
        "the demo fleet has failing VMs: {}",
        out.stderr
    );
    assert_eq!(cluster.psql(&admin, "SELECT count(*) FROM scans"), "1");
    assert_eq!(
        cluster.psql(
            &admin,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'scans'"
        ),
        "bd_entra_cli",
        "the role the token signed in as made the tables"
    );
    let all: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/msi/token")
        .map(|r| r.query)
        .collect();
    // A user-assigned identity gets a token only when the request names it; a token is cached
    // per resource, not fetched per ARM call.
    assert!(
        all.iter()
            .all(|q| q.contains(&format!("client_id={CLIENT_ID}"))),
        "{all:?}"
    );
    assert!(all.len() <= 3, "one token per resource: {all:?}");
    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].contains("resource=https%3A%2F%2Fossrdbms-aad.database.windows.net"),
        "{requests:?}"
    );
    assert!(
        out.stderr.lines().count() > 20,
        "trace logging printed little: {}",
        out.stderr
    );
    assert_no_token(&emulator, &format!("{}{}", out.stdout, out.stderr));

    // The next token (for the system-assigned identity this time) is not the role's password:
    // the server refuses it, and says so without it.
    let out = run(&emulator, &["history", "--store", &store]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_mentions(
        &out.stderr,
        &["cannot connect to the store", "azure_auth=managed-identity"],
    );
    assert_no_token(&emulator, &format!("{}{}", out.stdout, out.stderr));
    assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(!requests[1].contains("client_id="), "{requests:?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refreshes_the_token_and_opens_new_connections_with_the_new_one() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    // The first token lasts 4 s, so serve refreshes it at once; the second an hour, so the test
    // knows which token serve holds while it checks.
    let emulator =
        emulator_with(&[("tok-serve-first-2b8d", 4), ("tok-serve-second-c4e1", 3600)]).await;
    let role = "bd_entra_serve";
    let (admin, store) = role_database(cluster, role, "tok-serve-first-2b8d");
    let dir = tempfile::tempdir().unwrap();
    let config = live_config(&emulator, &store, "[auth]\ndisabled = true\n");
    let msi = format!("{}/msi/token", emulator.url());
    let server = Serve::start(
        &emulator,
        dir.path(),
        &config,
        &[
            ("IDENTITY_ENDPOINT", msi.as_str()),
            ("IDENTITY_HEADER", IDENTITY_HEADER),
        ],
    );
    let client = reqwest::Client::new();
    let ready = |client: reqwest::Client, url: String| async move {
        let status = client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .ok()?
            .status();
        status.is_success().then_some(())
    };
    eventually(
        Duration::from_secs(10),
        "serve ready on the first token",
        || ready(client.clone(), server.url.clone()),
    )
    .await;

    eventually(Duration::from_secs(15), "the token refreshed", || {
        let n = token_requests(&emulator).len();
        async move { (n >= 2).then_some(()) }
    })
    .await;
    // The first token stops working, and every connection made with it ends.
    cluster.psql(
        &admin,
        &format!(
            "ALTER ROLE {role} PASSWORD 'tok-serve-second-c4e1'; SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{role}';"
        ),
    );
    let sessions = |cluster: &Cluster| {
        cluster.psql(
            &admin,
            &format!("SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}'"),
        )
    };
    eventually(
        Duration::from_secs(20),
        "a new connection with the second token",
        || {
            let probe = ready(client.clone(), server.url.clone());
            async move {
                probe.await?;
                (sessions(cluster) != "0").then_some(())
            }
        },
    )
    .await;
    let scans = client
        .get(format!("{}/v1/scans", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(scans.status(), 200);

    let logs = server.logs().join("\n");
    assert!(
        logs.contains("store access token refreshed"),
        "the refresh is logged: {logs}"
    );
    assert_no_token(&emulator, &logs);
    assert_eq!(
        token_requests(&emulator).len(),
        2,
        "an hour's token is not refreshed at once"
    );
    drop(server);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_with_azure_auth_or_a_token_in_clear_is_refused_before_any_sign_in() {
    let emulator = emulator_with(&[("tok-never-issued-0d1e", 3600)]).await;
    let remote = "postgres://bd@db.example.invalid/bd?azure_auth=managed-identity";
    for (url, mentions) in [
        (
            "postgres://bd:hunter2-Secret@db.example.invalid/bd?sslmode=verify-full&azure_auth=managed-identity".to_string(),
            &["azure_auth", "remove the password"][..],
        ),
        (
            format!("{remote}&sslmode=disable"),
            &["sslmode=disable", "db.example.invalid", "sslmode=verify-full"][..],
        ),
        (
            format!("{remote}&sslmode=prefer"),
            &["sslmode=prefer", "db.example.invalid", "sslmode=verify-full"][..],
        ),
        (
            remote.to_string(),
            &["sslmode=prefer", "db.example.invalid", "sslmode=verify-full"][..],
        ),
        (
            "postgres://bd@db.example.invalid/bd?sslmode=verify-full&azure_auth=token".to_string(),
            &["azure_auth=token", "managed-identity"][..],
        ),
    ] {
        let out = run(&emulator, &["history", "--store", &url]);
        assert_eq!(out.code, 2, "{url}: {}", out.stderr);
        assert_mentions(&out.stderr, mentions);
        assert!(!out.stderr.contains("hunter2-Secret"), "{}", out.stderr);
    }

    assert!(
        token_requests(&emulator).is_empty(),
        "no token is fetched for a refused URL"
    );
    emulator.shutdown().await;
}
