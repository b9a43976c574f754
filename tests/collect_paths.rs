//! `collect --out DIR` against the ARM emulator serving hostile names: subscription ids that are
//! `..` paths, absolute paths, hold separators or NUL, or are too long for a file name (from the
//! management group descendants list and from the tenant's subscription list), and symlinks
//! already inside DIR that point outside. Whatever the run answers, nothing may be written
//! outside DIR; a refused name is exit 2 naming it.

use backup_doctor_testkit::emulator::{EmulatorConfig, ManagementGroup};
use backup_doctor_testkit::fixtures::{copy_tree, demo, demo_tenant, DEMO_PROD_SUBSCRIPTION};
use backup_doctor_testkit::json;
use backup_doctor_testkit::live::{
    demo_config, run_blocking, secret_flags, serve, with_secret, SECRET,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `root`, symlinks listed and not followed.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Runs `collect --live --out OUT` with `extra`; returns exit code and stderr.
async fn collect(config: EmulatorConfig, out: &Path, extra: &[&str]) -> (i32, String) {
    let emulator = serve(config).await;
    let mut command = with_secret(&emulator, &demo_tenant(), SECRET);
    command
        .args(["collect", "--live", "--out", out.to_str().unwrap()])
        .args(secret_flags(&emulator))
        .args(extra);
    let output = run_blocking(command).await;
    emulator.shutdown().await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap_or(-1), stderr)
}

/// The names a tenant could serve as subscription ids, each aimed at a place under `root`
/// outside the output directory `root/a/b/out`.
fn hostile_names(root: &Path) -> Vec<String> {
    vec![
        "../../escaped-up".into(),
        "..".into(),
        root.join("escaped-absolute").display().to_string(),
        "nested/../../../escaped-nested".into(),
        "with\\backslash".into(),
        "nul\0byte".into(),
        "l".repeat(300),
    ]
}

/// Whatever happened, every file under `root` is inside `out` (or is the snapshot the emulator
/// served); a refusal is exit 2 naming the problem.
fn assert_contained(root: &Path, out: &Path, served: &Path, code: i32, stderr: &str) {
    for file in files_under(root) {
        assert!(
            file.starts_with(out) || file.starts_with(served),
            "{} was written outside the output directory ({code}: {stderr})",
            file.display()
        );
    }
    assert!(code == 0 || code == 2, "exit {code}: {stderr}");
    if code == 2 {
        assert!(
            stderr.lines().any(|line| line.starts_with("error: ")),
            "a refusal says why: {stderr}"
        );
    }
    eprintln!("exit {code}: {}", stderr.lines().next().unwrap_or_default());
}

/// The demo fleet under `root/served`, its tenant's subscription list holding one more
/// subscription, of id `name`.
fn served_with(root: &Path, name: &str) -> PathBuf {
    let served = root.join("served");
    let _ = std::fs::remove_dir_all(&served);
    copy_tree(&demo(), &served);
    let list = served.join("tenant/subscriptions.json");
    let mut subscriptions = json::read(&list);
    let mut extra = subscriptions["value"][0].clone();
    extra["subscriptionId"] = name.into();
    extra["id"] = format!("/subscriptions/{name}").into();
    subscriptions["value"].as_array_mut().unwrap().push(extra);
    std::fs::write(&list, subscriptions.to_string()).unwrap();
    served
}

/// The names as subscription ids of the tenant's list, which `collect` reads without
/// `--subscription`: each reaches the writer (its lists fail, but the Resource Graph files of
/// every subscription are written, empty ones too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_list_names_never_write_outside_the_output_directory() {
    let root = tempfile::tempdir().unwrap();
    let mut refused = 0;
    for name in hostile_names(root.path()) {
        let served = served_with(root.path(), &name);
        let out = root.path().join("a/b/out");
        let config = EmulatorConfig {
            snapshot: served.clone(),
            ..demo_config()
        };
        let (code, stderr) = collect(config, &out, &[]).await;
        assert_contained(root.path(), &out, &served, code, &stderr);
        if stderr.contains("Azure returned a name") {
            refused += 1;
            assert!(!out.exists(), "{name:?}: written in part");
        }
        let _ = std::fs::remove_dir_all(root.path().join("a"));
    }
    assert!(refused >= 4, "the writer saw the hostile names: {refused}");
}

/// The names below a management group (`collect --management-group`), the tenant listing them
/// as well. ARM (the emulator) has no subscription of such an id, so the run stops before
/// writing; what it must never do is write outside the directory on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_group_names_never_write_outside_the_output_directory() {
    let root = tempfile::tempdir().unwrap();
    for name in hostile_names(root.path()) {
        let served = served_with(root.path(), &name);
        let out = root.path().join("a/b/out");
        let tree = BTreeMap::from([(
            "evil".to_string(),
            ManagementGroup {
                children: Vec::new(),
                subscriptions: vec![DEMO_PROD_SUBSCRIPTION.to_string(), name.clone()],
            },
        )]);
        let config = EmulatorConfig {
            snapshot: served.clone(),
            management_groups: Some(tree),
            ..demo_config()
        };
        let (code, stderr) = collect(config, &out, &["--management-group", "evil"]).await;
        assert_contained(root.path(), &out, &served, code, &stderr);
        let _ = std::fs::remove_dir_all(root.path().join("a"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_inside_the_output_directory_are_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("keep.json"), "mine").unwrap();
    for plant in ["folder", "manifest"] {
        let out = root.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir(&out).unwrap();
        let link = match plant {
            // A subscription's folder that leads elsewhere.
            "folder" => {
                let link = out.join(DEMO_PROD_SUBSCRIPTION);
                std::os::unix::fs::symlink(&outside, &link).unwrap();
                link
            }
            // The manifest, pointing at a file of the user's.
            _ => {
                let link = out.join("snapshot.json");
                std::os::unix::fs::symlink(outside.join("keep.json"), &link).unwrap();
                link
            }
        };
        let (code, stderr) = collect(demo_config(), &out, &[]).await;
        assert_eq!(code, 2, "{plant}: {stderr}");
        assert!(stderr.contains(link.to_str().unwrap()), "{plant}: {stderr}");
        assert!(stderr.contains("not followed"), "{plant}: {stderr}");
        assert_eq!(
            files_under(&outside),
            vec![outside.join("keep.json")],
            "{plant}: something was written outside"
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("keep.json")).unwrap(),
            "mine"
        );
    }
}
