//! Scans of the service: the scheduled ones (a cron expression in a named time zone) and those
//! started by `POST /v1/scans`, one at a time per store across every replica through the store's
//! lease, each recorded in one transaction when it completes and not at all when abandoned.
//!
//! A scheduled scan records the slot it ran for in its source (`live (scheduled <slot>)`): a
//! replica that takes the lease after another one finished the same slot sees it and does not
//! scan again, and after downtime only the latest missed slot is run, once.

use super::config::{Config, Schedule};
use super::metrics::{ArmCost, Metrics};
use super::shutdown::Shutdown;
use crate::commands::scan::export::Exporter;
use crate::commands::scan::scan_async;
use crate::commands::{ScanOptions, Source};
use crate::error::Error;
use crate::outcome::Report;
use crate::store::{ScanMeta, Store};
use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The name of the lease every scan of a store takes.
pub const LEASE: &str = "scan";
const SCHEDULED_PREFIX: &str = "live (scheduled ";

/// Why a scan runs.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// The slot of the schedule it runs for.
    Scheduled(DateTime<Utc>),
    /// `POST /v1/scans`, by this caller (object id; `anonymous` without authentication).
    Requested(String),
}

impl Trigger {
    fn source(&self) -> String {
        match self {
            Trigger::Scheduled(slot) => format!(
                "{SCHEDULED_PREFIX}{})",
                slot.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            Trigger::Requested(_) => "live (requested)".into(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Trigger::Scheduled(_) => "scheduled",
            Trigger::Requested(_) => "requested",
        }
    }
}

/// The slot a scheduled scan's source names.
pub fn scheduled_slot(source: &str) -> Option<DateTime<Utc>> {
    let slot = source.strip_prefix(SCHEDULED_PREFIX)?.strip_suffix(')')?;
    DateTime::parse_from_rfc3339(slot)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A scan started through the API, as `GET /v1/scans/runs/{run}` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    pub run: String,
    pub state: RunState,
    pub started: String,
    /// The stored scan's id once it completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Complete,
    Failed,
    Abandoned,
}

/// Runs scans for the scheduler and the API.
pub struct Scanner {
    store: Arc<Store>,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
    /// This replica's name in the lease.
    holder: String,
    lease_ttl: Duration,
    next_run: AtomicU64,
    runs: Mutex<Vec<Run>>,
    /// Scans holding the lease in this process, and the wake-up when that drops to none.
    active: AtomicUsize,
    idle: Notify,
    /// A scan of this process holds the lease (the store's lease is per holder, and this
    /// replica renewing its own lease must not start a second scan).
    busy: AtomicBool,
}

/// What `start` answers when no scan can start now.
#[derive(Debug)]
pub enum Busy {
    /// Another scan holds the lease (here or in another replica).
    Running,
    /// The store could not be asked.
    Store(Error),
}

impl Scanner {
    pub fn new(
        store: Arc<Store>,
        config: Arc<Config>,
        metrics: Arc<Metrics>,
        shutdown: Shutdown,
    ) -> Scanner {
        let lease_ttl = config
            .schedule
            .as_ref()
            .map(|s| s.lease)
            .unwrap_or(Duration::from_secs(120));
        let nanos = Utc::now().timestamp_subsec_nanos();
        Scanner {
            store,
            config,
            metrics,
            shutdown,
            holder: format!("{}-{}-{nanos:x}", hostname(), std::process::id()),
            lease_ttl,
            next_run: AtomicU64::new(1),
            runs: Mutex::new(Vec::new()),
            active: AtomicUsize::new(0),
            idle: Notify::new(),
            busy: AtomicBool::new(false),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes the lease and starts a requested scan in the background: its run, or why not.
    pub async fn start(self: &Arc<Self>, caller: String) -> Result<Run, Busy> {
        self.take_lease().await?;
        let run = Run {
            run: format!(
                "{}-{}",
                self.holder,
                self.next_run.fetch_add(1, Ordering::Relaxed)
            ),
            state: RunState::Running,
            started: now_text(),
            scan_id: None,
            error: None,
        };
        {
            let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            // The latest hundred are enough to poll; older ones are in GET /v1/scans.
            if runs.len() >= 100 {
                runs.remove(0);
            }
            runs.push(run.clone());
        }
        let scanner = self.clone();
        let id = run.run.clone();
        // Counted before the task starts, so a shutdown right now still waits for its release.
        self.active.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let outcome = scanner.leased_scan_inner(Trigger::Requested(caller)).await;
            scanner.finish_run(&id, outcome);
            scanner.active.fetch_sub(1, Ordering::SeqCst);
            scanner.idle.notify_waiters();
        });
        Ok(run)
    }

    /// Claims the scan slot of this process, then the store's lease (released by
    /// `leased_scan_inner`'s end, or here when the store says no).
    async fn take_lease(&self) -> Result<(), Busy> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Busy::Running);
        }
        let taken = self
            .store
            .try_lease(LEASE, &self.holder, self.lease_ttl)
            .await;
        match taken {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.busy.store(false, Ordering::SeqCst);
                Err(Busy::Running)
            }
            Err(error) => {
                self.busy.store(false, Ordering::SeqCst);
                Err(Busy::Store(error))
            }
        }
    }

    pub fn run(&self, id: &str) -> Option<Run> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter().find(|run| run.run == id).cloned()
    }

    fn finish_run(&self, id: &str, outcome: Outcome) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(run) = runs.iter_mut().find(|run| run.run == id) {
            match outcome {
                Outcome::Recorded(scan) => {
                    run.state = RunState::Complete;
                    run.scan_id = Some(scan);
                }
                Outcome::Failed(error) => {
                    run.state = RunState::Failed;
                    run.error = Some(error);
                }
                Outcome::Abandoned => run.state = RunState::Abandoned,
                Outcome::AlreadyDone => run.state = RunState::Complete,
            }
        }
    }

    /// Resolves when no scan of this process holds the lease (shutdown waits for the release).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.active.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// With the lease held: scans, renewing the lease meanwhile, records, releases. A shutdown
    /// drops the scan before anything is written.
    async fn leased_scan(&self, trigger: Trigger) -> Outcome {
        self.active.fetch_add(1, Ordering::SeqCst);
        let outcome = self.leased_scan_inner(trigger).await;
        self.active.fetch_sub(1, Ordering::SeqCst);
        self.idle.notify_waiters();
        outcome
    }

    async fn leased_scan_inner(&self, trigger: Trigger) -> Outcome {
        let renew = async {
            let mut every = tokio::time::interval(self.lease_ttl / 3);
            every.tick().await;
            loop {
                every.tick().await;
                match self
                    .store
                    .try_lease(LEASE, &self.holder, self.lease_ttl)
                    .await
                {
                    Ok(true) => {}
                    // Lost (expired while this replica stalled, and taken): another scan may be
                    // running now, so this one must not be recorded.
                    Ok(false) => return "the scan lease was lost".to_string(),
                    Err(error) => return format!("cannot renew the scan lease: {error}"),
                }
            }
        };
        let outcome = tokio::select! {
            outcome = self.scan_and_record(&trigger) => outcome,
            lost = renew => {
                tracing::error!(scan = trigger.kind(), problem = %lost, "scan abandoned");
                Outcome::Failed(lost)
            }
            _ = self.shutdown.requested() => {
                tracing::warn!(scan = trigger.kind(), "scan abandoned at shutdown; nothing was written");
                Outcome::Abandoned
            }
        };
        if let Err(error) = self.store.release_lease(LEASE, &self.holder).await {
            tracing::warn!(%error, "cannot release the scan lease; it expires by itself");
        }
        self.busy.store(false, Ordering::SeqCst);
        outcome
    }

    async fn scan_and_record(&self, trigger: &Trigger) -> Outcome {
        if let Trigger::Scheduled(slot) = trigger {
            // Another replica may have run this slot between our check and our lease.
            match self.latest_scheduled_slot().await {
                Ok(Some(done)) if done >= *slot => return Outcome::AlreadyDone,
                Ok(_) => {}
                Err(error) => return Outcome::Failed(error.to_string()),
            }
        }
        let started = Instant::now();
        let time = now_text();
        tracing::info!(scan = trigger.kind(), source = %trigger.source(), "scan started");
        let options = ScanOptions {
            source: Source::Live(self.config.live.clone()),
            judging: self.config.judging.clone(),
            job_window_days: self.config.job_window_days,
            now: None,
            store: None,
            suppressions: None,
            changes: Default::default(),
        };
        let judged = match scan_async(&options).await {
            Ok(judged) => judged,
            Err(error) => {
                self.metrics.scan_failed();
                tracing::error!(scan = trigger.kind(), %error, "scan failed");
                return Outcome::Failed(error.to_string());
            }
        };
        let meta = ScanMeta {
            time,
            source: trigger.source(),
        };
        match self.store.record(&judged.report, &meta).await {
            Ok(id) => {
                let elapsed = started.elapsed();
                let arm = judged.live_cost.as_ref().map(|stats| ArmCost {
                    calls: stats.calls(),
                    throttled: stats.throttled.load(Ordering::Relaxed),
                });
                self.metrics
                    .scan_recorded(id, &judged.report, elapsed, arm.as_ref());
                tracing::info!(
                    scan = trigger.kind(),
                    id,
                    vms = judged.report.summary.vms,
                    fail = judged.report.summary.fail,
                    unknown = judged.report.summary.unknown,
                    gaps = judged.report.gaps.len(),
                    seconds = elapsed.as_secs_f64(),
                    "scan recorded"
                );
                self.export(trigger, id, &judged.report, &meta.time).await;
                Outcome::Recorded(id)
            }
            Err(error) => {
                self.metrics.scan_failed();
                tracing::error!(scan = trigger.kind(), %error, "scan not recorded");
                Outcome::Failed(error.to_string())
            }
        }
    }

    /// Sends a recorded scan to Log Analytics when `[export.log_analytics]` is set. The scan is
    /// kept whatever happens here: a failure is logged and counted, not a failed scan.
    async fn export(&self, trigger: &Trigger, id: i64, report: &Report, time: &str) {
        let Some(options) = &self.config.export else {
            return;
        };
        let sent = match Exporter::prepare(options) {
            Ok(exporter) => exporter.send(report, time).await,
            Err(error) => Err(error),
        };
        match sent {
            Ok(exported) => {
                self.metrics.export_finished(true);
                tracing::info!(
                    scan = trigger.kind(),
                    id,
                    scan_id = %exported.scan_id,
                    vm_rows = exported.vm_rows,
                    finding_rows = exported.finding_rows,
                    "scan exported to Log Analytics"
                );
            }
            Err(error) => {
                self.metrics.export_finished(false);
                tracing::error!(scan = trigger.kind(), id, %error, "scan not exported to Log Analytics; it is kept in the store");
            }
        }
    }

    /// The slot of the latest scheduled scan in the store.
    pub async fn latest_scheduled_slot(&self) -> Result<Option<DateTime<Utc>>, Error> {
        // Requested scans between scheduled ones are few; a week of hourly ones fits in 200.
        let scans = self.store.scans(200).await?;
        Ok(scans.iter().filter_map(|s| scheduled_slot(&s.source)).max())
    }

    /// Runs the schedule until shutdown: a missed slot at once, then each slot as it comes.
    pub async fn schedule(self: Arc<Self>, schedule: Schedule) {
        loop {
            let now = Utc::now();
            if let Some(slot) = previous_slot(&schedule, now) {
                match self.latest_scheduled_slot().await {
                    Ok(done) if done.is_none_or(|done| done < slot) => {
                        self.scheduled(slot, next_slot(&schedule, slot)).await;
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "cannot read the latest scheduled scan"),
                }
            }
            let Some(next) = next_slot(&schedule, Utc::now()) else {
                tracing::error!("the schedule has no next slot; scheduled scans stop");
                return;
            };
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            tracing::info!(next = %next.to_rfc3339_opts(SecondsFormat::Secs, true), "next scheduled scan");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.requested() => return,
            }
        }
    }

    /// Runs `slot` once the lease is free. A busy lease (another replica's scan of the same
    /// slot, or a requested scan) is tried again every few seconds until the slot is recorded by
    /// whoever holds it, the next slot is due (the schedule loop takes that one instead), or
    /// shutdown: a slot that meets a requested scan is run after it, not lost.
    async fn scheduled(&self, slot: DateTime<Utc>, give_up_at: Option<DateTime<Utc>>) {
        let retry_every =
            (self.lease_ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        let attempt = move || async move {
            match self.take_lease().await {
                Ok(()) => Attempt::Leased,
                Err(Busy::Running) => {
                    tracing::info!(slot = %slot, "the scan lease is held (another replica, or a requested scan here): trying again");
                    Attempt::Busy
                }
                Err(Busy::Store(error)) => {
                    tracing::warn!(%error, "cannot take the scan lease: trying again");
                    Attempt::Busy
                }
            }
        };
        let settled = move || async move {
            let done = matches!(self.latest_scheduled_slot().await, Ok(Some(done)) if done >= slot);
            done || give_up_at.is_some_and(|at| Utc::now() >= at)
        };
        let leased =
            retry_until_leased(attempt, settled, retry_every, self.shutdown.requested()).await;
        if leased {
            let outcome = self.leased_scan(Trigger::Scheduled(slot)).await;
            if let Outcome::AlreadyDone = outcome {
                tracing::info!(slot = %slot, "slot already scanned by another replica");
            }
        } else if matches!(self.latest_scheduled_slot().await, Ok(Some(done)) if done >= slot) {
            tracing::info!(slot = %slot, "slot already scanned by another replica");
        } else {
            tracing::info!(slot = %slot, "slot not run: the next one is due, or the service stops");
        }
    }
}

/// What one try for the lease gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Leased,
    Busy,
}

/// Tries for the lease until it is taken (true), or until `settled` says the work is no longer
/// this replica's to do or `stop` resolves (false). Kept apart from the store so the waiting
/// can be tested without one.
async fn retry_until_leased<A, AF, S, SF>(
    mut attempt: A,
    mut settled: S,
    every: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> bool
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = Attempt>,
    S: FnMut() -> SF,
    SF: std::future::Future<Output = bool>,
{
    tokio::pin!(stop);
    loop {
        if attempt().await == Attempt::Leased {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = &mut stop => return false,
        }
        if settled().await {
            return false;
        }
    }
}

enum Outcome {
    Recorded(i64),
    Failed(String),
    Abandoned,
    AlreadyDone,
}

/// The latest slot at or before `now`.
pub fn previous_slot(schedule: &Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = whole_second(now).with_timezone(&schedule.time_zone);
    schedule
        .cron
        .find_previous_occurrence(&local, true)
        .ok()
        .map(|t| whole_second(t.with_timezone(&Utc)))
}

/// The first slot after `now`.
pub fn next_slot(schedule: &Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = whole_second(now).with_timezone(&schedule.time_zone);
    schedule
        .cron
        .find_next_occurrence(&local, false)
        .ok()
        .map(|t| whole_second(t.with_timezone(&Utc)))
}

/// Slots are whole seconds (the recorded ones are written so); croner keeps the fraction of the
/// time it starts from, which would make a slot differ from itself as recorded.
fn whole_second(time: DateTime<Utc>) -> DateTime<Utc> {
    time.with_nanosecond(0).unwrap_or(time)
}

/// Whether the schedule is behind: its latest slot passed more than `overdue` ago without a
/// scheduled scan for it.
pub fn overdue(schedule: &Schedule, done: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let Some(slot) = previous_slot(schedule, now) else {
        return false;
    };
    let behind = done.is_none_or(|done| done < slot);
    let late = (now - slot).to_std().unwrap_or_default() > schedule.overdue;
    behind && late
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "serve".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn schedule(cron: &str, zone: chrono_tz::Tz) -> Schedule {
        Schedule {
            cron: croner::Cron::from_str(cron).unwrap(),
            time_zone: zone,
            lease: Duration::from_secs(60),
            overdue: Duration::from_secs(6 * 3600),
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn slots_are_computed_in_the_named_time_zone() {
        // 02:00 in Amsterdam is 01:00 UTC in winter.
        let nightly = schedule("0 2 * * *", chrono_tz::Europe::Amsterdam);
        let now = utc("2026-12-07T19:30:00Z");
        assert_eq!(
            previous_slot(&nightly, now),
            Some(utc("2026-12-07T01:00:00Z"))
        );
        assert_eq!(next_slot(&nightly, now), Some(utc("2026-12-08T01:00:00Z")));
    }

    #[test]
    fn only_the_latest_missed_slot_is_due_and_overdue_needs_the_grace() {
        let nightly = schedule("0 2 * * *", chrono_tz::UTC);
        // Down for three nights: the previous slot is the one to run, once.
        let now = utc("2026-12-07T09:00:00Z");
        let slot = previous_slot(&nightly, now).unwrap();
        assert_eq!(slot, utc("2026-12-07T02:00:00Z"));
        assert!(overdue(&nightly, Some(utc("2026-12-04T02:00:00Z")), now));
        assert!(!overdue(&nightly, Some(slot), now));
        // Within the grace after the slot it is not overdue yet.
        assert!(!overdue(
            &nightly,
            Some(utc("2026-12-06T02:00:00Z")),
            utc("2026-12-07T03:00:00Z")
        ));
    }

    #[test]
    fn a_slot_just_scanned_is_not_overdue() {
        let nightly = schedule("0 3 * * *", chrono_tz::Europe::Amsterdam);
        let now = utc("2026-12-07T20:21:03.283947544Z");
        let slot = previous_slot(&nightly, now).unwrap();
        assert_eq!(slot, utc("2026-12-07T02:00:00Z"));
        assert!(!overdue(&nightly, Some(slot), now));
    }

    #[test]
    fn a_scheduled_source_round_trips_its_slot() {
        let slot = utc("2026-12-07T02:00:00Z");
        let source = Trigger::Scheduled(slot).source();
        assert_eq!(source, "live (scheduled 2026-12-07T02:00:00Z)");
        assert_eq!(scheduled_slot(&source), Some(slot));
        assert_eq!(scheduled_slot("live (requested)"), None);
        assert_eq!(scheduled_slot("fixtures/fleets/demo"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_lease_is_tried_again_until_it_is_free() {
        let tries = std::cell::Cell::new(0);
        let leased = retry_until_leased(
            || {
                tries.set(tries.get() + 1);
                let free = tries.get() >= 3;
                async move {
                    if free {
                        Attempt::Leased
                    } else {
                        Attempt::Busy
                    }
                }
            },
            || async { false },
            Duration::from_secs(5),
            std::future::pending(),
        )
        .await;
        assert!(leased);
        assert_eq!(tries.get(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_ends_when_the_slot_is_settled_or_at_shutdown() {
        let tries = std::cell::Cell::new(0);
        let leased = retry_until_leased(
            || {
                tries.set(tries.get() + 1);
                async { Attempt::Busy }
            },
            || async { true },
            Duration::from_secs(5),
            std::future::pending(),
        )
        .await;
        assert!(!leased);
        assert_eq!(
            tries.get(),
            1,
            "another replica recorded the slot: no second try"
        );

        let leased = retry_until_leased(
            || async { Attempt::Busy },
            || async { false },
            Duration::from_secs(5),
            tokio::time::sleep(Duration::from_secs(12)),
        )
        .await;
        assert!(!leased, "shutdown stops the wait");
    }
}
