//! `history`: the scans kept in a store (`scan --store FILE`) and the trend by root cause.

use crate::error::Error;
use crate::outcome::History;
use crate::store::Store;
use std::path::Path;

/// The latest `limit` scans of the store at `store`, which must exist.
pub fn history(store: &Path, limit: usize) -> Result<History, Error> {
    let scans = Store::open_existing(store)?.scans(limit)?;
    Ok(History::new(store.display().to_string(), scans))
}
