//! `POST /v1/check`: the readiness check for the VMs of the body, read live.

use super::{ApiError, Shared};
use crate::error::Error;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::time::Instant;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    /// ARM ids of the VMs.
    vms: Vec<String>,
    vault: Option<String>,
    policy: Option<String>,
}

pub async fn check(State(state): State<Shared>, body: Bytes) -> Response {
    let started = Instant::now();
    let answer = answer(&state, &body).await;
    let outcome = match &answer {
        Ok(_) => "ok",
        Err(error) if error.status.is_client_error() => "bad_request",
        Err(_) => "error",
    };
    state.metrics.check_answered(outcome, started.elapsed());
    match answer {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn answer(state: &Shared, body: &[u8]) -> Result<Response, ApiError> {
    let request: CheckRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            format!("the body is not a check request: {e}"),
            r#"send {"vms": ["/subscriptions/…/virtualMachines/NAME"], "vault": "…" (optional), "policy": "standard" (optional)}"#,
        )
    })?;
    let max = state.config.check.max_vms;
    if request.vms.is_empty() || request.vms.len() > max {
        return Err(ApiError::bad_request(
            format!("`vms` names {} VMs", request.vms.len()),
            format!("name 1 to {max} VMs by ARM id; scan the fleet for more"),
        ));
    }
    if let Err(id) = crate::serve::check::Checker::subscriptions(&request.vms) {
        return Err(ApiError::bad_request(
            format!("`{id}` is not a VM's ARM id"),
            "give /subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/virtualMachines/NAME",
        ));
    }
    let checked = state
        .checker
        .check(request.vms, request.vault, request.policy)
        .await
        .map_err(|error| match error {
            Error::Usage(detail) | Error::Input(detail) => {
                ApiError::bad_request(detail.problem.clone(), detail.fix.clone())
            }
            Error::Runtime(detail) => {
                tracing::error!(problem = %detail.problem, "check failed");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "read_failed",
                    detail.problem.clone(),
                    detail.fix.clone(),
                )
            }
        })?;
    tracing::info!(
        vms = checked.report.summary.vms,
        arm_calls = checked.arm.calls,
        cached_subscriptions = checked.cached,
        "check answered"
    );
    Ok((
        [("x-arm-calls", checked.arm.calls.to_string())],
        Json(checked.report),
    )
        .into_response())
}
