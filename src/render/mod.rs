//! The outputs: one module per format, each with an entry point for every report it can write,
//! and the one place that picks the renderer for a report and a format.

mod attribution;
pub mod console;
pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use crate::engine::RuleSet;
use crate::error::Error;
use crate::outcome::{CheckReport, GateReport, History, Report};
use crate::source::change::{FileNote, NotEvaluated};
use std::fmt::Write;

/// The output formats (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
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

impl Format {
    pub fn name(self) -> &'static str {
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

/// A report to render, with the rules that judged it where a format needs them (SARIF and JUnit
/// list every rule, passing ones too).
pub enum Document<'a> {
    Scan {
        report: &'a Report,
        rules: &'a RuleSet,
    },
    Gate {
        report: &'a GateReport,
        rules: &'a RuleSet,
    },
    Check(&'a CheckReport),
    History(&'a History),
}

impl Document<'_> {
    fn command(&self) -> &'static str {
        match self {
            Document::Scan { .. } => "scan",
            Document::Gate { .. } => "gate",
            Document::Check(_) => "check",
            Document::History(_) => "history",
        }
    }
}

/// The document in `format`; a format the document has no renderer for is a usage error that
/// names the formats it has.
pub fn render(document: &Document, format: Format, colour: bool) -> Result<String, Error> {
    match renderer(document, format) {
        Some(render) => Ok(render(colour)),
        None => Err(unsupported(document, format)),
    }
}

type Renderer<'a> = Box<dyn FnOnce(bool) -> String + 'a>;

/// The renderer of a document in a format, given whether the console may use colour.
fn renderer<'a>(document: &'a Document, format: Format) -> Option<Renderer<'a>> {
    Some(match (document, format) {
        (Document::Scan { report, .. }, Format::Console) => Box::new(|c| console::scan(report, c)),
        (Document::Scan { report, .. }, Format::Json) => Box::new(|_| json::render(report)),
        (Document::Scan { report, rules, .. }, Format::Sarif) => {
            Box::new(|_| sarif::scan(report, rules))
        }
        (Document::Scan { report, rules, .. }, Format::Junit) => {
            Box::new(|_| junit::scan(report, rules))
        }
        (Document::Scan { report, .. }, Format::Markdown) => Box::new(|_| markdown::scan(report)),
        (Document::Scan { report, .. }, Format::Html) => Box::new(|_| html::scan(report)),
        (Document::Scan { report, .. }, Format::Csv) => Box::new(|_| csv::scan(report)),
        (Document::Gate { report, .. }, Format::Console) => Box::new(|c| console::gate(report, c)),
        (Document::Gate { report, .. }, Format::Json) => Box::new(|_| json::render(report)),
        (Document::Gate { report, rules }, Format::Sarif) => {
            Box::new(|_| sarif::gate(report, rules))
        }
        (Document::Gate { report, rules }, Format::Junit) => {
            Box::new(|_| junit::gate(report, rules))
        }
        (Document::Gate { report, .. }, Format::Markdown) => Box::new(|_| markdown::gate(report)),
        (Document::Check(report), Format::Console) => Box::new(|c| console::check(report, c)),
        (Document::Check(report), Format::Json) => Box::new(|_| json::render(*report)),
        (Document::History(history), Format::Console) => Box::new(|_| console::history(history)),
        (Document::History(history), Format::Json) => Box::new(|_| json::render(*history)),
        _ => return None,
    })
}

fn unsupported(document: &Document, format: Format) -> Error {
    let supported: Vec<&str> = <Format as clap::ValueEnum>::value_variants()
        .iter()
        .filter(|&&candidate| renderer(document, candidate).is_some())
        .map(|candidate| candidate.name())
        .collect();
    let list = match supported.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, others)) => format!("{} or {last}", others.join(", ")),
        None => String::new(),
    };
    Error::usage(
        "--format",
        format!("`{}` does not write {}", document.command(), format.name()),
        format!("use --format {list}"),
    )
}

/// The gate's file, its number of changes and the baseline, file names in `quote`s.
fn gate_subject(report: &GateReport, quote: &str) -> String {
    let baseline = match &report.baseline {
        Some(baseline) => format!("{quote}{baseline}{quote}"),
        None if report.source == "what-if" => "no baseline (the what-if result alone)".into(),
        None => "no baseline (the plan alone)".into(),
    };
    let changes = report.summary.changes;
    let file = &report.file;
    format!(
        "{quote}{file}{quote} ({changes} change{}) over {baseline}",
        plural(changes)
    )
}

/// The gate's counts in one sentence: `separator` after the VMs, the regressions in `strong`.
fn gate_counts(report: &GateReport, separator: &str, strong: &str) -> String {
    let s = &report.summary;
    let mut counts = format!(
        "{} VMs evaluated, {} on the path of a change{separator} {strong}{} regression{}{strong}, {} newly unknown, {} fixed, {} suppressed",
        s.vms_evaluated,
        s.vms_affected,
        s.regressions,
        plural(s.regressions),
        s.unknown,
        s.fixes,
        s.suppressed
    );
    if s.not_evaluated > 0 {
        let _ = write!(
            counts,
            ", {} change{} not evaluated",
            s.not_evaluated,
            plural(s.not_evaluated)
        );
    }
    counts
}

/// The closing line of a gate without regressions: it vouches only for what was evaluated.
fn no_regression(report: &GateReport) -> String {
    let unseen = report.not_evaluated.iter().filter(|n| n.mapped).count();
    if unseen == 0 {
        "No VM's backup gets worse with this change.".into()
    } else {
        format!(
            "No evaluated change makes a VM's backup worse, but {unseen} change{} of a type the gate maps could not be evaluated: review {} before applying.",
            plural(unseen),
            if unseen == 1 { "it" } else { "them" }
        )
    }
}

/// One change the gate could not evaluate, with `quote`s around its address: what it is, why,
/// and whether it makes the run incomplete.
fn not_evaluated_line(entry: &NotEvaluated, quote: &str) -> String {
    let counts = if entry.mapped {
        "a type the gate maps, so the run is incomplete"
    } else {
        "a type the gate does not map"
    };
    format!(
        "{quote}{}{quote} ({}): {} ({counts})",
        entry.address, entry.change_type, entry.reason
    )
}

/// One message of the change file as the file gives it, `quote`s around the code and target.
fn note_line(note: &FileNote, quote: &str) -> String {
    let mut line = note.level.clone();
    if let Some(code) = &note.code {
        let _ = write!(line, " {quote}{code}{quote}");
    }
    let _ = write!(line, ": {}", note.message);
    if let Some(target) = &note.target {
        let _ = write!(line, " (on {quote}{target}{quote})");
    }
    let _ = write!(line, " [{}]", note.place);
    line
}

/// `s` for any count but one.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
