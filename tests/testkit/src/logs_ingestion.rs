//! A local Azure Monitor Logs Ingestion endpoint (a data collection endpoint with one data
//! collection rule), on loopback, for the export tests. It holds every request to what the real
//! service requires and what backup-doctor promises:
//!
//! - the bearer token: an RS256 JWT signed by the emulator's Entra ID issuer (its published keys),
//!   for the Azure Monitor audience, from that issuer, not expired;
//! - `POST /dataCollectionRules/{immutable id}/streams/{stream}?api-version=2023-01-01` with this
//!   rule's id and one of the streams of `tables.json`;
//! - `Content-Encoding: gzip`, and at most 1 MB (10^6 bytes) compressed and uncompressed;
//! - a JSON array of objects whose every column is one `tables.json` declares for the stream, with
//!   a value of the column's type (or null).
//!
//! Accepted rows are kept per stream for the test to read back. Answers can be made to fail a
//! number of times (429 with `Retry-After`, 503, 401, 403, 400), as the service does under load
//! or without the role. Error bodies have the service's shape, `{"error": {"code", "message"}}`.

use crate::emulator::Emulator;
use crate::loopback::{lock, Loopback};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The API version the endpoint serves.
pub const API_VERSION: &str = "2023-01-01";
/// The documented limit of one call, applied to the compressed and the uncompressed body.
pub const MAX_BYTES: usize = 1_000_000;
/// Azure Monitor's token audience in the public cloud.
pub const AUDIENCE: &str = "https://monitor.azure.com";
/// The rule immutable id the tests use.
pub const DCR: &str = "dcr-00112233445566778899aabbccddeeff";

/// How the endpoint checks requests.
#[derive(Debug, Clone)]
pub struct IngestionConfig {
    /// The one data collection rule it serves.
    pub dcr: String,
    /// The `aud` tokens must carry.
    pub audience: String,
    /// The `iss` tokens must carry.
    pub issuer: String,
    /// The signing keys (JWKS) tokens are checked against.
    pub jwks: Value,
    /// The tables' declaration: `deploy/azure/log-analytics/tables.json`.
    pub tables: PathBuf,
}

impl IngestionConfig {
    /// Tokens of `emulator`'s issuer for Azure Monitor, the tables of this repository, [`DCR`].
    pub fn for_emulator(emulator: &Emulator) -> IngestionConfig {
        IngestionConfig {
            dcr: DCR.to_owned(),
            audience: AUDIENCE.to_owned(),
            issuer: emulator.issuer().issuer_v2(),
            jwks: emulator.issuer().jwks(),
            tables: tables_json(),
        }
    }
}

/// `deploy/azure/log-analytics/tables.json` of this repository.
pub fn tables_json() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/azure/log-analytics/tables.json")
}

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub stream: String,
    pub status: u16,
    pub compressed_bytes: usize,
    /// 0 when the body could not be decompressed.
    pub uncompressed_bytes: usize,
    pub rows: usize,
    /// The token's `aud`, when it was a readable JWT.
    pub audience: Option<String>,
    /// Why the request was refused, when it was.
    pub problem: Option<String>,
}

struct Shared {
    config: IngestionConfig,
    /// stream → columns (name → type).
    streams: BTreeMap<String, BTreeMap<String, String>>,
    state: Mutex<Stored>,
}

#[derive(Default)]
struct Stored {
    rows: BTreeMap<String, Vec<Value>>,
    received: Vec<Received>,
    injected: VecDeque<Injected>,
}

#[derive(Debug, Clone)]
struct Injected {
    status: u16,
    retry_after: Option<u64>,
}

/// A running endpoint; stops when dropped.
pub struct LogsIngestion {
    url: String,
    shared: Arc<Shared>,
    server: Loopback,
}

impl LogsIngestion {
    /// Binds 127.0.0.1 on an ephemeral port and serves on the current tokio runtime.
    pub async fn start(config: IngestionConfig) -> LogsIngestion {
        let text = std::fs::read_to_string(&config.tables)
            .unwrap_or_else(|e| panic!("{}: {e}", config.tables.display()));
        let declared: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", config.tables.display()));
        let mut streams = BTreeMap::new();
        for table in declared["tables"].as_array().into_iter().flatten() {
            let columns = table["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_owned(),
                        c["type"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            streams.insert(
                table["stream"].as_str().unwrap_or_default().to_owned(),
                columns,
            );
        }
        let shared = Arc::new(Shared {
            config,
            streams,
            state: Mutex::new(Stored::default()),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("binds a loopback port");
        let url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("has an address").port()
        );
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = Loopback::serve(listener, app, "Logs Ingestion endpoint");
        LogsIngestion {
            url,
            shared,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`: the data collection endpoint's logs ingestion URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The rows accepted on `stream`, in arrival order.
    pub fn rows(&self, stream: &str) -> Vec<Value> {
        lock(&self.shared.state)
            .rows
            .get(stream)
            .cloned()
            .unwrap_or_default()
    }

    /// Every request, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.state).received.clone()
    }

    /// The next `times` requests with a valid token answer `status` (429 and 503 with
    /// `Retry-After: retry_after` when given), before any other check.
    pub fn fail_next(&self, times: usize, status: u16, retry_after: Option<u64>) {
        let mut state = lock(&self.shared.state);
        for _ in 0..times {
            state.injected.push_back(Injected {
                status,
                retry_after,
            });
        }
    }

    /// Stops serving and waits briefly for the server to end.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// An answer: status, `{"error": {"code", "message"}}` unless 204, and extra headers.
struct Answer {
    status: u16,
    error: Option<(String, String)>,
    retry_after: Option<u64>,
}

impl Answer {
    fn error(status: u16, code: &str, message: impl Into<String>) -> Answer {
        Answer {
            status,
            error: Some((code.to_owned(), message.into())),
            retry_after: None,
        }
    }

    fn into_response(self) -> Response {
        let body = match &self.error {
            Some((code, message)) => {
                json!({"error": {"code": code, "message": message}}).to_string()
            }
            None => String::new(),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        if let Some((code, _)) = &self.error {
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Ok(value) = HeaderValue::from_str(code) {
                headers.insert("x-ms-error-code", value);
            }
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(axum::http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read a little past the limit, to tell an oversized body from one at the limit.
    let bytes = to_bytes(body, 4 * MAX_BYTES).await.unwrap_or_default();
    let mut received = Received {
        stream: String::new(),
        status: 0,
        compressed_bytes: bytes.len(),
        uncompressed_bytes: 0,
        rows: 0,
        audience: None,
        problem: None,
    };
    let answer = check(
        &shared,
        &parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        &parts.headers,
        &bytes,
        &mut received,
    );
    received.status = answer.status;
    received.problem = answer.error.as_ref().map(|(_, m)| m.clone());
    lock(&shared.state).received.push(received);
    answer.into_response()
}

fn check(
    shared: &Shared,
    method: &axum::http::Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    received: &mut Received,
) -> Answer {
    let config = &shared.config;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["dataCollectionRules", dcr, "streams", stream] = segments[..] else {
        return Answer::error(404, "NotFound", format!("no such path: {path}"));
    };
    received.stream = stream.to_owned();
    if method != axum::http::Method::POST {
        return Answer::error(405, "MethodNotAllowed", "only POST is served");
    }
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return Answer::error(401, "InvalidToken", "no bearer token");
    };
    received.audience = claims_of(token).and_then(|c| c["aud"].as_str().map(str::to_owned));
    if let Err(problem) = verify(token, config) {
        return Answer::error(401, "InvalidToken", problem);
    }
    let injected = lock(&shared.state).injected.pop_front();
    if let Some(injected) = injected {
        let (code, message) = match injected.status {
            429 => ("TooManyRequests", "Request rate is too large; retry later"),
            401 => ("InvalidToken", "The token is not valid for this resource"),
            403 => (
                "OperationFailed",
                "The authentication token provided does not have access to ingest data for the data collection rule",
            ),
            400 => ("InvalidContent", "The request body is not valid"),
            _ => ("ServiceUnavailable", "The service is unavailable; retry later"),
        };
        let mut answer = Answer::error(injected.status, code, message);
        answer.retry_after = injected.retry_after;
        return answer;
    }
    if *dcr != config.dcr {
        return Answer::error(
            404,
            "DcrNotFound",
            format!("data collection rule {dcr} does not exist"),
        );
    }
    let Some(columns) = shared.streams.get(stream) else {
        return Answer::error(
            404,
            "InvalidStream",
            format!("stream {stream} is not declared by the data collection rule"),
        );
    };
    if !query
        .split('&')
        .any(|pair| pair == format!("api-version={API_VERSION}"))
    {
        return Answer::error(
            400,
            "InvalidApiVersion",
            format!("api-version={API_VERSION} is required, got `{query}`"),
        );
    }
    let gzip = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Answer::error(
            400,
            "InvalidContentEncoding",
            "this endpoint takes gzip bodies only (Content-Encoding: gzip)",
        );
    }
    if body.len() > MAX_BYTES {
        return Answer::error(
            413,
            "ContentLengthLimitExceeded",
            format!("compressed body of {} bytes over {MAX_BYTES}", body.len()),
        );
    }
    let mut plain = Vec::new();
    let read = flate2::read::GzDecoder::new(body)
        .take(4 * MAX_BYTES as u64)
        .read_to_end(&mut plain);
    if let Err(e) = read {
        return Answer::error(400, "InvalidContent", format!("not gzip: {e}"));
    }
    received.uncompressed_bytes = plain.len();
    if plain.len() > MAX_BYTES {
        return Answer::error(
            413,
            "ContentLengthLimitExceeded",
            format!(
                "uncompressed body of {} bytes over {MAX_BYTES}",
                plain.len()
            ),
        );
    }
    let rows: Vec<Value> = match serde_json::from_slice(&plain) {
        Ok(Value::Array(rows)) => rows,
        Ok(_) => return Answer::error(400, "InvalidContent", "the body is not a JSON array"),
        Err(e) => return Answer::error(400, "InvalidContent", format!("not JSON: {e}")),
    };
    for (index, row) in rows.iter().enumerate() {
        let Some(object) = row.as_object() else {
            return Answer::error(
                400,
                "InvalidContent",
                format!("row {index} is not an object"),
            );
        };
        for (name, value) in object {
            let Some(kind) = columns.get(name) else {
                return Answer::error(
                    400,
                    "InvalidContent",
                    format!("row {index}: column {name} is not declared for {stream}"),
                );
            };
            if let Err(problem) = of_type(value, kind) {
                return Answer::error(
                    400,
                    "InvalidContent",
                    format!("row {index}: column {name} ({kind}): {problem}"),
                );
            }
        }
    }
    received.rows = rows.len();
    lock(&shared.state)
        .rows
        .entry(stream.to_owned())
        .or_default()
        .extend(rows);
    Answer {
        status: 204,
        error: None,
        retry_after: None,
    }
}

/// Whether `value` is one of a Log Analytics column of `kind` (null always is).
fn of_type(value: &Value, kind: &str) -> Result<(), String> {
    let ok = match (kind, value) {
        (_, Value::Null) => true,
        ("string" | "guid", Value::String(_)) => true,
        ("boolean", Value::Bool(_)) => true,
        ("int", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        ("long", Value::Number(n)) => n.is_i64(),
        ("real", Value::Number(_)) => true,
        ("dynamic", Value::Array(_) | Value::Object(_)) => true,
        ("datetime", Value::String(text)) => return rfc3339(text),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{value} is no {kind}"))
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn rfc3339(text: &str) -> Result<(), String> {
    let bad = || Err(format!("`{text}` is not an RFC 3339 time"));
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return bad();
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return bad();
        }
        rest = &fraction[end..];
    }
    let zone = rest.as_bytes();
    let offset = zone.len() == 6
        && matches!(zone[0], b'+' | b'-')
        && zone[1..3].iter().all(u8::is_ascii_digit)
        && zone[3] == b':'
        && zone[4..6].iter().all(u8::is_ascii_digit);
    if rest.eq_ignore_ascii_case("z") || offset {
        Ok(())
    } else {
        bad()
    }
}

fn claims_of(token: &str) -> Option<Value> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// The token's RS256 signature against the published keys, and its audience, issuer and times.
fn verify(token: &str, config: &IngestionConfig) -> Result<(), String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("the token is not a JWT".into());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let header: Value = decode(header)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the token's header is not JSON")?;
    if header["alg"] != "RS256" {
        return Err(format!("alg {} is not RS256", header["alg"]));
    }
    let kid = header["kid"].as_str().unwrap_or_default();
    let key = config.jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"] == kid)
        .ok_or_else(|| format!("key {kid} is not published by the issuer"))?;
    let component = |name: &str| {
        key[name]
            .as_str()
            .and_then(decode)
            .ok_or_else(|| format!("key {kid} has no {name}"))
    };
    let public = RsaPublicKeyComponents {
        n: component("n")?,
        e: component("e")?,
    };
    let signature = decode(signature).ok_or("the signature is not base64url")?;
    let signed = &token[..token.rfind('.').unwrap_or_default()];
    public
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
        .map_err(|_| "the token's signature does not verify".to_string())?;
    let claims = decode(claims)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or("the token's claims are not JSON")?;
    let audience = claims["aud"].as_str().unwrap_or_default();
    if audience.trim_end_matches('/') != config.audience.trim_end_matches('/') {
        return Err(format!(
            "audience {audience} is not {}: a token for another resource",
            config.audience
        ));
    }
    if claims["iss"] != config.issuer.as_str() {
        return Err(format!("issuer {} is not trusted", claims["iss"]));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err("the token has expired".into());
    }
    if claims["nbf"].as_i64().is_some_and(|nbf| nbf > now + 300) {
        return Err("the token is not valid yet".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_are_checked_as_log_analytics_reads_them() {
        assert!(of_type(&json!("2026-01-02T03:04:05Z"), "datetime").is_ok());
        assert!(of_type(&json!("2026-01-02T03:04:05.123+01:00"), "datetime").is_ok());
        assert!(of_type(&json!("2026-01-02 03:04:05"), "datetime").is_err());
        assert!(of_type(&json!("yesterday"), "datetime").is_err());
        assert!(of_type(&json!(3), "int").is_ok());
        assert!(of_type(&json!(3.5), "int").is_err());
        assert!(of_type(&json!("3"), "int").is_err());
        assert!(of_type(&json!(true), "boolean").is_ok());
        assert!(of_type(&json!("true"), "boolean").is_err());
        assert!(of_type(&json!([1]), "dynamic").is_ok());
        assert!(of_type(&json!("[1]"), "dynamic").is_err());
        assert!(of_type(&Value::Null, "string").is_ok());
        assert!(of_type(&json!(1), "string").is_err());
    }
}
