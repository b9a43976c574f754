//! Error-code knowledge as data (`rules/error-codes.toml`): every documented Azure Backup error
//! code, its spelling variants, the pipeline layer it belongs to, and the fix. Codes are matched
//! case-insensitively because Microsoft spells several of them more than one way.

use crate::error::{toml_error, InputError};
use crate::outcome::Cause;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

pub const BUILTIN_CODES: &str = include_str!("../rules/error-codes.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorCode {
    pub code: String,
    #[serde(default)]
    pub variants: Vec<String>,
    #[serde(default)]
    pub numeric: Vec<i64>,
    pub cause: Cause,
    pub path: String,
    pub summary: String,
    pub fix: String,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub historical: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeFile {
    code: Vec<ErrorCode>,
}

#[derive(Debug, Default)]
pub struct CodeBook {
    codes: Vec<ErrorCode>,
    by_name: HashMap<String, usize>,
    by_number: HashMap<i64, usize>,
}

impl CodeBook {
    pub fn builtin() -> Result<CodeBook, InputError> {
        Self::parse(Path::new("rules/error-codes.toml"), BUILTIN_CODES)
    }

    pub fn parse(file: &Path, text: &str) -> Result<CodeBook, InputError> {
        let parsed: CodeFile = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
        let mut book = CodeBook::default();
        for (index, code) in parsed.code.into_iter().enumerate() {
            for name in std::iter::once(&code.code).chain(&code.variants) {
                if book
                    .by_name
                    .insert(name.to_ascii_lowercase(), index)
                    .is_some()
                {
                    return Err(InputError::new(
                        file,
                        Some(format!("code {name}")),
                        "the code is listed twice",
                        "keep one entry per code; list other spellings in `variants`",
                    ));
                }
            }
            for number in &code.numeric {
                book.by_number.insert(*number, index);
            }
            book.codes.push(code);
        }
        Ok(book)
    }

    /// The entry for a code in any documented spelling.
    pub fn get(&self, name: &str) -> Option<&ErrorCode> {
        self.by_name
            .get(&name.trim().to_ascii_lowercase())
            .map(|&i| &self.codes[i])
    }

    pub fn by_number(&self, number: i64) -> Option<&ErrorCode> {
        self.by_number.get(&number).map(|&i| &self.codes[i])
    }

    pub fn all(&self) -> &[ErrorCode] {
        &self.codes
    }

    /// Every known code named in free text: a bare code, `Title (Code)`, `Code: message`.
    pub fn find_in_text<'a>(&'a self, text: &str) -> Vec<&'a ErrorCode> {
        let mut found: Vec<&ErrorCode> = Vec::new();
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            let token = token.trim_matches('-');
            if token.len() < 6 {
                continue;
            }
            if let Some(code) = self.get(token) {
                if !found.iter().any(|f| std::ptr::eq(*f, code)) {
                    found.push(code);
                }
            }
        }
        found
    }
}
