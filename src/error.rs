//! Errors: located diagnostics for rule files, and the crate's error type.

use std::fmt;

use serde::Serialize;

/// One problem found in a rule file, located by file, line and column.
///
/// Codes are stable (see `docs/RULES.md`), so tools can match on them; `Display` gives the
/// familiar `file:line:column: error[E003] rule `id`: message` form, and the type serializes
/// to JSON for editors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code such as `E003`.
    pub code: &'static str,
    /// The file (or source name) the problem is in.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The rule the problem belongs to, when there is one.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file.is_empty() {
            // A problem of the whole rule set (a compile limit), not of one place.
            write!(f, "error[{}]", self.code)?;
        } else {
            write!(f, "{}:{}:{}: error[{}]", self.file, self.line, self.column, self.code)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, " rule `{rule}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The error type of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Rule files that could not be loaded or compiled; every problem found is listed.
    #[error("{}", list(.0))]
    Rules(Vec<Diagnostic>),
    /// An event that could not be read.
    #[error("{0}")]
    Event(String),
    /// A rule set whose window and sequence rules cannot be split into partitions that keep
    /// every verdict the same (see [`Partitioning`](crate::Partitioning)).
    #[error("{0}")]
    Partition(String),
}

impl Error {
    /// The rule diagnostics, if this is a rules error.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Rules(d) => d,
            _ => &[],
        }
    }
}

fn list(diags: &[Diagnostic]) -> String {
    let mut s = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&d.to_string());
    }
    s
}
