//! Pass 2: each `[[rule]]` checked and resolved into a [`Rule`], then the sequence steps that
//! name rules and categories checked against the whole set.
//!
//! A rule is checked in full even when an early part is wrong, so one `fanzha check` lists
//! every mistake; only a rule without errors is kept.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::codes::Problem;
use super::conditions::positive;
use super::format::{PackFile, RuleRaw, Str};
use super::{valid_name, Context, Src};
use crate::rules::{Cond, Counter, Kinds, Rule, Stateful, StepMatch};

/// A sequence step naming another rule or a category, checked once every rule is known.
struct Reference<'a> {
    src: &'a Src<'a>,
    span: Range<usize>,
    from: String,
    matcher: StepMatch,
}

/// What pass 2 has so far.
#[derive(Default)]
struct Pass<'a> {
    rules: Vec<Rule>,
    references: Vec<Reference<'a>>,
    ids: HashSet<String>,
}

/// Pass 2: every rule of every file, in order, with sequence steps checked at the end.
pub(super) fn resolve_rules<'a>(cx: &mut Context, files: &[(&'a Src<'a>, &PackFile)]) -> Vec<Rule> {
    let mut pass = Pass::default();
    for (src, file) in files {
        cx.pinyin = file.pack.pinyin.unwrap_or(true);
        let pack_counters: Vec<Counter> =
            file.counter.iter().filter_map(|c| cx.counter(src, None, c)).collect();
        if cx.too_many_rules(src, &file.rule) {
            continue;
        }
        for raw in &file.rule {
            if let Some(rule) = cx.rule(src, raw, &pack_counters, &mut pass) {
                pass.rules.push(rule);
            }
        }
    }
    let declared = Declared::new(files);
    for r in &pass.references {
        if let Some(problem) = declared.problem(&r.matcher) {
            cx.report(r.src, r.span.clone(), Some(&r.from), problem);
        }
    }
    pass.rules
}

/// The rules and categories the files declare, whether or not the rules resolved: a step
/// naming a rule that has errors of its own is not an error too (one cause, one error).
struct Declared<'f> {
    /// Rule id → whether the rule is a sequence.
    rules: HashMap<&'f str, bool>,
    categories: HashSet<&'f str>,
}

impl<'f> Declared<'f> {
    fn new(files: &[(&Src, &'f PackFile)]) -> Declared<'f> {
        let all = files.iter().flat_map(|(_, f)| &f.rule);
        Declared {
            rules: all.clone().map(|r| (r.id.get_ref().as_str(), r.sequence.is_some())).collect(),
            categories: all.map(|r| r.category.get_ref().as_str()).collect(),
        }
    }

    /// What is wrong with a step naming `matcher`.
    fn problem(&self, matcher: &StepMatch) -> Option<Problem> {
        match matcher {
            StepMatch::Rule(id) => match self.rules.get(id.as_str()) {
                None => Some(Problem::StepUndefinedRule(id.clone())),
                Some(true) => Some(Problem::StepNamesSequence(id.clone())),
                Some(false) => None,
            },
            StepMatch::Category(c) if !self.categories.contains(c.as_str()) => {
                Some(Problem::StepUndefinedCategory(c.clone()))
            }
            _ => None,
        }
    }
}

/// What a rule says about itself: its id, category, group, kinds and points.
struct Header {
    kinds: Kinds,
    points: u32,
}

impl Context {
    /// One rule, or `None` when it has an error (reported).
    fn rule<'a>(
        &mut self,
        src: &'a Src<'a>,
        raw: &RuleRaw,
        pack_counters: &[Counter],
        pass: &mut Pass<'a>,
    ) -> Option<Rule> {
        let id = raw.id.get_ref().clone();
        let rid = Some(id.as_str());
        let header = self.header(src, raw, &mut pass.ids);
        let when = self.when(src, raw);
        let stateful = self.stateful(src, raw, pass);
        let streams: Vec<_> = raw.stream.iter().filter_map(|st| self.stream(src, rid, st)).collect();
        let mut counters: Vec<Counter> =
            raw.counter.iter().filter_map(|c| self.counter(src, rid, c)).collect();
        counters.extend(pack_counters.iter().cloned());
        let examples =
            |v: &Vec<Str>| v.iter().map(|s| (s.get_ref().clone(), src.location(s.span().start))).collect();
        let when = when?;
        if raw.window.is_some() != matches!(stateful, Some(Stateful::Window(_)))
            || raw.sequence.is_some() != matches!(stateful, Some(Stateful::Sequence(_)))
        {
            return None;
        }
        Some(Rule {
            id,
            title: raw.title.clone(),
            category: raw.category.get_ref().clone(),
            kinds: header.kinds,
            points: header.points,
            advice: raw.advice.clone(),
            tags: raw.tags.clone(),
            group: raw.group.as_ref().map(|g| g.get_ref().clone()),
            when,
            stateful,
            counters,
            examples_match: examples(&raw.examples.matches),
            examples_no_match: examples(&raw.examples.no_match),
            examples_stream: streams,
            location: src.location(raw.id.span().start),
        })
    }

    /// The id (unique and well formed), category, group, kinds and points. Their errors do not
    /// stop the rule from being checked further; the build fails on them all the same.
    fn header(&mut self, src: &Src, raw: &RuleRaw, ids: &mut HashSet<String>) -> Header {
        let id = raw.id.get_ref();
        let rid = Some(id.as_str());
        if !valid_name(&id.replace('.', "_")) || id.is_empty() {
            self.report(src, raw.id.span(), rid, Problem::BadRuleId);
        }
        if !ids.insert(id.clone()) {
            self.report(src, raw.id.span(), rid, Problem::DuplicateRule(id.clone()));
        }
        let category = raw.category.get_ref();
        if category.is_empty()
            || !category.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            self.report(src, raw.category.span(), rid, Problem::BadCategory);
        }
        if let Some(g) = &raw.group {
            if !valid_name(&g.get_ref().replace('.', "_")) {
                self.report(src, g.span(), rid, Problem::BadGroup);
            }
        }
        let mut kinds = Kinds { message: raw.kinds.is_empty(), transaction: false };
        for k in &raw.kinds {
            match k.get_ref().as_str() {
                "message" => kinds.message = true,
                "transaction" => kinds.transaction = true,
                other => self.report(src, k.span(), rid, Problem::UnknownKind(other.to_string())),
            }
        }
        let points = *raw.points.get_ref();
        if !(0..=1000).contains(&points) {
            self.report(src, raw.points.span(), rid, Problem::PointsOutOfRange);
        }
        Header { kinds, points: points.clamp(0, 1000) as u32 }
    }

    /// The rule's `when`: `Some(None)` for a sequence without one, `None` on an error.
    fn when(&mut self, src: &Src, raw: &RuleRaw) -> Option<Option<Cond>> {
        let rid = Some(raw.id.get_ref().as_str());
        let Some(w) = &raw.when else {
            if raw.sequence.is_some() {
                return Some(None);
            }
            return self.fail(src, raw.id.span(), rid, Problem::MissingWhen);
        };
        let cond = self.cond(src, rid, w.get_ref(), w.span(), 0);
        if cond.as_ref().is_some_and(|c| !positive(c)) {
            self.report(src, w.span(), rid, Problem::NothingPositive);
        }
        cond.map(Some)
    }

    /// The rule's window or sequence; a sequence's steps that name others are kept in `pass`.
    fn stateful<'a>(&mut self, src: &'a Src<'a>, raw: &RuleRaw, pass: &mut Pass<'a>) -> Option<Stateful> {
        let rid = Some(raw.id.get_ref().as_str());
        match (&raw.window, &raw.sequence) {
            (Some(_), Some(s)) => self.fail(src, s.span(), rid, Problem::WindowAndSequence),
            (Some(w), None) => self.window(src, rid, w).map(|w| Stateful::Window(Box::new(w))),
            (None, Some(s)) => {
                let seq = self.sequence(src, rid, s, raw.when.is_some())?;
                for (step, raw_step) in seq.steps.iter().zip(&s.get_ref().steps) {
                    if step.matcher != StepMatch::Own {
                        pass.references.push(Reference {
                            src,
                            span: raw_step.span(),
                            from: raw.id.get_ref().clone(),
                            matcher: step.matcher.clone(),
                        });
                    }
                }
                Some(Stateful::Sequence(seq))
            }
            (None, None) => None,
        }
    }
}
