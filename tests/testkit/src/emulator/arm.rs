//! ARM read routes: resolving a lower-cased path against the store, paging, Resource Graph and
//! the one Microsoft Graph query the project needs. Everything here is synchronous and pure over
//! the store so it can be unit-tested without a server.

use super::store::{Entry, Store};
use super::ArmError;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const VM_TYPE: &str = "microsoft.compute/virtualmachines";
const VM_EXTENSION_TYPE: &str = "microsoft.compute/virtualmachines/extensions";
const VAULT_TYPE: &str = "microsoft.recoveryservices/vaults";
const PROTECTED_ITEM_TYPE: &str =
    "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems";
const DNS_ZONE_TYPE: &str = "microsoft.network/privatednszones";
const RESOURCE_GROUP_TYPE: &str = "microsoft.resources/resourcegroups";
const SERVICE_TAGS_TYPE: &str = "microsoft.network/servicetags";
const SUBSCRIPTION_TYPE: &str = "microsoft.resources/subscriptions";

/// The query string of a request: the raw text (to rebuild nextLinks) and decoded pairs with
/// lower-cased keys (ARM matches parameter names case-insensitively).
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pub raw: String,
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: &str) -> Query {
        let pairs = url::form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
            .collect();
        Query {
            raw: raw.to_owned(),
            pairs,
        }
    }

    pub(crate) fn get(&self, key_lower: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key_lower)
            .map(|(_, v)| v.as_str())
    }
}

/// A response body, serialised. Lists are written straight from the store's values: copying a
/// big fleet's pages into new JSON trees first cost the emulator more CPU than the collector it
/// serves spends decoding them, on the same cores.
pub(crate) struct Body(pub Vec<u8>);

impl From<Value> for Body {
    fn from(value: Value) -> Body {
        Body(serde_json::to_vec(&value).unwrap_or_default())
    }
}

/// A resource serialised once, in the forms list pages serve: the copy of a big fleet's JSON
/// for every page would otherwise be the emulator's largest cost, on the cores the collector
/// under test needs.
#[derive(Debug)]
pub(crate) struct Served {
    /// As a list returns it (a VM without its instance view).
    pub listed: Box<RawValue>,
    /// A VM in the `statusOnly=true` list: with the agent, and without it.
    pub status_only: Option<[Box<RawValue>; 2]>,
}

impl Served {
    pub(crate) fn of(type_lower: &str, value: &Value) -> Served {
        if type_lower == VM_TYPE {
            Served {
                listed: raw(&without_instance_view(value)),
                status_only: Some([
                    raw(&status_only_vm(value, true)),
                    raw(&status_only_vm(value, false)),
                ]),
            }
        } else {
            Served {
                listed: raw(value),
                status_only: None,
            }
        }
    }
}

fn raw(value: &Value) -> Box<RawValue> {
    // Serialising a `Value` cannot fail (its map keys are strings).
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// What a list or get needs beyond the path.
pub(crate) struct Ctx<'a> {
    pub store: &'a Store,
    pub base_url: &'a str,
    /// The base of every page's nextLink instead of `base_url`, on every page (see
    /// `EmulatorConfig::foreign_next_links`).
    pub foreign_next_link: Option<&'a str>,
    pub raw_path: &'a str,
    pub query: &'a Query,
    pub page_size: usize,
    pub status_only_includes_agent: bool,
}

/// Answers `GET` on an ARM path given as lower-cased, percent-decoded segments.
pub(crate) fn get(ctx: &Ctx, segs: &[&str]) -> Result<Body, ArmError> {
    let store = ctx.store;
    if segs.first() == Some(&"subscriptions") {
        if let Some(sub) = segs.get(1) {
            if !store.known_subscriptions.contains(*sub) {
                return Err(ArmError::new(
                    404,
                    "SubscriptionNotFound",
                    format!("The subscription '{sub}' could not be found."),
                ));
            }
        }
    }
    match segs {
        ["subscriptions"] => return paged_as_is(ctx, store.subscriptions.iter().collect()),
        ["subscriptions", sub, "resourcegroups"] => {
            let prefix = format!("/subscriptions/{sub}/");
            let items = store.of_type(RESOURCE_GROUP_TYPE, &prefix).map(as_held);
            return paged_raw(ctx, items.collect());
        }
        ["subscriptions", sub, "providers"] => {
            let prefix = format!("/subscriptions/{sub}/providers/");
            return paged_as_is(ctx, store.providers_under(&prefix).collect());
        }
        ["subscriptions", sub, "providers", "microsoft.network", "locations", loc, "servicetags"] =>
        {
            return service_tags(store, sub, loc).map(Body::from);
        }
        ["subscriptions", sub, "providers", "microsoft.authorization", kind @ ("policyassignments" | "policyexemptions")] =>
        {
            return inherited_policy_list(ctx, sub, &format!("microsoft.authorization/{kind}"));
        }
        _ => {}
    }
    let path = join(segs);
    if let Some((type_, value)) = store.get(&path) {
        return Ok(single(ctx, type_, value).into());
    }
    let n = segs.len();
    if n >= 5 && segs[n - 3] == "providers" {
        return type_list(
            ctx,
            &segs[..n - 3],
            &format!("{}/{}", segs[n - 2], segs[n - 1]),
        );
    }
    if n >= 3 {
        let parent = join(&segs[..n - 1]);
        if let Some((parent_type, parent_value)) = store.get(&parent) {
            return child_list(ctx, &parent, parent_type, parent_value, segs[n - 1]);
        }
    }
    Err(not_found(ctx.raw_path))
}

fn join(segs: &[&str]) -> String {
    let mut s = String::new();
    for seg in segs {
        s.push('/');
        s.push_str(seg);
    }
    s
}

pub(crate) fn not_found(raw_path: &str) -> ArmError {
    ArmError::new(
        404,
        "ResourceNotFound",
        format!(
            "The Resource '{raw_path}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// A single `GET {id}`. A VM is answered without its instance view unless the client asked for
/// `$expand=instanceView`, as ARM does; the snapshot keeps the two together.
fn single(ctx: &Ctx, type_: &str, value: &Value) -> Value {
    let expand = ctx
        .query
        .get("$expand")
        .is_some_and(|e| e.to_lowercase().contains("instanceview"));
    if type_ == VM_TYPE && !expand {
        without_instance_view(value)
    } else {
        value.clone()
    }
}

/// `GET {scope}/providers/{Namespace}/{type}`: every resource of that type at or below the scope.
fn type_list(ctx: &Ctx, scope: &[&str], type_: &str) -> Result<Body, ArmError> {
    let store = ctx.store;
    let scope_path = join(scope);
    if let ["subscriptions", sub, "resourcegroups", rg] = scope {
        // ARM refuses a list under a resource group that does not exist; only claim that when the
        // snapshot does hold resource groups for the subscription.
        let has_groups = store
            .of_type(RESOURCE_GROUP_TYPE, &format!("/subscriptions/{sub}/"))
            .next()
            .is_some();
        if has_groups && store.get(&scope_path).is_none() {
            return Err(ArmError::new(
                404,
                "ResourceGroupNotFound",
                format!("Resource group '{rg}' could not be found."),
            ));
        }
    }
    let prefix = format!("{scope_path}/");
    let entries: Vec<&Entry> = store.of_type(type_, &prefix).collect();
    let status_only = type_ == VM_TYPE
        && ctx
            .query
            .get("statusonly")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let form = usize::from(!ctx.status_only_includes_agent);
    let items: Vec<&RawValue> = entries
        .iter()
        .map(|e| match (&e.served.status_only, status_only) {
            (Some(forms), true) => &*forms[form],
            _ => &*e.served.listed,
        })
        .collect();
    paged_raw(ctx, items)
}

/// `GET /subscriptions/{s}/providers/Microsoft.Authorization/policy{Assignments,Exemptions}`,
/// unfiltered: ARM answers with those of every management group above the subscription (from
/// its Resource Graph container row), nearest first, then those at and inside the subscription.
fn inherited_policy_list(ctx: &Ctx, sub: &str, type_: &str) -> Result<Body, ArmError> {
    let store = ctx.store;
    let groups: Vec<String> = store
        .management_groups_of(sub)
        .into_iter()
        .map(|mg| format!("/providers/microsoft.management/managementgroups/{mg}/"))
        .collect();
    let own = format!("/subscriptions/{sub}/");
    let items: Vec<&RawValue> = groups
        .iter()
        .chain(std::iter::once(&own))
        .flat_map(|prefix| store.of_type(type_, prefix))
        .map(|e| &*e.served.listed)
        .collect();
    paged_raw(ctx, items)
}

/// `GET {parentId}/{child}`.
fn child_list(
    ctx: &Ctx,
    parent: &str,
    parent_type: &str,
    parent_value: &Value,
    child: &str,
) -> Result<Body, ArmError> {
    let store = ctx.store;
    match (parent_type, child) {
        (VM_TYPE, "instanceview") => Ok(parent_value
            .pointer("/properties/instanceView")
            .cloned()
            // Without a captured instance view the client must see no agent facts at all,
            // rather than an empty status list that would read as "agent reported nothing".
            .unwrap_or_else(|| json!({}))
            .into()),
        (VM_TYPE, "extensions") => Ok(vm_extensions(store, parent, parent_value).into()),
        (VAULT_TYPE, "backupprotecteditems") => {
            let prefix = format!("{parent}/");
            let items = store.of_type(PROTECTED_ITEM_TYPE, &prefix).map(as_held);
            paged_raw(ctx, items.collect())
        }
        (DNS_ZONE_TYPE, "all") => {
            let prefix = format!("{parent}/");
            let record_set = |t: &str| {
                t.strip_prefix("microsoft.network/privatednszones/")
                    .is_some_and(|rest| !rest.contains('/') && rest != "virtualnetworklinks")
            };
            let items = store.matching(&prefix, record_set);
            paged_raw(ctx, items.iter().map(|e| as_held(e)).collect())
        }
        // backupJobs takes a `$filter` (startTime/endTime/status...); the emulator ignores it and
        // returns every job of the vault, which is a superset of any filtered answer.
        _ => {
            let type_ = format!("{parent_type}/{child}");
            let prefix = format!("{parent}/{child}/");
            let items = store
                .children(parent, &type_)
                .filter(|e| e.id.starts_with(&prefix))
                .map(as_held);
            paged_raw(ctx, items.collect())
        }
    }
}

/// `GET {vmId}/extensions` is not paged in ARM: one `{"value": [...]}`.
fn vm_extensions(store: &Store, vm_id: &str, vm: &Value) -> Value {
    let prefix = format!("{vm_id}/extensions/");
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let held = store
        .children(vm_id, VM_EXTENSION_TYPE)
        .filter(|e| e.id.starts_with(&prefix));
    for e in held {
        seen.insert(e.id.clone());
        out.push(e.value.clone());
    }
    let nested = vm.get("resources").and_then(Value::as_array);
    for ext in nested.into_iter().flatten() {
        let id = ext.get("id").and_then(Value::as_str).map(str::to_lowercase);
        if id.is_some_and(|id| !seen.insert(id)) {
            continue;
        }
        out.push(ext.clone());
    }
    json!({ "value": out })
}

fn service_tags(store: &Store, sub: &str, loc: &str) -> Result<Value, ArmError> {
    let docs: Vec<&Entry> = store.of_type(SERVICE_TAGS_TYPE, "/").collect();
    let in_sub = format!("/subscriptions/{sub}/");
    let location_matches = |e: &&&Entry| {
        e.value
            .get("location")
            .and_then(Value::as_str)
            .is_some_and(|l| l.eq_ignore_ascii_case(loc))
    };
    let doc = match docs.as_slice() {
        [] => None,
        [only] => Some(*only),
        many => many
            .iter()
            .find(location_matches)
            .or_else(|| many.iter().find(|e| e.id.starts_with(&in_sub)))
            .or(many.first())
            .copied(),
    };
    doc.map(|e| e.value.clone()).ok_or_else(|| {
        ArmError::new(
            404,
            "ResourceNotFound",
            format!("No service tags are held for location '{loc}'."),
        )
    })
}

pub(crate) fn without_instance_view(vm: &Value) -> Value {
    // Copies all but the instance view, rather than copying it and then dropping it: it is most
    // of a running VM's JSON.
    let Some(object) = vm.as_object() else {
        return vm.clone();
    };
    let copy = object
        .iter()
        .map(|(key, value)| {
            let value = match (key.as_str(), value.as_object()) {
                ("properties", Some(properties)) => Value::Object(
                    properties
                        .iter()
                        .filter(|(name, _)| name.as_str() != "instanceView")
                        .map(|(name, v)| (name.clone(), v.clone()))
                        .collect(),
                ),
                _ => value.clone(),
            };
            (key.clone(), value)
        })
        .collect();
    Value::Object(copy)
}

/// The `statusOnly=true` shape: identity fields and a reduced instance view.
fn status_only_vm(vm: &Value, include_agent: bool) -> Value {
    let mut out = Map::new();
    for key in ["id", "name", "type", "location"] {
        if let Some(v) = vm.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    let mut view = Map::new();
    if let Some(iv) = vm
        .pointer("/properties/instanceView")
        .and_then(Value::as_object)
    {
        let keys: &[&str] = if include_agent {
            &["statuses", "vmAgent", "extensions", "disks"]
        } else {
            &["statuses"]
        };
        for key in keys {
            if let Some(v) = iv.get(*key) {
                view.insert((*key).to_owned(), v.clone());
            }
        }
    }
    out.insert("properties".to_owned(), json!({ "instanceView": view }));
    Value::Object(out)
}

/// One page: `[start, end)` of `total` items and the offset of the next page, if any.
pub(crate) fn page_bounds(
    total: usize,
    offset: usize,
    page_size: usize,
) -> (usize, usize, Option<usize>) {
    let page_size = page_size.max(1);
    let start = offset.min(total);
    let end = start.saturating_add(page_size).min(total);
    (start, end, (end < total).then_some(end))
}

/// The absolute nextLink: the request's own path and query with `$skiptoken` replaced.
pub(crate) fn next_link(base_url: &str, raw_path: &str, raw_query: &str, next: usize) -> String {
    let kept: Vec<&str> = raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .filter(|piece| {
            let key = piece.split('=').next().unwrap_or_default();
            let key: String = url::form_urlencoded::parse(key.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
            !key.eq_ignore_ascii_case("$skiptoken")
        })
        .collect();
    let mut link = format!("{base_url}{raw_path}?");
    for piece in kept {
        link.push_str(piece);
        link.push('&');
    }
    link.push_str(&format!("$skiptoken={next}"));
    link
}

/// A resource exactly as the snapshot holds it, from the bytes serialised at load: for every type
/// but VMs (whose lists drop the instance view) that is the form lists serve.
fn as_held(entry: &Entry) -> &RawValue {
    debug_assert_ne!(
        entry.type_, VM_TYPE,
        "a VM is served without its instance view"
    );
    &entry.served.listed
}

/// One page of resources already serialised.
fn paged_raw(ctx: &Ctx, items: Vec<&RawValue>) -> Result<Body, ArmError> {
    let (start, end, next_link) = page_range(ctx, items.len())?;
    Ok(page_body(&items[start..end], next_link))
}

/// One page of `items` as the store holds them, serialised from the store without a copy.
fn paged_as_is(ctx: &Ctx, items: Vec<&Value>) -> Result<Body, ArmError> {
    let (start, end, next_link) = page_range(ctx, items.len())?;
    Ok(page_body(&items[start..end], next_link))
}

/// The slice of a list of `len` items the request's skip token asks for, and the link to the rest.
fn page_range(ctx: &Ctx, len: usize) -> Result<(usize, usize, Option<String>), ArmError> {
    let offset = match ctx.query.get("$skiptoken") {
        None => 0,
        Some(token) => token.trim().parse::<usize>().map_err(|_| {
            ArmError::new(
                400,
                "InvalidSkipToken",
                format!("The skip token '{token}' is not valid."),
            )
        })?,
    };
    let (start, end, next) = page_bounds(len, offset, ctx.page_size);
    let next_link = match ctx.foreign_next_link {
        Some(base) => Some(next_link(
            base,
            ctx.raw_path,
            &ctx.query.raw,
            next.unwrap_or(end),
        )),
        None => next.map(|next| next_link(ctx.base_url, ctx.raw_path, &ctx.query.raw, next)),
    };
    Ok((start, end, next_link))
}

/// `{"value": [...], "nextLink": "..."}`, ARM's list shape.
fn page_body<T: serde::Serialize>(items: &[T], next_link: Option<String>) -> Body {
    #[derive(serde::Serialize)]
    struct Page<'a, T> {
        value: &'a [T],
        #[serde(rename = "nextLink", skip_serializing_if = "Option::is_none")]
        next_link: Option<String>,
    }
    Body(
        serde_json::to_vec(&Page {
            value: items,
            next_link,
        })
        .unwrap_or_default(),
    )
}

/// `POST /providers/Microsoft.ResourceGraph/resources`.
pub(crate) fn resource_graph(
    store: &Store,
    page_size: usize,
    body: &[u8],
) -> Result<Body, ArmError> {
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        ArmError::new(
            400,
            "BadRequest",
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    let query = request
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ArmError::new(
                400,
                "BadRequest",
                "The request body has no 'query'.".to_owned(),
            )
        })?;
    if super::resource_graph::is_change_query(query) {
        return change_rows(store, page_size, &request, query);
    }
    let parsed = parse_graph_query(query).ok_or_else(|| {
        ArmError::new(
            400,
            "BadRequest",
            format!(
                "Unsupported query '{query}': the emulator answers only \"resources | where type =~ '<type>'\" and \"resourcecontainers | where type =~ 'microsoft.resources/subscriptions'\" (optionally followed by '| project ...')."
            ),
        )
    })?;
    let subs: Vec<String> = request
        .get("subscriptions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| format!("/subscriptions/{}/", s.to_lowercase()))
        .collect();
    let (offset, size) = graph_paging(&request, page_size)?;
    let in_scope = |id_lower: &str| {
        // A container row's id is the subscription itself: `/subscriptions/{s}` + '/'.
        let id = format!("{id_lower}/");
        subs.is_empty() || subs.iter().any(|s| id.starts_with(s.as_str()))
    };
    // Rows are written from the bytes serialised at load: Resource Graph rows never carry a VM's
    // instance view, which is the form VM lists serve too. Container rows are few and served as
    // the snapshot holds them.
    let containers: Vec<Box<RawValue>>;
    let matches: Vec<&RawValue> = match parsed {
        GraphQuery::Resources(type_) => store
            .of_type(&type_, "/")
            .filter(|e| in_scope(&e.id))
            .map(|e| &*e.served.listed)
            .collect(),
        GraphQuery::SubscriptionContainers => {
            containers = store
                .containers
                .iter()
                .filter(|row| {
                    let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
                    in_scope(&id.to_lowercase())
                })
                .map(raw)
                .collect();
            containers.iter().map(|row| &**row).collect()
        }
    };
    let (start, end, next) = page_bounds(matches.len(), offset, size);
    let data = &matches[start..end];
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        #[serde(rename = "totalRecords")]
        total_records: usize,
        count: usize,
        data: &'a [&'a RawValue],
        #[serde(rename = "resultTruncated")]
        result_truncated: &'static str,
        facets: [(); 0],
        // The REST API (and the SDK's QueryResponse) name this field `$skipToken`.
        #[serde(rename = "$skipToken", skip_serializing_if = "Option::is_none")]
        skip_token: Option<String>,
    }
    Ok(Body(
        serde_json::to_vec(&Answer {
            total_records: matches.len(),
            count: data.len(),
            data,
            result_truncated: "false",
            facets: [],
            skip_token: next.map(graph_skip_token),
        })
        .unwrap_or_default(),
    ))
}

/// A `resourcechanges` query, with the request's scope and paging (`resource_graph`).
fn change_rows(
    store: &Store,
    page_size: usize,
    request: &Value,
    query: &str,
) -> Result<Body, ArmError> {
    let subscriptions: Vec<String> = request
        .get("subscriptions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_lowercase)
        .collect();
    let (offset, top) = graph_paging(request, page_size)?;
    super::resource_graph::answer(store, query, &subscriptions, offset, top, graph_skip_token)
}

/// Where a Resource Graph page starts (`$skipToken`, else `$skip`) and how many rows it holds
/// (`$top`, at most the emulator's page size).
fn graph_paging(request: &Value, page_size: usize) -> Result<(usize, usize), ArmError> {
    let options = request.get("options");
    let option = |name: &str| options.and_then(|o| o.get(name));
    let offset = match option("$skipToken").and_then(Value::as_str) {
        Some(token) => parse_graph_skip_token(token).ok_or_else(|| {
            ArmError::new(
                400,
                "BadRequest",
                format!("The $skipToken '{token}' is not valid."),
            )
        })?,
        None => option("$skip").and_then(Value::as_u64).unwrap_or(0) as usize,
    };
    let top = option("$top").and_then(Value::as_u64).map(|t| t as usize);
    Ok((offset, top.map_or(page_size, |t| t.min(page_size))))
}

fn graph_skip_token(offset: usize) -> String {
    format!("emu-skip-{offset}")
}

fn parse_graph_skip_token(token: &str) -> Option<usize> {
    token.strip_prefix("emu-skip-")?.parse().ok()
}

/// The Resource Graph queries the emulator answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphQuery {
    /// `resources | where type =~ '<type>'`, with the lower-cased type.
    Resources(String),
    /// `resourcecontainers | where type =~ 'microsoft.resources/subscriptions'`: the snapshot
    /// holds no other containers (resource groups, management groups) in Resource Graph's shape.
    SubscriptionContainers,
}

/// Parses `resources | where type =~ '<type>' [| project ...]`, and the same over
/// `resourcecontainers` for the subscriptions' rows.
pub(crate) fn parse_graph_query(query: &str) -> Option<GraphQuery> {
    let mut parts = query.split('|').map(str::trim);
    let table = parts.next()?;
    let containers = if table.eq_ignore_ascii_case("resources") {
        false
    } else if table.eq_ignore_ascii_case("resourcecontainers") {
        true
    } else {
        return None;
    };
    let clause = parts.next()?;
    let rest = strip_keyword(clause, "where")?;
    let rest = strip_keyword(rest, "type")?;
    let rest = rest.strip_prefix("=~")?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    let close = inner.find(quote)?;
    if !inner[close + 1..].trim().is_empty() || close == 0 {
        return None;
    }
    let type_ = inner[..close].trim().to_lowercase();
    for part in parts {
        strip_keyword(part, "project")?;
    }
    match (containers, type_ == SUBSCRIPTION_TYPE) {
        (false, _) => Some(GraphQuery::Resources(type_)),
        (true, true) => Some(GraphQuery::SubscriptionContainers),
        (true, false) => None,
    }
}

/// `keyword` at the start of `s` (case-insensitive) followed by whitespace, an operator or the
/// end; returns the rest with leading whitespace removed.
fn strip_keyword<'a>(s: &'a str, keyword: &str) -> Option<&'a str> {
    let head = s.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = &s[keyword.len()..];
    match rest.chars().next() {
        None => Some(rest),
        Some(c) if c.is_whitespace() || c == '=' => Some(rest.trim_start()),
        Some(_) => None,
    }
}

/// `GET /v1.0/servicePrincipals[?$filter=appId eq '<appId>']`.
pub(crate) fn service_principals(store: &Store, query: &Query) -> Result<Value, ArmError> {
    let wanted = match query.get("$filter") {
        None => None,
        Some(filter) => Some(parse_app_id_filter(filter).ok_or_else(|| {
            ArmError::new(
                400,
                "Request_UnsupportedQuery",
                format!("Unsupported filter '{filter}': the emulator answers only \"appId eq '<appId>'\"."),
            )
        })?),
    };
    let value: Vec<Value> = store
        .principals
        .iter()
        .filter(|p| match &wanted {
            None => true,
            Some(app) => p
                .get("appId")
                .and_then(Value::as_str)
                .is_some_and(|a| a.eq_ignore_ascii_case(app)),
        })
        .cloned()
        .collect();
    Ok(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals",
        "value": value,
    }))
}

fn parse_app_id_filter(filter: &str) -> Option<String> {
    let rest = strip_keyword(filter.trim(), "appId")?;
    let rest = strip_keyword(rest, "eq")?;
    let inner = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.is_empty()).then(|| inner.to_owned())
}

#[cfg(test)]
mod tests;

/// What a management group holds directly: child groups (by id) and subscriptions (by id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagementGroup {
    pub children: Vec<String>,
    pub subscriptions: Vec<String>,
}

/// The tree used when none is configured: the root group (named after the tenant) holds every
/// subscription but the last directly, its child `nested` holds the last.
pub(crate) fn default_management_groups(
    tenant: &str,
    store: &Store,
) -> BTreeMap<String, ManagementGroup> {
    let mut ids: Vec<String> = store
        .subscriptions
        .iter()
        .filter_map(|s| s.get("subscriptionId").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let nested = ids.pop().into_iter().collect();
    BTreeMap::from([
        (
            tenant.to_owned(),
            ManagementGroup {
                children: vec!["nested".to_owned()],
                subscriptions: ids,
            },
        ),
        (
            "nested".to_owned(),
            ManagementGroup {
                children: Vec::new(),
                subscriptions: nested,
            },
        ),
    ])
}

const MANAGEMENT_GROUP_TYPE: &str = "Microsoft.Management/managementGroups";

fn management_group_id(group: &str) -> String {
    format!("/providers/{MANAGEMENT_GROUP_TYPE}/{group}")
}

/// `GET /providers/Microsoft.Management/managementGroups/{group}/descendants`: every group and
/// subscription below `group` (lower-cased), breadth first, each naming its parent, paged. A
/// group id is matched case-insensitively, as ARM does; an unknown one is a 404.
pub(crate) fn descendants(
    ctx: &Ctx,
    tree: &BTreeMap<String, ManagementGroup>,
    group: &str,
) -> Result<Body, ArmError> {
    let find = |wanted: &str| tree.iter().find(|(id, _)| id.eq_ignore_ascii_case(wanted));
    let Some((root, _)) = find(group) else {
        return Err(ArmError::new(
            404,
            "NotFound",
            format!("'{}' not found", management_group_id(group)),
        ));
    };
    let display_name = |sub: &str| {
        ctx.store
            .subscriptions
            .iter()
            .find(|s| {
                s.get("subscriptionId")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.eq_ignore_ascii_case(sub))
            })
            .and_then(|s| s.get("displayName").and_then(Value::as_str))
            .unwrap_or(sub)
            .to_owned()
    };
    let mut items = Vec::new();
    // A configured tree may hold a cycle; each group is listed once.
    let mut seen = std::collections::HashSet::from([root.to_lowercase()]);
    let mut queue = std::collections::VecDeque::from([root.clone()]);
    while let Some(parent) = queue.pop_front() {
        let Some((parent, node)) = find(&parent) else {
            continue;
        };
        let parent_ref = json!({"id": management_group_id(parent)});
        for child in &node.children {
            if !seen.insert(child.to_lowercase()) {
                continue;
            }
            items.push(json!({
                "id": management_group_id(child),
                "type": MANAGEMENT_GROUP_TYPE,
                "name": child,
                "properties": {"displayName": child, "parent": parent_ref},
            }));
            queue.push_back(child.clone());
        }
        for sub in &node.subscriptions {
            items.push(json!({
                "id": format!("/subscriptions/{sub}"),
                "type": format!("{MANAGEMENT_GROUP_TYPE}/subscriptions"),
                "name": sub,
                "properties": {"displayName": display_name(sub), "parent": parent_ref},
            }));
        }
    }
    paged_as_is(ctx, items.iter().collect())
}
