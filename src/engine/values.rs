//! Facts as CEL values. The facts go through `serde_json::Value` once, and the CEL tree borrows
//! every string and key from it: the `cel` crate copies a list element for each step of a
//! comprehension (`exists`, `all`), and with borrowed strings that copy allocates only the
//! containers, not the text. Building through `cel::to_value` instead copied the whole tree twice
//! and every string on each copy; evaluation spent most of its time in the allocator.

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
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
