//! `backup-doctor serve`: the service mode (docs/serve.md). One process scans the fleet on a
//! schedule into the store, answers the HTTP API (`/v1`, health, metrics, the dashboard) with
//! Entra ID bearer tokens, and stops cleanly on SIGTERM. It sits above the commands (it calls
//! `scan_async` and the check) and below the binary.

pub mod api;
pub mod check;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod scheduler;
pub mod shutdown;

use crate::auth::Verifier;
use crate::engine::RuleSet;
use crate::error::Error;
use crate::store::Store;
use config::Config;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// A started service: where it listens, and the task that ends when it has stopped.
pub struct Running {
    pub address: SocketAddr,
    pub done: tokio::task::JoinHandle<Result<(), Error>>,
}

/// Opens the store, binds the listen address and starts serving and scheduling, until
/// `shutdown` is requested.
pub async fn start(config: Config, shutdown: shutdown::Shutdown) -> Result<Running, Error> {
    let config = Arc::new(config);
    if config.auth.is_none() {
        tracing::warn!(
            listen = %config.listen,
            "AUTHENTICATION IS OFF (auth.disabled = true): anyone who can reach {} is the operator; allowed only on a loopback address",
            config.listen
        );
    }
    let store = Arc::new(Store::open(&config.store).await?);
    let rules = RuleSet::load(&config.judging.rule_dirs)?;
    let metrics = Arc::new(metrics::Metrics::default());
    if let Some(scan) = store.latest_scan().await? {
        if let Some(report) = store.report(scan.id).await? {
            metrics.scan_loaded(scan.id, &scan.time, &report);
        }
    }
    let verifier = config
        .auth
        .clone()
        .map(|settings| Verifier::new(settings, reqwest::Client::new()));
    let scanner = Arc::new(scheduler::Scanner::new(
        store.clone(),
        config.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    let checker = Arc::new(check::Checker::new(
        config.clone(),
        RuleSet::load(&config.judging.rule_dirs)?,
    )?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            Error::runtime(
                &config.file,
                format!("cannot listen on {}: {e}", config.listen),
                "choose a free address and port for `listen` (BACKUP_DOCTOR_LISTEN)",
            )
        })?;
    let address = listener.local_addr().map_err(|e| {
        Error::runtime(
            &config.file,
            format!("cannot read the bound address: {e}"),
            "",
        )
    })?;
    let state = Arc::new(api::AppState {
        config: config.clone(),
        store: store.clone(),
        verifier,
        scanner: scanner.clone(),
        checker,
        metrics,
        rules,
    });
    let schedule = config.schedule.clone().map(|schedule| {
        let scanner = scanner.clone();
        tokio::spawn(scanner.schedule(schedule))
    });
    tracing::info!(
        listen = %address,
        store = %store.describe(),
        replica = scanner.holder(),
        schedule = config.schedule.as_ref().map(|s| format!("{} {}", s.cron.pattern, s.time_zone)).unwrap_or_else(|| "none".into()),
        "serving"
    );
    let app = api::router(state);
    let stopping = shutdown.clone();
    let done = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopping.requested().await })
            .await;
        // The scheduler sees the same shutdown: a running scan is dropped before it writes
        // and its lease released; wait for that before saying the service stopped.
        if let Some(task) = schedule {
            let _ = task.await;
        }
        scanner.wait_idle().await;
        served
            .map_err(|e| Error::runtime(Path::new("serve"), format!("the server stopped: {e}"), ""))
    });
    Ok(Running { address, done })
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), Error> {
    let (trigger, shutdown) = shutdown::channel();
    let running = start(config, shutdown).await?;
    tokio::spawn(shutdown::on_signal(trigger));
    let outcome = running.done.await.map_err(|e| {
        Error::runtime(
            Path::new("serve"),
            format!("the server task failed: {e}"),
            "",
        )
    })?;
    tracing::info!("stopped");
    outcome
}

/// `serve --check-config`: the configuration read and checked, nothing started.
pub fn check_config(path: &Path) -> Result<Config, Error> {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with(config::ENV_PREFIX))
        .collect();
    config::load(path, &env)
}
