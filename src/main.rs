//! The command line: parses arguments, calls the library, maps outcomes to exit codes (DESIGN §4).

use backup_doctor::codes::CodeBook;
use backup_doctor::engine::{schema, Engine, RuleSet, Severity};
use backup_doctor::error::InputError;
use backup_doctor::live::auth::{AuthKind, Cloud, Endpoints};
use backup_doctor::live::{self, LiveOptions};
use backup_doctor::report::changes::{Changes, PreviousScan};
use backup_doctor::report::history::{self, History};
use backup_doctor::report::{console, json, junit, markdown, sarif};
use backup_doctor::resolve::Options;
use backup_doctor::store::{ScanMeta, Store};
use backup_doctor::suppress::Suppressions;
use backup_doctor::{gate, scan, source};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "backup-doctor",
    version,
    about = "Finds which layer of the Azure VM backup pipeline breaks backup for each VM, the error code it produces, and the fix."
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines on stderr as text or as one JSON object per line (for log collectors).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Diagnose every VM of a snapshot of ARM JSON, or of the tenant read live (--live).
    Scan(ScanArgs),
    /// Readiness check before enabling backup: for VMs not protected yet, would the first
    /// backup work if backup were enabled now with this vault and policy?
    Check(CheckArgs),
    /// CI gate: lay a Terraform plan (`terraform show -json`) or an ARM what-if over a baseline
    /// snapshot, run the rules before and after, and fail on the VMs whose backup the change breaks.
    Gate(GateArgs),
    /// Read the tenant live and write it as a snapshot directory (DESIGN §3), to scan offline,
    /// replay later, or attach to a bug report.
    Collect(CollectArgs),
    /// Print the facts rules see for each VM (or the named ones), as JSON, with the reasons
    /// facts are unknown: what a rule author needs to write or debug a condition.
    Facts(FactsArgs),
    /// List the scans kept with `scan --store FILE` and the trend by root cause.
    History(HistoryArgs),
    /// List the rules, show one, or list the facts and error codes rules use.
    Rules {
        #[command(subcommand)]
        action: Option<RulesAction>,
        /// Extra rule directories to load besides the built-in rules.
        #[arg(long = "rules", value_name = "DIR", global = true)]
        rule_dirs: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// One line per rule, in pipeline order.
    List,
    /// A rule's documentation: condition, rationale, remediation, error codes it explains.
    Show { id: String },
    /// The facts rule conditions can read.
    Facts,
    /// The documented error codes backup-doctor recognises in backup jobs.
    Codes,
    /// The rule reference (docs/rules.md), as Markdown.
    Markdown,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["snapshot", "live"])))]
struct ScanArgs {
    /// A snapshot: a file or directory of ARM JSON (e.g. fixtures/fleets/demo). Repeat it to lay
    /// later files over earlier ones (same id: the later resource wins).
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    /// Read the tenant through Azure Resource Manager instead of a snapshot (Reader is enough).
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    azure: LiveArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Extra rule directories to load besides the built-in rules.
    #[arg(long = "rules", value_name = "DIR")]
    rule_dirs: Vec<PathBuf>,
    /// How many days of failed backup jobs count as evidence.
    #[arg(long, default_value_t = 7, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=90))]
    job_window_days: i64,
    /// "Now" for the job window (RFC 3339); defaults to the snapshot's creation time.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// The tenant's object id of the Backup Management Service (when the snapshot has no Graph data).
    #[arg(long, value_name = "GUID")]
    backup_service_object_id: Option<String>,
    /// Keep this scan in a SQLite history file (created on first use; see `history`).
    #[arg(long, value_name = "FILE")]
    store: Option<PathBuf>,
    /// Show what is new, resolved and persisting since the previous scan in --store.
    #[arg(long, requires = "store")]
    since_last: bool,
    /// Accepted findings: TOML [[suppression]] entries with rule, resource, justification, expires.
    #[arg(long, value_name = "FILE")]
    suppressions: Option<PathBuf>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["snapshot", "live"])))]
#[command(group(clap::ArgGroup::new("selection").required(true).multiple(true).args(["vm", "resource_group"])))]
struct CheckArgs {
    /// A snapshot, as for `scan` (repeatable: later files are laid over earlier ones).
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    /// Read the tenant through Azure Resource Manager instead of a snapshot.
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    azure: LiveArgs,
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
    output: OutputArgs,
    /// Extra rule directories to load besides the built-in rules.
    #[arg(long = "rules", value_name = "DIR")]
    rule_dirs: Vec<PathBuf>,
    /// The tenant's object id of the Backup Management Service (when the snapshot has no Graph data).
    #[arg(long, value_name = "GUID")]
    backup_service_object_id: Option<String>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["plan", "what_if"])))]
struct GateArgs {
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
    output: OutputArgs,
    /// Extra rule directories to load besides the built-in rules.
    #[arg(long = "rules", value_name = "DIR")]
    rule_dirs: Vec<PathBuf>,
    /// "Now" for job windows and suppression expiry (RFC 3339); defaults to the current time.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// The tenant's object id of the Backup Management Service (when the snapshot has no Graph data).
    #[arg(long, value_name = "GUID")]
    backup_service_object_id: Option<String>,
}

#[derive(Args)]
struct CollectArgs {
    /// Read the tenant through Azure Resource Manager (the only source `collect` has).
    #[arg(long, required = true)]
    live: bool,
    /// The directory to write the snapshot to (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    azure: LiveArgs,
    /// How many days of backup jobs to read.
    #[arg(long, default_value_t = 7, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=90))]
    job_window_days: i64,
    /// The tenant's object id of the Backup Management Service; given, Microsoft Graph is not called.
    #[arg(long, value_name = "GUID")]
    backup_service_object_id: Option<String>,
}

/// How a live run signs in and where it reads.
#[derive(Args)]
struct LiveArgs {
    /// Only these subscriptions (id; repeatable). Default: every subscription the identity sees.
    #[arg(long = "subscription", value_name = "ID")]
    subscriptions: Vec<String>,
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
}

#[derive(Args)]
struct FactsArgs {
    /// A snapshot, as for `scan` (repeatable).
    #[arg(long, value_name = "PATH", required = true)]
    snapshot: Vec<PathBuf>,
    /// Only these VMs (name or id; repeatable).
    #[arg(long, value_name = "NAME_OR_ID")]
    vm: Vec<String>,
    /// The tenant's object id of the Backup Management Service.
    #[arg(long, value_name = "GUID")]
    backup_service_object_id: Option<String>,
}

#[derive(Args)]
struct HistoryArgs {
    /// The store `scan --store FILE` writes.
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
    /// How many of the latest scans to list.
    #[arg(long, default_value_t = 30, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    #[arg(long, value_enum, default_value_t = HistoryFormat::Console)]
    format: HistoryFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum HistoryFormat {
    Console,
    Json,
}

#[derive(Args)]
struct OutputArgs {
    #[arg(long, value_enum, default_value_t = Format::Console)]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding of this severity or worse fails.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Colour on the console: auto (terminal only, honours NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = Colour::Auto)]
    color: Colour,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Console,
    Json,
    /// SARIF 2.1.0, for code-scanning uploads.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// One self-contained page (no network): chart, filters, per-VM pipeline and fixes.
    Html,
    /// One row per VM and finding, for spreadsheets.
    Csv,
}

/// A format the command has no renderer for: bad usage (exit 2), naming the ones it has.
fn unsupported_format(command: &str, format: Format, supported: &str) -> InputError {
    InputError::new(
        std::path::Path::new("--format"),
        None,
        format!("`{command}` does not write {}", format.name()),
        format!("use --format {supported}"),
    )
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Console => "console",
            Format::Json => "json",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum Colour {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    backup_doctor::allocator::keep_freed_memory();
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Check(args) => run_check(args),
        Command::Gate(args) => run_gate(args),
        Command::Collect(args) => run_collect(args),
        Command::Facts(args) => run_facts(args),
        Command::History(args) => run_history(args),
        Command::Rules { action, rule_dirs } => {
            run_rules(action.unwrap_or(RulesAction::List), &rule_dirs)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8, format: LogFormat) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // azure_core logs every request it sends, Authorization header included, at debug level;
    // the most specific directive wins, so whatever RUST_LOG says, that line never prints.
    let silenced = [
        "azure_core::policies::transport=info",
        "azure_core::policies::custom_headers_policy=info",
    ];
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    for directive in silenced {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

impl LiveArgs {
    fn options(
        &self,
        job_window_days: i64,
        backup_service_object_id: Option<String>,
    ) -> Result<LiveOptions, InputError> {
        let endpoints = Endpoints::resolve(
            self.cloud,
            self.arm_endpoint.as_deref(),
            None,
            self.graph_endpoint.as_deref(),
        )
        .map_err(|problem| {
            InputError::new(
                std::path::Path::new("--arm-endpoint"),
                None,
                problem,
                "give a full https:// URL",
            )
        })?;
        Ok(LiveOptions {
            auth: self.auth,
            endpoints,
            subscriptions: self.subscriptions.clone(),
            concurrency: usize::from(self.concurrency),
            deadline: Some(std::time::Duration::from_secs(self.deadline)),
            job_window_days,
            now: time::OffsetDateTime::now_utc(),
            backup_service_object_id,
            progress_bars: std::io::stderr().is_terminal(),
        })
    }
}

/// Runs a live collection to the end on a runtime of its own: the rest of the tool is synchronous.
fn collect_live(options: &LiveOptions) -> Result<live::Collection, InputError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            InputError::new(
                std::path::Path::new("--live"),
                None,
                format!("cannot start the async runtime: {e}"),
                "",
            )
        })?;
    let collection = runtime.block_on(live::collect(options))?;
    tracing::info!(
        subscriptions = collection.subscriptions,
        calls = collection.stats.calls(),
        throttled = collection
            .stats
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed),
        gaps = collection.gaps.len(),
        "collection finished"
    );
    Ok(collection)
}

fn run_collect(args: CollectArgs) -> Result<u8, InputError> {
    let options = args
        .azure
        .options(args.job_window_days, args.backup_service_object_id)?;
    let collection = collect_live(&options)?;
    collection.write(&args.out)?;
    eprintln!(
        "wrote {} files for {} subscriptions to {} ({} calls, {} gaps)",
        collection.files.len(),
        collection.subscriptions,
        args.out.display(),
        collection.stats.calls(),
        collection.gaps.len()
    );
    for gap in &collection.gaps {
        eprintln!("  gap: {} at {}: {}", gap.what, gap.scope, gap.reason);
    }
    Ok(if collection.gaps.is_empty() { 0 } else { 3 })
}

fn run_scan(args: ScanArgs) -> Result<u8, InputError> {
    let now = parse_now(args.now.as_deref())?;
    let codes = CodeBook::builtin()?;
    let engine = Engine::new(RuleSet::load(&args.rule_dirs)?);
    // Opened before the scan: a bad store should stop the run before a long live collection.
    let mut store = args.store.as_deref().map(Store::open).transpose()?;
    let inventory = if args.live {
        let options = args
            .azure
            .options(args.job_window_days, args.backup_service_object_id.clone())?;
        collect_live(&options)?.load()?
    } else {
        source::snapshot::load_layers(&args.snapshot)?
    };
    let options = Options {
        job_window_days: args.job_window_days,
        now,
        backup_service_object_id: args.backup_service_object_id.clone(),
    };
    let mut report = scan(&inventory, &engine, &codes, &options);
    if let Some(store) = store.as_mut() {
        if args.since_last {
            report.changes = Some(changes_since_last(store, &report)?);
        }
        let meta = scan_meta(&args, &report);
        let id = store.record(&report, &meta)?;
        tracing::info!(scan = id, store = %store.path().display(), "scan kept in the store");
    }
    if let Some(path) = &args.suppressions {
        let today = now.unwrap_or_else(time::OffsetDateTime::now_utc).date();
        Suppressions::load(path, today)?.apply_to_report(&mut report);
    }
    let fail_on = args.output.fail_on.severity();
    let text = match args.output.format {
        Format::Console => console::render(&report, args.output.colour()),
        Format::Json => json::render(&report),
        Format::Html => {
            backup_doctor::report::html::render(&report, &subscription_names(&inventory))
        }
        Format::Csv => backup_doctor::report::csv::render(&report),
        Format::Sarif => sarif::render_scan(&report, &engine.rules),
        Format::Junit => junit::render_scan(&report, &engine.rules),
        Format::Markdown => markdown::render_scan(&report),
    };
    emit(args.output.output.as_ref(), &text)?;
    Ok(report.exit_code(fail_on) as u8)
}

/// Compares the report with the latest scan in the store, before this one is added.
fn changes_since_last(
    store: &Store,
    report: &backup_doctor::report::Report,
) -> Result<Changes, InputError> {
    let previous = store.latest_scan()?;
    let before = match &previous {
        Some(scan) => store.failing_findings(scan.id)?,
        None => Vec::new(),
    };
    let previous = previous.map(|scan| PreviousScan {
        id: scan.id,
        time: scan.time,
    });
    Ok(Changes::between(previous, before, report))
}

/// The scan's time (`--now`, else the snapshot's creation time, else the clock) and source.
fn scan_meta(args: &ScanArgs, report: &backup_doctor::report::Report) -> ScanMeta {
    let time = args
        .now
        .clone()
        .or_else(|| report.snapshot_created.clone())
        .unwrap_or_else(|| {
            time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        });
    let source = if args.live {
        "live".to_string()
    } else {
        args.snapshot
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ")
    };
    ScanMeta { time, source }
}

fn run_history(args: HistoryArgs) -> Result<u8, InputError> {
    let store = Store::open_existing(&args.store)?;
    let scans = store.scans(args.limit as usize)?;
    let history = History::new(args.store.display().to_string(), scans);
    let text = match args.format {
        HistoryFormat::Console => history::render_console(&history),
        HistoryFormat::Json => history::render_json(&history),
    };
    emit(None, &text)?;
    Ok(0)
}

fn subscription_names(
    inventory: &backup_doctor::inventory::Inventory,
) -> backup_doctor::report::html::SubscriptionNames {
    inventory
        .subscriptions
        .values()
        .filter_map(|s| Some((s.subscription_id.clone(), s.display_name.clone()?)))
        .collect()
}

fn run_check(args: CheckArgs) -> Result<u8, InputError> {
    use backup_doctor::check;
    let codes = CodeBook::builtin()?;
    let engine = Engine::for_readiness_check(RuleSet::load(&args.rule_dirs)?);
    let inventory = if args.live {
        // Job history does not enter a readiness answer; one day keeps the collection small.
        let options = args
            .azure
            .options(1, args.backup_service_object_id.clone())?;
        collect_live(&options)?.load()?
    } else {
        source::snapshot::load_layers(&args.snapshot)?
    };
    let vms = check::select::vms(&inventory, &args.vm, &args.resource_group)?;
    let proposal = check::select::proposal(&inventory, args.vault.as_deref(), &args.policy)?;
    let options = Options {
        backup_service_object_id: args.backup_service_object_id,
        ..Options::default()
    };
    let report = check::check(&inventory, &engine, &codes, &options, &proposal, &vms);
    let text = match args.output.format {
        Format::Console => check::render::console(&report, args.output.colour()),
        Format::Json => check::render::json(&report),
        other => return Err(unsupported_format("check", other, "console or json")),
    };
    emit(args.output.output.as_ref(), &text)?;
    Ok(report.exit_code(args.output.fail_on.severity()) as u8)
}

fn parse_now(text: Option<&str>) -> Result<Option<time::OffsetDateTime>, InputError> {
    text.map(|text| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
            |e| {
                InputError::new(
                    std::path::Path::new("--now"),
                    None,
                    format!("`{text}` is not an RFC 3339 time: {e}"),
                    "write it like 2026-11-24T06:00:00Z",
                )
            },
        )
    })
    .transpose()
}

impl FailOn {
    fn severity(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }
}

impl OutputArgs {
    fn colour(&self) -> bool {
        let to_terminal = self.output.is_none() && std::io::stdout().is_terminal();
        match self.color {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

fn run_gate(args: GateArgs) -> Result<u8, InputError> {
    let now = parse_now(args.now.as_deref())?;
    let codes = CodeBook::builtin()?;
    let engine = Engine::new(RuleSet::load(&args.rule_dirs)?);
    let before = if args.baseline.is_empty() {
        backup_doctor::inventory::Inventory::default()
    } else {
        source::snapshot::load_layers(&args.baseline)?
    };
    let changes = match (&args.plan, &args.what_if) {
        (Some(plan), _) => source::terraform::load(plan, Some(&before))?,
        (None, Some(what_if)) => source::whatif::load(what_if)?,
        (None, None) => unreachable!("clap requires --plan or --what-if"),
    };
    let today = now.unwrap_or_else(time::OffsetDateTime::now_utc).date();
    let suppressions = args
        .suppressions
        .as_deref()
        .map(|path| Suppressions::load(path, today))
        .transpose()?;
    let options = Options {
        now,
        backup_service_object_id: args.backup_service_object_id,
        ..Options::default()
    };
    let fail_on = args.output.fail_on.severity();
    let report = gate::run(
        gate::GateRun {
            baseline: &args.baseline,
            changes,
            engine: &engine,
            codes: &codes,
            options: &options,
            suppressions: suppressions.as_ref(),
            fail_on,
        },
        before,
    )?;
    let text = match args.output.format {
        Format::Console => gate::console::render(&report, args.output.colour()),
        Format::Json => {
            serde_json::to_string_pretty(&report)
                .expect("the gate report holds only strings, numbers and maps")
                + "\n"
        }
        Format::Sarif => sarif::render_gate(&report, &engine.rules),
        Format::Junit => junit::render_gate(&report, &engine.rules),
        Format::Markdown => markdown::render_gate(&report),
        other => {
            return Err(unsupported_format(
                "gate",
                other,
                "console, json, sarif, junit or markdown",
            ))
        }
    };
    emit(args.output.output.as_ref(), &text)?;
    Ok(report.exit_code() as u8)
}

fn run_facts(args: FactsArgs) -> Result<u8, InputError> {
    let codes = CodeBook::builtin()?;
    let inventory = source::snapshot::load_layers(&args.snapshot)?;
    let options = Options {
        backup_service_object_id: args.backup_service_object_id,
        ..Options::default()
    };
    let index = backup_doctor::resolve::Index::new(&inventory, &codes, &options);
    let wanted = |vm: &backup_doctor::inventory::model::VirtualMachine| {
        args.vm.is_empty()
            || args
                .vm
                .iter()
                .any(|w| w.eq_ignore_ascii_case(&vm.name) || w.eq_ignore_ascii_case(&vm.id))
    };
    let mut out = Vec::new();
    for vm in inventory.vms.values().filter(|vm| wanted(vm)) {
        let facts = backup_doctor::resolve::resolve_vm(&index, vm);
        let mut value = serde_json::json!({ "vm": facts });
        value["unknown"] = serde_json::to_value(&facts.unknown).unwrap_or_default();
        out.push(value);
    }
    if out.is_empty() && !args.vm.is_empty() {
        return Err(InputError::new(
            std::path::Path::new("--vm"),
            None,
            format!("no VM named {} in the snapshot", args.vm.join(", ")),
            "give a VM name or id that `backup-doctor scan` lists",
        ));
    }
    let text = serde_json::to_string_pretty(&out).unwrap_or_default();
    emit(None, &(text + "\n"))?;
    Ok(0)
}

fn emit(path: Option<&PathBuf>, text: &str) -> Result<(), InputError> {
    match path {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            InputError::new(
                path,
                None,
                format!("cannot write the report: {e}"),
                "choose a writable --output path",
            )
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush());
            Ok(())
        }
    }
}

fn run_rules(action: RulesAction, rule_dirs: &[PathBuf]) -> Result<u8, InputError> {
    let rules = RuleSet::load(rule_dirs)?;
    let mut out = String::new();
    match action {
        RulesAction::List => {
            for rule in &rules.rules {
                out.push_str(&format!(
                    "{:<44} {:<8} {}\n",
                    rule.id,
                    rule.severity.as_str(),
                    rule.title
                ));
            }
        }
        RulesAction::Show { id } => {
            let Some(rule) = rules.get(&id) else {
                return Err(InputError::new(
                    std::path::Path::new("rules"),
                    None,
                    format!("no rule `{id}`"),
                    "`backup-doctor rules list` shows the ids",
                ));
            };
            out.push_str(&backup_doctor::engine::rule::render_doc(rule));
        }
        RulesAction::Facts => {
            for fact in schema::facts() {
                out.push_str(&format!(
                    "{:<58} {:<7} {}\n",
                    fact.path, fact.kind, fact.doc
                ));
            }
        }
        RulesAction::Markdown => {
            out.push_str(&backup_doctor::engine::rule::markdown_reference(&rules))
        }
        RulesAction::Codes => {
            let codes = CodeBook::builtin()?;
            for code in codes.all() {
                out.push_str(&format!(
                    "{:<52} {:<10} {}\n",
                    code.code,
                    code.cause.as_str(),
                    code.summary
                ));
            }
        }
    }
    emit(None, &out)?;
    Ok(0)
}
