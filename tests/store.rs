//! The store's contract, one test list run against both backends: a SQLite file and a real
//! PostgreSQL server (a throwaway cluster the tests start, `backup_doctor_testkit::postgres`).
//! Recorded scans read back the same (summary, findings, whole report, VMs filtered and paged,
//! a VM's history), migrations bring older stores up and refuse newer ones untouched, the lease
//! has exactly one holder, and a record that fails or is abandoned leaves no trace.

use backup_doctor::commands::{scan_async, Judging, ScanOptions, Source};
use backup_doctor::engine::RuleSet;
use backup_doctor::outcome::{Report, Status};
use backup_doctor::render::{self, Document, Format};
use backup_doctor::store::{Page, ScanMeta, Store, StoreTarget, VmFilter, SCHEMA_VERSION};
use backup_doctor_testkit::fixtures::{demo, DEMO_PROD_SUBSCRIPTION};
use backup_doctor_testkit::postgres::{Cluster, PASSWORD};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// A fresh, empty store of one backend, with a way to look at its tables directly.
struct Backend {
    name: &'static str,
    target: StoreTarget,
    _dir: Option<TempDir>,
    cluster: Option<&'static Cluster>,
}

impl Backend {
    /// The number the SQL query returns, read around the code under test.
    fn number(&self, sql: &str) -> i64 {
        match (&self.target, self.cluster) {
            (StoreTarget::Sqlite(path), _) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            (StoreTarget::Postgres(url), Some(cluster)) => cluster.psql(url, sql).parse().unwrap(),
            _ => unreachable!(),
        }
    }

    fn execute(&self, sql: &str) {
        match (&self.target, self.cluster) {
            (StoreTarget::Sqlite(path), _) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch(sql).unwrap();
            }
            (StoreTarget::Postgres(url), Some(cluster)) => {
                cluster.psql(url, sql);
            }
            _ => unreachable!(),
        }
    }

    fn version(&self) -> i64 {
        match self.target {
            StoreTarget::Sqlite(_) => self.number("PRAGMA user_version"),
            StoreTarget::Postgres(_) => self.number("SELECT version FROM schema_version"),
        }
    }

    fn set_version(&self, version: i64) {
        match self.target {
            StoreTarget::Sqlite(_) => self.execute(&format!("PRAGMA user_version = {version}")),
            StoreTarget::Postgres(_) => {
                self.execute(&format!("UPDATE schema_version SET version = {version}"))
            }
        }
    }

    /// Rows of every table the scans fill.
    fn rows(&self) -> Vec<(&'static str, i64)> {
        [
            "scans",
            "scan_reports",
            "gaps",
            "vm_results",
            "vm_tags",
            "vm_layers",
            "findings",
            "failed_jobs",
        ]
        .into_iter()
        .map(|t| (t, self.number(&format!("SELECT count(*) FROM {t}"))))
        .collect()
    }
}

/// One fresh store per backend: SQLite always, PostgreSQL unless no server can be had (which
/// `Cluster::shared` says loudly).
fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![Backend {
        name: "sqlite",
        target: StoreTarget::Sqlite(dir.path().join("history.db")),
        _dir: Some(dir),
        cluster: None,
    }];
    if let Some(cluster) = Cluster::shared() {
        all.push(Backend {
            name: "postgres",
            target: StoreTarget::Postgres(cluster.database()),
            _dir: None,
            cluster: Some(cluster),
        });
    }
    all
}

async fn demo_report() -> Report {
    let options = ScanOptions {
        source: Source::Snapshot(vec![demo()]),
        judging: Judging::default(),
        job_window_days: 7,
        now: None,
        store: None,
        suppressions: None,
        changes: Default::default(),
    };
    scan_async(&options).await.unwrap().report
}

fn meta(time: &str) -> ScanMeta {
    ScanMeta {
        time: time.into(),
        source: "fixtures/fleets/demo".into(),
    }
}

#[tokio::test]
async fn a_recorded_scan_reads_back_whole() {
    let report = demo_report().await;
    for b in backends() {
        let store = Store::open(&b.target).await.unwrap();
        store.ping().await.unwrap();
        assert!(!store.describe().contains(PASSWORD), "{}", store.describe());
        assert!(store.latest_scan().await.unwrap().is_none(), "{}", b.name);
        let id = store
            .record(&report, &meta("2026-11-24T06:00:00Z"))
            .await
            .unwrap();

        let scans = store.scans(10).await.unwrap();
        assert_eq!(scans.len(), 1, "{}", b.name);
        let scan = &scans[0];
        assert_eq!(scan.id, id);
        assert_eq!(scan.time, "2026-11-24T06:00:00Z");
        assert_eq!(scan.vms as usize, report.summary.vms);
        assert_eq!(scan.fail as usize, report.summary.fail);
        assert_eq!(scan.complete, report.complete);
        let causes: std::collections::BTreeMap<String, i64> = report
            .summary
            .by_root_cause
            .iter()
            .map(|(k, v)| (k.to_string(), *v as i64))
            .collect();
        assert_eq!(scan.by_root_cause, causes, "{}", b.name);
        assert_eq!(store.scan(id).await.unwrap().unwrap().id, id);
        assert_eq!(store.latest_scan().await.unwrap().unwrap().id, id);
        assert!(store.scan(id + 100).await.unwrap().is_none());

        let failing = report
            .vms
            .iter()
            .flat_map(|vm| &vm.findings)
            .filter(|f| f.status == Status::Fail)
            .count();
        assert!(failing > 0);
        assert_eq!(store.failing_findings(id).await.unwrap().len(), failing);
        assert_eq!(
            b.number("SELECT count(*) FROM vm_layers") as usize,
            report.vms.len() * 8
        );

        // The whole report as scanned: the same JSON, and what the JSON leaves out.
        let back = store.report(id).await.unwrap().expect("kept");
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&report).unwrap(),
            "{}",
            b.name
        );
        assert_eq!(back.subscription_names, report.subscription_names);
        assert!(report.vms.iter().any(|vm| !vm.tags.is_empty()));
        for (a, b) in back.vms.iter().zip(&report.vms) {
            assert_eq!(a.tags, b.tags);
        }
        assert!(store.report(id + 100).await.unwrap().is_none());

        // Rendered again in every format, byte for byte as when it was scanned.
        let rules = RuleSet::load(&[]).unwrap();
        for format in [
            Format::Console,
            Format::Json,
            Format::Sarif,
            Format::Junit,
            Format::Markdown,
            Format::Html,
            Format::Csv,
        ] {
            let render = |report| {
                render::render(
                    &Document::Scan {
                        report,
                        rules: &rules,
                    },
                    format,
                    false,
                )
                .unwrap()
            };
            assert_eq!(render(&back), render(&report), "{}: {format:?}", b.name);
        }
    }
}

#[tokio::test]
async fn vms_are_filtered_and_paged() {
    let report = demo_report().await;
    let web = report
        .vms
        .iter()
        .filter(|vm| vm.tags.get("application").map(String::as_str) == Some("web"))
        .count();
    assert!(web > 0);
    for b in backends() {
        let store = Store::open(&b.target).await.unwrap();
        let id = store
            .record(&report, &meta("2026-11-24T06:00:00Z"))
            .await
            .unwrap();
        let all = Page {
            offset: 0,
            limit: 1000,
        };
        let every = store.vms(id, &VmFilter::default(), all).await.unwrap();
        assert_eq!(every.total, report.vms.len(), "{}", b.name);
        let mut ids: Vec<String> = every.items.iter().map(|v| v.id.to_lowercase()).collect();
        let sorted = {
            let mut s = ids.clone();
            s.sort();
            s
        };
        assert_eq!(ids, sorted, "in the order of their ids");

        let failing = VmFilter {
            verdict: Some("fail".into()),
            ..VmFilter::default()
        };
        let page = store.vms(id, &failing, all).await.unwrap();
        assert_eq!(page.total, report.summary.fail, "{}", b.name);
        assert!(page.items.iter().all(|v| v.verdict == "fail"));

        let agent = VmFilter {
            root_cause: Some("agent".into()),
            ..VmFilter::default()
        };
        let expected = report
            .summary
            .by_root_cause
            .get("agent")
            .copied()
            .unwrap_or(0);
        assert!(expected > 0);
        assert_eq!(store.vms(id, &agent, all).await.unwrap().total, expected);

        // Subscription and resource group in any case, as ARM compares them.
        let in_prod = VmFilter {
            subscription: Some(DEMO_PROD_SUBSCRIPTION.to_uppercase()),
            ..VmFilter::default()
        };
        let prod = report
            .vms
            .iter()
            .filter(|v| v.subscription.eq_ignore_ascii_case(DEMO_PROD_SUBSCRIPTION))
            .count();
        assert!(prod > 0);
        assert_eq!(store.vms(id, &in_prod, all).await.unwrap().total, prod);
        let group = report.vms[0].resource_group.clone();
        let in_group = VmFilter {
            resource_group: Some(group.to_uppercase()),
            ..VmFilter::default()
        };
        let grouped = report
            .vms
            .iter()
            .filter(|v| v.resource_group.eq_ignore_ascii_case(&group))
            .count();
        assert_eq!(store.vms(id, &in_group, all).await.unwrap().total, grouped);

        // A tag by name (any case) and value (exact), or by name alone.
        let tagged = |name: &str, value: Option<&str>| VmFilter {
            tag: Some((name.into(), value.map(str::to_string))),
            ..VmFilter::default()
        };
        let page = store
            .vms(id, &tagged("Application", Some("web")), all)
            .await
            .unwrap();
        assert_eq!(page.total, web, "{}", b.name);
        assert!(page.items.iter().all(|v| v.tags["application"] == "web"));
        assert_eq!(
            store
                .vms(id, &tagged("application", Some("WEB")), all)
                .await
                .unwrap()
                .total,
            0
        );
        let with_application = report
            .vms
            .iter()
            .filter(|v| v.tags.contains_key("application"))
            .count();
        assert_eq!(
            store
                .vms(id, &tagged("APPLICATION", None), all)
                .await
                .unwrap()
                .total,
            with_application
        );
        assert_eq!(
            store
                .vms(id, &tagged("no-such-tag", None), all)
                .await
                .unwrap()
                .total,
            0
        );

        // Pages: each VM once, in order; past the end is empty with the same total.
        let mut paged = Vec::new();
        for offset in (0..report.vms.len()).step_by(5) {
            let page = store
                .vms(id, &VmFilter::default(), Page { offset, limit: 5 })
                .await
                .unwrap();
            assert_eq!(page.total, report.vms.len());
            assert!(page.items.len() <= 5);
            paged.extend(page.items.into_iter().map(|v| v.id.to_lowercase()));
        }
        assert_eq!(paged, ids);
        let beyond = store
            .vms(
                id,
                &VmFilter::default(),
                Page {
                    offset: 10_000,
                    limit: 5,
                },
            )
            .await
            .unwrap();
        assert_eq!((beyond.total, beyond.items.len()), (report.vms.len(), 0));
        // A scan the store does not have has no VMs.
        assert_eq!(
            store
                .vms(id + 100, &VmFilter::default(), all)
                .await
                .unwrap()
                .total,
            0
        );
        ids.clear();
    }
}

#[test]
fn a_filter_no_scan_can_match_is_refused_naming_the_field() {
    let bad = |filter: VmFilter, field: &str, fix: &str| {
        let error = filter.check().expect_err("refused");
        assert_eq!(error.detail().file.to_string_lossy(), field, "{error}");
        assert!(error.detail().fix.contains(fix), "{error}");
    };
    bad(
        VmFilter {
            verdict: Some("failed".into()),
            ..VmFilter::default()
        },
        "verdict",
        "pass, fail or unknown",
    );
    bad(
        VmFilter {
            root_cause: Some("agnet".into()),
            ..VmFilter::default()
        },
        "root_cause",
        "agent",
    );
    bad(
        VmFilter {
            tag: Some((" ".into(), None)),
            ..VmFilter::default()
        },
        "tag",
        "NAME=VALUE",
    );
    let good = VmFilter {
        verdict: Some("fail".into()),
        root_cause: Some("network".into()),
        subscription: Some("anything".into()),
        resource_group: Some("rg".into()),
        tag: Some(("env".into(), Some("prod".into()))),
    };
    good.check().unwrap();
}

#[tokio::test]
async fn an_empty_scan_is_kept_too() {
    let mut empty = demo_report().await;
    empty.vms.clear();
    empty.gaps.clear();
    for b in backends() {
        let store = Store::open(&b.target).await.unwrap();
        let id = store
            .record(&empty, &meta("2026-11-24T06:00:00Z"))
            .await
            .unwrap();
        let page = Page {
            offset: 0,
            limit: 10,
        };
        assert_eq!(
            store
                .vms(id, &VmFilter::default(), page)
                .await
                .unwrap()
                .total,
            0
        );
        assert!(
            store.report(id).await.unwrap().unwrap().vms.is_empty(),
            "{}",
            b.name
        );
        assert_eq!(store.scans(5).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_vms_history_lists_its_verdict_in_each_scan() {
    let first = demo_report().await;
    let mut second = first.clone();
    let changed = second
        .vms
        .iter_mut()
        .find(|vm| vm.verdict == Status::Fail)
        .expect("a failing demo VM");
    changed.verdict = Status::Pass;
    changed.root_cause = None;
    let vm_id = changed.id.clone();
    for b in backends() {
        let store = Store::open(&b.target).await.unwrap();
        let one = store
            .record(&first, &meta("2026-11-24T06:00:00Z"))
            .await
            .unwrap();
        let two = store
            .record(&second, &meta("2026-11-25T06:00:00Z"))
            .await
            .unwrap();
        let history = store.vm_history(&vm_id.to_uppercase(), 10).await.unwrap();
        assert_eq!(history.len(), 2, "{}", b.name);
        assert_eq!(
            (
                history[0].scan_id,
                history[0].time.as_str(),
                history[0].verdict.as_str()
            ),
            (one, "2026-11-24T06:00:00Z", "fail")
        );
        assert!(history[0].root_cause.is_some());
        assert_eq!(
            (
                history[1].scan_id,
                history[1].verdict.as_str(),
                history[1].root_cause.as_deref()
            ),
            (two, "pass", None)
        );
        let latest = store.vm_history(&vm_id, 1).await.unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].scan_id, two);
        assert!(store
            .vm_history("/subscriptions/x/vm-none", 10)
            .await
            .unwrap()
            .is_empty());
        // `scans` is oldest first too.
        let ids: Vec<i64> = store
            .scans(10)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, vec![one, two]);
    }
}

#[tokio::test]
async fn an_older_store_is_migrated_with_its_scans_kept() {
    let report = demo_report().await;
    for b in backends() {
        drop(Store::create_at_version(&b.target, 2).await.unwrap());
        assert_eq!(b.version(), 2, "{}", b.name);
        // A scan as version 2 wrote it (no whole report then).
        b.execute(
            "INSERT INTO scans (scanned_at, recorded_at, source, complete, vms, pass, fail, unknown,
                                failed_jobs, failed_jobs_explained, summary_json)
             VALUES ('2026-11-23T06:00:00Z', '2026-11-23T06:01:00Z', 'demo', TRUE, 1, 0, 1, 0, 0, 0, '{}');",
        );
        let store = Store::open(&b.target).await.unwrap();
        assert_eq!(b.version(), i64::from(SCHEMA_VERSION), "{}", b.name);
        let old = store.latest_scan().await.unwrap().expect("kept");
        assert_eq!(old.time, "2026-11-23T06:00:00Z");
        let error = store.report(old.id).await.unwrap_err();
        assert!(
            error
                .detail()
                .problem
                .contains("before the store kept whole reports"),
            "{error}"
        );
        let id = store
            .record(&report, &meta("2026-11-24T06:00:00Z"))
            .await
            .unwrap();
        assert!(store.report(id).await.unwrap().is_some());
        assert_eq!(store.scans(10).await.unwrap().len(), 2);
        // Opening again applies nothing.
        drop(store);
        Store::open(&b.target).await.unwrap();
        assert_eq!(b.version(), i64::from(SCHEMA_VERSION));
    }
}

#[tokio::test]
async fn a_store_from_a_newer_version_is_refused_untouched() {
    let report = demo_report().await;
    for b in backends() {
        let store = Store::open(&b.target).await.unwrap();
        store
            .record(&report, &meta("2026-11-24T06:00:00Z"))
            .await
            .unwrap();
        drop(store);
        let newer = i64::from(SCHEMA_VERSION) + 1;
        b.set_version(newer);
        let before = b.rows();
        for open in [
            Store::open(&b.target).await,
            Store::open_existing(&b.target).await,
        ] {
            let error = open.err().expect("a newer store is refused");
            assert!(
                error.detail().problem.contains("newer backup-doctor"),
                "{error}"
            );
            assert!(error.detail().fix.contains("upgrade"), "{error}");
            assert!(!error.to_string().contains(PASSWORD), "{error}");
        }
        assert_eq!(b.rows(), before, "{}", b.name);
        assert_eq!(b.version(), newer);
    }
}

#[tokio::test]
async fn reading_history_never_creates_a_store() {
    for b in backends() {
        let error = Store::open_existing(&b.target)
            .await
            .err()
            .expect("no store");
        assert!(
            error.detail().problem.contains("no store"),
            "{}: {error}",
            b.name
        );
        match &b.target {
            StoreTarget::Sqlite(path) => assert!(!path.exists()),
            StoreTarget::Postgres(_) => assert_eq!(
                b.number("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
                0
            ),
        }
    }
}

#[tokio::test]
async fn another_programs_tables_are_left_alone() {
    for b in backends() {
        if let StoreTarget::Sqlite(path) = &b.target {
            // The SQLite marker is checked in the unit tests; here, the same tables by name.
            rusqlite::Connection::open(path).unwrap();
        }
        b.execute("CREATE TABLE scans (id INTEGER, note TEXT);");
        let error = Store::open(&b.target).await.err().expect("foreign");
        assert!(
            error.detail().problem.contains("not a backup-doctor store"),
            "{}: {error}",
            b.name
        );
        assert_eq!(b.number("SELECT count(*) FROM scans"), 0);
    }
}

#[tokio::test]
async fn a_record_that_fails_midway_leaves_no_trace() {
    let report = demo_report().await;
    // The same VM twice (ids differ only in case, as ARM echoes them): the one-row-per-VM
    // constraint breaks after the scan row and the other VMs' rows were written.
    let mut broken = report.clone();
    let mut twin = broken.vms[0].clone();
    twin.id = twin.id.to_ascii_uppercase();
    broken.vms.push(twin);
    for b in backends() {
        let store = Store::open(&b.target).await.unwrap();
        store
            .record(&report, &meta("2026-11-24T06:00:00Z"))
            .await
            .unwrap();
        let before = b.rows();
        let error = store
            .record(&broken, &meta("2026-11-25T06:00:00Z"))
            .await
            .unwrap_err();
        assert!(
            error.detail().problem.contains("cannot save the scan"),
            "{error}"
        );
        assert!(!error.to_string().contains(PASSWORD), "{error}");
        assert_eq!(b.rows(), before, "{}", b.name);
        assert_eq!(store.scan_count().await.unwrap(), 1);
        // The store goes on working.
        store
            .record(&report, &meta("2026-11-26T06:00:00Z"))
            .await
            .unwrap();
        assert_eq!(store.scan_count().await.unwrap(), 2);
    }
}

#[tokio::test]
async fn the_lease_has_one_holder_expires_and_is_released() {
    for b in backends() {
        // Separate store values: as separate processes would have them.
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(Arc::new(Store::open(&b.target).await.unwrap()));
        }
        let ttl = Duration::from_secs(60);
        let racers: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let store = Arc::clone(store);
                tokio::spawn(async move {
                    store
                        .try_lease("nightly", &format!("replica-{i}"), ttl)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = Vec::new();
        for (i, racer) in racers.into_iter().enumerate() {
            if racer.await.unwrap() {
                winners.push(i);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{}: exactly one wins, not {winners:?}",
            b.name
        );
        let winner = format!("replica-{}", winners[0]);
        let other = format!("replica-{}", (winners[0] + 1) % 4);
        let store = &stores[0];
        assert!(
            store.try_lease("nightly", &winner, ttl).await.unwrap(),
            "renewed by its holder"
        );
        assert!(!store.try_lease("nightly", &other, ttl).await.unwrap());
        // Another lease name is independent.
        assert!(store.try_lease("other-job", &other, ttl).await.unwrap());
        // Release by someone else leaves it; by its holder frees it.
        store.release_lease("nightly", &other).await.unwrap();
        assert!(!store.try_lease("nightly", &other, ttl).await.unwrap());
        store.release_lease("nightly", &winner).await.unwrap();
        assert!(store
            .try_lease("nightly", &other, Duration::from_millis(300))
            .await
            .unwrap());
        // A holder that stops renewing (a dead one) loses it once it expires.
        assert!(!store.try_lease("nightly", &winner, ttl).await.unwrap());
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert!(
            store.try_lease("nightly", &winner, ttl).await.unwrap(),
            "{}",
            b.name
        );
        assert!(!store.try_lease("nightly", &other, ttl).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_postgres_record_leaves_no_trace() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let target = StoreTarget::Postgres(cluster.database());
    let mut big = demo_report().await;
    // Thousands of VMs, so the write is still going when it is abandoned.
    let template = big.vms.clone();
    for n in 0..200 {
        for vm in &template {
            let mut copy = vm.clone();
            copy.id = format!("{}-copy-{n}", vm.id);
            big.vms.push(copy);
        }
    }
    let store = Store::open(&target).await.unwrap();
    let url = match &target {
        StoreTarget::Postgres(url) => url.clone(),
        _ => unreachable!(),
    };
    // The transaction holds a lock on vm_results from its first VM row until it ends: seen from
    // another session, the write is midway (scan row and VM rows written, the rest not).
    let watching = url.clone();
    let midway = tokio::task::spawn_blocking(move || loop {
        let locks = cluster.psql(
            &watching,
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE c.relname = 'vm_results' AND l.mode = 'RowExclusiveLock'
               AND l.pid <> pg_backend_pid()",
        );
        if locks != "0" {
            break;
        }
    });
    let first = meta("2026-11-24T06:00:00Z");
    tokio::select! {
        done = store.record(&big, &first) => {
            panic!("the write finished before it could be abandoned: {done:?}")
        }
        _ = midway => {}
    }
    // The record future is dropped: its connection rolls back (the pool closes a connection
    // returned mid-transaction, and the server ends that transaction with it).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cluster.psql(&url, "SELECT count(*) FROM scans"), "0");
    assert_eq!(cluster.psql(&url, "SELECT count(*) FROM vm_results"), "0");
    assert_eq!(store.scan_count().await.unwrap(), 0);
    let id = store
        .record(&big, &meta("2026-11-25T06:00:00Z"))
        .await
        .unwrap();
    let all = Page {
        offset: 0,
        limit: 1,
    };
    let kept = store.vms(id, &VmFilter::default(), all).await.unwrap();
    assert_eq!(kept.total, big.vms.len());
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_showing_it() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let url = cluster.database().replace(PASSWORD, "Wr0ng-Secret");
    let target = StoreTarget::parse(&url);
    let error = Store::open(&target).await.err().expect("refused");
    let shown = format!("{error} {:?}", error.detail());
    assert!(!shown.contains("Wr0ng-Secret"), "{shown}");
    assert!(
        shown.contains("***"),
        "the store is named by its redacted URL: {shown}"
    );
    assert!(shown.contains("cannot connect"), "{shown}");
}

/// What `serve` relies on: one store shared by every task, and futures a task may hold.
#[test]
fn the_store_and_its_futures_can_be_shared_across_tasks() {
    fn shared<T: Send + Sync + 'static>() {}
    fn sendable<T: Send>(_: &T) {}
    shared::<Store>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = StoreTarget::Sqlite(dir.path().join("history.db"));
    let store = runtime.block_on(Store::open(&target)).unwrap();
    let report = runtime.block_on(demo_report());
    let meta = meta("2026-11-24T06:00:00Z");
    let filter = VmFilter::default();
    let page = Page {
        offset: 0,
        limit: 10,
    };
    sendable(&Store::open(&target));
    sendable(&store.record(&report, &meta));
    sendable(&store.report(1));
    sendable(&store.vms(1, &filter, page));
    sendable(&store.vm_history("vm", 10));
    sendable(&store.try_lease("nightly", "me", Duration::from_secs(1)));
    sendable(&store.release_lease("nightly", "me"));
    sendable(&store.scans(10));
    sendable(&store.ping());
}
