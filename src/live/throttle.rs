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
const MAX_ATTEMPTS: u32 = 8;

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
}

impl Stats {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
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
                bucket.updated = now;
                match bucket.paused_until {
                    Some(until) if until > now => until - now,
                    _ if bucket.tokens >= 1.0 => {
                        bucket.tokens -= 1.0;
                        return Ok(());
                    }
                    _ => Duration::from_secs_f64((1.0 - bucket.tokens) / self.refill_per_second),
                }
            };
            self.sleep(wait).await?;
        }
    }

    async fn sleep(&self, wait: Duration) -> Result<(), azure_core::Error> {
        if let Some(deadline) = self.deadline {
            if Instant::now() + wait > deadline {
                return Err(azure_core::Error::message(
                    azure_core::error::ErrorKind::Other,
                    "the scan's deadline (--deadline) passed while waiting for ARM's read budget",
                ));
            }
        }
        self.stats
            .waited_ms
            .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
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
            bucket.paused_until = Some(bucket.paused_until.map_or(until, |u| u.max(until)));
            bucket.tokens = 0.0;
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

/// How long a 429 / 503 asks us to wait: `Retry-After` in seconds (ARM's form), else a backoff.
fn retry_after(headers: &azure_core::headers::Headers, attempt: u32) -> Duration {
    headers
        .get_optional_str(&azure_core::headers::RETRY_AFTER)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(300.0)))
        .unwrap_or_else(|| backoff(attempt))
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
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let sent = next[0].send(ctx, request, &next[1..]).await;
            let response = match sent {
                Ok(response) => response,
                Err(error) if attempt < MAX_ATTEMPTS && is_transport(&error) => {
                    tracing::debug!(%scope, attempt, "transport error, retrying: {error}");
                    self.sleep(backoff(attempt)).await?;
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
            let throttled = status == StatusCode::TooManyRequests;
            let unavailable = status == StatusCode::ServiceUnavailable;
            let transient = matches!(
                status,
                StatusCode::InternalServerError
                    | StatusCode::BadGateway
                    | StatusCode::GatewayTimeout
            );
            if !(throttled || unavailable || transient) || attempt >= MAX_ATTEMPTS {
                return Ok(response);
            }
            let wait = if throttled || unavailable {
                retry_after(response.headers(), attempt)
            } else {
                backoff(attempt)
            };
            if throttled {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
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
        let throttle = Throttle::new(None);
        throttle.acquire("s").await.unwrap();
        throttle.pause("s", Duration::from_secs(3));
        let started = Instant::now();
        throttle.acquire("s").await.unwrap();
        assert!(Instant::now() - started >= Duration::from_secs(3));
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
