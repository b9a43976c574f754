//! ARM's read throttling: a token bucket per subscription (and one for tenant-level calls).
//!
//! The bucket takes `Instant`s from its caller instead of reading the clock itself so the unit
//! tests can drive it with a virtual clock and never sleep.

use std::time::Instant;

/// The shape of a token bucket: how many reads it holds when full and how fast it refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub capacity: u32,
    pub refill_per_second: f64,
}

impl Bucket {
    /// Azure Resource Manager's documented per-subscription read limit (token bucket of 250,
    /// refilled at 25 per second).
    pub fn arm() -> Bucket {
        Bucket {
            capacity: 250,
            refill_per_second: 25.0,
        }
    }
}

/// A Retry-After longer than a day is no use to a client; a bucket that never refills would
/// otherwise ask for an infinite wait.
const MAX_RETRY_AFTER_SECS: u64 = 86_400;

/// The live state of one bucket.
#[derive(Debug, Clone)]
pub(crate) struct BucketState {
    tokens: f64,
    last: Instant,
}

impl BucketState {
    /// A bucket starts full, as ARM's does for a subscription that has been idle.
    pub(crate) fn new(shape: &Bucket, now: Instant) -> BucketState {
        BucketState {
            tokens: f64::from(shape.capacity),
            last: now,
        }
    }

    fn refill(&mut self, shape: &Bucket, now: Instant) {
        // Requests are handled concurrently, so a caller may present an instant slightly older
        // than the last one seen; time never runs backwards for the bucket.
        if now > self.last {
            let elapsed = now.duration_since(self.last).as_secs_f64();
            let rate = shape.refill_per_second.max(0.0);
            self.tokens = (self.tokens + elapsed * rate).min(f64::from(shape.capacity));
            self.last = now;
        }
    }

    /// The whole tokens left, as ARM reports them in `x-ms-ratelimit-remaining-subscription-reads`.
    pub(crate) fn remaining(&mut self, shape: &Bucket, now: Instant) -> u32 {
        self.refill(shape, now);
        whole(self.tokens)
    }

    /// Takes one token: `Ok(remaining)` or `Err(retry_after_seconds)` when the bucket is empty.
    /// A refused request takes nothing, as with ARM.
    pub(crate) fn take(&mut self, shape: &Bucket, now: Instant) -> Result<u32, u64> {
        self.refill(shape, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(whole(self.tokens))
        } else {
            Err(retry_after(self.tokens, shape.refill_per_second))
        }
    }
}

fn whole(tokens: f64) -> u32 {
    // Guard against float noise such as 2.9999999 after many refills.
    (tokens + 1e-9).floor().max(0.0) as u32
}

/// Whole seconds until one token is available, at least 1 (Retry-After has no fractions).
fn retry_after(tokens: f64, rate: f64) -> u64 {
    if rate <= 0.0 || !rate.is_finite() {
        return MAX_RETRY_AFTER_SECS;
    }
    let secs = ((1.0 - tokens).max(0.0) / rate).ceil();
    if secs >= MAX_RETRY_AFTER_SECS as f64 {
        MAX_RETRY_AFTER_SECS
    } else {
        (secs as u64).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A bucket of this shape, full at the returned instant.
    fn full(capacity: u32, refill_per_second: f64) -> (Bucket, Instant, BucketState) {
        let shape = Bucket {
            capacity,
            refill_per_second,
        };
        let t0 = Instant::now();
        let state = BucketState::new(&shape, t0);
        (shape, t0, state)
    }

    #[test]
    fn starts_full_and_drains() {
        let (shape, t0, mut b) = full(3, 0.001);
        assert_eq!(b.remaining(&shape, t0), 3);
        assert_eq!(b.take(&shape, t0), Ok(2));
        assert_eq!(b.take(&shape, t0), Ok(1));
        assert_eq!(b.take(&shape, t0), Ok(0));
        // 1 / 0.001 = 1000 s until the next token.
        assert_eq!(b.take(&shape, t0), Err(1000));
        // A refused request consumed nothing.
        assert_eq!(b.remaining(&shape, t0), 0);
    }

    #[test]
    fn refills_with_virtual_time_up_to_capacity() {
        let (shape, t0, mut b) = full(10, 2.0);
        for _ in 0..10 {
            b.take(&shape, t0).unwrap();
        }
        assert_eq!(b.take(&shape, t0), Err(1));
        let t1 = t0 + Duration::from_millis(1500);
        assert_eq!(b.remaining(&shape, t1), 3);
        assert_eq!(b.take(&shape, t1), Ok(2));
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!(b.remaining(&shape, t2), 10);
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one() {
        assert_eq!(retry_after(0.0, 25.0), 1);
        assert_eq!(retry_after(0.5, 0.1), 5);
        assert_eq!(retry_after(0.0, 0.3), 4);
        assert_eq!(retry_after(0.0, 0.0), MAX_RETRY_AFTER_SECS);
    }

    #[test]
    fn older_instants_do_not_drain_or_refill() {
        let shape = Bucket::arm();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let mut b = BucketState::new(&shape, t1);
        assert_eq!(b.take(&shape, t1), Ok(249));
        assert_eq!(b.take(&shape, t0), Ok(248));
    }
}
