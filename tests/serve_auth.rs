//! `serve` with Entra ID tokens for real: the emulator is the tenant's authority (OpenID
//! configuration, JWKS, RS256 tokens with app roles) and every refusal is checked over HTTP:
//! no token, an expired one, one for another audience, one signed by a key the tenant does not
//! publish, an `alg: none` one, and a valid token without the role.

mod serve_common;

use backup_doctor_testkit::live::{demo_config, serve};
use backup_doctor_testkit::tokens::{sign, unix_now, Issuer, Sign};
use serde_json::{json, Value};
use serve_common::{live_config, Api, Serve};

const AUDIENCE: &str = "api://backup-doctor";
const READ: &str = "BackupDoctor.Read";
const OPERATE: &str = "BackupDoctor.Operate";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_and_roles_enforced_over_http() {
    let emulator = serve(demo_config()).await;
    let issuer: &Issuer = emulator.issuer();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    let auth = format!(
        "[auth]\ntenant_id = \"{}\"\nauthority = \"{}\"\naudience = [\"{AUDIENCE}\"]\nreader_role = \"{READ}\"\noperator_role = \"{OPERATE}\"\n",
        issuer.tenant(),
        issuer.authority()
    );
    let config = live_config(&emulator, &store.display().to_string(), &auth);
    let server = Serve::start(&emulator, dir.path(), &config, &[]);
    let url = server.url.clone();
    let client = reqwest::Client::new();
    let api = Api::fetch(&client, &url).await;

    let reader = issuer.token(&issuer.claims(AUDIENCE, &[READ]));
    let operator = issuer.token(&issuer.claims(AUDIENCE, &[OPERATE]));
    let expired = issuer.token(
        &issuer
            .claims(AUDIENCE, &[OPERATE])
            .set("exp", unix_now() - 3600)
            .set("nbf", unix_now() - 7200),
    );
    let other_audience = issuer.token(&issuer.claims("api://another-api", &[OPERATE]));
    let unpublished = {
        let key = issuer.unpublished_key();
        sign(
            &Issuer::header(key),
            &issuer.claims(AUDIENCE, &[OPERATE]),
            Sign::Rs256(key),
        )
    };
    let none = sign(
        &json!({ "typ": "JWT", "alg": "none" }),
        &issuer.claims(AUDIENCE, &[OPERATE]),
        Sign::Unsigned,
    );

    let get = |token: Option<String>| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let mut request = client.get(format!("{url}/v1/scans"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap()
        }
    };

    // No token: 401 with a bare Bearer challenge.
    let response = get(None).await;
    assert_eq!(response.status().as_u16(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    api.conforms(
        "get",
        "/v1/scans",
        401,
        &response.json::<Value>().await.unwrap(),
    );

    // Refused tokens: 401 with invalid_token, the token never echoed.
    for (what, token) in [
        ("expired", &expired),
        ("another audience", &other_audience),
        ("an unpublished key", &unpublished),
        ("alg none", &none),
    ] {
        let response = get(Some(token.clone())).await;
        assert_eq!(response.status().as_u16(), 401, "{what}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        let body = response.text().await.unwrap();
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(
                !body.contains(part) && !challenge.contains(part),
                "{what}: the answer repeats the token"
            );
        }
    }

    // A reader reads, but may not start a scan or check: 403.
    let response = get(Some(reader.clone())).await;
    assert_eq!(response.status().as_u16(), 200);
    api.conforms(
        "get",
        "/v1/scans",
        200,
        &response.json::<Value>().await.unwrap(),
    );
    let response = client
        .post(format!("{url}/v1/scans"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    api.conforms(
        "post",
        "/v1/scans",
        403,
        &response.json::<Value>().await.unwrap(),
    );
    let response = client
        .post(format!("{url}/v1/check"))
        .bearer_auth(&reader)
        .json(&json!({ "vms": ["/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/z"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);

    // The operator may; it reads too.
    let response = client
        .post(format!("{url}/v1/scans"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let response = get(Some(operator.clone())).await;
    assert_eq!(response.status().as_u16(), 200);

    // Health is open by default, metrics are not.
    assert_eq!(
        client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        client
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );

    // The request log names the caller's object id and never a token.
    let logs = server.logs();
    assert!(
        logs.iter()
            .any(|line| line.contains("\"caller\":\"6d8f6a52-0c3c-4c55-9a64-0f1a3c1d9e01\"")),
        "{logs:?}"
    );
    for line in &logs {
        for token in [
            &reader,
            &operator,
            &expired,
            &other_audience,
            &unpublished,
            &none,
        ] {
            let signature = token.rsplit('.').next().unwrap();
            assert!(
                signature.len() < 8 || !line.contains(signature),
                "a token reached the log: {line}"
            );
        }
    }
}
