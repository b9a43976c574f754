//! The dependency rules of the source tree (docs/architecture.md: dependencies point down the
//! spine only), checked on the text of every file under `src/`: no two files may import each
//! other, directly or around a circle, and no module may import one above it in `LAYERS`.
//!
//! An import is any path a file names through `crate::…` or `super::…` (in `use` lines or inline),
//! and `backup_doctor::…` in the files of the binary. A module root re-exporting its own children
//! (`pub use eval::Engine` in `engine/mod.rs`) is not an import: the parent declares its children,
//! the children depend on it. Code under `#[cfg(test)]` is left out, because a test may reach
//! anywhere to build its fixtures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers of the crate, lowest first. A module may import modules of lower layers only; two
/// modules of one layer must not import each other. A new top-level module has to be placed here.
const LAYERS: &[&[&str]] = &[
    &["allocator", "parallel", "error", "auth"],
    &["inventory"],
    &["network", "source"],
    &["live", "outcome"],
    &["codes", "suppress", "store", "export"],
    &["resolve"],
    &["engine"],
    &["render"],
    &["commands"],
    &["serve"],
    &["main", "cli", "lib"],
];

/// The files of the binary, which name the library as `backup_doctor::`.
const BINARY: &[&str] = &["main.rs", "cli.rs"];

#[test]
fn the_source_tree_has_no_import_circle_and_no_upward_import() {
    let problems = check(&source_tree(), LAYERS);
    assert!(
        problems.is_empty(),
        "the module structure breaks its rules:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn violations_planted_in_the_source_tree_are_found() {
    let mut files = source_tree();
    let finding = files
        .get_mut("outcome/finding.rs")
        .expect("outcome/finding.rs exists");
    finding.push_str("\nuse crate::engine::eval::evaluate_vm;\n");
    let eval = files
        .get_mut("engine/eval.rs")
        .expect("engine/eval.rs exists");
    eval.push_str("\nuse crate::outcome::finding::Status;\n");
    let problems = check(&files, LAYERS);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("outcome/finding.rs imports engine/eval.rs")),
        "{problems:?}"
    );
    assert!(
        problems.contains(
            &"import circle: engine/eval.rs -> outcome/finding.rs -> engine/eval.rs".to_string()
        ),
        "{problems:?}"
    );
}

/// Every file under `src/` by its path relative to `src/`.
fn source_tree() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_tree(&root, &root, &mut files);
    assert!(
        files.contains_key("engine/mod.rs"),
        "the tree was not read from {}",
        root.display()
    );
    files
}

fn read_tree(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("src/ is readable").path();
        if path.is_dir() {
            read_tree(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("below src/");
            let name = relative.to_string_lossy().replace('\\', "/");
            files.insert(name, std::fs::read_to_string(&path).expect("readable"));
        }
    }
}

/// Every circle and every upward import in `files` (paths relative to `src/`, with their text).
fn check(files: &BTreeMap<String, String>, layers: &[&[&str]]) -> Vec<String> {
    let files: BTreeMap<&str, &str> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (path, text) in &files {
        let targets = graph.entry(path).or_default();
        for imported in imported_paths(path, text) {
            if let Some(target) = file_of(&imported, &files) {
                if target != *path {
                    targets.insert(target);
                }
            }
        }
    }
    let mut problems = Vec::new();
    let rank = |module: &str| layers.iter().position(|layer| layer.contains(&module));
    for (from, targets) in &graph {
        let from_module = top_module(from);
        let Some(from_rank) = rank(from_module) else {
            problems.push(format!("{from}: module `{from_module}` is in no layer"));
            continue;
        };
        for to in targets {
            let to_module = top_module(to);
            if to_module == from_module {
                continue;
            }
            match rank(to_module) {
                Some(to_rank) if to_rank < from_rank => {}
                Some(_) => problems.push(format!(
                    "{from} imports {to}: `{from_module}` may not import `{to_module}` (same or higher layer)"
                )),
                None => {}
            }
        }
    }
    for circle in circles(&graph) {
        problems.push(format!("import circle: {}", circle.join(" -> ")));
    }
    problems
}

/// `engine` for `engine/eval.rs`, `main` for `main.rs`.
fn top_module(path: &str) -> &str {
    let first = path.split('/').next().unwrap_or(path);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// The module path of a file: `engine/eval.rs` is `[engine, eval]`, `engine/mod.rs` `[engine]`.
fn module_path(file: &str) -> Vec<String> {
    let without = file.strip_suffix(".rs").unwrap_or(file);
    let mut parts: Vec<String> = without.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file that defines the longest prefix of an absolute module path.
fn file_of<'a>(path: &[String], files: &BTreeMap<&'a str, &str>) -> Option<&'a str> {
    (1..=path.len()).rev().find_map(|len| {
        let base = path[..len].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .iter()
            .find_map(|candidate| files.get_key_value(candidate.as_str()).map(|(k, _)| *k))
    })
}

/// The absolute paths (`[engine, eval, Finding]`) that a file names through `crate::`,
/// `super::` or, in the binary, `backup_doctor::`.
fn imported_paths(file: &str, text: &str) -> Vec<Vec<String>> {
    let code = without_tests(&without_comments_and_literals(text));
    let module = module_path(file);
    let in_binary = BINARY.contains(&file);
    let mut out = Vec::new();
    let (trees, rest) = split_uses(&code);
    let mut relative: Vec<Vec<String>> = trees.iter().flat_map(|t| expand_use_tree(t)).collect();
    relative.extend(inline_paths(&rest));
    for path in relative {
        let absolute = match path.first().map(String::as_str) {
            Some("crate" | "$crate") if !in_binary => path[1..].to_vec(),
            Some("backup_doctor") if in_binary => path[1..].to_vec(),
            Some("super") => {
                let mut base = module.clone();
                let mut rest = &path[..];
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                base
            }
            _ => continue,
        };
        out.push(absolute);
    }
    out
}

/// The text with comments, string and character literals blanked out (newlines kept).
fn without_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br#"…"#: no escapes; ends at a quote followed by as many hashes.
            let open = chars[i..].iter().position(|&c| c == '"').unwrap_or(0) + 1;
            out.extend(chars[i..i + open].iter().map(|&c| blank(c)));
            i += open;
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (0..hashes).all(|h| chars.get(i + 1 + h) == Some(&'#'));
                if closes {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                for k in 0..step {
                    if let Some(&ch) = chars.get(i + k) {
                        out.push(blank(ch));
                    }
                }
                i += step;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                out.extend(std::iter::repeat_n(' ', step));
                i += step;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At `r"`, `r#"`, `br"` or `br#"` not inside an identifier: the number of hashes.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some(hashes)
}

/// A quote opening `'x'` or `'\n'`, not a lifetime (`'a`, `'static`).
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// The code without the items marked `#[cfg(test)]` (test modules, test-only imports).
fn without_tests(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(start) = rest.find(MARK) {
        out.push_str(&rest[..start]);
        let item = &rest[start..];
        let end = item_end(item, MARK.len());
        out.extend(
            item[..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Where the item starting after the attribute ends: after its `;`, or after the `}` that
/// closes its first `{`.
fn item_end(item: &str, from: usize) -> usize {
    let mut depth = 0;
    for (offset, c) in item[from..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return from + offset + 1;
                }
            }
            ';' if depth == 0 => return from + offset + 1,
            _ => {}
        }
    }
    item.len()
}

/// The tree of each `use` declaration (the text between `use` and `;`), and the code without
/// the declarations.
fn split_uses(code: &str) -> (Vec<String>, String) {
    let mut trees = Vec::new();
    let mut rest = String::with_capacity(code.len());
    let bytes = code.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = code[at..].find("use") {
        let start = at + found;
        at = start + 3;
        let before_ok = start == 0 || !is_ident_byte(bytes[start - 1]);
        let after_ok = bytes
            .get(start + 3)
            .is_some_and(|b| b.is_ascii_whitespace());
        if let (true, true, Some(end)) = (before_ok, after_ok, code[start..].find(';')) {
            trees.push(code[start + 3..start + end].to_string());
            rest.push_str(&code[copied..start]);
            copied = start + end;
            at = copied;
        }
    }
    rest.push_str(&code[copied..]);
    (trees, rest)
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// `crate::{a::b, c as d}` as `[crate, a, b]` and `[crate, c]`.
fn expand_use_tree(tree: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(tree);
    let mut out = Vec::new();
    expand(&tokens, &mut 0, &[], &mut out);
    out
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '$' {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(word);
        } else if c == ':' {
            chars.next();
            if chars.peek() == Some(&':') {
                chars.next();
            }
            tokens.push("::".into());
        } else {
            tokens.push(c.to_string());
            chars.next();
        }
    }
    tokens
}

/// One use tree from `tokens[*at]`, prefixed with `prefix`; stops after its last token.
fn expand(tokens: &[String], at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    while let Some(token) = tokens.get(*at) {
        match token.as_str() {
            "::" => *at += 1,
            "{" => {
                *at += 1;
                while tokens.get(*at).is_some_and(|t| t != "}") {
                    expand(tokens, at, &path, out);
                    if tokens.get(*at).is_some_and(|t| t == ",") {
                        *at += 1;
                    }
                }
                *at += 1;
                return;
            }
            "," | "}" => break,
            "as" => *at += 2,
            "*" | "self" => *at += 1,
            word => {
                path.push(word.to_string());
                *at += 1;
            }
        }
    }
    out.push(path);
}

/// Paths written inline in code: `crate::engine::toml_error(…)`, `super::values::borrowed_val`.
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let starts = matches!(
            tokens[i].as_str(),
            "crate" | "$crate" | "super" | "backup_doctor"
        ) && tokens.get(i + 1).is_some_and(|t| t == "::")
            && (i == 0 || tokens[i - 1] != "::");
        if !starts {
            i += 1;
            continue;
        }
        let mut path = vec![tokens[i].clone()];
        i += 1;
        while tokens.get(i).is_some_and(|t| t == "::")
            && tokens
                .get(i + 1)
                .is_some_and(|t| t.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            path.push(tokens[i + 1].clone());
            i += 2;
        }
        out.push(path);
    }
    out
}

/// Each set of files that import one another around a circle, as one path through it.
fn circles<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut reported: BTreeSet<&str> = BTreeSet::new();
    for &start in graph.keys() {
        if reported.contains(start) {
            continue;
        }
        if let Some(mut circle) = path_back(graph, start) {
            reported.extend(circle.iter().copied());
            circle.push(start);
            out.push(circle);
        }
    }
    out
}

/// A shortest path from `start` through its imports back to `start`, if there is one.
fn path_back<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    start: &'a str,
) -> Option<Vec<&'a str>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in graph.get(node).into_iter().flatten() {
            if next == start {
                let mut path = vec![node];
                while let Some(&previous) = came_from.get(path.last().expect("not empty")) {
                    path.push(previous);
                }
                path.reverse();
                return Some(path);
            }
            if !came_from.contains_key(next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod checker {
    use super::*;

    const TINY_LAYERS: &[&[&str]] = &[&["outcome"], &["engine"], &["render"], &["main", "lib"]];

    fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect()
    }

    fn clean() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "lib.rs",
                "pub mod engine;\npub mod outcome;\npub mod render;\n",
            ),
            ("outcome/mod.rs", "pub struct Finding;\n"),
            (
                "engine/mod.rs",
                "pub mod eval;\npub use eval::evaluate;\nuse crate::outcome::Finding;\n",
            ),
            (
                "engine/eval.rs",
                "use super::super::outcome::{self, Finding as F};\npub fn evaluate() {}\n",
            ),
            (
                "render/mod.rs",
                "pub fn render() { let _ = crate::engine::eval::evaluate(); }\n",
            ),
            (
                "main.rs",
                "use backup_doctor::render;\nfn main() { render::render() }\n",
            ),
        ]
    }

    /// The problems of the clean tree once `outcome/mod.rs` holds `text`.
    fn problems_with_outcome(text: &'static str) -> Vec<String> {
        let mut files = clean();
        files[1] = ("outcome/mod.rs", text);
        check(&tree(&files), TINY_LAYERS)
    }

    /// Fails unless one of `problems` starts with `expected`.
    fn assert_reported(problems: &[String], expected: &str) {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{problems:?}"
        );
    }

    #[test]
    fn a_tree_that_keeps_the_rules_passes() {
        assert_eq!(check(&tree(&clean()), TINY_LAYERS), Vec::<String>::new());
    }

    #[test]
    fn an_upward_import_fails() {
        let problems = problems_with_outcome("use crate::render::render;\npub struct Finding;\n");
        assert_reported(&problems, "outcome/mod.rs imports render/mod.rs");
    }

    #[test]
    fn an_inline_upward_path_fails_too() {
        let problems = problems_with_outcome(
            "pub struct Finding;\nfn f() { crate::engine::eval::evaluate() }\n",
        );
        assert_reported(&problems, "outcome/mod.rs imports engine/eval.rs");
    }

    #[test]
    fn files_importing_each_other_form_a_circle() {
        let mut files = clean();
        files[2] = (
            "engine/mod.rs",
            "pub mod eval;\npub mod rule;\npub struct Cause;\n",
        );
        files.push((
            "engine/rule.rs",
            "use super::{eval::evaluate, Cause};\npub struct Rule;\n",
        ));
        files[3] = (
            "engine/eval.rs",
            "use crate::engine::rule::{Rule};\npub fn evaluate() {}\n",
        );
        let problems = check(&tree(&files), TINY_LAYERS);
        assert_eq!(
            problems,
            vec!["import circle: engine/eval.rs -> engine/rule.rs -> engine/eval.rs"]
        );
    }

    #[test]
    fn tests_comments_and_strings_are_not_imports() {
        let problems = problems_with_outcome(concat!(
            "//! Built by crate::engine.\n",
            "pub struct Finding;\n",
            "const TEXT: &str = \"crate::render::render\";\n",
            "const RAW: &str = r#\"use crate::render;\"#;\n",
            "fn f<'a>(x: &'a str) -> char { /* crate::render */ 'c' }\n",
            "#[cfg(test)]\nmod tests {\n    use crate::render::render;\n    fn g() { if true { crate::engine::eval::evaluate() } }\n}\n",
            "#[cfg(test)]\nuse crate::engine::eval;\n",
        ));
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn a_module_in_no_layer_is_named() {
        let mut files = clean();
        files.push(("serve/mod.rs", "use crate::render::render;\n"));
        let problems = check(&tree(&files), TINY_LAYERS);
        assert_eq!(
            problems,
            vec!["serve/mod.rs: module `serve` is in no layer"]
        );
    }
}
