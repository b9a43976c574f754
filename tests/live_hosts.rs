//! The token goes only to the configured endpoints: a list whose `nextLink` names another host
//! is cut there, recorded as a gap with the host, and the rest of the collection goes on. A
//! listener on that other host must never see a connection.

use backup_doctor_testkit::emulator::{Emulator, EmulatorConfig};
use backup_doctor_testkit::fixtures::{
    demo, demo_tenant, DEMO_DEV_SUBSCRIPTION, DEMO_PROD_SUBSCRIPTION,
};
use backup_doctor_testkit::json;
use backup_doctor_testkit::live::{
    demo_config, run_blocking, secret_flags, serve, with_secret, SECRET,
};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const PROTECTED_ITEMS: &str =
    "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems";

/// A listener on a second loopback address (another port of 127.0.0.1 where 127.0.0.2 cannot be
/// bound), counting every connection made to it; it never answers.
struct Foreign {
    url: String,
    connections: Arc<AtomicUsize>,
}

async fn foreign_listener() -> Foreign {
    let listener = match tokio::net::TcpListener::bind("127.0.0.2:0").await {
        Ok(listener) => listener,
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    Foreign {
        url: format!("http://{address}"),
        connections,
    }
}

/// `collect --live` of the demo fleet served with `config`: exit code, stderr and the manifest's
/// gaps as (scope, what, reason).
async fn collect(
    emulator: &Emulator,
    out: &Path,
) -> (Option<i32>, String, Vec<(String, String, String)>) {
    let mut command = with_secret(emulator, &demo_tenant(), SECRET);
    command
        .args(["collect", "--live", "--out"])
        .arg(out)
        .args(secret_flags(emulator));
    let output = run_blocking(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let manifest = json::read(out.join("snapshot.json"));
    let text = |gap: &Value, key: &str| gap[key].as_str().unwrap_or_default().to_owned();
    let gaps = json::items(&manifest["gaps"])
        .iter()
        .map(|gap| (text(gap, "scope"), text(gap, "what"), text(gap, "reason")))
        .collect();
    (output.status.code(), stderr, gaps)
}

fn count_of(dir: &Path, subscription: &str, file: &str) -> usize {
    json::items(&json::read(dir.join(subscription).join(file))["value"]).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_to_another_host_is_a_gap_and_that_host_sees_no_request() {
    let foreign = foreign_listener().await;
    // Lists followed by each kind of reader: the subscription list (read page by page by hand,
    // the first call of the run), the disks (an SDK pager follows the link itself), the backup
    // policies (a raw list under each vault) and the protected items (an SDK list whose model
    // drops the link, followed by hand after the SDK's pages).
    let emulator = serve(EmulatorConfig {
        foreign_next_links: [
            "/subscriptions",
            "/providers/Microsoft.Compute/disks",
            "/backupPolicies",
            "/backupProtectedItems",
        ]
        .into_iter()
        .map(|path| (path.to_owned(), foreign.url.clone()))
        .collect(),
        ..demo_config()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot");
    let (code, stderr, gaps) = collect(&emulator, &out).await;
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(
        foreign.connections.load(Ordering::SeqCst),
        0,
        "a request went to the foreign host"
    );

    let refused = format!("points to another host: {};", foreign.url);
    let mut brief: Vec<(&str, &str)> = gaps
        .iter()
        .map(|(scope, what, reason)| {
            assert!(reason.contains(&refused), "{scope} {what}: {reason}");
            assert!(!reason.contains("skiptoken"), "{reason}");
            (scope.as_str(), what.as_str())
        })
        .collect();
    brief.sort();
    let dev = format!("/subscriptions/{DEMO_DEV_SUBSCRIPTION}");
    let prod = format!("/subscriptions/{DEMO_PROD_SUBSCRIPTION}");
    let vaults: Vec<String> = [DEMO_PROD_SUBSCRIPTION, DEMO_DEV_SUBSCRIPTION]
        .iter()
        .flat_map(|s| {
            let list = json::read(
                demo()
                    .join(s)
                    .join("Microsoft.RecoveryServices.vaults.json"),
            );
            json::strings(&list["value"], "id")
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(vaults.len() > 1);
    let mut expected = vec![
        ("/", "Microsoft.Resources/subscriptions"),
        (dev.as_str(), "Microsoft.Compute/disks"),
        (prod.as_str(), "Microsoft.Compute/disks"),
    ];
    for vault in &vaults {
        expected.push((
            vault.as_str(),
            "Microsoft.RecoveryServices/vaults/backupPolicies",
        ));
        expected.push((vault.as_str(), PROTECTED_ITEMS));
    }
    expected.sort();
    assert_eq!(brief, expected);
    // The lists read by hand say which link they refused.
    for (_, what, reason) in &gaps {
        if what != "Microsoft.Compute/disks" {
            assert!(
                reason.starts_with("nextLink points to another host"),
                "{reason}"
            );
        }
    }

    // The subscriptions of the first page were scanned, everything but the cut lists read.
    for subscription in [DEMO_PROD_SUBSCRIPTION, DEMO_DEV_SUBSCRIPTION] {
        assert!(count_of(&out, subscription, "Microsoft.Compute.virtualMachines.json") > 0);
        assert!(
            count_of(
                &out,
                subscription,
                "Microsoft.Network.networkInterfaces.json"
            ) > 0
        );
        assert!(!out
            .join(subscription)
            .join("Microsoft.Compute.disks.json")
            .exists());
    }
    assert!(
        count_of(
            &out,
            DEMO_PROD_SUBSCRIPTION,
            "Microsoft.RecoveryServices.vaults.backupJobs.json"
        ) > 0
    );
    // The emulator saw every request the collector sent, none of them for a second page of a
    // cut list.
    for request in emulator.requests() {
        assert!(
            !request.query.contains("skiptoken") || !cut(&request.path),
            "{request:?}"
        );
    }
    emulator.shutdown().await;
}

fn cut(path: &str) -> bool {
    let path = path.to_ascii_lowercase();
    path == "/subscriptions"
        || path.ends_with("/providers/microsoft.compute/disks")
        || path.ends_with("/backuppolicies")
        || path.ends_with("/backupprotecteditems")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_naming_its_subscriptions_does_not_need_the_rest_of_the_subscription_list() {
    let foreign = foreign_listener().await;
    let emulator = serve(EmulatorConfig {
        foreign_next_links: vec![("/subscriptions".into(), foreign.url.clone())],
        ..demo_config()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot");
    let mut command = with_secret(&emulator, &demo_tenant(), SECRET);
    command
        .args([
            "collect",
            "--live",
            "--subscription",
            DEMO_DEV_SUBSCRIPTION,
            "--out",
        ])
        .arg(&out)
        .args(secret_flags(&emulator));
    let output = run_blocking(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(foreign.connections.load(Ordering::SeqCst), 0);
    let manifest = json::read(out.join("snapshot.json"));
    assert!(json::items(&manifest["gaps"]).is_empty(), "{manifest}");
    emulator.shutdown().await;
}
