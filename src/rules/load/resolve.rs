//! Pass 1 and terms: what packs declare for everyone (ids, levels, sets, variants), and each
//! term of a condition resolved to atoms — a set's members, a regex, or a literal with its
//! spellings.
//!
//! Sets and variants are shared between packs, so every file's are gathered before any rule
//! is resolved; a set is expanded once per pinyin setting and reused, since packs refer to
//! the same sets from dozens of rules and expansion is the costly part of loading.

use std::collections::HashSet;

use super::codes::Problem;
use super::format::{PackFile, Str};
use super::spellings::{add_pinyin_spellings, check_regex, fold_regex};
use super::{valid_name, Context, Src};
use crate::normalize::fold;
use crate::rules::{Atom, Levels, PackInfo};

/// Pass 1: the packs, the levels they agree on, and (into `cx`) their sets and variants.
pub(super) fn gather(cx: &mut Context, files: &[(&Src, &PackFile)]) -> (Vec<PackInfo>, Option<Levels>) {
    let mut packs = Vec::new();
    let mut pack_ids = HashSet::new();
    let mut levels: Option<(Levels, String)> = None;
    for (src, file) in files {
        let meta = &file.pack;
        if meta.id.get_ref().trim().is_empty() {
            cx.report(src, meta.id.span(), None, Problem::EmptyPackId);
        } else if !pack_ids.insert(meta.id.get_ref().clone()) {
            cx.report(src, meta.id.span(), None, Problem::DuplicatePack(meta.id.get_ref().clone()));
        }
        cx.levels(src, file, &mut levels);
        cx.sets(src, file);
        cx.variants(src, file);
        packs.push(PackInfo {
            id: meta.id.get_ref().clone(),
            version: meta.version.clone(),
            description: meta.description.clone(),
            languages: meta.languages.clone(),
            file: src.name.to_string(),
        });
    }
    (packs, levels.map(|l| l.0))
}

impl Context {
    /// A pack's levels, which must rise and agree with those of the first pack that has some.
    fn levels(&mut self, src: &Src, file: &PackFile, levels: &mut Option<(Levels, String)>) {
        let Some(l) = &file.pack.levels else { return };
        let raw = *l.get_ref();
        if !(raw.notice < raw.warn && raw.warn < raw.block) {
            self.report(src, l.span(), None, Problem::LevelsDoNotRise);
        }
        let these = Levels { notice: raw.notice, warn: raw.warn, block: raw.block };
        match levels {
            Some((other, from)) if *other != these => {
                self.report(src, l.span(), None, Problem::LevelsDiffer(from.clone()))
            }
            Some(_) => {}
            None => *levels = Some((these, file.pack.id.get_ref().clone())),
        }
    }

    fn sets(&mut self, src: &Src, file: &PackFile) {
        for (name, terms) in &file.sets {
            if !valid_name(name) {
                self.report(src, terms.span(), None, Problem::BadSetName(name.clone()));
            }
            if self.sets.contains_key(name) {
                self.report(src, terms.span(), None, Problem::DuplicateSet(name.clone()));
            } else {
                self.sets.insert(name.clone(), terms.get_ref().clone());
            }
        }
    }

    fn variants(&mut self, src: &Src, file: &PackFile) {
        for (canonical, spellings) in &file.variants {
            let key = fold(canonical);
            if key.is_empty() {
                self.report(
                    src,
                    spellings.span(),
                    None,
                    Problem::VariantKeyFoldsToNothing(canonical.clone()),
                );
                continue;
            }
            for s in spellings.get_ref() {
                let f = fold(s.get_ref());
                if f.is_empty() {
                    self.report(src, s.span(), None, Problem::VariantFoldsToNothing(s.get_ref().clone()));
                } else if f != key {
                    self.variants.entry(key.clone()).or_default().insert(f);
                }
            }
        }
    }

    /// A list of terms resolved to one sorted list of atoms.
    pub(super) fn terms_flat(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        terms: &[Str],
        span: &std::ops::Range<usize>,
    ) -> Option<Vec<Atom>> {
        if terms.is_empty() {
            self.report(src, span.clone(), rule, Problem::EmptyTerms);
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for t in terms {
            match self.term(src, rule, t, &mut Vec::new()) {
                Some(a) => out.extend(a),
                None => ok = false,
            }
        }
        out.sort();
        out.dedup();
        ok.then_some(out)
    }

    /// Resolves one term to its atoms: a set's members, a regex, or a literal's spellings.
    /// `stack` holds the sets being expanded, to catch one that refers to itself.
    pub(super) fn term(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        t: &Str,
        stack: &mut Vec<String>,
    ) -> Option<Vec<Atom>> {
        let text = t.get_ref();
        if let Some(name) = text.strip_prefix('@') {
            return self.set_term(src, rule, t, name, stack);
        }
        if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
            let pattern = fold_regex(&text[1..text.len() - 1]);
            return match check_regex(&pattern, self.limits.regex_bytes) {
                Ok(()) => Some(vec![Atom::Regex(pattern)]),
                Err(problem) => {
                    self.report(src, t.span(), rule, problem);
                    None
                }
            };
        }
        self.literal(src, rule, t)
    }

    /// `@name`: the members of a set, expanded once per pinyin setting.
    fn set_term(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        t: &Str,
        name: &str,
        stack: &mut Vec<String>,
    ) -> Option<Vec<Atom>> {
        if stack.iter().any(|s| s == name) {
            self.report(src, t.span(), rule, Problem::SetRefersToItself(name.to_string()));
            return None;
        }
        let Some(members) = self.sets.get(name).cloned() else {
            self.report(src, t.span(), rule, Problem::UndefinedSet(name.to_string()));
            return None;
        };
        let key = (name.to_string(), self.pinyin);
        if let Some(done) = self.expanded.get(&key) {
            return done.clone();
        }
        stack.push(name.to_string());
        let mut out = Vec::new();
        let mut ok = true;
        for m in &members {
            // Members are located in their own file; report problems at the reference.
            let m = Str::new(t.span(), m.get_ref().clone());
            match self.term(src, rule, &m, stack) {
                Some(a) => out.extend(a),
                None => ok = false,
            }
        }
        stack.pop();
        out.sort();
        out.dedup();
        let result = ok.then_some(out);
        self.expanded.insert(key, result.clone());
        result
    }

    /// A literal: its folded text and every spelling under variants and pinyin.
    fn literal(&mut self, src: &Src, rule: Option<&str>, t: &Str) -> Option<Vec<Atom>> {
        let text = t.get_ref();
        let folded = fold(text);
        if folded.is_empty() {
            self.report(src, t.span(), rule, Problem::LiteralFoldsToNothing(text.clone()));
            return None;
        }
        let limit = self.limits.spellings_per_literal;
        let mut all = match super::spellings::spellings(&self.variants, &folded, limit) {
            Ok(all) => all,
            Err(so_far) => {
                let problem = Problem::TooManySpellings { literal: text.clone(), limit, so_far };
                self.report(src, t.span(), rule, problem);
                return None;
            }
        };
        if self.pinyin {
            add_pinyin_spellings(&folded, &mut all, limit);
        }
        if !self.count_literals(src, t.span(), rule, &all) {
            return None;
        }
        Some(all.into_iter().map(Atom::Literal).collect())
    }
}
