//! The Entra ID issuer side of the emulator: fixed RSA signing keys (checked in under
//! `tests/testkit/keys/`, test-only), the key set the emulator publishes, and tokens minted with
//! any claims and header, including the bad ones (`alg: none`, HS256 keyed with the public key, a
//! key that was never published, a malformed header).
//!
//! Signing uses `ring` directly rather than a JWT library so a test can sign headers no JWT
//! library would produce.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};
use serde_json::{json, Map, Value};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Test keys, PKCS#8 PEM. Generated once with `openssl genpkey -algorithm RSA
/// -pkeyopt rsa_keygen_bits:2048`; checked in because ring cannot generate RSA keys and
/// generating them in a test would cost seconds of a debug build.
const PEMS: [&str; 3] = [
    include_str!("../keys/signing-1.pem"),
    include_str!("../keys/signing-2.pem"),
    include_str!("../keys/signing-3.pem"),
];

/// One RSA signing key and its key id.
pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
}

impl SigningKey {
    /// Test key `index` (0, 1 or 2) with the key id `kid`.
    pub fn fixed(index: usize, kid: &str) -> SigningKey {
        let pem = PEMS[index];
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).expect("the test key is base64");
        SigningKey {
            kid: kid.to_owned(),
            pair: RsaKeyPair::from_pkcs8(&der).expect("the test key is an RSA PKCS#8 key"),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, as Entra's key sets carry it.
    pub fn jwk(&self) -> Value {
        let public = self.components();
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        })
    }

    /// The public modulus bytes: what an attacker would use as the HMAC secret of an HS256 token
    /// in the algorithm-confusion attack.
    pub fn public_modulus(&self) -> Vec<u8> {
        self.components().n
    }

    fn components(&self) -> RsaPublicKeyComponents<Vec<u8>> {
        RsaPublicKeyComponents::from(self.pair.public())
    }
}

/// How a minted token is signed.
pub enum Sign<'a> {
    /// RS256 with this key (whatever the header says).
    Rs256(&'a SigningKey),
    /// HMAC-SHA256 with this secret.
    Hs256(&'a [u8]),
    /// An empty signature, as `alg: none` tokens carry.
    Unsigned,
}

/// A token's claims, as a JSON object a test may change freely.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(pub Map<String, Value>);

impl Claims {
    /// Sets (or replaces) a claim.
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Claims {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    /// Leaves a claim out.
    pub fn without(mut self, name: &str) -> Claims {
        self.0.remove(name);
        self
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `header.claims.signature`, each part unpadded base64url.
pub fn sign(header: &Value, claims: &Claims, with: Sign<'_>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims.0.clone()).to_string())
    );
    let signature = match with {
        Sign::Rs256(key) => {
            let mut out = vec![0u8; key.pair.public().modulus_len()];
            key.pair
                .sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut out,
                )
                .expect("RS256 signing with a test key");
            out
        }
        Sign::Hs256(secret) => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
            ring::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
        }
        Sign::Unsigned => Vec::new(),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The emulator's Entra ID issuer for one tenant: three fixed keys, of which the first is
/// published and signs from the start, the second is published and takes over on `rotate`, and the
/// third is never published.
pub struct Issuer {
    base_url: String,
    tenant: String,
    keys: [SigningKey; 3],
    state: Mutex<KeyState>,
}

struct KeyState {
    /// Indexes into `keys` that the key set lists.
    published: Vec<usize>,
    /// The index of the key new tokens are signed with.
    signing: usize,
}

impl Issuer {
    pub fn new(base_url: &str, tenant: &str) -> Issuer {
        Issuer {
            base_url: base_url.trim_end_matches('/').to_owned(),
            tenant: tenant.to_owned(),
            keys: [
                SigningKey::fixed(0, "emulator-key-1"),
                SigningKey::fixed(1, "emulator-key-2"),
                SigningKey::fixed(2, "never-published"),
            ],
            state: Mutex::new(KeyState {
                published: vec![0],
                signing: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, KeyState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The authority to configure a verifier with: the emulator's URL.
    pub fn authority(&self) -> String {
        self.base_url.clone()
    }

    pub fn tenant(&self) -> String {
        self.tenant.clone()
    }

    /// The `iss` of v2 tokens (`https://login.microsoftonline.com/{tenant}/v2.0` in Entra).
    pub fn issuer_v2(&self) -> String {
        format!("{}/{}/v2.0", self.base_url, self.tenant)
    }

    /// The `iss` of v1 tokens (`https://sts.windows.net/{tenant}/` in Entra's public cloud).
    pub fn issuer_v1(&self) -> String {
        format!("{}/sts/{}/", self.base_url, self.tenant)
    }

    /// The key set as `GET {tenant}/discovery/v2.0/keys` serves it.
    pub fn jwks(&self) -> Value {
        let state = self.state();
        let keys: Vec<Value> = state
            .published
            .iter()
            .map(|&i| self.keys[i].jwk())
            .collect();
        json!({ "keys": keys })
    }

    /// The key new tokens are signed with.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[self.state().signing]
    }

    /// A key whose public half is never published.
    pub fn unpublished_key(&self) -> &SigningKey {
        &self.keys[2]
    }

    /// Key rotation as Entra does it: the second key is published and signs from now on; the
    /// first stays published. Returns the new key's id.
    pub fn rotate(&self) -> String {
        let mut state = self.state();
        if !state.published.contains(&1) {
            state.published.push(1);
        }
        state.signing = 1;
        self.keys[1].kid.clone()
    }

    /// Signs tokens with the second key *before* it is published (the key set still lists only
    /// the first): a verifier must then fail with an unknown key until `rotate` publishes it.
    pub fn sign_with_next_key_unpublished(&self) -> String {
        self.state().signing = 1;
        self.keys[1].kid.clone()
    }

    /// Good v2 access-token claims for `audience` with `roles`, valid from a minute ago for an
    /// hour.
    pub fn claims(&self, audience: &str, roles: &[&str]) -> Claims {
        let now = unix_now();
        let mut map = Map::new();
        map.insert("aud".into(), json!(audience));
        map.insert("iss".into(), json!(self.issuer_v2()));
        map.insert("iat".into(), json!(now - 60));
        map.insert("nbf".into(), json!(now - 60));
        map.insert("exp".into(), json!(now + 3600));
        map.insert("oid".into(), json!("6d8f6a52-0c3c-4c55-9a64-0f1a3c1d9e01"));
        map.insert("sub".into(), json!("6d8f6a52-0c3c-4c55-9a64-0f1a3c1d9e01"));
        map.insert("tid".into(), json!(self.tenant));
        map.insert("azp".into(), json!("backup-doctor-test"));
        map.insert("roles".into(), json!(roles));
        map.insert("ver".into(), json!("2.0"));
        Claims(map)
    }

    /// The header Entra puts on tokens signed with `key`.
    pub fn header(key: &SigningKey) -> Value {
        json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid })
    }

    /// An RS256 token with these claims, signed with the current signing key.
    pub fn token(&self, claims: &Claims) -> String {
        let key = self.signing_key();
        sign(&Issuer::header(key), claims, Sign::Rs256(key))
    }
}
