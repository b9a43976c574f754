//! `--format json`: the report contract of DESIGN §5.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report)
        .expect("the report holds only strings, numbers and maps");
    text.push('\n');
    text
}
