//! `GET /v1/scans`, `GET /v1/scans/{id}` (the stored report in any format the CLI writes),
//! `POST /v1/scans` (start one now) and `GET /v1/scans/runs/{run}` (how a started one went).

use super::{number, query, ApiError, CallerId, Shared};
use crate::render::{self, Document, Format};
use crate::serve::scheduler::Busy;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub async fn list(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let parameters = query(raw.as_deref(), &["limit"])?;
    let limit = number(&parameters, "limit", 30, 1..=1000)?;
    let scans = state.store.scans(limit).await.map_err(ApiError::store)?;
    Ok(Json(json!({ "scans": scans })).into_response())
}

/// The formats by name (`?format=`) and media type (`Accept`), with the media type answered.
const FORMATS: &[(&str, Format, &str)] = &[
    ("json", Format::Json, "application/json"),
    ("html", Format::Html, "text/html; charset=utf-8"),
    ("csv", Format::Csv, "text/csv; charset=utf-8"),
    ("sarif", Format::Sarif, "application/sarif+json"),
    ("junit", Format::Junit, "application/xml"),
    ("markdown", Format::Markdown, "text/markdown; charset=utf-8"),
    ("console", Format::Console, "text/plain; charset=utf-8"),
];

/// The format `?format=` names, else the first of `Accept` the API writes, else JSON.
fn format(parameter: Option<&String>, headers: &HeaderMap) -> Result<usize, ApiError> {
    if let Some(name) = parameter {
        return FORMATS
            .iter()
            .position(|(known, _, _)| known.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ApiError::bad_request(
                    format!("`{name}` is not a report format"),
                    "use json, html, csv, sarif, junit, markdown or console",
                )
            });
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("*/*");
    for wanted in accept.split(',') {
        let media = wanted
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media == "*/*" || media == "application/*" {
            return Ok(0);
        }
        let aliases: &[(&str, usize)] = &[
            ("application/json", 0),
            ("text/html", 1),
            ("text/csv", 2),
            ("application/sarif+json", 3),
            ("application/xml", 4),
            ("application/junit+xml", 4),
            ("text/xml", 4),
            ("text/markdown", 5),
            ("text/plain", 6),
            ("text/*", 6),
        ];
        if let Some((_, index)) = aliases.iter().find(|(alias, _)| *alias == media) {
            return Ok(*index);
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "not_acceptable",
        format!("no report format matches `Accept: {accept}`"),
        "accept application/json, text/html, text/csv, application/sarif+json, application/xml, text/markdown or text/plain, or give ?format=",
    ))
}

pub async fn one(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let parameters = query(raw.as_deref(), &["format"])?;
    let chosen = format(parameters.get("format"), &headers)?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_request(
            format!("`{id}` is not a scan id"),
            "give the number GET /v1/scans lists",
        )
    })?;
    let report = state
        .store
        .report(id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| {
            ApiError::not_found(
                format!("no scan {id} in the store"),
                "GET /v1/scans lists the scans kept",
            )
        })?;
    let (_, format, media) = FORMATS[chosen];
    let rules = &state.rules;
    let text = render::render(
        &Document::Scan {
            report: &report,
            rules,
        },
        format,
        false,
    )
    .map_err(|e| ApiError::bad_request(e.to_string(), "use another format"))?;
    let mut response = ([(header::CONTENT_TYPE, media)], text).into_response();
    if format == Format::Html {
        if let Ok(policy) = render::html::content_security_policy().parse() {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    Ok(response)
}

pub async fn start(
    State(state): State<Shared>,
    caller: Option<Extension<CallerId>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // Nothing to say in a body yet: an empty body or `{}` only, so a future option is not
    // silently ignored by an older server.
    let text = String::from_utf8_lossy(&body);
    if !text.trim().is_empty() && text.trim() != "{}" {
        return Err(ApiError::bad_request(
            "POST /v1/scans takes no options",
            "send an empty body or {}",
        ));
    }
    let caller = caller.map(|Extension(CallerId(id))| id).unwrap_or_default();
    match state.scanner.start(caller).await {
        Ok(run) => {
            let location = format!("/v1/scans/runs/{}", run.run);
            Ok((
                StatusCode::ACCEPTED,
                [(header::LOCATION, location)],
                Json(run),
            )
                .into_response())
        }
        Err(Busy::Running) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "scan_running",
            "a scan of this store is running",
            "wait for it to finish (GET /v1/scans lists it when it is recorded)",
        )),
        Err(Busy::Store(error)) => Err(ApiError::store(error)),
    }
}

pub async fn run(
    State(state): State<Shared>,
    Path(run): Path<String>,
) -> Result<Response, ApiError> {
    state
        .scanner
        .run(&run)
        .map(|run| Json(run).into_response())
        .ok_or_else(|| {
            ApiError::not_found(
                format!("no run `{run}` started here"),
                "use the Location POST /v1/scans answered, on the replica that answered it",
            )
        })
}
