//! The facts schema, derived from the facts structs: every path a rule may read, with its CEL kind
//! and its doc. `[]` marks a list element and `{}` a map value, as the rule loader spells them.
//!
//! The structs are declared through [`fact_structs!`], which writes each struct with its serde
//! derive and, from the same declaration, its place in the schema: names as serde writes them
//! (`#[serde(rename)]`), skipped fields left out, flattened fields inlined, and the field's doc
//! comment as the fact's doc. The macro rather than `schemars`: a JSON Schema keeps properties in
//! a `serde_json::Map`, sorted unless serde_json's `preserve_order` is on, and that feature would
//! reorder every JSON document the tool writes; the listing would lose the structs' order, and a
//! list of strings has no place for its elements' doc.

use std::collections::BTreeMap;
use std::fmt;

/// One fact path of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub path: String,
    pub kind: FactKind,
    pub doc: String,
}

/// The CEL type a fact has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FactKind {
    String,
    Bool,
    Int,
    List,
    Map,
}

impl FactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::String => "string",
            FactKind::Bool => "bool",
            FactKind::Int => "int",
            FactKind::List => "list",
            FactKind::Map => "map",
        }
    }
}

impl fmt::Display for FactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Every fact of `T` and below it, `T` itself at `root`, in declaration order.
pub fn describe<T: FactShape>(root: &str) -> Vec<Fact> {
    let mut out = Vec::new();
    T::describe(root, &T::own_doc().unwrap_or_default(), None, &mut out);
    out
}

/// A type that can stand in the facts tree.
pub trait FactShape: Sized {
    /// Records the fact at `path` and every fact below it. `each` documents the elements of a
    /// list or the values of a map, where the element type has no doc of its own.
    fn describe(path: &str, doc: &str, each: Option<&str>, out: &mut Vec<Fact>);

    /// The type's own doc comment: a fact struct's, used for the elements of a list of them.
    fn own_doc() -> Option<String> {
        None
    }

    /// A value with every optional fact present and one element in every list and map, so that
    /// its serialised form shows every path of the schema.
    #[cfg(test)]
    fn sample() -> Self;
}

/// A fact struct's fields, which `#[serde(flatten)]` puts at the level of the struct holding it.
pub trait FactFields {
    fn fields(path: &str, out: &mut Vec<Fact>);
}

/// Records one fact.
pub fn record(path: &str, kind: FactKind, doc: &str, out: &mut Vec<Fact>) {
    out.push(Fact {
        path: path.to_string(),
        kind,
        doc: doc.to_string(),
    });
}

/// A list or map, then its elements under `path` + `marker` (`[]` or `{}`).
fn container<T: FactShape>(
    path: &str,
    kind: FactKind,
    marker: &str,
    doc: &str,
    each: Option<&str>,
    out: &mut Vec<Fact>,
) {
    record(path, kind, doc, out);
    let each = each.map(str::to_string).or_else(T::own_doc);
    T::describe(
        &format!("{path}{marker}"),
        &each.unwrap_or_default(),
        None,
        out,
    );
}

macro_rules! scalar_facts {
    ($($ty:ty => $kind:ident, $sample:expr;)*) => {$(
        impl FactShape for $ty {
            fn describe(path: &str, doc: &str, _: Option<&str>, out: &mut Vec<Fact>) {
                record(path, FactKind::$kind, doc, out);
            }

            #[cfg(test)]
            fn sample() -> Self {
                $sample
            }
        }
    )*};
}

scalar_facts! {
    String => String, "text".to_string();
    bool => Bool, true;
    i64 => Int, 1;
}

impl<T: FactShape> FactShape for Option<T> {
    fn describe(path: &str, doc: &str, each: Option<&str>, out: &mut Vec<Fact>) {
        T::describe(path, doc, each, out);
    }

    #[cfg(test)]
    fn sample() -> Self {
        Some(T::sample())
    }
}

impl<T: FactFields> FactFields for Option<T> {
    fn fields(path: &str, out: &mut Vec<Fact>) {
        T::fields(path, out);
    }
}

impl<T: FactShape> FactShape for Vec<T> {
    fn describe(path: &str, doc: &str, each: Option<&str>, out: &mut Vec<Fact>) {
        container::<T>(path, FactKind::List, "[]", doc, each, out);
    }

    #[cfg(test)]
    fn sample() -> Self {
        vec![T::sample()]
    }
}

impl<T: FactShape> FactShape for BTreeMap<String, T> {
    fn describe(path: &str, doc: &str, each: Option<&str>, out: &mut Vec<Fact>) {
        container::<T>(path, FactKind::Map, "{}", doc, each, out);
    }

    /// The key is the schema's own spelling of a map value, so a walk of the serialised sample
    /// can tell a map from a struct.
    #[cfg(test)]
    fn sample() -> Self {
        BTreeMap::from([("{}".to_string(), T::sample())])
    }
}

/// A doc comment's lines as one line of text.
pub fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Declares fact structs: `pub struct`s whose fields are all public (so written without `pub`),
/// each field with its doc comment (the fact's doc), then optionally `#[each = "…"]` (the doc of
/// a list's elements or a map's values, where those are not fact structs with a doc of their
/// own), then at most one serde attribute: `rename = "…"`, `skip`, `skip_serializing`,
/// `skip_serializing_if = "…"` or `flatten`.
/// An `Option` field is left out of the serialised value when `None`: a fact that could not be
/// established is absent, so a rule reading it cannot evaluate and is `unknown`.
macro_rules! fact_structs {
    () => {};
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident { $($fields:tt)* }
        $($rest:tt)*
    ) => {
        $crate::resolve::fact_schema::fact_structs!(@field [$($doc)*] $name [] [] $($fields)*);
        $crate::resolve::fact_schema::fact_structs!($($rest)*);
    };
    (@field $docs:tt $name:ident [$($def:tt)*] [$($spec:tt)*]
        $(#[doc = $fdoc:literal])*
        $(#[each = $each:literal])?
        $(#[serde($($serde:tt)*)])?
        $field:ident : Option<$inner:ty>,
        $($rest:tt)*
    ) => {
        $crate::resolve::fact_schema::fact_structs!(@field $docs $name
            [$($def)*
                $(#[doc = $fdoc])*
                #[serde(skip_serializing_if = "Option::is_none")]
                $(#[serde($($serde)*)])?
                pub $field: Option<$inner>,
            ]
            [$($spec)* { $field (Option<$inner>) [$($fdoc)*] [$($each)?] [$($($serde)*)?] }]
            $($rest)*
        );
    };
    (@field $docs:tt $name:ident [$($def:tt)*] [$($spec:tt)*]
        $(#[doc = $fdoc:literal])*
        $(#[each = $each:literal])?
        $(#[serde($($serde:tt)*)])?
        $field:ident : $ty:ty,
        $($rest:tt)*
    ) => {
        $crate::resolve::fact_schema::fact_structs!(@field $docs $name
            [$($def)* $(#[doc = $fdoc])* $(#[serde($($serde)*)])? pub $field: $ty,]
            [$($spec)* { $field ($ty) [$($fdoc)*] [$($each)?] [$($($serde)*)?] }]
            $($rest)*
        );
    };
    (@field [$($doc:literal)*] $name:ident [$($def:tt)*] [$({ $field:ident $($spec:tt)* })*]) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Default, ::serde::Serialize)]
        pub struct $name { $($def)* }

        impl $crate::resolve::fact_schema::FactShape for $name {
            fn describe(
                path: &str,
                doc: &str,
                _each: Option<&str>,
                out: &mut Vec<$crate::resolve::fact_schema::Fact>,
            ) {
                let map = $crate::resolve::fact_schema::FactKind::Map;
                $crate::resolve::fact_schema::record(path, map, doc, out);
                <Self as $crate::resolve::fact_schema::FactFields>::fields(path, out);
            }

            fn own_doc() -> Option<String> {
                Some($crate::resolve::fact_schema::doc_text(&[$($doc),*]))
            }

            #[cfg(test)]
            fn sample() -> Self {
                Self {
                    $($field: $crate::resolve::fact_schema::fact_structs!(@sample $($spec)*),)*
                }
            }
        }

        impl $crate::resolve::fact_schema::FactFields for $name {
            fn fields(path: &str, out: &mut Vec<$crate::resolve::fact_schema::Fact>) {
                $($crate::resolve::fact_schema::fact_structs!(@describe path out $field $($spec)*);)*
            }
        }
    };
    (@sample ($ty:ty) $docs:tt $each:tt [skip]) => { Default::default() };
    (@sample ($ty:ty) $docs:tt $each:tt [skip_serializing]) => { Default::default() };
    (@sample ($ty:ty) $docs:tt $each:tt $serde:tt) => {
        <$ty as $crate::resolve::fact_schema::FactShape>::sample()
    };
    (@describe $path:ident $out:ident $field:ident ($ty:ty) $docs:tt $each:tt [skip]) => {};
    (@describe $path:ident $out:ident $field:ident ($ty:ty) $docs:tt $each:tt [skip_serializing]) => {};
    (@describe $path:ident $out:ident $field:ident ($ty:ty) $docs:tt $each:tt [flatten]) => {
        <$ty as $crate::resolve::fact_schema::FactFields>::fields($path, $out)
    };
    (@describe $path:ident $out:ident $field:ident ($ty:ty) $docs:tt $each:tt [rename = $name:literal]) => {
        $crate::resolve::fact_schema::fact_structs!(@child $path $out $name ($ty) $docs $each)
    };
    (@describe $path:ident $out:ident $field:ident ($ty:ty) $docs:tt $each:tt [$(skip_serializing_if = $when:literal)?]) => {
        $crate::resolve::fact_schema::fact_structs!(@child $path $out (stringify!($field)) ($ty) $docs $each)
    };
    (@describe $path:ident $out:ident $field:ident ($ty:ty) $docs:tt $each:tt [$($serde:tt)*]) => {
        compile_error!(concat!(
            "the facts schema follows #[serde(rename)], #[serde(skip)], #[serde(skip_serializing)], ",
            "#[serde(skip_serializing_if)] and #[serde(flatten)] only, not #[serde(",
            stringify!($($serde)*),
            ")]"
        ))
    };
    (@child $path:ident $out:ident $name:tt ($ty:ty) [$($doc:literal)*] [$($each:literal)?]) => {
        <$ty as $crate::resolve::fact_schema::FactShape>::describe(
            &format!("{}.{}", $path, $name),
            &$crate::resolve::fact_schema::doc_text(&[$($doc),*]),
            None$(.or(Some($each)))?,
            $out,
        )
    };
}

pub(crate) use fact_structs;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// The (path, kind) pairs of a serialised sample, spelt as the schema spells them.
    pub(crate) fn serialised_paths(value: &Value, path: &str) -> BTreeSet<(String, FactKind)> {
        let mut out = BTreeSet::new();
        walk(value, path, &mut out);
        out
    }

    fn walk(value: &Value, path: &str, out: &mut BTreeSet<(String, FactKind)>) {
        let kind = match value {
            Value::String(_) => FactKind::String,
            Value::Bool(_) => FactKind::Bool,
            Value::Number(_) => FactKind::Int,
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{path}[]"), out);
                }
                FactKind::List
            }
            Value::Object(fields) => {
                for (key, field) in fields {
                    match key.as_str() {
                        "{}" => walk(field, &format!("{path}{{}}"), out),
                        key => walk(field, &format!("{path}.{key}"), out),
                    }
                }
                FactKind::Map
            }
            Value::Null => panic!("{path} serialises as null: a fact is present or absent"),
        };
        out.insert((path.to_string(), kind));
    }

    pub(crate) fn schema_paths(schema: &[Fact]) -> BTreeSet<(String, FactKind)> {
        schema.iter().map(|f| (f.path.clone(), f.kind)).collect()
    }

    fact_structs! {
        /// A part.
        pub struct Part {
            /// Its label.
            label: String,
        }

        /// Fields lifted into the struct that flattens them.
        pub struct Lifted {
            /// A lifted number.
            lifted: Option<i64>,
        }

        /// A tiny tree with every shape the schema follows.
        pub struct Tiny {
            /// A plain field.
            plain: String,
            /// A field serde writes under another
            /// name.
            #[serde(rename = "type")]
            kind: bool,
            /// An optional part.
            part: Option<Part>,
            /// Parts.
            parts: Vec<Part>,
            /// Names.
            #[each = "A name."]
            names: Option<Vec<String>>,
            /// States by key.
            #[each = "A state."]
            states: BTreeMap<String, String>,
            /// Notes, written when there are some.
            #[each = "A note."]
            #[serde(skip_serializing_if = "Vec::is_empty")]
            notes: Vec<String>,
            #[serde(flatten)]
            lifted: Lifted,
            /// Read, never written.
            #[serde(skip_serializing)]
            input_only: String,
            /// Not a fact.
            #[serde(skip)]
            bookkeeping: Vec<String>,
        }
    }

    #[test]
    fn the_schema_follows_serde_names_skips_flattening_and_shapes() {
        let schema = describe::<Tiny>("tiny");
        let listed: Vec<String> = schema
            .iter()
            .map(|f| format!("{} {} {}", f.path, f.kind, f.doc))
            .collect();
        assert_eq!(
            listed,
            [
                "tiny map A tiny tree with every shape the schema follows.",
                "tiny.plain string A plain field.",
                "tiny.type bool A field serde writes under another name.",
                "tiny.part map An optional part.",
                "tiny.part.label string Its label.",
                "tiny.parts list Parts.",
                "tiny.parts[] map A part.",
                "tiny.parts[].label string Its label.",
                "tiny.names list Names.",
                "tiny.names[] string A name.",
                "tiny.states map States by key.",
                "tiny.states{} string A state.",
                "tiny.notes list Notes, written when there are some.",
                "tiny.notes[] string A note.",
                "tiny.lifted int A lifted number.",
            ]
        );
        let sample = Tiny::sample();
        assert!(
            sample.bookkeeping.is_empty() && sample.input_only.is_empty(),
            "a field never serialised keeps its default: its type need not be a fact"
        );
        let sample = serde_json::to_value(sample).unwrap();
        assert_eq!(
            serialised_paths(&sample, "tiny"),
            schema_paths(&schema),
            "the schema lists exactly what serde writes"
        );
    }

    #[test]
    fn absent_optional_facts_and_skipped_fields_are_left_out() {
        let tiny = Tiny {
            bookkeeping: vec!["not a fact".into()],
            ..Tiny::default()
        };
        let value = serde_json::to_value(tiny).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"plain": "", "type": false, "parts": [], "states": {}})
        );
    }
}
