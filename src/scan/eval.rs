//! Evaluating a compiled condition against the atoms, amounts and fields of one event.

use super::Scratch;
use crate::compile::program::{AtomList, Node};
use crate::compile::Compiled;
use crate::event::{Event, FieldValue};
use crate::rules::{FieldCmp, Scalar};

/// How many partial combinations an unordered `near` may try before giving up on a message:
/// bounds the work of many groups over many repeated terms. Candidates are first narrowed to
/// those within reach, so ordinary padding does not come near it.
const NEAR_BUDGET: usize = 100_000;

impl Scratch {
    pub(super) fn present(&mut self, inner: &Compiled, atom: u32) -> bool {
        !self.atom_hits(inner, atom).is_empty()
    }

    /// Whether any atom of a list appears: one look-up for the literals (the list was marked
    /// when its literals were found), and the regexes, run only when asked for.
    pub(super) fn any_present(&mut self, inner: &Compiled, list: &AtomList) -> bool {
        if self.list_stamp[list.id as usize] == self.stamp {
            return true;
        }
        let split = list.atoms.partition_point(|&a| a < inner.literal_count());
        list.atoms[split..].iter().any(|&a| self.present(inner, a))
    }

    /// Appends the atoms of a list that appear, literals first.
    pub(super) fn present_atoms(&mut self, inner: &Compiled, list: &AtomList, out: &mut Vec<u32>) {
        let split = list.atoms.partition_point(|&a| a < inner.literal_count());
        let (literals, regexes) = list.atoms.split_at(split);
        if self.list_stamp[list.id as usize] == self.stamp {
            // A set holds thousands of spellings, a message hits a handful of literals:
            // check from whichever side is smaller.
            if literals.len() <= 4 * self.hit_atoms.len() {
                out.extend(literals.iter().filter(|&&a| self.ranges[a as usize].0 == self.stamp));
            } else {
                out.extend(self.hit_atoms.iter().filter(|a| literals.binary_search(a).is_ok()));
            }
        }
        for &a in regexes {
            if self.present(inner, a) {
                out.push(a);
            }
        }
    }

    pub(super) fn eval(&mut self, inner: &Compiled, node: &Node, event: Option<&Event>) -> bool {
        match node {
            Node::Any(atoms) => self.any_present(inner, atoms),
            Node::All(slots) => slots.iter().all(|s| self.any_present(inner, s)),
            Node::None(atoms) => !self.any_present(inner, atoms),
            Node::Near { groups, within, ordered } => self.near(inner, groups, *within, *ordered),
            Node::Amount(cmp) => self.amounts().iter().any(|a| cmp.holds_fen(a.fen)),
            Node::Field(f) => field_holds(f, event),
            Node::AllOf(v) => v.iter().all(|c| self.eval(inner, c, event)),
            Node::AnyOf(v) => v.iter().any(|c| self.eval(inner, c, event)),
            Node::NoneOf(v) => !v.iter().any(|c| self.eval(inner, c, event)),
        }
    }

    fn near(&mut self, inner: &Compiled, groups: &[AtomList], within: u32, ordered: bool) -> bool {
        // Every group must appear at all: a look-up per list, before gathering positions and
        // indexing characters for the first groups only to find a later one absent.
        if !groups.iter().all(|g| self.any_present(inner, g)) {
            return false;
        }
        // Positions in folded characters, all groups in one reused buffer: `near` runs for
        // candidate rules of ordinary messages too, and must not allocate there.
        let mut pos = std::mem::take(&mut self.near_positions);
        let mut bounds = std::mem::take(&mut self.near_bounds);
        pos.clear();
        bounds.clear();
        let mut present = std::mem::take(&mut self.near_atoms);
        let mut all_present = true;
        for g in groups {
            let start = pos.len();
            present.clear();
            self.present_atoms(inner, g, &mut present);
            for &a in &present {
                let (stamp, s, e) = self.ranges[a as usize];
                if stamp != self.stamp {
                    continue;
                }
                self.folded.index_chars();
                for h in &self.hits[s as usize..e as usize] {
                    pos.push((
                        self.folded.char_index(h.start as usize),
                        self.folded.char_index(h.end as usize),
                    ));
                }
            }
            if pos.len() == start {
                all_present = false;
                break;
            }
            pos[start..].sort_unstable();
            bounds.push((start, pos.len()));
        }
        let found = all_present && {
            if ordered {
                let (mut reach, mut next) =
                    (std::mem::take(&mut self.near_reach), std::mem::take(&mut self.near_next));
                let found = near_ordered(&pos, &bounds, within as i64, &mut reach, &mut next);
                (self.near_reach, self.near_next) = (reach, next);
                found
            } else {
                let mut budget = NEAR_BUDGET;
                let mut picked = std::mem::take(&mut self.near_picked);
                picked.clear();
                let found = near_unordered(
                    &pos,
                    &bounds,
                    &mut picked,
                    i64::MAX,
                    i64::MIN,
                    within as i64,
                    &mut budget,
                );
                self.near_picked = picked;
                found
            }
        };
        self.near_positions = pos;
        self.near_bounds = bounds;
        self.near_atoms = present;
        found
    }
}

/// Ordered: a chain of one hit per group, each starting no earlier than the one before and at
/// most `within` characters after its end. Hits are sorted by start, so for each hit only the
/// previous group's hits that start in `[start - within - longest, start]` can precede it:
/// a message padded with thousands of one term stays linear rather than quadratic.
fn near_ordered(
    pos: &[(u32, u32)],
    bounds: &[(usize, usize)],
    within: i64,
    reach: &mut Vec<(u32, u32)>,
    next: &mut Vec<(u32, u32)>,
) -> bool {
    reach.clear();
    reach.extend_from_slice(&pos[bounds[0].0..bounds[0].1]);
    for &(s, e) in &bounds[1..] {
        let longest = reach.iter().map(|&(a, b)| b - a).max().unwrap_or(0) as i64;
        next.clear();
        for &(start, end) in &pos[s..e] {
            let lowest = start as i64 - within - longest;
            let lo = reach.partition_point(|&(qs, _)| (qs as i64) < lowest);
            let hi = reach.partition_point(|&(qs, _)| qs <= start);
            let ok = reach[lo..hi.max(lo)]
                .iter()
                .any(|&(qs, qe)| (start as i64 - qe as i64) <= within && !nested((qs, qe), (start, end)));
            if ok {
                next.push((start, end));
            }
        }
        if next.is_empty() {
            return false;
        }
        std::mem::swap(reach, next);
    }
    true
}

/// Unordered: one hit per group with max(start) − min(end) ≤ `within`. Adding a hit can only
/// widen that, so a partial pick over the bound is abandoned early.
fn near_unordered(
    pos: &[(u32, u32)],
    bounds: &[(usize, usize)],
    picked: &mut Vec<(u32, u32)>,
    min_end: i64,
    max_start: i64,
    within: i64,
    budget: &mut usize,
) -> bool {
    let Some((&(s, e), rest)) = bounds.split_first() else { return true };
    let group = &pos[s..e];
    // Only hits that start within reach of what is picked so far can keep the window under
    // `within`; the group is sorted by start, so find that range instead of walking it all.
    let (lo, hi) = if picked.is_empty() {
        (0, group.len())
    } else {
        let longest = group.iter().map(|&(a, b)| b - a).max().unwrap_or(0) as i64;
        let lowest = max_start - within - longest;
        let highest = min_end + within;
        (
            group.partition_point(|&(hs, _)| (hs as i64) < lowest),
            group.partition_point(|&(hs, _)| (hs as i64) <= highest),
        )
    };
    for &(hs, he) in &group[lo..hi.max(lo)] {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let (me, ms) = (min_end.min(he as i64), max_start.max(hs as i64));
        if ms - me > within || picked.iter().any(|&p| nested(p, (hs, he))) {
            continue;
        }
        picked.push((hs, he));
        let found = near_unordered(pos, rest, picked, me, ms, within, budget);
        picked.pop();
        if found {
            return true;
        }
    }
    false
}

/// Whether one span lies within the other: then it is one occurrence, not two terms near
/// each other (`先出票` does not satisfy `near = [["先出票"], ["出票"]]` on its own).
fn nested(a: (u32, u32), b: (u32, u32)) -> bool {
    (a.0 <= b.0 && b.1 <= a.1) || (b.0 <= a.0 && a.1 <= b.1)
}

fn scalar_eq(v: &FieldValue<'_>, s: &Scalar) -> bool {
    match (v, s) {
        (FieldValue::Str(a), Scalar::Str(b)) => a == b,
        (FieldValue::Num(a), Scalar::Num(b)) => a == b,
        (FieldValue::Fen(a), Scalar::Num(b)) => *a as i128 == (b * 100.0).round() as i128,
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
            FieldValue::Fen(fen) if f.num.holds_fen(fen) => {}
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

#[cfg(test)]
mod tests {
    use crate::event::Event;
    use crate::rules::RuleSet;
    use crate::scan::Engine;

    fn engine(when: &str) -> Engine {
        let src = format!(
            "[pack]\nid = \"t\"\nversion = \"1\"\npinyin = false\n[[rule]]\nid = \"t.r\"\ntitle = \"r\"\ncategory = \"c\"\npoints = 50\nkinds = [\"message\", \"transaction\"]\nwhen = {when}\n"
        );
        Engine::new(&RuleSet::from_str("t.toml", &src).unwrap()).unwrap()
    }

    fn hits(e: &Engine, text: &str) -> bool {
        !e.scan_text(text).hits.is_empty()
    }

    #[test]
    fn near_counts_the_gap_in_folded_characters() {
        let e = engine("{ near = [[\"先\"], [\"出票\"]], within = 3 }");
        assert!(hits(&e, "先出票"));
        assert!(hits(&e, "先帮我出票"));
        assert!(hits(&e, "先，帮 我 们 出票"), "separators between CJK do not count");
        assert!(!hits(&e, "先帮我们都出票"));
        assert!(hits(&e, "出票先"), "unordered by default");
    }

    #[test]
    fn one_occurrence_does_not_fill_two_groups() {
        let e = engine("{ near = [[\"先出票\", \"先\"], [\"出票\"]], within = 3 }");
        assert!(!hits(&e, "老板出票"));
        assert!(hits(&e, "先出票"), "先 and 出票 are two occurrences");
        let e = engine("{ near = [[\"先出票\"], [\"出票\"]], within = 3 }");
        assert!(!hits(&e, "先出票"));
        assert!(hits(&e, "先出票，出票"));
        let e = engine("{ near = [[\"先出票\"], [\"出票\"]], within = 3, ordered = true }");
        assert!(!hits(&e, "先出票"));
    }

    #[test]
    fn ordered_near_needs_the_groups_in_order() {
        let e = engine("{ near = [[\"先\"], [\"出票\"], [\"付\"]], within = 4, ordered = true }");
        assert!(hits(&e, "先出票再付"));
        assert!(!hits(&e, "付了先出票"));
        assert!(!hits(&e, "出票先付"));
        assert!(hits(&e, "付了先出票后付"), "a later occurrence can complete the chain");
    }

    #[test]
    fn padding_with_thousands_of_one_term_does_not_hide_a_match() {
        let ordered = engine("{ near = [[\"先\"], [\"出票\"], [\"钱\"]], within = 3, ordered = true }");
        let unordered = engine("{ near = [[\"先\"], [\"出票\"], [\"钱\"]], within = 5 }");
        let text = format!("{}帮出票{}转钱", "先".repeat(3000), "出票".repeat(3000));
        assert!(!hits(&ordered, &text), "钱 is 6000 characters from the last 先");
        let text = format!("{}先帮出票转钱{}", "先".repeat(3000), "出票".repeat(3000));
        assert!(hits(&ordered, &text));
        assert!(hits(&unordered, &text));
        let text = format!("{}钱出票先{}", "出票".repeat(3000), "钱".repeat(3000));
        assert!(hits(&unordered, &text));
    }

    #[test]
    fn unordered_near_with_three_groups_needs_one_window() {
        let e = engine("{ near = [[\"甲\"], [\"乙\"], [\"丙\"]], within = 2 }");
        assert!(hits(&e, "丙甲乙"));
        assert!(hits(&e, "甲x乙丙"));
        assert!(!hits(&e, "甲xx乙丙"));
    }

    #[test]
    fn field_operators() {
        let e = engine("{ field = { name = \"channel\", in = [\"wechat\", \"qq\"] }, all_of = [{ field = { name = \"memo\", contains = \"大樂透\" } }, { field = { name = \"vip\", exists = false } }] }");
        let ev = |json: &str| Event::from_json(json).unwrap();
        assert!(!e
            .scan(&ev(r#"{"kind":"transaction","amount":1,"channel":"wechat","memo":"大乐透 10注"}"#))
            .hits
            .is_empty());
        assert!(e
            .scan(&ev(r#"{"kind":"transaction","amount":1,"channel":"sms","memo":"大乐透"}"#))
            .hits
            .is_empty());
        assert!(e
            .scan(&ev(r#"{"kind":"transaction","amount":1,"channel":"qq","memo":"大乐透","vip":true}"#))
            .hits
            .is_empty());
        let ne = engine("{ any = [\"票\"], field = { name = \"sender\", ne = \"owner\" } }");
        assert!(!ne.scan(&Event::message("出票").with_field("sender", "u1")).hits.is_empty());
        assert!(!ne.scan(&Event::message("出票")).hits.is_empty(), "ne holds when the field is absent");
        assert!(ne.scan(&Event::message("出票").with_field("sender", "owner")).hits.is_empty());
    }

    #[test]
    fn transaction_amounts_compare_exactly_in_fen() {
        let e = engine("{ field = { name = \"amount\", eq = 0.3 } }");
        let t = |a: &str| Event::from_json(&format!(r#"{{"kind":"transaction","amount":{a}}}"#)).unwrap();
        // 0.1 + 0.2 is 0.30000000000000004 as a float; as money it is 0.3 yuan.
        assert!(!e.scan(&t(&(0.1f64 + 0.2).to_string())).hits.is_empty());
        assert!(!e.scan(&t("0.3")).hits.is_empty());
        assert!(e.scan(&t("0.31")).hits.is_empty());
        let ge = engine("{ field = { name = \"amount\", ge = 5000 } }");
        assert!(!ge.scan(&t("5000")).hits.is_empty());
        assert!(ge.scan(&t("4999.99")).hits.is_empty());
    }

    #[test]
    fn time_of_day_fields() {
        let night = engine("{ field = { name = \"hour\", ge = 22 } }");
        let at = |ts: &str| {
            Event::from_json(&format!(r#"{{"kind":"transaction","amount":1,"ts":"{ts}"}}"#)).unwrap()
        };
        assert!(!night.scan(&at("2025-05-19T23:10:00+08:00")).hits.is_empty());
        assert!(night.scan(&at("2025-05-19T15:10:00Z")).hits.is_empty(), "15:10 in its own offset");
    }

    #[test]
    fn amounts_compare_in_yuan() {
        let e = engine("{ any = [\"票\"], amount = { ge = 5000, lt = 100000 } }");
        assert!(hits(&e, "出五千的票"));
        assert!(hits(&e, "出5k的票"));
        assert!(hits(&e, "出兩萬塊的票"));
        assert!(!hits(&e, "出四千九的票"));
        assert!(!hits(&e, "出十万的票"));
    }
}
