//! Terraform addresses: `module.app["web"].module.nic[0].azurerm_network_interface.vm[1]` for a
//! resource instance, and the references of expressions (`azurerm_subnet.app.id`). A `for_each`
//! key is a quoted string that may hold dots, brackets or slashes, so addresses are split by a
//! small scanner rather than on `.`.

/// One step of an address: a name, or an index (`0`, `"web"`, kept as written).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Name(String),
    Key(String),
}

impl Token {
    pub fn name(&self) -> Option<&str> {
        match self {
            Token::Name(name) => Some(name),
            Token::Key(_) => None,
        }
    }
}

/// Splits an address into names and indexes; `None` when brackets or quotes do not close.
pub(super) fn tokens(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut name = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !name.is_empty() {
                    out.push(Token::Name(std::mem::take(&mut name)));
                }
            }
            '[' => {
                if !name.is_empty() {
                    out.push(Token::Name(std::mem::take(&mut name)));
                }
                let mut key = String::new();
                let mut quoted = false;
                loop {
                    let c = chars.next()?;
                    match c {
                        '"' => {
                            quoted = !quoted;
                            key.push(c);
                        }
                        '\\' if quoted => {
                            key.push(c);
                            key.push(chars.next()?);
                        }
                        ']' if !quoted => break,
                        _ => key.push(c),
                    }
                }
                out.push(Token::Key(key));
            }
            _ => name.push(c),
        }
    }
    if !name.is_empty() {
        out.push(Token::Name(name));
    }
    Some(out)
}

/// A resource instance's address.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Address {
    /// The module calls from the root, each with its instance key.
    pub modules: Vec<(String, Option<String>)>,
    pub data: bool,
    pub kind: String,
    pub name: String,
    pub key: Option<String>,
}

impl Address {
    /// The address without instance keys, as the configuration declares the resource.
    pub fn config(&self) -> String {
        format!("{}{}", config_prefix(&self.modules), self.relative_config())
    }

    /// The address inside its module, without key: `azurerm_subnet.app`, `data.azurerm_subnet.hub`.
    pub fn relative_config(&self) -> String {
        let mode = if self.data { "data." } else { "" };
        format!("{mode}{}.{}", self.kind, self.name)
    }

    /// The module's configuration path (`module.app.module.nic`, empty for the root).
    pub fn module_path(&self) -> String {
        module_path(&self.modules)
    }
}

/// Parses a resource instance address; `None` if it is not one.
pub(super) fn parse(text: &str) -> Option<Address> {
    let tokens = tokens(text)?;
    let mut at = 0;
    let mut modules = Vec::new();
    while tokens.get(at).and_then(Token::name) == Some("module") {
        let name = tokens.get(at + 1)?.name()?.to_string();
        at += 2;
        let key = match tokens.get(at) {
            Some(Token::Key(k)) => {
                at += 1;
                Some(k.clone())
            }
            _ => None,
        };
        modules.push((name, key));
    }
    let data = tokens.get(at).and_then(Token::name) == Some("data");
    if data {
        at += 1;
    }
    let kind = tokens.get(at)?.name()?.to_string();
    let name = tokens.get(at + 1)?.name()?.to_string();
    let key = match tokens.get(at + 2) {
        Some(Token::Key(k)) => Some(k.clone()),
        None => None,
        Some(Token::Name(_)) => return None,
    };
    Some(Address {
        modules,
        data,
        kind,
        name,
        key,
    })
}

/// `module.a.module.b`: the configuration path of a module instance.
pub(super) fn module_path(modules: &[(String, Option<String>)]) -> String {
    modules
        .iter()
        .map(|(name, _)| format!("module.{name}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// `module.a.module.b.`: the configuration prefix of the addresses in a module (empty at the root).
pub(super) fn config_prefix(modules: &[(String, Option<String>)]) -> String {
    modules
        .iter()
        .map(|(name, _)| format!("module.{name}."))
        .collect()
}

/// `module.a["x"].module.b[0].`: the instance prefix of the addresses in a module instance.
pub(super) fn module_instance(modules: &[(String, Option<String>)]) -> String {
    modules
        .iter()
        .map(|(name, key)| match key {
            Some(key) => format!("module.{name}[{key}]."),
            None => format!("module.{name}."),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_addresses_split_around_quoted_keys() {
        let a = parse(r#"module.app["a.b/c[0]"].module.nic[2].azurerm_network_interface.vm["x"]"#)
            .unwrap();
        assert_eq!(
            a.modules,
            vec![
                ("app".to_string(), Some(r#""a.b/c[0]""#.to_string())),
                ("nic".to_string(), Some("2".to_string()))
            ]
        );
        assert_eq!(a.key.as_deref(), Some(r#""x""#));
        assert_eq!(
            a.config(),
            "module.app.module.nic.azurerm_network_interface.vm"
        );
        assert_eq!(
            module_instance(&a.modules),
            r#"module.app["a.b/c[0]"].module.nic[2]."#
        );
        let d = parse("data.azurerm_subnet.hub").unwrap();
        assert!(d.data);
        assert_eq!(d.relative_config(), "data.azurerm_subnet.hub");
        assert_eq!(parse("azurerm_subnet.app.id"), None);
        assert_eq!(parse("azurerm_subnet[0"), None);
        assert_eq!(tokens(r#"a["b\"]"]"#).map(|t| t.len()), Some(2));
    }
}
