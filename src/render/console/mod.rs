//! Console output of every command, and the pieces they share: colour (only when the caller says
//! so: a terminal, and never with `NO_COLOR`), the fix text, undecided findings, gaps.

mod attribution;
mod check;
mod collect;
mod gate;
mod history;
mod recovery;
mod scan;

pub use check::check;
pub use collect::collect;
pub use gate::gate;
pub use history::history;
pub use scan::scan;

use crate::inventory::model::Gap;
use crate::inventory::references::Dangling;
use crate::outcome::Finding;
use std::fmt::Write;

/// ANSI colour, or plain text when off.
struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

/// The VM's context in brackets after its name: the parts known, joined by ` · `.
fn context<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let known: Vec<&str> = parts.into_iter().flatten().collect();
    format!("[{}]", known.join(" · "))
}

/// The fix of a finding, its later lines aligned under the first.
fn write_fix(out: &mut String, remediation: &str) {
    let _ = writeln!(
        out,
        "     fix: {}",
        remediation.lines().collect::<Vec<_>>().join("\n          ")
    );
}

/// A finding that could not be decided; `message` (which says why) as the command styles it.
fn write_undecided(out: &mut String, paint: &Paint, finding: &Finding, message: &str) {
    let _ = writeln!(
        out,
        "  {} [{}] {}: {}",
        paint.yellow("?"),
        finding.cause.as_str(),
        finding.rule,
        message
    );
}

/// References to resources the input does not hold (`gate`, `check`; a scan lists them among
/// the reasons it is incomplete).
fn write_dangling(out: &mut String, dangling: &[Dangling], paint: &Paint) {
    if dangling.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{} references name resources the input does not hold:",
        paint.yellow("Incomplete:")
    );
    for missing in dangling {
        let _ = writeln!(out, "  {}", missing.summary());
        for warning in missing.warnings() {
            let _ = writeln!(out, "    {}", paint.dim(&warning));
        }
    }
}

fn write_gaps(out: &mut String, gaps: &[Gap]) {
    for gap in gaps {
        let _ = writeln!(out, "  gap: {} at {}: {}", gap.what, gap.scope, gap.reason);
    }
}
