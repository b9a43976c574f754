//! What every mapping shares: the planned resource it reads, the rules that place a resource
//! (its ARM id), the header every ARM resource starts with, and how a mapped resource becomes
//! edits for each action. The [`registry`](super::registry) says which of these each Terraform
//! type uses.

use super::attrs::Attrs;
use super::fields::{self, Field};
use super::Context;
use crate::error::InputError;
use crate::source::change::{unknown_value, Action, Edit, KNOWN_AFTER_APPLY};
use serde_json::{json, Map as Object, Value};

/// How a change of one Terraform type becomes edits.
pub(super) enum Map {
    /// A whole ARM resource: the header (id, name, type, location) placed by `id`, an empty
    /// `properties`, the `fields` the plan has, then `fill` for what a table cannot say.
    Resource {
        id: Id,
        location: Location,
        fields: &'static [Field],
        fill: Option<Fill>,
    },
    /// Sets (or, deleted, clears) one reference of the parent resource.
    Association(Association),
    /// A child the plan declares on its own that ARM keeps as an element of its parent's array.
    Element(Element),
    /// Anything else, placed by the function itself.
    Edits(fn(&Planned) -> Result<Mapped, InputError>),
}

pub(super) type Fill = fn(&Planned, &mut Resource) -> Result<(), InputError>;

/// Where a resource's ARM id comes from when the plan does not know it yet.
pub(super) enum Id {
    /// A resource in the resource group `resource_group_name`:
    /// `.../providers/{namespace}/{type}/{name}`, with the names of its parents for a nested type
    /// (`.../virtualNetworks/{virtual_network_name}/subnets/{name}`), read from these attributes.
    InResourceGroup(&'static [&'static str]),
    /// An extension resource (lock, policy assignment or exemption) at the scope this attribute
    /// names: `{scope}/providers/{type}/{name}`.
    AtScope(&'static str),
    /// A child of the resource this attribute names: `{parent}/{last type segment}/{name}`.
    Under(&'static str),
    /// Worked out by the function.
    Computed(fn(&Planned) -> Result<Placed, InputError>),
}

/// Where a resource is: its id and, where it is not the id's last segment, its name.
pub(super) struct Placed {
    pub id: String,
    pub name: Option<String>,
}

/// Where the resource's ARM object says it lives.
pub(super) enum Location {
    /// The plan's `location`.
    FromPlan,
    /// Private DNS zones and their links live in no region.
    Global,
    /// The ARM object has none (a child resource, an extension resource).
    Omitted,
}

/// One planned resource being mapped.
pub(super) struct Planned<'a> {
    pub context: &'a Context<'a>,
    pub attrs: &'a Attrs<'a>,
    pub action: Action,
    /// The ARM type of the mapping's row.
    pub arm_type: &'static str,
}

/// What a change amounts to: the ARM id it is reported under and its edits.
pub(super) struct Mapped {
    pub id: String,
    pub edits: Vec<Edit>,
}

/// An ARM resource being built from a plan.
pub(super) struct Resource {
    pub id: String,
    /// The ARM JSON.
    pub object: Object<String, Value>,
    /// The scope of an extension resource ([`Id::AtScope`]).
    pub scope: Option<String>,
    /// Written whole on an update too, instead of merged over the baseline's.
    pub redeployed: bool,
    /// Edits of other resources the change implies.
    pub also: Vec<Edit>,
}

impl Map {
    pub fn apply(&self, planned: &Planned) -> Result<Mapped, InputError> {
        match self {
            Map::Resource {
                id,
                location,
                fields,
                fill,
            } => {
                let mut resource = planned.header(id, location)?;
                resource
                    .object
                    .insert("properties".into(), Value::Object(Object::new()));
                fields::copy(planned.attrs, fields, &mut resource.object)?;
                if let Some(fill) = fill {
                    fill(planned, &mut resource)?;
                }
                Ok(resource.into_mapped(planned.action))
            }
            Map::Association(association) => association.apply(planned),
            Map::Element(element) => element.apply(planned),
            Map::Edits(map) => map(planned),
        }
    }
}

impl Planned<'_> {
    /// The resource's ARM id (the plan's when known, else placed by `rule`), with the header
    /// every ARM resource starts with: `id`, `name`, `type` and `location`.
    pub fn header(&self, rule: &Id, location: &Location) -> Result<Resource, InputError> {
        let a = self.attrs;
        let (id, name, scope) = match rule {
            Id::InResourceGroup(parents) => {
                let id = match a.text("id")? {
                    Some(id) => id,
                    None => {
                        let name = a.required("name")?;
                        let rg = a.required("resource_group_name")?;
                        let mut names = parents
                            .iter()
                            .map(|parent| a.required(parent))
                            .collect::<Result<Vec<_>, _>>()?;
                        names.push(name);
                        self.context.in_resource_group(&rg, self.arm_type, &names)
                    }
                };
                (id, a.text("name")?, None)
            }
            Id::AtScope(attribute) => {
                let scope = a.required(attribute)?;
                let name = a.required("name")?;
                let id = a.text("id")?.unwrap_or_else(|| {
                    let at = scope.trim_end_matches('/');
                    format!("{at}/providers/{}/{name}", self.arm_type)
                });
                (id, Some(name), Some(scope))
            }
            Id::Under(attribute) => {
                let parent = a.required(attribute)?;
                let name = a.required("name")?;
                let segment = self.arm_type.rsplit('/').next().unwrap_or_default();
                let id = a
                    .text("id")?
                    .unwrap_or_else(|| format!("{parent}/{segment}/{name}"));
                (id, Some(name), None)
            }
            Id::Computed(place) => {
                let Placed { id, name } = place(self)?;
                (id, name, None)
            }
        };
        let mut object = Object::new();
        object.insert("id".into(), Value::String(id.clone()));
        object.insert(
            "name".into(),
            Value::String(
                name.unwrap_or_else(|| id.rsplit('/').next().unwrap_or_default().to_string()),
            ),
        );
        object.insert("type".into(), Value::String(self.arm_type.to_string()));
        let location = match location {
            Location::FromPlan => a.string("location")?,
            Location::Global => Some(json!("global")),
            Location::Omitted => None,
        };
        if let Some(location) = location {
            object.insert("location".into(), location);
        }
        Ok(Resource {
            id,
            object,
            scope,
            redeployed: false,
            also: Vec::new(),
        })
    }
}

impl Resource {
    /// The `properties` object (created by [`Map::Resource`]).
    pub fn properties(&mut self) -> &mut Object<String, Value> {
        fields::object_at(&mut self.object, "properties")
    }

    /// Creates or replaces the resource, merges it over the baseline's, or removes it.
    pub fn into_mapped(self, action: Action) -> Mapped {
        let edit = match action {
            Action::Create | Action::Replace => Edit::Put(Value::Object(self.object)),
            Action::Update if self.redeployed => Edit::Put(Value::Object(self.object)),
            Action::Update => Edit::Merge(Value::Object(self.object)),
            Action::Delete => Edit::Remove(self.id.clone()),
        };
        let mut edits = vec![edit];
        edits.extend(self.also);
        Mapped { id: self.id, edits }
    }
}

/// An association resource (NIC or subnet to NSG, subnet to route table).
pub(super) struct Association {
    /// The attribute naming the resource whose reference the association sets.
    pub parent: &'static str,
    /// The attribute naming the resource referenced.
    pub target: &'static str,
    /// Where the reference lives in the parent.
    pub path: &'static [&'static str],
    /// How azurerm joins the parent's and the target's ids into the association's id, when the
    /// plan does not know it; empty where the association's id is the parent's.
    pub separator: &'static str,
}

impl Association {
    fn apply(&self, planned: &Planned) -> Result<Mapped, InputError> {
        let a = planned.attrs;
        let parent = a.required(self.parent)?;
        let target = a.string(self.target)?;
        let id = a.text("id")?.unwrap_or_else(|| {
            if self.separator.is_empty() {
                parent.clone()
            } else {
                let target = target.as_ref().and_then(Value::as_str);
                format!(
                    "{parent}{}{}",
                    self.separator,
                    target.unwrap_or(KNOWN_AFTER_APPLY)
                )
            }
        });
        // The id of an NIC association is `{nic}|{nsg}`, not an ARM id: report the NIC.
        let id = id.split('|').next().unwrap_or_default().to_string();
        let value = match planned.action {
            Action::Delete => None,
            _ => Some(json!({ "id": target.unwrap_or_else(unknown_value) })),
        };
        Ok(Mapped {
            id,
            edits: vec![Edit::Field {
                parent,
                path: self.path,
                value,
            }],
        })
    }
}

/// Where a separately declared child lives in its parent's ARM JSON: an NSG's rules, a route
/// table's routes. The plan changes the element of the parent's array with the child's name.
pub(super) struct Element {
    /// The attribute naming the parent when the child's id is not known yet.
    pub parent_name: &'static str,
    /// The parent's array; its last segment is the child's in its id
    /// (`{parent}/securityRules/{name}`).
    pub array: &'static [&'static str],
    /// The child's fields.
    pub fields: &'static [Field],
}

impl Element {
    fn apply(&self, planned: &Planned) -> Result<Mapped, InputError> {
        let a = planned.attrs;
        let name = a.required("name")?;
        let segment = self.array.last().copied().unwrap_or_default();
        let parent = match a.text("id")? {
            Some(id) => parent_of(&id, &format!("/{segment}/")),
            None => {
                let rg = a.required("resource_group_name")?;
                let parent_name = a.required(self.parent_name)?;
                planned
                    .context
                    .in_resource_group(&rg, planned.arm_type, &[parent_name])
            }
        };
        let id = format!("{parent}/{segment}/{name}");
        let item = (planned.action != Action::Delete)
            .then(|| fields::child(a, self.fields))
            .transpose()?;
        Ok(Mapped {
            id,
            edits: vec![Edit::Element {
                parent,
                array: self.array,
                key_field: &["name"],
                key: name,
                item,
            }],
        })
    }
}

fn parent_of(id: &str, child_segment: &str) -> String {
    let lower = id.to_ascii_lowercase();
    match lower.rfind(&child_segment.to_ascii_lowercase()) {
        Some(at) => id[..at].to_string(),
        None => id.to_string(),
    }
}
