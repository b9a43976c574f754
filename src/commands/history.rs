//! `history`: the scans kept in a store (`scan --store FILE|URL`) and the trend by root cause.

use crate::error::Error;
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
    Ok(History::new(store.describe(), scans))
}
