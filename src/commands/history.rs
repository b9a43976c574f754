//! `history`: the scans kept in a store (`scan --store FILE|URL`), the trend by root cause, and
//! per rule how far its failures foretold the failed jobs that followed.

use crate::engine::RuleSet;
use crate::error::Error;
use crate::outcome::trust::rule_trust;
use crate::outcome::History;
use crate::store::{Store, StoreTarget};

/// `history` for a synchronous caller (the command line): [`history_async`] on a runtime of its own.
pub fn history(store: &StoreTarget, limit: usize) -> Result<History, Error> {
    super::block_on("history", history_async(store, limit))?
}

/// The latest `limit` scans of the store at `store`, which must exist.
pub async fn history_async(store: &StoreTarget, limit: usize) -> Result<History, Error> {
    let store = Store::open_existing(store).await?;
    let scans = store.scans(limit).await?;
    let mut kept = Vec::new();
    for scan in &scans {
        // Scans recorded before the store kept whole reports have only their summary: they
        // take no part in the rules' figures, which the listing of scans still shows.
        if let Ok(Some(report)) = store.report(scan.id).await {
            kept.push((scan.time.clone(), report));
        }
    }
    let mut history = History::new(store.describe(), scans);
    if kept.len() >= 2 {
        let explains = RuleSet::load(&[])?
            .rules
            .into_iter()
            .map(|rule| (rule.id, rule.explains))
            .collect();
        history.rules = rule_trust(&kept, &explains);
    }
    Ok(history)
}
