//! The Azure RBAC actions a client's requests need, read off the requests the ARM emulator
//! logged, and their comparison with a custom role's `Actions` both ways: what the requests need
//! and the role lacks, what the role grants and no request needs.
//!
//! The action of an ARM request follows ARM's general rule, not a table per URL: the resource
//! provider namespace after the last `providers/{Namespace}` of the path (`Microsoft.Resources`
//! before any), then the resource type segments after it (every other segment, so a nested type
//! keeps its parents: `virtualMachines/{vm}/instanceView` is `virtualMachines/instanceView`), then
//! `/read` for a GET. RBAC action names are case-insensitive, as ARM compares them.

use crate::emulator::LoggedRequest;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The one ARM read that is a POST: a Resource Graph query (the query travels in the body).
const RESOURCE_GRAPH: &str = "Microsoft.ResourceGraph/resources/read";

/// What one logged request is, for the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// An ARM read and the actions it needs (more than one for a Resource Graph query: the
    /// query's own, and the read of each type of row it asks for).
    Arm(Vec<String>),
    /// No ARM RBAC applies; the reason says why.
    Outside(&'static str),
}

/// The RBAC action a GET of `url` needs: `url` is an ARM path or a full URL (a `nextLink`), with
/// or without a query string.
pub fn read_action(url: &str) -> Result<String, String> {
    let segments = path_segments(url);
    if segments.is_empty() {
        return Err(format!("`{url}` names no ARM resource"));
    }
    let mut namespace = "Microsoft.Resources".to_owned();
    let mut types: Vec<String> = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let segment = &segments[i];
        // `providers/{Namespace}` with a type after it starts the namespace's types; a bare
        // `providers` (or one followed only by a namespace: a provider's registration) is the
        // type Microsoft.Resources/.../providers itself.
        if segment.eq_ignore_ascii_case("providers") && i + 2 < segments.len() {
            namespace = segments[i + 1].clone();
            types.clear();
            i += 2;
            continue;
        }
        types.push(segment.clone());
        i += 2;
    }
    Ok(format!("{namespace}/{}/read", types.join("/")))
}

/// The path of an ARM path or URL: scheme, host, query and fragment dropped.
fn path_only(url: &str) -> &str {
    let without_origin = match url.find("://") {
        Some(scheme_end) => {
            let rest = &url[scheme_end + 3..];
            rest.find('/').map_or("", |slash| &rest[slash..])
        }
        None => url,
    };
    without_origin.split(['?', '#']).next().unwrap_or_default()
}

/// The decoded path segments of an ARM path or URL.
fn path_segments(url: &str) -> Vec<String> {
    path_only(url)
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(percent_decode)
        .collect()
}

/// Decodes the `%XX` escapes of a path segment (a malformed escape is kept as it is).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| segment.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The row types a Resource Graph query reads (`type =~ '…'` or `type == '…'`). A query that
/// names none could return rows of any type, whose read actions the test cannot know: an error.
pub fn graph_row_types(query: &str) -> Result<Vec<String>, String> {
    // `resourcechanges` rows are shown to whoever may read the changed resource; the collector
    // asks only about resources it has read already, so the table needs no action of its own.
    let table = query.split('|').next().unwrap_or_default().trim();
    if table.eq_ignore_ascii_case("resourcechanges") {
        return Ok(Vec::new());
    }
    let mut types = Vec::new();
    let mut rest = query;
    while let Some(at) = rest.find("type") {
        let after = rest[at + 4..].trim_start();
        rest = &rest[at + 4..];
        let Some(operand) = after
            .strip_prefix("=~")
            .or_else(|| after.strip_prefix("=="))
        else {
            continue;
        };
        let operand = operand.trim_start();
        let Some(quote) = operand.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            continue;
        };
        let Some(end) = operand[1..].find(quote) else {
            return Err(format!("unterminated type literal in `{query}`"));
        };
        types.push(operand[1..1 + end].to_owned());
    }
    if types.is_empty() {
        return Err(format!(
            "the Resource Graph query `{query}` filters on no `type`: the rows it reads, and so the read actions they need, are unknown"
        ));
    }
    Ok(types)
}

/// What `request` needs from a role. Errors are requests a reader must never make (a write, a
/// POST other than a Resource Graph query) or cannot be classified.
pub fn classify(request: &LoggedRequest) -> Result<Classified, String> {
    let segments = path_segments(&request.path);
    let first = segments.first().map(|s| s.to_ascii_lowercase());
    let shown = shown(request);
    // ARM paths have no empty segment; a `//` means a scope was joined with its own leading slash,
    // which the emulator forgives and a real front door need not.
    if path_only(&request.path).contains("//") {
        return Err(format!("{shown}: the path has an empty segment (`//`)"));
    }
    match first.as_deref() {
        Some("subscriptions" | "providers") => {}
        // Microsoft Graph (the Backup Management Service's service principal lookup) is
        // authorized by Entra ID directory permissions, never by an ARM role.
        Some("v1.0" | "beta") => {
            return if request.method == "GET" {
                Ok(Classified::Outside(
                    "Microsoft Graph: Entra ID directory permissions",
                ))
            } else {
                Err(format!("{shown}: Microsoft Graph is only read"))
            };
        }
        // Sign-in: the token endpoints issue tokens and the discovery documents describe the
        // issuer; none of it is an ARM operation, and the token POST carries no ARM action.
        _ if is_identity(&segments) => {
            return Ok(Classified::Outside("Entra ID sign-in, not ARM"));
        }
        _ => return Err(format!("{shown}: neither ARM, Microsoft Graph nor sign-in")),
    }
    let action = read_action(&request.path).map_err(|e| format!("{shown}: {e}"))?;
    match request.method.as_str() {
        "GET" => Ok(Classified::Arm(vec![action])),
        "POST" if action.eq_ignore_ascii_case(RESOURCE_GRAPH) => {
            let query = request.graph_query.as_deref().ok_or_else(|| {
                format!("{shown}: a Resource Graph request without a query in its body")
            })?;
            let mut actions = vec![RESOURCE_GRAPH.to_owned()];
            // Resource Graph answers only with the rows the caller may read, so the rows' types
            // need their read actions too, or the answer is silently short.
            for row_type in graph_row_types(query).map_err(|e| format!("{shown}: {e}"))? {
                actions.push(format!("{row_type}/read"));
            }
            Ok(Classified::Arm(actions))
        }
        method => Err(format!(
            "{shown}: {method} is no read (the only ARM read sent as POST is a Resource Graph query)"
        )),
    }
}

fn is_identity(segments: &[String]) -> bool {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    matches!(
        lower.as_slice(),
        [_, "oauth2", "v2.0", "token"]
            | [_, "oauth2", "token"]
            | ["msi", "token"]
            | ["metadata", "identity", "oauth2", "token"]
            | [_, "v2.0", ".well-known", "openid-configuration"]
            | [_, ".well-known", "openid-configuration"]
            | [_, "discovery", "v2.0", "keys"]
    )
}

fn shown(request: &LoggedRequest) -> String {
    if request.query.is_empty() {
        format!("{} {}", request.method, request.path)
    } else {
        format!("{} {}?{}", request.method, request.path, request.query)
    }
}

/// One action the requests need, as first requested, and one request that needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub action: String,
    pub sample: String,
}

/// What a set of logged requests needs from a role.
#[derive(Debug, Default)]
pub struct Needs {
    /// By lower-cased action.
    pub actions: BTreeMap<String, Need>,
    /// Requests no reader may make, or that fit no class.
    pub refused: Vec<String>,
    /// Requests outside ARM RBAC, by reason, counted: what the test left out, and why.
    pub outside: BTreeMap<&'static str, usize>,
}

impl Needs {
    pub fn add(&mut self, requests: &[LoggedRequest]) {
        for request in requests {
            match classify(request) {
                Ok(Classified::Arm(actions)) => {
                    for action in actions {
                        self.actions
                            .entry(action.to_ascii_lowercase())
                            .or_insert_with(|| Need {
                                action,
                                sample: shown(request),
                            });
                    }
                }
                Ok(Classified::Outside(reason)) => *self.outside.entry(reason).or_default() += 1,
                Err(refused) => self.refused.push(refused),
            }
        }
    }
}

/// A custom role definition's permissions, as `az role definition create` reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub actions: Vec<String>,
    /// `NotActions`, `DataActions` and `NotDataActions` entries, by key.
    pub others: Vec<(String, String)>,
}

impl Role {
    /// Reads a role definition file; an unreadable or misshapen file is an error naming it.
    pub fn load(path: &Path) -> Result<Role, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let document: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let strings = |key: &str| -> Result<Vec<String>, String> {
            match document.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str().map(str::to_owned).ok_or_else(|| {
                            format!("{}: {key} holds {item}, not a string", path.display())
                        })
                    })
                    .collect(),
                Some(other) => Err(format!(
                    "{}: {key} is {other}, not a list of actions",
                    path.display()
                )),
            }
        };
        let actions = strings("Actions")?;
        if actions.is_empty() {
            return Err(format!("{}: Actions is missing or empty", path.display()));
        }
        let mut others = Vec::new();
        for key in ["NotActions", "DataActions", "NotDataActions"] {
            others.extend(strings(key)?.into_iter().map(|a| (key.to_owned(), a)));
        }
        Ok(Role { actions, others })
    }
}

/// The two ways a role and the needs can differ.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Difference {
    /// Needed, not granted: the action as requested, and a request that needs it.
    pub missing: Vec<Need>,
    /// Granted (or listed under NotActions / DataActions / NotDataActions), needed by no
    /// request: in the role's spelling.
    pub extra: Vec<String>,
}

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::new();
        if !self.missing.is_empty() {
            let _ = writeln!(text, "actions the collector needs that the role lacks:");
            for need in &self.missing {
                let _ = writeln!(text, "  {}  (needed by {})", need.action, need.sample);
            }
        }
        if !self.extra.is_empty() {
            let _ = writeln!(
                text,
                "entries of the role no request of the collector needs:"
            );
            for extra in &self.extra {
                let _ = writeln!(text, "  {extra}  (no request needs it)");
            }
        }
        f.write_str(&text)
    }
}

/// `role` against `needs`, both ways, case-insensitively. Wildcards get no special reading: an
/// `*` grants more than any request needs, so it is reported as extra. The collector reads no
/// data plane and needs nothing denied, so every NotActions / DataActions / NotDataActions entry
/// is extra too.
pub fn compare(role: &Role, needs: &BTreeMap<String, Need>) -> Difference {
    let granted: BTreeMap<String, &str> = role
        .actions
        .iter()
        .map(|a| (a.to_ascii_lowercase(), a.as_str()))
        .collect();
    let missing = needs
        .iter()
        .filter(|(key, _)| !granted.contains_key(*key))
        .map(|(_, need)| need.clone())
        .collect();
    let mut extra: Vec<String> = granted
        .iter()
        .filter(|(key, _)| !needs.contains_key(*key))
        .map(|(_, action)| action.to_string())
        .collect();
    extra.extend(role.others.iter().map(|(key, a)| format!("{a} (in {key})")));
    Difference { missing, extra }
}
