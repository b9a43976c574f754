//! The store's failure modes through the binary, on both backends where they apply: two writers
//! at once, a full disk (`RLIMIT_FSIZE`, and a full tmpfs where the tests may mount one), a store
//! the process may not write, and a store written by a newer backup-doctor. Each run either
//! records a whole scan or ends with exit 2 and a message naming the store, and a refused run
//! leaves every row of the store as it was.

mod store_common;

use backup_doctor_testkit::binary::run;
use backup_doctor_testkit::postgres::PASSWORD;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use store_common::{fleet, full_scan, scan_command, scan_command_of, Target};

/// VMs in the fleets here: enough that a scan's rows take a few hundred KiB.
const VMS: usize = 120;

/// A store with one whole scan of `fleet`; the shape every later scan must have.
fn seeded(target: &Target, fleet: &Path) -> store_common::Shape {
    let (code, stderr, _) = full_scan(fleet, &target.arg());
    assert_eq!(code, 1, "the first scan: {stderr}");
    target.shapes()[0].1.clone()
}

/// Fails the test unless a refused run said what went wrong, where, and nothing secret.
#[track_caller]
fn assert_refused(code: i32, stderr: &str, place: &str, needles: &[&str]) {
    assert_eq!(code, 2, "a store failure is exit 2: {stderr}");
    assert!(
        stderr.contains(place),
        "the message names {place}: {stderr}"
    );
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
    assert!(!stderr.contains(PASSWORD), "the password leaked: {stderr}");
}

fn two_writers_at_once(target: Target, dir: &Path) {
    let fleet = fleet(dir, VMS);
    let whole = seeded(&target, &fleet);
    let store = target.arg();
    for round in 0..3 {
        let before = target.shapes().len();
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let (fleet, store) = (fleet.clone(), store.clone());
                std::thread::spawn(move || full_scan(&fleet, &store))
            })
            .collect();
        let mut recorded = 0;
        for handle in runs {
            let (code, stderr, _) = handle.join().expect("the run's thread");
            match code {
                1 => recorded += 1,
                _ => assert_refused(code, &stderr, &target.name_in_messages(), &["cannot"]),
            }
        }
        let when = format!("{} round {round}", target.name());
        target.assert_sound(&when);
        let after = target.assert_whole(&whole, &when).len();
        assert_eq!(
            after,
            before + recorded,
            "{when}: one scan per run that succeeded"
        );
        // Both wait for each other (SQLite's busy timeout, PostgreSQL's row locks): neither fails.
        assert_eq!(recorded, 2, "{when}: both writers succeed");
    }
}

impl Target {
    /// How messages name the store: the file, or the URL without its password.
    fn name_in_messages(&self) -> String {
        match self {
            Target::Sqlite(path) => path.display().to_string(),
            Target::Postgres { url, .. } => url.rsplit('/').next().unwrap_or_default().to_string(),
        }
    }
}

#[test]
fn two_writers_on_one_sqlite_store_both_keep_whole_scans() {
    let dir = tempfile::tempdir().unwrap();
    two_writers_at_once(Target::sqlite(dir.path()), dir.path());
}

#[test]
fn two_writers_on_one_postgres_store_both_keep_whole_scans() {
    let Some(target) = Target::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    two_writers_at_once(target, dir.path());
}

/// Sets the file size limit of the child: a write past it fails with EFBIG (SIGXFSZ ignored, so
/// the process is told rather than killed), as a disk that fills up mid-write does.
fn limit_file_size(command: &mut std::process::Command, bytes: u64) {
    // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                return Err(std::io::Error::last_os_error());
            }
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Runs `command` to its end: exit code and stderr.
fn finish(mut command: std::process::Command) -> (i32, String) {
    let out = command
        .stdout(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "the binary panicked: {stderr}"
    );
    (out.status.code().unwrap_or(-1), stderr)
}

fn journal_of(path: &Path) -> PathBuf {
    path.with_extension("db-journal")
}

/// A refused write: exit 2 naming the store, every row as it was, no journal left behind.
#[track_caller]
fn assert_untouched(target: &Target, before: &[Vec<String>], code: i32, stderr: &str) {
    assert_refused(code, stderr, &target.name_in_messages(), &["cannot"]);
    target.assert_sound("after the refused scan");
    assert!(
        target.contents() == before,
        "a refused scan changed the store"
    );
    if let Target::Sqlite(path) = target {
        assert!(!journal_of(path).exists(), "a journal was left behind");
    }
}

/// The file may grow by less than a scan needs, at several points of the write (the journal and
/// the database are limited alike): each run records a whole scan or is refused with the store
/// unchanged. The first limit leaves room for no page at all, so at least one run is refused.
#[test]
fn a_full_disk_by_rlimit_refuses_the_scan_and_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet(dir.path(), VMS);
    let target = Target::sqlite(dir.path());
    let Target::Sqlite(path) = &target else {
        unreachable!()
    };
    let whole = seeded(&target, &fleet);
    let one_scan = std::fs::metadata(path).unwrap().len();
    let (mut refused, mut recorded) = (0, 0);
    for step in 0..6u64 {
        let size = std::fs::metadata(path).unwrap().len();
        let before = target.contents();
        let mut command = scan_command(&fleet, &target.arg());
        limit_file_size(&mut command, size + step * one_scan / 5);
        let (code, stderr) = finish(command);
        if code == 1 {
            recorded += 1;
            target.assert_sound("after a scan that fit");
            target.assert_whole(&whole, "after a scan that fit");
        } else {
            refused += 1;
            assert_untouched(&target, &before, code, &stderr);
            // EFBIG is SQLite's "disk I/O error"; the system's reason says which.
            assert!(
                stderr.contains("File too large"),
                "the message says why: {stderr}"
            );
        }
    }
    eprintln!("RLIMIT_FSIZE: {refused} refused, {recorded} recorded");
    assert!(refused >= 1, "no run was refused: the limit did not bite");
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (said loudly) where the tests may not mount: not root, or no CAP_SYS_ADMIN.
    fn mount(at: &Path, bytes: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}")])
            .arg("tmpfs")
            .arg(at)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Tmpfs(at.to_path_buf())),
            other => {
                eprintln!(
                    "\n!!!! SKIPPING the full tmpfs: cannot mount one here ({other:?}); the RLIMIT_FSIZE test still runs.\n"
                );
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A real file system that fills up: the store on a small tmpfs, the rest of it taken by a
/// filler file, so the scan's write meets ENOSPC.
#[test]
fn a_full_file_system_refuses_the_scan_and_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet(dir.path(), VMS);
    let Some(mount) = Tmpfs::mount(&dir.path().join("small"), 16 << 20) else {
        return;
    };
    let target = Target::sqlite(&mount.0);
    let whole = seeded(&target, &fleet);
    let before = target.contents();
    let Target::Sqlite(path) = &target else {
        unreachable!()
    };
    // Fill what is left but half a scan's worth: the scan gets past opening and runs out of room
    // midway through its rows.
    let room = std::fs::metadata(path).unwrap().len() / 2;
    let filler = mount.0.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 << 10];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
    let size = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(size.saturating_sub(room))
        .unwrap();
    let (code, stderr) = finish(scan_command(&fleet, &target.arg()));
    assert_untouched(&target, &before, code, &stderr);
    assert!(
        stderr.contains("full"),
        "the message says the disk is full: {stderr}"
    );
    // Room again: the next scan is recorded whole.
    std::fs::remove_file(&filler).unwrap();
    let (code, stderr, _) = full_scan(&fleet, &target.arg());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(target.assert_whole(&whole, "after room was made").len(), 2);
}

/// The child runs as `nobody` when the tests run as root: root writes through mode bits, while
/// a store the scheduled job's user may not write is what this guards against. A non-root test
/// run needs no switch.
fn as_unprivileged(command: &mut std::process::Command) {
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A store file the process may not write, and a writable file in a directory it may not write
/// (where SQLite must create its journal): refused, the file byte for byte as it was.
#[test]
fn a_read_only_sqlite_store_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet(dir.path(), VMS);
    let home = dir.path().join("stores");
    std::fs::create_dir(&home).unwrap();
    let target = Target::sqlite(&home);
    let Target::Sqlite(path) = &target else {
        unreachable!()
    };
    seeded(&target, &fleet);
    // `nobody` must reach the fleet, the store's directory and the binary: the checkout (and so
    // target/) may sit in a directory only its owner enters, as `mktemp -d` makes them.
    chmod(dir.path(), 0o755);
    let program = dir.path().join("backup-doctor");
    std::fs::copy(store_common::binary(), &program).unwrap();
    chmod(&program, 0o755);
    for (file_mode, dir_mode, why) in [
        (0o444, 0o755, "the file is read-only"),
        (0o666, 0o555, "the directory is read-only"),
    ] {
        chmod(path, file_mode);
        chmod(&home, dir_mode);
        let bytes = std::fs::read(path).unwrap();
        let mut command = scan_command_of(&program, &fleet, &target.arg());
        command.current_dir(dir.path());
        as_unprivileged(&mut command);
        let (code, stderr) = finish(command);
        assert_refused(code, &stderr, &path.display().to_string(), &["writable"]);
        assert!(
            std::fs::read(path).unwrap() == bytes,
            "{why}: the store changed"
        );
        assert!(!journal_of(path).exists(), "{why}: a journal was left");
        chmod(&home, 0o755);
        chmod(path, 0o644);
    }
    // Reading history needs no write access.
    chmod(path, 0o444);
    let out = run(&["history", "--store", &target.arg(), "--format", "json"]);
    chmod(path, 0o644);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// A database whose transactions are read-only, and a role that may only SELECT: refused, every
/// row as it was.
#[test]
fn a_read_only_postgres_store_is_refused_untouched() {
    let Some(target) = Target::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet(dir.path(), VMS);
    seeded(&target, &fleet);
    let Target::Postgres { url, .. } = &target else {
        unreachable!()
    };
    let database = url.rsplit('/').next().unwrap().to_string();
    let before = target.contents();

    // A role that may read every table and write none.
    let reader = format!("{database}_reader");
    target.execute(&format!(
        "CREATE ROLE {reader} LOGIN PASSWORD '{PASSWORD}';
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader};"
    ));
    let reader_url = url.replacen("//postgres:", &format!("//{reader}:"), 1);
    assert_ne!(&reader_url, url);
    let (code, stderr) = finish(scan_command(&fleet, &reader_url));
    assert_untouched(&target, &before, code, &stderr);
    assert!(stderr.contains("permission denied"), "{stderr}");
    let out = run(&["history", "--store", &reader_url, "--format", "json"]);
    assert_eq!(out.code, 0, "the reader reads history: {}", out.stderr);

    // The whole database read-only, as a replica or a locked-down server is.
    target.execute(&format!(
        "ALTER DATABASE {database} SET default_transaction_read_only = on"
    ));
    let (code, stderr) = finish(scan_command(&fleet, &target.arg()));
    assert_untouched(&target, &before, code, &stderr);
    assert!(stderr.contains("read-only"), "{stderr}");
}

/// A store a newer backup-doctor wrote: `scan` and `history` are refused with the version found
/// and the fix, and nothing in the store changes.
fn newer_store(target: Target, dir: &Path) {
    let fleet = fleet(dir, VMS);
    seeded(&target, &fleet);
    let newer = backup_doctor::store::SCHEMA_VERSION + 1;
    match &target {
        Target::Sqlite(_) => target.execute(&format!("PRAGMA user_version = {newer}")),
        Target::Postgres { .. } => {
            target.execute(&format!("UPDATE schema_version SET version = {newer}"))
        }
    }
    let before = target.contents();
    let bytes = match &target {
        Target::Sqlite(path) => std::fs::read(path).unwrap(),
        Target::Postgres { .. } => Vec::new(),
    };
    let found = format!("schema version {newer}");
    let (code, stderr) = finish(scan_command(&fleet, &target.arg()));
    assert_refused(
        code,
        &stderr,
        &target.name_in_messages(),
        &[&found, "upgrade backup-doctor"],
    );
    let out = run(&["history", "--store", &target.arg()]);
    assert_refused(
        out.code,
        &out.stderr,
        &target.name_in_messages(),
        &[&found, "upgrade backup-doctor"],
    );
    assert!(
        target.contents() == before,
        "a refused scan changed the store"
    );
    match &target {
        Target::Sqlite(path) => {
            assert!(std::fs::read(path).unwrap() == bytes, "the file changed")
        }
        Target::Postgres { .. } => assert_eq!(
            target.query("SELECT version FROM schema_version"),
            vec![vec![newer.to_string()]]
        ),
    }
}

#[test]
fn a_sqlite_store_of_a_newer_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    newer_store(Target::sqlite(dir.path()), dir.path());
}

#[test]
fn a_postgres_store_of_a_newer_version_is_refused_untouched() {
    let Some(target) = Target::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    newer_store(target, dir.path());
}

/// A store written as a URL of another kind (a typo of `postgres://`, another database) is no
/// file name: refused with exit 2, its password not shown, nothing created. It was taken for a
/// SQLite path, and the error echoed the URL, password and all.
#[test]
fn a_store_url_of_another_kind_is_refused_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet(dir.path(), VMS);
    let work = dir.path().join("work");
    // Where a SQLite file of that "path" would go, so taking the URL for one would succeed.
    std::fs::create_dir_all(work.join(format!("pg:/audit:{PASSWORD}@db.example"))).unwrap();
    for url in [
        format!("pg://audit:{PASSWORD}@db.example/bd"),
        format!("postgresql+asyncpg://audit:{PASSWORD}@db.example/bd"),
    ] {
        let mut command = scan_command(&fleet, &url);
        command.current_dir(&work);
        let (code, stderr) = finish(command);
        assert_refused(code, &stderr, "audit:***@db.example", &["postgres://"]);
        let created = work.join(format!("pg:/audit:{PASSWORD}@db.example/bd"));
        assert!(!created.exists(), "{url}: a SQLite file was made of it");
    }
}
