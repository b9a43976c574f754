//! Input files in the encodings Windows tools write: Windows PowerShell 5.1's `>` writes UTF-16 LE
//! with a byte-order mark, Notepad and `Out-File -Encoding utf8` UTF-8 with one. Each must read
//! exactly as the UTF-8 original does, for every kind of input file.

use backup_doctor_testkit::binary::{arg, run, run_refused};
use backup_doctor_testkit::fixtures::{demo, root};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

#[derive(Clone, Copy)]
enum Encoding {
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        Encoding::Utf16Le => [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
        Encoding::Utf16Be => [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect(),
    }
}

const ALL: [Encoding; 3] = [Encoding::Utf8Bom, Encoding::Utf16Le, Encoding::Utf16Be];

/// A copy of the tree under `from` with every file re-encoded.
fn reencoded_tree(from: &Path, to: &Path, encoding: Encoding) {
    for entry in std::fs::read_dir(from).expect("readable fixture tree") {
        let path = entry.expect("readable entry").path();
        let target = to.join(path.file_name().expect("named"));
        if path.is_dir() {
            std::fs::create_dir_all(&target).expect("writable temp dir");
            reencoded_tree(&path, &target, encoding);
        } else {
            let text = std::fs::read_to_string(&path).expect("UTF-8 fixture");
            std::fs::write(&target, encode(&text, encoding)).expect("writable temp dir");
        }
    }
}

fn reencoded_file(from: &Path, dir: &TempDir, encoding: Encoding) -> PathBuf {
    let text = std::fs::read_to_string(from).expect("UTF-8 fixture");
    let target = dir.path().join(from.file_name().expect("named"));
    std::fs::write(&target, encode(&text, encoding)).expect("writable temp dir");
    target
}

#[test]
fn a_reencoded_snapshot_scans_exactly_like_the_original() {
    let original = run(&["scan", "--snapshot", arg(&demo()), "--format", "json"]);
    for encoding in ALL {
        let dir = TempDir::new().expect("temp dir");
        reencoded_tree(&demo(), dir.path(), encoding);
        let scanned = run(&["scan", "--snapshot", arg(dir.path()), "--format", "json"]);
        assert_eq!(scanned.code, original.code, "{}", scanned.stderr);
        assert_eq!(scanned.stdout, original.stdout);
    }
}

#[test]
fn a_reencoded_plan_and_suppression_file_gate_exactly_like_the_originals() {
    let plan = root().join("fixtures/plans/nsg-deny-443.json");
    let suppressions = TempDir::new().expect("temp dir");
    let accepted = suppressions.path().join("accepted.toml");
    std::fs::write(
        &accepted,
        "[[suppression]]\nrule = \"network/nsg-blocks-recommended-path\"\nresource = \"*\"\n\
         justification = \"Storage egress goes through the firewall (ticket NET-1234)\"\n\
         expires = 2099-01-01\n",
    )
    .expect("writable temp dir");
    let gate = |plan: &Path, suppressions: &Path| {
        run(&[
            "gate",
            "--baseline",
            arg(&demo()),
            "--plan",
            arg(plan),
            "--suppressions",
            arg(suppressions),
            "--format",
            "json",
        ])
    };
    let original = gate(&plan, &accepted);
    assert_ne!(original.code, 2, "{}", original.stderr);
    let suppressed = original.json()["regressions"]
        .as_array()
        .expect("a list of regressions")
        .iter()
        .filter(|r| r["finding"]["suppressed"].is_object())
        .count();
    assert!(
        suppressed > 0,
        "the plan breaks something the file suppresses"
    );
    for encoding in ALL {
        let dir = TempDir::new().expect("temp dir");
        let plan_copy = reencoded_file(&plan, &dir, encoding);
        let suppressions_copy = reencoded_file(&accepted, &dir, encoding);
        let gated = gate(&plan_copy, &suppressions_copy);
        assert_eq!(gated.code, original.code, "{}", gated.stderr);
        assert_eq!(
            regressions_without_file_paths(&gated.json()),
            regressions_without_file_paths(&original.json()),
            "the same regressions, suppressed the same way"
        );
    }
}

/// The regressions, without the suppression file's path (the copies live in other directories).
fn regressions_without_file_paths(report: &serde_json::Value) -> serde_json::Value {
    let mut regressions = report["regressions"].clone();
    for regression in regressions.as_array_mut().expect("a list of regressions") {
        if let Some(suppressed) = regression["finding"].get_mut("suppressed") {
            suppressed["file"] = serde_json::Value::Null;
        }
    }
    regressions
}

#[test]
fn utf16_without_a_byte_order_mark_is_refused_naming_the_encoding() {
    let plan = root().join("fixtures/plans/harmless.json");
    let text = std::fs::read_to_string(&plan).expect("UTF-8 fixture");
    let dir = TempDir::new().expect("temp dir");
    let bare = dir.path().join("plan.json");
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    std::fs::write(&bare, bytes).expect("writable temp dir");
    run_refused(
        &["gate", "--plan", arg(&bare)],
        &["plan.json", "UTF-16 LE without a byte-order mark", "UTF-8"],
    );
}

#[test]
fn a_json_error_in_a_utf16_file_names_the_encoding_and_the_place() {
    let dir = TempDir::new().expect("temp dir");
    let broken = dir.path().join("vms.json");
    std::fs::write(&broken, encode("[\n  {\"id\": }\n]", Encoding::Utf16Le)).expect("writable");
    run_refused(
        &["scan", "--snapshot", arg(&broken)],
        &[
            "vms.json",
            "line 2",
            "not valid JSON (read as UTF-16 LE with a byte-order mark)",
        ],
    );
}
