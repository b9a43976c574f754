//! Reading within ARM's limits: a read budget per subscription, waits on 429 and 503, retries of
//! transient failures, a deadline for the whole scan, and counts of what all that cost.
//!
//! It is an `azure_core` pipeline policy, so every SDK call (first pages and `nextLink` pages
//! alike) goes through it; the SDK's own retry policy is switched off so that the two do not
//! stack. A request that still fails after the retries is returned as it came, and the collector
//! turns it into a gap: throttling never drops data silently.

use async_trait::async_trait;
use azure_core::{Context, Policy, PolicyResult, Request, StatusCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// ARM's documented token bucket for subscription reads (per region instance): 250, +25/s.
pub const ARM_BURST: f64 = 250.0;
pub const ARM_REFILL_PER_SECOND: f64 = 25.0;
const REMAINING_READS: &str = "x-ms-ratelimit-remaining-subscription-reads";
/// Resource Graph's own quota (per user, a few queries per 5-second window), apart from ARM's.
const GRAPH_QUOTA_REMAINING: &str = "x-ms-user-quota-remaining";
const GRAPH_QUOTA_RESETS_AFTER: &str = "x-ms-user-quota-resets-after";
/// Tries of a request that fails for a server error or a broken connection.
const MAX_ATTEMPTS: u32 = 8;
/// Tries of a request that got no answer within the per-call timeout: a server that stalls
/// tends to stall again, and each try costs a whole timeout.
const MAX_TIMED_OUT_ATTEMPTS: u32 = 3;
/// The longest `Retry-After` taken as given; a longer one is waited this long, then asked again.
const LONGEST_RETRY_AFTER: f64 = 300.0;
/// Tries of a request ARM throttles: throttling only costs time, so it is retried for as long as
/// the scan's deadline allows; this cap only stops a server that throttles for ever.
const MAX_THROTTLED_ATTEMPTS: u32 = 64;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    /// Set by a 429 / 503 with Retry-After: nobody reads this scope before then.
    paused_until: Option<Instant>,
}

/// What collection cost, for the progress line, the logs and the benchmark.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub throttled: AtomicU64,
    pub server_errors: AtomicU64,
    pub waited_ms: AtomicU64,
    by_scope: Mutex<HashMap<String, ScopeCounts>>,
}

/// The cost of one budget scope (a subscription, or the tenant), for its progress bar.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScopeCounts {
    pub calls: u64,
    pub throttled: u64,
    pub waited_ms: u64,
}

impl Stats {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn of_scope(&self, scope: &str) -> ScopeCounts {
        let by_scope = self.by_scope.lock().unwrap_or_else(|p| p.into_inner());
        by_scope
            .get(&scope.to_ascii_lowercase())
            .copied()
            .unwrap_or_default()
    }

    fn count(&self, scope: &str, add: impl FnOnce(&mut ScopeCounts)) {
        let mut by_scope = self.by_scope.lock().unwrap_or_else(|p| p.into_inner());
        add(by_scope.entry(scope.to_owned()).or_default());
    }
}

/// The pipeline policy; one per scan, shared by every client.
#[derive(Debug)]
pub struct Throttle {
    buckets: Mutex<HashMap<String, Bucket>>,
    burst: f64,
    refill_per_second: f64,
    deadline: Option<Instant>,
    pub stats: Arc<Stats>,
}

impl Throttle {
    pub fn new(deadline: Option<Duration>) -> Throttle {
        Throttle {
            buckets: Mutex::new(HashMap::new()),
            burst: ARM_BURST,
            refill_per_second: ARM_REFILL_PER_SECOND,
            deadline: deadline.map(|d| Instant::now() + d),
            stats: Arc::new(Stats::default()),
        }
    }

    /// Waits until the scope may send one more read, then takes it.
    async fn acquire(&self, scope: &str) -> Result<(), azure_core::Error> {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let bucket = buckets.entry(scope.to_owned()).or_insert(Bucket {
                    tokens: self.burst,
                    updated: now,
                    paused_until: None,
                });
                let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * self.refill_per_second).min(self.burst);
                // Never back in time: a pause sets `updated` to its end.
                bucket.updated = bucket.updated.max(now);
                match bucket.paused_until {
                    Some(until) if until > now => until - now,
                    _ if bucket.tokens >= 1.0 => {
                        bucket.tokens -= 1.0;
                        return Ok(());
                    }
                    _ => Duration::from_secs_f64((1.0 - bucket.tokens) / self.refill_per_second),
                }
            };
            self.sleep(scope, wait).await?;
        }
    }

    /// Sleeps `wait`, unless that would end past the deadline: then it fails at once.
    async fn sleep(&self, scope: &str, wait: Duration) -> Result<(), azure_core::Error> {
        if let Some(deadline) = self.deadline {
            if Instant::now() + wait > deadline {
                return Err(past_deadline(
                    "the scan's deadline (--deadline) would pass while waiting for ARM's read budget (throttled)",
                ));
            }
        }
        self.stats
            .waited_ms
            .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
        self.stats
            .count(scope, |c| c.waited_ms += wait.as_millis() as u64);
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Follows what ARM says is left: when it has fewer reads than we think, we have fewer.
    fn observe_remaining(&self, scope: &str, remaining: f64) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(scope) {
            bucket.tokens = bucket.tokens.min(remaining);
        }
    }

    fn pause(&self, scope: &str, wait: Duration) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(scope) {
            let until = Instant::now() + wait;
            let until = bucket.paused_until.map_or(until, |u| u.max(until));
            bucket.paused_until = Some(until);
            // The budget refills from the end of the pause, not from before it: otherwise every
            // request waiting on the pause would go out at once when it ends and be throttled again.
            bucket.tokens = 0.0;
            bucket.updated = until;
        }
    }
}

/// The budget a request draws on: its subscription's, or the tenant's for tenant-level calls
/// (the subscription list, Resource Graph, Microsoft Graph).
pub fn scope_of(path: &str) -> String {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    while let Some(segment) = segments.next() {
        if segment.eq_ignore_ascii_case("subscriptions") {
            if let Some(id) = segments.next() {
                return id.to_ascii_lowercase();
            }
        }
    }
    "tenant".into()
}

/// How long a 429 / 503 asks us to wait: `Retry-After` in seconds (ARM's form), else a backoff;
/// and the seconds it asked for, uncut, when it did.
fn retry_after(headers: &azure_core::headers::Headers, attempt: u32) -> (Duration, Option<f64>) {
    let asked = headers
        .get_optional_str(&azure_core::headers::RETRY_AFTER)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0);
    let wait = asked
        .map(|s| Duration::from_secs_f64(s.min(LONGEST_RETRY_AFTER)))
        .unwrap_or_else(|| backoff(attempt));
    (wait, asked)
}

fn past_deadline(message: impl Into<String>) -> azure_core::Error {
    azure_core::Error::message(azure_core::error::ErrorKind::Other, message.into())
}

/// When Resource Graph says the user's quota is used up, how long until its window resets
/// (`x-ms-user-quota-resets-after` is `hh:mm:ss`).
fn graph_quota_wait(headers: &azure_core::headers::Headers) -> Option<Duration> {
    let header = |name: &'static str| {
        headers.get_optional_str(&azure_core::headers::HeaderName::from_static(name))
    };
    let remaining: f64 = header(GRAPH_QUOTA_REMAINING)?.trim().parse().ok()?;
    if remaining > 0.0 {
        return None;
    }
    let mut seconds = 0.0;
    for part in header(GRAPH_QUOTA_RESETS_AFTER)?.trim().split(':') {
        seconds = seconds * 60.0 + part.parse::<f64>().ok()?;
    }
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(300.0)))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(6)))
}

#[async_trait]
impl Policy for Throttle {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let scope = scope_of(request.url().path());
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.acquire(&scope).await?;
            if self
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                // The budget may be there, but the run is over: nothing new goes out.
                return Err(past_deadline(
                    "the scan's deadline (--deadline) passed before this read was sent",
                ));
            }
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            self.stats.count(&scope, |c| c.calls += 1);
            let call = next[0].send(ctx, request, &next[1..]);
            // A call in flight when the deadline comes is given up, so the deadline bounds the
            // run whatever the server does (the per-call timeout bounds each call before that).
            let sent =
                match self.deadline {
                    Some(deadline) => match tokio::time::timeout_at(deadline, call).await {
                        Ok(sent) => sent,
                        Err(_) => return Err(past_deadline(
                            "the scan's deadline (--deadline) passed while waiting for the answer",
                        )),
                    },
                    None => call.await,
                };
            let response = match sent {
                Ok(response) => response,
                Err(error) if is_transport(&error) => {
                    let timed_out = crate::live::transport::is_timeout(&error);
                    let limit = if timed_out {
                        MAX_TIMED_OUT_ATTEMPTS
                    } else {
                        MAX_ATTEMPTS
                    };
                    if attempt >= limit {
                        return Err(error);
                    }
                    tracing::debug!(%scope, attempt, timed_out, "transport error, retrying: {error}");
                    self.sleep(&scope, backoff(attempt)).await?;
                    continue;
                }
                Err(error) => return Err(error),
            };
            let status = response.status();
            if let Some(remaining) = response
                .headers()
                .get_optional_str(&azure_core::headers::HeaderName::from_static(
                    REMAINING_READS,
                ))
                .and_then(|v| v.parse::<f64>().ok())
            {
                self.observe_remaining(&scope, remaining);
            }
            if let Some(wait) = graph_quota_wait(response.headers()) {
                // The quota is spent: the next query would be a 429, so wait for the window.
                self.pause(&scope, wait);
            }
            let throttled = status == StatusCode::TooManyRequests;
            let unavailable = status == StatusCode::ServiceUnavailable;
            let transient = matches!(
                status,
                StatusCode::InternalServerError
                    | StatusCode::BadGateway
                    | StatusCode::GatewayTimeout
            );
            let limit = if throttled {
                MAX_THROTTLED_ATTEMPTS
            } else {
                MAX_ATTEMPTS
            };
            if !(throttled || unavailable || transient) || attempt >= limit {
                return Ok(response);
            }
            let wait = if throttled || unavailable {
                let (wait, asked) = retry_after(response.headers(), attempt);
                if let (Some(deadline), Some(asked)) = (self.deadline, asked) {
                    // Waiting would end past the deadline: say so now, without sleeping.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if asked > left.as_secs_f64() {
                        let what = if throttled {
                            "throttled"
                        } else {
                            "unavailable"
                        };
                        return Err(past_deadline(format!(
                            "{what}: ARM asked to wait {asked} s (Retry-After), longer than is left before the scan's deadline (--deadline)"
                        )));
                    }
                }
                wait
            } else {
                backoff(attempt)
            };
            if throttled {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                self.stats.count(&scope, |c| c.throttled += 1);
            } else {
                self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            tracing::debug!(%scope, status = u16::from(status), attempt, wait_ms = wait.as_millis() as u64, "waiting before a retry");
            self.pause(&scope, wait);
        }
    }
}

fn is_transport(error: &azure_core::Error) -> bool {
    matches!(error.kind(), azure_core::error::ErrorKind::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_resource_graph_quota_waits_for_its_window() {
        let mut headers = azure_core::headers::Headers::new();
        headers.insert(GRAPH_QUOTA_REMAINING, "0");
        headers.insert(GRAPH_QUOTA_RESETS_AFTER, "00:00:03.5");
        assert_eq!(
            graph_quota_wait(&headers),
            Some(Duration::from_millis(3500))
        );
        headers.insert(GRAPH_QUOTA_REMAINING, "4");
        assert_eq!(graph_quota_wait(&headers), None);
        let mut without_reset = azure_core::headers::Headers::new();
        without_reset.insert(GRAPH_QUOTA_REMAINING, "0");
        assert_eq!(graph_quota_wait(&without_reset), None);
    }

    #[test]
    fn the_budget_is_the_subscription_in_the_path_or_the_tenant() {
        assert_eq!(
            scope_of("/subscriptions/ABC/providers/Microsoft.Compute/virtualMachines"),
            "abc"
        );
        assert_eq!(scope_of("/Subscriptions/abc/resourceGroups/r"), "abc");
        assert_eq!(scope_of("/subscriptions"), "tenant");
        assert_eq!(
            scope_of("/providers/Microsoft.ResourceGraph/resources"),
            "tenant"
        );
    }

    /// A throttle whose scope `s` was paused for `pause` after one read: the next read waits
    /// the pause out.
    async fn waited_out_pause(pause: Duration) -> Throttle {
        let throttle = Throttle::new(None);
        throttle.acquire("s").await.unwrap();
        throttle.pause("s", pause);
        let paused_at = Instant::now();
        throttle.acquire("s").await.unwrap();
        assert!(Instant::now() - paused_at >= pause);
        throttle
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_retry_after_pause_reads_resume_at_the_refill_rate_not_in_a_burst() {
        let throttle = waited_out_pause(Duration::from_secs(2)).await;
        // Ten more reads right after the pause take ten refills (25/s), not an instant burst.
        let resumed = Instant::now();
        for _ in 0..10 {
            throttle.acquire("s").await.unwrap();
        }
        let spent = Instant::now() - resumed;
        assert!(spent >= Duration::from_millis(390), "{spent:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_bucket_waits_for_the_refill() {
        let throttle = Throttle::new(None);
        let started = Instant::now();
        for _ in 0..250 {
            throttle.acquire("s").await.unwrap();
        }
        assert!(Instant::now() - started < Duration::from_millis(1));
        for _ in 0..25 {
            throttle.acquire("s").await.unwrap();
        }
        let waited = Instant::now() - started;
        assert!(
            waited >= Duration::from_millis(990) && waited <= Duration::from_millis(1100),
            "{waited:?}"
        );
        // another subscription has its own budget
        let before = Instant::now();
        throttle.acquire("t").await.unwrap();
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_the_scope_and_the_server_count_lowers_the_budget() {
        let throttle = waited_out_pause(Duration::from_secs(3)).await;
        throttle.observe_remaining("s", 0.0);
        let started = Instant::now();
        throttle.acquire("s").await.unwrap();
        assert!(Instant::now() - started >= Duration::from_millis(39));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_past_the_deadline_is_an_error() {
        let throttle = Throttle::new(Some(Duration::from_secs(1)));
        throttle.acquire("s").await.unwrap();
        throttle.pause("s", Duration::from_secs(5));
        let error = throttle.acquire("s").await.unwrap_err();
        assert!(error.to_string().contains("deadline"), "{error}");
    }
}
