//! Logs of the service: one line per request (method, path, status, latency, the caller's object
//! id) and, from the scheduler, one per scan. The query string is left out (it can carry ids a
//! log need not keep) and headers are never logged, so a token cannot reach the log.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The object id of the caller, for the request log (set by the authorization middleware on the
/// response, read here).
#[derive(Debug, Clone)]
pub struct CallerId(pub String);

pub async fn request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let caller = response
        .extensions()
        .get::<CallerId>()
        .map(|CallerId(id)| id.as_str())
        .unwrap_or("-");
    tracing::info!(
        target: "backup_doctor::serve::request",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        caller,
        "request"
    );
    response
}
