//! Where a request may go. Every request the collector sends carries a bearer token, and some of
//! their URLs come from a response (`nextLink`, and any `Location`, `Azure-AsyncOperation` or key
//! URI a future read might follow). A response that names another host must not make the
//! collector hand that host the token, so every request is held to the configured endpoints:
//! the same scheme, host and port as ARM (which also serves Resource Graph), Microsoft Graph or
//! the token authority. Anything else is never sent; the read fails with the reason, and the
//! collector records a gap for it like any other failed read.
//!
//! The check sits in the `azure_core` pipeline of every SDK client and raw read, the Microsoft
//! Graph query included (`HostGuard`, in front of the throttle, so a refused request costs no
//! read budget). The HTTP client under them follows no redirect (`live::transport`), so no
//! request leaves for a host the guard did not see.

use async_trait::async_trait;
use azure_core::{Context, Policy, PolicyResult, Request};
use std::sync::Arc;
use url::{Host, Url};

/// The configured endpoints' origins.
#[derive(Debug, Clone)]
pub struct HostGuard {
    allowed: Vec<Origin>,
}

/// What two URLs must share for one to receive what was meant for the other. The host is kept as
/// the URL parser normalised it (lower-case names, canonical IP addresses), and compared as such:
/// a name and the address it resolves to are different hosts here, since the check cannot know
/// what a name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: Host<String>,
    port: Option<u16>,
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        let host = match url.host()? {
            // Names of special schemes (http, https) are lower-cased by the parser; others are
            // not, and DNS names are case-insensitive whatever the scheme.
            Host::Domain(name) => Host::Domain(name.to_ascii_lowercase()),
            Host::Ipv4(address) => Host::Ipv4(address),
            Host::Ipv6(address) => Host::Ipv6(address),
        };
        Some(Origin {
            scheme: url.scheme().to_ascii_lowercase(),
            host,
            port: url.port_or_known_default(),
        })
    }
}

impl HostGuard {
    /// The guard that lets requests go to `endpoints` (ARM, Microsoft Graph, the authority).
    pub fn new<'a>(endpoints: impl IntoIterator<Item = &'a Url>) -> HostGuard {
        let mut allowed: Vec<Origin> = Vec::new();
        for origin in endpoints.into_iter().filter_map(Origin::of) {
            if !allowed.contains(&origin) {
                allowed.push(origin);
            }
        }
        HostGuard { allowed }
    }

    /// `Ok` when `url` is on a configured endpoint; otherwise the error that says which host it
    /// named, for the gap. `what` says where the URL came from ("nextLink", …).
    pub fn check(&self, url: &Url, what: &str) -> Result<(), azure_core::Error> {
        match Origin::of(url) {
            Some(origin) if self.allowed.contains(&origin) => Ok(()),
            _ => Err(azure_core::Error::message(
                azure_core::error::ErrorKind::Other,
                format!(
                    "{what} points to another host: {}; not followed, since the token is sent \
                     only to the configured ARM, Microsoft Graph and authority endpoints",
                    shown(url)
                ),
            )),
        }
    }
}

/// The part of a refused URL a report may show: scheme, host and port. Never the user info (a
/// crafted link can carry a password there) nor the path and query.
fn shown(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        (None, _) => format!("a `{}:` URL without a host", url.scheme()),
    }
}

#[async_trait]
impl Policy for HostGuard {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        // The first request of every read is built from a configured endpoint, so a request
        // refused here took its URL from a response: an SDK pager's nextLink, in practice.
        self.check(request.url(), "a nextLink or other URL from a response")?;
        next[0].send(ctx, request, &next[1..]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::headers::Headers;
    use azure_core::{Method, Response, StatusCode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn guard() -> HostGuard {
        HostGuard::new([
            &url("https://management.azure.com"),
            &url("https://graph.microsoft.com/"),
            &url("https://login.microsoftonline.com"),
            &url("http://127.0.0.1:8080/base/"),
        ])
    }

    #[test]
    fn the_configured_endpoints_pass_whatever_the_path_and_spelling() {
        let guard = guard();
        for allowed in [
            "https://management.azure.com/subscriptions?api-version=2021-01-01&$skiptoken=5",
            "https://management.azure.com:443/subscriptions",
            "HTTPS://MANAGEMENT.AZURE.COM/subscriptions",
            "https://Management.Azure.Com/providers/Microsoft.ResourceGraph/resources",
            "https://graph.microsoft.com/v1.0/servicePrincipals",
            "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
            "http://127.0.0.1:8080/other/path",
            // The same address in another notation is the same host.
            "http://2130706433:8080/",
            // Same origin; the user info does not change where the request goes.
            "https://user:pw@management.azure.com/subscriptions",
        ] {
            assert!(guard.check(&url(allowed), "nextLink").is_ok(), "{allowed}");
        }
    }

    #[test]
    fn any_other_scheme_host_or_port_is_refused_and_named() {
        let guard = guard();
        for (refused, named) in [
            ("https://evil.example/subscriptions", "https://evil.example"),
            (
                "http://management.azure.com/",
                "http://management.azure.com",
            ),
            (
                "https://management.azure.com:8443/",
                "https://management.azure.com:8443",
            ),
            ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
            ("http://127.0.0.2:8080/", "http://127.0.0.2:8080"),
            ("http://localhost:8080/", "http://localhost:8080"),
            ("https://127.0.0.1:8080/", "https://127.0.0.1:8080"),
            (
                "https://management.azure.com@evil.example/",
                "https://evil.example",
            ),
            (
                "https://management.azure.com:443@evil.example/",
                "https://evil.example",
            ),
            (
                "https://evil.example\\@management.azure.com/",
                "https://evil.example",
            ),
            (
                "https://management.azure.com.evil.example/",
                "https://management.azure.com.evil.example",
            ),
            (
                "https://evil-management.azure.com/",
                "https://evil-management.azure.com",
            ),
            // A trailing dot names the same zone to DNS but another host to TLS and the guard.
            (
                "https://management.azure.com./",
                "https://management.azure.com.",
            ),
            ("https://[::1]:8080/", "https://[::1]:8080"),
            ("file:///etc/passwd", "a `file:` URL without a host"),
        ] {
            let error = guard
                .check(&url(refused), "nextLink")
                .expect_err(refused)
                .to_string();
            assert!(
                error.starts_with(&format!("nextLink points to another host: {named};")),
                "{refused}: {error}"
            );
            assert!(!error.contains("pw"), "{error}");
        }
    }

    #[test]
    fn a_refused_url_never_shows_its_user_info_path_or_query() {
        let error = guard()
            .check(
                &url("https://user:secret@evil.example:444/path/x?sig=token"),
                "Location",
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("Location points to another host: https://evil.example:444;"),
            "{error}"
        );
        for hidden in ["user", "secret", "path", "sig"] {
            assert!(!error.contains(hidden), "{error}");
        }
    }

    #[test]
    fn a_guard_without_endpoints_refuses_everything() {
        let guard = HostGuard::new([]);
        assert!(guard
            .check(&url("https://management.azure.com/"), "nextLink")
            .is_err());
    }

    /// The policy after the guard: counts what reaches it, as the transport would.
    #[derive(Debug, Default)]
    struct Transport {
        sent: AtomicUsize,
    }

    #[async_trait]
    impl Policy for Transport {
        async fn send(
            &self,
            _ctx: &Context,
            _request: &mut Request,
            _next: &[Arc<dyn Policy>],
        ) -> PolicyResult {
            self.sent.fetch_add(1, Ordering::Relaxed);
            Ok(Response::new(
                StatusCode::Ok,
                Headers::new(),
                Box::pin(futures::stream::empty()),
            ))
        }
    }

    #[tokio::test]
    async fn the_policy_passes_configured_hosts_on_and_sends_nothing_elsewhere() {
        let transport = Arc::new(Transport::default());
        let next: Vec<Arc<dyn Policy>> = vec![transport.clone()];
        let guard = guard();
        let send = |target: &str| {
            let mut request = Request::new(url(target), Method::Get);
            request.insert_header(azure_core::headers::AUTHORIZATION, "Bearer t");
            let guard = guard.clone();
            let next = next.clone();
            async move { guard.send(&Context::new(), &mut request, &next).await }
        };
        assert!(send("https://management.azure.com/subscriptions")
            .await
            .is_ok());
        assert_eq!(transport.sent.load(Ordering::Relaxed), 1);
        let error = send("https://127.0.0.2/subscriptions?$skiptoken=5")
            .await
            .expect_err("a foreign host is refused");
        assert!(
            error
                .to_string()
                .starts_with("a nextLink or other URL from a response points to another host: https://127.0.0.2;"),
            "{error}"
        );
        assert_eq!(transport.sent.load(Ordering::Relaxed), 1);
    }
}
