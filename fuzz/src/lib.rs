//! What the fuzz targets share: a scratch directory per fuzzing process (the loaders under test
//! read files, as the CLI does) and the invariant every error must keep.

use backup_doctor::error::InputError;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch directory, emptied when first used. Per process, so two fuzzers (or
/// `-jobs=N` workers) never write each other's inputs.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("backup-doctor-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the temp directory is writable");
        dir
    })
}

/// Writes `bytes` to `name` in the scratch directory and returns its path.
pub fn input_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("the scratch directory is writable");
    path
}

/// The invariant of a refused input: the error names the file it is about (`within`, or a file
/// under it when `within` is a directory) first, says what is wrong and what to do.
pub fn assert_names(error: &InputError, within: &Path) {
    assert!(
        error.file.starts_with(within),
        "the error names {} instead of the input {}: {error}",
        error.file.display(),
        within.display()
    );
    let text = error.to_string();
    assert!(
        text.starts_with(&error.file.display().to_string()),
        "the message does not start with the file: {text}"
    );
    assert!(
        !error.problem.trim().is_empty(),
        "the error has no problem: {text}"
    );
    assert!(!error.fix.trim().is_empty(), "the error has no fix: {text}");
    if let Some(place) = &error.place {
        assert!(
            !place.trim().is_empty(),
            "the error's place is empty: {text}"
        );
    }
}

/// The inputs of one fuzz case split at each NUL byte, at most `parts` of them (the last one
/// keeps any further NULs): how a target that reads several files takes them from one input.
pub fn split(data: &[u8], parts: usize) -> Vec<&[u8]> {
    data.splitn(parts, |&b| b == 0).collect()
}

/// The demo fleet's inventory, loaded once: the baseline a plan reader consults for the
/// subscription of a new resource group and the key vault of a key URL.
pub fn demo_baseline() -> &'static backup_doctor::inventory::Inventory {
    static DEMO: OnceLock<backup_doctor::inventory::Inventory> = OnceLock::new();
    DEMO.get_or_init(|| {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fleets/demo");
        backup_doctor::source::snapshot::load(&demo).expect("the demo fleet loads")
    })
}

/// A change set laid over an empty baseline, as `gate` does without `--baseline`: what the
/// reader produced must also be something the overlay can take.
pub fn lay_over_nothing(changes: &backup_doctor::source::change::ChangeSet) {
    let mut raw =
        backup_doctor::source::overlay::RawSnapshot::without_baseline(&changes.subscriptions);
    raw.apply(changes);
    if let Err(error) = raw.into_inventory() {
        assert!(
            !error.problem.trim().is_empty(),
            "an overlay error without a problem: {error}"
        );
    }
}
