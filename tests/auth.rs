//! Entra ID bearer tokens checked for real: the emulator publishes its tenant's OpenID
//! configuration and keys over HTTP, tokens are minted and signed with RSA keys, and the verifier
//! fetches, caches and refreshes the keys as it would from login.microsoftonline.com.

use backup_doctor::auth::{AuthError, AuthSettings, Caller, Role, Verifier, MAX_TOKEN_BYTES};
use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig};
use backup_doctor_testkit::fixtures;
use backup_doctor_testkit::tokens::{sign, unix_now, Claims, Issuer, Sign};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const AUDIENCE: &str = "api://backup-doctor";
/// The API's client id: v2 tokens carry it as `aud`.
const CLIENT_ID_AUDIENCE: &str = "0c6a4d3e-2b7f-4f8e-9d1a-5e3b2c1f0a99";
const READ: &str = "BackupDoctor.Read";
const OPERATE: &str = "BackupDoctor.Operate";

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        snapshot: fixtures::demo(),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

fn settings(emu: &Emulator) -> AuthSettings {
    AuthSettings {
        tenant_id: emu.tenant_id(),
        authority: emu.url(),
        // The blank value is a configuration slip that must not admit a token with a blank `aud`.
        audience: vec![
            AUDIENCE.to_owned(),
            CLIENT_ID_AUDIENCE.to_owned(),
            " ".to_owned(),
        ],
        reader_role: READ.to_owned(),
        operator_role: OPERATE.to_owned(),
        jwks_cache: Duration::from_secs(3600),
    }
}

fn verifier(emu: &Emulator) -> Verifier {
    let settings = settings(emu);
    settings
        .validate()
        .expect("the emulator's settings are valid");
    Verifier::new(settings, reqwest::Client::new())
}

/// The key-set fetches the emulator has answered.
fn jwks_fetches(emu: &Emulator) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.path.ends_with("/discovery/v2.0/keys"))
        .count()
}

/// Verifies `token` expecting `want`, and checks that neither the error nor the challenge repeats
/// any part of the token.
async fn refused(verifier: &Verifier, token: &str, want: AuthError) {
    let err = verifier
        .verify(token)
        .await
        .expect_err("the token is refused");
    assert_eq!(err, want, "for a token with the wrong property");
    let shown = format!("{err} {err:?} {}", err.www_authenticate());
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(
            !shown.contains(part),
            "the error repeats the token: {shown}"
        );
    }
}

#[tokio::test]
async fn good_tokens_give_the_caller_and_its_roles() {
    let emu = emulator().await;
    let verifier = verifier(&emu);
    let settings = verifier.settings().clone();
    let issuer = emu.issuer();

    let reader: Caller = verifier
        .verify(&issuer.token(&issuer.claims(AUDIENCE, &[READ])))
        .await
        .expect("a reader token verifies");
    assert_eq!(reader.object_id, "6d8f6a52-0c3c-4c55-9a64-0f1a3c1d9e01");
    assert_eq!(reader.app_id.as_deref(), Some("backup-doctor-test"));
    assert!(reader.has(Role::Reader, &settings));
    assert!(!reader.has(Role::Operator, &settings));

    // A v2 token for the client id, with the operator role.
    let operator = verifier
        .verify(&issuer.token(&issuer.claims(CLIENT_ID_AUDIENCE, &[OPERATE])))
        .await
        .expect("an operator token verifies");
    assert!(operator.has(Role::Operator, &settings) && operator.has(Role::Reader, &settings));

    // A v1 token: the v1 issuer, `appid` instead of `azp`.
    let v1 = issuer
        .claims(AUDIENCE, &[READ])
        .set("iss", issuer.issuer_v1())
        .set("ver", "1.0")
        .without("azp")
        .set("appid", "v1-client");
    let caller = verifier
        .verify(&issuer.token(&v1))
        .await
        .expect("a v1 token verifies");
    assert_eq!(caller.app_id.as_deref(), Some("v1-client"));

    // Expired half a minute ago: inside the clock skew.
    let skewed = issuer.claims(AUDIENCE, &[READ]).set("exp", unix_now() - 30);
    verifier
        .verify(&issuer.token(&skewed))
        .await
        .expect("within the clock skew");

    // Keys are fetched once and then served from the cache.
    assert_eq!(jwks_fetches(&emu), 1);
    assert_eq!(verifier.key_fetches(), 1);
}

#[tokio::test]
async fn a_token_without_the_role_verifies_but_grants_nothing() {
    let emu = emulator().await;
    let verifier = verifier(&emu);
    let issuer = emu.issuer();
    for roles in [
        &[][..],
        &["Some.Other.Role"][..],
        &["backupdoctor.read"][..],
    ] {
        let caller = verifier
            .verify(&issuer.token(&issuer.claims(AUDIENCE, roles)))
            .await
            .expect("the token itself is good");
        assert!(!caller.has(Role::Reader, verifier.settings()), "{roles:?}");
        assert!(
            !caller.has(Role::Operator, verifier.settings()),
            "{roles:?}"
        );
    }
    // No roles claim at all.
    let caller = verifier
        .verify(&issuer.token(&issuer.claims(AUDIENCE, &[]).without("roles")))
        .await
        .expect("the token itself is good");
    assert!(caller.roles.is_empty());
}

#[tokio::test]
async fn the_token_endpoint_issues_api_tokens_with_the_principals_roles() {
    let emu = emulator().await;
    let verifier = verifier(&emu);
    let client = reqwest::Client::new();
    let token_for = |scope: &'static str| {
        let request = client
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                emu.url(),
                emu.tenant_id()
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "backup-doctor-test"),
                ("client_secret", "emulator-secret"),
                ("scope", scope),
            ]);
        async move {
            let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            body["access_token"].as_str().expect("a token").to_owned()
        }
    };
    let api = token_for("api://backup-doctor/.default").await;
    let caller = verifier.verify(&api).await.expect("the API token verifies");
    assert!(caller.has(Role::Operator, verifier.settings()));
    assert_eq!(caller.app_id.as_deref(), Some("backup-doctor-test"));
    assert!(emu.issued_tokens().contains(&api));

    // The ARM token stays an opaque one the ARM endpoints accept, and is no API token.
    let arm = token_for("https://management.azure.com/.default").await;
    let answer = client
        .get(format!(
            "{}/subscriptions?api-version=2022-12-01",
            emu.url()
        ))
        .bearer_auth(&arm)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(matches!(
        verifier.verify(&arm).await,
        Err(AuthError::Malformed(_))
    ));
    // ... and the API token is no ARM token.
    let answer = client
        .get(format!(
            "{}/subscriptions?api-version=2022-12-01",
            emu.url()
        ))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
}

#[tokio::test]
async fn expired_early_foreign_and_misissued_tokens_are_refused() {
    let emu = emulator().await;
    let verifier = verifier(&emu);
    let issuer = emu.issuer();
    let now = unix_now();
    let good = || issuer.claims(AUDIENCE, &[READ, OPERATE]);
    let cases: Vec<(Claims, AuthError)> = vec![
        (
            good().set("exp", now - 3600).set("nbf", now - 7200),
            AuthError::Expired,
        ),
        (good().set("exp", now - 120), AuthError::Expired),
        (good().set("nbf", now + 3600), AuthError::NotYetValid),
        (good().set("aud", " "), AuthError::WrongAudience),
        (
            good().set("aud", "api://another-api"),
            AuthError::WrongAudience,
        ),
        (
            good().set("aud", json!(["api://another-api"])),
            AuthError::WrongAudience,
        ),
        (
            good().set(
                "iss",
                "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0",
            ),
            AuthError::WrongIssuer,
        ),
        (
            good().set(
                "iss",
                format!("https://sts.windows.net/{}/", emu.tenant_id()),
            ),
            AuthError::WrongIssuer,
        ),
        (
            good().without("exp"),
            AuthError::Malformed("it has no exp claim".into()),
        ),
        (
            good().without("aud"),
            AuthError::Malformed("it has no aud claim".into()),
        ),
        (
            good().without("iss"),
            AuthError::Malformed("it has no iss claim".into()),
        ),
        (
            good().without("oid"),
            AuthError::Malformed("it has no oid (object id) claim".into()),
        ),
        (
            good().set("roles", READ),
            AuthError::Malformed("its claims are not a JSON object of the expected types".into()),
        ),
    ];
    for (claims, want) in cases {
        refused(&verifier, &issuer.token(&claims), want).await;
    }
}

#[tokio::test]
async fn tokens_signed_otherwise_than_rs256_by_a_published_key_are_refused() {
    let emu = emulator().await;
    let verifier = verifier(&emu);
    let issuer = emu.issuer();
    let claims = issuer.claims(AUDIENCE, &[READ, OPERATE]);
    let published = issuer.signing_key();
    let kid = published.kid();
    let unsupported =
        |alg: &str| AuthError::Unsupported(format!("algorithm {alg}; only RS256 is accepted"));

    // Signed by a key the tenant never published, under its own kid: unknown key.
    let stranger = issuer.unpublished_key();
    let unknown = sign(&Issuer::header(stranger), &claims, Sign::Rs256(stranger));
    refused(&verifier, &unknown, AuthError::UnknownKey).await;
    // ... and under a published key's kid: the signature does not verify.
    let forged = sign(
        &json!({"alg": "RS256", "kid": kid}),
        &claims,
        Sign::Rs256(stranger),
    );
    refused(&verifier, &forged, AuthError::BadSignature).await;
    // A good token with its claims changed after signing.
    let good = issuer.token(&claims);
    let other = issuer.token(&claims.clone().set("roles", json!([OPERATE, "Admin"])));
    let spliced: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        spliced[0],
        other.split('.').nth(1).unwrap(),
        spliced[2]
    );
    refused(&verifier, &tampered, AuthError::BadSignature).await;

    // `alg: none`, unsigned, in any spelling.
    for alg in ["none", "None", "NONE"] {
        let token = sign(
            &json!({"alg": alg, "kid": kid, "typ": "JWT"}),
            &claims,
            Sign::Unsigned,
        );
        refused(&verifier, &token, unsupported("none")).await;
    }
    // HS256 keyed with the public key (the algorithm-confusion attack), as modulus and as JWK.
    let jwk = published.jwk().to_string();
    for secret in [published.public_modulus(), jwk.into_bytes()] {
        let token = sign(
            &json!({"alg": "HS256", "kid": kid}),
            &claims,
            Sign::Hs256(&secret),
        );
        refused(&verifier, &token, unsupported("HS256")).await;
    }
    // Another RSA algorithm with a good RS256 signature.
    let ps = sign(
        &json!({"alg": "RS512", "kid": kid}),
        &claims,
        Sign::Rs256(published),
    );
    refused(&verifier, &ps, unsupported("RS512")).await;
}

#[tokio::test]
async fn keys_are_never_fetched_from_where_a_token_points() {
    let emu = emulator().await;
    let attacker = emulator().await;
    let verifier = verifier(&emu);
    let claims = emu.issuer().claims(AUDIENCE, &[READ]);
    let evil = attacker.issuer().unpublished_key();
    let keys = format!(
        "{}/{}/discovery/v2.0/keys",
        attacker.url(),
        attacker.tenant_id()
    );
    let header = json!({"alg": "RS256", "kid": evil.kid(), "jku": keys, "x5u": keys});
    let token = sign(&header, &claims, Sign::Rs256(evil));
    refused(&verifier, &token, AuthError::UnknownKey).await;
    assert!(attacker.requests().is_empty(), "{:?}", attacker.requests());
}

#[tokio::test]
async fn malformed_and_oversized_tokens_are_refused_before_any_key_is_fetched() {
    let emu = emulator().await;
    let verifier = verifier(&emu);
    let issuer = emu.issuer();
    let good = issuer.token(&issuer.claims(AUDIENCE, &[READ]));
    let (_, rest) = good.split_once('.').unwrap();
    let malformed = [
        format!("e30.{rest}"),                  // `{}`: no alg
        format!("bm90IGpzb24.{rest}"),          // "not json"
        format!("eyJhbGciOiJSUzI1NiJ9.{rest}"), // RS256 but no kid
        format!("!!!!.{rest}"),                 // not base64url
        good.replacen('.', "..", 1),            // four parts
        rest.to_owned(),                        // two parts
    ];
    for token in malformed {
        let err = verifier.verify(&token).await.expect_err("refused");
        assert!(matches!(err, AuthError::Malformed(_)), "{token}: {err:?}");
    }
    let huge = issuer.token(
        &issuer
            .claims(AUDIENCE, &[READ])
            .set("padding", "x".repeat(MAX_TOKEN_BYTES)),
    );
    let err = verifier.verify(&huge).await.expect_err("refused");
    assert!(err.to_string().contains("over the limit"), "{err}");
    assert_eq!(verifier.verify("").await, Err(AuthError::Missing));
    assert_eq!(
        jwks_fetches(&emu),
        0,
        "nothing malformed reaches the authority"
    );
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_and_unknown_kids_cannot_flood_the_authority() {
    let emu = emulator().await;
    let floor = Duration::from_millis(700);
    let verifier = verifier(&emu).with_refresh_floor(floor);
    let issuer = emu.issuer();
    let claims = issuer.claims(AUDIENCE, &[READ]);
    verifier
        .verify(&issuer.token(&claims))
        .await
        .expect("key 1 verifies");
    assert_eq!(jwks_fetches(&emu), 1);

    // A flood of tokens naming unknown keys, right after a fetch: no fetch at all.
    let stranger = issuer.unpublished_key();
    let flood: Vec<String> = (0..40)
        .map(|i| {
            let header = json!({"alg": "RS256", "kid": format!("unknown-{i}")});
            sign(&header, &claims, Sign::Rs256(stranger))
        })
        .collect();
    for token in &flood {
        refused(&verifier, token, AuthError::UnknownKey).await;
    }
    assert_eq!(jwks_fetches(&emu), 1, "the refresh floor holds");

    // Tokens from the next key before Entra publishes it: unknown, after one more fetch.
    tokio::time::sleep(floor).await;
    issuer.sign_with_next_key_unpublished();
    let early = issuer.token(&claims);
    refused(&verifier, &early, AuthError::UnknownKey).await;
    assert_eq!(jwks_fetches(&emu), 2);

    // Published: picked up by the next refresh the floor allows; the old key still verifies.
    let kid = issuer.rotate();
    assert_eq!(kid, "emulator-key-2");
    refused(&verifier, &early, AuthError::UnknownKey).await;
    assert_eq!(jwks_fetches(&emu), 2, "within the floor, no fetch");
    tokio::time::sleep(floor).await;
    verifier
        .verify(&early)
        .await
        .expect("the rotated key is picked up");
    assert_eq!(jwks_fetches(&emu), 3);
    let old = sign(
        &Issuer::header(&backup_doctor_testkit::tokens::SigningKey::fixed(
            0,
            "emulator-key-1",
        )),
        &claims,
        Sign::Rs256(&backup_doctor_testkit::tokens::SigningKey::fixed(
            0,
            "emulator-key-1",
        )),
    );
    verifier
        .verify(&old)
        .await
        .expect("the first key is still published");

    // Concurrent misses share one fetch.
    tokio::time::sleep(floor).await;
    let verifier = Arc::new(verifier);
    let tasks: Vec<_> = flood
        .iter()
        .take(10)
        .cloned()
        .map(|token| {
            let verifier = Arc::clone(&verifier);
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(AuthError::UnknownKey));
    }
    assert_eq!(jwks_fetches(&emu), 4);
}

#[tokio::test]
async fn an_unreachable_or_wrong_authority_fails_closed_with_503() {
    let emu = emulator().await;
    let token = emu.issuer().token(&emu.issuer().claims(AUDIENCE, &[READ]));

    let mut wrong_tenant = settings(&emu);
    wrong_tenant.tenant_id = "11111111-2222-3333-4444-555555555555".into();
    let verifier = Verifier::new(wrong_tenant, reqwest::Client::new());
    let err = verifier.verify(&token).await.expect_err("no keys");
    assert!(
        matches!(err, AuthError::KeysUnavailable(ref m) if m.contains("400")),
        "{err:?}"
    );
    assert_eq!(err.status(), 503);
    assert!(!err.to_string().contains(&token));

    let url = emu.url();
    emu.shutdown().await;
    let mut gone = settings_for(&url);
    gone.jwks_cache = Duration::from_secs(60);
    let verifier = Verifier::new(gone, reqwest::Client::new());
    let err = verifier.verify(&token).await.expect_err("no keys");
    assert!(matches!(err, AuthError::KeysUnavailable(_)), "{err:?}");
}

fn settings_for(url: &str) -> AuthSettings {
    AuthSettings {
        tenant_id: "00000000-0000-0000-0000-000000000000".into(),
        authority: url.to_owned(),
        audience: vec![AUDIENCE.to_owned()],
        reader_role: READ.to_owned(),
        operator_role: OPERATE.to_owned(),
        jwks_cache: Duration::from_secs(3600),
    }
}

/// Collects what the verifier logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_reaches_the_logs() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = emulator().await;
    let verifier = verifier(&emu).with_refresh_floor(Duration::ZERO);
    let issuer = emu.issuer();
    let claims = issuer.claims(AUDIENCE, &[READ]);
    let stranger = issuer.unpublished_key();
    let tokens = [
        issuer.token(&claims),
        issuer.token(&claims.clone().set("exp", unix_now() - 3600)),
        sign(&Issuer::header(stranger), &claims, Sign::Rs256(stranger)),
        sign(&json!({"alg": "none", "kid": "x"}), &claims, Sign::Unsigned),
    ];
    for token in &tokens {
        let _ = verifier.verify(token).await;
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("fetched the tenant's token signing keys"),
        "{logs}"
    );
    for token in &tokens {
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!logs.contains(part), "a token part reached the logs");
        }
    }
}
