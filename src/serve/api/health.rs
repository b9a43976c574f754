//! `/healthz` (the process answers), `/readyz` (the store answers and the schedule is not
//! behind) and `/metrics`.

use super::Shared;
use crate::serve::scheduler;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<Shared>) -> Response {
    let mut problems = Vec::new();
    if let Err(error) = state.store.ping().await {
        tracing::warn!(%error, "readiness: the store does not answer");
        problems.push("the store does not answer".to_string());
    } else if let Some(schedule) = &state.config.schedule {
        match state.scanner.latest_scheduled_slot().await {
            Ok(done) if scheduler::overdue(schedule, done, chrono::Utc::now()) => {
                problems.push("the latest scheduled scan is overdue".to_string());
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "readiness: cannot read the latest scheduled scan");
                problems.push("cannot read the latest scheduled scan".to_string());
            }
        }
    }
    if problems.is_empty() {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "problems": problems })),
        )
            .into_response()
    }
}

pub async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
