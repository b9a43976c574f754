//! A throwaway PostgreSQL server for the tests: `initdb` into a temporary directory, the server
//! on a free loopback port with a password (SCRAM) for TCP logins, and a fresh database per test.
//!
//! The server runs under a small shell that waits on its stdin: when the test process exits (or
//! the `Cluster` is dropped) the pipe closes, the shell stops the server and removes its
//! directory — no server outlives the tests, even those of a test binary that panicked.
//!
//! PostgreSQL refuses to run as root, so as root the shell runs as the `postgres` user (Debian's
//! package creates it). `BACKUP_DOCTOR_TEST_POSTGRES` (a `postgres://` URL of a user allowed to
//! create databases) uses an existing server instead; `BACKUP_DOCTOR_REQUIRE_POSTGRES` (set by
//! `.ci/run`) turns a missing server from a skip into a failure.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The password of the test server's superuser: tests check it never shows in any message.
pub const PASSWORD: &str = "s3cret-Test-pw";

/// A running server, or the one `BACKUP_DOCTOR_TEST_POSTGRES` names.
pub struct Cluster {
    /// `postgres://user:password@host:port` without a database.
    base: String,
    bin: Option<PathBuf>,
    /// The shell holding the server; its stdin closing stops it.
    _keeper: Option<Mutex<(Child, ChildStdin)>>,
}

static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

impl Cluster {
    /// The server of this test process, started on first use; `None` (after a loud message on
    /// stderr) only when no PostgreSQL binaries are installed and no server is configured.
    pub fn shared() -> Option<&'static Cluster> {
        SHARED.get_or_init(Cluster::start).as_ref()
    }

    fn start() -> Option<Cluster> {
        if let Ok(url) = std::env::var("BACKUP_DOCTOR_TEST_POSTGRES") {
            return Some(Cluster {
                base: url.trim_end_matches('/').to_string(),
                bin: bin_dir(),
                _keeper: None,
            });
        }
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("BACKUP_DOCTOR_REQUIRE_POSTGRES").is_none(),
                "BACKUP_DOCTOR_REQUIRE_POSTGRES is set but no PostgreSQL binaries (initdb) were found"
            );
            eprintln!(
                "\n!!!! SKIPPING the PostgreSQL backend: no PostgreSQL binaries (initdb) found.\n\
                 !!!! Install them (`apt-get install -y postgresql`) or set BACKUP_DOCTOR_TEST_POSTGRES.\n"
            );
            return None;
        };
        Some(Cluster::spawn(bin).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}")))
    }

    fn spawn(bin: PathBuf) -> Result<Cluster, String> {
        let port = free_port()?;
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        // initdb, start, report readiness, then wait for stdin to close and clean up.
        let script = format!(
            r#"set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%s\n' '{PASSWORD}' > "$dir/pw"
"{bin}/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile="$dir/pw" -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {{ cat "$dir/initdb.log" >&2; exit 1; }}
"{bin}/postgres" -D "$dir/data" -p {port} -k "$dir" -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off >"$dir/server.log" 2>&1 &
server=$!
for i in $(seq 1 100); do
  if "{bin}/pg_isready" -q -h 127.0.0.1 -p {port}; then break; fi
  if ! kill -0 $server 2>/dev/null; then cat "$dir/server.log" >&2; exit 1; fi
  sleep 0.1
done
echo ready
read _ || true
kill -INT $server 2>/dev/null || true
wait $server 2>/dev/null || true
"#,
            bin = bin.display()
        );
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        // The shell's working directory must be readable by the `postgres` user.
        command.current_dir("/");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run the PostgreSQL script: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim() != "ready" {
            let _ = child.wait();
            return Err("the server did not start (its log is above)".into());
        }
        let stdin = child.stdin.take().expect("piped");
        Ok(Cluster {
            base: format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}"),
            bin: Some(bin),
            _keeper: Some(Mutex::new((child, stdin))),
        })
    }

    /// A new, empty database on the server; its URL (with the password).
    pub fn database(&self) -> String {
        let name = format!(
            "bd_test_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let psql = self
            .bin
            .as_ref()
            .map(|b| b.join("psql"))
            .unwrap_or_else(|| PathBuf::from("psql"));
        let out = Command::new(psql)
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-d",
                &format!("{}/postgres", self.base),
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "cannot create a test database: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("{}/{name}", self.base)
    }

    /// Runs SQL on the database at `url` with psql, returning its unaligned output (a test's way
    /// to look at the tables without the code under test).
    pub fn psql(&self, url: &str, sql: &str) -> String {
        let psql = self
            .bin
            .as_ref()
            .map(|b| b.join("psql"))
            .unwrap_or_else(|| PathBuf::from("psql"));
        let mut child = Command::new(psql)
            .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-d", url, "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psql runs");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(sql.as_bytes())
            .expect("psql reads");
        let out = child.wait_with_output().expect("psql ends");
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// Debian's versioned directory (the newest), or wherever `initdb` is on the PATH.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some(bin) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
            .map(|dir| Path::new(&dir).to_path_buf())
    })
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
