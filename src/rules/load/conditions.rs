//! The `when` trees: term lists (`any`, `all`, `none`, `near`), comparisons (`amount`,
//! `field`), the nesting (`all_of`, `any_of`, `none_of`) and counters, which are conditions
//! with an effect on the score.
//!
//! A condition with any error resolves to nothing, but every part of it is still checked, so
//! an author sees all of its mistakes at once.

use std::ops::Range;

use super::codes::Problem;
use super::format::{CompareRaw, CondRaw, CounterRaw};
use super::{Context, Src};
use crate::normalize::fold;
use crate::rules::{Cond, Counter, FieldCmp, NumCmp, Scalar};
use crate::verdict::Level;

/// Default `within` for `near`, in folded characters.
const DEFAULT_WITHIN: u32 = 20;

/// A comparison operand as a scalar; arrays and tables are not.
fn scalar(v: &toml::Value) -> Option<Scalar> {
    match v {
        toml::Value::String(s) => Some(Scalar::Str(s.clone())),
        toml::Value::Integer(i) => Some(Scalar::Num(*i as f64)),
        toml::Value::Float(f) => Some(Scalar::Num(*f)),
        toml::Value::Boolean(b) => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

/// Whether a condition looks for something rather than only for absence.
pub(super) fn positive(c: &Cond) -> bool {
    match c {
        Cond::Any(_) | Cond::All(_) | Cond::Near { .. } | Cond::Amount(_) | Cond::Field(_) => true,
        Cond::None(_) | Cond::NoneOf(_) => false,
        Cond::AllOf(v) => v.iter().any(positive),
        Cond::AnyOf(v) => !v.is_empty() && v.iter().all(positive),
    }
}

impl Context {
    pub(super) fn counter(&mut self, src: &Src, rule: Option<&str>, raw: &CounterRaw) -> Option<Counter> {
        let when = self.cond(src, rule, raw.when.get_ref(), raw.when.span(), 0)?;
        let max_level = raw.max_level.as_ref().and_then(|l| match l.get_ref().as_str() {
            "none" => Some(Level::None),
            "notice" => Some(Level::Notice),
            "warn" => Some(Level::Warn),
            "block" => Some(Level::Block),
            other => {
                self.report(src, l.span(), rule, Problem::UnknownLevel(other.to_string()));
                None
            }
        });
        let points = raw.points.unwrap_or(0);
        if points > 0 {
            self.report(src, raw.when.span(), rule, Problem::CounterPointsPositive);
        }
        if raw.cancel.is_none() && raw.points.is_none() && raw.cap.is_none() && raw.max_level.is_none() {
            self.report(src, raw.when.span(), rule, Problem::CounterWithoutEffect);
        }
        Some(Counter { when, cancel: raw.cancel.unwrap_or(false), points, cap: raw.cap, max_level })
    }

    /// A condition table: every key present must hold, so several keys make an `AllOf`.
    pub(super) fn cond(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &CondRaw,
        span: Range<usize>,
        depth: usize,
    ) -> Option<Cond> {
        if self.too_deep(src, span.clone(), rule, depth) {
            return None;
        }
        let mut parts = Vec::new();
        let mut ok = self.term_parts(src, rule, raw, &span, &mut parts);
        ok &= self.compare_parts(src, rule, raw, &mut parts);
        ok &= self.nested_parts(src, rule, raw, &span, depth, &mut parts);
        if parts.is_empty() && ok {
            self.report(src, span, rule, Problem::EmptyCondition);
            return None;
        }
        if !ok {
            return None;
        }
        Some(if parts.len() == 1 { parts.pop().unwrap() } else { Cond::AllOf(parts) })
    }

    /// `any`, `all`, `none` and `near` (with `within` and `ordered`); false on an error.
    fn term_parts(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &CondRaw,
        span: &Range<usize>,
        parts: &mut Vec<Cond>,
    ) -> bool {
        let mut ok = true;
        if let Some(terms) = &raw.any {
            match self.terms_flat(src, rule, terms, span) {
                Some(atoms) => parts.push(Cond::Any(atoms)),
                None => ok = false,
            }
        }
        if let Some(terms) = &raw.all {
            let mut slots = Vec::new();
            for t in terms {
                match self.term(src, rule, t, &mut Vec::new()) {
                    Some(a) => slots.push(a),
                    None => ok = false,
                }
            }
            if terms.is_empty() {
                self.report(src, span.clone(), rule, Problem::EmptyAll);
                ok = false;
            }
            parts.push(Cond::All(slots));
        }
        if let Some(terms) = &raw.none {
            match self.terms_flat(src, rule, terms, span) {
                Some(atoms) => parts.push(Cond::None(atoms)),
                None => ok = false,
            }
        }
        ok & self.near_part(src, rule, raw, span, parts)
    }

    fn near_part(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &CondRaw,
        span: &Range<usize>,
        parts: &mut Vec<Cond>,
    ) -> bool {
        let Some(groups) = &raw.near else {
            if raw.within.is_some() || raw.ordered.is_some() {
                self.report(src, span.clone(), rule, Problem::WithinWithoutNear);
                return false;
            }
            return true;
        };
        let mut ok = true;
        if groups.len() < 2 {
            self.report(src, span.clone(), rule, Problem::NearNeedsTwoGroups);
            ok = false;
        }
        let mut out = Vec::new();
        for g in groups {
            match self.terms_flat(src, rule, g, span) {
                Some(atoms) => out.push(atoms),
                None => ok = false,
            }
        }
        let within = raw.within.as_ref().map(|w| *w.get_ref()).unwrap_or(DEFAULT_WITHIN);
        parts.push(Cond::Near { groups: out, within, ordered: raw.ordered.unwrap_or(false) });
        ok
    }

    /// `amount` and `field`; false on an error.
    fn compare_parts(&mut self, src: &Src, rule: Option<&str>, raw: &CondRaw, parts: &mut Vec<Cond>) -> bool {
        let mut ok = true;
        if let Some(cmp) = &raw.amount {
            match self.compare(src, rule, cmp.get_ref(), cmp.span(), false) {
                Some(FieldCmp { num, .. }) => parts.push(Cond::Amount(num)),
                None => ok = false,
            }
        }
        if let Some(cmp) = &raw.field {
            match self.compare(src, rule, cmp.get_ref(), cmp.span(), true) {
                Some(f) => parts.push(Cond::Field(f)),
                None => ok = false,
            }
        }
        ok
    }

    /// `all_of`, `any_of` and `none_of`, one level deeper; false on an error.
    fn nested_parts(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &CondRaw,
        span: &Range<usize>,
        depth: usize,
        parts: &mut Vec<Cond>,
    ) -> bool {
        let mut ok = true;
        for (list, make) in [
            (&raw.all_of, Cond::AllOf as fn(Vec<Cond>) -> Cond),
            (&raw.any_of, Cond::AnyOf),
            (&raw.none_of, Cond::NoneOf),
        ] {
            let Some(list) = list else { continue };
            if list.is_empty() {
                self.report(src, span.clone(), rule, Problem::EmptyConditionList);
                ok = false;
            }
            let mut subs = Vec::new();
            for c in list {
                match self.cond(src, rule, c.get_ref(), c.span(), depth + 1) {
                    Some(c) => subs.push(c),
                    None => ok = false,
                }
            }
            parts.push(make(subs));
        }
        ok
    }

    /// `amount = { ... }` (`field` false: numbers only, no name) or `field = { name, ... }`.
    fn compare(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &CompareRaw,
        span: Range<usize>,
        field: bool,
    ) -> Option<FieldCmp> {
        let name = match (&raw.name, field) {
            (Some(n), true) => n.clone(),
            (None, true) => return self.fail(src, span, rule, Problem::FieldWithoutName),
            (Some(_), false) => return self.fail(src, span, rule, Problem::AmountWithName),
            (None, false) => String::new(),
        };
        let num_eq = match (&raw.eq, field) {
            (Some(v), false) => match scalar(v) {
                Some(Scalar::Num(n)) => Some(n),
                _ => return self.fail(src, span, rule, Problem::NotANumber("amount")),
            },
            _ => None,
        };
        let num = NumCmp::new(raw.ge, raw.gt, raw.le, raw.lt, num_eq);
        if !num.is_finite() {
            return self.fail(src, span, rule, Problem::NotFinite);
        }
        let mut out = FieldCmp {
            name,
            eq: if field { raw.eq.as_ref().and_then(scalar) } else { None },
            ne: raw.ne.as_ref().and_then(scalar),
            one_of: raw.one_of.as_ref().map(|v| v.iter().filter_map(scalar).collect()),
            num,
            contains: raw.contains.as_ref().map(|s| fold(s)),
            exists: raw.exists,
        };
        if let Some(problem) = operator_problem(raw, &out, field) {
            return self.fail(src, span, rule, problem);
        }
        if out.contains.as_ref().is_some_and(String::is_empty) {
            out.contains = None;
        }
        Some(out)
    }

    /// Reports `problem` and gives up on what it is in.
    pub(super) fn fail<T>(
        &mut self,
        src: &Src,
        span: Range<usize>,
        rule: Option<&str>,
        problem: Problem,
    ) -> Option<T> {
        self.report(src, span, rule, problem);
        None
    }
}

/// What is wrong with a comparison's operators: `amount` takes numeric ones only, and either
/// needs at least one.
fn operator_problem(raw: &CompareRaw, out: &FieldCmp, field: bool) -> Option<Problem> {
    if !field {
        if raw.ne.is_some() || raw.one_of.is_some() || raw.contains.is_some() || raw.exists.is_some() {
            return Some(Problem::NumericOperatorsOnly("amount"));
        }
        return (out.num == NumCmp::default()).then_some(Problem::NoNumericOperator("amount"));
    }
    let none = out.eq.is_none()
        && out.ne.is_none()
        && out.one_of.is_none()
        && out.num == NumCmp::default()
        && out.contains.is_none()
        && out.exists.is_none();
    none.then_some(Problem::FieldWithoutOperator)
}
