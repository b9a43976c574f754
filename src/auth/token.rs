//! One token: its header read before any key is chosen, then signature and claims checked by
//! `jsonwebtoken` against the key the header's `kid` names.

use super::keys::Key;
use super::{AuthError, Caller, CLOCK_SKEW, MAX_TOKEN_BYTES};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

/// What the header says, read without trusting it: only `alg` (must be RS256) and `kid` (which
/// published key to check against) are used.
#[derive(Debug)]
pub(super) struct Parsed {
    pub(super) kid: String,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<serde_json::Value>,
    kid: Option<serde_json::Value>,
}

impl Parsed {
    pub(super) fn new(token: &str) -> Result<Parsed, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed(format!(
                "it is {} bytes long, over the limit of {MAX_TOKEN_BYTES}",
                token.len()
            )));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_claims), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed(
                "a JWT has three dot-separated parts".to_owned(),
            ));
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| AuthError::Malformed("its header is not unpadded base64url".to_owned()))?;
        let header: Header = serde_json::from_slice(&bytes)
            .map_err(|_| AuthError::Malformed("its header is not a JSON object".to_owned()))?;
        match header.alg {
            Some(serde_json::Value::String(alg)) if alg == "RS256" => {}
            Some(serde_json::Value::String(alg)) => {
                return Err(AuthError::Unsupported(format!(
                    "algorithm {}; only RS256 is accepted",
                    printable_alg(&alg)
                )))
            }
            _ => {
                return Err(AuthError::Malformed(
                    "its header has no alg string".to_owned(),
                ))
            }
        }
        match header.kid {
            Some(serde_json::Value::String(kid)) if !kid.is_empty() => Ok(Parsed { kid }),
            _ => Err(AuthError::Malformed(
                "its header has no kid (key id) string".to_owned(),
            )),
        }
    }
}

/// An algorithm name for a message: the known names as they are, anything else summarised, so a
/// crafted header cannot put arbitrary text into errors and logs.
fn printable_alg(alg: &str) -> &str {
    const KNOWN: &[&str] = &[
        "none", "HS256", "HS384", "HS512", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "ES512", "EdDSA",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(alg))
        .copied()
        .unwrap_or("(another)")
}

/// The claims a caller is built from; the standard ones are checked by `Validation`.
#[derive(Deserialize)]
struct Claims {
    oid: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    azp: Option<String>,
    appid: Option<String>,
}

/// Signature, then issuer, audience, `exp` and `nbf`, then the caller's claims.
pub(super) fn check(token: &str, key: &Key, audience: &[String]) -> Result<Caller, AuthError> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = CLOCK_SKEW.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&key.issuers);
    // An empty configured value must not let a token with an empty `aud` through.
    let audience: Vec<&str> = audience
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .collect();
    validation.set_audience(&audience);
    let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
        .map_err(|e| classify(e.kind()))?;
    let claims = data.claims;
    let object_id = claims
        .oid
        .filter(|o| !o.is_empty())
        .ok_or_else(|| AuthError::Malformed("it has no oid (object id) claim".to_owned()))?;
    Ok(Caller {
        object_id,
        roles: claims.roles,
        app_id: claims.azp.or(claims.appid),
    })
}

/// jsonwebtoken's errors as ours; their texts are not passed on (a JSON error could quote a piece
/// of the token).
fn classify(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            AuthError::Unsupported("only RS256 is accepted".to_owned())
        }
        ErrorKind::MissingRequiredClaim(claim) => AuthError::Malformed(format!(
            "it has no {} claim",
            match claim.as_str() {
                "exp" => "exp",
                "iss" => "iss",
                "aud" => "aud",
                _ => "required",
            }
        )),
        ErrorKind::Base64(_) => {
            AuthError::Malformed("a part of it is not unpadded base64url".to_owned())
        }
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => AuthError::Malformed(
            "its claims are not a JSON object of the expected types".to_owned(),
        ),
        ErrorKind::InvalidToken => AuthError::Malformed("it is not a JWT".to_owned()),
        // A key that does not fit RS256 (a published key that is not a usable RSA key) cannot
        // verify anything: that is a bad signature as far as the caller can tell.
        _ => AuthError::BadSignature,
    }
}
