//! Evaluates an Azure Policy rule against a resource Azure Backup is about to create (its
//! restore-point resource group or a restore point collection), the way Azure Policy judges a
//! create request: the `if` block's logical operators and conditions over fields and values,
//! template expressions such as `[parameters('tagName')]` or `[concat('tags[', ...)]`, and the
//! effect in `then`.
//!
//! Three-valued on purpose: whatever cannot be decided from the control plane (an alias of the
//! created resource type, `count`, an unsupported function) is `Unknown` with a reason, and
//! `allOf` / `anyOf` / `not` combine it as Kleene logic, so a rule is decided whenever the
//! decidable part settles it (e.g. a `type equals Microsoft.Compute/virtualMachines` condition
//! makes the whole `allOf` false for a resource group, whatever the rest says).

use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    Yes,
    No,
    Unknown(String),
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b {
            Truth::Yes
        } else {
            Truth::No
        }
    }

    fn negate(self) -> Truth {
        match self {
            Truth::Yes => Truth::No,
            Truth::No => Truth::Yes,
            unknown => unknown,
        }
    }
}

/// A create request as Azure Backup sends it: name, type, location and no tags.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    pub name: String,
    pub type_: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub subscription_id: String,
    /// The resource group the resource is created in (for a resource group: itself).
    pub resource_group: String,
}

/// Parameter values by name (compared case-insensitively, as Azure does).
pub type Parameters = BTreeMap<String, Value>;

pub fn parameter<'a>(parameters: &'a Parameters, name: &str) -> Option<&'a Value> {
    parameters
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

struct Context<'a> {
    request: &'a Request,
    parameters: &'a Parameters,
}

type Eval<T> = Result<T, String>;

/// Whether the rule's `if` matches the request.
pub fn matches(rule: &Value, request: &Request, parameters: &Parameters) -> Truth {
    let ctx = Context {
        request,
        parameters,
    };
    match rule.get("if") {
        Some(condition) => ctx.condition(condition),
        None => Truth::Unknown("the policy rule has no 'if'".into()),
    }
}

/// A value with its template expressions evaluated (a set member's parameter value, say).
pub fn expand_value(value: &Value, request: &Request, parameters: &Parameters) -> Eval<Value> {
    Context {
        request,
        parameters,
    }
    .expand(value)
}

/// The rule's effect, lower-cased, with parameters substituted.
pub fn effect(rule: &Value, request: &Request, parameters: &Parameters) -> Eval<String> {
    let ctx = Context {
        request,
        parameters,
    };
    let raw = rule
        .get("then")
        .and_then(|t| t.get("effect"))
        .ok_or("the policy rule has no 'then.effect'")?;
    match ctx.expand(raw)? {
        Value::String(effect) => Ok(effect.to_ascii_lowercase()),
        other => Err(format!("the effect is not a string: {other}")),
    }
}

impl Context<'_> {
    fn condition(&self, node: &Value) -> Truth {
        let Some(object) = node.as_object() else {
            return Truth::Unknown(format!("a policy condition is not an object: {node}"));
        };
        if let Some(all) = object.get("allOf") {
            return self.junction(all, true);
        }
        if let Some(any) = object.get("anyOf") {
            return self.junction(any, false);
        }
        if let Some(inner) = object.get("not") {
            return self.condition(inner).negate();
        }
        if object.contains_key("count") {
            return Truth::Unknown("'count' expressions are not evaluated".into());
        }
        let subject = if let Some(field) = object.get("field") {
            match self.expand(field) {
                Ok(Value::String(path)) => self.field(&path),
                Ok(other) => {
                    return Truth::Unknown(format!("a field name is not a string: {other}"))
                }
                Err(reason) => return Truth::Unknown(reason),
            }
        } else if let Some(value) = object.get("value") {
            self.expand(value).map(Some)
        } else {
            return Truth::Unknown(format!("a condition without field or value: {node}"));
        };
        let subject = match subject {
            Ok(subject) => subject,
            Err(reason) => return Truth::Unknown(reason),
        };
        match self.compare(object, subject.as_ref()) {
            Ok(truth) => truth,
            Err(reason) => Truth::Unknown(reason),
        }
    }

    /// `allOf` (`all`) or `anyOf`: the first decisive member settles it (false for allOf, true
    /// for anyOf); otherwise any unknown member leaves it unknown.
    fn junction(&self, list: &Value, all: bool) -> Truth {
        let (decisive, otherwise) = if all {
            (Truth::No, Truth::Yes)
        } else {
            (Truth::Yes, Truth::No)
        };
        let mut unknown = None;
        for item in list.as_array().into_iter().flatten() {
            match self.condition(item) {
                Truth::Unknown(reason) => {
                    unknown.get_or_insert(reason);
                }
                truth if truth == decisive => return decisive,
                _ => {}
            }
        }
        unknown.map_or(otherwise, Truth::Unknown)
    }

    /// The value of a field of the request; `None` when the resource has no such field.
    fn field(&self, path: &str) -> Eval<Option<Value>> {
        let request = self.request;
        let lower = path.to_ascii_lowercase();
        let plain = |s: &str| Ok(Some(Value::String(s.to_owned())));
        match lower.as_str() {
            "name" | "fullname" => return plain(&request.name),
            "type" => return plain(&request.type_),
            "location" => return plain(&request.location),
            "id" => return plain(&request.id),
            "kind" | "identity.type" | "identity.userassignedidentities" => return Ok(None),
            "tags" => {
                let tags: Map<String, Value> = request
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                return Ok(Some(Value::Object(tags)));
            }
            _ => {}
        }
        if let Some(tag) = tag_name(path) {
            return Ok(request
                .tags
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&tag))
                .map(|(_, v)| Value::String(v.clone())));
        }
        // An alias names a property of one resource type; on any other type it is absent.
        let own_type = format!("{}/", request.type_.to_ascii_lowercase());
        if lower.starts_with(&own_type) {
            return Err(format!(
                "the alias '{path}' of the {} Azure Backup creates is not modelled",
                request.type_
            ));
        }
        if lower.contains('/') {
            return Ok(None);
        }
        Err(format!("the field '{path}' is not modelled"))
    }

    fn compare(&self, condition: &Map<String, Value>, subject: Option<&Value>) -> Eval<Truth> {
        let subject = subject.filter(|v| !v.is_null());
        for (operator, operand) in condition {
            let op = operator.to_ascii_lowercase();
            if matches!(op.as_str(), "field" | "value") {
                continue;
            }
            let operand = self.expand(operand)?;
            let truth = match op.as_str() {
                "equals" => subject.is_some_and(|s| loose_eq(s, &operand)),
                "notequals" => !subject.is_some_and(|s| loose_eq(s, &operand)),
                "like" => subject.is_some_and(|s| like(s, &operand)),
                "notlike" => !subject.is_some_and(|s| like(s, &operand)),
                "match" => subject.is_some_and(|s| pattern(s, &operand, false)),
                "notmatch" => !subject.is_some_and(|s| pattern(s, &operand, false)),
                "matchinsensitively" => subject.is_some_and(|s| pattern(s, &operand, true)),
                "notmatchinsensitively" => !subject.is_some_and(|s| pattern(s, &operand, true)),
                "contains" => subject.is_some_and(|s| contains(s, &operand)),
                "notcontains" => !subject.is_some_and(|s| contains(s, &operand)),
                "in" => subject.is_some_and(|s| member_of(s, &operand)),
                "notin" => !subject.is_some_and(|s| member_of(s, &operand)),
                "containskey" => subject.is_some_and(|s| has_key(s, &operand)),
                "notcontainskey" => !subject.is_some_and(|s| has_key(s, &operand)),
                "exists" => subject.is_some() == truthy(&operand)?,
                "less" | "lessorequals" | "greater" | "greaterorequals" => {
                    let Some(subject) = subject else {
                        return Ok(Truth::No);
                    };
                    let ordering = order(subject, &operand)?;
                    match op.as_str() {
                        "less" => ordering.is_lt(),
                        "lessorequals" => ordering.is_le(),
                        "greater" => ordering.is_gt(),
                        _ => ordering.is_ge(),
                    }
                }
                other => return Err(format!("the condition operator '{other}' is not evaluated")),
            };
            return Ok(Truth::from_bool(truth));
        }
        Err("a condition without an operator".into())
    }

    /// A JSON value with template expressions (`"[...]"`) evaluated; `"[[..."` is a literal.
    fn expand(&self, value: &Value) -> Eval<Value> {
        match value {
            Value::String(s) if s.starts_with("[[") => Ok(Value::String(s[1..].to_owned())),
            Value::String(s) if s.starts_with('[') && s.ends_with(']') => {
                let mut parser = Parser {
                    text: &s[1..s.len() - 1],
                    at: 0,
                };
                let expression = parser.expression()?;
                parser.skip_space();
                if parser.at != parser.text.len() {
                    return Err(format!("cannot read the policy expression '{s}'"));
                }
                self.evaluate(&expression)
            }
            other => Ok(other.clone()),
        }
    }

    fn evaluate(&self, expression: &Expr) -> Eval<Value> {
        match expression {
            Expr::Literal(v) => Ok(v.clone()),
            Expr::Property(inner, name) => {
                let value = self.evaluate(inner)?;
                Ok(value
                    .as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null))
            }
            Expr::Index(inner, index) => {
                let value = self.evaluate(inner)?;
                let index = self.evaluate(index)?;
                Ok(match (&value, &index) {
                    (Value::Array(items), Value::Number(n)) => n
                        .as_u64()
                        .and_then(|i| items.get(i as usize))
                        .cloned()
                        .unwrap_or(Value::Null),
                    (Value::Object(o), Value::String(k)) => o
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Null),
                    _ => Value::Null,
                })
            }
            Expr::Call(name, args) => self.call(name, args),
        }
    }

    fn call(&self, name: &str, args: &[Expr]) -> Eval<Value> {
        let lower = name.to_ascii_lowercase();
        // `if` evaluates only the branch it takes (the other may be an error on purpose).
        if lower == "if" {
            let [test, then, otherwise] = args else {
                return Err("if() takes three arguments".into());
            };
            let test = self.evaluate(test)?;
            return self.evaluate(if truthy(&test)? { then } else { otherwise });
        }
        let values = args
            .iter()
            .map(|a| self.evaluate(a))
            .collect::<Eval<Vec<Value>>>()?;
        let text = |i: usize| -> Eval<String> {
            match values.get(i) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(Value::Bool(b)) => Ok(b.to_string()),
                other => Err(format!("{name}() needs a string, got {other:?}")),
            }
        };
        // `and` and `or` read every argument, so a malformed one is an error whatever the others.
        let truths = || values.iter().map(truthy).collect::<Eval<Vec<bool>>>();
        let request = self.request;
        Ok(match lower.as_str() {
            "parameters" => {
                let wanted = text(0)?;
                parameter(self.parameters, &wanted)
                    .cloned()
                    .ok_or_else(|| format!("the parameter '{wanted}' has no value"))?
            }
            "field" => self.field(&text(0)?)?.unwrap_or(Value::Null),
            "concat" => {
                if values.iter().all(Value::is_array) {
                    Value::Array(
                        values
                            .iter()
                            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
                            .collect(),
                    )
                } else {
                    let mut out = String::new();
                    for i in 0..values.len() {
                        out.push_str(&text(i)?);
                    }
                    Value::String(out)
                }
            }
            "tolower" => Value::String(text(0)?.to_lowercase()),
            "toupper" => Value::String(text(0)?.to_uppercase()),
            "trim" => Value::String(text(0)?.trim().to_owned()),
            "string" => Value::String(match values.first() {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            }),
            "replace" => Value::String(text(0)?.replace(&text(1)?, &text(2)?)),
            "startswith" => Value::Bool(
                text(0)?
                    .to_lowercase()
                    .starts_with(&text(1)?.to_lowercase()),
            ),
            "endswith" => Value::Bool(text(0)?.to_lowercase().ends_with(&text(1)?.to_lowercase())),
            "split" => Value::Array(
                text(0)?
                    .split(text(1)?.as_str())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            "equals" => Value::Bool(match (values.first(), values.get(1)) {
                (Some(a), Some(b)) => loose_eq(a, b),
                _ => return Err("equals() takes two arguments".into()),
            }),
            "not" => Value::Bool(!truthy(values.first().unwrap_or(&Value::Null))?),
            "and" => Value::Bool(truths()?.iter().all(|b| *b)),
            "or" => Value::Bool(truths()?.iter().any(|b| *b)),
            "empty" => Value::Bool(match values.first() {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                Some(_) => false,
            }),
            "contains" => Value::Bool(match (values.first(), values.get(1)) {
                (Some(a), Some(b)) => contains(a, b),
                _ => return Err("contains() takes two arguments".into()),
            }),
            "length" => Value::from(match values.first() {
                Some(Value::String(s)) => s.chars().count(),
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                _ => return Err("length() needs a string, array or object".into()),
            }),
            "first" => match values.first() {
                Some(Value::Array(a)) => a.first().cloned().unwrap_or(Value::Null),
                Some(Value::String(s)) => {
                    Value::String(s.chars().next().map(String::from).unwrap_or_default())
                }
                _ => return Err("first() needs a string or an array".into()),
            },
            "last" => match values.first() {
                Some(Value::Array(a)) => a.last().cloned().unwrap_or(Value::Null),
                Some(Value::String(s)) => {
                    Value::String(s.chars().last().map(String::from).unwrap_or_default())
                }
                _ => return Err("last() needs a string or an array".into()),
            },
            "createarray" => Value::Array(values),
            "resourcegroup" => serde_json::json!({
                "name": request.resource_group,
                "location": request.location,
                "id": format!("/subscriptions/{}/resourceGroups/{}", request.subscription_id, request.resource_group),
                "tags": {},
            }),
            "subscription" => serde_json::json!({
                "subscriptionId": request.subscription_id,
                "id": format!("/subscriptions/{}", request.subscription_id),
            }),
            other => return Err(format!("the policy function '{other}()' is not evaluated")),
        })
    }
}

/// `tags['x']`, `tags[x]` or `tags.x` → `x`.
fn tag_name(path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("tags.") {
        return Some(path[path.len() - rest.len()..].to_owned());
    }
    if lower.starts_with("tags[") && path.ends_with(']') {
        let inner = &path[5..path.len() - 1];
        return Some(inner.trim_matches('\'').to_owned());
    }
    None
}

/// Azure Policy compares strings without regard to case.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::String(s), other) | (other, Value::String(s)) if !other.is_array() => {
            s.eq_ignore_ascii_case(&other.to_string())
        }
        (a, b) => a == b,
    }
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `like`: `*` is the only wildcard; case-insensitive.
fn like(subject: &Value, operand: &Value) -> bool {
    let (Some(text), Some(glob)) = (as_text(subject), as_text(operand)) else {
        return false;
    };
    wildcard(&text.to_lowercase(), &glob.to_lowercase())
}

fn wildcard(text: &str, glob: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return text == glob;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// `match`: `#` a digit, `?` a letter, `.` any character, anything else itself.
fn pattern(subject: &Value, operand: &Value, insensitive: bool) -> bool {
    let (Some(text), Some(pattern)) = (as_text(subject), as_text(operand)) else {
        return false;
    };
    let (text, pattern): (Vec<char>, Vec<char>) = if insensitive {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    text.len() == pattern.len()
        && text.iter().zip(&pattern).all(|(c, p)| match p {
            '#' => c.is_ascii_digit(),
            '?' => c.is_alphabetic(),
            '.' => true,
            p => c == p,
        })
}

fn contains(subject: &Value, operand: &Value) -> bool {
    match subject {
        Value::Array(items) => items.iter().any(|item| loose_eq(item, operand)),
        Value::Object(map) => {
            as_text(operand).is_some_and(|k| map.keys().any(|key| key.eq_ignore_ascii_case(&k)))
        }
        other => match (as_text(other), as_text(operand)) {
            (Some(text), Some(part)) => text.to_lowercase().contains(&part.to_lowercase()),
            _ => false,
        },
    }
}

fn member_of(subject: &Value, operand: &Value) -> bool {
    match operand {
        Value::Array(items) => match subject {
            // An array field is `in` a list when every element is.
            Value::Array(values) => values.iter().all(|v| items.iter().any(|i| loose_eq(v, i))),
            single => items.iter().any(|item| loose_eq(single, item)),
        },
        _ => false,
    }
}

fn has_key(subject: &Value, operand: &Value) -> bool {
    match (subject, as_text(operand)) {
        (Value::Object(map), Some(k)) => map.keys().any(|key| key.eq_ignore_ascii_case(&k)),
        _ => false,
    }
}

fn truthy(value: &Value) -> Eval<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("expected true or false, got {other}")),
    }
}

fn order(a: &Value, b: &Value) -> Eval<std::cmp::Ordering> {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x
            .partial_cmp(&y)
            .ok_or_else(|| "numbers that do not compare".into()),
        _ => match (a, b) {
            // ISO 8601 dates and plain strings order as text.
            (Value::String(x), Value::String(y)) => Ok(x.to_lowercase().cmp(&y.to_lowercase())),
            _ => Err(format!("cannot order {a} and {b}")),
        },
    }
}

// ------------------------------------------------------------------ expression parsing

#[derive(Debug, Clone)]
enum Expr {
    Literal(Value),
    Call(String, Vec<Expr>),
    Property(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.text[self.at..].starts_with(char::is_whitespace) {
            self.at += self.text[self.at..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn error(&self, what: &str) -> String {
        format!(
            "cannot read the policy expression '[{}]': {what} at character {}",
            self.text, self.at
        )
    }

    fn expression(&mut self) -> Eval<Expr> {
        self.skip_space();
        let mut expr = match self.peek() {
            Some('\'') => Expr::Literal(Value::String(self.string()?)),
            Some(c) if c.is_ascii_digit() || c == '-' => self.number()?,
            Some(c) if c.is_ascii_alphabetic() => {
                let name = self.identifier();
                if self.eat('(') {
                    let mut args = Vec::new();
                    if !self.eat(')') {
                        loop {
                            args.push(self.expression()?);
                            if self.eat(')') {
                                break;
                            }
                            if !self.eat(',') {
                                return Err(self.error("expected ',' or ')'"));
                            }
                        }
                    }
                    Expr::Call(name, args)
                } else {
                    match name.to_ascii_lowercase().as_str() {
                        "true" => Expr::Literal(Value::Bool(true)),
                        "false" => Expr::Literal(Value::Bool(false)),
                        "null" => Expr::Literal(Value::Null),
                        _ => return Err(self.error("expected a function call")),
                    }
                }
            }
            _ => return Err(self.error("unexpected character")),
        };
        loop {
            if self.eat('.') {
                let name = self.identifier();
                if name.is_empty() {
                    return Err(self.error("expected a property name"));
                }
                expr = Expr::Property(Box::new(expr), name);
            } else if self.eat('[') {
                let index = self.expression()?;
                if !self.eat(']') {
                    return Err(self.error("expected ']'"));
                }
                expr = Expr::Index(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.at += 1;
        }
        self.text[start..self.at].to_owned()
    }

    fn string(&mut self) -> Eval<String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.at += c.len_utf8();
            if c == '\'' {
                // '' is an escaped quote.
                if self.peek() == Some('\'') {
                    self.at += 1;
                    out.push('\'');
                    continue;
                }
                return Ok(out);
            }
            out.push(c);
        }
    }

    fn number(&mut self) -> Eval<Expr> {
        let start = self.at;
        self.at += 1;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let text = &self.text[start..self.at];
        text.parse::<i64>()
            .map(|n| Expr::Literal(Value::from(n)))
            .map_err(|_| self.error("bad number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource_group(location: &str) -> Request {
        Request {
            id: "/subscriptions/s1/resourceGroups/AzureBackupRG_eastus_1".into(),
            name: "AzureBackupRG_eastus_1".into(),
            type_: "Microsoft.Resources/subscriptions/resourceGroups".into(),
            location: location.into(),
            tags: BTreeMap::new(),
            subscription_id: "s1".into(),
            resource_group: "AzureBackupRG_eastus_1".into(),
        }
    }

    fn params(pairs: Value) -> Parameters {
        pairs
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A policy rule with this effect when `condition` holds for a resource group.
    fn on_resource_groups(condition: Value, effect: &str) -> Value {
        json!({"if": {"allOf": [
            {"field": "type", "equals": "Microsoft.Resources/subscriptions/resourceGroups"},
            condition
        ]}, "then": {"effect": effect}})
    }

    #[test]
    fn required_tag_on_resource_groups_denies_an_untagged_group() {
        let rule = on_resource_groups(
            json!({"field": "[concat('tags[', parameters('tagName'), ']')]", "exists": "false"}),
            "deny",
        );
        let p = params(json!({"tagName": "costCenter"}));
        assert_eq!(matches(&rule, &resource_group("eastus"), &p), Truth::Yes);
        let mut tagged = resource_group("eastus");
        tagged.tags.insert("COSTCENTER".into(), "42".into());
        assert_eq!(matches(&rule, &tagged, &p), Truth::No);
        assert_eq!(effect(&rule, &tagged, &p).unwrap(), "deny");
    }

    #[test]
    fn allowed_locations_compare_without_case() {
        let rule = on_resource_groups(
            json!({"field": "location", "notIn": "[parameters('listOfAllowedLocations')]"}),
            "[parameters('effect')]",
        );
        let p =
            params(json!({"listOfAllowedLocations": ["WestEurope", "eastus"], "effect": "Deny"}));
        assert_eq!(matches(&rule, &resource_group("eastus"), &p), Truth::No);
        assert_eq!(matches(&rule, &resource_group("westus2"), &p), Truth::Yes);
        assert_eq!(
            effect(&rule, &resource_group("westus2"), &p).unwrap(),
            "deny"
        );
    }

    #[test]
    fn a_missing_parameter_is_unknown_not_false() {
        let rule = json!({"if": {"field": "location", "notIn": "[parameters('allowed')]"}, "then": {"effect": "deny"}});
        assert!(matches!(
            matches(&rule, &resource_group("eastus"), &Parameters::new()),
            Truth::Unknown(reason) if reason.contains("allowed")
        ));
    }

    #[test]
    fn undecidable_parts_do_not_hide_a_decided_answer() {
        // The type condition settles the allOf, even though the alias and count are unknown.
        let rule = json!({"if": {"allOf": [
            {"field": "type", "equals": "Microsoft.Compute/virtualMachines"},
            {"field": "Microsoft.Resources/subscriptions/resourceGroups/managedBy", "exists": true},
            {"count": {"field": "tags[*]"}, "greater": 0}
        ]}, "then": {"effect": "deny"}});
        assert_eq!(
            matches(&rule, &resource_group("eastus"), &Parameters::new()),
            Truth::No
        );
        let open = on_resource_groups(
            json!({"field": "Microsoft.Resources/subscriptions/resourceGroups/managedBy", "exists": true}),
            "deny",
        );
        assert!(matches!(
            matches(&open, &resource_group("eastus"), &Parameters::new()),
            Truth::Unknown(_)
        ));
        // An alias of another resource type is simply absent on this one.
        let other = json!({"if": {"field": "Microsoft.Compute/virtualMachines/imagePublisher", "exists": "false"}, "then": {"effect": "deny"}});
        assert_eq!(
            matches(&other, &resource_group("eastus"), &Parameters::new()),
            Truth::Yes
        );
    }

    #[test]
    fn naming_conventions_with_like_and_match() {
        let like_rule = on_resource_groups(json!({"field": "name", "notLike": "rg-*"}), "deny");
        assert_eq!(
            matches(&like_rule, &resource_group("eastus"), &Parameters::new()),
            Truth::Yes
        );
        let match_rule = json!({"if": {"not": {"field": "name", "match": "AzureBackupRG_??????_#"}}, "then": {"effect": "deny"}});
        assert_eq!(
            matches(&match_rule, &resource_group("eastus"), &Parameters::new()),
            Truth::No
        );
        assert!(wildcard("azurebackuprg_eastus_1", "azurebackup*_*_1"));
        assert!(!wildcard("rg-app", "rg-*-prod"));
    }

    #[test]
    fn expressions_parse_nested_calls_properties_and_escapes() {
        let request = resource_group("eastus");
        let p = params(json!({"prefix": "AzureBackup"}));
        let ctx = Context {
            request: &request,
            parameters: &p,
        };
        let value = ctx
            .expand(&json!("[if(startsWith(resourceGroup().name, parameters('prefix')), toLower('It''s'), 'no')]"))
            .unwrap();
        assert_eq!(value, json!("it's"));
        assert_eq!(
            ctx.expand(&json!("[[literal]")).unwrap(),
            json!("[literal]")
        );
        assert_eq!(
            ctx.expand(&json!("[subscription().subscriptionId]"))
                .unwrap(),
            json!("s1")
        );
        assert!(ctx
            .expand(&json!("[utcNow()]"))
            .unwrap_err()
            .contains("utcnow"));
        assert!(ctx.expand(&json!("[concat('a',]")).is_err());
    }
}
