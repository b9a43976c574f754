//! `rules`: the rules (one line each, or one rule's documentation), the facts their conditions
//! can read, the error codes backup-doctor recognises, and the README's rule table.

use crate::codes::CodeBook;
use crate::engine::rule::{markdown_reference, render_doc};
use crate::engine::{schema, RuleSet};
use crate::error::Error;
use std::path::PathBuf;

pub enum RulesQuery {
    /// One line per rule, in pipeline order.
    List,
    /// A rule's documentation, by id.
    Show(String),
    /// The facts rule conditions can read.
    Facts,
    /// The documented error codes.
    Codes,
    /// The rule reference (docs/rules.md), as Markdown.
    Markdown,
}

/// The answer as text; `rule_dirs` are loaded besides the built-in rules.
pub fn rules(query: &RulesQuery, rule_dirs: &[PathBuf]) -> Result<String, Error> {
    let rules = RuleSet::load(rule_dirs)?;
    let mut out = String::new();
    match query {
        RulesQuery::List => {
            for rule in &rules.rules {
                out.push_str(&format!(
                    "{:<44} {:<8} {}\n",
                    rule.id,
                    rule.severity.as_str(),
                    rule.title
                ));
            }
        }
        RulesQuery::Show(id) => {
            let Some(rule) = rules.get(id) else {
                return Err(Error::usage(
                    "rules",
                    format!("no rule `{id}`"),
                    "`backup-doctor rules list` shows the ids",
                ));
            };
            out.push_str(&render_doc(rule));
        }
        RulesQuery::Facts => {
            for fact in schema::facts() {
                out.push_str(&format!(
                    "{:<58} {:<7} {}\n",
                    fact.path, fact.kind, fact.doc
                ));
            }
        }
        RulesQuery::Markdown => out.push_str(&markdown_reference(&rules)),
        RulesQuery::Codes => {
            for code in CodeBook::builtin()?.all() {
                out.push_str(&format!(
                    "{:<52} {:<10} {}\n",
                    code.code,
                    code.cause.as_str(),
                    code.summary
                ));
            }
        }
    }
    Ok(out)
}
