//! The declarative part of the mapping: tables of plain copies from a Terraform attribute to an
//! ARM property. A property is written only when the attribute is present (unless the field says
//! `or_null`), and the objects on its path are created as it is written, so an absent attribute
//! leaves no empty shell behind. Fields are read in table order, so the first wrong attribute of
//! a table is the one reported.

use super::attrs::Attrs;
use crate::error::InputError;
use serde_json::{json, Map, Value};

/// What a Terraform attribute holds and how it becomes the ARM value.
pub(super) enum Kind {
    /// A string, or [`KNOWN_AFTER_APPLY`](crate::source::change::KNOWN_AFTER_APPLY) (or the
    /// planned id it references) while unknown.
    Str,
    /// A string only when it is known: while unknown, the property stays absent.
    KnownStr,
    /// A string the resource cannot be mapped without: absent or unknown, it is an error.
    Required,
    Num,
    Bool,
    /// A list of strings, as it is.
    Strs,
    /// A list of strings, each wrapped in an object under this field (`[{ "id": … }]`).
    Wrapped(&'static str),
    /// A JSON document the provider keeps as a string (`jsonencode(...)`), parsed.
    Json,
    /// A boolean as ARM's `Enabled` / `Disabled` (`publicNetworkAccess`).
    EnabledDisabled,
    /// The first nested block, as an object of these fields (present, perhaps empty, whenever
    /// the block is).
    Block(&'static [Field]),
    /// Every nested block, as an array of objects of these fields.
    Blocks(&'static [Field]),
    /// Every nested block, as an array of child resources of these fields (see [`child`]).
    Children(&'static [Field]),
    /// Every nested block, as an array of the values this function makes of them.
    BlocksOf(fn(&Attrs) -> Result<Value, InputError>),
}

/// One copy: the Terraform attribute (`block.attribute` reads it from the first `block`), the
/// ARM property path (dot-separated, from the object the table fills) and the kind.
pub(super) struct Field {
    terraform: &'static str,
    arm: &'static str,
    kind: Kind,
    /// An absent attribute writes `null` (where the ARM shape always has the property).
    or_null: bool,
    /// An empty list is left out, as azurerm's empty default means "none given".
    unless_empty: bool,
}

pub(super) const fn field(terraform: &'static str, arm: &'static str, kind: Kind) -> Field {
    Field {
        terraform,
        arm,
        kind,
        or_null: false,
        unless_empty: false,
    }
}

impl Field {
    pub const fn or_null(self) -> Field {
        Field {
            or_null: true,
            ..self
        }
    }

    pub const fn unless_empty(self) -> Field {
        Field {
            unless_empty: true,
            ..self
        }
    }

    fn read(&self, attrs: &Attrs) -> Result<Option<Value>, InputError> {
        let value = read_path(attrs, self.terraform, &self.kind)?;
        let empty = |v: &Value| v.as_array().is_some_and(Vec::is_empty);
        Ok(match value {
            Some(v) if self.unless_empty && empty(&v) => None,
            None if self.or_null => Some(Value::Null),
            other => other,
        })
    }
}

fn read_path(attrs: &Attrs, path: &str, kind: &Kind) -> Result<Option<Value>, InputError> {
    if let Some((block, rest)) = path.split_once('.') {
        return match attrs.block(block)? {
            Some(inner) => read_path(&inner, rest, kind),
            None => Ok(None),
        };
    }
    let name = path;
    Ok(match kind {
        Kind::Str => attrs.string(name)?,
        Kind::KnownStr => attrs.text(name)?.map(Value::String),
        Kind::Required => Some(Value::String(attrs.required(name)?)),
        Kind::Num => attrs.number(name)?,
        Kind::Bool => attrs.boolean(name)?,
        Kind::Strs => attrs.strings(name)?.map(Value::Array),
        Kind::Wrapped(key) => attrs.strings(name)?.map(|items| {
            items
                .into_iter()
                .map(|item| json!({ *key: item }))
                .collect()
        }),
        Kind::Json => attrs.json(name)?,
        Kind::EnabledDisabled => attrs.boolean(name)?.map(|v| match v.as_bool() {
            Some(true) => json!("Enabled"),
            Some(false) => json!("Disabled"),
            None => v,
        }),
        Kind::Block(fields) => match attrs.block(name)? {
            Some(block) => Some(build(&block, json!({}), fields)?),
            None => None,
        },
        Kind::Blocks(fields) => each_block(attrs, name, |block| build(block, json!({}), fields))?,
        Kind::Children(fields) => each_block(attrs, name, |block| child(block, fields))?,
        Kind::BlocksOf(element) => each_block(attrs, name, element)?,
    })
}

fn each_block(
    attrs: &Attrs,
    name: &str,
    element: impl Fn(&Attrs) -> Result<Value, InputError>,
) -> Result<Option<Value>, InputError> {
    match attrs.blocks(name)? {
        Some(blocks) => Ok(Some(Value::Array(
            blocks.iter().map(element).collect::<Result<_, _>>()?,
        ))),
        None => Ok(None),
    }
}

/// Writes each field of the table that `attrs` has into `object`.
pub(super) fn copy(
    attrs: &Attrs,
    fields: &[Field],
    object: &mut Map<String, Value>,
) -> Result<(), InputError> {
    for field in fields {
        if let Some(value) = field.read(attrs)? {
            set(object, field.arm, value);
        }
    }
    Ok(())
}

/// A `template` (an object with the parts ARM always has, or values the mapping computed) with
/// the fields of the table that `attrs` has.
pub(super) fn build(
    attrs: &Attrs,
    mut template: Value,
    fields: &[Field],
) -> Result<Value, InputError> {
    if let Value::Object(object) = &mut template {
        copy(attrs, fields, object)?;
    }
    Ok(template)
}

/// A child resource its parent keeps inline (an NSG rule, a route): its `properties` object
/// is there even when empty.
pub(super) fn child(attrs: &Attrs, fields: &[Field]) -> Result<Value, InputError> {
    build(attrs, json!({ "properties": {} }), fields)
}

/// Sets the property at a dot-separated path, creating the objects on the way.
pub(super) fn set(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.rsplit_once('.') {
        Some((parent, name)) => object_at(object, parent).insert(name.to_string(), value),
        None => object.insert(path.to_string(), value),
    };
}

/// The object at a dot-separated path, created where it is not there yet.
pub(super) fn object_at<'m>(
    object: &'m mut Map<String, Value>,
    path: &str,
) -> &'m mut Map<String, Value> {
    path.split('.').fold(object, |object, name| {
        let slot = object.entry(name).or_insert_with(|| json!({}));
        if !slot.is_object() {
            *slot = json!({});
        }
        slot.as_object_mut().expect("made an object above")
    })
}
