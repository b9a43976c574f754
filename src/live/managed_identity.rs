//! A user-assigned managed identity (`--auth managed-identity` with `AZURE_CLIENT_ID`). The
//! azure_identity 0.21 credentials ask only for the system-assigned identity, and the identity
//! endpoints of Container Apps, App Service and IMDS answer for a user-assigned one only when the
//! request names it (`client_id`); an app with a user-assigned identity alone gets no token.

use azure_core::auth::{AccessToken, Secret, TokenCredential};
use azure_core::error::{Error, ErrorKind};
use azure_core::{HttpClient, Method, Request, Url};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// The instance metadata service's token endpoint (VMs, AKS nodes), fixed by Azure.
const IMDS: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// A cached token is used until this close to its expiry.
const EARLY: time::Duration = time::Duration::minutes(5);

#[derive(Debug)]
pub struct UserAssignedIdentity {
    http: Arc<dyn HttpClient>,
    endpoint: Url,
    api_version: &'static str,
    /// `X-IDENTITY-HEADER`'s value for IDENTITY_ENDPOINT; IMDS takes `Metadata: true` instead.
    identity_header: Option<String>,
    client_id: String,
    cache: Mutex<HashMap<String, AccessToken>>,
}

impl UserAssignedIdentity {
    /// The identity `client_id`, from IDENTITY_ENDPOINT + IDENTITY_HEADER when they are set
    /// (Container Apps, App Service), else from IMDS.
    pub fn new(http: Arc<dyn HttpClient>, client_id: String) -> Result<Self, String> {
        let (endpoint, api_version, identity_header) = match std::env::var("IDENTITY_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => {
                let header = std::env::var("IDENTITY_HEADER")
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or(
                        "managed identity: IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not",
                    )?;
                (endpoint, "2019-08-01", Some(header))
            }
            _ => (IMDS.to_string(), "2018-02-01", None),
        };
        let endpoint = Url::parse(&endpoint).map_err(|e| {
            format!("managed identity: IDENTITY_ENDPOINT `{endpoint}` is not a URL: {e}")
        })?;
        Ok(UserAssignedIdentity {
            http,
            endpoint,
            api_version,
            identity_header,
            client_id,
            cache: Mutex::new(HashMap::new()),
        })
    }

    async fn fetch(&self, resource: &str) -> azure_core::Result<AccessToken> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("api-version", self.api_version)
            .append_pair("resource", resource)
            .append_pair("client_id", &self.client_id);
        let mut request = Request::new(url, Method::Get);
        match &self.identity_header {
            Some(value) => request.insert_header("x-identity-header", value.clone()),
            None => request.insert_header("metadata", "true"),
        }
        let response = self.http.execute_request(&request).await?;
        let (status, _, body) = response.deconstruct();
        let body = body.collect().await?;
        if !status.is_success() {
            // The body is an OAuth error (no token); its description says what is wrong.
            return Err(Error::message(
                ErrorKind::Credential,
                format!(
                    "the managed identity endpoint answered {} for the user-assigned identity {} (AZURE_CLIENT_ID): {}",
                    u16::from(status),
                    self.client_id,
                    String::from_utf8_lossy(&body).chars().take(500).collect::<String>()
                ),
            ));
        }
        let answer: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            Error::message(
                ErrorKind::Credential,
                format!("the managed identity endpoint's answer is not JSON: {e}"),
            )
        })?;
        let token = answer["access_token"].as_str().ok_or_else(|| {
            Error::message(
                ErrorKind::Credential,
                "the managed identity endpoint's answer has no access_token",
            )
        })?;
        // Unix seconds, as a string (what the endpoints send) or a number.
        let expires_on = match &answer["expires_on"] {
            serde_json::Value::String(s) => s.parse::<i64>().ok(),
            other => other.as_i64(),
        }
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| {
            Error::message(
                ErrorKind::Credential,
                "the managed identity endpoint's answer has no expires_on in unix seconds",
            )
        })?;
        Ok(AccessToken::new(Secret::new(token.to_string()), expires_on))
    }
}

#[async_trait::async_trait]
impl TokenCredential for UserAssignedIdentity {
    async fn get_token(&self, scopes: &[&str]) -> azure_core::Result<AccessToken> {
        let [scope] = scopes else {
            return Err(Error::message(
                ErrorKind::Credential,
                "a managed identity token is for one scope",
            ));
        };
        let resource = scope.strip_suffix("/.default").unwrap_or(scope).to_string();
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&resource).cloned());
        if let Some(token) = cached {
            if token.expires_on > OffsetDateTime::now_utc() + EARLY {
                return Ok(token);
            }
        }
        let token = self.fetch(&resource).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(resource, token.clone());
        }
        Ok(token)
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
        Ok(())
    }
}
