//! Reading the JSON the binary prints and the fixtures hold, with failures that say what was
//! missing instead of a bare `unwrap` on `None`.

use serde_json::Value;
use std::path::Path;

/// A JSON file.
pub fn read(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The items of a JSON array, failing the test when `list` is not one.
pub fn items(list: &Value) -> &[Value] {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
}

/// The first item of the array `list` whose `key` is `value`.
pub fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    items(list)
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no item with {key} {value:?} in {list:#}"))
}

/// The VM named `name` in a scan or check document.
pub fn vm<'a>(document: &'a Value, name: &str) -> &'a Value {
    find(&document["vms"], "name", name)
}

/// The string `key` of every item of the array `list`.
pub fn strings<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    items(list).iter().map(|item| text(&item[key])).collect()
}

/// The strings `first` and `second` of every item of the array `list`, owned so they compare
/// with pairs built from literals.
pub fn pairs(list: &Value, first: &str, second: &str) -> Vec<(String, String)> {
    items(list)
        .iter()
        .map(|item| {
            (
                text(&item[first]).to_owned(),
                text(&item[second]).to_owned(),
            )
        })
        .collect()
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}
