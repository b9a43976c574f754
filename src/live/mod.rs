//! Live collection from Azure: sign in, list every type the rules need per subscription through
//! the Azure SDK crates, and hand the result to the same snapshot loader an offline scan uses,
//! so a live scan and the replay of its `collect` output give the same report.

pub mod auth;
pub mod collect;
pub mod hosts;
pub mod managed_identity;
pub mod progress;
pub mod reauth;
pub mod throttle;
pub mod transport;

use crate::error::InputError;
use crate::inventory::model::Gap;
use crate::inventory::Inventory;
use crate::source::snapshot;
use auth::{AuthKind, Endpoints};
use collect::{ClientSettings, Collector};
use hosts::HostGuard;
use progress::{Bars, Progress, Silent};
use reauth::Reauth;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use throttle::{Stats, Throttle};
use time::OffsetDateTime;

/// What a live run needs to know.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Subscription ids; empty (with no management groups) means every subscription the
    /// identity can read.
    pub subscriptions: Vec<String>,
    /// Management group ids: every subscription below each, at any depth, joins `subscriptions`.
    pub management_groups: Vec<String>,
    pub auth: AuthKind,
    pub endpoints: Endpoints,
    /// Calls in flight at once, across subscriptions and types.
    pub concurrency: usize,
    /// When the whole run stops: what is unread by then becomes a gap.
    pub deadline: Option<Duration>,
    /// How long one call may take, body included (`transport::DEFAULT_CALL_TIMEOUT` unless
    /// configured); a call that takes longer is retried, then becomes a gap.
    pub call_timeout: Duration,
    pub job_window_days: i64,
    pub now: OffsetDateTime,
    /// Given: Microsoft Graph is not called.
    pub backup_service_object_id: Option<String>,
    /// Draw progress bars on stderr (only when it is a terminal; logs say it otherwise).
    pub progress_bars: bool,
}

impl LiveOptions {
    /// The backup jobs filter for the window, in the form the backup jobs API documents.
    pub fn jobs_filter(&self) -> String {
        let format = time::macros::format_description!(
            "[year]-[month]-[day] [hour repr:12]:[minute]:[second] [period]"
        );
        let start = self.now - time::Duration::days(self.job_window_days);
        let text = |t: OffsetDateTime| {
            t.to_offset(time::UtcOffset::UTC)
                .format(&format)
                .unwrap_or_default()
        };
        format!(
            "startTime eq '{}' and endTime eq '{}'",
            text(start),
            text(self.now)
        )
    }
}

/// A collection: the snapshot files (relative path → JSON) with their manifest, and its cost.
pub struct Collection {
    pub files: Vec<(PathBuf, Value)>,
    pub gaps: Vec<Gap>,
    pub stats: Arc<Stats>,
    pub subscriptions: usize,
}

/// Why a live run could not start at all (exit 2): no credential, or no token.
#[derive(Debug, thiserror::Error)]
#[error("{problem}\n  fix: {fix}")]
pub struct LiveError {
    pub problem: String,
    pub fix: String,
}

impl From<LiveError> for InputError {
    fn from(error: LiveError) -> InputError {
        InputError::new(Path::new("--live"), None, error.problem, error.fix)
    }
}

/// Reads the tenant. Only GET requests (and the Resource Graph query POST) are sent.
pub async fn collect(options: &LiveOptions) -> Result<Collection, LiveError> {
    let settings = client_settings(options)?;
    let throttle = settings.throttle.clone();
    let progress: Arc<dyn Progress> = if options.progress_bars {
        Arc::new(Bars::stderr(throttle.stats.clone()))
    } else {
        Arc::new(Silent)
    };
    let collector = Collector::new(settings, options.concurrency, progress.clone());
    let named = scope(&collector, options).await?;
    let subscriptions = collector
        .subscriptions(&named)
        .await
        .map_err(|error| {
            let credential_problem = matches!(
                error.kind(),
                azure_core::error::ErrorKind::Credential
                    | azure_core::error::ErrorKind::HttpResponse { status: azure_core::StatusCode::Unauthorized, .. }
            );
            LiveError {
                problem: format!("cannot list the subscriptions: {error}"),
                fix: if credential_problem {
                    "check the credential (tenant, client id, secret or token file) and the authority host; `--auth` picks the kind".into()
                } else {
                    "check --arm-endpoint and that the identity has Reader on the subscriptions".into()
                },
            }
        })?;
    let ids: Vec<String> = subscriptions
        .iter()
        .filter_map(|s| s.get("subscriptionId").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    tracing::info!(subscriptions = ids.len(), "collecting");
    // Each subscription runs as a task of its own so that decoding its pages (most of a big
    // scan's CPU) spreads over every core, not only the one polling this future.
    let collector = Arc::new(collector);
    let shared_options = Arc::new(options.clone());
    let mut per_subscription = tokio::task::JoinSet::new();
    let mut task_subscription = std::collections::HashMap::new();
    for subscription in &ids {
        let (collector, options, stats, s) = (
            collector.clone(),
            shared_options.clone(),
            throttle.stats.clone(),
            subscription.clone(),
        );
        let task = per_subscription.spawn(async move {
            collector.subscription(&s, &options).await;
            tracing::info!(subscription = %s, calls = stats.calls(), "subscription done");
        });
        task_subscription.insert(task.id(), subscription.clone());
    }
    let subscriptions_done = async {
        while let Some(joined) = per_subscription.join_next_with_id().await {
            if let Err(error) = joined {
                // A panic in one subscription's collectors must not hide the others' data, nor
                // pass for a complete read of its own.
                let s = task_subscription
                    .get(&error.id())
                    .cloned()
                    .unwrap_or_default();
                collector.record_gap(
                    &format!("/subscriptions/{s}"),
                    "*",
                    format!("the collection of this subscription stopped: {error}"),
                );
            }
        }
    };
    let graph_resources = collector.graph_resources(&ids);
    let containers = collector.resource_containers(&ids);
    let principal = async {
        if options.backup_service_object_id.is_none() {
            collector
                .backup_service_principal(&options.endpoints.graph)
                .await;
        }
    };
    futures::join!(subscriptions_done, graph_resources, containers, principal);
    if let Some(first) = ids.first() {
        let location = collector
            .first_vm_location()
            .unwrap_or_else(|| "westus".into());
        collector.service_tags(first, &location).await;
    }
    progress.finish();
    let collected = collector.finish();
    let mut files = vec![(
        PathBuf::from("snapshot.json"),
        json!({
            "schema": snapshot::MANIFEST_SCHEMA,
            "created": options.now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "cloud": options.endpoints.cloud.name(),
            "gaps": collected.gaps,
        }),
    )];
    for ((folder, what), items) in collected.files {
        files.push(collect::snapshot_file(&folder, &what, items));
    }
    Ok(Collection {
        files,
        gaps: collected.gaps,
        stats: throttle.stats.clone(),
        subscriptions: ids.len(),
    })
}

/// The credential, endpoints, read budget and host guard every request of a run goes through.
pub(crate) fn client_settings(options: &LiveOptions) -> Result<ClientSettings, LiveError> {
    let http = transport::http_client(options.call_timeout).map_err(|problem| LiveError {
        problem,
        fix: "check the system's TLS set-up".into(),
    })?;
    let endpoints = &options.endpoints;
    let credential =
        auth::credential_with(options.auth, endpoints, http.clone()).map_err(|problem| {
            LiveError {
                problem,
                fix: "set the variables the credential needs, or pick another with --auth".into(),
            }
        })?;
    Ok(ClientSettings {
        credential: credential.clone(),
        arm: endpoints.arm.clone(),
        scope: endpoints.arm_scope(),
        throttle: Arc::new(Throttle::new(options.deadline)),
        guard: Arc::new(HostGuard::new([
            &endpoints.arm,
            &endpoints.graph,
            &endpoints.authority,
        ])),
        reauth: Arc::new(Reauth::new(
            credential,
            vec![
                (endpoints.arm.clone(), endpoints.arm_scope()),
                (endpoints.graph.clone(), endpoints.graph_scope()),
            ],
        )),
        http,
    })
}

/// The subscriptions named on their own and those below the management groups, once each.
/// An empty answer means every subscription the identity sees, so groups that hold nothing
/// must stop the run rather than widen it to the whole tenant.
async fn scope(collector: &Collector, options: &LiveOptions) -> Result<Vec<String>, LiveError> {
    let mut named = options.subscriptions.clone();
    for group in &options.management_groups {
        for id in collector.management_group_subscriptions(group).await? {
            if !named.iter().any(|n| n.eq_ignore_ascii_case(&id)) {
                named.push(id);
            }
        }
    }
    if named.is_empty() && !options.management_groups.is_empty() {
        return Err(LiveError {
            problem: format!(
                "management group `{}` holds no subscription the identity can see",
                options.management_groups.join("`, `")
            ),
            fix: "check the id, and that the identity has Reader on the management group or on the subscriptions below it".into(),
        });
    }
    tracing::info!(
        groups = options.management_groups.len(),
        subscriptions = named.len(),
        "scope resolved"
    );
    Ok(named)
}

impl Collection {
    /// Writes the snapshot (docs/snapshots.md) under `dir`: one file per subscription and type,
    /// never outside `dir` whatever names Azure returned (`collect::output`).
    pub fn write(&self, dir: &Path) -> Result<(), InputError> {
        collect::output::write_all(dir, &self.files)
    }

    /// The inventory, through the snapshot loader (the same code path as an offline scan).
    pub fn load(&self) -> Result<Inventory, InputError> {
        let files: Vec<(PathBuf, Vec<u8>)> = self
            .files
            .iter()
            .map(|(path, body)| {
                (
                    Path::new("live").join(path),
                    serde_json::to_vec(body).unwrap_or_default(),
                )
            })
            .collect();
        snapshot::load_files(&files)
    }
}
