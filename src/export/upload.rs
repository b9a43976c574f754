//! The requests: each table's rows as JSON arrays of at most [`MAX_BODY_BYTES`] uncompressed,
//! gzipped, POSTed to the table's stream with the bearer token; 429 and 5xx answers (and
//! connections that fail) are tried again after the `Retry-After` the service names, or a
//! doubling back-off, within [`MAX_ATTEMPTS`] per request and [`RETRY_BUDGET`] of waiting in all.
//! Any other answer stops the export with the service's own message.

use super::rows::{finding_rows, vm_rows, Stamp, FINDING_COLUMNS, VM_COLUMNS};
use super::tables::{self, FINDINGS, VMS};
use super::LogAnalytics;
use crate::outcome::Report;
use azure_core::auth::{AccessToken, TokenCredential};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;
use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The Logs Ingestion API takes at most 1 MB per call, compressed or not (Azure Monitor service
/// limits); the uncompressed body is held to it, so the compressed one is too. 1 MB is read as
/// 10^6 bytes, the smaller reading.
pub const MAX_BODY_BYTES: usize = 1_000_000;
/// Tries of one request, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// The longest the export waits between tries, summed over its requests: past it, it gives up
/// rather than hold a nightly job or a service's scan slot.
pub const RETRY_BUDGET: Duration = Duration::from_secs(300);
/// The longest one wait; a `Retry-After` beyond it is cut to it.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// One request, connecting and answering.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Renew the token when it expires sooner than this.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

/// What an export sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub scan_id: String,
    pub vm_rows: usize,
    pub finding_rows: usize,
    /// POSTs that succeeded (one per batch).
    pub requests: usize,
    /// Answers that were tried again (429, 5xx, failed connections).
    pub retries: usize,
}

/// Why an export stopped: the stream, the HTTP status if an answer came, and the service's
/// message. Rows of earlier batches may have been accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub endpoint: String,
    pub stream: Option<String>,
    pub status: Option<u16>,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Log Analytics export to {}", self.endpoint)?;
        if let Some(stream) = &self.stream {
            write!(f, ", stream {stream}")?;
        }
        if let Some(status) = self.status {
            write!(f, ": HTTP {status}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Sends `report`'s rows, VMs first, then findings.
pub async fn send(
    target: &LogAnalytics,
    credential: Arc<dyn TokenCredential>,
    report: &Report,
    stamp: &Stamp,
) -> Result<Exported, Failure> {
    let fail = |stream: Option<&str>, status: Option<u16>, message: String| Failure {
        endpoint: target.endpoint().to_owned(),
        stream: stream.map(str::to_owned),
        status,
        message,
    };
    let declared = tables::declared().map_err(|m| fail(None, None, m))?;
    let vms = declared.table(VMS).map_err(|m| fail(None, None, m))?;
    let findings = declared.table(FINDINGS).map_err(|m| fail(None, None, m))?;
    for (table, columns) in [(vms, VM_COLUMNS), (findings, FINDING_COLUMNS)] {
        if table.columns() != columns {
            return Err(fail(
                Some(&table.stream),
                None,
                format!(
                    "this build's rows do not match the columns {} declares for {}",
                    tables::FILE,
                    table.table
                ),
            ));
        }
    }
    let client = reqwest::Client::builder()
        // A response naming another URL must not receive the token.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| fail(None, None, format!("cannot build the HTTP client: {e}")))?;
    let mut session = Session {
        target,
        credential,
        client,
        token: None,
        waited: Duration::ZERO,
        requests: 0,
        retries: 0,
    };
    let vm_rows = vm_rows(report, stamp);
    let finding_rows = finding_rows(report, stamp);
    for (stream, rows) in [(&vms.stream, &vm_rows), (&findings.stream, &finding_rows)] {
        let bodies = batches(rows).map_err(|m| fail(Some(stream), None, m))?;
        for body in bodies {
            session
                .post(stream, &body)
                .await
                .map_err(|(status, message)| fail(Some(stream), status, message))?;
        }
    }
    Ok(Exported {
        scan_id: stamp.scan_id.clone(),
        vm_rows: vm_rows.len(),
        finding_rows: finding_rows.len(),
        requests: session.requests,
        retries: session.retries,
    })
}

/// The rows as JSON array bodies of at most [`MAX_BODY_BYTES`] each, in order.
pub fn batches(rows: &[Value]) -> Result<Vec<Vec<u8>>, String> {
    let mut bodies = Vec::new();
    let mut body = Vec::with_capacity(64 * 1024);
    for row in rows {
        let text = serde_json::to_vec(row).map_err(|e| format!("cannot write a row: {e}"))?;
        // "[" + row + "]": a row that does not fit alone cannot be sent at all.
        if text.len() + 2 > MAX_BODY_BYTES {
            return Err(format!(
                "a row is {} bytes, more than the {MAX_BODY_BYTES} one request may carry",
                text.len()
            ));
        }
        if !body.is_empty() && body.len() + 1 + text.len() + 1 > MAX_BODY_BYTES {
            body.push(b']');
            bodies.push(std::mem::take(&mut body));
        }
        body.push(if body.is_empty() { b'[' } else { b',' });
        body.extend_from_slice(&text);
    }
    if !body.is_empty() {
        body.push(b']');
        bodies.push(body);
    }
    Ok(bodies)
}

struct Session<'a> {
    target: &'a LogAnalytics,
    credential: Arc<dyn TokenCredential>,
    client: reqwest::Client,
    token: Option<AccessToken>,
    waited: Duration,
    requests: usize,
    retries: usize,
}

impl Session<'_> {
    /// A token for Azure Monitor, renewed when it is about to expire.
    async fn token(&mut self) -> Result<String, (Option<u16>, String)> {
        let fresh = self
            .token
            .as_ref()
            .is_some_and(|token| token.expires_on - time::OffsetDateTime::now_utc() > TOKEN_MARGIN);
        if !fresh {
            let scope = self.target.scope();
            let token = self
                .credential
                .get_token(&[scope.as_str()])
                .await
                .map_err(|e| (None, format!("cannot get a token for {scope}: {e}")))?;
            self.token = Some(token);
        }
        Ok(self
            .token
            .as_ref()
            .map(|t| t.token.secret().to_owned())
            .unwrap_or_default())
    }

    /// POSTs one batch, trying again on 429, 5xx and failed connections.
    async fn post(&mut self, stream: &str, body: &[u8]) -> Result<(), (Option<u16>, String)> {
        let url = self.target.stream_url(stream);
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        let compressed = encoder
            .write_all(body)
            .and_then(|_| encoder.finish())
            .map_err(|e| (None, format!("cannot compress the rows: {e}")))?;
        let mut attempt = 1;
        loop {
            let token = self.token().await?;
            let started = Instant::now();
            let answer = self
                .client
                .post(url.clone())
                .bearer_auth(&token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::CONTENT_ENCODING, "gzip")
                .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
                .body(compressed.clone())
                .send()
                .await;
            let (status, wait, problem) = match answer {
                Ok(response) if response.status().is_success() => {
                    tracing::debug!(
                        stream,
                        bytes = body.len(),
                        gzip_bytes = compressed.len(),
                        status = response.status().as_u16(),
                        seconds = started.elapsed().as_secs_f64(),
                        "rows accepted"
                    );
                    self.requests += 1;
                    return Ok(());
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let wait = retry_after(response.headers());
                    let code = response
                        .headers()
                        .get("x-ms-error-code")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let text = error_body(response).await;
                    let message = without_token(azure_message(&text, code.as_deref()), &token);
                    if status != 429 && status < 500 {
                        return Err((Some(status), message));
                    }
                    (Some(status), wait, message)
                }
                Err(error) => (
                    None,
                    None,
                    format!("request failed: {}", without_url(&error)),
                ),
            };
            let wait = wait
                .unwrap_or_else(|| Duration::from_secs(1 << (attempt - 1).min(5)))
                .min(MAX_WAIT);
            if attempt >= MAX_ATTEMPTS || self.waited + wait > RETRY_BUDGET {
                return Err((status, format!("{problem} (gave up after {attempt} tries)")));
            }
            tracing::warn!(
                stream,
                status = status.map(i64::from).unwrap_or(-1),
                wait_seconds = wait.as_secs_f64(),
                attempt,
                problem = %problem,
                "Log Analytics asked to try again"
            );
            tokio::time::sleep(wait).await;
            self.waited += wait;
            self.retries += 1;
            attempt += 1;
        }
    }
}

/// `Retry-After` (seconds) or the millisecond forms Azure services send too, cut to
/// [`MAX_WAIT`] before it becomes a `Duration` (which panics on a value it cannot hold).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let seconds = number("retry-after-ms")
        .or_else(|| number("x-ms-retry-after-ms"))
        .map(|ms| ms / 1000.0)
        .or_else(|| number("retry-after"))?;
    Some(Duration::from_secs_f64(seconds.min(MAX_WAIT.as_secs_f64())))
}

/// The most of an error answer's body read for its message: the service's JSON error is a few
/// hundred bytes, and a body without end must not hold the run.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The start of an error answer's body, at most [`MAX_ERROR_BODY`] bytes.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The service's message: `error.message` of its JSON error (with the code), else the error-code
/// header, else the start of the body.
fn azure_message(body: &str, code_header: Option<&str>) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        let error = value.get("error").unwrap_or(&value);
        let text = |key: &str| error.get(key).and_then(Value::as_str);
        if let Some(message) = text("message") {
            return match text("code").or(code_header) {
                Some(code) => format!("{code}: {message}"),
                None => message.to_owned(),
            };
        }
    }
    let body: String = body.trim().chars().take(500).collect();
    match (code_header, body.is_empty()) {
        (Some(code), true) => code.to_owned(),
        (Some(code), false) => format!("{code}: {body}"),
        (None, true) => "no message in the answer".into(),
        (None, false) => body,
    }
}

/// `message` with the bearer token taken out: an endpoint (or a proxy in front of it) that echoes
/// the request in its error message would otherwise put the token in the log and on stderr. The
/// signature alone is taken out too, as a message cut short may keep only the token's end.
fn without_token(message: String, token: &str) -> String {
    let mut message = message;
    let signature = token.rsplit('.').next().filter(|s| s.len() >= 16);
    for secret in [Some(token), signature].into_iter().flatten() {
        if !secret.is_empty() && message.contains(secret) {
            message = message.replace(secret, "[token]");
        }
    }
    message
}

/// reqwest's error text without the URL it appends (the URL is named by the caller already).
fn without_url(error: &reqwest::Error) -> String {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    let mut parts = Vec::new();
    while let Some(e) = cause {
        parts.push(e.to_string());
        cause = e.source();
    }
    let text = parts.join(": ");
    match error.url() {
        Some(url) => text.replace(&format!(" ({url})"), ""),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batches_split_rows_in_order_and_each_body_is_a_json_array_within_the_limit() {
        let row = json!({"Message": "x".repeat(3000)});
        let rows = vec![row; 1000];
        let bodies = batches(&rows).unwrap();
        assert!(bodies.len() >= 3, "{}", bodies.len());
        let mut count = 0;
        for body in &bodies {
            assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
            count += serde_json::from_slice::<Vec<Value>>(body).unwrap().len();
        }
        assert_eq!(count, 1000);
        assert!(batches(&[]).unwrap().is_empty());
        let huge = json!({"Message": "x".repeat(MAX_BODY_BYTES)});
        assert!(batches(&[huge]).unwrap_err().contains("more than"));
    }

    #[test]
    fn the_services_message_is_read_from_its_error_shape() {
        assert_eq!(
            azure_message(
                r#"{"error":{"code":"InvalidStream","message":"Stream Custom-X not found"}}"#,
                None
            ),
            "InvalidStream: Stream Custom-X not found"
        );
        assert_eq!(azure_message("", Some("Forbidden")), "Forbidden");
        assert_eq!(azure_message("oops", None), "oops");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        // Far past what a Duration holds: cut to the longest wait, not a panic.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "1e300".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(MAX_WAIT));
        headers.insert("x-ms-retry-after-ms", "1e300".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(MAX_WAIT));
    }
}
