//! References between the plan's own resources. An attribute known only after apply is often an
//! attribute of another resource of the same plan (`subnet_id = azurerm_subnet.app.id`,
//! `network_interface_ids = [azurerm_network_interface.vm[count.index].id]`); the plan's
//! `configuration` names that resource in the expression's `references`, and the mapping's first
//! pass (or `planned_values`) gives its value, so the attribute is that value rather than unknown.
//!
//! Terraform writes each reference longest first, then every shorter prefix
//! (`azurerm_subnet.app.id`, `azurerm_subnet.app`), and an index that is not a constant as a
//! separate reference (`azurerm_network_interface.vm`, `count.index`). Resources inside modules
//! are declared once per module in `module_calls`, their addresses relative to that module;
//! `module.x.out` is resolved through the module's output expression and `var.y` through the
//! calling module's argument, so a value handed down two modules still finds its resource.
//!
//! An index that cannot be decided (a splat, a `for` expression, `count.index + 1` on a resource
//! whose keys differ from the referrer's) is [`Target::Undecided`]: the value stays unknown.

use super::address::{self, Address};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// What one reference of an expression comes to.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Target {
    /// The referenced attribute's value (a planned id, perhaps synthetic).
    Known(String),
    /// The referenced attribute of this resource instance (absolute address and attribute) is
    /// known only after apply: the same for every reference to it, so it can stand for the value.
    Unknown(String),
    /// Which instance or value is meant cannot be told from the plan.
    Undecided,
}

/// The resolved references of one resource instance: per attribute, one target per resource
/// its expression names (in the expression's order), and per nested block, the same for each.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    pub attributes: HashMap<String, Vec<Target>>,
    pub blocks: HashMap<String, Vec<Resolved>>,
}

impl Resolved {
    pub fn empty() -> &'static Resolved {
        static EMPTY: std::sync::OnceLock<Resolved> = std::sync::OnceLock::new();
        EMPTY.get_or_init(Resolved::default)
    }
}

/// One module of the configuration (`root_module` or a `module_calls[*].module`).
#[derive(Default)]
struct Module<'a> {
    /// Resource expressions by address relative to the module (`azurerm_subnet.app`,
    /// `data.azurerm_subnet.hub`).
    resources: HashMap<String, &'a Map<String, Value>>,
    /// The arguments of each module call, by call name.
    calls: HashMap<String, &'a Map<String, Value>>,
    /// Output expressions, by name.
    outputs: HashMap<String, &'a Value>,
}

pub(super) struct References<'a> {
    /// Modules by path (`""` for the root, `module.net.module.nic`).
    modules: HashMap<String, Module<'a>>,
    /// Per resource configuration address (no instance keys), its instances' keys: `None` for a
    /// resource without `count` or `for_each`.
    instances: BTreeMap<String, Vec<Address>>,
    /// Known attribute values by instance address, then attribute.
    values: HashMap<String, HashMap<String, String>>,
}

impl<'a> References<'a> {
    /// The plan's configuration, the instances `resource_changes` and `planned_values` hold and
    /// the values `planned_values` and `prior_state` know.
    pub fn of_plan(top: &'a Map<String, Value>) -> Self {
        let mut modules = HashMap::new();
        if let Some(root) = top.get("configuration").and_then(|c| c.get("root_module")) {
            collect_modules(root, String::new(), &mut modules);
        }
        let mut references = References {
            modules,
            instances: BTreeMap::new(),
            values: HashMap::new(),
        };
        // The state before the plan first, so a planned value replaces it.
        for section in ["prior_state", "planned_values"] {
            let root = top
                .get(section)
                .and_then(|s| s.get("values").or(Some(s)))
                .and_then(|s| s.get("root_module"));
            if let Some(root) = root {
                references.read_state_module(root);
            }
        }
        let changes = top.get("resource_changes").and_then(Value::as_array);
        for item in changes.into_iter().flatten() {
            if let Some(address) = item.get("address").and_then(Value::as_str) {
                references.instance(address);
            }
        }
        references
    }

    fn instance(&mut self, text: &str) {
        if let Some(parsed) = address::parse(text) {
            let list = self.instances.entry(parsed.config()).or_default();
            if !list.contains(&parsed) {
                list.push(parsed);
            }
        }
    }

    /// A module of `planned_values` or `prior_state`: its resources' ids, names and other
    /// string attributes, then its child modules.
    fn read_state_module(&mut self, module: &Value) {
        for resource in items(module, "resources") {
            let Some(address) = resource.get("address").and_then(Value::as_str) else {
                continue;
            };
            self.instance(address);
            let Some(values) = resource.get("values").and_then(Value::as_object) else {
                continue;
            };
            let known = self.values.entry(address.to_string()).or_default();
            for (name, value) in values {
                if let Some(text) = value.as_str().filter(|s| !s.is_empty()) {
                    known.insert(name.clone(), text.to_string());
                }
            }
        }
        for child in items(module, "child_modules") {
            self.read_state_module(child);
        }
    }

    /// Records the ARM id (and so the name) the resource at `address` is planned to have.
    pub fn plan(&mut self, address: &str, id: &str) {
        let known = self.values.entry(address.to_string()).or_default();
        known.insert("id".into(), id.to_string());
        if let Some(name) = id.rsplit('/').next() {
            known.insert("name".into(), name.to_string());
        }
    }

    /// The planned id of the resource at `address`, if the first pass placed it.
    pub fn planned_id(&self, address: &str) -> Option<&str> {
        self.values.get(address)?.get("id").map(String::as_str)
    }

    /// The targets of every expression of the resource instance at `address`.
    pub fn resolve(&self, address: &str) -> Resolved {
        let Some(own) = address::parse(address) else {
            return Resolved::default();
        };
        let expressions = self
            .modules
            .get(&own.module_path())
            .and_then(|m| m.resources.get(&own.relative_config()));
        match expressions {
            Some(expressions) => self.resolve_block(&own, expressions),
            None => Resolved::default(),
        }
    }

    fn resolve_block(&self, own: &Address, expressions: &Map<String, Value>) -> Resolved {
        let mut out = Resolved::default();
        for (name, expression) in expressions {
            match expression {
                // A nested block: one object of expressions per block.
                Value::Array(blocks) => {
                    let resolved = blocks
                        .iter()
                        .map(|b| match b.as_object() {
                            Some(inner) => self.resolve_block(own, inner),
                            None => Resolved::default(),
                        })
                        .collect();
                    out.blocks.insert(name.clone(), resolved);
                }
                Value::Object(_) => {
                    let scope = Scope {
                        modules: &own.modules,
                        key: own.key.as_deref(),
                        takes_id: name.ends_with("_id") || name.ends_with("_ids"),
                    };
                    let targets = self.expression(&scope, expression, 0);
                    if !targets.is_empty() {
                        out.attributes.insert(name.clone(), targets);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The targets of one expression, evaluated in `scope`.
    fn expression(&self, scope: &Scope, expression: &Value, depth: usize) -> Vec<Target> {
        // Module arguments and outputs can only nest as deep as the modules do; the bound keeps
        // a malformed plan (an output naming itself) from recursing without end.
        if depth > 64 {
            return vec![Target::Undecided];
        }
        let references: Vec<&str> = items(expression, "references")
            .filter_map(Value::as_str)
            .collect();
        let by_index = references
            .iter()
            .any(|r| matches!(*r, "count.index" | "each.key" | "each.value"));
        let mut longest: Vec<&str> = Vec::new();
        for reference in &references {
            let prefix_of_earlier = longest.iter().any(|earlier| {
                earlier.len() > reference.len()
                    && earlier.starts_with(reference)
                    && matches!(earlier.as_bytes()[reference.len()], b'.' | b'[')
            });
            if !prefix_of_earlier {
                longest.push(reference);
            }
        }
        let mut out = Vec::new();
        for reference in longest {
            let Some(parts) = address::tokens(reference) else {
                out.push(Target::Undecided);
                continue;
            };
            let head = parts.first().and_then(|p| p.name()).unwrap_or_default();
            match head {
                // Values of the referrer itself, of the run or of locals (which the JSON
                // configuration does not carry): nothing to join to.
                "count" | "each" | "path" | "terraform" | "self" => {}
                "local" => out.push(Target::Undecided),
                "var" => out.extend(self.variable(scope, &parts, depth)),
                "module" => out.extend(self.output(scope, by_index, &parts, depth)),
                _ => out.push(self.resource(scope, by_index, &parts)),
            }
        }
        out
    }

    /// `var.name`: the argument the calling module passed, evaluated where the call is.
    fn variable(&self, scope: &Scope, parts: &[address::Token], depth: usize) -> Vec<Target> {
        let Some(((call, call_key), parent)) = scope.modules.split_last() else {
            // A root variable's value is in `variables`, not a reference to a resource.
            return vec![Target::Undecided];
        };
        let Some(name) = parts.get(1).and_then(|p| p.name()) else {
            return vec![Target::Undecided];
        };
        let argument = self
            .modules
            .get(&address::module_path(parent))
            .and_then(|m| m.calls.get(call))
            .and_then(|args| args.get(name));
        match argument {
            Some(argument) => {
                let caller = Scope {
                    modules: parent,
                    key: call_key.as_deref(),
                    takes_id: scope.takes_id,
                };
                self.expression(&caller, argument, depth + 1)
            }
            None => vec![Target::Undecided],
        }
    }

    /// `module.call.output`: the output's expression, evaluated in the called module's instance.
    fn output(
        &self,
        scope: &Scope,
        by_index: bool,
        parts: &[address::Token],
        depth: usize,
    ) -> Vec<Target> {
        let modules = scope.modules;
        let Some(call) = parts.get(1).and_then(|p| p.name()) else {
            return vec![Target::Undecided];
        };
        let (explicit, rest) = match parts.get(2) {
            Some(address::Token::Key(k)) => (Some(k.clone()), &parts[3..]),
            _ => (None, &parts[2.min(parts.len())..]),
        };
        let Some(output) = rest.first().and_then(|p| p.name()) else {
            return vec![Target::Undecided];
        };
        let mut path: Vec<(String, Option<String>)> = modules.to_vec();
        let called_path = {
            let mut p = path.clone();
            p.push((call.to_string(), None));
            address::module_path(&p)
        };
        let Some(expression) = self
            .modules
            .get(&called_path)
            .and_then(|m| m.outputs.get(output))
        else {
            return vec![Target::Undecided];
        };
        let keys = self.module_keys(modules, call);
        let chosen = match explicit {
            Some(k) => Some(Some(k)),
            None => choose(&keys, scope.key, by_index),
        };
        let Some(chosen) = chosen else {
            return vec![Target::Undecided];
        };
        path.push((call.to_string(), chosen));
        let called = Scope {
            modules: &path,
            key: None,
            takes_id: scope.takes_id,
        };
        self.expression(&called, expression, depth + 1)
    }

    /// The instance keys of module call `call` in the module instance `modules`.
    fn module_keys(&self, modules: &[(String, Option<String>)], call: &str) -> Vec<Option<String>> {
        let mut keys = Vec::new();
        for instance in self.instances.values().flatten() {
            if instance.modules.len() > modules.len()
                && instance.modules[..modules.len()] == *modules
                && instance.modules[modules.len()].0 == call
            {
                let key = instance.modules[modules.len()].1.clone();
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// `type.name[key].attribute` (or `data.type.name...`) in the module instance `modules`.
    fn resource(&self, scope: &Scope, by_index: bool, parts: &[address::Token]) -> Target {
        let modules = scope.modules;
        let data = parts.first().and_then(|p| p.name()) == Some("data");
        let skip = usize::from(data);
        let (Some(kind), Some(name)) = (
            parts.get(skip).and_then(|p| p.name()),
            parts.get(skip + 1).and_then(|p| p.name()),
        ) else {
            return Target::Undecided;
        };
        let (explicit, rest) = match parts.get(skip + 2) {
            Some(address::Token::Key(k)) => (Some(k.clone()), skip + 3),
            _ => (None, skip + 2),
        };
        // Terraform lists `azurerm_network_interface.vm[count.index].id` as the resource alone
        // (the index is not a constant, so the traversal stops there). Where the referrer's
        // attribute takes an id (`*_id`, `*_ids`, which azurerm validates as an ARM id of the
        // referenced kind), the attribute meant is the resource's own `id`; elsewhere (a `for`
        // over the resource, a name) it cannot be told.
        let attribute = match parts.get(rest).and_then(|p| p.name()) {
            Some(attribute) => attribute,
            None if by_index && scope.takes_id => "id",
            None => return Target::Undecided,
        };
        let mode = if data { "data." } else { "" };
        let prefix = address::module_instance(modules);
        let config = format!("{}{mode}{kind}.{name}", address::config_prefix(modules));
        let keys: Vec<Option<String>> = self
            .instances
            .get(&config)
            .into_iter()
            .flatten()
            .filter(|i| address::module_instance(&i.modules) == prefix)
            .map(|i| i.key.clone())
            .collect();
        let chosen = match explicit {
            Some(k) => Some(Some(k)),
            None => choose(&keys, scope.key, by_index),
        };
        let Some(chosen) = chosen else {
            return Target::Undecided;
        };
        let instance = format!(
            "{prefix}{mode}{kind}.{name}{}",
            chosen.map(|k| format!("[{k}]")).unwrap_or_default()
        );
        match self.values.get(&instance).and_then(|v| v.get(attribute)) {
            Some(value) => Target::Known(value.clone()),
            None => Target::Unknown(format!("{instance}.{attribute}")),
        }
    }
}

/// Where an expression is evaluated: the module instance, the referrer's own instance key
/// (what `count.index` and `each.key` are) and whether the attribute takes an ARM id.
struct Scope<'s> {
    modules: &'s [(String, Option<String>)],
    key: Option<&'s str>,
    takes_id: bool,
}

/// The instance a reference without a constant index means: the only one there is, or, where
/// the expression indexes by `count.index` / `each.key`, the one with the referrer's own key.
fn choose(keys: &[Option<String>], own: Option<&str>, by_index: bool) -> Option<Option<String>> {
    match keys {
        [] | [None] => Some(None),
        [only] if !by_index => Some(only.clone()),
        _ if by_index => {
            let own = own?;
            keys.iter().find(|k| k.as_deref() == Some(own)).cloned()
        }
        _ => None,
    }
}

fn collect_modules<'a>(module: &'a Value, path: String, out: &mut HashMap<String, Module<'a>>) {
    let mut this = Module::default();
    for resource in items(module, "resources") {
        let (Some(address), Some(expressions)) = (
            resource.get("address").and_then(Value::as_str),
            resource.get("expressions").and_then(Value::as_object),
        ) else {
            continue;
        };
        this.resources.insert(address.to_string(), expressions);
    }
    for (name, output) in entries(module, "outputs") {
        if let Some(expression) = output.get("expression") {
            this.outputs.insert(name.clone(), expression);
        }
    }
    for (name, call) in entries(module, "module_calls") {
        if let Some(arguments) = call.get("expressions").and_then(Value::as_object) {
            this.calls.insert(name.clone(), arguments);
        }
        if let Some(inner) = call.get("module") {
            let child = if path.is_empty() {
                format!("module.{name}")
            } else {
                format!("{path}.module.{name}")
            };
            collect_modules(inner, child, out);
        }
    }
    out.insert(path, this);
}

/// The elements of the array at `key`, none when it is absent or not an array.
fn items<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The members of the object at `key`, none when it is absent or not an object.
fn entries<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = (&'v String, &'v Value)> {
    value
        .get(key)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}
