//! The token issuers: Entra ID's client-credentials endpoints (v2 and v1) and the two managed
//! identity endpoints (App Service / Container Apps, and IMDS). Error bodies follow Entra ID's
//! OAuth shape (`error`, `error_description`, `error_codes`), not ARM's, because that is what the
//! credential types parse.

use super::{EmulatorConfig, Outcome, Shared};
use axum::http::HeaderMap;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The lifetime real tokens have (`EmulatorConfig::token_lifetime` by default).
pub(crate) const LIFETIME_SECS: u64 = 3599;
/// JWT segments are unpadded base64url; padded ones are accepted too, as the Azure SDK's own
/// decoder (which the emulator used before it left the product) accepts both.
const JWT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn oauth_error(status: u16, error: &str, aadsts: u32, description: &str) -> Outcome {
    Outcome::json(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{aadsts}: {description}"),
            "error_codes": [aadsts],
        }),
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `POST /{tenant}/oauth2/v2.0/token` (or the v1 `/{tenant}/oauth2/token`).
pub(crate) fn client_credentials(shared: &Shared, tenant: &str, v1: bool, body: &[u8]) -> Outcome {
    let config = &shared.config;
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if !tenant.eq_ignore_ascii_case(&config.tenant_id) {
        return oauth_error(
            400,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        );
    }
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; the emulator supports only 'client_credentials'.",
        );
    }
    let Some(client_id) = field("client_id") else {
        return oauth_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    if client_id != config.client_id {
        return oauth_error(
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        );
    }
    let authenticated = match (field("client_secret"), field("client_assertion")) {
        (Some(secret), _) => secret == config.client_secret,
        (None, Some(assertion)) => {
            if let Err(problem) = check_assertion(assertion, client_id, config) {
                return oauth_error(401, "invalid_client", 700027, &problem);
            }
            true
        }
        (None, None) => {
            return oauth_error(
                400,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    };
    if !authenticated {
        return oauth_error(
            401,
            "invalid_client",
            7000215,
            &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
        );
    }
    // v2 asks for `{audience}/.default`, v1 for the resource itself.
    let requested = if v1 {
        field("resource").map(str::to_owned)
    } else {
        field("scope").map(|s| s.trim_end_matches("/.default").to_owned())
    };
    let token = match requested.filter(|r| {
        config
            .api_audiences
            .iter()
            .any(|a| a.trim_end_matches('/') == r.trim_end_matches('/'))
    }) {
        Some(audience) => shared.issue_api_token(&audience),
        None => shared.issue_token(),
    };
    let lifetime = config.token_lifetime.as_secs();
    let mut answer = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    });
    if v1 {
        answer["expires_on"] = json!((unix_now() + lifetime).to_string());
        answer["resource"] = json!(field("resource").unwrap_or("https://management.azure.com/"));
    }
    Outcome::json(200, &answer)
}

/// A client assertion is a JWT the client signed (certificate) or was given (workload identity).
/// The emulator checks what it can without the private key: that it is a JWT for this client and,
/// with a configured certificate, that its `x5t` names that certificate. Signatures are not
/// verified: the emulator holds no public keys.
fn check_assertion(
    assertion: &str,
    client_id: &str,
    config: &EmulatorConfig,
) -> Result<(), String> {
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("Client assertion is not a JWT.".into());
    };
    let decode = |part: &str| -> Option<Value> {
        let bytes = JWT_BASE64.decode(part).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let (Some(header), Some(claims)) = (decode(header), decode(claims)) else {
        return Err("Client assertion is not a well-formed JWT.".into());
    };
    if let Some(thumbprint) = &config.certificate_thumbprint {
        let x5t = header
            .get("x5t")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if x5t != thumbprint {
            return Err(format!(
                "Client assertion failed signature validation. Key was not found: certificate thumbprint '{x5t}' is not registered for app '{client_id}'."
            ));
        }
        let issuer = claims.get("iss").and_then(Value::as_str);
        let subject = claims.get("sub").and_then(Value::as_str);
        if issuer != Some(client_id) || subject != Some(client_id) {
            return Err("Client assertion 'iss' and 'sub' must be the client id.".into());
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ManagedIdentity {
    /// App Service / Container Apps: `IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`.
    AppService,
    /// The instance metadata service: `Metadata: true`.
    Imds,
}

pub(crate) fn managed_identity(
    shared: &Shared,
    kind: ManagedIdentity,
    headers: &HeaderMap,
    resource: Option<&str>,
) -> Outcome {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match kind {
        ManagedIdentity::AppService => match header("x-identity-header") {
            None => {
                return Outcome::json(
                    400,
                    &json!({"error": "invalid_request", "error_description": "The X-IDENTITY-HEADER header is required."}),
                )
            }
            Some(value) if value != shared.config.identity_header => {
                return Outcome::json(
                    401,
                    &json!({"error": "unauthorized", "error_description": "The X-IDENTITY-HEADER value is not valid."}),
                )
            }
            Some(_) => {}
        },
        ManagedIdentity::Imds => {
            if !header("metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                return Outcome::json(
                    400,
                    &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
                );
            }
        }
    }
    let Some(resource) = resource.filter(|r| !r.is_empty()) else {
        return Outcome::json(
            400,
            &json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
        );
    };
    let (token, lifetime) = match shared.issue_scripted(resource) {
        None => (shared.issue_token(), shared.config.token_lifetime.as_secs()),
        Some(Some((token, lifetime))) => (token, lifetime.as_secs()),
        Some(None) => {
            return Outcome::json(
                500,
                &json!({"error": "service_unavailable", "error_description": format!("The emulator's scripted tokens for '{resource}' are used up.")}),
            )
        }
    };
    Outcome::json(
        200,
        &json!({
            "access_token": token,
            // A string of unix seconds: that is what the managed identity endpoints send and
            // what azure_identity parses.
            "expires_on": (unix_now() + lifetime).to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}
