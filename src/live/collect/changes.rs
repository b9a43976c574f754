//! Resource Graph's change history (`resourcechanges`) of the resources failing findings name,
//! in a window (docs/change-attribution.md). The ids go into few queries, `BATCH` ids each, never
//! one per VM; each query covers only the subscriptions its ids sit in. The request is sent raw
//! through the collector's pipeline, so Resource Graph's own quota headers
//! (`x-ms-user-quota-remaining` / `-resets-after`) are kept to by `live::throttle` as for every
//! other query. A query that fails is a gap on `Microsoft.Resources/changes`: the attribution says
//! it is incomplete, no verdict changes.

use super::pages::succeeded;
use super::{conversion, reason, Collector};
use crate::error::InputError;
use crate::inventory::model::Gap;
use crate::inventory::types::RESOURCE_CHANGES;
use crate::inventory::Inventory;
use crate::live::progress::Silent;
use crate::live::{client_settings, LiveError, LiveOptions};
use crate::source::snapshot;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Resource Graph's generally available api-version of the query POST (2024-04-01 is a stable
/// folder of Microsoft.ResourceGraph in azure-rest-api-specs).
pub const API_VERSION: &str = "2024-04-01";

/// Ids per query: a query's text stays near 15 KB (ARM ids run to about 150 characters).
pub const BATCH: usize = 100;

/// Where a collection keeps the change records.
pub const FILE: &str = "tenant/Microsoft.Resources.changes.json";

/// What was read: the rows as Resource Graph returned them, the gaps, and the queries sent.
#[derive(Debug, Default)]
pub struct ChangeRead {
    pub rows: Vec<Value>,
    pub gaps: Vec<Gap>,
    pub queries: usize,
}

impl ChangeRead {
    /// The snapshot file of the rows (docs/snapshots.md).
    pub fn file(&self) -> (PathBuf, Value) {
        (PathBuf::from(FILE), json!({ "value": self.rows }))
    }

    /// Adds the rows to `inventory` through the snapshot loader (the path an offline scan takes
    /// through `collect`'s file), and the gaps to its manifest.
    pub fn add_to(&self, inventory: &mut Inventory) -> Result<(), InputError> {
        let (path, body) = self.file();
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        snapshot::load_bytes(inventory, &Path::new("live").join(path), &bytes)?;
        if !self.gaps.is_empty() {
            inventory
                .manifest
                .get_or_insert_with(Default::default)
                .gaps
                .extend(self.gaps.iter().cloned());
        }
        Ok(())
    }
}

/// The change records of `ids` between `since` (excluded) and `until`.
pub async fn read(
    options: &LiveOptions,
    ids: &[String],
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<ChangeRead, LiveError> {
    let mut read = ChangeRead::default();
    if ids.is_empty() {
        return Ok(read);
    }
    let collector = Collector::new(
        client_settings(options)?,
        options.concurrency,
        Arc::new(Silent),
    );
    let ids: Vec<&String> = ids.iter().filter(|id| quotable(id)).collect();
    for batch in ids.chunks(BATCH) {
        let subscriptions: BTreeSet<String> =
            batch.iter().filter_map(|id| subscription_of(id)).collect();
        let subscriptions: Vec<String> = subscriptions.into_iter().collect();
        let query = query(batch, since, until);
        match collector
            .change_rows(&query, &subscriptions, &mut read.queries)
            .await
        {
            Ok(rows) => read.rows.extend(rows),
            Err(error) => {
                for s in &subscriptions {
                    read.gaps.push(Gap {
                        scope: format!("/subscriptions/{s}"),
                        what: RESOURCE_CHANGES.to_owned(),
                        reason: reason(&error),
                    });
                }
            }
        }
    }
    tracing::info!(
        ids = ids.len(),
        queries = read.queries,
        rows = read.rows.len(),
        gaps = read.gaps.len(),
        "change records read"
    );
    Ok(read)
}

/// The query the collector sends for `ids` (lower-cased); the emulator recognises exactly this
/// shape.
pub fn query(ids: &[&String], since: OffsetDateTime, until: OffsetDateTime) -> String {
    let list = ids
        .iter()
        .map(|id| format!("'{}'", id.to_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "resourcechanges \
         | extend changeTime = todatetime(properties.changeAttributes.timestamp), \
         targetResourceId = tolower(tostring(properties.targetResourceId)) \
         | where changeTime > datetime({}) and changeTime <= datetime({}) \
         | where targetResourceId in ({list}) \
         | project id, name, type, tenantId, subscriptionId, resourceGroup, location, properties \
         | order by id asc",
        since.format(&Rfc3339).unwrap_or_default(),
        until.format(&Rfc3339).unwrap_or_default(),
    )
}

/// An ARM id can hold no quote; one that does is no resource of a finding and must not end
/// the query's string.
fn quotable(id: &str) -> bool {
    !id.contains(['\'', '\\', '"'])
}

fn subscription_of(id: &str) -> Option<String> {
    let mut parts = id.split('/').filter(|s| !s.is_empty());
    parts
        .next()
        .filter(|s| s.eq_ignore_ascii_case("subscriptions"))?;
    parts.next().map(str::to_ascii_lowercase)
}

impl Collector {
    /// Every row of one change query, paged by `$skipToken`; each page is one query of the
    /// quota.
    async fn change_rows(
        &self,
        query: &str,
        subscriptions: &[String],
        queries: &mut usize,
    ) -> Result<Vec<Value>, azure_core::Error> {
        let mut url = self
            .options
            .arm
            .join("providers/Microsoft.ResourceGraph/resources")
            .map_err(conversion)?;
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        let pipeline = self.pipeline();
        let mut rows = Vec::new();
        let mut skip_token: Option<String> = None;
        loop {
            let mut options = json!({"$top": 1000, "resultFormat": "objectArray"});
            if let Some(token) = &skip_token {
                options["$skipToken"] = json!(token);
            }
            let body = json!({
                "subscriptions": subscriptions,
                "query": query,
                "options": options,
            });
            let token = self
                .options
                .credential
                .get_token(&[self.options.scope.as_str()])
                .await?;
            let mut request = azure_core::Request::new(url.clone(), azure_core::Method::Post);
            request.insert_header(
                azure_core::headers::AUTHORIZATION,
                format!("Bearer {}", token.token.secret()),
            );
            request.insert_header(azure_core::headers::CONTENT_TYPE, "application/json");
            request.set_body(serde_json::to_vec(&body).unwrap_or_default());
            *queries += 1;
            let response = {
                let _permit = self.permits.acquire().await;
                pipeline
                    .send(&azure_core::Context::new(), &mut request)
                    .await?
            };
            succeeded(response.status())?;
            let mut page: Value = response.json().await?;
            if let Some(Value::Array(data)) = page.get_mut("data") {
                rows.append(data);
            }
            skip_token = page
                .get("$skipToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if skip_token.is_none() {
                return Ok(rows);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_query_names_each_id_once_lower_cased_inside_the_window() {
        let ids = ["/subscriptions/S/resourceGroups/RG/providers/X/y/Z".to_owned()];
        let text = query(
            &ids.iter().collect::<Vec<_>>(),
            datetime!(2026-11-10 06:00 UTC),
            datetime!(2026-11-24 06:00 UTC),
        );
        assert!(text.starts_with("resourcechanges | extend"));
        assert!(text.contains("in ('/subscriptions/s/resourcegroups/rg/providers/x/y/z')"));
        assert!(text.contains(
            "changeTime > datetime(2026-11-10T06:00:00Z) and changeTime <= datetime(2026-11-24T06:00:00Z)"
        ));
        assert_eq!(subscription_of(&ids[0]).as_deref(), Some("s"));
        assert!(!quotable("/subscriptions/s/x') | union (resources"));
    }
}
