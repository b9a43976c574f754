//! Headless Chromium for the tests that render pages (the HTML report, the service dashboard).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium to use, or None (after saying so) when it is missing and not required
/// (`BACKUP_DOCTOR_REQUIRE_BROWSER=1`, as `.ci/run` sets, makes a missing one a failure).
pub fn browser() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var("BACKUP_DOCTOR_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("BACKUP_DOCTOR_REQUIRE_BROWSER=1 but no `chromium` on PATH: apt-get install chromium");
        }
        use std::io::Write;
        // Straight to stderr: the test harness swallows eprintln! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: install chromium (Debian package `chromium`) to run the browser tests"
        );
    }
    found
}

/// Runs headless Chromium on `url` with `extra` arguments and returns what it printed.
pub fn chromium(browser: &Path, url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "chromium exited with {status}");
                break;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish within 90 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    std::fs::read_to_string(out.path()).unwrap()
}
