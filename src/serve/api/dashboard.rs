//! The dashboard: `GET /` is the latest scan as the page `--format html` writes (the same
//! escaping and Content-Security-Policy, also sent as a header), `GET /history` the trend by
//! root cause over the kept scans and the findings each scan brought and resolved.

use super::{ApiError, Shared};
use crate::outcome::{History, PreviousFinding, ScanRow};
use crate::render::{self, Document, Format};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// How many scans the history page shows.
const SCANS: usize = 30;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}\
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:right}\
th:first-child,td:first-child{text-align:left}.new{color:#b42318}.resolved{color:#067647}\
svg{border:1px solid #d0d7de;background:#fafbfc}ul{margin:.25rem 0}";

/// Colours of the trend lines, one per root cause in pipeline order (cycled).
const COLOURS: &[&str] = &[
    "#b42318", "#c4320a", "#b54708", "#4e5ba6", "#026aa2", "#067647", "#6941c6", "#475467",
    "#c11574", "#0e9384",
];

pub async fn latest(State(state): State<Shared>) -> Result<Response, ApiError> {
    let Some(scan) = state.store.latest_scan().await.map_err(ApiError::store)? else {
        return Ok(page(
            "backup-doctor",
            html! { h1 { "backup-doctor" } p { "No scan yet: the first scheduled scan, or POST /v1/scans, will show here." } p { a href="/history" { "History" } } },
        ));
    };
    let report = state
        .store
        .report(scan.id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| {
            ApiError::not_found(format!("scan {} has no report", scan.id), "start a scan")
        })?;
    let text = render::render(
        &Document::Scan {
            report: &report,
            rules: &state.rules,
        },
        Format::Html,
        false,
    )
    .map_err(|e| ApiError::bad_request(e.to_string(), ""))?;
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], text).into_response();
    if let Ok(policy) = HeaderValue::from_str(&render::html::content_security_policy()) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    Ok(response)
}

pub async fn history(State(state): State<Shared>) -> Result<Response, ApiError> {
    let mut scans = state.store.scans(SCANS).await.map_err(ApiError::store)?;
    scans.sort_by_key(|s| s.id);
    let mut failing = Vec::with_capacity(scans.len());
    for scan in &scans {
        failing.push(
            state
                .store
                .failing_findings(scan.id)
                .await
                .map_err(ApiError::store)?,
        );
    }
    let history = History::new(state.store.describe(), scans);
    Ok(page(
        "backup-doctor history",
        history_page(&history, &failing),
    ))
}

/// Which failing findings (VM, rule) are new in each scan and which of the previous one's
/// are gone; the first listed scan has no previous one to compare with.
fn changes(failing: &[Vec<PreviousFinding>]) -> Vec<Option<(Vec<String>, Vec<String>)>> {
    let keyed: Vec<BTreeSet<(String, String, String)>> = failing
        .iter()
        .map(|findings| {
            findings
                .iter()
                .map(|f| {
                    (
                        f.vm_id.to_ascii_lowercase(),
                        f.rule.clone(),
                        f.vm_name.clone(),
                    )
                })
                .collect()
        })
        .collect();
    let name = |(_, rule, vm): &(String, String, String)| format!("{vm}: {rule}");
    keyed
        .iter()
        .enumerate()
        .map(|(i, now)| {
            let before = keyed.get(i.checked_sub(1)?)?;
            let key = |k: &(String, String, String)| (k.0.clone(), k.1.clone());
            let before_keys: BTreeSet<_> = before.iter().map(key).collect();
            let now_keys: BTreeSet<_> = now.iter().map(key).collect();
            let new = now
                .iter()
                .filter(|k| !before_keys.contains(&key(k)))
                .map(name)
                .collect();
            let resolved = before
                .iter()
                .filter(|k| !now_keys.contains(&key(k)))
                .map(name)
                .collect();
            Some((new, resolved))
        })
        .collect()
}

fn history_page(history: &History, failing: &[Vec<PreviousFinding>]) -> Markup {
    let changes = changes(failing);
    html! {
        h1 { "backup-doctor history" }
        p { a href="/" { "Latest report" } " · store " code { (history.store) } }
        h2 { "Failing VMs by root cause" }
        (trend_chart(history))
        table {
            tr { th { "root cause" } @for scan in &history.scans { th { (short_time(scan)) } } }
            @for row in &history.trend {
                tr { td { (row.title) } @for count in &row.counts { td { (count) } } }
            }
        }
        h2 { "Scans" }
        table {
            tr { th { "scan" } th { "time" } th { "source" } th { "VMs" } th { "pass" } th { "fail" } th { "unknown" } th { "new findings" } th { "resolved findings" } }
            @for (scan, change) in history.scans.iter().zip(&changes).rev() {
                tr {
                    td { (scan.id) } td { (scan.time) } td { (scan.source) } td { (scan.vms) } td { (scan.pass) } td { (scan.fail) } td { (scan.unknown) }
                    @match change {
                        Some((new, resolved)) => {
                            td class="new" { (new.len()) (list(new)) }
                            td class="resolved" { (resolved.len()) (list(resolved)) }
                        }
                        None => { td { "–" } td { "–" } }
                    }
                }
            }
        }
    }
}

fn list(items: &[String]) -> Markup {
    html! { @if !items.is_empty() { ul { @for item in items.iter().take(20) { li { (item) } } @if items.len() > 20 { li { "and " (items.len() - 20) " more" } } } } }
}

fn short_time(scan: &ScanRow) -> String {
    scan.time.get(..16).unwrap_or(&scan.time).replace('T', " ")
}

/// One line per root cause over the scans, as SVG (attributes only: the CSP allows no inline
/// style attribute and no script).
fn trend_chart(history: &History) -> Markup {
    let (width, height, pad) = (640.0_f64, 200.0_f64, 20.0_f64);
    let n = history.scans.len();
    let max = history
        .trend
        .iter()
        .flat_map(|row| row.counts.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = |i: usize| {
        pad + if n > 1 {
            i as f64 * (width - 2.0 * pad) / (n - 1) as f64
        } else {
            (width - 2.0 * pad) / 2.0
        }
    };
    let y = |count: i64| height - pad - count as f64 * (height - 2.0 * pad) / max;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) role="img" aria-label="failing VMs by root cause per scan" {
            @for (i, row) in history.trend.iter().enumerate() {
                @let colour = COLOURS[i % COLOURS.len()];
                @let points = row.counts.iter().enumerate().map(|(j, c)| format!("{:.1},{:.1}", x(j), y(*c))).collect::<Vec<_>>().join(" ");
                polyline class="trend" data-cause=(row.cause) points=(points) fill="none" stroke=(colour) stroke-width="2" {}
                @for (j, c) in row.counts.iter().enumerate() { circle cx=(format!("{:.1}", x(j))) cy=(format!("{:.1}", y(*c))) r="3" fill=(colour) {} }
            }
        }
        p { @for (i, row) in history.trend.iter().enumerate() {
            svg width="12" height="12" { rect width="12" height="12" fill=(COLOURS[i % COLOURS.len()]) {} } " " (row.title) " "
        } }
    }
}

/// A page of the dashboard: only its own style may apply, nothing may load or run.
fn page(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let policy = format!("default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'");
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(vm: &str, rule: &str) -> PreviousFinding {
        PreviousFinding {
            vm_id: format!("/x/{vm}"),
            vm_name: vm.into(),
            rule: rule.into(),
            cause: "agent".into(),
            severity: "error".into(),
            message: String::new(),
        }
    }

    #[test]
    fn each_scan_lists_the_findings_it_brought_and_resolved() {
        let failing = vec![
            vec![finding("a", "r1"), finding("b", "r2")],
            vec![finding("b", "r2"), finding("c", "r3")],
        ];
        let changes = changes(&failing);
        assert!(changes[0].is_none());
        let (new, resolved) = changes[1].clone().unwrap();
        assert_eq!(new, ["c: r3"]);
        assert_eq!(resolved, ["a: r1"]);
    }
}
