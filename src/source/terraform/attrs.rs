//! Typed reads of one object of a plan (`after`, `before`, or a nested block) next to its
//! `after_unknown` twin: each read says whether the value is there, absent, or known only after
//! apply, and a value of the wrong JSON type is an error naming its JSON path. A value known only
//! after apply that the configuration takes from another planned resource is that resource's
//! planned value (see [`references`](super::references)).

use super::references::{Resolved, Target};
use crate::error::InputError;
use crate::source::change::{join_path, kind_of, synthetic, unknown_value, KNOWN_AFTER_APPLY};
use serde_json::{Map, Value};
use std::path::Path;

pub(super) struct Attrs<'a> {
    pub file: &'a Path,
    pub place: String,
    pub map: &'a Map<String, Value>,
    pub unknown: &'a Value,
    /// What the configuration's expressions for these attributes reference.
    pub references: &'a Resolved,
    /// The resource instance's address, which names the values it alone makes unknown.
    pub address: &'a str,
}

impl<'a> Attrs<'a> {
    fn is_unknown(&self, name: &str) -> bool {
        self.unknown == &Value::Bool(true) || self.unknown.get(name) == Some(&Value::Bool(true))
    }

    fn targets(&self, name: &str) -> &[Target] {
        self.references
            .attributes
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The one value the attribute's expression takes from a planned resource, if it names
    /// exactly one and that value is known (a planned id may be synthetic: see [`synthetic`]).
    fn referenced(&self, name: &str) -> Option<String> {
        match self.targets(name) {
            [Target::Known(value)] => Some(value.clone()),
            _ => None,
        }
    }

    fn wrong(&self, name: &str, expected: &str, found: &Value) -> InputError {
        InputError::new(
            self.file,
            Some(join_path(&self.place, name)),
            format!("expected {expected}, found {}", kind_of(found)),
            "the azurerm provider gives this attribute that JSON type; regenerate the file with `terraform show -json` rather than editing it",
        )
    }

    /// A string attribute: its value, [`KNOWN_AFTER_APPLY`], or `None` when absent or null.
    pub fn string(&self, name: &str) -> Result<Option<Value>, InputError> {
        if self.is_unknown(name) {
            return Ok(Some(match self.referenced(name) {
                Some(value) => Value::String(value),
                None => unknown_value(),
            }));
        }
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(v @ Value::String(_)) => Ok(Some(v.clone())),
            Some(other) => Err(self.wrong(name, "a string", other)),
        }
    }

    /// A string attribute only when its value is known.
    pub fn text(&self, name: &str) -> Result<Option<String>, InputError> {
        Ok(self
            .string(name)?
            .and_then(|v| v.as_str().map(String::from))
            .filter(|s| s != KNOWN_AFTER_APPLY))
    }

    pub fn number(&self, name: &str) -> Result<Option<Value>, InputError> {
        self.scalar(name, "a number", Value::is_number)
    }

    pub fn boolean(&self, name: &str) -> Result<Option<Value>, InputError> {
        self.scalar(name, "true or false", Value::is_boolean)
    }

    fn scalar(
        &self,
        name: &str,
        expected: &str,
        is: fn(&Value) -> bool,
    ) -> Result<Option<Value>, InputError> {
        if self.is_unknown(name) {
            return Ok(Some(unknown_value()));
        }
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) if is(v) => Ok(Some(v.clone())),
            Some(other) => Err(self.wrong(name, expected, other)),
        }
    }

    /// A list (or set) of strings; unknown elements carry [`KNOWN_AFTER_APPLY`] unless the
    /// expression names one planned resource per element (`[azurerm_network_interface.a.id,
    /// azurerm_network_interface.b.id]`), in the expression's order, which is the list's.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<Value>>, InputError> {
        let targets = self.targets(name);
        let element = |i: usize, count: usize| match targets.get(i) {
            Some(Target::Known(value)) if targets.len() == count => Value::String(value.clone()),
            _ => unknown_value(),
        };
        if self.is_unknown(name) {
            // The whole list is unknown: its length is the count of the resources it names,
            // when every one of them is decided.
            let decided =
                !targets.is_empty() && targets.iter().all(|t| matches!(t, Target::Known(_)));
            return Ok(Some(if decided {
                (0..targets.len())
                    .map(|i| element(i, targets.len()))
                    .collect()
            } else {
                vec![unknown_value()]
            }));
        }
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                let unknown = self.unknown.get(name);
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(_) => out.push(item.clone()),
                        Value::Null
                            if unknown.and_then(|u| u.get(i)) == Some(&Value::Bool(true)) =>
                        {
                            out.push(element(i, items.len()))
                        }
                        other => {
                            return Err(self.wrong(&format!("{name}[{i}]"), "a string", other))
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(other) => Err(self.wrong(name, "an array of strings", other)),
        }
    }

    /// A JSON document the provider holds as a string (`parameters`, `policy_rule`): parsed, or
    /// [`KNOWN_AFTER_APPLY`] while unknown.
    pub fn json(&self, name: &str) -> Result<Option<Value>, InputError> {
        let Some(value) = self.string(name)? else {
            return Ok(None);
        };
        match value.as_str() {
            Some(KNOWN_AFTER_APPLY) | None => Ok(Some(value)),
            Some(text) => serde_json::from_str(text).map(Some).map_err(|e| {
                InputError::new(
                    self.file,
                    Some(join_path(&self.place, name)),
                    format!("`{name}` is not valid JSON: {e}"),
                    "the azurerm provider keeps this attribute as a JSON string (jsonencode(...)); regenerate the plan with `terraform show -json`",
                )
            }),
        }
    }

    /// Nested blocks; `None` when the whole list is known only after apply.
    pub fn blocks(&self, name: &str) -> Result<Option<Vec<Attrs<'a>>>, InputError> {
        if self.is_unknown(name) {
            return Ok(None);
        }
        static NULL: Value = Value::Null;
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(items)) => {
                let unknown = self.unknown.get(name);
                let references = self.references.blocks.get(name);
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::Object(map) => Ok(Attrs {
                            // A dynamic block has one expression for many blocks: only a
                            // block-for-block match says which expression made which block.
                            references: references
                                .filter(|r| r.len() == items.len())
                                .and_then(|r| r.get(i))
                                .unwrap_or(Resolved::empty()),
                            address: self.address,
                            file: self.file,
                            place: format!("{}[{i}]", join_path(&self.place, name)),
                            map,
                            unknown: unknown.and_then(|u| u.get(i)).unwrap_or(&NULL),
                        }),
                        other => Err(self.wrong(&format!("{name}[{i}]"), "an object", other)),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(other) => Err(self.wrong(name, "an array of blocks", other)),
        }
    }

    /// The first nested block, `Ok(None)` if there is none or it is unknown.
    pub fn block(&self, name: &str) -> Result<Option<Attrs<'a>>, InputError> {
        Ok(self.blocks(name)?.and_then(|b| b.into_iter().next()))
    }

    /// A string the resource cannot be placed without. Absent, it is an error; known only after
    /// apply, it is the planned value the expression references, else a synthetic stand-in that
    /// is the same wherever the plan uses the same value (see [`synthetic`]), so the resource is
    /// still placed and what joins to it still joins.
    pub fn required(&self, name: &str) -> Result<String, InputError> {
        if self.is_unknown(name) {
            if let Some(value) = self.referenced(name) {
                return Ok(value);
            }
            return Ok(match self.targets(name) {
                // A resource's own name is its own even when derived from a shared value
                // (`"${random_pet.p.id}-nic"`).
                [Target::Unknown(value)] if name != "name" => synthetic(value),
                _ => synthetic(&join_path(self.address, name)),
            });
        }
        self.text(name)?.ok_or_else(|| {
            InputError::new(
                self.file,
                Some(join_path(&self.place, name)),
                format!("`{name}` is missing, and the resource cannot be placed without it"),
                "regenerate the plan with `terraform show -json`; the azurerm provider always sets it",
            )
        })
    }
}
