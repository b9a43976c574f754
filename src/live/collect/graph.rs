//! Azure Resource Graph: one query for all subscriptions, for what ARM has no list of wider than
//! one parent (VM extensions) and for what ARM does not say at all (the management groups above a
//! subscription). Rows are paged by skip token.

use super::{id_of, Collector};
use crate::inventory::types::{RESOURCE_CONTAINERS, SUBSCRIPTIONS};
use crate::inventory::{Listing, RESOURCE_TYPES};
use crate::live::throttle::scope_of;
use azure_mgmt_resourcegraph::package_preview_2023_09::models::{
    query_request_options::ResultFormat, QueryRequest, QueryRequestOptions,
};
use futures::future::join_all;
use serde_json::Value;
use std::collections::BTreeMap;

sdk_client!(resource_graph: azure_mgmt_resourcegraph::package_preview_2023_09::Client);

impl Collector {
    /// Every kind the registry reads through Resource Graph, one query each for all
    /// subscriptions.
    pub async fn graph_resources(&self, subscriptions: &[String]) {
        let kinds = RESOURCE_TYPES
            .iter()
            .filter(|descriptor| descriptor.listing == Listing::ResourceGraph)
            .filter_map(|descriptor| descriptor.arm_type);
        join_all(kinds.map(|what| self.graph_resources_of(what, subscriptions))).await;
    }

    /// The resources of type `what`, filed in each subscription's folder as its ARM list would
    /// have been.
    async fn graph_resources_of(&self, what: &str, subscriptions: &[String]) {
        let query = format!("resources | where type =~ '{}'", what.to_ascii_lowercase());
        let Some(rows) = self.graph_query(&query, what, subscriptions).await else {
            return;
        };
        let mut by_subscription: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for row in &rows {
            let subscription = row
                .get("subscriptionId")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .unwrap_or_else(|| scope_of(id_of(row)));
            by_subscription
                .entry(subscription)
                .or_default()
                .push(arm_shape(row));
        }
        for s in subscriptions {
            let items = by_subscription
                .remove(&s.to_ascii_lowercase())
                .unwrap_or_default();
            self.put(s, what, items);
        }
    }

    /// The subscriptions' Resource Graph container rows, in one query for all of them: ARM's own
    /// subscription objects do not say which management groups hold a subscription, and policy
    /// assigned at a management group applies through them. The rows are kept as Resource Graph
    /// returns them (`managementGroupAncestorsChain`, nearest parent first).
    pub async fn resource_containers(&self, subscriptions: &[String]) {
        let query = format!(
            "resourcecontainers | where type =~ '{}' \
             | project id, name, type, tenantId, subscriptionId, properties",
            SUBSCRIPTIONS.to_ascii_lowercase()
        );
        if let Some(rows) = self
            .graph_query(&query, RESOURCE_CONTAINERS, subscriptions)
            .await
        {
            self.put("tenant", RESOURCE_CONTAINERS, rows);
        }
    }

    /// Every row of `query` over `subscriptions`, counted as one list of the tenant's progress
    /// bar. A failure is a gap on `what` for each subscription: each one's part is what is
    /// unknown.
    async fn graph_query(
        &self,
        query: &str,
        what: &str,
        subscriptions: &[String],
    ) -> Option<Vec<Value>> {
        self.progress.list_started("tenant");
        let result = self.graph_rows(query, subscriptions).await;
        self.progress.list_finished("tenant", result.is_err());
        match result {
            Ok(rows) => Some(rows),
            Err(error) => {
                for s in subscriptions {
                    self.gap(&format!("/subscriptions/{s}"), what, &error);
                }
                None
            }
        }
    }

    /// Every row of a Resource Graph query over `subscriptions`, paged by skip token, 1,000 rows
    /// a page (Resource Graph's most).
    async fn graph_rows(
        &self,
        query: &str,
        subscriptions: &[String],
    ) -> Result<Vec<Value>, azure_core::Error> {
        let graph = resource_graph(self);
        let mut skip_token: Option<String> = None;
        let mut rows = Vec::new();
        loop {
            let mut request = QueryRequest::new(query.to_owned());
            request.subscriptions = subscriptions.to_vec();
            let mut query_options = QueryRequestOptions::new();
            query_options.top = Some(1000);
            query_options.skip_token = skip_token.clone();
            query_options.result_format = Some(ResultFormat::ObjectArray);
            request.options = Some(query_options);
            let mut response = {
                let _permit = self.permits.acquire().await;
                graph.resources(request).await?
            };
            if let Value::Array(page) = response.data.take() {
                rows.extend(page);
            }
            skip_token = response.skip_token.filter(|t| !t.is_empty());
            if skip_token.is_none() {
                return Ok(rows);
            }
        }
    }
}

/// A Resource Graph row as the ARM resource it describes: the columns ARM does not return
/// (`subscriptionId`, `resourceGroup`, `tenantId`, …) are dropped.
fn arm_shape(row: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["id", "name", "type", "location", "tags", "properties"] {
        if let Some(value) = row.get(key) {
            if !value.is_null() {
                out.insert(key.into(), value.clone());
            }
        }
    }
    Value::Object(out)
}
