//! Loading, validating and compiling rule files. Everything that can be wrong with a rule is
//! found here, at load, and reported with the file and line: unknown keys, a cause id that does
//! not exist, CEL that does not parse, and fact paths that do not exist.

use super::{line_column, schema, toml_error, Cause, Severity};
use crate::error::InputError;
use crate::source::text;
use cel::common::ast::Expr;
use cel::{Env, IdedExpr, Program};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod bounds;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    title: String,
    cause: toml::Spanned<String>,
    severity: Severity,
    when: toml::Spanned<String>,
    message: toml::Spanned<String>,
    #[serde(default)]
    explains: Vec<String>,
    remediation: String,
    docs: String,
    /// CEL list of resource ids the finding names; the VM itself when absent.
    #[serde(default)]
    resources: Option<toml::Spanned<String>>,
    #[serde(default)]
    applies_to: AppliesTo,
}

/// Which runs evaluate a rule. A scan judges what exists, including a protection's state and its
/// job history; a readiness check judges a protection that does not exist yet, so rules about an
/// existing protection have nothing to judge there, and rules about a proposed one nothing in a
/// scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppliesTo {
    /// Scans and readiness checks.
    #[default]
    All,
    /// Scans only: the rule reads the state of an existing protection or its backup jobs.
    ExistingProtection,
    /// Readiness checks only: the rule reads `vm.readiness`, the proposed protection.
    Readiness,
}

impl AppliesTo {
    pub fn as_str(self) -> &'static str {
        match self {
            AppliesTo::All => "all",
            AppliesTo::ExistingProtection => "existing-protection",
            AppliesTo::Readiness => "readiness",
        }
    }

    pub fn in_scan(self) -> bool {
        self != AppliesTo::Readiness
    }

    pub fn in_readiness_check(self) -> bool {
        self != AppliesTo::ExistingProtection
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub cause: Cause,
    pub severity: Severity,
    pub when_source: String,
    pub message_source: String,
    pub explains: Vec<String>,
    pub remediation: String,
    pub docs: String,
    pub applies_to: AppliesTo,
    pub file: PathBuf,
    pub(crate) when: Program,
    pub(crate) message: Vec<MessagePart>,
    pub(crate) resources: Option<Program>,
    /// Fact paths the condition reads (`[]`/`{}` removed), to name what made it unknown.
    pub reads: Vec<String>,
}

#[derive(Debug)]
pub(crate) enum MessagePart {
    Text(String),
    Expr(Program),
}

/// All rules, ordered by pipeline layer then id.
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub env: Arc<Env>,
}

pub fn cel_env() -> Arc<Env> {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .expect("the strings extension declares no conflicting overloads");
    env.add_extension(cel::extensions::lists)
        .expect("the lists extension declares no conflicting overloads");
    Arc::new(env)
}

impl RuleSet {
    /// The rules shipped in the binary plus any in `extra_dirs`.
    pub fn load(extra_dirs: &[PathBuf]) -> Result<RuleSet, InputError> {
        let env = cel_env();
        let mut rules = Vec::new();
        for (path, text) in BUILTIN_RULES {
            rules.push(compile(&env, Path::new(path), text)?);
        }
        for dir in extra_dirs {
            for file in toml_files(dir)? {
                let bytes = std::fs::read(&file).map_err(|e| {
                    InputError::new(
                        &file,
                        None,
                        format!("cannot read the rule file: {e}"),
                        "check that it exists and is readable",
                    )
                })?;
                let (text, _) = text::decode_str(&file, &bytes)?;
                rules.push(compile(&env, &file, &text)?);
            }
        }
        let mut seen: HashMap<String, PathBuf> = HashMap::new();
        for rule in &rules {
            if let Some(first) = seen.insert(rule.id.clone(), rule.file.clone()) {
                return Err(InputError::new(
                    &rule.file,
                    Some("id".into()),
                    format!(
                        "rule id `{}` is already used by {}",
                        rule.id,
                        first.display()
                    ),
                    "rule ids are unique and never reused: pick a new id",
                ));
            }
        }
        rules.sort_by(|a, b| (a.cause, &a.id).cmp(&(b.cause, &b.id)));
        Ok(RuleSet { rules, env })
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The rules a run of this kind evaluates (see [`AppliesTo`]).
    pub fn keep(mut self, applies: impl Fn(AppliesTo) -> bool) -> RuleSet {
        self.rules.retain(|rule| applies(rule.applies_to));
        self
    }
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            InputError::new(
                &dir,
                None,
                format!("cannot read the rules directory: {e}"),
                "pass --rules a directory of rule .toml files",
            )
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "toml")
                && path.file_name().is_some_and(|n| n != "error-codes.toml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

pub fn compile(env: &Env, file: &Path, text: &str) -> Result<Rule, InputError> {
    let raw: RuleFile = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
    let at = |span: std::ops::Range<usize>| {
        let (line, column) = line_column(text, span.start);
        Some(format!("line {line}, column {column}"))
    };
    let cause = Cause::parse(raw.cause.get_ref()).ok_or_else(|| {
        InputError::new(
            file,
            at(raw.cause.span()),
            format!("unknown cause `{}`", raw.cause.get_ref()),
            format!("use one of: {}", Cause::ALL.map(|c| c.as_str()).join(", ")),
        )
    })?;
    let Some((prefix, slug)) = raw.id.split_once('/') else {
        return Err(InputError::new(
            file,
            Some("id".into()),
            format!("rule id `{}` is not of the form cause/slug", raw.id),
            "name the rule `<cause>/<slug>`, e.g. `agent/not-ready`",
        ));
    };
    if prefix != cause.as_str()
        || slug.is_empty()
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(InputError::new(
            file,
            Some("id".into()),
            format!(
                "rule id `{}` must be `{}/<slug>` with a lower-case, hyphenated slug",
                raw.id,
                cause.as_str()
            ),
            "make the id's prefix the rule's cause",
        ));
    }
    let when = compile_cel(env, file, text, &raw.when, "when")?;
    let mut reads = BTreeSet::new();
    check_paths(file, text, &raw.when, &when, &mut reads)?;
    let resources = match &raw.resources {
        Some(source) => {
            let program = compile_cel(env, file, text, source, "resources")?;
            check_paths(file, text, source, &program, &mut BTreeSet::new())?;
            Some(program)
        }
        None => None,
    };
    let message = parse_message(env, file, text, &raw.message)?;
    if raw.applies_to != AppliesTo::Readiness && reads.iter().any(|p| p.starts_with("vm.readiness"))
    {
        let (line, _) = line_column(text, raw.when.span().start);
        return Err(InputError::new(
            file,
            Some(format!("`when` (line {line})")),
            "the condition reads `vm.readiness`, which only a readiness check has",
            "add `applies_to = \"readiness\"` to the rule",
        ));
    }
    Ok(Rule {
        id: raw.id,
        title: raw.title,
        cause,
        severity: raw.severity,
        when_source: raw.when.get_ref().clone(),
        message_source: raw.message.get_ref().clone(),
        explains: raw.explains,
        remediation: raw.remediation.trim().to_string(),
        docs: raw.docs.trim().to_string(),
        applies_to: raw.applies_to,
        file: file.to_path_buf(),
        when,
        message,
        resources,
        reads: reads.into_iter().collect(),
    })
}

fn compile_cel(
    env: &Env,
    file: &Path,
    text: &str,
    source: &toml::Spanned<String>,
    key: &str,
) -> Result<Program, InputError> {
    bounds::compile(env, source.get_ref()).map_err(|refused| {
        let (line, _) = line_column(text, source.span().start);
        let place = Some(format!("`{key}` (line {line})"));
        match refused {
            bounds::Refused::Parse(e) => InputError::new(
                file,
                place,
                format!("the CEL expression does not parse:\n{e}"),
                "fix the expression; facts are listed by `backup-doctor rules facts`",
            ),
            bounds::Refused::TooLarge(exceeded) => InputError::new(
                file,
                place,
                exceeded.problem(),
                "a rule's expression is a short test of facts: split it into several rules, \
                 or ask for a fact that holds the computation (see docs/writing-rules.md, Limits)",
            ),
        }
    })
}

/// Splits `message` into text and `{cel}` placeholders, compiling each placeholder.
fn parse_message(
    env: &Env,
    file: &Path,
    text: &str,
    message: &toml::Spanned<String>,
) -> Result<Vec<MessagePart>, InputError> {
    let mut parts = Vec::new();
    let mut rest = message.get_ref().as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            let (line, _) = line_column(text, message.span().start);
            return Err(InputError::new(
                file,
                Some(format!("`message` (line {line})")),
                "a `{` placeholder is not closed",
                "write placeholders as {vm.agent.status}",
            ));
        };
        if open > 0 {
            parts.push(MessagePart::Text(rest[..open].to_string()));
        }
        let expression = &rest[open + 1..open + close];
        let spanned = toml::Spanned::new(message.span(), expression.to_string());
        let program = compile_cel(env, file, text, &spanned, "message")?;
        check_paths(file, text, &spanned, &program, &mut BTreeSet::new())?;
        parts.push(MessagePart::Expr(program));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(MessagePart::Text(rest.to_string()));
    }
    Ok(parts)
}

/// Checks every fact path the expression reads against the schema and records them.
fn check_paths(
    file: &Path,
    text: &str,
    source: &toml::Spanned<String>,
    program: &Program,
    reads: &mut BTreeSet<String>,
) -> Result<(), InputError> {
    let mut paths = Vec::new();
    walk(program.expression(), &mut HashMap::new(), &mut paths);
    for path in paths {
        if !schema::is_known(&path) {
            let (line, _) = line_column(text, source.span().start);
            let near = schema::facts()
                .iter()
                .filter(|f| {
                    f.path
                        .starts_with(path.rsplit_once('.').map(|(p, _)| p).unwrap_or("vm"))
                })
                .map(|f| f.path.as_str())
                .take(8)
                .collect::<Vec<_>>();
            return Err(InputError::new(
                file,
                Some(format!("line {line}")),
                format!(
                    "`{}` is not a known fact",
                    path.replace("[]", "").replace("{}", "")
                ),
                format!(
                    "facts under that prefix: {} (full list: `backup-doctor rules facts`)",
                    near.join(", ")
                ),
            ));
        }
        reads.insert(path.replace("[]", "").replace("{}", ""));
    }
    Ok(())
}

/// The fact path an expression denotes, if it is a chain of field selections from `vm` or from
/// a comprehension variable bound to a list of facts.
fn path_of(expr: &IdedExpr, bound: &HashMap<String, String>) -> Option<String> {
    match &expr.expr {
        Expr::Ident(name) if name == "vm" => Some("vm".into()),
        Expr::Ident(name) => bound.get(name).cloned(),
        Expr::Select(select) => Some(format!(
            "{}.{}",
            path_of(&select.operand, bound)?,
            select.field
        )),
        Expr::Call(call) if call.func_name == "_[_]" && call.args.len() == 2 => {
            let base = path_of(&call.args[0], bound)?;
            Some(if schema::is_known(&format!("{base}{{}}")) {
                format!("{base}{{}}")
            } else {
                format!("{base}[]")
            })
        }
        _ => None,
    }
}

fn walk(expr: &IdedExpr, bound: &mut HashMap<String, String>, out: &mut Vec<String>) {
    if let Some(path) = path_of(expr, bound) {
        if path != "vm" && !bound.values().any(|b| *b == path) {
            out.push(path);
        }
    }
    match &expr.expr {
        Expr::Select(select) => walk(&select.operand, bound, out),
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                walk(target, bound, out);
            }
            for arg in &call.args {
                walk(arg, bound, out);
            }
        }
        Expr::List(list) => list.elements.iter().for_each(|e| walk(e, bound, out)),
        Expr::Comprehension(comprehension) => {
            walk(&comprehension.iter_range, bound, out);
            let element = path_of(&comprehension.iter_range, bound).map(|p| format!("{p}[]"));
            let previous = element.as_ref().map(|e| {
                (
                    comprehension.iter_var.clone(),
                    bound.insert(comprehension.iter_var.clone(), e.clone()),
                )
            });
            for part in [
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                walk(part, bound, out);
            }
            if let Some((var, old)) = previous {
                match old {
                    Some(old) => bound.insert(var, old),
                    None => bound.remove(&var),
                };
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                if let cel::common::ast::EntryExpr::MapEntry(e) = &entry.expr {
                    walk(&e.key, bound, out);
                    walk(&e.value, bound, out);
                }
            }
        }
        _ => {}
    }
}

/// A rule's documentation as `rules show` prints it; docs/rules.md comes from the same fields,
/// so the two cannot disagree.
pub fn render_doc(rule: &Rule) -> String {
    let mut facts = rule_facts(rule, str::to_string);
    // The terminal page lists the condition among the facts, before the file.
    facts.insert(4, ("condition", rule.when_source.trim().to_string()));
    let facts: String = facts
        .iter()
        .map(|(label, value)| format!("{:<13}{value}\n", format!("{label}:")))
        .collect();
    format!(
        "{} — {}\n\n{facts}\nWhy:\n{}\n\nFix:\n{}\n",
        rule.id, rule.title, rule.docs, rule.remediation
    )
}

/// What `rules show` and docs/rules.md both say about a rule besides its condition and texts;
/// `code` marks up identifiers (plain on a terminal, code spans in Markdown).
fn rule_facts(rule: &Rule, code: fn(&str) -> String) -> Vec<(&'static str, String)> {
    let explains = if rule.explains.is_empty() {
        "(no documented code)".to_string()
    } else {
        let codes: Vec<String> = rule.explains.iter().map(|c| code(c)).collect();
        codes.join(", ")
    };
    let applies_to = match rule.applies_to {
        AppliesTo::All => "scans and readiness checks",
        AppliesTo::ExistingProtection => "scans only (judges an existing protection)",
        AppliesTo::Readiness => "readiness checks only (judges a proposed protection)",
    };
    vec![
        (
            "layer",
            format!("{} ({})", code(rule.cause.as_str()), rule.cause.title()),
        ),
        ("severity", rule.severity.as_str().to_string()),
        ("applies to", applies_to.to_string()),
        ("explains", explains),
        ("file", code(&rule.file.display().to_string())),
    ]
}

fn code_span(text: &str) -> String {
    format!("`{text}`")
}

/// The rule reference, docs/rules.md (`backup-doctor rules markdown`): a table of every rule in
/// pipeline order, then one section per rule with everything `rules show` prints. A test keeps
/// docs/rules.md equal to this output, so the reference cannot drift from the rule files.
pub fn markdown_reference(rules: &RuleSet) -> String {
    let mut out = String::from(
        "<!-- Generated from the rule files by `backup-doctor rules markdown`; do not edit.\n     \
         Regenerate it with: cargo run -- rules markdown > docs/rules.md -->\n\
         # Rule reference\n\n\
         Every rule, in pipeline order: the layer it judges, its severity, what it catches and the\n\
         documented Azure Backup error codes its findings explain, then one section per rule with\n\
         its condition, why it matters and the fix. Rules are data, one TOML file each under\n\
         `rules/<cause>/<slug>.toml`; [writing-rules.md](writing-rules.md) describes the format.\n\
         `backup-doctor rules show <id>` prints a rule's section in the terminal.\n\n\
         | rule | layer | severity | what it catches | error codes it explains |\n\
         |---|---|---|---|---|\n",
    );
    for rule in &rules.rules {
        out.push_str(&format!(
            "| [`{id}`](#{anchor}) | {cause} | {severity} | {title} | {explains} |\n",
            id = rule.id,
            anchor = markdown_anchor(&rule.id),
            cause = rule.cause.as_str(),
            severity = rule.severity.as_str(),
            title = rule.title,
            explains = markdown_codes(&rule.explains),
        ));
    }
    for rule in &rules.rules {
        out.push_str(&markdown_section(rule));
    }
    out
}

fn markdown_section(rule: &Rule) -> String {
    let facts: String = rule_facts(rule, code_span)
        .iter()
        .map(|(label, value)| format!("- **{label}:** {value}\n"))
        .collect();
    format!(
        "\n## {}\n\n{}\n\n{facts}\n**Condition**\n\n```cel\n{}\n```\n\n**Why**\n\n{}\n\n**Fix**\n\n{}\n",
        rule.id,
        rule.title,
        rule.when_source.trim(),
        markdown_text(rule.docs.trim()),
        markdown_text(rule.remediation.trim()),
    )
}

/// Rule texts are plain text with `code` spans; a `<placeholder>` outside a code span would be
/// taken for an HTML tag by Markdown renderers and vanish, so it is escaped there.
fn markdown_text(text: &str) -> String {
    if text.matches('`').count() % 2 != 0 {
        return text.replace('<', "&lt;");
    }
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                part.to_string()
            } else {
                part.replace('<', "&lt;")
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// The table's short form: a dash where a rule explains no documented code.
fn markdown_codes(codes: &[String]) -> String {
    if codes.is_empty() {
        return "—".to_string();
    }
    let spans: Vec<String> = codes.iter().map(|c| code_span(c)).collect();
    spans.join(", ")
}

/// The anchor GitHub gives a `## agent/not-ready` heading: lower case, punctuation other than
/// `-` and `_` dropped.
fn markdown_anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_placeholders_outside_code_spans_only() {
        assert_eq!(
            markdown_text("zone privatelink.<geo>.x, run `az -g <rg>`"),
            "zone privatelink.&lt;geo>.x, run `az -g <rg>`"
        );
    }

    /// The limits on expressions (`bounds`) are meant to sit far above what rules need: every
    /// expression of every built-in rule (conditions, resources, message placeholders) stays
    /// within a third of the size limits and half the depth limit, or the limits' reasoning
    /// needs a new look.
    #[test]
    fn built_in_rules_stay_far_below_the_expression_limits() {
        let env = cel_env();
        let (mut tokens, mut nesting, mut depth) = (0, 0, 0);
        for (path, text) in BUILTIN_RULES {
            let raw: RuleFile = toml::from_str(text).unwrap();
            let mut sources = vec![raw.when.get_ref().clone()];
            sources.extend(raw.resources.map(|r| r.get_ref().clone()));
            let mut message = raw.message.get_ref().as_str();
            while let Some(open) = message.find('{') {
                let close = open + message[open..].find('}').unwrap();
                sources.push(message[open + 1..close].to_string());
                message = &message[close + 1..];
            }
            for source in sources {
                let (t, n) = bounds::scan(&source);
                let program = bounds::compile(&env, &source)
                    .unwrap_or_else(|e| panic!("{path}: {source}: {e:?}"));
                tokens = tokens.max(t);
                nesting = nesting.max(n);
                depth = depth.max(bounds::depth(program.expression()));
            }
        }
        assert!(
            tokens > 10 && nesting > 1 && depth > 5,
            "{tokens} {nesting} {depth}"
        );
        assert!(tokens * 3 <= bounds::MAX_TOKENS, "{tokens} tokens");
        assert!(nesting * 3 <= bounds::MAX_NESTING, "nesting {nesting}");
        assert!(depth * 2 <= bounds::MAX_DEPTH, "depth {depth}");
        println!("built-in maxima: {tokens} tokens, nesting {nesting}, depth {depth}");
    }

    #[test]
    fn anchors_match_the_headings_github_renders() {
        assert_eq!(markdown_anchor("agent/not-ready"), "agentnot-ready");
        assert_eq!(markdown_anchor("snapshot/vm_Odd"), "snapshotvm_odd");
    }
}
