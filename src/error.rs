//! Errors that end a run with exit code 2: bad usage or bad input. Each names the file, the place
//! in it, what is wrong and what to do, because the user has to fix the input, not the tool.

use std::fmt;
use std::path::{Path, PathBuf};

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
