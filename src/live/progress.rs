//! What a live collection shows while it runs. The collector reports list calls starting and
//! finishing per budget scope (a subscription, or the tenant); on a terminal that becomes one
//! `indicatif` bar per subscription, elsewhere nothing here (the `tracing` logs say it instead),
//! so a pipeline's log is never filled with redraws.

use super::throttle::{ScopeCounts, Stats};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub trait Progress: Send + Sync {
    /// A list call for `scope` begins: one more list to wait for.
    fn list_started(&self, scope: &str);
    /// A list call for `scope` ended, read or recorded as a gap.
    fn list_finished(&self, scope: &str, gap: bool);
    /// The collection is over: clear what was drawn.
    fn finish(&self) {}
}

/// For runs whose stderr is not a terminal, and for tests and benchmarks.
pub struct Silent;

impl Progress for Silent {
    fn list_started(&self, _scope: &str) {}
    fn list_finished(&self, _scope: &str, _gap: bool) {}
}

/// One bar per scope: lists done / lists known so far, calls, throttle waits and gaps.
pub struct Bars {
    multi: MultiProgress,
    stats: Arc<Stats>,
    bars: Mutex<HashMap<String, ScopeBar>>,
}

struct ScopeBar {
    bar: ProgressBar,
    gaps: u64,
}

impl Bars {
    /// Bars on stderr; `stats` are the throttle's counters, read for each bar's message.
    pub fn stderr(stats: Arc<Stats>) -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            stats,
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn style() -> ProgressStyle {
        ProgressStyle::with_template(
            "{prefix:>36} {bar:20.cyan/blue} {pos:>3}/{len:<3} lists  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
    }

    fn with_bar(&self, scope: &str, update: impl FnOnce(&mut ScopeBar)) {
        let key = scope.to_ascii_lowercase();
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        let entry = bars.entry(key.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(Self::style());
            bar.set_prefix(key.clone());
            bar.enable_steady_tick(Duration::from_millis(250));
            ScopeBar { bar, gaps: 0 }
        });
        update(entry);
        entry
            .bar
            .set_message(message(self.stats.of_scope(&key), entry.gaps));
    }
}

impl Progress for Bars {
    fn list_started(&self, scope: &str) {
        self.with_bar(scope, |b| b.bar.inc_length(1));
    }

    fn list_finished(&self, scope: &str, gap: bool) {
        self.with_bar(scope, |b| {
            b.bar.inc(1);
            b.gaps += u64::from(gap);
        });
    }

    fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for scope_bar in bars.values() {
            scope_bar.bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// The cost part of a bar: what an admin watching a slow scan wants to know is whether ARM is
/// throttling it and whether something could not be read.
fn message(counts: ScopeCounts, gaps: u64) -> String {
    let mut text = format!("{} calls", counts.calls);
    if counts.throttled > 0 || counts.waited_ms > 0 {
        text.push_str(&format!(
            ", {} throttled, waited {:.1}s",
            counts.throttled,
            counts.waited_ms as f64 / 1000.0
        ));
    }
    if gaps > 0 {
        text.push_str(&format!(", {gaps} gaps"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_mentions_throttling_and_gaps_only_when_there_are_some() {
        let quiet = ScopeCounts {
            calls: 12,
            throttled: 0,
            waited_ms: 0,
        };
        assert_eq!(message(quiet, 0), "12 calls");
        let busy = ScopeCounts {
            calls: 40,
            throttled: 3,
            waited_ms: 2500,
        };
        assert_eq!(
            message(busy, 1),
            "40 calls, 3 throttled, waited 2.5s, 1 gaps"
        );
    }

    #[test]
    fn bars_count_lists_per_scope_without_a_terminal() {
        let bars = Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            stats: Arc::new(Stats::default()),
            bars: Mutex::new(HashMap::new()),
        };
        bars.list_started("SUB-A");
        bars.list_started("sub-a");
        bars.list_started("tenant");
        bars.list_finished("sub-a", true);
        let map = bars.bars.lock().unwrap();
        let a = &map["sub-a"];
        assert_eq!((a.bar.position(), a.bar.length(), a.gaps), (1, Some(2), 1));
        assert_eq!(map["tenant"].bar.length(), Some(1));
    }
}
