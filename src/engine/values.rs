//! Facts as CEL values. The facts go through `serde_json::Value` once, and the CEL tree borrows
//! every string and key from it: the `cel` crate copies a list element for each step of a
//! comprehension (`exists`, `all`), and with borrowed strings that copy allocates only the
//! containers, not the text. Building through `cel::to_value` instead copied the whole tree twice
//! and every string on each copy; evaluation spent most of its time in the allocator.
//!
//! A fact a resolver marked unknown is hidden from the tree, whether the struct still holds a
//! value for it (an empty list, a `false`) or not: reading it is an error, and so is `has()` of
//! it, where a merely absent field would make `has()` a definite `false`. The `cel` crate treats
//! `false && error` as `false` and `true || error` as `true`, like cel-go, so a rule decided
//! without the fact still decides, and one that needs it is `unknown`.

use cel::common::traits::{Container, Indexer};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt, Type,
};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;
use serde_json::Value as Json;
use std::collections::HashMap;

/// A CEL value borrowing from `json`. Integers keep CEL's `int` type, as `cel::to_value` gave the
/// facts' `i64` fields; a number beyond `i64` becomes `uint` and a fraction a `double`.
pub fn borrowed_val(json: &Json) -> Box<dyn Val + '_> {
    match json {
        Json::Null => Box::new(CelNull),
        Json::Bool(b) => Box::new(CelBool::from(*b)),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Json::String(s) => Box::new(CelString::from(s.as_str())),
        Json::Array(items) => Box::new(CelList::from(
            items.iter().map(borrowed_val).collect::<Vec<_>>(),
        )),
        Json::Object(fields) => Box::new(CelMap::from(
            fields
                .iter()
                .map(|(key, value)| (CelMapKey::from(key.as_str()), borrowed_val(value)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

/// The facts a resolver could not establish, as a tree over the facts value. Built from the
/// recorded paths: `vm.network.private_dns`, `vm.disks[].ade` (every element),
/// `vm.disks[2].ade` (one element); a map's `{}` hides the map.
#[derive(Debug, Default)]
pub struct Hidden<'r> {
    /// Why this value is unknown, when it is.
    reason: Option<&'r str>,
    fields: HashMap<&'r str, Hidden<'r>>,
    each: Option<Box<Hidden<'r>>>,
    at: HashMap<usize, Hidden<'r>>,
}

impl<'r> Hidden<'r> {
    /// The tree of `unknown` (path → reason, paths starting at `vm`).
    pub fn of<'a>(unknown: impl IntoIterator<Item = (&'r str, &'r str)>) -> Hidden<'r> {
        let mut root = Hidden::default();
        for (path, reason) in unknown {
            root.insert(path, reason);
        }
        root
    }

    fn insert(&mut self, path: &'r str, reason: &'r str) {
        let mut node = self;
        // The first segment is the variable (`vm`).
        let mut segments = path.split('.').skip(1).peekable();
        while let Some(segment) = segments.next() {
            let (name, index) = match segment.find(['[', '{']) {
                Some(at) => (&segment[..at], Some(&segment[at..])),
                None => (segment, None),
            };
            node = node.fields.entry(name).or_default();
            let last = segments.peek().is_none();
            node = match index {
                // A whole list or map, or an element as a whole: hidden where it is named.
                Some(_) if last => break,
                Some("{}") => break,
                Some("[]") => node.each.get_or_insert_with(Box::default),
                Some(index) => match index.trim_start_matches('[').trim_end_matches(']').parse() {
                    Ok(i) => node.at.entry(i).or_default(),
                    Err(_) => break,
                },
                None => node,
            };
        }
        node.reason.get_or_insert(reason);
    }

    /// The first reason found in this subtree.
    fn any_reason(&self) -> Option<&'r str> {
        self.reason
            .or_else(|| self.fields.values().find_map(Hidden::any_reason))
            .or_else(|| self.each.as_ref().and_then(|e| e.any_reason()))
            .or_else(|| self.at.values().find_map(Hidden::any_reason))
    }
}

/// The facts value with what `hidden` names taken out (see the module doc).
pub fn facts_val<'a>(json: &'a Json, hidden: &'a Hidden<'a>) -> Box<dyn Val + 'a> {
    masked(json, &[hidden], false)
}

/// The facts value with what `hidden` names left out as if absent, for the message and the
/// resources of a failing rule: they name what is known, and `has()` guards there must see
/// an unknown fact as missing rather than stop the whole message.
pub fn known_val<'a>(json: &'a Json, hidden: &'a Hidden<'a>) -> Box<dyn Val + 'a> {
    masked(json, &[hidden], true)
}

/// `json` with every tree of `hidden` applied to it (an element of a list may be under the tree
/// of every element and of its own index).
fn masked<'a>(json: &'a Json, hidden: &[&'a Hidden<'a>], drop: bool) -> Box<dyn Val + 'a> {
    if hidden.is_empty() {
        return borrowed_val(json);
    }
    match json {
        Json::Array(items) => Box::new(CelList::from(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let under: Vec<&Hidden> = hidden
                        .iter()
                        .flat_map(|h| h.each.as_deref().into_iter().chain(h.at.get(&i)))
                        .collect();
                    masked(item, &under, drop)
                })
                .collect::<Vec<_>>(),
        )),
        Json::Object(fields) => {
            let mut unknown: Vec<(&'a str, &'a str)> = Vec::new();
            for (name, node) in hidden.iter().flat_map(|h| &h.fields) {
                let absent_below = !fields.contains_key(*name) && node.any_reason().is_some();
                // A fact under a parent that is absent hides the parent: `has()` of the parent
                // must not say "none".
                if let Some(reason) = node
                    .reason
                    .or(absent_below.then(|| node.any_reason()).flatten())
                {
                    if !unknown.iter().any(|(n, _)| n == name) {
                        unknown.push((name, reason));
                    }
                }
            }
            let known = CelMap::from(
                fields
                    .iter()
                    .filter(|(name, _)| !unknown.iter().any(|(n, _)| n == name))
                    .map(|(name, value)| {
                        let under: Vec<&Hidden> = hidden
                            .iter()
                            .filter_map(|h| h.fields.get(name.as_str()))
                            .collect();
                        (CelMapKey::from(name.as_str()), masked(value, &under, drop))
                    })
                    .collect::<HashMap<_, _>>(),
            );
            if unknown.is_empty() || drop {
                Box::new(known)
            } else {
                Box::new(PartlyUnknown { known, unknown })
            }
        }
        scalar => borrowed_val(scalar),
    }
}

/// A facts map some of whose fields are unknown: reading one, `has()` of one or `in` it fails
/// with the reason. Its size and keys are not given out: they would leave the unknown ones out.
#[derive(Debug, Clone)]
struct PartlyUnknown<'v> {
    known: CelMap<'v>,
    unknown: Vec<(&'v str, &'v str)>,
}

impl PartlyUnknown<'_> {
    fn unknown(&self, key: &dyn Val) -> Option<ExecutionError> {
        let name = key.downcast_ref::<CelString>()?.inner();
        let (_, reason) = self.unknown.iter().find(|(n, _)| *n == name)?;
        Some(ExecutionError::function_error(
            "fact",
            format!("`{name}` is unknown: {reason}"),
        ))
    }
}

impl Indexer for PartlyUnknown<'_> {
    fn get<'b, 'w>(&'b self, key: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        match self.unknown(key) {
            Some(error) => Err(error),
            None => Indexer::get(&self.known, key),
        }
    }

    fn steal<'w>(self: Box<Self>, key: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.get(key).map(CowVal::into_owned)
    }
}

impl Container for PartlyUnknown<'_> {
    fn contains(&self, key: &dyn Val) -> Result<bool, ExecutionError> {
        match self.unknown(key) {
            Some(error) => Err(error),
            None => Container::contains(&self.known, key),
        }
    }
}

impl Val for PartlyUnknown<'_> {
    fn get_type(&self) -> &Type {
        <CelMap as Val>::cel_type()
    }

    fn cel_type() -> &'static Type {
        <CelMap as Val>::cel_type()
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(self.clone())
    }
}
