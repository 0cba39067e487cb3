//! Loading and validating rule files: TOML with spans → resolved [`RuleSet`].
//!
//! Validation happens in two passes because sets and variants are shared between packs: the
//! first pass parses every file and gathers pack metadata, set and variant definitions, the
//! second resolves each rule against all of them. Every problem becomes a located
//! [`Diagnostic`] whose message is written once, in [`codes`].
//!
//! The modules follow the concerns of a rule file, so a change to one kind of check is made
//! in one place:
//! * [`parse`] — reading files and sources, TOML into the [`format`] types, locations;
//! * [`resolve`] — pass 1 (packs, levels, sets, variants) and terms: set references, regexes
//!   and literals with their spellings ([`spellings`]: variants and pinyin);
//! * [`conditions`] — the `when` trees, comparisons and counters;
//! * [`streams`] — windows, sequences and stream examples;
//! * [`rules`] — pass 2, one rule at a time, and the sequence steps that name other rules;
//! * [`limits`] — what the rules may cost ([`Limits`]), each limit reported once.

mod codes;
mod conditions;
mod format;
mod limits;
mod parse;
mod resolve;
mod rules;
mod spellings;
mod streams;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use self::codes::Problem;
use self::format::Str;
use super::{Atom, Location, RuleSet};
use crate::error::{Diagnostic, Error};
use crate::limits::Limits;

/// Collects rule sources, then validates them together.
///
/// ```
/// let mut b = fanzha::RuleSet::builder();
/// b.add_source("a.toml", "[pack]\nid = \"a\"\nversion = \"1\"\n[sets]\nbig = [\"大客户\"]\n");
/// b.add_source("b.toml", r#"
/// [pack]
/// id = "b"
/// version = "1"
/// [[rule]]
/// id = "b.big"
/// title = "Claims to be a big customer"
/// category = "fake_large_order"
/// points = 30
/// when = { any = ["@big"] }
/// "#);
/// let rules = b.build()?;
/// assert_eq!(rules.packs().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    sources: Vec<(String, String)>,
    errors: Vec<Diagnostic>,
    limits: Limits,
}

impl RuleSetBuilder {
    /// An empty builder.
    pub fn new() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// Sets the limits on what the rules may cost (see [`Limits`]); call it before adding
    /// files, whose size is checked as they are read.
    pub fn limits(&mut self, limits: Limits) -> &mut RuleSetBuilder {
        self.limits = limits;
        self
    }

    /// Adds the packs bundled with fanzha, as [`RuleSet::bundled`] has them.
    pub fn add_bundled(&mut self) -> &mut RuleSetBuilder {
        for (name, source) in super::bundled::PACKS {
            self.add_source(name, source);
        }
        self
    }

    /// Adds a pack from a string; `name` is used in error locations.
    pub fn add_source(&mut self, name: &str, source: &str) -> &mut RuleSetBuilder {
        self.sources.push((name.to_string(), source.to_string()));
        self
    }

    /// Adds a pack file, or every `*.toml` file of a directory in name order. Read errors are
    /// reported by [`build`](RuleSetBuilder::build).
    pub fn add_path(&mut self, path: impl AsRef<Path>) -> &mut RuleSetBuilder {
        let path = path.as_ref();
        if !path.is_dir() {
            self.add_file(path);
            return self;
        }
        match parse::toml_files(path) {
            Ok(files) => {
                for f in files {
                    self.add_file(&f);
                }
            }
            Err(d) => self.errors.push(*d),
        }
        self
    }

    fn add_file(&mut self, path: &Path) {
        match parse::read_file(path, self.limits.source_bytes) {
            Ok(text) => self.sources.push((path.display().to_string(), text)),
            Err(d) => self.errors.push(*d),
        }
    }

    /// The text of a source added under `name` (a file's path as given, or the name given to
    /// [`add_source`](RuleSetBuilder::add_source)), for showing a [`Diagnostic`] with
    /// [`Diagnostic::render`].
    pub fn source(&self, name: &str) -> Option<&str> {
        self.sources.iter().find(|(n, _)| n == name).map(|(_, text)| text.as_str())
    }

    /// A diagnostic of this builder's sources shown with the line it is about and the term
    /// underlined ([`Diagnostic::render`]); `color` adds terminal colours.
    pub fn render(&self, diagnostic: &Diagnostic, color: bool) -> String {
        diagnostic.render(self.source(&diagnostic.file).unwrap_or(""), color)
    }

    /// Parses and validates everything added, returning every problem found.
    pub fn build(&self) -> Result<RuleSet, Error> {
        let mut cx = Context::new(self.errors.clone(), self.limits);
        let parsed = parse::parse_all(&self.sources, &mut cx);
        let sources: Vec<Src> = self.sources.iter().map(|(name, text)| Src::new(name, text)).collect();
        let files: Vec<(&Src, &format::PackFile)> = parsed.iter().map(|(i, f)| (&sources[*i], f)).collect();
        let (packs, levels) = resolve::gather(&mut cx, &files);
        let rules = rules::resolve_rules(&mut cx, &files);
        if cx.diags.is_empty() {
            let digest = sources_digest(self.sources.iter().map(|(n, t)| (n.as_str(), t.as_str())));
            Ok(RuleSet { packs, rules, levels: levels.unwrap_or_default(), limits: self.limits, digest })
        } else {
            Err(Error::Rules(cx.diags))
        }
    }
}

/// A checksum of the sources a rule set was loaded from, names and texts in order: a bundle
/// records it, so the bundle embedded for the bundled packs is known to match them.
pub(crate) fn sources_digest<'a>(sources: impl Iterator<Item = (&'a str, &'a str)>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for (name, text) in sources {
        for part in [name, text] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    h.finalize()
}

/// One source being resolved: its name, its text, and where its lines start.
struct Src<'a> {
    name: &'a str,
    text: &'a str,
    /// The name shared by every location in this source.
    file: Arc<str>,
    /// Byte offsets where lines start, made at the first location asked for: every rule and
    /// example records where it is written, and counting lines from the top for each would
    /// make loading quadratic in the file's length.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> Src<'a> {
    fn new(name: &'a str, text: &'a str) -> Src<'a> {
        Src { name, text, file: Arc::from(name), line_starts: std::cell::OnceCell::new() }
    }

    fn location(&self, at: usize) -> Location {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect()
        });
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = starts.partition_point(|&s| s <= at);
        let column = self.text[starts[line - 1]..at].chars().count() + 1;
        Location { file: self.file.clone(), line, column }
    }
}

/// What resolution has gathered so far, and every problem found.
#[derive(Default)]
struct Context {
    diags: Vec<Diagnostic>,
    /// Set name → its terms.
    sets: BTreeMap<String, Vec<Str>>,
    /// Folded canonical text → folded spellings.
    variants: BTreeMap<String, BTreeSet<String>>,
    /// Whether literals of the pack being resolved get pinyin spellings.
    pinyin: bool,
    /// Sets already expanded, by name and pinyin setting (`None`: the set has errors, which
    /// were reported at its first use).
    expanded: HashMap<(String, bool), Option<Vec<Atom>>>,
    limits: Limits,
    /// Distinct literal spellings so far, against [`Limits::literals`].
    literals: HashSet<String>,
    /// Whether [`Limits::literals`] has been reported: one cause, one error.
    literals_reported: bool,
}

impl Context {
    fn new(diags: Vec<Diagnostic>, limits: Limits) -> Context {
        Context { diags, limits, ..Context::default() }
    }

    /// Records `problem` at `span` of `src`.
    fn report(&mut self, src: &Src, span: Range<usize>, rule: Option<&str>, problem: Problem) {
        let Location { line, column, .. } = src.location(span.start);
        self.diags.push(Diagnostic {
            code: problem.code(),
            file: src.name.to_string(),
            line,
            column,
            rule: rule.map(str::to_string),
            message: problem.message(),
            span: Some(span),
        });
    }
}

/// A diagnostic of a whole file, or of a place in one that could not be read as text.
fn file_diagnostic(
    path: &Path,
    span: Option<Range<usize>>,
    at: (usize, usize),
    problem: Problem,
) -> Diagnostic {
    Diagnostic {
        code: problem.code(),
        file: path.display().to_string(),
        line: at.0,
        column: at.1,
        rule: None,
        message: problem.message(),
        span,
    }
}

/// Whether `name` is letters, digits, `_` or `-`.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
