//! The fact paths rules may read, with their CEL kind and meaning, derived from the facts structs
//! (`resolve::facts`). Rule conditions are checked against this list when they load, so a
//! misspelt fact is an error naming the rule file rather than a rule that is silently `unknown`
//! forever. `[]` marks a list element, `{}` a map value.

use crate::resolve::facts::VmFacts;
use std::sync::OnceLock;

pub use crate::resolve::fact_schema::{Fact, FactKind};

/// Every fact, in the order of the structs' fields.
pub fn facts() -> &'static [Fact] {
    static FACTS: OnceLock<Vec<Fact>> = OnceLock::new();
    FACTS.get_or_init(VmFacts::schema)
}

/// Whether `path` (with `[]` for list elements and `{}` for map values) is a known fact.
pub fn is_known(path: &str) -> bool {
    facts().iter().any(|f| f.path == path)
}
