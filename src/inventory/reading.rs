//! What reading a source saw besides the resources it filed: how many objects it looked at, and
//! those it skipped, by reason, with a few places to look. A scan reports both, so "0 VMs" from a
//! file of objects nobody recognised, or from a Terraform plan passed as a snapshot, never reads
//! as a clean fleet.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How many places of each reason are kept: enough to find the pattern, bounded for exports of a
/// whole tenant.
pub const MAX_EXAMPLES: usize = 3;

/// How many unused types a summary names before "and N more".
pub const MAX_TYPES_NAMED: usize = 5;

/// Why an object was not used. The order is the order reports list them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A whole file of `terraform show -json` plan output.
    TerraformPlan,
    /// A whole file holding an ARM what-if result.
    WhatIf,
    /// An object without `type` that is none of the type-less objects the loader knows.
    NoType,
    /// A resource of a type no check reads.
    UnusedType,
}

impl SkipReason {
    /// The reason in a few words, after a count.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::TerraformPlan => "Terraform plan file(s)",
            SkipReason::WhatIf => "what-if result file(s)",
            SkipReason::NoType => "without `type`",
            SkipReason::UnusedType => "of types no check reads",
        }
    }

    /// What the reason means and, where the input was meant for something else, what to do.
    pub fn message(self) -> &'static str {
        match self {
            SkipReason::TerraformPlan => "this is a Terraform plan (`terraform show -json`), not a snapshot: use `gate --plan` for it",
            SkipReason::WhatIf => "this is an ARM what-if result, not a snapshot: use `gate --what-if` for it",
            SkipReason::NoType => "objects without `type` that are none of the type-less objects a snapshot may hold (subscriptions, provider registrations, Graph service principals): export resources as ARM returns them, with `type`",
            SkipReason::UnusedType => "resources of types no check reads",
        }
    }
}

/// A place in the input: a file and the JSON path in it (empty for the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub place: String,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.place.is_empty() {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{} at {}", self.file, self.place)
        }
    }
}

/// The objects skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipGroup {
    pub reason: SkipReason,
    pub message: String,
    pub count: usize,
    /// For unused types: how many objects of each, as the input spells the type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, usize>,
    /// The first places met, in reading order.
    pub examples: Vec<Place>,
}

impl SkipGroup {
    fn new(reason: SkipReason) -> SkipGroup {
        SkipGroup {
            reason,
            message: reason.message().to_string(),
            count: 0,
            types: BTreeMap::new(),
            examples: Vec::new(),
        }
    }

    /// The unused types, most frequent first, bounded: `A (12), B (3) and 4 more types`.
    pub fn types_summary(&self) -> String {
        let mut types: Vec<(&String, &usize)> = self.types.iter().collect();
        types.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let named: Vec<String> = types
            .iter()
            .take(MAX_TYPES_NAMED)
            .map(|(name, count)| format!("{name} ({count})"))
            .collect();
        let rest = types.len().saturating_sub(MAX_TYPES_NAMED);
        if rest == 0 {
            named.join(", ")
        } else {
            format!("{} and {rest} more types", named.join(", "))
        }
    }
}

/// What reading saw: every object looked at (filed or skipped; the manifest is none), and the
/// skipped ones by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub objects: usize,
    pub skipped: BTreeMap<SkipReason, SkipGroup>,
}

impl Reading {
    /// An object that was filed.
    pub fn used(&mut self) {
        self.objects += 1;
    }

    /// An object skipped for `reason` at `place` in `file`; `unused_type` names its type.
    pub fn skip(
        &mut self,
        reason: SkipReason,
        file: &Path,
        place: &str,
        unused_type: Option<&str>,
    ) {
        self.objects += 1;
        let group = self
            .skipped
            .entry(reason)
            .or_insert_with(|| SkipGroup::new(reason));
        group.count += 1;
        if let Some(name) = unused_type {
            *group.types.entry(name.to_string()).or_default() += 1;
        }
        if group.examples.len() < MAX_EXAMPLES {
            group.examples.push(Place {
                file: file.display().to_string(),
                place: place.to_string(),
            });
        }
    }

    /// Adds what a later file saw; examples keep reading order.
    pub fn merge(&mut self, other: Reading) {
        self.objects += other.objects;
        for (reason, theirs) in other.skipped {
            let ours = self
                .skipped
                .entry(reason)
                .or_insert_with(|| SkipGroup::new(reason));
            ours.count += theirs.count;
            for (name, count) in theirs.types {
                *ours.types.entry(name).or_default() += count;
            }
            let room = MAX_EXAMPLES.saturating_sub(ours.examples.len());
            ours.examples.extend(theirs.examples.into_iter().take(room));
        }
    }

    /// How many objects were skipped, for every reason.
    pub fn skipped_count(&self) -> usize {
        self.skipped.values().map(|g| g.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_counts_everything_and_keeps_the_first_examples() {
        let mut first = Reading::default();
        for index in 0..2 {
            first.skip(
                SkipReason::NoType,
                Path::new("a.json"),
                &format!("[{index}]"),
                None,
            );
        }
        first.used();
        let mut second = Reading::default();
        for index in 0..5 {
            second.skip(
                SkipReason::NoType,
                Path::new("b.json"),
                &format!("[{index}]"),
                None,
            );
        }
        second.skip(
            SkipReason::UnusedType,
            Path::new("b.json"),
            "[5]",
            Some("Microsoft.Web/sites"),
        );
        first.merge(second);
        assert_eq!(first.objects, 9);
        assert_eq!(first.skipped_count(), 8);
        let no_type = &first.skipped[&SkipReason::NoType];
        assert_eq!(no_type.count, 7);
        let places: Vec<String> = no_type.examples.iter().map(|p| p.to_string()).collect();
        assert_eq!(places, ["a.json at [0]", "a.json at [1]", "b.json at [0]"]);
        assert_eq!(
            first.skipped[&SkipReason::UnusedType].types["Microsoft.Web/sites"],
            1
        );
    }

    #[test]
    fn the_types_summary_names_the_most_frequent_and_counts_the_rest() {
        let mut reading = Reading::default();
        for (index, name) in ["T1", "T2", "T2", "T3", "T4", "T5", "T6", "T7", "T7", "T7"]
            .iter()
            .enumerate()
        {
            reading.skip(
                SkipReason::UnusedType,
                Path::new("x.json"),
                &format!("[{index}]"),
                Some(name),
            );
        }
        assert_eq!(
            reading.skipped[&SkipReason::UnusedType].types_summary(),
            "T7 (3), T2 (2), T1 (1), T3 (1), T4 (1) and 2 more types"
        );
    }
}
