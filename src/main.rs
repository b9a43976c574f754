//! The command line: parses arguments, calls a command of the library, renders its outcome, and
//! maps outcomes and errors to exit codes (docs/cli.md#exit-codes).

mod cli;

use backup_doctor::commands::scan::export::{self, Exporter};
use backup_doctor::commands::{self, RulesQuery};
use backup_doctor::error::Error;
use backup_doctor::render::{self, Document};
use clap::{Parser, Subcommand, ValueEnum};
use cli::{
    CheckArgs, CollectArgs, FactsArgs, GateArgs, HistoryArgs, OutputArgs, RuleDirs, ScanArgs,
    ServeArgs,
};
use std::io::Write;
use std::path::Path;
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
    /// Read the tenant live and write it as a snapshot directory (docs/snapshots.md), to scan offline,
    /// replay later, or attach to a bug report.
    Collect(CollectArgs),
    /// Print the facts rules see for each VM (or the named ones), as JSON, with the reasons
    /// facts are unknown: what a rule author needs to write or debug a condition.
    Facts(FactsArgs),
    /// List the scans kept with `scan --store FILE` and the trend by root cause.
    History(HistoryArgs),
    /// Run as a service: scheduled scans into a store, the HTTP API, metrics and a dashboard
    /// (docs/serve.md).
    Serve(ServeArgs),
    /// List the rules, show one, or list the facts and error codes rules use.
    Rules {
        #[command(subcommand)]
        action: Option<RulesAction>,
        #[command(flatten)]
        rules: RuleDirs,
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

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl RulesAction {
    fn query(self) -> RulesQuery {
        match self {
            RulesAction::List => RulesQuery::List,
            RulesAction::Show { id } => RulesQuery::Show(id),
            RulesAction::Facts => RulesQuery::Facts,
            RulesAction::Codes => RulesQuery::Codes,
            RulesAction::Markdown => RulesQuery::Markdown,
        }
    }
}

fn main() -> ExitCode {
    backup_doctor::allocator::keep_freed_memory();
    let cli = Cli::parse();
    if let Command::Serve(args) = &cli.command {
        return serve(args, cli.verbose, cli.log_format);
    }
    init_logging(cli.verbose, cli.log_format);
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// Runs the command and says how it went: 0 all clear, 1 a failure at or above `--fail-on`,
/// 3 incomplete (docs/cli.md#exit-codes).
fn run(command: Command) -> Result<u8, Error> {
    match command {
        Command::Scan(args) => {
            // Checked before the scan: a wrong export flag must not wait for a long live read.
            let exporter = args.export().as_ref().map(Exporter::prepare).transpose()?;
            let options = args.options();
            let scan = commands::scan(&options)?;
            let (report, rules) = (&scan.report, &scan.rules);
            write(&args.output, &Document::Scan { report, rules })?;
            if let Some(exporter) = &exporter {
                // After the store and the report: a failed export loses neither, and ends the
                // run with 2 (docs/cli.md#exit-codes).
                let time = commands::scan::scan_time(&options, report);
                export::send_blocking(exporter, report, &time)?;
            }
            Ok(report.exit_code(args.output.fail_on()) as u8)
        }
        Command::Check(args) => {
            let report = commands::check(&args.options())?;
            write(&args.output, &Document::Check(&report))?;
            Ok(report.exit_code(args.output.fail_on()) as u8)
        }
        Command::Gate(args) => {
            let gate = commands::gate(&args.options())?;
            let (report, rules) = (&gate.report, &gate.rules);
            write(&args.output, &Document::Gate { report, rules })?;
            Ok(report.exit_code() as u8)
        }
        Command::Collect(args) => {
            let collection = commands::collect(&args.options())?;
            eprint!("{}", render::console::collect(&collection, &args.out));
            Ok(if collection.gaps.is_empty() { 0 } else { 3 })
        }
        Command::Facts(args) => {
            let facts = commands::facts(&args.options())?;
            emit(None, &render::json::facts(&facts))?;
            Ok(0)
        }
        Command::History(args) => {
            let history = commands::history(&args.store, args.limit as usize)?;
            let text = render::render(&Document::History(&history), args.format.into(), false)?;
            emit(None, &text)?;
            Ok(0)
        }
        Command::Serve(_) => unreachable!("main runs serve before other commands"),
        Command::Rules { action, rules } => {
            let query = action.unwrap_or(RulesAction::List).query();
            emit(None, &commands::rules(&query, &rules.rule_dirs)?)?;
            Ok(0)
        }
    }
}

/// Every error ends the run with 2; the kinds matter to callers that answer a request (a service
/// tells a bad request from a failed run), not to a shell.
fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Usage(_) | Error::Input(_) | Error::Runtime(_) => 2,
    }
}

/// `serve`: reads and checks the configuration (`--check-config` stops there), then serves
/// until SIGTERM. Its logs are at info level at least (one line per request and per scan), as
/// JSON when the flag or the configuration's `log_format` says so.
fn serve(args: &ServeArgs, verbose: u8, format: LogFormat) -> ExitCode {
    let config = match backup_doctor::serve::check_config(&args.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(exit_code(&error));
        }
    };
    if args.check_config {
        println!("{}: the configuration is valid", args.config.display());
        return ExitCode::SUCCESS;
    }
    let json = matches!(format, LogFormat::Json) || config.log_json;
    init_logging(
        verbose.max(1),
        if json {
            LogFormat::Json
        } else {
            LogFormat::Text
        },
    );
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::runtime(
                Path::new("serve"),
                format!("cannot start the async runtime: {e}"),
                "",
            )
        })
        .and_then(|runtime| runtime.block_on(backup_doctor::serve::run(config)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "serve stopped");
            eprintln!("error: {error}");
            ExitCode::from(exit_code(&error))
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

/// The document in the `--format` asked, to `--output` or stdout.
fn write(output: &OutputArgs, document: &Document) -> Result<(), Error> {
    let text = render::render(document, output.format, output.colour())?;
    emit(output.output.as_deref(), &text)
}

fn emit(path: Option<&Path>, text: &str) -> Result<(), Error> {
    match path {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            Error::runtime(
                path,
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
