//! Entra ID's token-validation metadata for one tenant: the v2 and v1 OpenID configurations and
//! the key set they point to, served from the emulator's own origin as Entra serves them from
//! `login.microsoftonline.com`.

use super::{Outcome, Shared};
use serde_json::json;

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`, `GET /{tenant}/.well-known/…` (v1) and
/// `GET /{tenant}/discovery/v2.0/keys`; `rest` is the path after the tenant, lower-cased.
pub(crate) fn metadata(shared: &Shared, tenant: &str, rest: &[&str]) -> Outcome {
    if !tenant.eq_ignore_ascii_case(&shared.config.tenant_id) {
        return Outcome::json(
            400,
            &json!({
                "error": "invalid_tenant",
                "error_description": format!("AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
                "error_codes": [90002],
            }),
        );
    }
    let issuer = &shared.issuer;
    let base = issuer.authority();
    let tenant = issuer.tenant();
    match rest {
        ["discovery", "v2.0", "keys"] => Outcome::json(200, &issuer.jwks()),
        [version, ..] => {
            let v2 = *version == "v2.0";
            let (iss, token_endpoint) = if v2 {
                (
                    issuer.issuer_v2(),
                    format!("{base}/{tenant}/oauth2/v2.0/token"),
                )
            } else {
                (issuer.issuer_v1(), format!("{base}/{tenant}/oauth2/token"))
            };
            Outcome::json(
                200,
                &json!({
                    "issuer": iss,
                    "token_endpoint": token_endpoint,
                    // Both versions name the same keys in the emulator (Entra's v1 document
                    // points at the tenant-independent copy of the same set).
                    "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                    "tenant_region_scope": "EU",
                }),
            )
        }
        [] => Outcome::json(404, &json!({"error": "not_found"})),
    }
}
