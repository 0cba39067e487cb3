//! Evaluating a compiled condition against the atoms, amounts and fields of one event.

use super::{AtomHit, Scanner};
use crate::compile::program::Node;
use crate::compile::Inner;
use crate::event::{Event, FieldValue};
use crate::rules::{FieldCmp, Scalar};

/// How many partial combinations `near` may try before giving up on a message: bounds the
/// work a message with hundreds of repeated terms can cause.
const NEAR_BUDGET: usize = 20_000;

impl Scanner {
    pub(super) fn present(&mut self, inner: &Inner, atom: u32) -> bool {
        !self.atom_hits(inner, atom).is_empty()
    }

    pub(super) fn eval(&mut self, inner: &Inner, node: &Node, event: Option<&Event>) -> bool {
        match node {
            Node::Any(atoms) => atoms.iter().any(|&a| self.present(inner, a)),
            Node::All(slots) => slots.iter().all(|s| s.iter().any(|&a| self.present(inner, a))),
            Node::None(atoms) => !atoms.iter().any(|&a| self.present(inner, a)),
            Node::Near { groups, within, ordered } => self.near(inner, groups, *within, *ordered),
            Node::Amount(cmp) => self.amounts().iter().any(|a| cmp.holds(a.fen as f64 / 100.0)),
            Node::Field(f) => field_holds(f, event),
            Node::AllOf(v) => v.iter().all(|c| self.eval(inner, c, event)),
            Node::AnyOf(v) => v.iter().any(|c| self.eval(inner, c, event)),
            Node::NoneOf(v) => !v.iter().any(|c| self.eval(inner, c, event)),
        }
    }

    fn near(&mut self, inner: &Inner, groups: &[Box<[u32]>], within: u32, ordered: bool) -> bool {
        // Positions in folded characters, per group.
        let mut per_group: Vec<Vec<(u32, u32)>> = Vec::with_capacity(groups.len());
        for g in groups {
            let mut v = Vec::new();
            for &a in g.iter() {
                let hits: Vec<AtomHit> = self.atom_hits(inner, a).to_vec();
                for h in hits {
                    v.push((
                        self.folded.char_index(h.start as usize),
                        self.folded.char_index(h.end as usize),
                    ));
                }
            }
            if v.is_empty() {
                return false;
            }
            v.sort_unstable();
            per_group.push(v);
        }
        let within = within as i64;
        if ordered {
            // Which hits of each group can end a valid chain through the groups before it.
            let mut reachable: Vec<(u32, u32)> = per_group[0].clone();
            for g in &per_group[1..] {
                let next: Vec<(u32, u32)> = g
                    .iter()
                    .copied()
                    .filter(|&(s, _)| {
                        reachable.iter().any(|&(ps, pe)| s >= ps && (s as i64 - pe as i64) <= within)
                    })
                    .collect();
                if next.is_empty() {
                    return false;
                }
                reachable = next;
            }
            true
        } else {
            let mut budget = NEAR_BUDGET;
            fn pick(
                groups: &[Vec<(u32, u32)>],
                min_end: i64,
                max_start: i64,
                within: i64,
                budget: &mut usize,
            ) -> bool {
                let Some((first, rest)) = groups.split_first() else { return true };
                for &(s, e) in first {
                    if *budget == 0 {
                        return false;
                    }
                    *budget -= 1;
                    let (me, ms) = (min_end.min(e as i64), max_start.max(s as i64));
                    if ms - me <= within && pick(rest, me, ms, within, budget) {
                        return true;
                    }
                }
                false
            }
            pick(&per_group, i64::MAX, i64::MIN, within, &mut budget)
        }
    }
}

fn scalar_eq(v: &FieldValue<'_>, s: &Scalar) -> bool {
    match (v, s) {
        (FieldValue::Str(a), Scalar::Str(b)) => a == b,
        (FieldValue::Num(a), Scalar::Num(b)) => a == b,
        (FieldValue::Bool(a), Scalar::Bool(b)) => a == b,
        _ => false,
    }
}

fn field_holds(f: &FieldCmp, event: Option<&Event>) -> bool {
    let value = event.and_then(|e| e.field(&f.name));
    if let Some(want) = f.exists {
        if value.is_some() != want {
            return false;
        }
    }
    let Some(v) = value else {
        // Absent: only `exists = false` and `ne` can hold.
        return f.eq.is_none()
            && f.one_of.is_none()
            && f.contains.is_none()
            && f.num == Default::default()
            && (f.exists == Some(false) || f.ne.is_some());
    };
    if let Some(s) = &f.eq {
        if !scalar_eq(&v, s) {
            return false;
        }
    }
    if let Some(s) = &f.ne {
        if scalar_eq(&v, s) {
            return false;
        }
    }
    if let Some(list) = &f.one_of {
        if !list.iter().any(|s| scalar_eq(&v, s)) {
            return false;
        }
    }
    if f.num != Default::default() {
        match v {
            FieldValue::Num(n) if f.num.holds(n) => {}
            _ => return false,
        }
    }
    if let Some(needle) = &f.contains {
        match v {
            FieldValue::Str(s) if crate::normalize::fold(s).contains(needle.as_str()) => {}
            _ => return false,
        }
    }
    true
}
