//! A planned change to Azure resources, from a Terraform plan or an ARM what-if, in the terms the
//! snapshot format uses (ARM-shaped JSON, docs/snapshots.md), so the overlay can lay it over a baseline
//! snapshot and the ordinary loader can read the result.

use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Stands for a value known only after apply. Kept (rather than dropped) only where an absent
/// value would mean a default and so a guess: NSG rule and route fields, and references by id
/// (an absent `networkSecurityGroup` means "no NSG", which would allow everything). Everywhere
/// else the overlay removes it, so the fact is absent and the rules that need it are unknown.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Destroyed and created again (Terraform `["delete","create"]` or `["create","delete"]`).
    Replace,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Replace => "replace",
        }
    }
}

/// How one change alters the resources.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Create or replace a whole ARM resource (no state survives from the baseline).
    Put(Value),
    /// Update an existing ARM resource: the given fields replace the baseline's, the rest (the
    /// instance view, fields the tool does not manage) stays.
    Merge(Value),
    /// The whole model after an update (a what-if `after`): replaces the resource, but runtime
    /// state the model does not carry (`properties.instanceView`) stays from the baseline.
    Model(Value),
    /// Remove the resource with this id and everything under it.
    Remove(String),
    /// Insert, replace (`item: Some`) or remove (`None`) one element of an array inside a parent
    /// resource: an NSG rule, a route, a data disk, an access policy.
    Element {
        parent: String,
        array: &'static [&'static str],
        /// The field of an element that identifies it, compared case-insensitively.
        key_field: &'static [&'static str],
        key: String,
        item: Option<Value>,
    },
    /// Set (`Some`) or clear (`None`) one field of a parent resource: a subnet's or NIC's NSG,
    /// a subnet's route table.
    Field {
        parent: String,
        path: &'static [&'static str],
        value: Option<Value>,
    },
}

impl Edit {
    /// The ARM ids this edit writes to.
    pub fn target(&self) -> Option<&str> {
        match self {
            Edit::Put(value) | Edit::Merge(value) | Edit::Model(value) => {
                value.get("id").and_then(Value::as_str)
            }
            Edit::Remove(id) => Some(id),
            Edit::Element { parent, .. } | Edit::Field { parent, .. } => Some(parent),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The Terraform address (`module.net.azurerm_network_security_rule.deny_443`) or, for a
    /// what-if, the template resource id.
    pub address: String,
    pub action: Action,
    /// The Terraform resource type or the ARM type.
    pub resource_type: String,
    /// The ARM id of the resource changed (for a child such as an NSG rule, the child's id).
    pub id: String,
    /// Attributes whose values are known only after apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_after_apply: Vec<String>,
    /// Line of the change in the input file (for SARIF locations), 1-based.
    #[serde(skip)]
    pub line: Option<usize>,
    /// The JSON path of the change's resource in the input file, for error messages.
    #[serde(skip)]
    pub place: String,
    #[serde(skip)]
    pub edits: Vec<Edit>,
}

impl Change {
    /// Every ARM id the change touches: its own and the parents it modifies.
    pub fn touched(&self) -> Vec<&str> {
        let mut out = vec![self.id.as_str()];
        out.extend(self.edits.iter().filter_map(Edit::target));
        out.dedup();
        out
    }
}

/// What a plan or what-if file amounts to.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub file: PathBuf,
    /// `terraform` or `what-if`.
    pub kind: &'static str,
    pub changes: Vec<Change>,
    /// Changed resources of types the tool does not map, by address: said in the report, so a
    /// pass is not read as "everything was checked".
    pub unmapped: Vec<String>,
    /// Subscriptions the changes live in (for the gaps of a gate run without a baseline).
    pub subscriptions: Vec<String>,
    /// Changes the file lists but the gate cannot lay over the baseline.
    pub not_evaluated: Vec<NotEvaluated>,
    /// What the file says besides its changes (what-if `diagnostics`), for the user to read.
    pub notes: Vec<FileNote>,
}

/// A change the gate read but cannot evaluate: what it is, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotEvaluated {
    /// The ARM id, or for a resource without one (a Bicep extensible resource) its symbolic name,
    /// extension and identifiers.
    pub address: String,
    /// As the file spells it (`Create`, `Unsupported`, `create`, ...).
    pub change_type: String,
    pub reason: String,
    /// Whether the gate maps resources of this type: such a change could break backup unseen,
    /// so the run is incomplete; a change of a type it does not map is only listed.
    pub mapped: bool,
    /// Line of the change in the input file, 1-based.
    #[serde(skip)]
    pub line: Option<usize>,
}

/// One message of the change file that is not a change.
#[derive(Debug, Clone, Serialize)]
pub struct FileNote {
    /// `error`, `warning` or `info`.
    pub level: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    /// What the message is about (a resource id, a template path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Where in the file, such as `diagnostics[0]`.
    pub place: String,
}

impl ChangeSet {
    /// No changes yet, from `file`, of `kind` (`terraform` or `what-if`).
    pub fn new(file: &Path, kind: &'static str) -> ChangeSet {
        ChangeSet {
            file: file.to_path_buf(),
            kind,
            changes: Vec::new(),
            unmapped: Vec::new(),
            subscriptions: Vec::new(),
            not_evaluated: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The 1-based line of the first occurrence of `needle` in `text` after `anchor` (or anywhere
/// when the anchor is absent).
pub fn line_of(text: &str, anchor: &str, needle: &str) -> Option<usize> {
    let start = text.find(anchor).unwrap_or(0);
    let at = start + text[start..].find(needle)?;
    Some(text[..at].matches('\n').count() + 1)
}

/// A JSON path for messages: `resource_changes[3].change.after.name`.
pub fn join_path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else if field.starts_with('[') {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}.{field}")
    }
}

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn unknown_value() -> Value {
    Value::String(KNOWN_AFTER_APPLY.to_string())
}

pub fn is_unknown(value: &Value) -> bool {
    value.as_str() == Some(KNOWN_AFTER_APPLY)
}

/// A stand-in for a name or id segment known only after apply: `(known after apply:
/// azurerm_resource_group.rg.name)`, naming the value it stands for. Every use of the same
/// value gets the same stand-in, so a resource placed by it and the references to it still join;
/// yet it is never a real name, so nothing in the baseline matches it. `/` would split an ARM id,
/// so a `for_each` key holding one has it escaped.
pub fn synthetic(what: &str) -> String {
    format!("(known after apply: {})", what.replace('/', "%2F"))
}
