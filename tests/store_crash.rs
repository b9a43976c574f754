//! Kill -9 during `scan --store`: the real binary scans a synthetic fleet into one store, again and
//! again, and is SIGKILLed at a random instant: half the kills anywhere in a scan's measured
//! duration (loading, evaluating, writing, past the end), half within its store write, which
//! starts at the binary's "saving the scan" debug line. After every kill the store must open,
//! pass its integrity check and hold only whole scans, each with every row an uninterrupted scan
//! of the same fleet writes; at the end an uninterrupted scan must still succeed and `history`
//! must list every scan the tables hold.
//!
//! 20 kills per backend by default; `STORE_CRASH_KILLS=200` is the long run, `STORE_CRASH_VMS`
//! the fleet's size (default 200) and `STORE_CRASH_SEED` replays the kill instants of a run.

mod store_common;

use backup_doctor_testkit::binary::run;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use store_common::{fleet, full_scan, scan_command, Rng, Target};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the kills hit, for the figures in docs/reliability.md.
#[derive(Debug, Default)]
struct Tally {
    kills: u64,
    /// Aimed between the start of the store write (the binary's "saving the scan" line) and the
    /// end of the measured run, rather than anywhere in it.
    aimed_at_write: u64,
    /// Aimed, and the scan was not committed: killed inside the write (or just before it).
    aimed_not_committed: u64,
    /// Killed with SQLite's rollback journal on disk: inside a write transaction.
    in_transaction: u64,
    /// Killed after the commit (the scan was already whole in the store).
    after_commit: u64,
    /// Finished before the kill came.
    finished: u64,
}

/// A scan left to finish, timed: its exit code, stderr, how long it took and when its store write
/// began (the store's debug line "saving the scan").
fn timed_scan(fleet: &Path, store: &str) -> (i32, String, Duration, Duration) {
    let start = Instant::now();
    let mut child = scan_command(fleet, store)
        .env("RUST_LOG", "backup_doctor::store=debug")
        .spawn()
        .expect("the binary runs");
    let stderr = BufReader::new(child.stderr.take().expect("piped"));
    let (mut text, mut write_at) = (String::new(), None);
    for line in stderr.lines() {
        let line = line.expect("stderr is text");
        if write_at.is_none() && line.contains("saving the scan") {
            write_at = Some(start.elapsed());
        }
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait().expect("the scan ends");
    let took = start.elapsed();
    let write_at = write_at.unwrap_or_else(|| panic!("no \"saving the scan\" line: {text}"));
    (status.code().unwrap_or(-1), text, took, write_at)
}

/// A channel that receives once the binary logs "saving the scan" on `stderr` (read to its end
/// on a thread of its own, so the pipe never fills).
fn watch_for_saving(stderr: std::process::ChildStderr) -> mpsc::Receiver<()> {
    let (tell, told) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("saving the scan") {
                let _ = tell.send(());
            }
        }
    });
    told
}

fn kill_during_scans(target: Target, dir: &Path) {
    let kills = setting("STORE_CRASH_KILLS", 20);
    let fleet = fleet(dir, setting("STORE_CRASH_VMS", 200) as usize);
    let store = target.arg();
    let started = Instant::now();

    // The first scan, left alone: the shape every scan must have, how long one takes and when
    // its write begins.
    let (code, stderr, took, write_at) = timed_scan(&fleet, &store);
    assert_eq!(code, 1, "the fleet has failing VMs: {stderr}");
    let shapes = target.shapes();
    assert_eq!(shapes.len(), 1);
    let whole = shapes[0].1.clone();
    assert!(
        whole[0] >= 100 && whole[3] > 0,
        "a fleet worth killing: {whole:?}"
    );
    // Half the kills anywhere in the scan and a little past it (some land after the commit),
    // half in the write's window, which is a small part of a scan.
    let span = (took.as_millis() as u64 * 11 / 10).max(1);
    let write_span = (took.saturating_sub(write_at).as_millis() as u64).max(1);
    eprintln!(
        "{}: one scan of {} VMs takes {took:?}, its write from {write_at:?}; killing {kills} times",
        target.name(),
        whole[0]
    );

    let mut rng = Rng::from_env();
    let mut tally = Tally::default();
    let journal = match &target {
        Target::Sqlite(path) => Some(path.with_extension("db-journal")),
        Target::Postgres { .. } => None,
    };
    for kill in 0..kills {
        let before = target.shapes().len();
        let aimed = kill % 2 == 1;
        let mut child = scan_command(&fleet, &store)
            .env("RUST_LOG", "backup_doctor::store=debug")
            .spawn()
            .expect("the binary runs");
        // An aimed kill waits for this run's own "saving the scan" line, then a random part of
        // the measured write window: start-up times vary too much for a fixed instant to land
        // in a window of a few tens of milliseconds.
        let saving = watch_for_saving(child.stderr.take().expect("piped"));
        let at = if aimed {
            let waited = Instant::now();
            let _ = saving.recv_timeout(took * 3);
            let delay = Duration::from_millis(rng.below(write_span));
            std::thread::sleep(delay);
            waited.elapsed()
        } else {
            let at = Duration::from_millis(rng.below(span));
            std::thread::sleep(at);
            at
        };
        let finished = child.try_wait().expect("wait works").is_some();
        let _ = child.kill();
        child.wait().expect("the killed scan is reaped");
        let hot_journal = journal.as_ref().is_some_and(|j| j.exists());

        let when = format!("{} kill {kill} at {at:?}", target.name());
        target.assert_sound(&when);
        let after = target.assert_whole(&whole, &when).len();
        assert!(
            after == before || after == before + 1,
            "{when}: {before} scans became {after}"
        );
        tally.kills += 1;
        tally.aimed_at_write += u64::from(aimed);
        if finished {
            tally.finished += 1;
        } else if after > before {
            tally.after_commit += 1;
        } else if aimed {
            tally.aimed_not_committed += 1;
        }
        if hot_journal {
            tally.in_transaction += 1;
            assert_eq!(
                after, before,
                "{when}: a hot journal, yet the scan is there"
            );
        }
    }

    // A scan after all that succeeds, and the product's own read lists what the tables hold.
    let before = target.shapes().len();
    let (code, stderr, _) = full_scan(&fleet, &store);
    assert_eq!(code, 1, "a scan after the kills: {stderr}");
    target.assert_sound("after the last scan");
    let shapes = target.assert_whole(&whole, "after the last scan");
    assert_eq!(shapes.len(), before + 1);
    let out = run(&[
        "history", "--store", &store, "--format", "json", "--limit", "100000",
    ]);
    assert_eq!(out.code, 0, "history: {}", out.stderr);
    let listed = out.json()["scans"].as_array().expect("scans").len();
    assert_eq!(
        listed,
        shapes.len(),
        "history lists every scan the store holds"
    );
    eprintln!(
        "{}: {tally:?}; {} whole scans in the store; {:?} in all",
        target.name(),
        shapes.len(),
        started.elapsed()
    );
    if let Some(journal) = journal {
        assert!(!journal.exists(), "the last scan left a journal behind");
    }
}

#[test]
fn a_sqlite_store_killed_at_any_instant_holds_only_whole_scans() {
    let dir = tempfile::tempdir().unwrap();
    kill_during_scans(Target::sqlite(dir.path()), dir.path());
}

#[test]
fn a_postgres_store_killed_at_any_instant_holds_only_whole_scans() {
    let Some(target) = Target::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    kill_during_scans(target, dir.path());
}
