//! Microsoft Entra ID bearer tokens for the service's API: who is calling and which app roles
//! they hold.
//!
//! A token is accepted only when its RS256 signature checks against a signing key the tenant
//! publishes (the authority's OpenID configuration → `jwks_uri`, see `keys.rs`), its issuer is the
//! tenant's (v2 or v1, as Entra issues them), its audience is one of ours, and it is inside its
//! `nbf`..`exp` window give or take a small clock skew. Nothing in a token decides where keys come
//! from (`jku`, `x5u`, `x5c` are ignored), and no error or log line carries the token.
//!
//! This module knows nothing of HTTP serving: `serve` turns `AuthError` into a 401 (or a 503 when
//! the keys cannot be fetched) with the `WWW-Authenticate` value it gives, and `Caller::has` into
//! a 403.

mod keys;
mod token;

use keys::KeyCache;
use std::time::Duration;

/// Tokens longer than this are refused before any parsing. Entra access tokens are 1–4 KB; one
/// carrying hundreds of group ids stays under 10 KB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Clock skew allowed on `exp` and `nbf`.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);
/// The least time between two fetches of the signing keys, so a flood of tokens naming unknown
/// key ids cannot turn into a flood of requests to the authority.
pub const DEFAULT_REFRESH_FLOOR: Duration = Duration::from_secs(5 * 60);
/// The realm named in `WWW-Authenticate`.
const REALM: &str = "backup-doctor";

/// Where tokens come from and what they must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// The tenant id (a GUID, or a verified domain such as `contoso.onmicrosoft.com`). One tenant:
    /// `common`, `organizations` and `consumers` are refused by `validate`.
    pub tenant_id: String,
    /// The Entra authority, e.g. `https://login.microsoftonline.com` (sovereign clouds have their
    /// own); `http://` only on a loopback address (the test emulator).
    pub authority: String,
    /// Accepted `aud` values: the application id URI (`api://…`, v1 tokens) and/or the client id
    /// (v2 tokens).
    pub audience: Vec<String>,
    /// The app role that allows reading (`GET`s).
    pub reader_role: String,
    /// The app role that allows acting (`POST /v1/check`, `POST /v1/scans`); implies reading.
    pub operator_role: String,
    /// How long fetched signing keys are used before they are fetched again.
    pub jwks_cache: Duration,
}

/// The permission an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Reader,
    Operator,
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The `oid` claim: the user's or service principal's object id (what request logs name).
    pub object_id: String,
    /// The `roles` claim: the app roles assigned to the caller.
    pub roles: Vec<String>,
    /// The client application: `azp` (v2 tokens) or `appid` (v1 tokens).
    pub app_id: Option<String>,
}

/// Why a token was not accepted. The messages are fixed texts: none repeats the token or a claim
/// value from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token was sent")]
    Missing,
    #[error("the token is malformed: {0}")]
    Malformed(String),
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token was not issued by the configured tenant")]
    WrongIssuer,
    #[error("the token is signed with a key the tenant does not publish")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token is not supported: {0}")]
    Unsupported(String),
    #[error("the tenant's signing keys cannot be fetched: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// The `WWW-Authenticate` value of the answer (RFC 6750 §3): no error code when no token was
    /// sent, `invalid_token` when one was and is refused.
    pub fn www_authenticate(&self) -> String {
        match self {
            AuthError::Missing => format!("Bearer realm=\"{REALM}\""),
            other => format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
                quoted_string_safe(&other.to_string())
            ),
        }
    }

    /// The HTTP status of the answer: 503 when the keys cannot be fetched (the token may be fine;
    /// the caller should retry), 401 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::KeysUnavailable(_) => 503,
            _ => 401,
        }
    }
}

/// The `WWW-Authenticate` value of a 403 for a caller without `role` (RFC 6750 §3.1).
pub fn insufficient_role(role_name: &str) -> String {
    format!(
        "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", error_description=\"{}\"",
        quoted_string_safe(&format!("the app role '{role_name}' is required"))
    )
}

/// The token of an `Authorization` header value: `Bearer <token>` (the scheme in any case).
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(AuthError::Missing);
    };
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(AuthError::Malformed(
            "the Authorization header is not 'Bearer <token>'".to_owned(),
        )),
    }
}

/// A header value's quoted-string may not hold `"`, `\` or control characters.
fn quoted_string_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '\''
            } else {
                c
            }
        })
        .collect()
}

impl AuthSettings {
    /// Checks the settings before a verifier is built, naming the field and the fix.
    pub fn validate(&self) -> Result<(), String> {
        keys::Endpoints::new(self).map(|_| ())?;
        if self.audience.iter().all(|a| a.trim().is_empty()) {
            return Err("audience is empty: set the application id URI (api://…) and/or the client id of the API's app registration".to_owned());
        }
        if self.reader_role.trim().is_empty() || self.operator_role.trim().is_empty() {
            return Err("reader_role and operator_role must name the app roles defined on the API's app registration".to_owned());
        }
        if self.jwks_cache.is_zero() {
            return Err("jwks_cache must be longer than zero (e.g. 1h)".to_owned());
        }
        Ok(())
    }
}

impl Caller {
    /// Whether the caller holds the app role `role` needs. The operator role includes reading.
    pub fn has(&self, role: Role, settings: &AuthSettings) -> bool {
        let holds = |name: &str| self.roles.iter().any(|r| r == name);
        match role {
            Role::Reader => holds(&settings.reader_role) || holds(&settings.operator_role),
            Role::Operator => holds(&settings.operator_role),
        }
    }
}

/// Verifies bearer tokens; cheap to share (`Arc`) across requests.
pub struct Verifier {
    settings: AuthSettings,
    keys: KeyCache,
}

impl Verifier {
    /// Keys are fetched on first use, not here. Invalid settings (see `AuthSettings::validate`)
    /// make every `verify` fail with `KeysUnavailable`.
    pub fn new(settings: AuthSettings, http: reqwest::Client) -> Verifier {
        let keys = KeyCache::new(&settings, http, DEFAULT_REFRESH_FLOOR);
        Verifier { settings, keys }
    }

    /// Sets the least time between two key fetches (tests shorten it).
    pub fn with_refresh_floor(mut self, floor: Duration) -> Verifier {
        self.keys.set_refresh_floor(floor);
        self
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// How many times the signing keys have been fetched (successfully or not): for metrics and
    /// tests of the refresh floor.
    pub fn key_fetches(&self) -> u64 {
        self.keys.fetches()
    }

    /// Checks a token (without the `Bearer ` prefix): RS256 signature by a published key,
    /// issuer, audience, `exp` and `nbf`; returns who is calling.
    pub async fn verify(&self, bearer: &str) -> Result<Caller, AuthError> {
        let parsed = token::Parsed::new(bearer)?;
        let key = self.keys.key(&parsed.kid).await?;
        token::check(bearer, &key, &self.settings.audience)
    }
}

#[cfg(test)]
mod tests;
