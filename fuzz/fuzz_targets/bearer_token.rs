//! The bearer tokens `serve` validates (src/auth): the `Authorization` header split, the JWT's
//! header read before a key is chosen, then signature and claims checked against a fixed key set
//! that a loopback authority publishes (fuzz/keys: a key made for fuzzing only).
//!
//! An input without a NUL byte is the header value as sent. An input `HEADER\0CLAIMS` is signed
//! with the fixed key first, so the claims are read past a valid signature.
#![no_main]

use backup_doctor::auth::{bearer_token, AuthError, AuthSettings, Verifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

const TENANT: &str = "fuzz-tenant";
const JWKS: &str = include_str!("../keys/fuzz-only-rsa.jwks.json");
const KEY: &[u8] = include_bytes!("../keys/fuzz-only-rsa.der");

/// The OpenID configurations and key set, on a loopback port, for as long as the process runs.
fn authority() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let origin = format!("http://{}", listener.local_addr().expect("an address"));
    let jwks_uri = format!("{origin}/{TENANT}/discovery/v2.0/keys");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request);
            let path = request.split_whitespace().nth(1).unwrap_or_default();
            let body = if path.ends_with("/discovery/v2.0/keys") {
                JWKS.to_owned()
            } else if path.ends_with("/v2.0/.well-known/openid-configuration") {
                format!(
                    r#"{{"issuer":"https://login.microsoftonline.com/{TENANT}/v2.0","jwks_uri":"{jwks_uri}"}}"#
                )
            } else {
                format!(
                    r#"{{"issuer":"https://sts.windows.net/{TENANT}/","jwks_uri":"{jwks_uri}"}}"#
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    origin
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    verifier: Verifier,
    key: EncodingKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let settings = AuthSettings {
            tenant_id: TENANT.to_owned(),
            authority: authority(),
            audience: vec!["api://backup-doctor-fuzz".to_owned()],
            reader_role: "Reader".to_owned(),
            operator_role: "Operator".to_owned(),
            jwks_cache: Duration::from_secs(24 * 3600),
        };
        settings.validate().expect("the fixed settings are valid");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let verifier = Verifier::new(settings, reqwest::Client::new());
        let key = EncodingKey::from_rsa_der(KEY);
        // Fetched once here, so no case depends on whether the keys were fetched before it.
        let warm = signed(&key, br#"{"alg":"RS256","kid":"fuzz-key"}"#, b"{}");
        let answer = runtime.block_on(verifier.verify(&warm));
        assert!(
            !matches!(answer, Err(AuthError::KeysUnavailable(_))),
            "the loopback authority answers: {answer:?}"
        );
        Fixture {
            runtime,
            verifier,
            key,
        }
    })
}

/// `header.claims.signature` with both parts as given, signed with the fixed key.
fn signed(key: &EncodingKey, header: &[u8], claims: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, Algorithm::RS256)
        .expect("the fixed key signs");
    format!("{message}.{signature}")
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let header = match data.iter().position(|&b| b == 0) {
        Some(at) => format!(
            "Bearer {}",
            signed(&fixture.key, &data[..at], &data[at + 1..])
        ),
        // A header value reaches the service as visible ASCII; anything else never gets here.
        None => match std::str::from_utf8(data) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
    };
    let answer = bearer_token(Some(&header)).and_then(|token| {
        fixture
            .runtime
            .block_on(fixture.verifier.verify(token))
            .map(|caller| (token, caller))
    });
    match answer {
        Ok((_, caller)) => assert!(
            !caller.object_id.is_empty(),
            "a caller without an object id"
        ),
        Err(error) => {
            let text = error.to_string();
            let challenge = error.www_authenticate();
            // No message repeats the token (it is a credential) or a piece of it long enough to
            // matter; the challenge stays one quoted-string.
            if let Ok(token) = bearer_token(Some(&header)) {
                for part in token.split('.').filter(|p| p.len() >= 16) {
                    assert!(!text.contains(part), "the error repeats the token: {text}");
                }
            }
            assert_eq!(
                challenge.matches('"').count() % 2,
                0,
                "a broken challenge: {challenge}"
            );
            assert!(
                !challenge.contains(['\r', '\n']),
                "a challenge with a line break"
            );
            assert!(error.status() == 401 || error.status() == 503);
        }
    }
});
