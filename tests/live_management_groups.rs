//! `--management-group`: every subscription below a group, at any depth, read through ARM's
//! descendants list (paged) against the emulator, alone or with `--subscription`; a group that
//! cannot be read stops the run with exit 2, naming the group and the fix.

use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig, ManagementGroup};
use backup_doctor_testkit::fixtures::{demo_tenant, DEMO_DEV_SUBSCRIPTION, DEMO_PROD_SUBSCRIPTION};
use backup_doctor_testkit::json;
use backup_doctor_testkit::live::{
    demo_config, run_blocking, secret_flags, serve, with_secret, SECRET,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

const DESCENDANTS: &str = "/descendants";

/// root → PROD and `platform`; platform → `landing` only; landing → DEV; `empty` holds nothing.
/// Served two items a page, so root's descendants take two pages.
fn tree_config() -> EmulatorConfig {
    let group = |children: &[&str], subscriptions: &[&str]| ManagementGroup {
        children: children.iter().map(|c| c.to_string()).collect(),
        subscriptions: subscriptions.iter().map(|s| s.to_string()).collect(),
    };
    EmulatorConfig {
        page_size: 2,
        management_groups: Some(BTreeMap::from([
            (
                "root".into(),
                group(&["platform"], &[DEMO_PROD_SUBSCRIPTION]),
            ),
            ("platform".into(), group(&["landing"], &[])),
            ("landing".into(), group(&[], &[DEMO_DEV_SUBSCRIPTION])),
            ("empty".into(), group(&[], &[])),
        ])),
        ..demo_config()
    }
}

async fn live(emulator: &Emulator, command: &[&str], extra: &[&str]) -> Output {
    let mut run = with_secret(emulator, &demo_tenant(), SECRET);
    run.args(command).args(secret_flags(emulator)).args(extra);
    run_blocking(run).await
}

/// `collect --live` with `extra`: the subscriptions the snapshot holds (from its subscription
/// list and from its per-subscription folders, which must agree).
async fn collected(emulator: &Emulator, out: &Path, extra: &[&str]) -> BTreeSet<String> {
    let out_text = out.to_str().unwrap();
    let output = live(emulator, &["collect", "--live", "--out", out_text], extra).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: BTreeSet<String> =
        json::items(&json::read(out.join("tenant/subscriptions.json"))["value"])
            .iter()
            .map(|s| s["subscriptionId"].as_str().unwrap().to_owned())
            .collect();
    let folders: BTreeSet<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "tenant" && !name.ends_with(".json"))
        .collect();
    assert_eq!(listed, folders);
    listed
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_resolves_to_exactly_the_subscriptions_below_it_at_any_depth() {
    let emulator = serve(tree_config()).await;
    let dir = tempfile::tempdir().unwrap();
    // DEV sits two levels below platform, PROD beside platform: only DEV is platform's.
    let platform = collected(
        &emulator,
        &dir.path().join("platform"),
        &["--management-group", "platform"],
    )
    .await;
    assert_eq!(platform, set(&[DEMO_DEV_SUBSCRIPTION]));
    emulator.reset_log();
    let root = collected(
        &emulator,
        &dir.path().join("root"),
        &["--management-group", "ROOT"],
    )
    .await;
    assert_eq!(root, set(&[DEMO_PROD_SUBSCRIPTION, DEMO_DEV_SUBSCRIPTION]));
    // root's four descendants come in two pages, both read with the run's token.
    let pages: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(DESCENDANTS))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages
        .iter()
        .all(|r| r.status == 200 && r.authorization_present));
    assert!(
        pages[0].query.contains("api-version=2020-05-01"),
        "{pages:?}"
    );
    assert!(pages[1].query.contains("skiptoken"), "{pages:?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_subscriptions_together_are_their_union_and_the_default_tree_nests() {
    let emulator = serve(tree_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let union = collected(
        &emulator,
        &dir.path().join("union"),
        &[
            "--management-group",
            "landing",
            "--subscription",
            DEMO_PROD_SUBSCRIPTION,
        ],
    )
    .await;
    assert_eq!(union, set(&[DEMO_PROD_SUBSCRIPTION, DEMO_DEV_SUBSCRIPTION]));
    // Named twice, read once.
    let overlap = collected(
        &emulator,
        &dir.path().join("overlap"),
        &[
            "--management-group",
            "landing",
            "--subscription",
            &DEMO_DEV_SUBSCRIPTION.to_uppercase(),
        ],
    )
    .await;
    assert_eq!(overlap.len(), 1, "{overlap:?}");
    emulator.shutdown().await;

    // The emulator's own tree: the tenant root holds PROD, its child `nested` holds DEV.
    let emulator = serve(demo_config()).await;
    let nested = collected(
        &emulator,
        &dir.path().join("nested"),
        &["--management-group", "nested"],
    )
    .await;
    assert_eq!(nested, set(&[DEMO_DEV_SUBSCRIPTION]));
    let tenant = demo_tenant();
    let root = collected(
        &emulator,
        &dir.path().join("tenant-root"),
        &["--management-group", &tenant],
    )
    .await;
    assert_eq!(root, set(&[DEMO_PROD_SUBSCRIPTION, DEMO_DEV_SUBSCRIPTION]));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_cannot_be_read_or_holds_nothing_is_exit_2_naming_it() {
    let emulator = serve(tree_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    for command in [
        &["scan", "--live"][..],
        &["collect", "--live", "--out", out],
        &["check", "--live", "--vm", "vm-app-01"],
    ] {
        let output = live(&emulator, command, &["--management-group", "no-such-group"]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("`no-such-group` does not exist"),
            "{stderr}"
        );
        assert!(
            stderr.contains("Reader on the management group"),
            "{stderr}"
        );
    }
    // An empty group must not widen the run to every subscription.
    emulator.reset_log();
    let output = live(
        &emulator,
        &["scan", "--live"],
        &["--management-group", "empty"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`empty` holds no subscription"), "{stderr}");
    assert!(emulator.requests().iter().all(|r| r.subscription.is_none()));
    // A malformed id is refused before any call.
    emulator.reset_log();
    let output = live(
        &emulator,
        &["scan", "--live"],
        &["--management-group", "a/b"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--management-group"), "{stderr}");
    assert!(emulator.requests().is_empty());
    emulator.shutdown().await;

    // ARM's answer to a group the identity may not read.
    let emulator = serve(EmulatorConfig {
        forbidden: vec!["managementGroups/root".into()],
        ..tree_config()
    })
    .await;
    let output = live(
        &emulator,
        &["scan", "--live"],
        &["--management-group", "root"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`root` cannot be read"), "{stderr}");
    assert!(
        stderr.contains("Reader on the management group"),
        "{stderr}"
    );
    emulator.shutdown().await;
}

#[test]
fn the_custom_reader_role_grants_the_descendants_read() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/backup-doctor-reader.json");
    let role = json::read(path);
    let actions: Vec<&str> = json::items(&role["Actions"])
        .iter()
        .filter_map(|action| action.as_str())
        .collect();
    assert!(
        actions.contains(&"Microsoft.Management/managementGroups/descendants/read"),
        "{actions:?}"
    );
}
