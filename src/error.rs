//! Errors: located diagnostics for rule files, and the crate's error type.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// One problem found in a rule file, located by file, line and column, and by the span of
/// the offending text.
///
/// Codes are stable (see `docs/RULES.md`), so tools can match on them; `Display` gives the
/// familiar `file:line:column: error[E003] rule `id`: message` form, [`render`](Self::render)
/// shows the source line with the term underlined, and the type serializes to JSON for
/// editors.
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
    /// Byte range of the offending text in the source (`line` and `column` are where it
    /// starts); `None` for a problem of a whole file or of the whole rule set.
    pub span: Option<Range<usize>>,
}

impl Diagnostic {
    /// The diagnostic with its source, as rustc and yara-x show theirs: the one-line
    /// [`Display`](fmt::Display) form (which editors and scripts read), then the source line
    /// with the offending text underlined. `source` is the text of [`file`](Self::file) (see
    /// [`RuleSetBuilder::render`](crate::RuleSetBuilder::render), which finds it); with no
    /// span, or a span that does not fit `source`, only the first line is shown. `color`
    /// adds ANSI colours, for a terminal.
    ///
    /// ```
    /// let source = "[pack]\nid = \"t\"\nversion = \"1\"\n[[rule]]\nid = \"t.r\"\ntitle = \"x\"\n\
    ///               category = \"c\"\npoints = 10\nwhen = { any = [\"@nope\"] }\n";
    /// let err = fanzha::RuleSet::from_str("t.toml", source).unwrap_err();
    /// assert_eq!(
    ///     err.diagnostics()[0].render(source, false),
    ///     "t.toml:9:17: error[E003] rule `t.r`: undefined set `@nope`\n  |\n9 | when = { any = [\"@nope\"] }\n  |                 ^^^^^^^"
    /// );
    /// ```
    pub fn render(&self, source: &str, color: bool) -> String {
        use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

        let head = if color { format!("\x1b[1m{self}\x1b[0m") } else { self.to_string() };
        let Some((text, first_line, span)) = self.span.clone().and_then(|s| excerpt(source, s)) else {
            return head;
        };
        let report = &[Group::with_level(Level::ERROR).element(
            Snippet::source(text).line_start(first_line).annotation(AnnotationKind::Primary.span(span)),
        )];
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        format!("{head}\n{}", renderer.render(report))
    }
}

/// The whole lines of `source` that `span` covers, their first line's number, and the span
/// within them; `None` when the span is not inside `source` on character boundaries.
fn excerpt(source: &str, span: Range<usize>) -> Option<(&str, usize, Range<usize>)> {
    if span.start > span.end
        || span.end > source.len()
        || !source.is_char_boundary(span.start)
        || !source.is_char_boundary(span.end)
    {
        return None;
    }
    let start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = source[span.end..].find('\n').map_or(source.len(), |i| span.end + i);
    let first_line = source[..start].matches('\n').count() + 1;
    Some((&source[start..end], first_line, span.start - start..span.end - start))
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
    /// A compiled rule bundle that could not be read: not a bundle, another format version,
    /// damaged, truncated or inconsistent. The message says which, and where.
    #[error("{0}")]
    Bundle(String),
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
