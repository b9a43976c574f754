//! Runs the backup-doctor binary the way users do, for the integration tests, and what it
//! answered.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// The binary with the developer's shell kept out: no RUST_LOG, no colours.
pub fn command() -> Command {
    let mut command = Command::cargo_bin("backup-doctor").expect("the binary builds");
    command.env_remove("RUST_LOG").env("NO_COLOR", "1");
    command
}

/// What one run of the binary answered.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Stdout as JSON, failing the test with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("no JSON ({e}): {}{}", self.stdout, self.stderr))
    }
}

/// Runs the binary with `args`. A panic fails the test whatever the exit code: users must get an
/// error message, never a backtrace.
pub fn run(args: &[&str]) -> Outcome {
    let output = command().args(args).output().expect("the binary runs");
    let outcome = Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("the binary prints UTF-8"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !outcome.stderr.contains("panicked"),
        "the binary panicked: {}",
        outcome.stderr
    );
    outcome
}

/// Runs the binary on input it must refuse: exit 2 (usage or input error), with a message on
/// stderr that names each of `must_contain`.
pub fn run_refused(args: &[&str], must_contain: &[&str]) -> Outcome {
    let out = run(args);
    assert_eq!(out.code, 2, "args {args:?}: stderr {}", out.stderr);
    for needle in must_contain {
        assert!(
            out.stderr.contains(needle),
            "stderr for {args:?} should mention {needle:?}:\n{}",
            out.stderr
        );
    }
    out
}

/// Fails the test unless `text` (what a run printed) contains each of `needles`, showing `text`.
#[track_caller]
pub fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

/// The report `scan --format FORMAT` prints for `snapshots`. The fleets the tests scan all have
/// failing VMs, so any exit code but 1 fails the test.
pub fn scan_report(snapshots: &[&Path], format: &str) -> String {
    let mut args = vec!["scan"];
    for snapshot in snapshots {
        args.extend(["--snapshot", arg(snapshot)]);
    }
    args.extend(["--format", format]);
    let out = run(&args);
    assert_eq!(out.code, 1, "exit code; stderr: {}", out.stderr);
    out.stdout
}
