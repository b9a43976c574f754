//! The one HTTP client every live request goes through: the SDK clients, the raw list reads,
//! Microsoft Graph and the credential's token requests.
//!
//! The `azure_core` default client has no timeout (a server that accepts a request and never
//! answers holds that read, and the scan, for ever) and follows redirects. A redirect keeps a
//! token request's body, the client secret or assertion, even to another host, and the host
//! guard never sees the redirected request. So: a timeout on each call, body included, and no
//! redirects at all; a 3xx comes back as it is, and the read it answered becomes a gap.

use azure_core::HttpClient;
use std::sync::Arc;
use std::time::Duration;

/// How long one call may take, from connecting to the last byte of the body, when nothing else
/// is configured: ARM's own gateway gives up on a request after about a minute.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Connecting takes a round trip or two; a host that does not accept in this time is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The client, with `call_timeout` on each call.
pub fn http_client(call_timeout: Duration) -> Result<Arc<dyn HttpClient>, String> {
    let client = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(call_timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(call_timeout))
        // As azure_core's own client: idle pooled connections make hyper hang in some cases
        // (hyperium/hyper#2312).
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    Ok(Arc::new(client))
}

/// Whether `error` (from a call through [`http_client`]) is the call timing out.
pub fn is_timeout(error: &azure_core::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(reqwest) = current.downcast_ref::<reqwest::Error>() {
            if reqwest.is_timeout() {
                return true;
            }
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        source = current.source();
    }
    false
}

/// `error` with its innermost cause, for a gap's reason: azure_core's own messages ("failed to
/// execute `reqwest` request") say nothing of what broke.
pub fn described(error: &azure_core::Error) -> String {
    let mut current: &(dyn std::error::Error + 'static) = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let (outer, inner) = (error.to_string(), current.to_string());
    if outer == inner {
        outer
    } else {
        format!("{outer}: {inner}")
    }
}
