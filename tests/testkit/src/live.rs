//! The set-up of live runs against the emulator: the demo fleet served with the test service
//! principal, and the binary signed in to it through the same environment variables a user sets.

use crate::emulator::{Emulator, EmulatorConfig};
use crate::fixtures::demo;
use assert_cmd::Command;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// The service principal the emulator accepts in the live tests.
const CLIENT_ID: &str = "backup-doctor-test";
/// Its secret, which the tests look for in the binary's logs (it must never be there).
pub const SECRET: &str = "emulator-secret-5f1e0c";
/// What every lock list's path contains: forbidding it leaves the lock facts unknown.
pub const LOCK_LISTS: &str = "/providers/Microsoft.Authorization/locks";
/// A live run that takes longer is stuck (the demo fleet collects in seconds).
const LIVE_RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The demo fleet served in pages of five, so every list pages, to the test service principal.
pub fn demo_config() -> EmulatorConfig {
    EmulatorConfig {
        snapshot: demo(),
        page_size: 5,
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        ..EmulatorConfig::default()
    }
}

/// [`demo_config`] answering 403 AuthorizationFailed on the paths that contain any of `paths`, as
/// ARM does for a reader without the permission.
pub fn demo_config_forbidding(paths: &[&str]) -> EmulatorConfig {
    EmulatorConfig {
        forbidden: paths.iter().map(|path| path.to_string()).collect(),
        ..demo_config()
    }
}

/// The binary signing in at the emulator as the test service principal of `tenant`, with nothing
/// of the developer's environment (no Azure CLI login, no RUST_LOG) but PATH; the credential
/// variables (`AZURE_CLIENT_SECRET`, or a certificate's) are the caller's.
pub fn signing_in(emulator: &Emulator, tenant: &str) -> Command {
    let mut command = Command::cargo_bin("backup-doctor").expect("the binary builds");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AZURE_TENANT_ID", tenant)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_AUTHORITY_HOST", emulator.url());
    command
}

/// The binary signing in at the emulator with the service principal secret `secret`.
pub fn with_secret(emulator: &Emulator, tenant: &str, secret: &str) -> Command {
    let mut command = signing_in(emulator, tenant);
    command.env("AZURE_CLIENT_SECRET", secret);
    command
}

/// The flags that point a live command's ARM and Microsoft Graph calls at the emulator.
pub fn endpoint_flags(emulator: &Emulator) -> Vec<String> {
    vec![
        "--arm-endpoint".into(),
        emulator.url(),
        "--graph-endpoint".into(),
        emulator.url(),
    ]
}

/// [`endpoint_flags`] behind `--auth secret`.
pub fn secret_flags(emulator: &Emulator) -> Vec<String> {
    let mut flags = vec!["--auth".into(), "secret".into()];
    flags.extend(endpoint_flags(emulator));
    flags
}

/// Runs `command` on a blocking thread, so the emulator on this runtime keeps serving it.
pub async fn run_blocking(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        command
            .timeout(LIVE_RUN_TIMEOUT)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("the blocking thread finishes")
}

/// The emulator serving `config`, failing the test when it cannot start.
pub async fn serve(config: EmulatorConfig) -> Emulator {
    Emulator::start(config)
        .await
        .expect("the emulator serves the snapshot")
}

/// A service principal certificate made with the openssl command line: the PKCS#12 archive the
/// credential reads, and the certificate's SHA-1 thumbprint in the JWT `x5t` form.
pub fn make_certificate(dir: &Path, password: &str) -> (PathBuf, String) {
    let openssl = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command line (Debian package openssl) is needed for this test");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "sp.key",
        "-out",
        "sp.crt",
        "-days",
        "1",
        "-subj",
        "/CN=backup-doctor-test",
    ]);
    openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        "sp.key",
        "-in",
        "sp.crt",
        "-out",
        "sp.pfx",
        "-passout",
        &format!("pass:{password}"),
    ]);
    let fingerprint = openssl(&["x509", "-in", "sp.crt", "-noout", "-fingerprint", "-sha1"]);
    let hex: String = fingerprint
        .rsplit('=')
        .next()
        .unwrap()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (
        dir.join("sp.pfx"),
        base64::engine::general_purpose::STANDARD.encode(bytes),
    )
}
