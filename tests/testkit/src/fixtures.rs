//! Where the tests' inputs are: the backup-doctor package's fixtures, schemas and rules, and the
//! demo fleet most tests scan.

use crate::json;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The demo fleet's production subscription, which holds most of its VMs.
pub const DEMO_PROD_SUBSCRIPTION: &str = "3f0c9931-918c-40bf-9670-c342c6cce996";
/// The demo fleet's development subscription.
pub const DEMO_DEV_SUBSCRIPTION: &str = "9200a15f-69ff-4a7b-aebd-c582c1ca746a";

/// The backup-doctor package.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("the testkit lives at tests/testkit of the backup-doctor package")
        .to_path_buf()
}

/// The demo fleet's snapshot directory.
pub fn demo() -> PathBuf {
    root().join("fixtures/fleets/demo")
}

/// The demo fleet's tenant, from its manifest.
pub fn demo_tenant() -> String {
    let manifest = json::read(demo().join("snapshot.json"));
    manifest["tenantId"]
        .as_str()
        .expect("the demo manifest names its tenant")
        .to_owned()
}

/// The VM `name` of the demo fleet's production subscription, as the snapshot holds it: the
/// start of a variant a test writes beside the demo fleet.
pub fn demo_vm(name: &str) -> Value {
    let vms = json::read(
        demo()
            .join(DEMO_PROD_SUBSCRIPTION)
            .join("Microsoft.Compute.virtualMachines.json"),
    );
    json::find(&vms["value"], "name", name).clone()
}

/// A file `name` holding `contents` in a fresh temp dir, for input a test writes itself; the
/// directory goes when the returned guard is dropped.
pub fn temp_file(name: &str, contents: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join(name);
    std::fs::write(&file, contents).expect("the temp file is written");
    (dir, file)
}

/// The text of a custom rule file as the tests write it: rule `id`, placeholder title, remediation
/// and docs, cause `vault` (line 3), severity `warning`, `applies_to` when given, then the `when`
/// expression (line 5, or 6 after `applies_to`) and the `message` template.
pub fn custom_rule(id: &str, applies_to: Option<&str>, when: &str, message: &str) -> String {
    let applies_to = applies_to
        .map(|to| format!("applies_to = \"{to}\"\n"))
        .unwrap_or_default();
    format!(
        "id = \"{id}\"\ntitle = \"t\"\ncause = \"vault\"\nseverity = \"warning\"\n{applies_to}\
         when = \"{when}\"\nmessage = \"{message}\"\nremediation = \"r\"\ndocs = \"d\"\n"
    )
}

/// The demo fleet with the production subscription's NIC list not exported (its VMs name NICs
/// the input does not hold: dangling references) and one object without `type` beside it (a
/// skipped object), in a temp dir.
pub fn demo_with_dangling_nics_and_an_untyped_object() -> TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    copy_tree(&demo(), dir.path());
    std::fs::remove_file(
        dir.path()
            .join(DEMO_PROD_SUBSCRIPTION)
            .join("Microsoft.Network.networkInterfaces.json"),
    )
    .expect("the demo fleet has a NIC list");
    std::fs::write(
        dir.path().join("extra.json"),
        r#"[{"name": "no type here"}]"#,
    )
    .expect("the temp dir is writable");
    dir
}

/// That a JSON document (`skipped[]`, `dangling_references[]`) and the console output of a run
/// on [`demo_with_dangling_nics_and_an_untyped_object`] report the missing NICs and the skipped
/// object.
pub fn assert_reports_dangling_nics_and_the_untyped_object(document: &Value, console: &str) {
    let dangling = document["dangling_references"]
        .as_array()
        .unwrap_or_else(|| panic!("no dangling_references: {document:#}"));
    assert!(
        dangling
            .iter()
            .any(|d| d["missing_type"] == "Microsoft.Network/networkInterfaces"),
        "{dangling:?}"
    );
    let skipped = document["skipped"]
        .as_array()
        .unwrap_or_else(|| panic!("no skipped: {document:#}"));
    assert!(
        skipped
            .iter()
            .any(|g| g["reason"] == "no-type" && g["count"] == 1),
        "{skipped:?}"
    );
    for part in [
        "Skipped 1 object(s)",
        "network interface",
        "not in the input",
    ] {
        assert!(console.contains(part), "`{part}` missing from:\n{console}");
    }
}

/// A copy of the tree under `from` at `to`, for a variant of a fixture a test changes.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("writable temp dir");
    for entry in std::fs::read_dir(from).expect("readable fixture tree") {
        let entry = entry.expect("readable entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("readable entry").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copied fixture file");
        }
    }
}
