//! What can be checked without a signing key; signatures, claims and key fetching are tested over
//! HTTP against the emulator's issuer in tests/auth.rs.

use super::token::Parsed;
use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

fn settings() -> AuthSettings {
    AuthSettings {
        tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned(),
        authority: "https://login.microsoftonline.com".to_owned(),
        audience: vec!["api://backup-doctor".to_owned()],
        reader_role: "BackupDoctor.Read".to_owned(),
        operator_role: "BackupDoctor.Operate".to_owned(),
        jwks_cache: Duration::from_secs(3600),
    }
}

fn jwt(header: &str) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(r#"{"oid":"x"}"#)
    )
}

#[test]
fn only_rs256_headers_with_a_kid_pass_the_header_check() {
    let parsed = Parsed::new(&jwt(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#)).unwrap();
    assert_eq!(parsed.kid, "k1");
    for (alg, named) in [
        ("none", "none"),
        ("HS256", "HS256"),
        ("RS512", "RS512"),
        ("ES256", "ES256"),
    ] {
        let err = Parsed::new(&jwt(&format!(r#"{{"alg":"{alg}","kid":"k1"}}"#))).unwrap_err();
        assert_eq!(
            err,
            AuthError::Unsupported(format!("algorithm {named}; only RS256 is accepted"))
        );
    }
    // A crafted algorithm name is not echoed.
    let err = Parsed::new(&jwt(r#"{"alg":"<script>evil","kid":"k1"}"#)).unwrap_err();
    assert!(!err.to_string().contains("script"), "{err}");
    assert!(matches!(
        Parsed::new(&jwt(r#"{"alg":"RS256"}"#)),
        Err(AuthError::Malformed(m)) if m.contains("kid")
    ));
    assert!(matches!(
        Parsed::new(&jwt(r#"{"kid":"k1"}"#)),
        Err(AuthError::Malformed(m)) if m.contains("alg")
    ));
}

#[test]
fn malformed_and_oversized_tokens_are_refused_without_echoing_them() {
    let secretish = "eyJzZWNyZXQiOiJkbyBub3QgbG9nIG1lIn0";
    for token in [
        secretish.to_owned(),
        format!("{secretish}.{secretish}"),
        format!("{secretish}.a.b.c"),
        format!("!!!{secretish}.a.b"),
        format!("{}.a.b", URL_SAFE_NO_PAD.encode("[1,2]")),
    ] {
        let err = Parsed::new(&token).unwrap_err();
        assert!(matches!(err, AuthError::Malformed(_)), "{token}: {err:?}");
        assert!(!err.to_string().contains(secretish), "{err}");
        assert!(!err.www_authenticate().contains(secretish));
    }
    let huge = jwt(&format!(
        r#"{{"alg":"RS256","kid":"{}"}}"#,
        "k".repeat(MAX_TOKEN_BYTES)
    ));
    let err = Parsed::new(&huge).unwrap_err();
    assert!(err.to_string().contains("over the limit of 16384"), "{err}");
    assert_eq!(Parsed::new("").unwrap_err(), AuthError::Missing);
}

#[test]
fn challenges_follow_rfc_6750() {
    assert_eq!(
        AuthError::Missing.www_authenticate(),
        "Bearer realm=\"backup-doctor\""
    );
    assert_eq!(
        AuthError::Expired.www_authenticate(),
        "Bearer realm=\"backup-doctor\", error=\"invalid_token\", error_description=\"the token has expired\""
    );
    let quoted = AuthError::Malformed("a \"quote\" and \\".to_owned()).www_authenticate();
    assert!(quoted.ends_with("a 'quote' and '\""), "{quoted}");
    assert_eq!(AuthError::Expired.status(), 401);
    assert_eq!(AuthError::KeysUnavailable("down".into()).status(), 503);
    assert_eq!(
        insufficient_role("BackupDoctor.Operate"),
        "Bearer realm=\"backup-doctor\", error=\"insufficient_scope\", error_description=\"the app role 'BackupDoctor.Operate' is required\""
    );
}

#[test]
fn bearer_header_values() {
    assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
    assert_eq!(bearer_token(None), Err(AuthError::Missing));
    assert_eq!(bearer_token(Some("  ")), Err(AuthError::Missing));
    assert!(matches!(
        bearer_token(Some("Basic abc")),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        bearer_token(Some("Bearer")),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn operators_may_read_and_readers_may_not_operate() {
    let s = settings();
    let caller = |roles: &[&str]| Caller {
        object_id: "o".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        app_id: None,
    };
    let reader = caller(&["BackupDoctor.Read"]);
    let operator = caller(&["BackupDoctor.Operate"]);
    let nobody = caller(&["Something.Else"]);
    assert!(reader.has(Role::Reader, &s) && !reader.has(Role::Operator, &s));
    assert!(operator.has(Role::Reader, &s) && operator.has(Role::Operator, &s));
    assert!(!nobody.has(Role::Reader, &s) && !nobody.has(Role::Operator, &s));
}

#[test]
fn settings_are_validated_naming_the_field_and_the_fix() {
    assert_eq!(settings().validate(), Ok(()));
    let with = |f: fn(&mut AuthSettings)| {
        let mut s = settings();
        f(&mut s);
        s.validate().unwrap_err()
    };
    assert!(with(|s| s.tenant_id = "common".into()).contains("names no single tenant"));
    assert!(with(|s| s.tenant_id = "a/b".into()).contains("is not a tenant id"));
    assert!(with(|s| s.authority = "http://login.example.com".into()).contains("https://"));
    assert!(with(|s| s.authority = "https://x.example?y=1".into()).contains("without query"));
    assert!(with(|s| s.authority = "not a url".into()).contains("is not a URL"));
    assert!(with(|s| s.audience = vec![]).contains("audience is empty"));
    assert!(with(|s| s.reader_role = " ".into()).contains("reader_role"));
    assert!(with(|s| s.jwks_cache = Duration::ZERO).contains("jwks_cache"));
    // The emulator: plain HTTP on loopback.
    let mut s = settings();
    s.authority = "http://127.0.0.1:8080/".into();
    assert_eq!(s.validate(), Ok(()));
}

#[tokio::test]
async fn invalid_settings_fail_every_verification_closed() {
    let mut s = settings();
    s.authority = "http://login.example.com".into();
    let verifier = Verifier::new(s, reqwest::Client::new());
    let err = verifier
        .verify(&jwt(r#"{"alg":"RS256","kid":"k1"}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthError::KeysUnavailable(ref m) if m.contains("https://")),
        "{err:?}"
    );
    assert_eq!(verifier.key_fetches(), 1);
}
