//! `POST /v1/check`: the readiness check for a few VMs, read live for just their subscriptions.
//! Each subscription's read is cached for `check.cache_seconds`, so a burst of checks costs one
//! read; concurrent checks that miss the same subscription share one read in flight.

use super::config::Config;
use super::metrics::ArmCost;
use crate::codes::CodeBook;
use crate::commands::check::check_loaded;
use crate::commands::{CheckOptions, Source};
use crate::engine::{Engine, RuleSet};
use crate::error::Error;
use crate::live::auth::Endpoints;
use crate::live::throttle::Stats;
use crate::live::{self, Collection, LiveOptions};
use crate::outcome::CheckReport;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// One subscription's read, shared by every check that needs it while it is fresh.
type Read = Arc<OnceCell<Result<(Instant, Arc<Collection>), String>>>;

pub struct Checker {
    config: Arc<Config>,
    engine: Engine,
    codes: CodeBook,
    reads: Mutex<HashMap<String, Read>>,
}

/// A check's answer and what it cost.
pub struct Checked {
    pub report: CheckReport,
    pub arm: ArmCost,
    /// Subscriptions answered from the cache.
    pub cached: usize,
}

impl Checker {
    pub fn new(config: Arc<Config>, rules: RuleSet) -> Result<Checker, Error> {
        Ok(Checker {
            config,
            engine: Engine::for_readiness_check(rules),
            codes: CodeBook::builtin()?,
            reads: Mutex::new(HashMap::new()),
        })
    }

    /// The subscription of each VM id, or the id that is not a VM's ARM id.
    pub fn subscriptions(vms: &[String]) -> Result<Vec<String>, String> {
        let mut subscriptions = Vec::new();
        for id in vms {
            let parts: Vec<&str> = id.split('/').collect();
            let is_vm = parts.len() == 9
                && parts[0].is_empty()
                && parts[1].eq_ignore_ascii_case("subscriptions")
                && is_subscription_id(parts[2])
                && parts[3].eq_ignore_ascii_case("resourceGroups")
                && parts[5].eq_ignore_ascii_case("providers")
                && parts[6].eq_ignore_ascii_case("Microsoft.Compute")
                && parts[7].eq_ignore_ascii_case("virtualMachines")
                && !parts[8].is_empty();
            if !is_vm {
                return Err(id.clone());
            }
            let subscription = parts[2].to_ascii_lowercase();
            if !subscriptions.contains(&subscription) {
                subscriptions.push(subscription);
            }
        }
        Ok(subscriptions)
    }

    /// Checks `vms` (ARM ids, already validated) with the vault and policy given or configured.
    pub async fn check(
        self: &Arc<Self>,
        vms: Vec<String>,
        vault: Option<String>,
        policy: Option<String>,
    ) -> Result<Checked, Error> {
        let subscriptions = Checker::subscriptions(&vms)
            .map_err(|id| Error::usage("vms", format!("`{id}` is not a VM's ARM id"), "give /subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.Compute/virtualMachines/<name>"))?;
        let reads = futures::future::join_all(subscriptions.iter().map(|s| self.read(s))).await;
        let mut arm = ArmCost::default();
        let mut cached = 0;
        let mut collections = Vec::new();
        for read in reads {
            let (collection, fresh) = read?;
            if fresh {
                arm.calls += collection.stats.calls();
                arm.throttled += collection.stats.throttled.load(Ordering::Relaxed);
            } else {
                cached += 1;
            }
            collections.push(collection);
        }
        let options = CheckOptions {
            source: Source::Snapshot(Vec::new()),
            judging: self.config.judging.clone(),
            vms,
            resource_groups: Vec::new(),
            vault: vault.or_else(|| self.config.check.vault.clone()),
            policy: policy.unwrap_or_else(|| self.config.check.policy.clone()),
        };
        let checker = self.clone();
        // Loading and judging is CPU work: off the threads that serve requests.
        let report = tokio::task::spawn_blocking(move || {
            let inventory = merge(&collections).load()?;
            check_loaded(&inventory, &checker.engine, &checker.codes, &options)
        })
        .await
        .map_err(|e| {
            Error::runtime(
                Path::new("POST /v1/check"),
                format!("the check stopped: {e}"),
                "",
            )
        })??;
        Ok(Checked {
            report,
            arm,
            cached,
        })
    }

    /// The subscription's read (and whether this call made it): cached while fresh, shared while
    /// in flight; a failed read is not kept.
    async fn read(&self, subscription: &str) -> Result<(Arc<Collection>, bool), Error> {
        let ttl = self.config.check.cache_ttl;
        let cell = {
            let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
            let stale = reads
                .get(subscription)
                .is_some_and(|cell| match cell.get() {
                    Some(Ok((at, _))) => at.elapsed() >= ttl,
                    Some(Err(_)) => true,
                    None => false,
                });
            if stale {
                reads.remove(subscription);
            }
            reads.entry(subscription.to_string()).or_default().clone()
        };
        let mut made_here = false;
        let result = cell
            .get_or_init(|| {
                made_here = true;
                self.collect(subscription)
            })
            .await
            .clone();
        match result {
            Ok((_, collection)) => Ok((collection, made_here)),
            Err(problem) => {
                let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
                if reads
                    .get(subscription)
                    .is_some_and(|c| Arc::ptr_eq(c, &cell))
                {
                    reads.remove(subscription);
                }
                // ARM answering that the subscription does not exist or is not readable is the
                // request's problem (a wrong id, or one outside the service's scope), not an
                // outage: 400, not 502.
                let not_readable = ["404", "NotFound", "403", "AuthorizationFailed"]
                    .iter()
                    .any(|sign| problem.contains(sign));
                if not_readable {
                    return Err(Error::usage(
                        "vms",
                        format!("the service cannot read subscription {subscription}"),
                        "check the VM id's subscription, and that the service's identity has Reader on it",
                    ));
                }
                Err(Error::runtime(
                    Path::new("POST /v1/check"),
                    format!("cannot read subscription {subscription}: {problem}"),
                    "check the service's credential and its Reader role on the subscription",
                ))
            }
        }
    }

    async fn collect(&self, subscription: &str) -> Result<(Instant, Arc<Collection>), String> {
        let live = &self.config.live;
        let endpoints = Endpoints::resolve(
            live.cloud,
            live.arm_endpoint.as_deref(),
            None,
            live.graph_endpoint.as_deref(),
        )?;
        let options = LiveOptions {
            subscriptions: vec![subscription.to_string()],
            // A check reads the checked VMs' subscriptions only, whatever scans are scoped to.
            management_groups: Vec::new(),
            auth: live.auth,
            endpoints,
            concurrency: live.concurrency,
            // A check answers a person or a pipeline waiting: a minute, not a scan's half hour.
            deadline: Some(live.deadline.min(Duration::from_secs(60))),
            call_timeout: live.call_timeout,
            // Job history does not enter a readiness answer.
            job_window_days: 1,
            now: time::OffsetDateTime::now_utc(),
            backup_service_object_id: self.config.judging.backup_service_object_id.clone(),
            progress_bars: false,
        };
        let started = Instant::now();
        let collection = live::collect(&options).await.map_err(|e| e.problem)?;
        tracing::info!(
            subscription,
            calls = collection.stats.calls(),
            seconds = started.elapsed().as_secs_f64(),
            "subscription read for checks"
        );
        Ok((Instant::now(), Arc::new(collection)))
    }
}

/// One collection of several subscriptions' reads: their files side by side (each subscription
/// has its own folders; tenant-wide files are the same in each, the first is kept) and one
/// manifest with every gap.
fn merge(collections: &[Arc<Collection>]) -> Collection {
    let mut files: BTreeMap<PathBuf, Value> = BTreeMap::new();
    let mut gaps = Vec::new();
    for collection in collections {
        gaps.extend(collection.gaps.iter().cloned());
        for (path, body) in &collection.files {
            files.entry(path.clone()).or_insert_with(|| body.clone());
        }
    }
    if let Some(Value::Object(manifest)) = files.get_mut(Path::new("snapshot.json")) {
        manifest.insert(
            "gaps".into(),
            serde_json::to_value(&gaps).unwrap_or(Value::Array(Vec::new())),
        );
    }
    Collection {
        files: files.into_iter().collect(),
        gaps,
        stats: Arc::new(Stats::default()),
        subscriptions: collections.len(),
    }
}

/// Whether `segment` is a subscription id (a GUID): it goes into the ARM paths the check reads,
/// so a request body must not be able to steer those paths with `..`, `?` or `%2F`.
fn is_subscription_id(segment: &str) -> bool {
    segment.len() == 36
        && segment.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_vm_ids_name_their_subscription() {
        let vm = |s: &str, n: &str| {
            format!("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{n}")
        };
        let first = "0A1B2C3D-0000-4000-8000-00000000000A";
        let second = "0a1b2c3d-0000-4000-8000-00000000000b";
        let subscriptions = Checker::subscriptions(&[
            vm(first, "a"),
            vm(&first.to_ascii_lowercase(), "b"),
            vm(second, "c"),
        ])
        .unwrap();
        assert_eq!(
            subscriptions,
            [first.to_ascii_lowercase(), second.to_string()]
        );
        for bad in [
            "vm-web-01".to_string(),
            "/subscriptions/aaa/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n"
                .into(),
            format!("{}/extensions/x", vm(first, "a")),
            vm("aaa", "a"),
            vm("..", "a"),
            vm("0a1b2c3d-0000-4000-8000-00000000000?", "a"),
            vm("0a1b2c3d-0000-4000-8000-00000000000b%2F..", "a"),
            vm("0a1b2c3d+0000-4000-8000-00000000000b", "a"),
        ] {
            assert_eq!(Checker::subscriptions(std::slice::from_ref(&bad)), Err(bad));
        }
    }
}
