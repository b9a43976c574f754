//! Errors that end a run with exit code 2: bad usage, bad input, or a failure around the run. Each
//! names the file (or flag), the place in it, what is wrong and what to do, because the user has
//! to fix the input or the environment, not the tool.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a run ended early. Every kind carries the same description (where, what, what to do) and
/// ends the command line with exit code 2; the kinds tell a caller such as a service whether the
/// request was wrong (usage, input) or the run failed around it (runtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An argument the command cannot use: a flag value, a format, a name that matches nothing.
    Usage(InputError),
    /// A file or the data read is wrong: a snapshot, a plan, a rule file, a store.
    Input(InputError),
    /// The run failed for a reason outside its input: the tenant, the disk, the runtime.
    Runtime(InputError),
}

impl Error {
    /// A usage error about a flag (`--format`, `--now`).
    pub fn usage(flag: &str, problem: impl Into<String>, fix: impl Into<String>) -> Error {
        Error::Usage(InputError::new(Path::new(flag), None, problem, fix))
    }

    /// A runtime failure at `place` (a file written, or the flag whose work failed).
    pub fn runtime(place: &Path, problem: impl Into<String>, fix: impl Into<String>) -> Error {
        Error::Runtime(InputError::new(place, None, problem, fix))
    }

    /// What went wrong, where, and the fix.
    pub fn detail(&self) -> &InputError {
        match self {
            Error::Usage(detail) | Error::Input(detail) | Error::Runtime(detail) => detail,
        }
    }
}

impl From<InputError> for Error {
    fn from(error: InputError) -> Error {
        Error::Input(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.detail().fmt(f)
    }
}

impl std::error::Error for Error {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: PathBuf,
    /// Where in the file: a JSON path (`value[3].properties.diskSizeGB`), a line, or a TOML key.
    pub place: Option<String>,
    pub problem: String,
    pub fix: String,
}

impl InputError {
    pub fn new(
        file: &Path,
        place: Option<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        InputError {
            file: file.to_path_buf(),
            place,
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(place) = &self.place {
            write!(f, ": at {place}")?;
        }
        write!(f, ": {}", self.problem)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// Turns a TOML parse error into an input error with the line and column.
pub fn toml_error(file: &Path, text: &str, error: &toml::de::Error) -> InputError {
    let place = error.span().map(|span| {
        let (line, column) = line_column(text, span.start);
        format!("line {line}, column {column}")
    });
    // The toml crate leaves the message of some syntax errors empty (`id =` at the end of a
    // file, a NUL byte in a table header): the fuzzer found them (fuzz/regressions/rule_file/).
    let problem = match error.message().trim() {
        "" => "the TOML syntax is not valid here".to_string(),
        message => message.to_string(),
    };
    InputError::new(file, place, problem, "see docs/writing-rules.md for the rule file format (`backup-doctor rules show agent/not-ready` prints a working example)")
}

pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs on which the toml crate's own message is empty (found by fuzz/rule_file and
    /// fuzz/suppressions); the error must still say what is wrong, and where.
    #[test]
    fn a_toml_syntax_error_always_has_a_problem_and_a_place() {
        for text in ["id =", "#\0\0\0suppre\"sion]]\nrruleuleover an)g"] {
            let error = toml::from_str::<toml::Table>(text).unwrap_err();
            let input = toml_error(Path::new("x.toml"), text, &error);
            assert!(!input.problem.trim().is_empty(), "{text:?}: {input}");
            assert!(input.place.is_some(), "{text:?}: {input}");
        }
    }
}
