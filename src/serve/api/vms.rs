//! `GET /v1/vms` (the VMs of the latest scan, filtered and paged) and `GET /v1/vms/{id}` (one
//! VM's latest diagnosis with its findings and fixes, and its verdict history).

use super::{number, query, ApiError, Shared};
use crate::store::{Page, VmFilter};
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

const VERDICTS: &[&str] = &["pass", "fail", "unknown"];

pub async fn list(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let parameters = query(
        raw.as_deref(),
        &[
            "verdict",
            "root_cause",
            "subscription",
            "resource_group",
            "tag",
            "offset",
            "limit",
            "scan",
        ],
    )?;
    if let Some(verdict) = parameters.get("verdict") {
        if !VERDICTS.contains(&verdict.as_str()) {
            return Err(ApiError::bad_request(
                format!("`{verdict}` is not a verdict"),
                "use pass, fail or unknown",
            ));
        }
    }
    if let Some(cause) = parameters.get("root_cause") {
        if !crate::outcome::Cause::ALL
            .iter()
            .any(|c| c.as_str() == cause)
        {
            return Err(ApiError::bad_request(
                format!("`{cause}` is not a root cause"),
                format!(
                    "use one of {}",
                    crate::outcome::Cause::ALL.map(|c| c.as_str()).join(", ")
                ),
            ));
        }
    }
    let tag = parameters
        .get("tag")
        .map(|text| match text.split_once('=') {
            Some((key, value)) => (key.to_string(), Some(value.to_string())),
            None => (text.clone(), None),
        });
    if tag.as_ref().is_some_and(|(key, _)| key.is_empty()) {
        return Err(ApiError::bad_request(
            "`tag` has no key",
            "give tag=KEY or tag=KEY=VALUE",
        ));
    }
    let filter = VmFilter {
        verdict: parameters.get("verdict").cloned(),
        root_cause: parameters.get("root_cause").cloned(),
        subscription: parameters.get("subscription").cloned(),
        resource_group: parameters.get("resource_group").cloned(),
        tag,
    };
    let page = Page {
        offset: number(&parameters, "offset", 0, 0..=1_000_000)?,
        limit: number(&parameters, "limit", 100, 1..=500)?,
    };
    let scan = match parameters.get("scan") {
        Some(text) => {
            let id: i64 = text.parse().map_err(|_| {
                ApiError::bad_request(
                    format!("`{text}` is not a scan id"),
                    "give the number GET /v1/scans lists",
                )
            })?;
            state
                .store
                .scan(id)
                .await
                .map_err(ApiError::store)?
                .ok_or_else(|| {
                    ApiError::not_found(
                        format!("no scan {id} in the store"),
                        "GET /v1/scans lists the scans kept",
                    )
                })?
        }
        None => latest(&state).await?,
    };
    let vms = state
        .store
        .vms(scan.id, &filter, page)
        .await
        .map_err(ApiError::store)?;
    Ok(Json(json!({
        "scan": { "id": scan.id, "time": scan.time },
        "total": vms.total,
        "offset": page.offset,
        "limit": page.limit,
        "items": vms.items,
    }))
    .into_response())
}

async fn latest(state: &Shared) -> Result<crate::outcome::ScanRow, ApiError> {
    state
        .store
        .latest_scan()
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| {
            ApiError::not_found(
                "the store has no scan yet",
                "wait for the scheduled scan or start one with POST /v1/scans",
            )
        })
}

pub async fn one(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // The route's wildcard takes the ARM id's slashes; its leading one is the route's.
    let id = if id.starts_with('/') {
        id
    } else {
        format!("/{id}")
    };
    let scan = latest(&state).await?;
    let report = state
        .store
        .report(scan.id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| {
            ApiError::not_found(format!("scan {} has no report", scan.id), "start a scan")
        })?;
    let vm = report
        .vms
        .iter()
        .find(|vm| vm.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| {
            ApiError::not_found(
                format!("no VM `{id}` in the latest scan ({})", scan.id),
                "give the VM's ARM id as GET /v1/vms lists it",
            )
        })?;
    let history = state
        .store
        .vm_history(&vm.id, 60)
        .await
        .map_err(ApiError::store)?;
    Ok(Json(json!({
        "scan": { "id": scan.id, "time": scan.time },
        "vm": vm,
        "history": history,
    }))
    .into_response())
}
