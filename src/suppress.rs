//! Suppressions: a TOML file of accepted findings, each with the rule, a pattern on the resource
//! (an ARM id, a VM name or a plan address), a justification and an expiry date. A suppressed
//! finding stays in every report, marked; an expired suppression suppresses nothing and is a
//! failure of its own, so accepted risk is looked at again.
//!
//! ```toml
//! [[suppression]]
//! rule = "network/nsg-blocks-recommended-path"
//! resource = "/subscriptions/*/resourceGroups/rg-sql-prod/*"
//! justification = "Outbound 443 goes through the proxy; CHG-1234"
//! expires = 2026-06-30
//! ```

use crate::error::{toml_error, InputError};
use crate::outcome::{Expired, Finding, Suppressed};
use crate::source::text;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use time::Date;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    suppression: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// A rule id; `*` and `?` match as in a glob (`network/*`).
    rule: String,
    /// A glob over a resource id, a VM name or a plan address, case-insensitive.
    resource: String,
    justification: String,
    expires: toml::value::Datetime,
}

#[derive(Debug)]
pub struct Suppressions {
    file: PathBuf,
    entries: Vec<(Entry, Date)>,
    today: Date,
}

impl Suppressions {
    pub fn load(file: &Path, today: Date) -> Result<Suppressions, InputError> {
        let bytes = std::fs::read(file).map_err(|e| {
            InputError::new(
                file,
                None,
                format!("cannot read the suppressions file: {e}"),
                "pass --suppressions a readable TOML file",
            )
        })?;
        let (text, _) = text::decode_str(file, &bytes)?;
        Suppressions::parse(file, &text, today)
    }

    pub fn parse(file: &Path, text: &str, today: Date) -> Result<Suppressions, InputError> {
        let parsed: File = toml::from_str(text).map_err(|e| toml_error(file, text, &e))
            .map_err(|mut e| {
                e.fix = "each [[suppression]] needs rule, resource, justification and expires = YYYY-MM-DD".into();
                e
            })?;
        let mut entries = Vec::new();
        for (index, entry) in parsed.suppression.into_iter().enumerate() {
            let place = Some(format!("suppression[{index}]"));
            let Some(date) = entry.expires.date else {
                return Err(InputError::new(
                    file,
                    place,
                    "`expires` must be a date",
                    "write it like expires = 2026-06-30",
                ));
            };
            let date = Date::from_calendar_date(
                i32::from(date.year),
                time::Month::try_from(date.month).map_err(|e| {
                    InputError::new(file, place.clone(), e.to_string(), "write a valid date")
                })?,
                date.day,
            )
            .map_err(|e| {
                InputError::new(
                    file,
                    place.clone(),
                    format!("`expires` is not a date: {e}"),
                    "write a valid date",
                )
            })?;
            if entry.justification.trim().is_empty() {
                return Err(InputError::new(
                    file,
                    place,
                    "the justification is empty",
                    "say why the finding is accepted, and who decided it",
                ));
            }
            entries.push((entry, date));
        }
        Ok(Suppressions {
            file: file.to_path_buf(),
            entries,
            today,
        })
    }

    fn active(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|(_, date)| *date >= self.today)
            .map(|(e, _)| e)
    }

    pub fn expired(&self) -> Vec<Expired> {
        self.entries
            .iter()
            .filter(|(_, date)| *date < self.today)
            .map(|(e, _)| Expired {
                rule: e.rule.clone(),
                resource: e.resource.clone(),
                justification: e.justification.clone(),
                expires: e.expires.to_string(),
                file: self.file.display().to_string(),
            })
            .collect()
    }

    /// The suppression covering this finding of this VM, if an active one does; `extra` are
    /// further names to match (plan addresses of the changes that caused it).
    pub fn matching(&self, finding: &Finding, vm_id: &str, extra: &[&str]) -> Option<Suppressed> {
        let vm_name = vm_id.rsplit('/').next().unwrap_or_default();
        let candidates: Vec<&str> = finding
            .resources
            .iter()
            .map(String::as_str)
            .chain([vm_id, vm_name])
            .chain(extra.iter().copied())
            .collect();
        self.active()
            .find(|e| {
                glob(&e.rule, &finding.rule) && candidates.iter().any(|c| glob(&e.resource, c))
            })
            .map(|e| Suppressed {
                justification: e.justification.clone(),
                expires: e.expires.to_string(),
                resource: e.resource.clone(),
                file: self.file.display().to_string(),
            })
    }

    /// Marks the findings of the VM `vm_id` that an active suppression covers (and unmarks the
    /// others).
    pub fn apply(&self, vm_id: &str, findings: &mut [Finding]) {
        for finding in findings {
            finding.suppressed = self.matching(finding, vm_id, &[]);
        }
    }
}

/// Case-insensitive glob: `*` any run of characters (slashes too), `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            (
                "/subscriptions/*/resourceGroups/RG-SQL-PROD/*",
                "/subscriptions/x/resourcegroups/rg-sql-prod/providers/a/b",
                true,
            ),
            ("network/*", "network/nsg-blocks-required-path", true),
            ("network/*", "snapshot/shared-disk", false),
            ("vm-sql-0?", "vm-sql-02", true),
            ("vm-sql-0?", "vm-sql-012", false),
        ];
        for (pattern, text, matches) in cases {
            assert_eq!(glob(pattern, text), matches, "{pattern} on {text}");
        }
    }

    #[test]
    fn expiry_and_errors() {
        let today = Date::from_calendar_date(2026, time::Month::March, 1).unwrap();
        let text = "[[suppression]]\nrule = \"network/*\"\nresource = \"vm-a\"\njustification = \"proxy\"\nexpires = 2026-02-28\n\n[[suppression]]\nrule = \"snapshot/*\"\nresource = \"vm-b\"\njustification = \"ok\"\nexpires = 2026-03-01\n";
        let s = Suppressions::parse(Path::new("s.toml"), text, today).unwrap();
        assert_eq!(s.expired().len(), 1);
        assert_eq!(s.active().count(), 1);
        let error = Suppressions::parse(Path::new("s.toml"), "[[suppression]]\nrule = 3\n", today)
            .unwrap_err();
        assert!(error.place.unwrap().starts_with("line 2"));
    }
}
