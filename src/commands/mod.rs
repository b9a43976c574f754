//! The commands of backup-doctor as library functions: plain options in, an outcome (or an error
//! saying whether the request or the run failed) out. The command line and any other front end
//! call these and render what they return; nothing here prints.

pub mod check;
pub mod collect;
pub mod facts;
pub mod gate;
pub mod history;
pub mod rules;
pub mod scan;

pub use check::{check, CheckOptions};
pub use collect::{collect, CollectOptions};
pub use facts::{facts, FactsOptions};
pub use gate::{gate, ChangeFile, GateOptions};
pub use history::{history, history_async};
pub use rules::{rules, RulesQuery};
pub use scan::{scan, scan_async, ChangeOptions, ScanOptions, StoreOptions};

use crate::engine::RuleSet;
use crate::error::Error;
use crate::inventory::Inventory;
use crate::live::auth::{AuthKind, Cloud, Endpoints};
use crate::live::throttle::Stats;
use crate::live::{self, Collection, LiveOptions};
use crate::source;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// A report with the rules that judged it, which SARIF and JUnit list (passing ones too).
pub struct Judged<R> {
    pub report: R,
    pub rules: RuleSet,
    /// What the live read cost (ARM calls, throttled calls) when the source was live; `serve`
    /// reports it in its metrics.
    pub live_cost: Option<Arc<Stats>>,
}

/// How the commands that judge VMs load rules and resolve facts.
#[derive(Debug, Clone, Default)]
pub struct Judging {
    /// Rule directories loaded besides the built-in rules.
    pub rule_dirs: Vec<PathBuf>,
    /// The tenant's object id of the Backup Management Service, when the data has no Graph answer.
    pub backup_service_object_id: Option<String>,
}

impl Judging {
    fn rules(&self) -> Result<RuleSet, Error> {
        Ok(RuleSet::load(&self.rule_dirs)?)
    }
}

/// Where a command reads the tenant from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Snapshot files or directories, later ones laid over earlier ones.
    Snapshot(Vec<PathBuf>),
    Live(LiveSource),
}

/// How a live read signs in and where it reads.
#[derive(Debug, Clone)]
pub struct LiveSource {
    /// Empty (with no management groups): every subscription the identity sees.
    pub subscriptions: Vec<String>,
    /// Every subscription below these management groups, at any depth, joins `subscriptions`.
    pub management_groups: Vec<String>,
    pub auth: AuthKind,
    pub cloud: Cloud,
    /// Overrides the cloud's Resource Manager endpoint.
    pub arm_endpoint: Option<String>,
    /// Overrides the cloud's Microsoft Graph endpoint.
    pub graph_endpoint: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How long to wait for ARM's read budget before what is unread becomes a gap.
    pub deadline: Duration,
    /// How long one call may take before it is tried again, then becomes a gap.
    pub call_timeout: Duration,
    /// Draw progress bars on stderr.
    pub progress_bars: bool,
}

impl LiveSource {
    /// The collector's options for a read of `job_window_days` of jobs.
    fn options(
        &self,
        job_window_days: i64,
        backup_service_object_id: Option<String>,
    ) -> Result<LiveOptions, Error> {
        let endpoints = Endpoints::resolve(
            self.cloud,
            self.arm_endpoint.as_deref(),
            None,
            self.graph_endpoint.as_deref(),
        )
        .map_err(|problem| Error::usage("--arm-endpoint", problem, "give a full https:// URL"))?;
        for group in &self.management_groups {
            check_management_group(group)?;
        }
        Ok(LiveOptions {
            auth: self.auth,
            endpoints,
            subscriptions: self.subscriptions.clone(),
            management_groups: self.management_groups.clone(),
            concurrency: self.concurrency,
            deadline: Some(self.deadline),
            call_timeout: self.call_timeout,
            job_window_days,
            now: OffsetDateTime::now_utc(),
            backup_service_object_id,
            progress_bars: self.progress_bars,
        })
    }
}

/// A management group id as Azure allows it (letters, digits, `-`, `_`, `.`, `(`, `)`; up to 90;
/// no final `.`): the id goes into a URL path, where anything else would name another call.
pub fn check_management_group(group: &str) -> Result<(), Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.()".contains(c);
    if group.is_empty() || group.len() > 90 || group.ends_with('.') || !group.chars().all(allowed) {
        return Err(Error::usage(
            "--management-group",
            format!("`{group}` is not a management group id"),
            "give the group's id (letters, digits, - _ . ( ), up to 90), not its display name",
        ));
    }
    Ok(())
}

impl Source {
    /// The inventory of the snapshot, or of a live read of `job_window_days` of jobs (with
    /// what the read cost).
    async fn load_async(
        &self,
        job_window_days: i64,
        backup_service_object_id: Option<String>,
    ) -> Result<(Inventory, Option<Arc<Stats>>), Error> {
        match self {
            Source::Snapshot(paths) => Ok((source::snapshot::load_layers(paths)?, None)),
            Source::Live(live) => {
                let options = live.options(job_window_days, backup_service_object_id)?;
                let collection = collect_live(&options).await?;
                Ok((collection.load()?, Some(collection.stats.clone())))
            }
        }
    }

    /// [`Source::load_async`] for the synchronous commands: a live read gets a runtime of its own.
    fn load(
        &self,
        job_window_days: i64,
        backup_service_object_id: Option<String>,
    ) -> Result<Inventory, Error> {
        match self {
            Source::Snapshot(paths) => Ok(source::snapshot::load_layers(paths)?),
            Source::Live(_) => block_on(
                "--live",
                self.load_async(job_window_days, backup_service_object_id),
            )?
            .map(|(inventory, _)| inventory),
        }
    }
}

/// Runs a live collection to the end.
async fn collect_live(options: &LiveOptions) -> Result<Collection, Error> {
    let collection = live::collect(options)
        .await
        .map_err(|e| Error::Runtime(e.into()))?;
    tracing::info!(
        subscriptions = collection.subscriptions,
        calls = collection.stats.calls(),
        throttled = collection
            .stats
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed),
        gaps = collection.gaps.len(),
        "collection finished"
    );
    Ok(collection)
}

/// Runs `work` to the end on a multi-threaded runtime of its own: the command line is
/// synchronous, the live collector and the store are not. `place` names the command in the
/// error when no runtime can be started.
pub(crate) fn block_on<F: std::future::Future>(place: &str, work: F) -> Result<F::Output, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::runtime(
                Path::new(place),
                format!("cannot start the async runtime: {e}"),
                "",
            )
        })?;
    Ok(runtime.block_on(work))
}

/// `--now` as a time; the text is kept by the callers that record it as given.
fn parse_now(text: Option<&str>) -> Result<Option<OffsetDateTime>, Error> {
    text.map(|text| {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| {
            Error::usage(
                "--now",
                format!("`{text}` is not an RFC 3339 time: {e}"),
                "write it like 2026-11-24T06:00:00Z",
            )
        })
    })
    .transpose()
}
