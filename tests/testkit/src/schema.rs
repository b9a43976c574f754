//! Validation against the JSON Schemas under `schemas/`, the contracts of the JSON outputs.

use crate::fixtures::root;
use crate::json;
use jsonschema::Validator;
use serde_json::Value;

/// The compiled schema `schemas/<file>`.
pub fn validator(file: &str) -> Validator {
    let schema = json::read(root().join("schemas").join(file));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("the schema {file} compiles: {e}"))
}

/// Where `document` breaks the schema, one line per violation (empty when it is valid).
pub fn violations(validator: &Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}
