//! A token refused as expired is replaced once, not turned into a gap.
//!
//! The credential hands out a cached token until 20 s before the expiry the token endpoint
//! announced. A token can still reach ARM after its expiry: ARM's clock runs ahead of ours, a
//! request waited out a long `Retry-After` with its token already on it, or a retry re-sent an
//! old request. ARM then answers 401 (`InvalidAuthenticationTokenTokenExpired`,
//! `ExpiredAuthenticationToken`, with `WWW-Authenticate: Bearer error="invalid_token"`), and a
//! long scan would lose every read that came back so. This policy, in every pipeline right after
//! the host guard, re-sends such a request once with a fresh token: the credential's, if another
//! request has already renewed it, else one fetched after clearing the credential's cache. A
//! second 401 is returned as it came (a token that is refused for another reason stays refused),
//! and the read becomes a gap.

use async_trait::async_trait;
use azure_core::auth::TokenCredential;
use azure_core::headers::AUTHORIZATION;
use azure_core::{Context, Policy, PolicyResult, Request, StatusCode};
use std::sync::Arc;
use url::Url;

/// The pipeline policy; one per scan, shared by every client.
#[derive(Debug)]
pub struct Reauth {
    credential: Arc<dyn TokenCredential>,
    /// The endpoints whose requests carry a token, with the scope of that token.
    scopes: Vec<(Url, String)>,
}

impl Reauth {
    pub fn new(credential: Arc<dyn TokenCredential>, scopes: Vec<(Url, String)>) -> Reauth {
        Reauth { credential, scopes }
    }

    /// The scope of the token a request to `url` carries: that of the endpoint with the same
    /// scheme, host and port.
    fn scope_of(&self, url: &Url) -> Option<&str> {
        self.scopes
            .iter()
            .find(|(endpoint, _)| {
                endpoint.scheme() == url.scheme()
                    && endpoint.host_str() == url.host_str()
                    && endpoint.port_or_known_default() == url.port_or_known_default()
            })
            .map(|(_, scope)| scope.as_str())
    }

    /// A token other than `refused`: the cached one if it already is, else a new one.
    async fn fresh_token(&self, scope: &str, refused: &str) -> azure_core::Result<String> {
        let cached = self.credential.get_token(&[scope]).await?;
        if cached.token.secret() != refused {
            return Ok(cached.token.secret().to_owned());
        }
        self.credential.clear_cache().await?;
        let renewed = self.credential.get_token(&[scope]).await?;
        Ok(renewed.token.secret().to_owned())
    }
}

#[async_trait]
impl Policy for Reauth {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if response.status() != StatusCode::Unauthorized {
            return Ok(response);
        }
        let sent = request
            .headers()
            .get_optional_str(&AUTHORIZATION)
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::to_owned);
        let (Some(refused), Some(scope)) = (sent, self.scope_of(request.url())) else {
            return Ok(response);
        };
        let token = self.fresh_token(scope, &refused).await?;
        tracing::debug!(
            path = request.url().path(),
            "the token was refused (401); sending the request once more with a fresh one"
        );
        request.insert_header(AUTHORIZATION, format!("Bearer {token}"));
        next[0].send(ctx, request, &next[1..]).await
    }
}
