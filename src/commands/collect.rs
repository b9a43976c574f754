//! `collect`: reads the tenant live and writes it as a snapshot directory (docs/snapshots.md), to scan
//! offline, replay later, or attach to a bug report.

use super::{collect_live, LiveSource};
use crate::error::Error;
use crate::live::Collection;
use std::path::PathBuf;

pub struct CollectOptions {
    pub live: LiveSource,
    /// The directory to write the snapshot to (created if missing).
    pub out: PathBuf,
    /// How many days of backup jobs to read.
    pub job_window_days: i64,
    /// Given, Microsoft Graph is not called.
    pub backup_service_object_id: Option<String>,
}

/// Collects and writes the snapshot; the collection says what was written and what is missing.
pub fn collect(options: &CollectOptions) -> Result<Collection, Error> {
    let live = options.live.options(
        options.job_window_days,
        options.backup_service_object_id.clone(),
    )?;
    let collection = super::block_on("--live", collect_live(&live))??;
    collection.write(&options.out).map_err(Error::Runtime)?;
    Ok(collection)
}
