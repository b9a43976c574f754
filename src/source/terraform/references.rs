//! References between the plan's own resources. An attribute known only after apply is often the
//! `id` of another resource the same plan creates (`subnet_id = azurerm_subnet.app.id`); the
//! plan's `configuration` names that resource, and the first mapping pass gives its ARM id, so
//! the attribute is that id rather than unknown.

use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Default)]
pub(super) struct References {
    /// Per resource address, per attribute: the resource addresses its expression references
    /// (`configuration.root_module.resources[].expressions`).
    by_address: HashMap<String, HashMap<String, Vec<String>>>,
    /// The ARM ids of the plan's resources, by address.
    planned_ids: HashMap<String, String>,
}

impl References {
    /// The references the plan's `configuration` declares.
    pub fn of_configuration(top: &Map<String, Value>) -> Self {
        let mut by_address: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
        let resources = top
            .get("configuration")
            .and_then(|c| c.pointer("/root_module/resources"))
            .and_then(Value::as_array);
        for resource in resources.into_iter().flatten() {
            let Some(address) = resource.get("address").and_then(Value::as_str) else {
                continue;
            };
            let Some(expressions) = resource.get("expressions").and_then(Value::as_object) else {
                continue;
            };
            for (attribute, expression) in expressions {
                let targets: Vec<String> = expression
                    .get("references")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(String::from))
                    .collect();
                if !targets.is_empty() {
                    by_address
                        .entry(address.to_string())
                        .or_default()
                        .insert(attribute.clone(), targets);
                }
            }
        }
        References {
            by_address,
            planned_ids: HashMap::new(),
        }
    }

    /// Records the ARM id the resource at `address` is planned to have.
    pub fn plan(&mut self, address: &str, id: String) {
        self.planned_ids.insert(address.to_string(), id);
    }

    /// The planned ARM ids the attributes of `address` refer to, by attribute.
    pub fn resolve(&self, address: &str) -> HashMap<String, String> {
        let config_address = address.split('[').next().unwrap_or(address);
        let mut out = HashMap::new();
        for (attribute, targets) in self.by_address.get(config_address).into_iter().flatten() {
            let id = targets.iter().find_map(|target| {
                let target = target.strip_suffix(".id")?;
                self.planned_ids.get(target)
            });
            if let Some(id) = id {
                out.insert(attribute.clone(), id.clone());
            }
        }
        out
    }
}
