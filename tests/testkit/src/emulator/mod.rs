//! A local Azure Resource Manager: a loopback HTTP server that serves any snapshot directory as
//! ARM (plus a management group tree, the Entra ID token endpoints, the managed identity
//! endpoints, Resource Graph and the one Microsoft Graph query the project uses), and an Entra ID
//! issuer for the service's API (its OpenID configuration and signing keys, `crate::tokens`), so
//! the live collector can be exercised through the real Azure SDK over real HTTP without a tenant.
//!
//! Faults are injectable and deterministic: per-subscription read throttling (ARM's token
//! bucket), every n-th request failing, forbidden paths and truncated bodies, tokens that expire
//! (ARM answers 401 once one is past its time), and the network and answer faults of `faults`
//! (resets, stalls, broken JSON, long `Retry-After`s, answers pointing at another host).
//!
//! The emulator never logs a token or a secret: tests grep the logs for the tokens it issued.

mod arm;
mod bucket;
mod faults;
mod identity;
mod issuer;
mod resource_graph;
mod store;

pub use arm::ManagementGroup;
pub use bucket::Bucket;
pub use faults::{Fault, FaultKind};

use crate::loopback::{lock, Loopback};
use crate::tokens::Issuer;
use arm::Query;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use bucket::BucketState;
use serde_json::{json, Value};
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::Store;

/// The tenant used when neither the configuration nor the snapshot manifest names one.
const DEFAULT_TENANT: &str = "00000000-0000-0000-0000-000000000000";
/// What ARM reports as remaining reads when the emulator does not throttle.
const UNTHROTTLED_REMAINING: u32 = 11999;
/// Request bodies are tiny (token forms, Resource Graph queries); anything larger is refused.
const MAX_BODY_BYTES: usize = 1 << 20;
/// The bucket key of tenant-level calls (`/subscriptions`, Resource Graph).
const TENANT_BUCKET: &str = "tenant";

/// How the emulator behaves. Every field has a default; build with `..Default::default()`.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The snapshot directory (or single snapshot file) to serve.
    pub snapshot: PathBuf,
    /// Items per page for paged lists.
    pub page_size: usize,
    /// Rows per Resource Graph page; `None` = `page_size`. Resource Graph itself returns up to
    /// 1,000 rows a page (`$top` at most 1000), far more than most ARM lists.
    pub graph_page_size: Option<usize>,
    /// Added before every response.
    pub latency: Duration,
    /// Per-subscription ARM read token bucket; `None` = unlimited.
    pub throttle: Option<Bucket>,
    /// `(n, status)`: every n-th ARM request per subscription answers `status` (503 carries
    /// `Retry-After: 1`). Deterministic: counted per bucket key.
    pub fail_every: Option<(u32, u16)>,
    /// Case-insensitive substrings of the request path answered 403 `AuthorizationFailed`.
    pub forbidden: Vec<String>,
    /// Case-insensitive substrings of the request path answered 200 with a truncated JSON body.
    pub malformed: Vec<String>,
    /// `(path, base)`: every page of an ARM list whose path ends with `path` (case-insensitive)
    /// names its next page on `base` (another loopback address or port) instead of the
    /// emulator's own URL, the last page too: what a response pointing at a foreign host looks
    /// like. A client that follows it sends that host its token.
    pub foreign_next_links: Vec<(String, String)>,
    /// Network and answer faults on chosen requests (`faults`), the first that matches a request.
    pub faults: Vec<Fault>,
    /// The lifetime the token endpoints announce (`expires_in`, `expires_on`) for the tokens
    /// they issue.
    pub token_lifetime: Duration,
    /// How long ARM (and Graph) accept a token after it was issued; `None`: its lifetime. Shorter
    /// than the lifetime is a token refused before the client expects it: ARM's clock ahead of
    /// the client's, or a token revoked. Past it, requests are answered 401
    /// `InvalidAuthenticationTokenTokenExpired` with a `WWW-Authenticate` challenge.
    pub token_accepted_for: Option<Duration>,
    /// Whether the `statusOnly=true` VM list carries `vmAgent`, `extensions` and `disks`.
    pub status_only_includes_agent: bool,
    /// The tenant the token endpoint accepts. Empty means: the snapshot manifest's `tenantId`,
    /// else `00000000-0000-0000-0000-000000000000`.
    pub tenant_id: String,
    /// The one service principal the token endpoint accepts.
    pub client_id: String,
    pub client_secret: String,
    /// The `X-IDENTITY-HEADER` value the App Service managed identity endpoint accepts.
    pub identity_header: String,
    /// The SHA-1 thumbprint (base64, as the `x5t` JWT header carries it) of the one certificate
    /// whose client assertions are accepted. `None`: any assertion is (workload identity tokens).
    pub certificate_thumbprint: Option<String>,
    /// Scopes (`{audience}/.default`) or v1 resources for which the token endpoint issues an
    /// RS256 JWT for the service's API instead of an opaque ARM token.
    pub api_audiences: Vec<String>,
    /// The app roles those JWTs carry (the roles assigned to the one service principal).
    pub app_roles: Vec<String>,
    /// The management group tree the descendants endpoint serves: group id → what it holds
    /// directly. `None`: the tenant root group (named after the tenant id, as in Azure) holds
    /// every subscription of the snapshot but the last, and its child group `nested` holds the
    /// last, so the fleet has a group at depth one and a subscription at depth two.
    pub management_groups: Option<BTreeMap<String, ManagementGroup>>,
    /// What the managed identity endpoints hand out for one resource, instead of opaque ARM
    /// tokens: tokens the test chose (so it can make one a database password), each with its own
    /// lifetime.
    pub scripted_tokens: Option<ScriptedTokens>,
}

/// Tokens for `resource` (as the managed identity endpoints' `resource` parameter names it,
/// trailing slash or not), issued in order. Once used up the endpoint answers 500: a client that
/// asks more often than the test planned sees an error.
#[derive(Debug, Clone)]
pub struct ScriptedTokens {
    pub resource: String,
    /// The token and its lifetime (`expires_on` is now plus this).
    pub tokens: Vec<(String, Duration)>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            snapshot: PathBuf::new(),
            page_size: 100,
            graph_page_size: None,
            latency: Duration::ZERO,
            throttle: None,
            fail_every: None,
            forbidden: Vec::new(),
            malformed: Vec::new(),
            foreign_next_links: Vec::new(),
            faults: Vec::new(),
            token_lifetime: Duration::from_secs(identity::LIFETIME_SECS),
            token_accepted_for: None,
            status_only_includes_agent: true,
            tenant_id: String::new(),
            client_id: "backup-doctor-test".to_owned(),
            client_secret: "emulator-secret".to_owned(),
            identity_header: "emulator-identity-header".to_owned(),
            certificate_thumbprint: None,
            // The service's API, and Azure Monitor for the Logs Ingestion export
            // (`crate::logs_ingestion` checks those tokens against this issuer's keys).
            api_audiences: vec![
                "api://backup-doctor".to_owned(),
                "https://monitor.azure.com".to_owned(),
            ],
            app_roles: vec![
                "BackupDoctor.Read".to_owned(),
                "BackupDoctor.Operate".to_owned(),
            ],
            management_groups: None,
            scripted_tokens: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot read snapshot {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("snapshot file {} is not valid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
}

/// One request as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// The path as received (percent-encoded, original case).
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: String,
    /// The status answered; 0 when the connection was reset instead (`FaultKind::Reset`).
    pub status: u16,
    /// The lower-cased subscription id of a `/subscriptions/{s}/...` path.
    pub subscription: Option<String>,
    pub authorization_present: bool,
    /// The `query` of a Resource Graph request's body: which rows it reads decides the RBAC
    /// actions it needs (Resource Graph returns only the rows the caller may read). Other bodies
    /// are not kept: the token endpoint's carry client secrets.
    pub graph_query: Option<String>,
}

/// A running emulator. Dropping it stops the server too; `shutdown` waits for it to stop.
pub struct Emulator {
    url: String,
    shared: Arc<Shared>,
    server: Loopback,
}

impl Emulator {
    /// Loads the snapshot, binds 127.0.0.1 on an ephemeral port and serves on the current tokio
    /// runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        Emulator::start_on(config, 0).await
    }

    /// As `start`, on a chosen port (0 = ephemeral), for the standalone binary.
    pub async fn start_on(
        mut config: EmulatorConfig,
        port: u16,
    ) -> Result<Emulator, EmulatorError> {
        let store = Store::load(&config.snapshot)?;
        if config.tenant_id.is_empty() {
            config.tenant_id = store
                .manifest_tenant
                .clone()
                .unwrap_or_else(|| DEFAULT_TENANT.to_owned());
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| EmulatorError::Bind { port, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { port, source })?;
        let url = format!("http://127.0.0.1:{}", bound.port());
        let issuer = Issuer::new(&url, &config.tenant_id);
        let management_groups = config
            .management_groups
            .clone()
            .unwrap_or_else(|| arm::default_management_groups(&config.tenant_id, &store));
        let shared = Arc::new(Shared {
            faults: faults::Faults::new(&config.faults),
            issuer,
            management_groups,
            config,
            store,
            base_url: url.clone(),
            tokens: Mutex::new(Tokens::default()),
            keys: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            arrivals: AtomicU64::new(0),
            issued: AtomicU64::new(0),
            scripted: AtomicU64::new(0),
            request_ids: AtomicU64::new(0),
            hasher: RandomState::new(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = faults::FaultyListener(listener);
        let server = Loopback::spawn("ARM emulator", |stopped| {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<faults::Switch>(),
            )
            .with_graceful_shutdown(stopped)
        });
        tracing::debug!(url = %url, "ARM emulator listening");
        Ok(Emulator {
            url,
            shared,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The tenant the token endpoint accepts (resolved from the manifest when not configured).
    pub fn tenant_id(&self) -> String {
        self.shared.config.tenant_id.clone()
    }

    /// The one service principal the token endpoint accepts.
    pub fn client_id(&self) -> String {
        self.shared.config.client_id.clone()
    }

    /// The Entra ID issuer of tokens for the service's API: mints tokens, rotates keys.
    pub fn issuer(&self) -> &Issuer {
        &self.shared.issuer
    }

    /// The request log, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        let mut log = lock(&self.shared.log).clone();
        log.sort_by_key(|(arrival, _)| *arrival);
        log.into_iter().map(|(_, r)| r).collect()
    }

    /// Every bearer token issued so far, in issue order, so tests can check that none of them
    /// reached a client's logs.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared.tokens).issued.clone()
    }

    pub fn reset_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// Stops accepting connections and waits (briefly) for in-flight requests.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The tokens handed out: each ARM token with the instant ARM stops accepting it, and the issue
/// order for tests.
#[derive(Debug, Default)]
struct Tokens {
    valid: HashMap<String, Instant>,
    issued: Vec<String>,
}

/// What a request's `Authorization` header is worth.
enum Authorization {
    Valid,
    Expired,
    Missing,
}

/// Per bucket key (subscription or "tenant"): the token bucket and the fail_every counter.
#[derive(Debug, Default)]
struct KeyState {
    bucket: Option<BucketState>,
    counted: u64,
}

pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    faults: faults::Faults,
    /// The configured tree, or the default one built from the snapshot.
    management_groups: BTreeMap<String, ManagementGroup>,
    pub(crate) issuer: Issuer,
    store: Store,
    base_url: String,
    tokens: Mutex<Tokens>,
    keys: Mutex<HashMap<String, KeyState>>,
    log: Mutex<Vec<(u64, LoggedRequest)>>,
    arrivals: AtomicU64,
    issued: AtomicU64,
    /// Scripted tokens handed out so far (`EmulatorConfig::scripted_tokens`).
    scripted: AtomicU64,
    request_ids: AtomicU64,
    hasher: RandomState,
}

/// An ARM-shaped error: `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub retry_after: Option<u64>,
    /// The `WWW-Authenticate` challenge of a 401.
    pub challenge: Option<String>,
    /// `error.details[]` (code, message), as Resource Graph explains a refused query.
    pub details: Vec<(String, String)>,
}

impl ArmError {
    pub(crate) fn new(status: u16, code: &str, message: String) -> ArmError {
        ArmError {
            status,
            code: code.to_owned(),
            message,
            retry_after: None,
            challenge: None,
            details: Vec::new(),
        }
    }

    fn outcome(&self) -> Outcome {
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.details.is_empty() {
            error["details"] = self
                .details
                .iter()
                .map(|(code, message)| json!({"code": code, "message": message}))
                .collect();
        }
        let mut out = Outcome::json(self.status, &json!({ "error": error }));
        if let Some(secs) = self.retry_after {
            out.headers.push(("retry-after", secs.to_string()));
        }
        if let Some(challenge) = &self.challenge {
            out.headers.push(("www-authenticate", challenge.clone()));
        }
        out
    }
}

/// A response before it becomes an HTTP response (kept plain so it is easy to log and test).
#[derive(Debug)]
pub(crate) struct Outcome {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Outcome {
    pub(crate) fn json(status: u16, value: &Value) -> Outcome {
        Outcome {
            status,
            body: serde_json::to_vec(value).unwrap_or_default(),
            headers: Vec::new(),
        }
    }

    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

/// One request as the endpoints read it: the path as sent and as lower-cased, decoded segments.
struct Call<'a> {
    method: &'a Method,
    raw_path: &'a str,
    segs: &'a [&'a str],
    query: &'a Query,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<faults::Switch>,
    request: Request,
) -> Response {
    let arrival = shared.arrivals.fetch_add(1, Ordering::Relaxed);
    let latency = shared.config.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let fault = shared.faults.pick(&percent_decode(&path));
    if let Some(FaultKind::Stall(stall)) = &fault {
        tokio::time::sleep(*stall).await;
    }
    let mut graph_query = None;
    let (outcome, subscription) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            graph_query = graph_query_of(&path, &bytes);
            shared.respond(&parts.method, &path, &query, &parts.headers, &bytes)
        }
        Err(_) => (
            ArmError::new(
                413,
                "RequestEntityTooLarge",
                "The request body is too large.".to_owned(),
            )
            .outcome(),
            None,
        ),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let faulted = match &fault {
        Some(fault) => faults::apply(fault, outcome, &path_and_query),
        None => faults::Faulted::Outcome(outcome),
    };
    let status = match &faulted {
        faults::Faulted::Outcome(outcome) => outcome.status,
        faults::Faulted::Response(status, _) => *status,
        // No answer went out.
        faults::Faulted::Reset => 0,
    };
    let entry = LoggedRequest {
        method: parts.method.as_str().to_owned(),
        path,
        query,
        status,
        subscription,
        authorization_present: parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION),
        graph_query,
    };
    tracing::debug!(method = %entry.method, path = %entry.path, status = entry.status, "emulator request");
    lock(&shared.log).push((arrival, entry));
    match faulted {
        faults::Faulted::Outcome(outcome) => outcome.into_response(),
        faults::Faulted::Response(_, response) => response,
        faults::Faulted::Reset => {
            connection.throw();
            Response::new(Body::empty())
        }
    }
}

/// The `query` field of a Resource Graph request body, for the log.
fn graph_query_of(raw_path: &str, body: &[u8]) -> Option<String> {
    let path = percent_decode(raw_path).to_lowercase();
    if path.trim_end_matches('/') != "/providers/microsoft.resourcegraph/resources" {
        return None;
    }
    let request: Value = serde_json::from_slice(body).ok()?;
    request.get("query")?.as_str().map(str::to_owned)
}

/// Decodes `%XX` escapes of a path; malformed escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Shared {
    /// A fresh opaque bearer token, remembered so ARM requests can be checked against it.
    pub(crate) fn issue_token(&self) -> String {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let token = format!(
            "emu.{:016x}{:016x}",
            self.hasher.hash_one((n, 0x9e37u16)),
            self.hasher.hash_one((n, 0x79b9u16))
        );
        let accepted_for = self
            .config
            .token_accepted_for
            .unwrap_or(self.config.token_lifetime);
        let mut tokens = lock(&self.tokens);
        tokens
            .valid
            .insert(token.clone(), Instant::now() + accepted_for);
        tokens.issued.push(token.clone());
        token
    }

    /// The next scripted token for `resource` and its lifetime; `None` when the resource is not
    /// the scripted one; `Some(None)` when its tokens are used up.
    pub(crate) fn issue_scripted(&self, resource: &str) -> Option<Option<(String, Duration)>> {
        let script = self.config.scripted_tokens.as_ref()?;
        if script.resource.trim_end_matches('/') != resource.trim_end_matches('/') {
            return None;
        }
        let n = self.scripted.fetch_add(1, Ordering::Relaxed);
        let next = script.tokens.get(n as usize).cloned();
        if let Some((token, _)) = &next {
            lock(&self.tokens).issued.push(token.clone());
        }
        Some(next)
    }

    /// An RS256 access token for the service's API, as Entra issues one to the one service
    /// principal: its app roles, its object id. Remembered with the others for the log checks,
    /// but not valid for ARM.
    pub(crate) fn issue_api_token(&self, audience: &str) -> String {
        let client = &self.config.client_id;
        let object_id = format!("{:016x}", self.hasher.hash_one(client));
        let roles: Vec<&str> = self.config.app_roles.iter().map(String::as_str).collect();
        let claims = self
            .issuer
            .claims(audience, &roles)
            .set("oid", object_id.clone())
            .set("sub", object_id)
            .set("azp", client.clone());
        let token = self.issuer.token(&claims);
        lock(&self.tokens).issued.push(token.clone());
        token
    }

    fn request_id(&self) -> String {
        let n = self.request_ids.fetch_add(1, Ordering::Relaxed);
        let h = self.hasher.hash_one(("request", n));
        let l = self.hasher.hash_one(("id", h));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            0x8000 | (l >> 48 & 0x3fff),
            l & 0xffff_ffff_ffff
        )
    }

    fn authorization(&self, headers: &HeaderMap) -> Authorization {
        let Some(value) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Authorization::Missing;
        };
        let mut words = value.splitn(2, ' ');
        let scheme = words.next().unwrap_or_default();
        let token = words.next().unwrap_or_default().trim();
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Authorization::Missing;
        }
        match lock(&self.tokens).valid.get(token) {
            Some(until) if Instant::now() < *until => Authorization::Valid,
            Some(_) => Authorization::Expired,
            None => Authorization::Missing,
        }
    }

    /// The 401 of a request without a token ARM accepts, if it is one.
    fn unauthorized(&self, headers: &HeaderMap) -> Option<ArmError> {
        match self.authorization(headers) {
            Authorization::Valid => None,
            Authorization::Missing => Some(unauthenticated()),
            Authorization::Expired => {
                let mut e = ArmError::new(
                    401,
                    "InvalidAuthenticationTokenTokenExpired",
                    "The access token has expired. Get a new token and try again.".to_owned(),
                );
                e.challenge = Some(format!(
                    "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"The access token has expired.\"",
                    self.base_url, self.config.tenant_id
                ));
                Some(e)
            }
        }
    }

    /// Answers one request; also returns the subscription the path names, for the log.
    fn respond(
        &self,
        method: &Method,
        raw_path: &str,
        raw_query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (Outcome, Option<String>) {
        let decoded = percent_decode(raw_path);
        let lower = decoded.to_lowercase();
        let segs: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
        let query = Query::parse(raw_query);
        let call = Call {
            method,
            raw_path,
            segs: &segs,
            query: &query,
            headers,
            body,
        };
        match segs.as_slice() {
            [tenant, "oauth2", "v2.0", "token"] | [tenant, "oauth2", "token"] => {
                if method != Method::POST {
                    return (method_not_allowed(method, raw_path).outcome(), None);
                }
                let v1 = segs.len() == 3;
                // The tenant segment keeps its original case in the error message.
                let original = decoded.split('/').find(|s| !s.is_empty()).unwrap_or(tenant);
                (identity::client_credentials(self, original, v1, body), None)
            }
            [_, "v2.0", ".well-known", "openid-configuration"]
            | [_, ".well-known", "openid-configuration"]
            | [_, "discovery", "v2.0", "keys"] => {
                if method != Method::GET {
                    return (method_not_allowed(method, raw_path).outcome(), None);
                }
                let original = decoded
                    .split('/')
                    .find(|s| !s.is_empty())
                    .unwrap_or_default();
                (issuer::metadata(self, original, &segs[1..]), None)
            }
            ["msi", "token"] | ["metadata", "identity", "oauth2", "token"] => {
                if method != Method::GET {
                    return (method_not_allowed(method, raw_path).outcome(), None);
                }
                let kind = if segs[0] == "msi" {
                    identity::ManagedIdentity::AppService
                } else {
                    identity::ManagedIdentity::Imds
                };
                let resource = query.get("resource");
                (
                    identity::managed_identity(self, kind, headers, resource),
                    None,
                )
            }
            ["v1.0", ..] => (self.graph(&call), None),
            ["subscriptions", ..] | ["providers", ..] => {
                let subscription = match segs.as_slice() {
                    ["subscriptions", sub, ..] => Some((*sub).to_owned()),
                    _ => None,
                };
                let outcome = self.arm(&call, subscription.as_deref());
                (outcome, subscription)
            }
            _ => (
                ArmError::new(
                    404,
                    "NotFound",
                    format!("The emulator serves no endpoint at '{raw_path}'."),
                )
                .outcome(),
                None,
            ),
        }
    }

    fn graph(&self, call: &Call) -> Outcome {
        if let Some(refused) = self.unauthorized(call.headers) {
            return refused.outcome();
        }
        if call.method != Method::GET {
            return method_not_allowed(call.method, call.raw_path).outcome();
        }
        if let Some(denied) = self.forbidden(call.raw_path, call.segs) {
            return denied.outcome();
        }
        let result = match call.segs {
            ["v1.0", "serviceprincipals"] => {
                arm::service_principals(&self.store, call.query).map(arm::Body::from)
            }
            _ => Err(ArmError::new(
                404,
                "Request_ResourceNotFound",
                format!(
                    "The emulator serves no Graph resource at '{}'.",
                    call.raw_path
                ),
            )),
        };
        self.finish(call.raw_path, result)
    }

    fn arm(&self, call: &Call, subscription: Option<&str>) -> Outcome {
        let key = subscription.unwrap_or(TENANT_BUCKET);
        let is_graph_query = matches!(
            call.segs,
            ["providers", "microsoft.resourcegraph", "resources"]
        );
        let now = Instant::now();
        let checked = self.arm_checks(call, key, is_graph_query, now);
        let (result, remaining) = match checked {
            Err((e, remaining)) => (Err(e), remaining),
            Ok(remaining) => {
                let result = if is_graph_query {
                    arm::resource_graph(
                        &self.store,
                        self.config.graph_page_size.unwrap_or(self.config.page_size),
                        call.body,
                    )
                } else {
                    let path = percent_decode(call.raw_path).to_lowercase();
                    let foreign_next_link = self
                        .config
                        .foreign_next_links
                        .iter()
                        .find(|(p, _)| !p.is_empty() && path.ends_with(&p.to_lowercase()))
                        .map(|(_, base)| base.as_str());
                    let ctx = arm::Ctx {
                        store: &self.store,
                        base_url: &self.base_url,
                        foreign_next_link,
                        raw_path: call.raw_path,
                        query: call.query,
                        page_size: self.config.page_size,
                        status_only_includes_agent: self.config.status_only_includes_agent,
                    };
                    match call.segs {
                        ["providers", "microsoft.management", "managementgroups", group, "descendants"] => {
                            arm::descendants(&ctx, &self.management_groups, group)
                        }
                        segs => arm::get(&ctx, segs),
                    }
                };
                (result, remaining)
            }
        };
        let mut outcome = self.finish(call.raw_path, result);
        outcome.headers.push((
            "x-ms-ratelimit-remaining-subscription-reads",
            remaining.to_string(),
        ));
        outcome.headers.push(("x-ms-request-id", self.request_id()));
        outcome
    }

    /// Authentication, method, api-version, throttling and injected faults, in the order ARM's
    /// front door would apply them. Returns the remaining reads of the key's bucket.
    // The refusal is built once per refused request and answered at once: its size costs nothing
    // worth a box (the same below).
    #[allow(clippy::result_large_err)]
    fn arm_checks(
        &self,
        call: &Call,
        key: &str,
        is_graph_query: bool,
        now: Instant,
    ) -> Result<u32, (ArmError, u32)> {
        let peek = || self.remaining(key, now);
        if let Some(refused) = self.unauthorized(call.headers) {
            return Err((refused, peek()));
        }
        let allowed = if is_graph_query {
            Method::POST
        } else {
            Method::GET
        };
        if call.method != allowed {
            return Err((method_not_allowed(call.method, call.raw_path), peek()));
        }
        if call.query.get("api-version").is_none_or(str::is_empty) {
            return Err((
                ArmError::new(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests."
                        .to_owned(),
                ),
                peek(),
            ));
        }
        let remaining = self.take(key, now)?;
        if let Some(failure) = self.injected_failure(key) {
            return Err((failure, remaining));
        }
        if let Some(denied) = self.forbidden(call.raw_path, call.segs) {
            return Err((denied, remaining));
        }
        Ok(remaining)
    }

    fn remaining(&self, key: &str, now: Instant) -> u32 {
        let Some(shape) = self.config.throttle else {
            return UNTHROTTLED_REMAINING;
        };
        let mut keys = lock(&self.keys);
        let state = keys.entry(key.to_owned()).or_default();
        state
            .bucket
            .get_or_insert_with(|| BucketState::new(&shape, now))
            .remaining(&shape, now)
    }

    #[allow(clippy::result_large_err)]
    fn take(&self, key: &str, now: Instant) -> Result<u32, (ArmError, u32)> {
        let Some(shape) = self.config.throttle else {
            return Ok(UNTHROTTLED_REMAINING);
        };
        let mut keys = lock(&self.keys);
        let state = keys.entry(key.to_owned()).or_default();
        let bucket = state
            .bucket
            .get_or_insert_with(|| BucketState::new(&shape, now));
        bucket.take(&shape, now).map_err(|retry_after| {
            let mut e = ArmError::new(
                429,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of 'read' requests for subscription '{key}' exceeded the limit of '{}' for time interval. Please try again after '{retry_after}' seconds.",
                    shape.capacity
                ),
            );
            e.retry_after = Some(retry_after);
            (e, 0)
        })
    }

    fn injected_failure(&self, key: &str) -> Option<ArmError> {
        let (every, status) = self.config.fail_every?;
        if every == 0 {
            return None;
        }
        let mut keys = lock(&self.keys);
        let state = keys.entry(key.to_owned()).or_default();
        state.counted += 1;
        if state.counted % u64::from(every) != 0 {
            return None;
        }
        let code = match status {
            500 => "InternalServerError",
            503 => "ServiceUnavailable",
            429 => "TooManyRequests",
            _ => "EmulatedFailure",
        };
        let mut e = ArmError::new(
            status,
            code,
            format!("Injected failure: every {every}th request answers {status}."),
        );
        if status == 503 || status == 429 {
            e.retry_after = Some(1);
        }
        Some(e)
    }

    fn forbidden(&self, raw_path: &str, segs: &[&str]) -> Option<ArmError> {
        let path = raw_path.to_lowercase();
        let hit = self
            .config
            .forbidden
            .iter()
            .any(|f| !f.is_empty() && path.contains(&f.to_lowercase()))
            || self
                .config
                .forbidden
                .iter()
                .any(|f| !f.is_empty() && percent_decode(&path).contains(&f.to_lowercase()));
        if !hit {
            return None;
        }
        let action = match segs.iter().rposition(|s| *s == "providers") {
            Some(i) if i + 2 < segs.len() => format!("{}/{}/read", segs[i + 1], segs[i + 2]),
            _ => "Microsoft.Resources/subscriptions/read".to_owned(),
        };
        let client = &self.config.client_id;
        let object = format!("{:016x}", self.hasher.hash_one(client));
        Some(ArmError::new(
            403,
            "AuthorizationFailed",
            format!(
                "The client '{client}' with object id '{object}' does not have authorization to perform action '{action}' over scope '{raw_path}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            ),
        ))
    }

    /// Turns a route result into an outcome, truncating the body of a `malformed` path.
    fn finish(&self, raw_path: &str, result: Result<arm::Body, ArmError>) -> Outcome {
        match result {
            Err(e) => e.outcome(),
            Ok(body) => {
                let mut out = Outcome {
                    status: 200,
                    body: body.0,
                    headers: Vec::new(),
                };
                let path = percent_decode(raw_path).to_lowercase();
                let malformed = self
                    .config
                    .malformed
                    .iter()
                    .any(|m| !m.is_empty() && path.contains(&m.to_lowercase()));
                if malformed {
                    let half = out.body.len() / 2;
                    out.body.truncate(half);
                }
                out
            }
        }
    }
}

fn unauthenticated() -> ArmError {
    ArmError::new(
        401,
        "InvalidAuthenticationToken",
        "The access token is missing or invalid.".to_owned(),
    )
}

fn method_not_allowed(method: &Method, raw_path: &str) -> ArmError {
    ArmError::new(
        405,
        "MethodNotAllowed",
        format!("The emulator is read-only: {method} is not allowed on '{raw_path}'."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%3Bb/c%2fd"), "/a;b/c/d");
        assert_eq!(percent_decode("/a%zz/%4"), "/a%zz/%4");
        assert_eq!(percent_decode("%41"), "A");
    }

    #[test]
    fn config_defaults() {
        let c = EmulatorConfig::default();
        assert_eq!(c.page_size, 100);
        assert!(c.status_only_includes_agent);
        assert_eq!(c.client_id, "backup-doctor-test");
        assert_eq!(Bucket::arm().capacity, 250);
    }
}
