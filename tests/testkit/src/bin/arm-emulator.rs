//! `arm-emulator`: the testkit's ARM emulator as a standalone process, for benchmarks, soak runs
//! (with `--fault` and the token flags) and manual runs of the live collector against a snapshot.

use backup_doctor_testkit::emulator::{Bucket, Emulator, EmulatorConfig, Fault};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Serves a snapshot directory as Azure Resource Manager on 127.0.0.1.
///
/// The token endpoint accepts the client id given by --client-id with the secret from the
/// ARM_EMULATOR_CLIENT_SECRET environment variable (a secret on the command line would show in
/// the process list); both default to the emulator's test credentials.
#[derive(Debug, Parser)]
#[command(name = "arm-emulator", version)]
struct Args {
    /// The snapshot directory (or file) to serve.
    #[arg(long)]
    snapshot: PathBuf,
    /// The port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Items per page of paged lists.
    #[arg(long, default_value_t = 100, value_parser = parse_page_size)]
    page_size: usize,
    /// Rows per Resource Graph page (default: --page-size; Resource Graph itself gives up to 1000).
    #[arg(long, value_parser = parse_page_size)]
    graph_page_size: Option<usize>,
    /// Delay added before every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Throttle reads per subscription with ARM's token bucket (250, refilled at 25/s).
    #[arg(long)]
    throttle: bool,
    /// Answer every N-th ARM request of a subscription with STATUS (e.g. 7:503).
    #[arg(long, value_name = "N:STATUS", value_parser = parse_fail_every)]
    fail_every: Option<FailEvery>,
    /// Answer 403 AuthorizationFailed on paths containing SUBSTR (case-insensitive; repeatable).
    #[arg(long = "forbid", value_name = "SUBSTR")]
    forbid: Vec<String>,
    /// Answer a truncated JSON body on paths containing SUBSTR (case-insensitive; repeatable).
    #[arg(long = "malformed", value_name = "SUBSTR")]
    malformed: Vec<String>,
    /// Inject a fault on the requests whose path contains PATH (case-insensitive; repeatable; the
    /// first fault that matches a request applies). KIND is one of:
    /// reset (the connection is reset before the answer),
    /// cut-body (the whole body's Content-Length, half the body, then the connection closes),
    /// stall=SECONDS (nothing is sent for that long, then the answer),
    /// broken-json (200 with a body that is not JSON),
    /// retry-after=SECONDS (429 asking to wait that long),
    /// redirect=URL (307 to the same path on URL),
    /// accepted=URL (202 with Location and Azure-AsyncOperation on URL),
    /// error-naming=URL (409 whose error body and Location name URL).
    /// #N: only the first N matching requests get it (default: every one).
    /// Example: --fault reset@/providers/Microsoft.Compute/disks#2
    #[arg(
        long = "fault",
        value_name = "KIND[=ARG]@PATH[#N]",
        verbatim_doc_comment
    )]
    faults: Vec<Fault>,
    /// The lifetime the token endpoints announce for the tokens they issue, in seconds
    /// (default 3599).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    token_lifetime: Option<u64>,
    /// How long ARM accepts a token after issuing it, in milliseconds (default: its lifetime);
    /// past it, requests with that token get 401 InvalidAuthenticationTokenTokenExpired. Shorter
    /// than --token-lifetime makes tokens expire before the client expects: it must refresh.
    #[arg(long, value_name = "MS")]
    token_accepted_ms: Option<u64>,
    /// Leave vmAgent, extensions and disks out of the statusOnly VM list.
    #[arg(long)]
    status_only_without_agent: bool,
    /// Accept client assertions only from the certificate with this SHA-1 thumbprint (base64,
    /// as the JWT's `x5t` header carries it).
    #[arg(long, value_name = "X5T")]
    certificate_thumbprint: Option<String>,
    /// The tenant the token endpoint accepts (default: the manifest's tenantId).
    #[arg(long)]
    tenant_id: Option<String>,
    /// The client id the token endpoint accepts.
    #[arg(long)]
    client_id: Option<String>,
    /// An audience (application id URI or client id) for which the token endpoint issues RS256
    /// tokens for the service's API (repeatable; default api://backup-doctor).
    #[arg(long = "api-audience", value_name = "AUDIENCE")]
    api_audiences: Vec<String>,
    /// An app role those tokens carry (repeatable; default BackupDoctor.Read and
    /// BackupDoctor.Operate).
    #[arg(long = "app-role", value_name = "ROLE")]
    app_roles: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct FailEvery(u32, u16);

fn parse_fail_every(s: &str) -> Result<FailEvery, String> {
    let (n, status) = s
        .split_once(':')
        .ok_or_else(|| format!("expected N:STATUS, got '{s}'"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("N must be a positive integer, got '{n}'"))?;
    let status: u16 = status
        .trim()
        .parse()
        .map_err(|_| format!("STATUS must be an HTTP status, got '{status}'"))?;
    if n == 0 {
        return Err("N must be at least 1".to_owned());
    }
    if !(400..=599).contains(&status) {
        return Err(format!(
            "STATUS must be an error status (400-599), got {status}"
        ));
    }
    Ok(FailEvery(n, status))
}

fn parse_page_size(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected a positive integer, got '{s}'")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = EmulatorConfig {
        snapshot: args.snapshot,
        page_size: args.page_size,
        graph_page_size: args.graph_page_size,
        latency: Duration::from_millis(args.latency_ms),
        throttle: args.throttle.then(Bucket::arm),
        fail_every: args.fail_every.map(|FailEvery(n, status)| (n, status)),
        forbidden: args.forbid,
        malformed: args.malformed,
        faults: args.faults,
        token_accepted_for: args.token_accepted_ms.map(Duration::from_millis),
        status_only_includes_agent: !args.status_only_without_agent,
        certificate_thumbprint: args.certificate_thumbprint,
        ..EmulatorConfig::default()
    };
    if let Some(lifetime) = args.token_lifetime {
        config.token_lifetime = Duration::from_secs(lifetime);
    }
    if let Some(tenant) = args.tenant_id {
        config.tenant_id = tenant;
    }
    if let Some(client) = args.client_id {
        config.client_id = client;
    }
    if !args.api_audiences.is_empty() {
        config.api_audiences = args.api_audiences;
    }
    if !args.app_roles.is_empty() {
        config.app_roles = args.app_roles;
    }
    if let Ok(secret) = std::env::var("ARM_EMULATOR_CLIENT_SECRET") {
        config.client_secret = secret;
    }
    let emulator = match Emulator::start_on(config, args.port).await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("arm-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "listening on {} (tenant {}, client id {})",
        emulator.url(),
        emulator.tenant_id(),
        emulator.client_id()
    );
    // Whoever started us reads the port from this line; it must not sit in a buffer.
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
