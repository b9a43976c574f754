//! What the store fault tests share (tests/store_crash.rs, tests/store_faults.rs): a store of
//! either backend as the binary's `--store` names it, and a look at its tables that does not go
//! through the code under test (rusqlite on the file, psql on the database): the integrity check
//! and each scan's rows, so "holds only whole scans" is checked row by row.
#![allow(dead_code)]

use backup_doctor_testkit::binary::arg;
use backup_doctor_testkit::postgres::Cluster;
use backup_doctor_testkit::synth::{generate, FleetSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A store as `--store` names it.
pub enum Target {
    Sqlite(PathBuf),
    Postgres {
        cluster: &'static Cluster,
        url: String,
    },
}

/// One scan's rows in every table: the scan's own VM count, then the rows that hang off it in
/// `vm_results`, `vm_layers`, `findings`, `failed_jobs`, `vm_tags`, `gaps` and `scan_reports`.
/// Scans of one fleet all have the same shape; a half-written scan has fewer rows somewhere.
pub type Shape = Vec<i64>;

const SHAPES: &str = "
SELECT s.id, s.vms,
  (SELECT count(*) FROM vm_results v WHERE v.scan_id = s.id),
  (SELECT count(*) FROM vm_layers l JOIN vm_results v ON l.vm_result_id = v.id WHERE v.scan_id = s.id),
  (SELECT count(*) FROM findings f JOIN vm_results v ON f.vm_result_id = v.id WHERE v.scan_id = s.id),
  (SELECT count(*) FROM failed_jobs j JOIN vm_results v ON j.vm_result_id = v.id WHERE v.scan_id = s.id),
  (SELECT count(*) FROM vm_tags t JOIN vm_results v ON t.vm_result_id = v.id WHERE v.scan_id = s.id),
  (SELECT count(*) FROM gaps g WHERE g.scan_id = s.id),
  (SELECT count(*) FROM scan_reports r WHERE r.scan_id = s.id)
FROM scans s ORDER BY s.id";

/// Child rows whose parent is gone: PostgreSQL's foreign keys forbid them, so any is a broken
/// store; SQLite's `foreign_key_check` covers the file.
const ORPHANS: &str = "
SELECT (SELECT count(*) FROM vm_results v WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE s.id = v.scan_id))
     + (SELECT count(*) FROM vm_layers l WHERE NOT EXISTS (SELECT 1 FROM vm_results v WHERE v.id = l.vm_result_id))
     + (SELECT count(*) FROM findings f WHERE NOT EXISTS (SELECT 1 FROM vm_results v WHERE v.id = f.vm_result_id))
     + (SELECT count(*) FROM scan_reports r WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE s.id = r.scan_id))";

impl Target {
    /// A new SQLite store in `dir`, or a new PostgreSQL database (`None` without a server, after
    /// `Cluster::shared`'s loud skip message; `.ci/run` makes that a failure).
    pub fn sqlite(dir: &Path) -> Target {
        Target::Sqlite(dir.join("history.db"))
    }

    pub fn postgres() -> Option<Target> {
        let cluster = Cluster::shared()?;
        let url = cluster.database();
        Some(Target::Postgres { cluster, url })
    }

    /// What `--store` gets.
    pub fn arg(&self) -> String {
        match self {
            Target::Sqlite(path) => arg(path).to_string(),
            Target::Postgres { url, .. } => url.clone(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Target::Sqlite(_) => "sqlite",
            Target::Postgres { .. } => "postgres",
        }
    }

    /// Rows of `sql`, each as its `|`-separated columns (psql's unaligned form).
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Target::Sqlite(path) => {
                let conn = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .expect("the store opens");
                let mut statement = conn.prepare(sql).expect("the query compiles");
                let columns = statement.column_count();
                statement
                    .query_map([], |row| {
                        (0..columns)
                            .map(|i| {
                                let value: rusqlite::types::Value = row.get(i)?;
                                Ok(match value {
                                    rusqlite::types::Value::Null => String::new(),
                                    rusqlite::types::Value::Integer(n) => n.to_string(),
                                    rusqlite::types::Value::Real(x) => x.to_string(),
                                    rusqlite::types::Value::Text(t) => t,
                                    rusqlite::types::Value::Blob(_) => "<blob>".into(),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<String>>>()
                    })
                    .expect("the query runs")
                    .map(|row| row.expect("a row"))
                    .collect()
            }
            Target::Postgres { cluster, url } => cluster
                .psql(url, sql)
                .lines()
                .filter(|line| !line.is_empty())
                .map(|line| line.split('|').map(str::to_string).collect())
                .collect(),
        }
    }

    /// Runs statements on the store as its owner would, outside the code under test.
    pub fn execute(&self, sql: &str) {
        match self {
            Target::Sqlite(path) => rusqlite::Connection::open(path)
                .expect("the store opens")
                .execute_batch(sql)
                .expect("the statements run"),
            Target::Postgres { cluster, url } => {
                cluster.psql(url, sql);
            }
        }
    }

    /// Each scan's id and shape, oldest first.
    pub fn shapes(&self) -> Vec<(i64, Shape)> {
        self.query(SHAPES)
            .into_iter()
            .map(|row| {
                let numbers: Vec<i64> = row.iter().map(|n| n.parse().expect("a count")).collect();
                (numbers[0], numbers[1..].to_vec())
            })
            .collect()
    }

    /// Fails the test unless the store passes its integrity check: SQLite's `integrity_check`
    /// and `foreign_key_check`; on both, no child row without its parent.
    pub fn assert_sound(&self, when: &str) {
        if let Target::Sqlite(path) = self {
            let conn = rusqlite::Connection::open(path).expect("the store opens");
            let verdict: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .expect("integrity_check runs");
            assert_eq!(verdict, "ok", "{when}: integrity_check");
            let broken: i64 = conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .expect("foreign_key_check runs");
            assert_eq!(broken, 0, "{when}: foreign_key_check");
        }
        let orphans = &self.query(ORPHANS)[0][0];
        assert_eq!(orphans, "0", "{when}: rows without their parent");
    }

    /// Fails the test unless every scan in the store has exactly the rows of `whole`.
    pub fn assert_whole(&self, whole: &Shape, when: &str) -> Vec<(i64, Shape)> {
        let shapes = self.shapes();
        for (id, shape) in &shapes {
            assert_eq!(
                shape, whole,
                "{when}: scan {id} is not whole (vms, vm_results, vm_layers, findings, failed_jobs, vm_tags, gaps, scan_reports)"
            );
        }
        shapes
    }

    /// Everything in the store, for "nothing changed": every table's rows, in order.
    pub fn contents(&self) -> Vec<Vec<String>> {
        let mut all = Vec::new();
        for (table, order) in [
            ("scans", "id"),
            ("vm_results", "id"),
            ("vm_layers", "vm_result_id, cause"),
            ("findings", "vm_result_id, rule, message"),
            ("failed_jobs", "vm_result_id, job_id"),
            ("vm_tags", "vm_result_id, name, value"),
            ("gaps", "scan_id, scope, what"),
            ("scan_reports", "scan_id"),
            ("leases", "name"),
        ] {
            let mut rows = self.query(&format!("SELECT * FROM {table} ORDER BY {order}"));
            for row in &mut rows {
                row.insert(0, table.to_string());
            }
            all.extend(rows);
        }
        all
    }
}

/// The binary, to spawn it as a process the test can kill.
pub fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("backup-doctor")
}

/// `scan --snapshot FLEET --store STORE` as a process, output discarded.
pub fn scan_command(fleet: &Path, store: &str) -> Command {
    scan_command_of(&binary(), fleet, store)
}

/// `scan_command` of another copy of the binary (one an unprivileged user may run).
pub fn scan_command_of(program: &Path, fleet: &Path, store: &str) -> Command {
    let mut command = Command::new(program);
    command
        .args(["scan", "--snapshot", arg(fleet), "--store", store])
        .args(["--format", "json"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A scan that is left to finish: its exit code (1: the synthetic fleets have failing VMs), its
/// stderr and how long it took. Stuck for 5 minutes fails the test.
pub fn full_scan(fleet: &Path, store: &str) -> (i32, String, Duration) {
    let start = Instant::now();
    let mut child = scan_command(fleet, store).spawn().expect("the binary runs");
    let stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let mut stderr = stderr;
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    loop {
        if let Some(status) = child.try_wait().expect("wait works") {
            let text = reader.join().expect("stderr is read");
            assert!(!text.contains("panicked"), "the binary panicked: {text}");
            return (status.code().unwrap_or(-1), text, start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("a scan into {store} did not finish in 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A synthetic fleet of `vms` VMs (two subscriptions) under `dir`.
pub fn fleet(dir: &Path, vms: usize) -> PathBuf {
    let out = dir.join("fleet");
    generate(
        &out,
        &FleetSpec {
            subscriptions: 2,
            vms_per_subscription: vms.div_ceil(2),
            seed: 14,
            jobs_per_vm: 3,
        },
    )
    .expect("the fleet is written");
    out
}

/// Small, seeded, reproducible randomness (xorshift64*): the seed is printed, and
/// `STORE_CRASH_SEED` replays a run.
pub struct Rng(u64);

impl Rng {
    pub fn from_env() -> Rng {
        let seed = std::env::var("STORE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(14)
            })
            | 1;
        eprintln!("STORE_CRASH_SEED={seed}");
        Rng(seed)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}
