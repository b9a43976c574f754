//! The ARM emulator over real HTTP, against the demo fleet.

use backup_doctor_testkit::emulator::{Bucket, Emulator, EmulatorConfig};
use backup_doctor_testkit::fixtures::{
    self, DEMO_DEV_SUBSCRIPTION as SUB_DEV, DEMO_PROD_SUBSCRIPTION as SUB_PROD,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const TENANT: &str = "7b9ea66e-083b-4317-b614-c6aa1bfc22ea";
const API: &str = "api-version=2024-07-01";

fn demo() -> EmulatorConfig {
    EmulatorConfig {
        snapshot: fixtures::demo(),
        ..EmulatorConfig::default()
    }
}

async fn start(config: EmulatorConfig) -> (Emulator, Client, String) {
    let emu = Emulator::start(config).await.expect("emulator starts");
    let client = Client::new();
    let token = token(&emu, &client).await;
    (emu, client, token)
}

/// A client-credentials request for an ARM token, as the Azure SDK's secret credential sends it.
async fn client_credentials(client: &Client, emu: &Emulator, secret: &str) -> reqwest::Response {
    client
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", emu.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "backup-doctor-test"),
            ("client_secret", secret),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap()
}

async fn token(emu: &Emulator, client: &Client) -> String {
    let rsp = client_credentials(client, emu, "emulator-secret").await;
    assert_eq!(rsp.status(), StatusCode::OK);
    let body: Value = rsp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get(
    client: &Client,
    token: &str,
    url: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let rsp = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = rsp.status();
    let headers = rsp.headers().clone();
    let body = rsp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// A request with a JSON body and the token: Resource Graph queries, and the writes ARM refuses.
async fn send_json(
    client: &Client,
    method: Method,
    url: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    client
        .request(method, url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Follows nextLinks and returns every item, checking each link is absolute.
async fn collect(emu: &Emulator, client: &Client, token: &str, first: &str) -> (Vec<Value>, usize) {
    let mut url = first.to_owned();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let (status, _, body) = get(client, token, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        pages += 1;
        items.extend(body["value"].as_array().unwrap().iter().cloned());
        match body.get("nextLink").and_then(Value::as_str) {
            Some(next) => {
                assert!(next.starts_with(&emu.url()), "nextLink {next} is absolute");
                url = next.to_owned();
            }
            None => return (items, pages),
        }
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn token_endpoints() {
    let emu = Emulator::start(demo()).await.unwrap();
    assert_eq!(emu.tenant_id(), TENANT);
    let client = Client::new();
    let url = emu.url();
    let good = client_credentials(&client, &emu, "emulator-secret").await;
    assert_eq!(good.status(), StatusCode::OK);
    let body: Value = good.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body["access_token"].as_str().unwrap().len() > 16);

    let bad = client_credentials(&client, &emu, "wrong").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215"));

    let unknown_tenant = client
        .post(format!(
            "{url}/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token"
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "backup-doctor-test"),
            ("client_secret", "emulator-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_tenant.status(), StatusCode::BAD_REQUEST);
    let body: Value = unknown_tenant.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let jwt_part = |json: &str| azure_core::base64::encode_url_safe(json);
    let federated = format!(
        "{}.{}.c2lnbmF0dXJl",
        jwt_part(r#"{"alg":"RS256","typ":"JWT"}"#),
        jwt_part(
            r#"{"iss":"https://token.actions.githubusercontent.com","sub":"repo:o/r:ref:refs/heads/main"}"#
        )
    );
    for (assertion, expected) in [
        (federated.as_str(), StatusCode::OK),
        ("eyJhbGciOi.not-a.jwt", StatusCode::UNAUTHORIZED),
    ] {
        let answer = client
            .post(format!("{url}/{TENANT}/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "backup-doctor-test"),
                ("client_assertion", assertion),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("resource", "https://management.azure.com/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), expected, "{assertion}");
    }

    let msi = |header: Option<&'static str>| {
        let mut req = client.get(format!(
            "{url}/msi/token?resource=https://management.azure.com&api-version=2019-08-01"
        ));
        if let Some(h) = header {
            req = req.header("X-IDENTITY-HEADER", h);
        }
        req.send()
    };
    let ok = msi(Some("emulator-identity-header")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert!(body["expires_on"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(body["resource"], "https://management.azure.com");
    assert_eq!(
        msi(Some("wrong")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(msi(None).await.unwrap().status(), StatusCode::BAD_REQUEST);

    let imds = client
        .get(format!("{url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com"))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(imds.status(), StatusCode::OK);
    let body: Value = imds.json().await.unwrap();
    // A managed identity token is as good as a client-credentials one.
    let issued = body["access_token"].as_str().unwrap();
    let (status, _, _) = get(&client, issued, &format!("{url}/subscriptions?{API}")).await;
    assert_eq!(status, StatusCode::OK);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_requires_an_issued_token_and_an_api_version() {
    let (emu, client, token) = start(demo()).await;
    let url = format!("{}/subscriptions?{API}", emu.url());
    let rsp = client.get(&url).send().await.unwrap();
    assert_eq!(rsp.status(), StatusCode::UNAUTHORIZED);
    assert!(rsp
        .headers()
        .contains_key("x-ms-ratelimit-remaining-subscription-reads"));
    let body: Value = rsp.json().await.unwrap();
    assert_eq!(error_code(&body), "InvalidAuthenticationToken");
    let (status, _, body) = get(&client, "emu.not-issued", &url).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "InvalidAuthenticationToken");

    let (status, headers, body) = get(&client, &token, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["x-ms-ratelimit-remaining-subscription-reads"],
        "11999"
    );
    assert!(headers.contains_key("x-ms-request-id"));
    assert_eq!(body["value"].as_array().unwrap().len(), 2);

    let (status, _, body) = get(&client, &token, &format!("{}/subscriptions", emu.url())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "MissingApiVersionParameter");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vm_lists_page_without_instance_views_and_status_only_carries_them() {
    let (emu, client, token) = start(EmulatorConfig {
        page_size: 5,
        ..demo()
    })
    .await;
    let mut all = Vec::new();
    let mut total_pages = 0;
    for sub in [SUB_PROD, SUB_DEV] {
        let first = format!(
            "{}/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?{API}",
            emu.url()
        );
        let (vms, pages) = collect(&emu, &client, &token, &first).await;
        total_pages += pages;
        all.extend(vms);
    }
    assert_eq!(all.len(), 23);
    assert_eq!(total_pages, 3 + 2, "13 VMs in 3 pages, 10 VMs in 2");
    assert!(all
        .iter()
        .all(|vm| vm["properties"].get("instanceView").is_none()));
    assert!(all
        .iter()
        .all(|vm| vm["properties"].get("storageProfile").is_some()));

    let first = format!(
        "{}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines?{API}&statusOnly=true",
        emu.url()
    );
    let (vms, _) = collect(&emu, &client, &token, &first).await;
    assert_eq!(vms.len(), 13);
    for vm in &vms {
        let view = &vm["properties"]["instanceView"];
        assert!(view["statuses"].is_array(), "{vm}");
        assert!(view.get("vmAgent").is_some(), "{vm}");
        assert!(vm["properties"].get("storageProfile").is_none());
        assert!(vm["id"].is_string() && vm["name"].is_string() && vm["location"].is_string());
    }
    emu.shutdown().await;

    let (emu, client, token) = start(EmulatorConfig {
        status_only_includes_agent: false,
        ..demo()
    })
    .await;
    let status_only = format!(
        "{}/subscriptions/{SUB_DEV}/providers/Microsoft.Compute/virtualMachines?{API}&statusOnly=true",
        emu.url()
    );
    let (_, _, body) = get(&client, &token, &status_only).await;
    let vms = body["value"].as_array().unwrap();
    assert_eq!(vms.len(), 10);
    assert!(vms
        .iter()
        .all(|vm| vm["properties"]["instanceView"].get("vmAgent").is_none()));
    assert!(vms
        .iter()
        .all(|vm| vm["properties"]["instanceView"]["statuses"].is_array()));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn instance_view_and_extensions_per_vm() {
    let (emu, client, token) = start(demo()).await;
    let vms_url = format!(
        "{}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines?{API}",
        emu.url()
    );
    let (_, _, body) = get(&client, &token, &vms_url).await;
    let mut extensions = 0;
    for vm in body["value"].as_array().unwrap() {
        let id = vm["id"].as_str().unwrap();
        let view_url = format!("{}{id}/instanceView?{API}", emu.url());
        let (status, _, view) = get(&client, &token, &view_url).await;
        assert_eq!(status, StatusCode::OK);
        assert!(view["vmAgent"].is_object(), "{id}");
        let extensions_url = format!("{}{id}/extensions?{API}", emu.url());
        let (status, _, list) = get(&client, &token, &extensions_url).await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.get("nextLink").is_none());
        for ext in list["value"].as_array().unwrap() {
            let ext_id = ext["id"].as_str().unwrap().to_lowercase();
            assert!(ext_id.starts_with(&format!("{}/extensions/", id.to_lowercase())));
        }
        extensions += list["value"].as_array().unwrap().len();
    }
    assert!(extensions > 0);
    let missing = format!(
        "{}/subscriptions/{SUB_PROD}/resourceGroups/rg-web-prod/providers/Microsoft.Compute/virtualMachines/nope/instanceView?{API}",
        emu.url()
    );
    let (status, _, body) = get(&client, &token, &missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "ResourceNotFound");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn child_and_scope_lists() {
    let (emu, client, token) = start(demo()).await;
    let url = emu.url();
    // Protected items of every vault add up to the fleet's 21.
    let mut items = 0;
    for sub in [SUB_PROD, SUB_DEV] {
        let vaults_url =
            format!("{url}/subscriptions/{sub}/providers/Microsoft.RecoveryServices/vaults?{API}");
        let (_, _, vaults) = get(&client, &token, &vaults_url).await;
        for vault in vaults["value"].as_array().unwrap() {
            let id = vault["id"].as_str().unwrap();
            let (items_of_vault, _) = collect(
                &emu,
                &client,
                &token,
                &format!("{url}{id}/backupProtectedItems?{API}"),
            )
            .await;
            for item in &items_of_vault {
                let item_id = item["id"].as_str().unwrap().to_lowercase();
                assert!(item_id.starts_with(&format!("{}/", id.to_lowercase())));
            }
            items += items_of_vault.len();
        }
    }
    assert_eq!(items, 21);

    let kv = format!("/subscriptions/{SUB_PROD}/resourceGroups/rg-security-prod/providers/Microsoft.KeyVault/vaults/kv-prod-ade");
    let (status, _, keys) = get(&client, &token, &format!("{url}{kv}/keys?{API}")).await;
    assert_eq!(status, StatusCode::OK);
    let keys = keys["value"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], format!("{kv}/keys/ade-kek"));

    // Subscription-wide lists include resource-group and resource scopes.
    let locks_url =
        format!("{url}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/locks?{API}");
    let (_, _, locks) = get(&client, &token, &locks_url).await;
    assert_eq!(locks["value"].as_array().unwrap().len(), 1);
    assert!(locks["value"][0]["id"]
        .as_str()
        .unwrap()
        .contains("/resourceGroups/rg-network-prod/"));
    for (scope, count) in [
        (format!("/subscriptions/{SUB_DEV}"), 3),
        (
            format!("/subscriptions/{SUB_DEV}/resourceGroups/rg-security-dev"),
            2,
        ),
    ] {
        let assignments_url =
            format!("{url}{scope}/providers/Microsoft.Authorization/roleAssignments?{API}");
        let (_, _, assignments) = get(&client, &token, &assignments_url).await;
        assert_eq!(
            assignments["value"].as_array().unwrap().len(),
            count,
            "{scope}"
        );
    }

    // Paths match case-insensitively, and a single resource is served as held.
    let vault_url = format!("{url}{}?{API}", kv.to_uppercase());
    let (status, _, vault) = get(&client, &token, &vault_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(vault["name"], "kv-prod-ade");
    for list in ["resourcegroups", "providers"] {
        let list_url = format!("{url}/subscriptions/{SUB_PROD}/{list}?{API}");
        let (_, _, listed) = get(&client, &token, &list_url).await;
        assert!(!listed["value"].as_array().unwrap().is_empty(), "{list}");
    }
    let tags_url = format!("{url}/subscriptions/{SUB_DEV}/providers/Microsoft.Network/locations/westus2/serviceTags?{API}");
    let (status, _, tags) = get(&client, &token, &tags_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tags["values"].is_array());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_answers_429_per_subscription() {
    let (emu, client, token) = start(EmulatorConfig {
        throttle: Some(Bucket {
            capacity: 3,
            refill_per_second: 0.001,
        }),
        ..demo()
    })
    .await;
    let url = format!(
        "{}/subscriptions/{SUB_PROD}/resourcegroups?{API}",
        emu.url()
    );
    for expected in ["2", "1", "0"] {
        let (status, headers, _) = get(&client, &token, &url).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers["x-ms-ratelimit-remaining-subscription-reads"],
            expected
        );
    }
    let (status, headers, body) = get(&client, &token, &url).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "SubscriptionRequestsThrottled");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    // The other subscription has its own bucket.
    let other = format!("{}/subscriptions/{SUB_DEV}/resourcegroups?{API}", emu.url());
    let (status, _, _) = get(&client, &token, &other).await;
    assert_eq!(status, StatusCode::OK);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_faults() {
    let (emu, client, token) = start(EmulatorConfig {
        forbidden: vec!["microsoft.keyvault".to_owned()],
        malformed: vec!["/providers/Microsoft.Network/routeTables".to_owned()],
        fail_every: Some((4, 503)),
        ..demo()
    })
    .await;
    let url = emu.url();
    let kv = format!("{url}/subscriptions/{SUB_PROD}/providers/Microsoft.KeyVault/vaults?{API}");
    let (status, _, body) = get(&client, &token, &kv).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "AuthorizationFailed");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/providers/Microsoft.KeyVault/vaults"));

    let routes =
        format!("{url}/subscriptions/{SUB_PROD}/providers/Microsoft.Network/routeTables?{API}");
    let rsp = client
        .get(&routes)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), StatusCode::OK);
    let text = rsp.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err());

    // Third request of the subscription went fine, the fourth is the injected failure.
    let groups = format!("{url}/subscriptions/{SUB_PROD}/resourcegroups?{API}");
    let (status, _, _) = get(&client, &token, &groups).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = get(&client, &token, &groups).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(error_code(&body), "ServiceUnavailable");
    let (status, _, _) = get(&client, &token, &groups).await;
    assert_eq!(status, StatusCode::OK);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_refused() {
    let (emu, client, token) = start(demo()).await;
    let url = format!(
        "{}/subscriptions/{SUB_PROD}/resourcegroups/rg-web-prod?{API}",
        emu.url()
    );
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let rsp = send_json(&client, method.clone(), &url, &token, &json!({})).await;
        assert_eq!(rsp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let body: Value = rsp.json().await.unwrap();
        assert_eq!(error_code(&body), "MethodNotAllowed");
    }
    let log = emu.requests();
    let methods: Vec<&str> = log.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["POST", "PUT", "DELETE", "PATCH"]);
    assert!(log[1..].iter().all(|r| r.status == 405));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resource_graph_pages_with_skip_tokens() {
    let (emu, client, token) = start(EmulatorConfig {
        page_size: 10,
        ..demo()
    })
    .await;
    let url = format!(
        "{}/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01",
        emu.url()
    );
    let mut data = Vec::new();
    let mut skip: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut options = json!({"resultFormat": "objectArray"});
        if let Some(s) = &skip {
            options["$skipToken"] = json!(s);
        }
        let body = json!({
            "subscriptions": [SUB_PROD, SUB_DEV],
            "query": "Resources | where type =~ 'microsoft.compute/virtualmachines/EXTENSIONS' | project id, name",
            "options": options,
        });
        let rsp = send_json(&client, Method::POST, &url, &token, &body).await;
        assert_eq!(rsp.status(), StatusCode::OK);
        let page: Value = rsp.json().await.unwrap();
        pages += 1;
        assert_eq!(page["totalRecords"], 31);
        assert_eq!(
            page["count"].as_u64().unwrap() as usize,
            page["data"].as_array().unwrap().len()
        );
        data.extend(page["data"].as_array().unwrap().iter().cloned());
        match page.get("$skipToken").and_then(Value::as_str) {
            Some(s) => skip = Some(s.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(data.len(), 31);
    let subs: std::collections::BTreeSet<&str> = data
        .iter()
        .map(|e| e["id"].as_str().unwrap().split('/').nth(2).unwrap())
        .collect();
    assert_eq!(subs.len(), 2);

    // $top smaller than the page size wins; one subscription restricts.
    let body = json!({"subscriptions": [SUB_DEV], "query": "resources | where type =~ 'Microsoft.Compute/virtualMachines'", "options": {"$top": 3}});
    let rsp = send_json(&client, Method::POST, &url, &token, &body).await;
    let page: Value = rsp.json().await.unwrap();
    assert_eq!(page["totalRecords"], 10);
    assert_eq!(page["count"], 3);

    let body = json!({"query": "resources | summarize count() by type"});
    let rsp = send_json(&client, Method::POST, &url, &token, &body).await;
    assert_eq!(rsp.status(), StatusCode::BAD_REQUEST);
    let body: Value = rsp.json().await.unwrap();
    assert_eq!(error_code(&body), "BadRequest");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("summarize"));
    emu.shutdown().await;
}

/// The demo fleet's policy objects over HTTP: prod sits under mg-corp and mg-contoso, dev under
/// mg-sandbox and mg-contoso (its `tenant/resourceContainers.json`).
#[tokio::test(flavor = "multi_thread")]
async fn policy_routes_and_subscription_containers() {
    let (emu, client, token) = start(EmulatorConfig {
        page_size: 2,
        ..demo()
    })
    .await;
    let names = |items: &[Value]| {
        let mut names: Vec<String> = items
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let list = |sub: &str, kind: &str| {
        format!(
            "{}/subscriptions/{sub}/providers/Microsoft.Authorization/{kind}?api-version=2023-04-01",
            emu.url()
        )
    };
    let (prod, pages) = collect(&emu, &client, &token, &list(SUB_PROD, "policyAssignments")).await;
    assert_eq!(pages, 2);
    assert_eq!(
        names(&prod),
        [
            "allowed-rg-locations",
            "north-europe-only",
            "rg-costcenter-tag",
            "tag-governance"
        ]
    );
    let (dev, _) = collect(&emu, &client, &token, &list(SUB_DEV, "policyAssignments")).await;
    assert_eq!(
        names(&dev),
        [
            "allowed-rg-locations",
            "deny-untagged-resources",
            "rg-owner-tag",
            "tag-governance"
        ]
    );
    let (exemptions, _) = collect(&emu, &client, &token, &list(SUB_DEV, "policyExemptions")).await;
    assert_eq!(
        names(&exemptions),
        ["backup-restore-points", "backup-restore-points-wus2"]
    );
    let (none, _) = collect(&emu, &client, &token, &list(SUB_PROD, "policyExemptions")).await;
    assert!(none.is_empty());

    // Definitions by id, at each of the three scopes a definition can live at.
    for id in [
        "/providers/Microsoft.Authorization/policyDefinitions/e765b5de-1225-4ba3-bd56-1ac6695af988",
        "/providers/Microsoft.Management/managementGroups/mg-contoso/providers/Microsoft.Authorization/policySetDefinitions/tag-governance",
        "/providers/Microsoft.Management/managementGroups/mg-contoso/providers/Microsoft.Authorization/policyDefinitions/require-tag-on-resources",
        "/subscriptions/9200a15f-69ff-4a7b-aebd-c582c1ca746a/providers/Microsoft.Authorization/policyDefinitions/deny-untagged-resources",
    ] {
        let (status, _, body) =
            get(&client, &token, &format!("{}{id}?api-version=2021-06-01", emu.url())).await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
        assert_eq!(body["id"], id);
    }
    let missing = format!(
        "{}/providers/Microsoft.Authorization/policyDefinitions/nope?api-version=2021-06-01",
        emu.url()
    );
    let (status, _, _) = get(&client, &token, &missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let assignments = list(SUB_DEV, "policyAssignments");
    let rsp = send_json(&client, Method::PUT, &assignments, &token, &json!({})).await;
    assert_eq!(rsp.status(), StatusCode::METHOD_NOT_ALLOWED);

    // The container rows answer Resource Graph and leave ARM's subscription objects alone.
    let graph = format!(
        "{}/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01",
        emu.url()
    );
    let body = json!({
        "subscriptions": [SUB_PROD, SUB_DEV],
        "query": "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | project id, name, type, tenantId, subscriptionId, properties",
        "options": {"$top": 1000, "resultFormat": "objectArray"},
    });
    let rsp = send_json(&client, Method::POST, &graph, &token, &body).await;
    assert_eq!(rsp.status(), StatusCode::OK);
    let page: Value = rsp.json().await.unwrap();
    let rows = page["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r["properties"]["managementGroupAncestorsChain"].is_array()));
    let body = json!({"query": "resourcecontainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups'"});
    let rsp = send_json(&client, Method::POST, &graph, &token, &body).await;
    assert_eq!(rsp.status(), StatusCode::BAD_REQUEST);
    let (subs, _) = collect(
        &emu,
        &client,
        &token,
        &format!("{}/subscriptions?api-version=2021-01-01", emu.url()),
    )
    .await;
    assert_eq!(subs.len(), 2);
    assert!(subs
        .iter()
        .all(|s| s.get("properties").is_none() && s["authorizationSource"] == "RoleBased"));
    let sub_url = format!(
        "{}/subscriptions/{SUB_PROD}?api-version=2021-01-01",
        emu.url()
    );
    let (status, _, sub) = get(&client, &token, &sub_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sub["displayName"], "contoso-prod");
    assert!(sub.get("properties").is_none());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_service_principals() {
    let (emu, client, token) = start(demo()).await;
    let url = format!(
        "{}/v1.0/servicePrincipals?$filter=appId eq '262044b1-e2ce-469f-a196-69ab7ada62d3'",
        emu.url()
    );
    let (status, _, body) = get(&client, &token, &url).await;
    assert_eq!(status, StatusCode::OK);
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["id"], "c1af4465-06f1-42fc-a101-0f154a9f2968");
    let none = format!(
        "{}/v1.0/servicePrincipals?$filter=appId eq 'nobody'",
        emu.url()
    );
    let (_, _, body) = get(&client, &token, &none).await;
    assert_eq!(body["value"], json!([]));
    let rsp = client.get(&url).send().await.unwrap();
    assert_eq!(rsp.status(), StatusCode::UNAUTHORIZED);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_log() {
    let (emu, client, token) = start(demo()).await;
    let list = format!(
        "{}/subscriptions/{SUB_DEV}/providers/Microsoft.Compute/virtualMachines?{API}",
        emu.url()
    );
    get(&client, &token, &list).await;
    client.get(&list).send().await.unwrap();
    let log = emu.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert!(!log[0].authorization_present);
    assert_eq!(log[1].method, "GET");
    assert_eq!(
        log[1].path,
        format!("/subscriptions/{SUB_DEV}/providers/Microsoft.Compute/virtualMachines")
    );
    assert_eq!(log[1].query, API);
    assert_eq!(log[1].status, 200);
    assert_eq!(log[1].subscription.as_deref(), Some(SUB_DEV));
    assert!(log[1].authorization_present);
    assert_eq!(log[2].status, 401);
    assert!(!log[2].authorization_present);
    // Tokens and secrets never reach the log.
    let printed = format!("{log:?}");
    assert!(!printed.contains(&token));
    assert_eq!(emu.issued_tokens(), vec![token.clone()]);
    assert!(!printed.contains("emulator-secret"));
    emu.reset_log();
    assert!(emu.requests().is_empty());
    emu.shutdown().await;
}

/// The point of the emulator: the Azure SDK itself authenticates, pages and parses through it.
#[tokio::test(flavor = "multi_thread")]
async fn the_azure_sdk_collects_through_the_emulator() {
    use azure_core::auth::TokenCredential;
    use futures::StreamExt;
    use std::sync::Arc;

    let emu = Emulator::start(EmulatorConfig {
        page_size: 4,
        ..demo()
    })
    .await
    .unwrap();
    let endpoint = azure_core::Url::parse(&emu.url()).unwrap();
    let credential: Arc<dyn TokenCredential> =
        Arc::new(azure_identity::ClientSecretCredential::new(
            azure_core::new_http_client(),
            endpoint.clone(),
            TENANT.to_owned(),
            "backup-doctor-test".to_owned(),
            "emulator-secret".to_owned(),
        ));
    let scopes = &["https://management.azure.com/.default"];

    let compute = azure_mgmt_compute::package_2024_07_01::Client::builder(Arc::clone(&credential))
        .endpoint(endpoint.clone())
        .scopes(scopes)
        .build()
        .unwrap();
    let mut vms = 0;
    let mut with_agent = 0;
    for sub in [SUB_PROD, SUB_DEV] {
        let mut pages = compute
            .virtual_machines_client()
            .list_all(sub)
            .into_stream();
        while let Some(page) = pages.next().await {
            let page = page.expect("VM page");
            vms += page.value.len();
        }
        let mut pages = compute
            .virtual_machines_client()
            .list_all(sub)
            .status_only("true")
            .into_stream();
        while let Some(page) = pages.next().await {
            for vm in page.expect("statusOnly page").value {
                let view = vm.properties.and_then(|p| p.instance_view);
                with_agent += usize::from(view.and_then(|v| v.vm_agent).is_some());
            }
        }
    }
    assert_eq!(vms, 23);
    // vm-dev-stopped-01 is deallocated: its captured instance view has no agent.
    assert_eq!(with_agent, 22);

    let graph = azure_mgmt_resourcegraph::Client::builder(credential)
        .endpoint(endpoint)
        .scopes(scopes)
        .build()
        .unwrap();
    let mut rows = 0;
    let mut skip = None;
    loop {
        let mut request = azure_mgmt_resourcegraph::models::QueryRequest::new(
            "resources | where type =~ 'Microsoft.Compute/virtualMachines/extensions'".to_owned(),
        );
        request.subscriptions = vec![SUB_PROD.to_owned(), SUB_DEV.to_owned()];
        let mut options = azure_mgmt_resourcegraph::models::QueryRequestOptions::new();
        options.skip_token = skip.take();
        request.options = Some(options);
        let page = graph.resources(request).await.expect("graph page");
        rows += page.data.as_array().map_or(0, Vec::len);
        match page.skip_token {
            Some(token) => skip = Some(token),
            None => break,
        }
    }
    assert_eq!(rows, 31);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_snapshot_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("sub").join("broken.json");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, "{\"value\": [").unwrap();
    let err = Emulator::start(EmulatorConfig {
        snapshot: dir.path().to_path_buf(),
        ..EmulatorConfig::default()
    })
    .await
    .err()
    .expect("bad JSON is refused");
    assert!(err.to_string().contains("broken.json"), "{err}");
    let missing = Emulator::start(EmulatorConfig {
        snapshot: dir.path().join("nowhere"),
        ..EmulatorConfig::default()
    })
    .await
    .err()
    .expect("a missing snapshot is refused");
    assert!(missing.to_string().contains("nowhere"), "{missing}");
}
