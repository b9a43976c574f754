//! The HTTP API (`/v1`, described by `/v1/openapi.json`), the health and metrics endpoints and
//! the dashboard, on one axum router: the authorization every route needs, the request body
//! limit, and the one error shape (`{"error": {"code", "message", "fix"}}`) every failure has.

mod check;
mod dashboard;
mod health;
mod scans;
mod vms;

use super::check::Checker;
use super::config::Config;
use super::logging::{self, CallerId};
use super::metrics::Metrics;
use super::openapi;
use super::scheduler::Scanner;
use crate::auth::{AuthError, Caller, Role, Verifier};
use crate::engine::RuleSet;
use crate::store::Store;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What every handler shares.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub verifier: Option<Verifier>,
    pub scanner: Arc<Scanner>,
    pub checker: Arc<Checker>,
    pub metrics: Arc<Metrics>,
    /// The rules, for the formats that list them (SARIF, JUnit) when a stored scan is rendered.
    pub rules: RuleSet,
}

pub type Shared = Arc<AppState>;

pub fn router(state: Shared) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/", get(dashboard::latest))
        .route("/history", get(dashboard::history))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/v1/vms", get(vms::list))
        .route("/v1/vms/{*id}", get(vms::one))
        .route("/v1/scans", get(scans::list).post(scans::start))
        .route("/v1/scans/runs/{run}", get(scans::run))
        .route("/v1/scans/{id}", get(scans::one))
        .route("/v1/check", post(check::check))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authorize,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(logging::request))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint",
        "see /v1/openapi.json for the endpoints",
    )
}

/// What a route needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Reader,
    Operator,
}

/// The role a request needs: operator for the POSTs, reader for the rest, nothing for the
/// OpenAPI document and for the health and metrics endpoints the configuration leaves open.
pub fn needs(method: &Method, path: &str, config: &Config) -> Needs {
    match path {
        "/v1/openapi.json" => Needs::Nothing,
        "/healthz" | "/readyz" if config.open_health => Needs::Nothing,
        "/metrics" if config.open_metrics => Needs::Nothing,
        _ if method == Method::POST => Needs::Operator,
        _ => Needs::Reader,
    }
}

async fn authorize(State(state): State<Shared>, mut request: Request, next: Next) -> Response {
    let needed = needs(request.method(), request.uri().path(), &state.config);
    let (Some(verifier), Some(settings)) = (&state.verifier, &state.config.auth) else {
        // Authentication is off (loopback only, said at start): everyone is the operator.
        request
            .extensions_mut()
            .insert(CallerId("anonymous".into()));
        let mut response = next.run(request).await;
        response
            .extensions_mut()
            .insert(CallerId("anonymous".into()));
        return response;
    };
    if needed == Needs::Nothing {
        return next.run(request).await;
    }
    let header_value = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or("(not text)"));
    let verified = match crate::auth::bearer_token(header_value) {
        Ok(bearer) => verifier.verify(bearer).await,
        Err(error) => Err(error),
    };
    let caller: Caller = match verified {
        Ok(caller) => caller,
        Err(error) => return unauthorized(&error),
    };
    let id = CallerId(caller.object_id.clone());
    let allowed = match needed {
        Needs::Nothing => true,
        // `has` counts the operator role as reading too.
        Needs::Reader => caller.has(Role::Reader, settings),
        Needs::Operator => caller.has(Role::Operator, settings),
    };
    let mut response = if allowed {
        request.extensions_mut().insert(id.clone());
        next.run(request).await
    } else {
        let role = match needed {
            Needs::Operator => &settings.operator_role,
            _ => &settings.reader_role,
        };
        let mut forbidden = ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the token has no `{role}` role"),
            format!("assign the app role `{role}` to the caller in Entra ID"),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&crate::auth::insufficient_role(role)) {
            forbidden
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        forbidden
    };
    response.extensions_mut().insert(id);
    response
}

/// 401 with `WWW-Authenticate`, or 503 when the tenant's keys cannot be fetched (the token
/// may be fine: the caller should retry).
fn unauthorized(error: &AuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let (code, fix) = if status == StatusCode::UNAUTHORIZED {
        (
            "unauthorized",
            "send an Entra ID access token for this API in `Authorization: Bearer …`",
        )
    } else {
        ("keys_unavailable", "retry later")
    };
    let mut response = ApiError::new(status, code, error.to_string(), fix).into_response();
    if let Ok(value) = HeaderValue::from_str(&error.www_authenticate()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A failed request: its status and the error document.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fix: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>, fix: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message, fix)
    }

    pub fn not_found(message: impl Into<String>, fix: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message, fix)
    }

    /// The store failed: the details go to the log, not to the caller.
    pub fn store(error: crate::error::Error) -> ApiError {
        tracing::error!(%error, "store request failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the store cannot answer now",
            "retry later; the service's log says why",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "fix": self.fix }
        });
        (self.status, Json(body)).into_response()
    }
}

/// The query string as parameters, refusing the unknown and the repeated ones.
pub fn query(raw: Option<&str>, known: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let mut parameters = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !known.contains(&name.as_ref()) {
            return Err(ApiError::bad_request(
                format!("unknown query parameter `{name}`"),
                format!("use {}", known.join(", ")),
            ));
        }
        if parameters
            .insert(name.to_string(), value.to_string())
            .is_some()
        {
            return Err(ApiError::bad_request(
                format!("query parameter `{name}` is given twice"),
                "give it once",
            ));
        }
    }
    Ok(parameters)
}

/// A whole-number query parameter within `range`, or `default` when absent.
pub fn number(
    parameters: &BTreeMap<String, String>,
    name: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    let Some(text) = parameters.get(name) else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(ApiError::bad_request(
            format!("query parameter `{name}` is `{text}`"),
            format!(
                "give a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        assert!(query(Some("verdict=fail&limit=2"), &["verdict", "limit"]).is_ok());
        let error = query(Some("verdcit=fail"), &["verdict"]).unwrap_err();
        assert!(error.message.contains("verdcit"));
        assert!(query(Some("limit=1&limit=2"), &["limit"]).is_err());
        let parameters = query(Some("limit=0"), &["limit"]).unwrap();
        assert!(number(&parameters, "limit", 100, 1..=500).is_err());
    }
}
