//! Typed reads of one object of a plan (`after`, `before`, or a nested block) next to its
//! `after_unknown` twin: each read says whether the value is there, absent, or known only after
//! apply, and a value of the wrong JSON type is an error naming its JSON path.

use crate::error::InputError;
use crate::source::change::{join_path, kind_of, unknown_value, KNOWN_AFTER_APPLY};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

pub(super) struct Attrs<'a> {
    pub file: &'a Path,
    pub place: String,
    pub map: &'a Map<String, Value>,
    pub unknown: &'a Value,
    /// Attributes known only after apply that reference another planned resource's id.
    pub references: &'a HashMap<String, String>,
}

impl<'a> Attrs<'a> {
    fn is_unknown(&self, name: &str) -> bool {
        self.unknown == &Value::Bool(true) || self.unknown.get(name) == Some(&Value::Bool(true))
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
            return Ok(Some(match self.references.get(name) {
                Some(id) => Value::String(id.clone()),
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

    /// A list (or set) of strings; unknown elements carry [`KNOWN_AFTER_APPLY`].
    pub fn strings(&self, name: &str) -> Result<Option<Vec<Value>>, InputError> {
        if self.is_unknown(name) {
            return Ok(Some(vec![unknown_value()]));
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
                            out.push(unknown_value())
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
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::Object(map) => Ok(Attrs {
                            references: self.references,
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

    pub fn required(&self, name: &str) -> Result<String, InputError> {
        self.text(name)?.ok_or_else(|| {
            InputError::new(
                self.file,
                Some(join_path(&self.place, name)),
                format!("`{name}` is missing or known only after apply, and the resource cannot be placed without it"),
                "regenerate the plan with `terraform show -json`; the azurerm provider always sets it",
            )
        })
    }
}
