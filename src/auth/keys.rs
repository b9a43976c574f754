//! The tenant's signing keys and issuers, fetched from the configured authority only and cached.
//!
//! A refresh reads the tenant's v2 OpenID configuration (`issuer`, `jwks_uri`), the v1 one (its
//! `issuer`: Entra issues v1 tokens, `https://sts.windows.net/{tenant}/`, to APIs whose app
//! registration asks for them) and the key set. The key set's address must be on the authority's
//! own origin, and so must every response after redirects: nothing a token or a document says
//! can send the service to fetch keys elsewhere.
//!
//! Keys are refreshed when the cache is older than `jwks_cache` and when a token names a key id
//! not in the cache (Entra rotates keys and publishes the new one before signing with it), but
//! never twice within the refresh floor. A failed refresh keeps the keys fetched before.

use super::{AuthError, AuthSettings};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use url::Url;

/// One fetch may take this long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents and key sets are a few KB; a larger answer is refused while it is read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The key a token's `kid` names, with the issuers tokens may carry.
#[derive(Clone)]
pub(super) struct Key {
    pub(super) decoding: DecodingKey,
    pub(super) issuers: Vec<String>,
}

/// The addresses derived from the settings.
#[derive(Debug, Clone)]
pub(super) struct Endpoints {
    /// scheme://host[:port] of the authority; every fetched document must come from it.
    origin: String,
    v2_configuration: Url,
    v1_configuration: Url,
}

impl Endpoints {
    pub(super) fn new(settings: &AuthSettings) -> Result<Endpoints, String> {
        let tenant = settings.tenant_id.trim();
        let tenant_ok = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !tenant_ok {
            return Err(format!(
                "tenant_id '{tenant}' is not a tenant id: use the directory (tenant) id GUID or a verified domain of the tenant"
            ));
        }
        if ["common", "organizations", "consumers"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(tenant))
        {
            return Err(format!(
                "tenant_id '{tenant}' names no single tenant: use the directory (tenant) id of the tenant whose tokens the service accepts"
            ));
        }
        let authority = settings.authority.trim().trim_end_matches('/');
        let url = Url::parse(authority).map_err(|e| {
            format!("authority '{authority}' is not a URL ({e}): use e.g. https://login.microsoftonline.com")
        })?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok
            || url.host().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(format!(
                "authority '{authority}' must be an https:// URL without query or credentials (http:// only on a loopback address), e.g. https://login.microsoftonline.com"
            ));
        }
        let base = format!("{}/{tenant}", url.as_str().trim_end_matches('/'));
        let parse = |s: String| Url::parse(&s).map_err(|e| format!("authority '{authority}': {e}"));
        Ok(Endpoints {
            origin: url.origin().ascii_serialization(),
            v2_configuration: parse(format!("{base}/v2.0/.well-known/openid-configuration"))?,
            v1_configuration: parse(format!("{base}/.well-known/openid-configuration"))?,
        })
    }
}

/// Keys by `kid`, as of one fetch.
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    issuers: Vec<String>,
    fetched: Instant,
}

/// Refresh bookkeeping, held across a fetch so concurrent misses wait for one fetch.
#[derive(Default)]
struct Refresh {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

pub(super) struct KeyCache {
    endpoints: Result<Endpoints, String>,
    http: reqwest::Client,
    max_age: Duration,
    floor: Duration,
    current: RwLock<Option<Arc<KeySet>>>,
    refresh: tokio::sync::Mutex<Refresh>,
    fetches: AtomicU64,
}

impl KeyCache {
    pub(super) fn new(settings: &AuthSettings, http: reqwest::Client, floor: Duration) -> KeyCache {
        KeyCache {
            endpoints: Endpoints::new(settings),
            http,
            max_age: settings.jwks_cache,
            floor,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(Refresh::default()),
            fetches: AtomicU64::new(0),
        }
    }

    pub(super) fn set_refresh_floor(&mut self, floor: Duration) {
        self.floor = floor;
    }

    pub(super) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        // A poisoned lock means a panic mid-assignment of an Arc: the value is still whole.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn lookup(set: &KeySet, kid: &str) -> Option<Key> {
        set.keys.get(kid).map(|decoding| Key {
            decoding: decoding.clone(),
            issuers: set.issuers.clone(),
        })
    }

    fn fresh(&self, set: &KeySet, now: Instant) -> bool {
        now.duration_since(set.fetched) < self.max_age
    }

    /// The published key `kid` names, fetching the key set when it is missing, stale or lacks
    /// `kid` (within the refresh floor).
    pub(super) async fn key(&self, kid: &str) -> Result<Key, AuthError> {
        if let Some(set) = self.snapshot() {
            if self.fresh(&set, Instant::now()) {
                if let Some(key) = Self::lookup(&set, kid) {
                    return Ok(key);
                }
            }
        }
        let mut refresh = self.refresh.lock().await;
        let now = Instant::now();
        // Another request may have refreshed while this one waited for the lock.
        let held = self.snapshot();
        if let Some(set) = &held {
            if self.fresh(set, now) {
                if let Some(key) = Self::lookup(set, kid) {
                    return Ok(key);
                }
            }
        }
        let may_fetch = refresh
            .last_attempt
            .is_none_or(|at| now.duration_since(at) >= self.floor);
        if may_fetch {
            refresh.last_attempt = Some(now);
            self.fetches.fetch_add(1, Ordering::Relaxed);
            match self.fetch().await {
                Ok(set) => {
                    tracing::info!(
                        keys = set.keys.len(),
                        "fetched the tenant's token signing keys"
                    );
                    let set = Arc::new(set);
                    *self.current.write().unwrap_or_else(|e| e.into_inner()) =
                        Some(Arc::clone(&set));
                    refresh.last_error = None;
                    return Self::lookup(&set, kid).ok_or(AuthError::UnknownKey);
                }
                Err(problem) => {
                    tracing::warn!(problem = %problem, "cannot fetch the tenant's token signing keys; keeping the keys fetched before, if any");
                    refresh.last_error = Some(problem);
                }
            }
        }
        // No new key set: a stale one still answers for the keys it has.
        if let Some(key) = held.as_deref().and_then(|set| Self::lookup(set, kid)) {
            return Ok(key);
        }
        match (&refresh.last_error, held) {
            (Some(problem), _) => Err(AuthError::KeysUnavailable(problem.clone())),
            (None, Some(_)) => Err(AuthError::UnknownKey),
            (None, None) => Err(AuthError::KeysUnavailable(
                "no key set has been fetched yet".to_owned(),
            )),
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let endpoints = self.endpoints.as_ref().map_err(Clone::clone)?;
        let v2: Configuration = self.get_json(&endpoints.v2_configuration).await?;
        let v1: Configuration = self.get_json(&endpoints.v1_configuration).await?;
        let jwks_uri = v2
            .jwks_uri
            .as_deref()
            .ok_or_else(|| format!("{} names no jwks_uri", endpoints.v2_configuration))?;
        let jwks_url = Url::parse(jwks_uri)
            .map_err(|e| format!("{}: jwks_uri is not a URL: {e}", endpoints.v2_configuration))?;
        if jwks_url.origin().ascii_serialization() != endpoints.origin {
            return Err(format!(
                "{} names keys at {}, outside the configured authority {}",
                endpoints.v2_configuration, jwks_url, endpoints.origin
            ));
        }
        let mut issuers = Vec::new();
        for (document, url) in [
            (&v2, &endpoints.v2_configuration),
            (&v1, &endpoints.v1_configuration),
        ] {
            let issuer = document.issuer.as_deref().unwrap_or_default();
            // The multi-tenant documents say `{tenantid}`; a tenant-specific one never does.
            if issuer.is_empty() || issuer.contains('{') {
                return Err(format!("{url} names no tenant issuer"));
            }
            issuers.push(issuer.to_owned());
        }
        let set: Jwks = self.get_json(&jwks_url).await?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            let usable = jwk.kty.as_deref() == Some("RSA")
                && jwk.use_.as_deref().is_none_or(|u| u == "sig")
                && jwk.alg.as_deref().is_none_or(|a| a == "RS256");
            let (Some(kid), Some(n), Some(e), true) = (jwk.kid, jwk.n, jwk.e, usable) else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
                keys.insert(kid, key);
            }
        }
        if keys.is_empty() {
            return Err(format!("{jwks_url} holds no RSA signing key"));
        }
        Ok(KeySet {
            keys,
            issuers,
            fetched: Instant::now(),
        })
    }

    /// GETs a JSON document from the authority's origin, bounded in time and size.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &Url) -> Result<T, String> {
        let endpoints = self.endpoints.as_ref().map_err(Clone::clone)?;
        let mut response = self
            .http
            .get(url.clone())
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", e.without_url()))?;
        if response.url().origin().ascii_serialization() != endpoints.origin {
            return Err(format!(
                "GET {url} was redirected outside the configured authority {}",
                endpoints.origin
            ));
        }
        if !response.status().is_success() {
            return Err(format!("GET {url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {}", e.without_url()))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!(
                    "GET {url} answered more than {MAX_DOCUMENT_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not the expected JSON: {e}"))
    }
}

#[derive(Deserialize)]
struct Configuration {
    issuer: Option<String>,
    jwks_uri: Option<String>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
}
