//! The HTML report as a browser shows it: the demo fleet's report is rendered by headless
//! Chromium (its script run, the URL hash applied) and the DOM it ends with is checked against
//! the JSON report of the same scan. Also: the page loads nothing, and text from Azure cannot
//! inject markup or script.
//!
//! Without Chromium these tests print "skipped: install chromium" and return, unless
//! `BACKUP_DOCTOR_REQUIRE_BROWSER=1` (set by `.ci/run`), where a missing browser fails them.

use backup_doctor_testkit::binary::scan_report as scan;
use backup_doctor_testkit::browser::{browser, chromium};
use backup_doctor_testkit::fixtures::{demo, demo_vm};
use backup_doctor_testkit::json;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use std::path::{Path, PathBuf};

const NETWORK_SUBSCRIPTION: &str = "9200a15f-69ff-4a7b-aebd-c582c1ca746a";

fn demo_json() -> Value {
    serde_json::from_str(&scan(&[&demo()], "json")).expect("--format json prints JSON")
}

fn file_url(path: &Path, hash: &str) -> String {
    format!("file://{}{hash}", path.display())
}

fn rendered(browser: &Path, page: &Path, hash: &str) -> Html {
    let dom = chromium(browser, &file_url(page, hash), &["--dump-dom".to_string()]);
    assert!(
        dom.contains("</html>"),
        "chromium printed no DOM: {dom:.200}"
    );
    Html::parse_document(&dom)
}

fn write_report(dir: &Path, snapshots: &[&Path]) -> PathBuf {
    let page = dir.join("report.html");
    std::fs::write(&page, scan(snapshots, "html")).expect("the report is written");
    page
}

/// The browser, and the demo fleet's report written to a page in a temp dir that lives as long
/// as the returned guard; None when the browser is missing (and not required).
fn demo_page() -> Option<(PathBuf, PathBuf, tempfile::TempDir)> {
    let browser = browser()?;
    let dir = tempfile::tempdir().unwrap();
    let page = write_report(dir.path(), &[&demo()]);
    Some((browser, page, dir))
}

fn select<'a>(dom: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    let selector = Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e:?}"));
    dom.select(&selector).collect()
}

fn one<'a>(dom: &'a Html, css: &str) -> ElementRef<'a> {
    let found = select(dom, css);
    assert_eq!(found.len(), 1, "exactly one element for {css}");
    found[0]
}

fn text(element: ElementRef) -> String {
    element.text().collect::<String>()
}

fn attr<'a>(element: ElementRef<'a>, name: &str) -> &'a str {
    element
        .value()
        .attr(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", element.value().name()))
}

fn visible_vms(dom: &Html) -> Vec<String> {
    select(dom, "article.vm:not([hidden])")
        .into_iter()
        .map(|vm| attr(vm, "data-name").to_string())
        .collect()
}

#[test]
fn the_demo_report_renders_summary_chart_and_pipelines() {
    let Some((browser, page, _dir)) = demo_page() else {
        return;
    };
    let report = demo_json();
    let dom = rendered(&browser, &page, "");

    for verdict in ["pass", "fail", "unknown"] {
        let card = one(&dom, &format!("#count-{verdict}"));
        let expected = report["summary"][verdict].as_u64().unwrap();
        assert_eq!(attr(card, "data-count"), expected.to_string(), "{verdict}");
        assert!(text(card).contains(&expected.to_string()), "{verdict}");
    }
    assert_eq!(
        text(one(&dom, "#count-vms .number")),
        report["summary"]["vms"].to_string()
    );
    assert_eq!(text(one(&dom, "#completeness")), "incomplete");

    // One bar per layer in pipeline order, each as long as its share of root causes.
    let bars = select(&dom, "#chart .bar");
    let layers: Vec<&str> = bars.iter().map(|b| attr(*b, "data-cause")).collect();
    assert_eq!(
        layers,
        [
            "agent",
            "extension",
            "vss",
            "fsfreeze",
            "snapshot",
            "network",
            "encryption",
            "vault"
        ]
    );
    let by_cause = &report["summary"]["by_root_cause"];
    let widths: Vec<f64> = bars
        .iter()
        .map(|bar| {
            let fill = bar
                .select(&Selector::parse(".bar-fill").unwrap())
                .next()
                .unwrap();
            attr(fill, "width").parse().unwrap()
        })
        .collect();
    let max_width = widths.iter().cloned().fold(0.0, f64::max);
    for (bar, width) in bars.iter().zip(&widths) {
        let cause = attr(*bar, "data-cause");
        let expected = by_cause[cause].as_u64().unwrap_or(0);
        assert_eq!(attr(*bar, "data-count"), expected.to_string(), "{cause}");
        assert_eq!(*width > 0.0, expected > 0, "{cause} bar drawn iff counted");
    }
    let snapshot_bar = layers.iter().position(|c| *c == "snapshot").unwrap();
    assert_eq!(
        widths[snapshot_bar], max_width,
        "snapshot is the most common root cause of the demo fleet"
    );

    // Every VM shows the pipeline the JSON report has, with its root cause highlighted.
    let cards = select(&dom, "article.vm");
    assert_eq!(cards.len(), report["vms"].as_array().unwrap().len());
    assert_eq!(visible_vms(&dom).len(), cards.len(), "no filter: all shown");
    for vm in report["vms"].as_array().unwrap() {
        let name = vm["name"].as_str().unwrap();
        let card = format!("article.vm[data-name=\"{name}\"]");
        let statuses: Vec<(String, String)> = select(&dom, &format!("{card} .layer"))
            .into_iter()
            .map(|l| {
                (
                    attr(l, "data-layer").to_string(),
                    attr(l, "data-status").to_string(),
                )
            })
            .collect();
        let expected = json::pairs(&vm["layers"], "cause", "status");
        assert_eq!(statuses, expected, "{name}");
        let roots = select(&dom, &format!("{card} .layer.root"));
        match vm["root_cause"].as_str() {
            Some(cause) => {
                assert_eq!(roots.len(), 1, "{name}");
                assert_eq!(attr(roots[0], "data-layer"), cause, "{name}");
                assert!(text(roots[0]).contains("root cause"), "{name}");
            }
            None => assert!(roots.is_empty(), "{name} has no root cause"),
        }
    }

    // vm-sql-01: the agent is the root cause; the later snapshot failure says to fix it after.
    let sql = "article.vm[data-name=\"vm-sql-01\"]";
    assert_eq!(
        attr(one(&dom, &format!("{sql} .layer.root")), "data-layer"),
        "agent"
    );
    assert!(one(&dom, &format!("{sql} .layer[data-layer=\"agent\"]"))
        .value()
        .classes()
        .any(|c| c == "fail"));
    let agent = one(
        &dom,
        &format!("{sql} .finding[data-rule=\"agent/not-ready\"]"),
    );
    assert!(text(agent).contains("UserErrorGuestAgentStatusUnavailable"));
    assert!(
        text(agent).contains("Restart-Service WindowsAzureGuestAgent"),
        "the fix is shown"
    );
    let ultra = one(
        &dom,
        &format!("{sql} .finding[data-rule=\"snapshot/unsupported-disk-type\"]"),
    );
    assert!(text(ultra).contains("fix after the root cause"));
    let jobs = select(&dom, &format!("{sql} tr.job"));
    assert!(!jobs.is_empty(), "vm-sql-01 has failed jobs");
    assert!(jobs
        .iter()
        .any(|j| attr(*j, "data-predicted") == "yes" && text(*j).contains("agent/not-ready")));

    // Unknown and not-applicable layers look different from pass and fail.
    let unknown = select(&dom, ".layer[data-status=\"unknown\"]");
    assert!(!unknown.is_empty(), "the demo fleet has unknown layers");
    assert!(unknown
        .iter()
        .all(|l| l.value().classes().any(|c| c == "unknown")));
    let not_applicable = select(&dom, ".layer[data-status=\"n/a\"]");
    assert!(
        !not_applicable.is_empty(),
        "vss or fsfreeze is n/a somewhere"
    );
    assert!(not_applicable
        .iter()
        .all(|l| l.value().classes().any(|c| c == "na") && text(*l).contains("n/a")));
}

#[test]
fn filters_from_the_url_hash_hide_the_other_vms() {
    let Some((browser, page, _dir)) = demo_page() else {
        return;
    };
    let report = demo_json();
    let vms = report["vms"].as_array().unwrap();
    let names_where = |keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        let mut names: Vec<String> = vms
            .iter()
            .filter(|vm| keep(vm))
            .map(|vm| vm["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };

    let dom = rendered(&browser, &page, "#cause=network");
    let network = names_where(&|vm| vm["root_cause"] == "network");
    assert_eq!(network, ["vm-hana-01", "vm-sql-02", "vm-sql-03"]);
    assert_eq!(sorted(visible_vms(&dom)), network);
    assert_eq!(
        select(&dom, "article.vm[hidden]").len(),
        vms.len() - network.len(),
        "every other VM is hidden"
    );
    assert_eq!(text(one(&dom, "#shown-count")), "3");
    assert_eq!(
        text(one(&dom, "#active-filters")),
        "root cause: network · network path",
        "the page says which filter is on"
    );
    let selected = one(&dom, "#chart .bar.selected");
    assert_eq!(attr(selected, "data-cause"), "network");

    let dom = rendered(
        &browser,
        &page,
        &format!("#subscription={NETWORK_SUBSCRIPTION}&cause=network"),
    );
    assert_eq!(sorted(visible_vms(&dom)), ["vm-hana-01", "vm-sql-03"]);
    assert_eq!(
        text(one(&dom, "#active-filters")),
        format!("subscription: contoso-dev ({NETWORK_SUBSCRIPTION}), root cause: network · network path")
    );

    // The subscription scopes the counts and the chart, recounted from that subscription's VMs;
    // the cause filter narrows only the list.
    let in_subscription: Vec<&Value> = vms
        .iter()
        .filter(|vm| vm["subscription"] == NETWORK_SUBSCRIPTION)
        .collect();
    assert!(in_subscription.len() < vms.len());
    let card = |id: &str| text(one(&dom, &format!("#{id} .number")));
    assert_eq!(card("count-vms"), in_subscription.len().to_string());
    for verdict in ["pass", "fail", "unknown"] {
        let expected = in_subscription
            .iter()
            .filter(|vm| vm["verdict"] == verdict)
            .count();
        assert_eq!(
            card(&format!("count-{verdict}")),
            expected.to_string(),
            "{verdict}"
        );
    }
    let jobs: usize = in_subscription
        .iter()
        .map(|vm| vm["failed_jobs"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(
        card("count-jobs").ends_with(&format!("/ {jobs}")),
        "{}",
        card("count-jobs")
    );
    for bar in select(&dom, "#chart .bar") {
        let cause = attr(bar, "data-cause");
        let expected = in_subscription
            .iter()
            .filter(|vm| vm["root_cause"] == cause)
            .count();
        assert_eq!(attr(bar, "data-count"), expected.to_string(), "{cause}");
        assert_eq!(
            text(one_in(bar, ".bar-count")),
            expected.to_string(),
            "{cause}"
        );
        let width: f64 = attr(one_in(bar, ".bar-fill"), "width").parse().unwrap();
        assert_eq!(width > 0.0, expected > 0, "{cause} bar drawn iff counted");
    }
    assert!(text(one(&dom, "#chart-scope")).contains("contoso-dev"));

    let dom = rendered(&browser, &page, "#verdict=pass");
    assert_eq!(
        text(one(&dom, "#count-vms .number")),
        vms.len().to_string(),
        "no subscription: the whole fleet"
    );
    assert_eq!(text(one(&dom, "#chart-scope")), "");
    assert_eq!(
        sorted(visible_vms(&dom)),
        names_where(&|vm| vm["verdict"] == "pass")
    );

    // A value the page does not offer filters nothing (and is never put into the page).
    let dom = rendered(&browser, &page, "#cause=%3Cimg%20src%3Dx%3E");
    assert_eq!(visible_vms(&dom).len(), vms.len());
    assert!(select(&dom, "img").is_empty());
    assert!(one(&dom, "#no-match").value().attr("hidden").is_some());
}

#[test]
fn the_page_loads_nothing_from_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let html = scan(&[&demo()], "html");
    let dom = Html::parse_document(&html);
    for tag in [
        "link", "img", "iframe", "object", "embed", "audio", "video", "source", "base",
    ] {
        assert!(select(&dom, tag).is_empty(), "no <{tag}> elements");
    }
    for element in select(&dom, "*") {
        for (name, value) in element.value().attrs() {
            if [
                "src",
                "href",
                "xlink:href",
                "action",
                "srcset",
                "poster",
                "data",
            ]
            .contains(&name)
            {
                panic!(
                    "<{}> has {name}={value}: the page must load nothing",
                    element.value().name()
                );
            }
            assert!(
                !value.contains("http://")
                    && !value.contains("https://")
                    && !value.starts_with("//"),
                "<{}> {name}={value} points at the network",
                element.value().name()
            );
        }
    }
    let style = text(one(&dom, "style"));
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "the CSS loads nothing"
    );
    let script = text(one(&dom, "script"));
    for call in [
        "fetch(",
        "XMLHttpRequest",
        "WebSocket",
        "import(",
        "sendBeacon",
    ] {
        assert!(!script.contains(call), "the script does not call {call}");
    }
    let policy = attr(
        one(&dom, "meta[http-equiv=\"Content-Security-Policy\"]"),
        "content",
    );
    assert!(policy.starts_with("default-src 'none'"), "{policy}");

    // And the browser agrees: with the policy in force the script still ran (it filtered).
    let Some(browser) = browser() else { return };
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let dom = rendered(&browser, &page, "#verdict=unknown");
    // The demo fleet has no VM of unknown verdict: every card hides and the page says so.
    assert!(
        visible_vms(&dom).is_empty(),
        "the inline script ran under the CSP"
    );
    assert!(one(&dom, "#no-match").value().attr("hidden").is_none());
}

/// A VM whose name and resource group are markup, as Azure would hand them back if someone
/// named them so: the page shows the text and runs nothing of it.
#[test]
fn names_from_azure_cannot_inject_markup() {
    let dir = tempfile::tempdir().unwrap();
    let hostile =
        "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";
    let mut vm = demo_vm("vm-sql-01");
    vm["name"] = Value::String(hostile.to_string());
    let overlay = dir.path().join("hostile.json");
    std::fs::write(
        &overlay,
        serde_json::to_string(&Value::Array(vec![vm.clone()])).unwrap(),
    )
    .unwrap();

    let html = scan(&[&demo(), &overlay], "html");
    assert!(
        !html.contains(hostile),
        "the raw name never reaches the page"
    );
    assert!(html.contains("&lt;script&gt;document.title="));
    let dom = Html::parse_document(&html);
    assert_eq!(
        select(&dom, "script").len(),
        1,
        "only the page's own script"
    );
    assert!(select(&dom, "img").is_empty());
    let card = one(&dom, "article.vm[data-name^=\"<script>\"]");
    assert_eq!(
        attr(card, "data-name"),
        hostile,
        "the name survives as text"
    );

    let Some(browser) = browser() else { return };
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let dom = rendered(&browser, &page, "");
    assert_eq!(
        text(one(&dom, "head > title")),
        "backup-doctor report",
        "nothing ran"
    );
    assert_eq!(select(&dom, "script").len(), 1);
    assert!(select(&dom, "img").is_empty());
    let card = one(&dom, "article.vm[data-name^=\"<script>\"]");
    assert_eq!(text(one_in(card, ".vm-name")), hostile);
}

fn one_in<'a>(element: ElementRef<'a>, css: &str) -> ElementRef<'a> {
    let selector = Selector::parse(css).unwrap();
    let found: Vec<_> = element.select(&selector).collect();
    assert_eq!(found.len(), 1, "exactly one {css}");
    found[0]
}

/// A screenshot for people to look at (kept in the target dir), and a check that it is a
/// real picture of a full page.
#[test]
fn the_page_screenshots() {
    let Some((browser, page, _dir)) = demo_page() else {
        return;
    };
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &browser,
        &file_url(&page, ""),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,2000".to_string(),
            "--hide-scrollbars".to_string(),
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1400, 2000));
    assert!(png.len() > 50_000, "a page with content, not a blank one");
    eprintln!("screenshot: {}", shot.display());
}
