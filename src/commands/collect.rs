//! `collect`: reads the tenant live and writes it as a snapshot directory (docs/snapshots.md), to scan
//! offline, replay later, or attach to a bug report.

use super::scan::attribution::{self, Scope};
use super::{collect_live, parse_now, LiveSource};
use crate::codes::CodeBook;
use crate::engine::{Engine, RuleSet};
use crate::error::Error;
use crate::live::collect::changes;
use crate::live::{Collection, LiveOptions};
use crate::resolve;
use serde_json::Value;
use std::path::PathBuf;

pub struct CollectOptions {
    pub live: LiveSource,
    /// The directory to write the snapshot to (created if missing).
    pub out: PathBuf,
    /// How many days of backup jobs to read.
    pub job_window_days: i64,
    /// Given, Microsoft Graph is not called.
    pub backup_service_object_id: Option<String>,
    /// The start of the window of change records kept (RFC 3339); Resource Graph's 14 days
    /// when absent.
    pub changes_since: Option<String>,
}

/// Collects and writes the snapshot; the collection says what was written and what is missing.
pub fn collect(options: &CollectOptions) -> Result<Collection, Error> {
    let live = options.live.options(
        options.job_window_days,
        options.backup_service_object_id.clone(),
    )?;
    let since = parse_now(options.changes_since.as_deref()).map_err(|_| {
        Error::usage(
            "--changes-since",
            format!(
                "`{}` is not an RFC 3339 time",
                options.changes_since.as_deref().unwrap_or_default()
            ),
            "write it like 2026-11-20T00:00:00Z",
        )
    })?;
    let collection = super::block_on("--live", async {
        let mut collection = collect_live(&live).await?;
        keep_changes(&mut collection, &live, since).await?;
        Ok::<_, Error>(collection)
    })??;
    collection.write(&options.out).map_err(Error::Runtime)?;
    Ok(collection)
}

/// Adds the change records of the resources the built-in rules' failing findings name, so an
/// offline scan of the snapshot replays the attribution (docs/change-attribution.md).
async fn keep_changes(
    collection: &mut Collection,
    live: &LiveOptions,
    since: Option<time::OffsetDateTime>,
) -> Result<(), Error> {
    let inventory = collection.load()?;
    let report = super::scan::evaluate(
        &inventory,
        &Engine::new(RuleSet::load(&[])?),
        &CodeBook::builtin()?,
        &resolve::Options {
            job_window_days: live.job_window_days,
            now: Some(live.now),
            backup_service_object_id: live.backup_service_object_id.clone(),
        },
    );
    let ids = attribution::named_resources(
        &report,
        &Scope {
            new: None,
            all: true,
        },
    );
    let since = since.unwrap_or(live.now - time::Duration::days(attribution::DEFAULT_DAYS));
    let read = changes::read(live, &ids, since, live.now)
        .await
        .map_err(|e| Error::Runtime(e.into()))?;
    collection.files.push(read.file());
    if !read.gaps.is_empty() {
        if let Some((_, Value::Object(manifest))) = collection
            .files
            .iter_mut()
            .find(|(path, _)| path.as_os_str() == "snapshot.json")
        {
            if let Some(Value::Array(gaps)) = manifest.get_mut("gaps") {
                gaps.extend(read.gaps.iter().map(|g| serde_json::json!(g)));
            }
        }
        collection.gaps.extend(read.gaps);
    }
    Ok(())
}
