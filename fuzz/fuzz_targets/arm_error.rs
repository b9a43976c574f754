//! An ARM error response as the collector's pipeline takes it (azure_core's no-retry policy,
//! which the collector configures): status, `x-ms-error-code` header and JSON error body become
//! the `HttpResponse` error whose status and code the run's gap reason names.
//!
//! Input: two bytes of status, then the header value up to the first newline, then the body.
#![no_main]

use azure_core::error::{ErrorKind, HttpError};
use azure_core::headers::{HeaderName, HeaderValue, Headers};
use azure_core::{BytesStream, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    let [high, low, rest @ ..] = data else {
        return;
    };
    let code = 400 + u16::from_be_bytes([*high, *low]) % 200;
    let Ok(status) = StatusCode::try_from(code) else {
        return;
    };
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let mut headers = Headers::new();
    headers.insert(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/json"),
    );
    if let Some(header) = header {
        headers.insert(
            HeaderName::from_static("x-ms-error-code"),
            HeaderValue::from(String::from_utf8_lossy(header).into_owned()),
        );
    }
    let response = Response::new(status, headers, Box::pin(BytesStream::new(body.to_vec())));
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    });
    let error = runtime.block_on(HttpError::new(response));
    let kind = ErrorKind::http_response(status, error.error_code().map(str::to_owned));
    let error = azure_core::Error::new(kind, error);
    match error.kind() {
        ErrorKind::HttpResponse { status: got, .. } => assert_eq!(*got, status),
        other => panic!("an error response became {other:?}"),
    }
    // The text a gap could carry: never empty.
    assert!(!error.to_string().is_empty());
});
