//! The custom role `deploy/backup-doctor-reader.json` holds exactly the RBAC actions the live
//! collector needs, both ways: every read path of the product (`collect --live`, `scan --live`,
//! `check --live`, serve's `POST /v1/check`), at subscription and management group scope, over
//! the demo fleet and a synthetic one, runs against the ARM emulator; each request it logged is
//! turned into its RBAC action by ARM's general rule (testkit `arm_actions`); the set must equal
//! the role's `Actions`. A request that is no read fails the test too.
//!
//! The unit tests below the end-to-end one prove the comparison and the URL rule can fail.

mod serve_common;

use backup_doctor_testkit::arm_actions::{
    classify, compare, graph_row_types, read_action, Classified, Need, Needs, Role,
};
use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig, LoggedRequest};
use backup_doctor_testkit::fixtures::{demo_vm, root};
use backup_doctor_testkit::live::SECRET;
use backup_doctor_testkit::live::{demo_config, run_blocking, secret_flags, serve, with_secret};
use backup_doctor_testkit::synth::{generate, FleetSpec};
use serde_json::json;
use serve_common::{live_config, Serve};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The role under test: the repository's, or the copy .ci/deploy/check-role.sh names so that
/// its mutations (a copy of deploy/ broken on purpose) are judged by this very test.
fn role_file() -> PathBuf {
    std::env::var_os("BACKUP_DOCTOR_READER_ROLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("deploy/backup-doctor-reader.json"))
}

/// Runs the binary's live command `args` against `emulator` and fails unless it exits with one
/// of `codes` (a run that stopped early would have read less than the product does).
async fn live(emulator: &Emulator, args: &[&str], codes: &[i32]) {
    let mut command = with_secret(emulator, &emulator.tenant_id(), SECRET);
    command.args(args).args(secret_flags(emulator));
    let output = run_blocking(command).await;
    let code = output.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "{args:?} exited {code}, expected one of {codes:?}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `scan --live` of the scope `flag value` (exit 1 when a VM fails, as most fleets' do).
async fn scan(emulator: &Emulator, flag: &str, value: &str) {
    let args = ["scan", "--live", "--format", "json", flag, value];
    live(emulator, &args, &[0, 1]).await;
}

/// Every request `emulator` logged since the last call, into `needs`; one of them must have a
/// path ending with `must_reach` (case-insensitive), the path that shows the step's read ran.
fn take_log(emulator: &Emulator, needs: &mut Needs, must_reach: &str) {
    let requests = emulator.requests();
    emulator.reset_log();
    let reached = requests.iter().any(|r| {
        r.path
            .to_ascii_lowercase()
            .ends_with(&must_reach.to_ascii_lowercase())
    });
    assert!(reached, "no request reached {must_reach}: {requests:#?}");
    needs.add(&requests);
}

/// The subscription folders of a snapshot directory.
fn subscriptions_of(dir: &Path) -> Vec<String> {
    let mut subscriptions: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().is_dir() && entry.file_name() != "tenant")
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    subscriptions.sort();
    subscriptions
}

/// The demo fleet: every subscription (`collect --live`), the tenant root management group
/// (`scan --live`), the readiness check (`check --live`) and serve's `POST /v1/check`.
async fn demo_reads(needs: &mut Needs) {
    let emulator = serve(EmulatorConfig {
        // Without the agent in the `statusOnly` list the collector reads each running VM's
        // instance view: the one per-VM read path.
        status_only_includes_agent: false,
        ..demo_config()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot");
    live(
        &emulator,
        &["collect", "--live", "--out", out.to_str().unwrap()],
        &[0],
    )
    .await;
    take_log(&emulator, needs, "/instanceView");

    let root_group = emulator.tenant_id();
    scan(&emulator, "--management-group", &root_group).await;
    take_log(&emulator, needs, "/descendants");

    live(
        &emulator,
        &[
            "check",
            "--live",
            "--format",
            "json",
            "--vm",
            "vm-app-01",
            "vm-sql-01",
        ],
        &[0, 1],
    )
    .await;
    take_log(&emulator, needs, "/Microsoft.Compute/virtualMachines");

    let store = dir.path().join("history.sqlite");
    let config = live_config(
        &emulator,
        &store.display().to_string(),
        "[auth]\ndisabled = true\n",
    );
    let server = Serve::start(&emulator, dir.path(), &config, &[]);
    let vm = demo_vm("vm-sql-01")["id"].as_str().unwrap().to_owned();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/check", server.url))
        .json(&json!({ "vms": [vm] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    drop(server);
    take_log(&emulator, needs, "/Microsoft.Compute/virtualMachines");
    emulator.shutdown().await;
}

/// A small synthetic fleet (more pages, the casing quirks of generated ids): one subscription
/// named (`scan --live --subscription`), then the default tree's nested group
/// (`collect --live --management-group`).
async fn synthetic_reads(needs: &mut Needs) {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    generate(
        &fleet,
        &FleetSpec {
            subscriptions: 2,
            vms_per_subscription: 6,
            seed: 13,
            jobs_per_vm: 2,
        },
    )
    .unwrap();
    let emulator = serve(EmulatorConfig {
        snapshot: fleet.clone(),
        page_size: 4,
        status_only_includes_agent: false,
        ..demo_config()
    })
    .await;
    let subscriptions = subscriptions_of(&fleet);
    scan(&emulator, "--subscription", &subscriptions[0]).await;
    take_log(&emulator, needs, "/Microsoft.Compute/virtualMachines");
    let out = dir.path().join("snapshot");
    live(
        &emulator,
        &[
            "collect",
            "--live",
            "--out",
            out.to_str().unwrap(),
            "--management-group",
            "nested",
        ],
        &[0],
    )
    .await;
    take_log(&emulator, needs, "/descendants");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_role_is_exactly_the_read_actions_the_collector_uses() {
    let mut needs = Needs::default();
    demo_reads(&mut needs).await;
    synthetic_reads(&mut needs).await;
    assert!(
        needs.refused.is_empty(),
        "requests a reader must never make, or of no known kind:\n  {}",
        needs.refused.join("\n  ")
    );
    // The exclusions were exercised, so what they leave out is known to be left out on purpose.
    assert_eq!(
        needs.outside.len(),
        2,
        "expected sign-in and Microsoft Graph requests: {:?}",
        needs.outside
    );
    let role = Role::load(&role_file()).unwrap_or_else(|e| panic!("{e}"));
    let difference = compare(&role, &needs.actions);
    assert!(
        difference.is_empty(),
        "{} does not match what the collector reads:\n{difference}",
        role_file().display()
    );
}

// ---- The comparison and the URL rule, on known inputs: the test above can fail. ----

fn request(method: &str, path_and_query: &str) -> LoggedRequest {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    LoggedRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        status: 200,
        subscription: None,
        authorization_present: true,
        graph_query: None,
    }
}

const SUB: &str = "/subscriptions/3f0c9931-918c-40bf-9670-c342c6cce996";

fn needs_of(requests: &[LoggedRequest]) -> BTreeMap<String, Need> {
    let mut needs = Needs::default();
    needs.add(requests);
    assert!(needs.refused.is_empty(), "{:?}", needs.refused);
    needs.actions
}

fn role(actions: &[&str]) -> Role {
    Role {
        actions: actions.iter().map(|a| a.to_string()).collect(),
        others: Vec::new(),
    }
}

#[test]
fn arm_paths_map_to_their_read_actions() {
    let cases = [
        ("/subscriptions", "Microsoft.Resources/subscriptions/read"),
        (SUB, "Microsoft.Resources/subscriptions/read"),
        (
            &format!("{SUB}/resourcegroups"),
            "Microsoft.Resources/subscriptions/resourcegroups/read",
        ),
        (
            &format!("{SUB}/resourceGroups"),
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ),
        (
            &format!("{SUB}/providers"),
            "Microsoft.Resources/subscriptions/providers/read",
        ),
        (
            &format!("{SUB}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true"),
            "Microsoft.Compute/virtualMachines/read",
        ),
        (
            &format!("{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-app-01/instanceView?api-version=2024-07-01"),
            "Microsoft.Compute/virtualMachines/instanceView/read",
        ),
        (
            "/providers/Microsoft.Management/managementGroups/landing/descendants?api-version=2020-05-01",
            "Microsoft.Management/managementGroups/descendants/read",
        ),
        (
            &format!("{SUB}/providers/Microsoft.Network/locations/westeurope/serviceTags"),
            "Microsoft.Network/locations/serviceTags/read",
        ),
        (
            &format!("{SUB}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net/A"),
            "Microsoft.Network/privateDnsZones/A/read",
        ),
        // Both spellings ARM uses for the vault type; the action is compared case-insensitively.
        (
            &format!("{SUB}/resourceGroups/rg-bkp/providers/Microsoft.RecoveryServices/vaults/rsv-1/backupProtectedItems"),
            "Microsoft.RecoveryServices/vaults/backupProtectedItems/read",
        ),
        (
            &format!("{SUB}/resourceGroups/rg-bkp/providers/Microsoft.RecoveryServices/Vaults/rsv-1/backupJobs?$filter=startTime%20eq%20'x'"),
            "Microsoft.RecoveryServices/Vaults/backupJobs/read",
        ),
        // A definition saved at a management group: the last provider names the action.
        (
            "/providers/Microsoft.Management/managementGroups/landing/providers/Microsoft.Authorization/policyDefinitions/deny-public-ip",
            "Microsoft.Authorization/policyDefinitions/read",
        ),
        (
            "/providers/Microsoft.Authorization/policySetDefinitions/1f3afdf9",
            "Microsoft.Authorization/policySetDefinitions/read",
        ),
        // nextLinks: a full URL, paging by $skipToken or skiptoken, percent-encoded names.
        (
            &format!("https://management.azure.com{SUB}/providers/Microsoft.Compute/disks?api-version=2024-03-02&$skipToken=eyJhIjoxfQ%3D%3D"),
            "Microsoft.Compute/disks/read",
        ),
        (
            &format!("http://127.0.0.1:8080{SUB}/resourceGroups/rg%20x/providers/Microsoft.KeyVault/vaults/kv-1/secrets?api-version=2022-07-01&skiptoken=5"),
            "Microsoft.KeyVault/vaults/secrets/read",
        ),
        // An escaped slash inside a name stays in the name.
        (
            &format!("{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv%2Fodd/keys"),
            "Microsoft.KeyVault/vaults/keys/read",
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(read_action(url).as_deref(), Ok(expected), "{url}");
    }
    assert!(read_action("/").is_err());
}

#[test]
fn resource_graph_queries_need_the_read_of_every_row_type_they_ask_for() {
    let mut query = request("POST", "/providers/Microsoft.ResourceGraph/resources");
    query.graph_query =
        Some("resources | where type =~ 'microsoft.compute/virtualmachines/extensions'".into());
    assert_eq!(
        classify(&query),
        Ok(Classified::Arm(vec![
            "Microsoft.ResourceGraph/resources/read".into(),
            "microsoft.compute/virtualmachines/extensions/read".into(),
        ]))
    );
    assert_eq!(
        graph_row_types(
            "resourcecontainers | where type == \"microsoft.resources/subscriptions\" | project id, type"
        ),
        Ok(vec!["microsoft.resources/subscriptions".to_owned()])
    );
    // A query that could return rows of any type cannot be judged.
    query.graph_query = Some("resources | project id, name, type".into());
    assert!(classify(&query)
        .unwrap_err()
        .contains("filters on no `type`"));
    query.graph_query = None;
    assert!(classify(&query).is_err());
}

#[test]
fn writes_and_other_posts_are_refused_sign_in_and_graph_are_left_out() {
    let mut needs = Needs::default();
    needs.add(&[
        request(
            "PUT",
            &format!("{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/locks/l"),
        ),
        request(
            "POST",
            &format!(
                "{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/start"
            ),
        ),
        request(
            "DELETE",
            &format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d"),
        ),
        request("GET", "/somewhere/else"),
        request("POST", "/v1.0/servicePrincipals"),
        request(
            "POST",
            "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
        ),
        request("GET", "/v1.0/servicePrincipals?$filter=appId%20eq%20'x'"),
        request(
            "GET",
            &format!("/{SUB}/providers/Microsoft.Authorization/roleDefinitions"),
        ),
    ]);
    assert_eq!(needs.refused.len(), 6, "{:#?}", needs.refused);
    assert!(
        needs.refused[5].contains("empty segment"),
        "{}",
        needs.refused[5]
    );
    assert!(needs.refused[0].starts_with("PUT "), "{}", needs.refused[0]);
    assert!(needs.refused[1].contains("/start: POST is no read"));
    assert!(needs.actions.is_empty());
    assert_eq!(needs.outside.values().sum::<usize>(), 2);
}

#[test]
fn a_role_missing_an_action_is_reported_with_a_request_that_needs_it() {
    let vms = format!("{SUB}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01");
    let needs = needs_of(&[
        request("GET", &vms),
        request(
            "GET",
            &format!("{SUB}/resourcegroups?api-version=2021-04-01"),
        ),
    ]);
    let difference = compare(
        &role(&["Microsoft.Resources/subscriptions/resourceGroups/read"]),
        &needs,
    );
    assert_eq!(difference.extra, Vec::<String>::new());
    assert_eq!(
        difference.missing,
        vec![Need {
            action: "Microsoft.Compute/virtualMachines/read".into(),
            sample: format!("GET {vms}"),
        }]
    );
    let text = difference.to_string();
    assert!(text.contains("lacks"), "{text}");
    assert!(
        text.contains("Microsoft.Compute/virtualMachines/read"),
        "{text}"
    );
    assert!(text.contains(&vms), "{text}");
}

#[test]
fn a_role_with_an_extra_action_is_reported_in_its_own_spelling() {
    let needs = needs_of(&[request(
        "GET",
        &format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupPolicies"
        ),
    )]);
    // Granted in another case: no difference.
    let exact = role(&["Microsoft.RecoveryServices/Vaults/backupPolicies/read"]);
    assert!(compare(&exact, &needs).is_empty());
    let mut wider = role(&[
        "Microsoft.RecoveryServices/Vaults/backupPolicies/read",
        "Microsoft.Compute/virtualMachines/write",
        "*/read",
    ]);
    wider.others.push((
        "DataActions".into(),
        "Microsoft.KeyVault/vaults/secrets/getSecret/action".into(),
    ));
    let difference = compare(&wider, &needs);
    assert!(difference.missing.is_empty());
    assert_eq!(
        difference.extra,
        vec![
            "*/read".to_owned(),
            "Microsoft.Compute/virtualMachines/write".to_owned(),
            "Microsoft.KeyVault/vaults/secrets/getSecret/action (in DataActions)".to_owned(),
        ]
    );
    assert!(difference
        .to_string()
        .contains("Microsoft.Compute/virtualMachines/write  (no request needs it)"));
}

#[test]
fn the_role_file_is_read_or_refused_by_name() {
    let role = Role::load(&role_file()).unwrap();
    assert!(role.actions.len() > 10);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("role.json");
    std::fs::write(
        &bad,
        r#"{"Actions": "Microsoft.Compute/virtualMachines/read"}"#,
    )
    .unwrap();
    let error = Role::load(&bad).unwrap_err();
    assert!(
        error.contains("role.json") && error.contains("not a list"),
        "{error}"
    );
    std::fs::write(&bad, r#"{"Actions": []}"#).unwrap();
    assert!(Role::load(&bad).unwrap_err().contains("empty"));
}
