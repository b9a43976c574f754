//! How large a rule's CEL expression may be. The CEL parser and evaluator both recurse, once per
//! level of the expression: a `when` of a few thousand chained terms (`1 + 1 + … > 0`) overflowed
//! the stack and aborted every command (exit 134) while the rules loaded. So an expression is
//! measured before the parser sees it (its tokens and bracket nesting, by a scan that never
//! recurses), parsed on a thread whose stack fits anything the scan lets through, and its syntax
//! tree's depth checked before the rule is kept, since that depth is what evaluation recurses on.
//!
//! The limits sit far above what rules need: measured on the built-in rules (conditions,
//! resources and message placeholders), the largest expression has 77 tokens, the deepest bracket
//! nesting is 4 and the deepest syntax tree 15.
//! They sit below what the smallest stack that evaluates rules can take: a scan evaluates VMs on
//! threads of the default 2 MiB stack, where an unoptimised build (the tests') overflows at a
//! syntax tree about 50 deep and an optimised one at about 1,400.

use cel::common::ast::{EntryExpr, Expr};
use cel::{Env, IdedExpr, ParseErrors, Program};

/// Tokens of one expression: 13 times the largest built-in one.
pub const MAX_TOKENS: usize = 1000;
/// Brackets (`(`, `[`, `{`) open at once: 8 times the deepest built-in nesting.
pub const MAX_NESTING: usize = 32;
/// Levels of the syntax tree (a chain `a + b + c` is as deep as it is long): twice the deepest
/// built-in one, and about 1.5 times short of what overflows an unoptimised build's 2 MiB
/// evaluation thread (an optimised build takes 40 times more).
pub const MAX_DEPTH: usize = 32;
/// The stack of the thread that parses. An unoptimised parser takes about 1.3 KiB per token of a
/// chain and 180 KiB per bracket level: within the limits above that is under 8 MiB. It is
/// address space reserved, not memory used.
const PARSER_STACK: usize = 64 << 20;

/// Why an expression was not compiled.
#[derive(Debug)]
pub enum Refused {
    /// Over one of the limits.
    TooLarge(Exceeded),
    /// The CEL parser's own errors.
    Parse(ParseErrors),
}

/// Which limit an expression is over, with its measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    Tokens(usize),
    Nesting(usize),
    Depth(usize),
}

impl Exceeded {
    /// The problem, in the words of an error message.
    pub fn problem(self) -> String {
        match self {
            Exceeded::Tokens(n) => format!(
                "the CEL expression has {n} tokens; an expression may have at most {MAX_TOKENS}"
            ),
            Exceeded::Nesting(n) => format!(
                "the CEL expression nests brackets {n} deep; at most {MAX_NESTING} levels are allowed"
            ),
            Exceeded::Depth(n) => format!(
                "the CEL expression is {n} operations deep (a chain `a + b + …` is as deep as it \
                 is long); at most {MAX_DEPTH} are allowed"
            ),
        }
    }
}

/// `source` compiled, if it is within the limits and parses.
pub fn compile(env: &Env, source: &str) -> Result<Program, Refused> {
    measure(source).map_err(Refused::TooLarge)?;
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("cel-parser".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, || {
                let program = env.compile(source).map_err(Refused::Parse)?;
                // Measured, and dropped when too deep, on this thread's stack: dropping a syntax
                // tree recurses too.
                match depth(program.expression()) {
                    depth if depth > MAX_DEPTH => Err(Refused::TooLarge(Exceeded::Depth(depth))),
                    _ => Ok(program),
                }
            })
            .map(|thread| thread.join())
    });
    match parsed {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        // No thread (the system refused one): parse here, where the limits already keep the
        // parser within a main thread's stack in an optimised build.
        Err(_) => {
            let program = env.compile(source).map_err(Refused::Parse)?;
            match depth(program.expression()) {
                depth if depth > MAX_DEPTH => Err(Refused::TooLarge(Exceeded::Depth(depth))),
                _ => Ok(program),
            }
        }
    }
}

/// The depth of a syntax tree, walked with a stack of its own (the tree may be deeper than the
/// thread's stack could recurse).
pub fn depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut pending: Vec<(&IdedExpr, usize)> = vec![(root, 1)];
    while let Some((node, level)) = pending.pop() {
        deepest = deepest.max(level);
        let below = level + 1;
        match &node.expr {
            Expr::Select(select) => pending.push((&select.operand, below)),
            Expr::Call(call) => {
                pending.extend(call.target.iter().map(|t| (&**t, below)));
                pending.extend(call.args.iter().map(|a| (a, below)));
            }
            Expr::List(list) => pending.extend(list.elements.iter().map(|e| (e, below))),
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        pending.push((&entry.key, below));
                        pending.push((&entry.value, below));
                    }
                }
            }
            Expr::Struct(structure) => {
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        pending.push((&field.value, below));
                    }
                }
            }
            Expr::Comprehension(c) => {
                for part in [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ] {
                    pending.push((part, below));
                }
            }
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    deepest
}

/// Refuses `source` when its tokens or bracket nesting are over the limits, counted in one pass
/// that never recurses.
///
/// A string literal counts as one token whatever its length. Where the scan cannot be sure a
/// quote opens a literal that CEL would accept (a bad escape, a line break in a one-line
/// literal, no closing quote), it counts the quote as a token and goes on after it, as CEL's
/// lexer does: text the scan skips as a literal is never text the parser sees as code. Anything
/// else it may count high (a `.` inside a number is a token of its own), never low.
fn measure(source: &str) -> Result<(), Exceeded> {
    let (tokens, deepest) = scan(source);
    // Deep nesting says more about what is wrong than the token count it also drives up.
    if deepest > MAX_NESTING {
        return Err(Exceeded::Nesting(deepest));
    }
    if tokens > MAX_TOKENS {
        return Err(Exceeded::Tokens(tokens));
    }
    Ok(())
}

/// The tokens of `source` and its deepest bracket nesting (see `measure`).
pub fn scan(source: &str) -> (usize, usize) {
    let bytes = source.as_bytes();
    let (mut tokens, mut open, mut deepest, mut at) = (0usize, 0usize, 0usize, 0usize);
    let word_end = |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count()
    };
    while at < bytes.len() {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        if byte.is_ascii_whitespace() {
            at += 1;
            continue;
        }
        if byte == b'/' && next == Some(b'/') {
            at = bytes[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |n| at + n);
            continue;
        }
        tokens += 1;
        at = match byte {
            b'(' | b'[' | b'{' => {
                open += 1;
                deepest = deepest.max(open);
                at + 1
            }
            b')' | b']' | b'}' => {
                open = open.saturating_sub(1);
                at + 1
            }
            b'"' | b'\'' => string_end(bytes, at, false).unwrap_or(at + 1),
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let word = word_end(at);
                let prefix = source[at..word].to_ascii_lowercase();
                let raw = matches!(prefix.as_str(), "r" | "rb" | "br");
                let quoted = matches!(bytes.get(word), Some(b'"' | b'\''));
                if quoted && (raw || prefix == "b") {
                    string_end(bytes, word, raw).unwrap_or(word)
                } else {
                    word
                }
            }
            b'0'..=b'9' => word_end(at),
            b'=' | b'!' | b'<' | b'>' if next == Some(b'=') => at + 2,
            b'&' if next == Some(b'&') => at + 2,
            b'|' if next == Some(b'|') => at + 2,
            // Every other byte is a token of its own: an operator, punctuation, or a byte CEL
            // does not know (one error each). A multi-byte character counts once per byte.
            _ => at + 1,
        };
    }
    (tokens, deepest)
}

/// Where the string literal whose quote is at `start` ends (the byte after its closing quote),
/// if it is one CEL accepts: `'…'`, `"…"`, or tripled for several lines; raw ones take `\`
/// as itself.
fn string_end(bytes: &[u8], start: usize, raw: bool) -> Option<usize> {
    let quote = bytes[start];
    let triple = bytes.get(start..start + 3) == Some(&[quote, quote, quote][..]);
    let mut at = start + if triple { 3 } else { 1 };
    loop {
        let byte = *bytes.get(at)?;
        if byte == quote {
            if !triple {
                return Some(at + 1);
            }
            if bytes.get(at..at + 3) == Some(&[quote, quote, quote][..]) {
                return Some(at + 3);
            }
            at += 1;
        } else if byte == b'\\' && !raw {
            at += escape_length(&bytes[at..])?;
        } else if (byte == b'\n' || byte == b'\r') && !triple {
            return None;
        } else {
            at += 1;
        }
    }
}

/// The length of the escape sequence `escape` starts with, if CEL knows it.
fn escape_length(escape: &[u8]) -> Option<usize> {
    let hex = |from: usize, count: usize| {
        escape
            .get(from..from + count)
            .is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit))
            .then_some(from + count)
    };
    match *escape.get(1)? {
        b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'"' | b'\'' | b'\\' | b'?' | b'`' => {
            Some(2)
        }
        b'x' | b'X' => hex(2, 2),
        b'u' => hex(2, 4),
        b'U' => hex(2, 8),
        b'0'..=b'3' => escape
            .get(2..4)
            .is_some_and(|digits| digits.iter().all(|d| (b'0'..=b'7').contains(d)))
            .then_some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rule::cel_env;

    fn tokens_of(source: &str) -> Result<(), Exceeded> {
        measure(source)
    }

    #[test]
    fn a_string_literal_counts_as_one_token_whatever_it_holds() {
        let long = "x".repeat(100_000);
        let brackets = "((((([[[[[{{{{{+ + + ".repeat(1000);
        for literal in [
            format!("'{long}'"),
            format!("\"{brackets}\""),
            format!("'''{brackets}\n{brackets}'''"),
            format!("r'{brackets}\\'"),
            format!("b\"{brackets}\\x41\\101\\n\""),
            format!("\"\"\"{brackets} \\\"\"\" \"\"\""),
        ] {
            let source = format!("vm.name == {literal}");
            assert_eq!(measure(&source), Ok(()), "{}", &source[..40]);
            assert!(compile(&cel_env(), &source).is_ok(), "{}", &source[..40]);
        }
    }

    #[test]
    fn what_cel_would_not_read_as_a_string_is_counted_as_code() {
        let chain = "1 + ".repeat(MAX_TOKENS);
        for hidden in [
            // No closing quote: CEL reports the quote and reads on.
            format!("'{chain}"),
            // A one-line literal cannot hold a line break.
            format!("'\n{chain}'"),
            // An escape CEL does not know.
            format!("'\\q {chain}'"),
            format!("'\\x4 {chain}'"),
            format!("'\\8 {chain}'"),
            // A raw literal's backslash does not escape its quote.
            format!("r'\\' {chain} '"),
        ] {
            assert!(
                matches!(measure(&hidden), Err(Exceeded::Tokens(_))),
                "{}",
                &hidden[..12]
            );
        }
    }

    #[test]
    fn comments_and_whitespace_are_not_tokens() {
        let padded = format!("{}true // {}", " \n\t".repeat(10_000), "1 + ".repeat(5000));
        assert_eq!(measure(&padded), Ok(()));
        let after_comment = format!("// note\n{}1 > 0", "1 + ".repeat(MAX_TOKENS));
        assert!(matches!(measure(&after_comment), Err(Exceeded::Tokens(_))));
    }

    #[test]
    fn tokens_are_counted_as_the_parser_sees_them() {
        assert_eq!(tokens_of(&format!("{}1", "1+".repeat(499))), Ok(()));
        // 500 terms and 500 operators.
        let over = format!("{}1", "1+".repeat(500));
        assert_eq!(measure(&over), Err(Exceeded::Tokens(1001)));
        // Two-character operators are one token, so this is 1,000.
        let pairs = format!("{}1", "1==".repeat(499)) + " &&";
        assert_eq!(measure(&pairs), Ok(()));
    }

    #[test]
    fn nesting_is_counted_outside_literals_only() {
        let deep = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(measure(&deep(MAX_NESTING)), Ok(()));
        assert_eq!(
            measure(&deep(MAX_NESTING + 1)),
            Err(Exceeded::Nesting(MAX_NESTING + 1))
        );
        let mixed = format!("{}1{}", "f([{".repeat(11), "}])".repeat(11));
        assert_eq!(measure(&mixed), Err(Exceeded::Nesting(MAX_NESTING + 1)));
        // Closing more than was opened does not buy depth.
        let unbalanced = format!("{}{}", ")".repeat(100), deep(MAX_NESTING + 1));
        assert!(matches!(measure(&unbalanced), Err(Exceeded::Nesting(_))));
    }

    #[test]
    fn the_syntax_tree_depth_bounds_chains_the_scan_lets_through() {
        let env = cel_env();
        let chain = |n: usize| format!("{}1 > 0", "1 + ".repeat(n));
        // Within the token limit, too deep to evaluate safely.
        match compile(&env, &chain(400)) {
            Err(Refused::TooLarge(Exceeded::Depth(depth))) => assert!(depth > 400, "{depth}"),
            other => panic!("{other:?}"),
        }
        assert!(compile(&env, &chain(MAX_DEPTH - 3)).is_ok());
        let members = format!("{{'a': 1}}{} == 1", ".a".repeat(MAX_DEPTH));
        assert!(matches!(
            compile(&env, &members),
            Err(Refused::TooLarge(Exceeded::Depth(_)))
        ));
        // `&&` and `||` chains are balanced trees: long ones stay shallow.
        let conjunction = format!("{}true", "true && ".repeat(400));
        assert!(compile(&env, &conjunction).is_ok());
    }

    /// Rules are evaluated on a scan's worker threads, which have the default 2 MiB stack: the
    /// deepest expression the limits let through, of each shape that recurses, evaluates there.
    #[test]
    fn the_deepest_expressions_allowed_evaluate_on_a_two_mebibyte_stack() {
        let env = cel_env();
        let levels = |n: usize, open: &str, inner: &str, close: &str| {
            format!("{}{inner}{}", open.repeat(n), close.repeat(n))
        };
        let shapes: [&dyn Fn(usize) -> String; 6] = [
            &|n| format!("{}1 > 0", "1 + ".repeat(n)),
            &|n| format!("size({}) > 0", levels(n, "[", "1", "]")),
            &|n| format!("{} != ''", levels(n, "string(", "1", ")")),
            &|n| format!("{{'a': 1}}{} == 1", ".a".repeat(n)),
            &|n| format!("({}1) > 0", "false ? 0 : ".repeat(n)),
            &|n| levels(n, "[1].all(x, ", "true", ")"),
        ];
        for shape in shapes {
            let deepest = (1..MAX_TOKENS)
                .map_while(|n| compile(&env, &shape(n)).ok())
                .last()
                .unwrap_or_else(|| panic!("{}", shape(1)));
            assert!(depth(deepest.expression()) > MAX_DEPTH - 4, "{}", shape(1));
            let env = env.clone();
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || {
                    let context = cel::Context::with_env(env);
                    let _ = deepest.execute(&context);
                })
                .unwrap()
                .join()
                .unwrap();
        }
    }

    #[test]
    fn depth_counts_every_kind_of_node() {
        let env = cel_env();
        for (source, expected) in [
            ("1", 1),
            ("1 + 2", 2),
            ("[[1]]", 3),
            ("{'a': {'b': 1}}", 3),
            ("vm.a.b", 3),
            ("f(g(1))", 3),
            ("[1].exists(x, x > 0)", 4),
        ] {
            let program = env.compile(source).unwrap();
            assert_eq!(depth(program.expression()), expected, "{source}");
        }
    }
}
