//! Sending a scan's report on to where a platform team already looks, after the scan is kept:
//! Azure Monitor's Logs Ingestion API, into the two custom Log Analytics tables
//! `deploy/azure/log-analytics/tables.json` declares (docs/deploy/log-analytics.md).
//!
//! - `tables.rs`: that file, compiled in, so the binary and the Bicep that creates the tables and
//!   the data collection rule read one declaration.
//! - `rows.rs`: a report as rows of those tables.
//! - `upload.rs`: batches within the API's size limit, gzip, the POSTs and their retries.
//!
//! The bearer token goes to the configured endpoint only: its URL is checked here (https, or
//! http on loopback for tests), every request is built from it, and redirects are not followed.

pub mod rows;
pub mod tables;
mod upload;

pub use upload::{send, Exported, Failure};

use crate::live::auth::Cloud;
use std::net::IpAddr;
use url::{Host, Url};

/// The Logs Ingestion API version the requests name.
pub const API_VERSION: &str = "2023-01-01";

/// Where the rows go: a data collection endpoint's (or a data collection rule's own) logs
/// ingestion URL, the rule's immutable id, and the cloud whose Azure Monitor audience the token
/// is for.
#[derive(Debug, Clone)]
pub struct LogAnalytics {
    endpoint: Url,
    dcr: String,
    cloud: Cloud,
}

/// A setting that cannot work, and which one: `Endpoint` or `Dcr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub setting: Setting,
    pub problem: String,
    pub fix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Endpoint,
    Dcr,
}

impl LogAnalytics {
    /// The target, with `endpoint` and `dcr` checked.
    pub fn new(endpoint: &str, dcr: &str, cloud: Cloud) -> Result<LogAnalytics, Problem> {
        Ok(LogAnalytics {
            endpoint: check_endpoint(endpoint)?,
            dcr: check_dcr(dcr)?,
            cloud,
        })
    }

    /// The token scope: Azure Monitor's audience in the target's cloud.
    pub fn scope(&self) -> String {
        format!("{}/.default", audience(self.cloud))
    }

    /// `POST` URL of `stream`.
    pub fn stream_url(&self, stream: &str) -> Url {
        let mut url = self.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!(
            "{base}/dataCollectionRules/{}/streams/{stream}",
            self.dcr
        ));
        url.set_query(Some(&format!("api-version={API_VERSION}")));
        url
    }

    /// The endpoint as messages show it (it carries no secret: user info is refused).
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str().trim_end_matches('/')
    }

    pub fn dcr(&self) -> &str {
        &self.dcr
    }
}

/// The Azure Monitor audience of each cloud's Logs Ingestion API.
pub fn audience(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Public => "https://monitor.azure.com",
        Cloud::Usgov => "https://monitor.azure.us",
        Cloud::China => "https://monitor.azure.cn",
    }
}

fn check_endpoint(text: &str) -> Result<Url, Problem> {
    let bad = |problem: String| Problem {
        setting: Setting::Endpoint,
        problem,
        fix: "give the data collection endpoint's logs ingestion URL (or the data collection \
              rule's own endpoint), like https://NAME.REGION-1.ingest.monitor.azure.com"
            .into(),
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(format!("`{text}` is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "the URL carries user credentials; the token is the only credential sent".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!(
            "`{text}` has a query or fragment; the endpoint is the URL's origin (and path) only"
        )));
    }
    let Some(host) = url.host() else {
        return Err(bad(format!("`{text}` names no host")));
    };
    match url.scheme() {
        "https" => Ok(url),
        // A bearer token in clear text is acceptable only to this machine (tests, a local proxy).
        "http" if is_loopback(&host) => Ok(url),
        scheme => Err(bad(format!(
            "`{text}` is {scheme}://: the bearer token is sent over https only (http only to a \
             loopback address)"
        ))),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => IpAddr::V4(*address).is_loopback(),
        Host::Ipv6(address) => IpAddr::V6(*address).is_loopback(),
    }
}

/// A data collection rule's immutable id: `dcr-` and 32 hex digits. It goes into the URL path,
/// where anything else would name another request.
fn check_dcr(text: &str) -> Result<String, Problem> {
    let id = text.trim();
    let hex = id.strip_prefix("dcr-").unwrap_or_default();
    if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(id.to_owned())
    } else {
        Err(Problem {
            setting: Setting::Dcr,
            problem: format!("`{text}` is not a data collection rule's immutable id"),
            fix: "give the rule's immutableId (dcr- and 32 hex digits), e.g. `az monitor \
                  data-collection rule show -g RG -n NAME --query immutableId -o tsv`"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DCR: &str = "dcr-0123456789abcdef0123456789ABCDEF";

    #[test]
    fn https_endpoints_and_loopback_http_are_accepted_and_build_the_stream_url() {
        for (endpoint, url) in [
            (
                "https://bd-dce-x1.westeurope-1.ingest.monitor.azure.com",
                "https://bd-dce-x1.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123456789abcdef0123456789ABCDEF/streams/Custom-BackupDoctorVms?api-version=2023-01-01",
            ),
            (
                "http://127.0.0.1:8123/",
                "http://127.0.0.1:8123/dataCollectionRules/dcr-0123456789abcdef0123456789ABCDEF/streams/Custom-BackupDoctorVms?api-version=2023-01-01",
            ),
            (
                "http://localhost:9/base/",
                "http://localhost:9/base/dataCollectionRules/dcr-0123456789abcdef0123456789ABCDEF/streams/Custom-BackupDoctorVms?api-version=2023-01-01",
            ),
            (
                "http://[::1]:9",
                "http://[::1]:9/dataCollectionRules/dcr-0123456789abcdef0123456789ABCDEF/streams/Custom-BackupDoctorVms?api-version=2023-01-01",
            ),
        ] {
            let target = LogAnalytics::new(endpoint, DCR, Cloud::Public).unwrap();
            assert_eq!(
                target.stream_url("Custom-BackupDoctorVms").as_str(),
                url,
                "{endpoint}"
            );
        }
    }

    #[test]
    fn clear_text_elsewhere_credentials_queries_and_bad_ids_are_refused() {
        for endpoint in [
            "http://bd-dce.westeurope-1.ingest.monitor.azure.com",
            "http://10.0.0.4:8080",
            "ftp://127.0.0.1/",
            "https://user:pw@bd-dce.ingest.monitor.azure.com",
            "https://bd-dce.ingest.monitor.azure.com/?sig=1",
            "not a url",
        ] {
            let problem = LogAnalytics::new(endpoint, DCR, Cloud::Public).unwrap_err();
            assert_eq!(problem.setting, Setting::Endpoint, "{endpoint}");
            assert!(!problem.problem.contains("pw@"), "{}", problem.problem);
        }
        for dcr in [
            "dcr-0123",
            "0123456789abcdef0123456789abcdef",
            "dcr-0123456789abcdef0123456789abcdeg",
            "dcr-0123456789abcdef0123456789abcdef/../x",
        ] {
            let problem =
                LogAnalytics::new("https://dce.ingest.monitor.azure.com", dcr, Cloud::Public)
                    .unwrap_err();
            assert_eq!(problem.setting, Setting::Dcr, "{dcr}");
        }
    }

    #[test]
    fn the_token_is_for_azure_monitor_in_the_chosen_cloud() {
        let scope = |cloud| {
            LogAnalytics::new("https://dce.example", DCR, cloud)
                .unwrap()
                .scope()
        };
        assert_eq!(scope(Cloud::Public), "https://monitor.azure.com/.default");
        assert_eq!(scope(Cloud::Usgov), "https://monitor.azure.us/.default");
        assert_eq!(scope(Cloud::China), "https://monitor.azure.cn/.default");
    }
}
