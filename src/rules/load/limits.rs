//! The loader's side of [`Limits`]: the size of a source, the rules in a pack, the distinct
//! literal spellings of the whole set and the depth of conditions.
//!
//! A limit is one cause, so it is one error: the literal limit is reported at the term that
//! crosses it and never again, however many terms come after (a 20,000-rule pack over it
//! once printed an error for every later term). The compiled size is checked by the compiler.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use super::codes::Problem;
use super::{file_diagnostic, Context, Src};
use crate::error::Diagnostic;
use crate::limits::Limits;

/// A file read past [`Limits::source_bytes`].
pub(super) fn file_too_large(path: &Path, limit: usize) -> Diagnostic {
    file_diagnostic(path, None, (1, 1), Problem::FileTooLarge(limit))
}

/// A source given as text over [`Limits::source_bytes`].
pub(super) fn source_too_large(name: &str, source: &str, limits: &Limits) -> Option<Diagnostic> {
    (source.len() > limits.source_bytes)
        .then(|| file_diagnostic(Path::new(name), None, (1, 1), Problem::SourceTooLarge(limits.source_bytes)))
}

impl Context {
    /// Whether a pack has more rules than [`Limits::rules_per_pack`], reported at the first
    /// rule over.
    pub(super) fn too_many_rules(&mut self, src: &Src, rules: &[super::format::RuleRaw]) -> bool {
        let limit = self.limits.rules_per_pack;
        let Some(over) = rules.get(limit) else { return false };
        self.report(src, over.id.span(), Some(over.id.get_ref()), Problem::TooManyRules(limit));
        true
    }

    /// Whether a condition at `depth` is deeper than [`Limits::condition_depth`].
    pub(super) fn too_deep(
        &mut self,
        src: &Src,
        span: Range<usize>,
        rule: Option<&str>,
        depth: usize,
    ) -> bool {
        let limit = self.limits.condition_depth;
        if depth <= limit {
            return false;
        }
        self.report(src, span, rule, Problem::TooDeep(limit));
        true
    }

    /// Counts a literal's spellings against [`Limits::literals`]; false when they would cross
    /// it, which is reported the first time only.
    pub(super) fn count_literals(
        &mut self,
        src: &Src,
        span: Range<usize>,
        rule: Option<&str>,
        spellings: &BTreeSet<String>,
    ) -> bool {
        let limit = self.limits.literals;
        // Counted only near the limit: the common case stays a length check.
        if self.literals.len() + spellings.len() > limit {
            let new = spellings.iter().filter(|l| !self.literals.contains(*l)).count();
            if self.literals.len() + new > limit {
                if !self.literals_reported {
                    self.literals_reported = true;
                    self.report(src, span, rule, Problem::TooManyLiterals(limit));
                }
                return false;
            }
        }
        self.literals.extend(spellings.iter().cloned());
        true
    }
}
