//! The flags of each command (a module of the binary, declared by `main.rs`), with the groups
//! several commands share declared once, and how they become the commands' plain options.

use backup_doctor::commands::scan::export::LogAnalyticsOptions;
use backup_doctor::commands::{
    ChangeFile, ChangeOptions, CheckOptions, CollectOptions, FactsOptions, GateOptions, Judging,
    LiveSource, ScanOptions, Source, StoreOptions,
};
use backup_doctor::live::auth::{AuthKind, Cloud};
use backup_doctor::outcome::Severity;
use backup_doctor::render::Format;
use backup_doctor::store::StoreTarget;
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    rules: RuleDirs,
    /// How many days of failed backup jobs count as evidence.
    #[arg(long, default_value_t = 7, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=90))]
    job_window_days: i64,
    /// "Now" for the job window (RFC 3339); defaults to the snapshot's creation time.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    #[command(flatten)]
    service: ServiceObjectId,
    /// Keep this scan in a history store: a SQLite file (created on first use) or a
    /// postgres:// URL (see `history`).
    #[arg(long, value_name = "FILE|URL")]
    store: Option<StoreTarget>,
    /// Show what is new, resolved and persisting since the previous scan in --store.
    #[arg(long, requires = "store")]
    since_last: bool,
    /// Accepted findings: TOML [[suppression]] entries with rule, resource, justification, expires.
    #[arg(long, value_name = "FILE")]
    suppressions: Option<PathBuf>,
    /// Look for the Azure changes that explain failing findings from this time (RFC 3339)
    /// instead of the previous scan in --store (default without a store: 14 days back).
    #[arg(long, value_name = "TIME")]
    changes_since: Option<String>,
    /// Attach the explaining changes to every failing finding, not only the new ones.
    #[arg(long)]
    all_changes: bool,
    #[command(flatten)]
    export: ExportArgs,
}

/// Where `scan` sends its rows after the report is written (docs/deploy/log-analytics.md).
#[derive(Args)]
pub struct ExportArgs {
    /// Also send the scan to Log Analytics through the Logs Ingestion API, signed in with the
    /// --auth credential (exit 2 if that fails; the report and the store keep the scan).
    #[arg(long, value_enum, value_name = "TARGET", requires_ifs = [("log-analytics", "log_analytics_endpoint"), ("log-analytics", "log_analytics_dcr")])]
    export: Option<ExportTarget>,
    /// The data collection endpoint's logs ingestion URL (or the data collection rule's own).
    #[arg(long, value_name = "URL", env = "BACKUP_DOCTOR_LOG_ANALYTICS_ENDPOINT")]
    log_analytics_endpoint: Option<String>,
    /// The data collection rule's immutable id (dcr-…).
    #[arg(
        long,
        value_name = "IMMUTABLE_ID",
        env = "BACKUP_DOCTOR_LOG_ANALYTICS_DCR"
    )]
    log_analytics_dcr: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportTarget {
    /// Azure Monitor Logs Ingestion into the tables of deploy/azure/log-analytics/tables.json.
    LogAnalytics,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("selection").required(true).multiple(true).args(["vm", "resource_group"])))]
#[command(mut_arg("snapshot", |a| a.help("A snapshot, as for `scan` (repeatable: later files are laid over earlier ones)")))]
#[command(mut_arg("live", |a| a.help("Read the tenant through Azure Resource Manager instead of a snapshot")))]
pub struct CheckArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The VMs to check, by name or ARM id (repeatable, or several after one flag).
    #[arg(long, value_name = "ID_OR_NAME", num_args = 1..)]
    vm: Vec<String>,
    /// Check every VM of these resource groups (repeatable, or several after one flag).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    resource_group: Vec<String>,
    /// The Recovery Services vault to enable backup from (id or name). Default: a vault in each
    /// VM's region and subscription.
    #[arg(long, value_name = "ID")]
    vault: Option<String>,
    /// `standard`, `enhanced`, or the name of a backup policy of the vault (its type and
    /// restore-point resource group naming are taken from it).
    #[arg(
        long,
        value_name = "standard|enhanced|NAME",
        default_value = "standard"
    )]
    policy: String,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    rules: RuleDirs,
    #[command(flatten)]
    service: ServiceObjectId,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["plan", "what_if"])))]
pub struct GateArgs {
    /// The current state as a snapshot (repeatable, like `scan --snapshot`). Without it, the
    /// plan's resources are evaluated alone and everything outside them is unknown.
    #[arg(long, value_name = "PATH")]
    baseline: Vec<PathBuf>,
    /// The JSON of `terraform show -json tfplan` (azurerm provider).
    #[arg(long, value_name = "TFPLAN.json")]
    plan: Option<PathBuf>,
    /// The JSON of `az deployment group|sub what-if --no-pretty-print -o json`.
    #[arg(long = "what-if", value_name = "WHATIF.json")]
    what_if: Option<PathBuf>,
    /// Accepted findings: TOML [[suppression]] entries with rule, resource, justification, expires.
    #[arg(long, value_name = "FILE")]
    suppressions: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    rules: RuleDirs,
    /// "Now" for job windows and suppression expiry (RFC 3339); defaults to the current time.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    #[command(flatten)]
    service: ServiceObjectId,
}

#[derive(Args)]
#[command(mut_arg("backup_service_object_id", |a| a.help("The tenant's object id of the Backup Management Service; given, Microsoft Graph is not called")))]
pub struct CollectArgs {
    /// Read the tenant through Azure Resource Manager (the only source `collect` has).
    #[arg(long, required = true)]
    live: bool,
    /// The directory to write the snapshot to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    azure: LiveArgs,
    /// How many days of backup jobs to read.
    #[arg(long, default_value_t = 7, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=90))]
    job_window_days: i64,
    #[command(flatten)]
    service: ServiceObjectId,
    /// Keep the Azure change records from this time (RFC 3339); default 14 days back, all
    /// Resource Graph keeps.
    #[arg(long, value_name = "TIME")]
    changes_since: Option<String>,
}

#[derive(Args)]
#[command(mut_arg("backup_service_object_id", |a| a.help("The tenant's object id of the Backup Management Service")))]
pub struct FactsArgs {
    /// A snapshot, as for `scan` (repeatable).
    #[arg(long, value_name = "PATH", required = true)]
    snapshot: Vec<PathBuf>,
    /// Only these VMs (name or id; repeatable).
    #[arg(long, value_name = "NAME_OR_ID")]
    vm: Vec<String>,
    #[command(flatten)]
    service: ServiceObjectId,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The store `scan --store FILE|URL` writes: a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "FILE|URL")]
    pub store: StoreTarget,
    /// How many of the latest scans to list.
    #[arg(long, default_value_t = 30, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    #[arg(long, value_enum, default_value_t = HistoryFormat::Console)]
    pub format: HistoryFormat,
}

#[derive(Args)]
pub struct ServeArgs {
    /// The service's TOML configuration (docs/serve.md#configuration); every key can also be
    /// set from a BACKUP_DOCTOR_… environment variable.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Read and check the configuration, then exit: 0 valid, 2 not (naming the key and file).
    #[arg(long)]
    pub check_config: bool,
}

/// A snapshot or the live tenant, one of them required.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["snapshot", "live"])))]
pub struct SourceArgs {
    /// A snapshot: a file or directory of ARM JSON (e.g. fixtures/fleets/demo). Repeat it to lay
    /// later files over earlier ones (same id: the later resource wins).
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    /// Read the tenant through Azure Resource Manager instead of a snapshot (Reader is enough).
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    azure: LiveArgs,
}

/// How a live run signs in and where it reads.
#[derive(Args)]
pub struct LiveArgs {
    /// Only these subscriptions (id; repeatable). Default: every subscription the identity sees.
    #[arg(long = "subscription", value_name = "ID")]
    subscriptions: Vec<String>,
    /// Every subscription below this management group, at any depth (id; repeatable). With
    /// --subscription: both.
    #[arg(long = "management-group", value_name = "ID")]
    management_groups: Vec<String>,
    /// The credential: default (environment, workload identity, managed identity, Azure CLI), or one of them.
    #[arg(long, value_enum, default_value_t = AuthKind::Default)]
    auth: AuthKind,
    /// The Azure cloud whose endpoints to use.
    #[arg(long, value_enum, default_value_t = Cloud::Public)]
    cloud: Cloud,
    /// The Resource Manager endpoint, for clouds not listed (overrides --cloud).
    #[arg(long, value_name = "URL")]
    arm_endpoint: Option<String>,
    /// The Microsoft Graph endpoint (overrides --cloud).
    #[arg(long, value_name = "URL")]
    graph_endpoint: Option<String>,
    /// Requests in flight at once, across subscriptions and resource types.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Give up waiting for ARM's read budget after this many seconds; what is unread becomes a gap.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    deadline: u64,
    /// Give up on one call after this many seconds without its whole answer; it is tried again,
    /// then what it read becomes a gap.
    #[arg(long, value_name = "SECONDS", default_value_t = backup_doctor::live::transport::DEFAULT_CALL_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    call_timeout: u64,
}

#[derive(Args)]
pub struct RuleDirs {
    // Global so that `rules` takes it after its own subcommand too (`rules list --rules DIR`);
    // the other commands have no subcommand for it to reach.
    /// Extra rule directories to load besides the built-in rules.
    #[arg(long = "rules", value_name = "DIR", global = true)]
    pub rule_dirs: Vec<PathBuf>,
}

/// `collect` and `facts` replace the help with what the id does for them.
#[derive(Args)]
pub struct ServiceObjectId {
    /// The tenant's object id of the Backup Management Service (when the snapshot has no Graph data).
    #[arg(long, value_name = "GUID")]
    backup_service_object_id: Option<String>,
}

#[derive(Args)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value_t = Format::Console)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding of this severity or worse fails.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Colour on the console: auto (terminal only, honours NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = Colour::Auto)]
    color: Colour,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum HistoryFormat {
    Console,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Colour {
    Auto,
    Always,
    Never,
}

fn judging(rules: &RuleDirs, service: &ServiceObjectId) -> Judging {
    Judging {
        rule_dirs: rules.rule_dirs.clone(),
        backup_service_object_id: service.backup_service_object_id.clone(),
    }
}

impl SourceArgs {
    fn source(&self) -> Source {
        if self.live {
            Source::Live(self.azure.live_source())
        } else {
            Source::Snapshot(self.snapshot.clone())
        }
    }
}

impl LiveArgs {
    fn live_source(&self) -> LiveSource {
        LiveSource {
            subscriptions: self.subscriptions.clone(),
            management_groups: self.management_groups.clone(),
            auth: self.auth,
            cloud: self.cloud,
            arm_endpoint: self.arm_endpoint.clone(),
            graph_endpoint: self.graph_endpoint.clone(),
            concurrency: usize::from(self.concurrency),
            deadline: Duration::from_secs(self.deadline),
            call_timeout: Duration::from_secs(self.call_timeout),
            progress_bars: std::io::stderr().is_terminal(),
        }
    }
}

impl ScanArgs {
    pub fn options(&self) -> ScanOptions {
        ScanOptions {
            source: self.source.source(),
            judging: judging(&self.rules, &self.service),
            job_window_days: self.job_window_days,
            now: self.now.clone(),
            store: self.store.clone().map(|target| StoreOptions {
                target,
                since_last: self.since_last,
            }),
            suppressions: self.suppressions.clone(),
            changes: ChangeOptions {
                since: self.changes_since.clone(),
                all: self.all_changes,
            },
        }
    }

    /// The export `--export` asks for, with the live credential's kind and cloud.
    pub fn export(&self) -> Option<LogAnalyticsOptions> {
        let export = &self.export;
        match export.export? {
            ExportTarget::LogAnalytics => Some(LogAnalyticsOptions {
                endpoint: export.log_analytics_endpoint.clone().unwrap_or_default(),
                dcr: export.log_analytics_dcr.clone().unwrap_or_default(),
                auth: self.source.azure.auth,
                cloud: self.source.azure.cloud,
            }),
        }
    }
}

impl CheckArgs {
    pub fn options(&self) -> CheckOptions {
        CheckOptions {
            source: self.source.source(),
            judging: judging(&self.rules, &self.service),
            vms: self.vm.clone(),
            resource_groups: self.resource_group.clone(),
            vault: self.vault.clone(),
            policy: self.policy.clone(),
        }
    }
}

impl GateArgs {
    pub fn options(&self) -> GateOptions {
        let change = match (&self.plan, &self.what_if) {
            (Some(plan), _) => ChangeFile::Plan(plan.clone()),
            (None, Some(what_if)) => ChangeFile::WhatIf(what_if.clone()),
            (None, None) => unreachable!("clap requires --plan or --what-if"),
        };
        GateOptions {
            baseline: self.baseline.clone(),
            change,
            judging: judging(&self.rules, &self.service),
            suppressions: self.suppressions.clone(),
            now: self.now.clone(),
            fail_on: self.output.fail_on(),
        }
    }
}

impl CollectArgs {
    pub fn options(&self) -> CollectOptions {
        CollectOptions {
            live: self.azure.live_source(),
            out: self.out.clone(),
            job_window_days: self.job_window_days,
            backup_service_object_id: self.service.backup_service_object_id.clone(),
            changes_since: self.changes_since.clone(),
        }
    }
}

impl FactsArgs {
    pub fn options(&self) -> FactsOptions {
        FactsOptions {
            snapshot: self.snapshot.clone(),
            vms: self.vm.clone(),
            backup_service_object_id: self.service.backup_service_object_id.clone(),
        }
    }
}

impl OutputArgs {
    /// `--fail-on` as the severity from which a failing finding fails the run.
    pub fn fail_on(&self) -> Option<Severity> {
        match self.fail_on {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }

    pub fn colour(&self) -> bool {
        let to_terminal = self.output.is_none() && std::io::stdout().is_terminal();
        match self.color {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

impl From<HistoryFormat> for Format {
    fn from(format: HistoryFormat) -> Format {
        match format {
            HistoryFormat::Console => Format::Console,
            HistoryFormat::Json => Format::Json,
        }
    }
}
