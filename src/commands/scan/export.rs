//! `scan --export log-analytics` and `serve`'s `[export.log_analytics]`: the export target is
//! checked and its credential made before the scan (a wrong flag must not wait for a long live
//! read), and the rows are sent after the scan is kept and its report written, so a failed export
//! loses neither.

use crate::error::Error;
use crate::export::{self, rows::Stamp, Exported, LogAnalytics, Setting};
use crate::live::auth::{credential, AuthKind, Cloud, Endpoints};
use crate::outcome::Report;
use azure_core::auth::TokenCredential;
use std::path::Path;
use std::sync::Arc;

/// Where and as whom to export.
#[derive(Debug, Clone)]
pub struct LogAnalyticsOptions {
    /// The data collection endpoint's (or rule's) logs ingestion URL.
    pub endpoint: String,
    /// The data collection rule's immutable id.
    pub dcr: String,
    /// The live credential (`--auth`, `[live] auth`) and its cloud, which also picks Azure
    /// Monitor's token audience.
    pub auth: AuthKind,
    pub cloud: Cloud,
}

/// A checked target with its credential.
pub struct Exporter {
    target: LogAnalytics,
    credential: Arc<dyn TokenCredential>,
}

/// The place errors name: the command-line flags (serve's configuration names its own keys).
const PLACE: &str = "--export log-analytics";

impl Exporter {
    /// Checks the settings and makes the credential; `Setting` errors name the flag.
    pub fn prepare(options: &LogAnalyticsOptions) -> Result<Exporter, Error> {
        let target = LogAnalytics::new(&options.endpoint, &options.dcr, options.cloud).map_err(
            |problem| {
                let flag = match problem.setting {
                    Setting::Endpoint => "--log-analytics-endpoint",
                    Setting::Dcr => "--log-analytics-dcr",
                };
                Error::usage(flag, problem.problem, problem.fix)
            },
        )?;
        let endpoints = Endpoints::resolve(options.cloud, None, None, None)
            .map_err(|problem| Error::usage("--cloud", problem, "give a full https:// URL"))?;
        let credential = credential(options.auth, &endpoints).map_err(|problem| {
            Error::usage(
                "--auth",
                problem,
                "the export signs in as the live scan does: set the credential's variables or \
                 choose another --auth",
            )
        })?;
        Ok(Exporter { target, credential })
    }

    /// Sends `report`'s rows, stamped with `time` (when its data was read) and a fresh scan id.
    /// A failure is a runtime error naming the endpoint, the stream and the HTTP status.
    pub async fn send(&self, report: &Report, time: &str) -> Result<Exported, Error> {
        let stamp = Stamp::new(time);
        let exported = export::send(&self.target, self.credential.clone(), report, &stamp)
            .await
            .map_err(|failure| {
                let fix = match failure.status {
                    Some(401 | 403) => {
                        "give the identity the Monitoring Metrics Publisher role on the data \
                         collection rule, and check --cloud matches the endpoint \
                         (docs/deploy/log-analytics.md)"
                    }
                    Some(404) => {
                        "check the rule's immutable id (--log-analytics-dcr), that the rule \
                         declares the streams of deploy/azure/log-analytics/tables.json, and that \
                         the endpoint is in the rule's region"
                    }
                    Some(400 | 413) => {
                        "deploy the tables and rule of this version (deploy/azure/log-analytics): \
                         the rows follow its tables.json"
                    }
                    _ => {
                        "the scan is kept in the store and the report is written; the next scan \
                         exports again"
                    }
                };
                Error::runtime(Path::new(PLACE), failure.to_string(), fix)
            })?;
        tracing::info!(
            endpoint = self.target.endpoint(),
            scan_id = %exported.scan_id,
            vm_rows = exported.vm_rows,
            finding_rows = exported.finding_rows,
            requests = exported.requests,
            retries = exported.retries,
            "exported to Log Analytics"
        );
        Ok(exported)
    }
}

/// [`Exporter::send`] for the command line, on a runtime of its own.
pub fn send_blocking(exporter: &Exporter, report: &Report, time: &str) -> Result<Exported, Error> {
    super::super::block_on(PLACE, exporter.send(report, time))?
}
