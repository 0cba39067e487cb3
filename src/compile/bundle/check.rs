//! Checks of a decoded rule program: every index it holds points inside the array it indexes,
//! and it fits the reader's limits. The scanner, scorer and monitor index without checking
//! (compiling guarantees these), so a bundle must prove them before it is used.

use super::super::program::{AtomList, Node};
use super::super::stateful::Matcher;
use super::super::{Compiled, Rows};
use crate::limits::Limits;

/// The bundle's own limits may not exceed the reader's where they bound what the rules cost.
pub(super) fn within_limits(c: &Compiled, reader: &Limits) -> Result<(), String> {
    let own = &c.limits;
    let pairs = [
        ("literals", own.literals, reader.literals),
        ("condition_depth", own.condition_depth, reader.condition_depth),
        ("regex_bytes", own.regex_bytes, reader.regex_bytes),
        ("compiled_bytes", own.compiled_bytes, reader.compiled_bytes),
    ];
    for (name, bundle, allowed) in pairs {
        if bundle > allowed {
            return Err(format!(
                "the bundle was compiled with the limit {name} = {bundle}, above this reader's {allowed}: \
                 load it with limits at least as high"
            ));
        }
    }
    if c.literal_count as usize > own.literals {
        return Err(format!("{} literals, more than the limit of {}", c.literal_count, own.literals));
    }
    Ok(())
}

fn rows(name: &str, r: &Rows, count: usize, bound: usize) -> Result<(), String> {
    if r.start.len() != count + 1 {
        return Err(format!("{name} has {} rows, not {count}", r.start.len().saturating_sub(1)));
    }
    if r.start.first() != Some(&0) || r.start.last().map(|&l| l as usize) != Some(r.items.len()) {
        return Err(format!("{name} does not span its items"));
    }
    if r.start.windows(2).any(|w| w[0] > w[1]) {
        return Err(format!("{name} has rows out of order"));
    }
    items(name, &r.items, bound)
}

fn items(name: &str, items: &[u32], bound: usize) -> Result<(), String> {
    match items.iter().find(|&&i| i as usize >= bound) {
        Some(i) => Err(format!("{name} refers to {i}, past {bound}")),
        None => Ok(()),
    }
}

fn list(name: &str, l: &AtomList, lists: usize) -> Result<(), String> {
    if l.id as usize >= lists {
        return Err(format!("{name}: atom list {} past {lists}", l.id));
    }
    Ok(())
}

fn node(name: &str, n: &Node, lists: usize, depth: usize) -> Result<(), String> {
    if n.depth() > depth {
        return Err(format!("{name}: conditions nest deeper than {depth}"));
    }
    let mut all = Vec::new();
    n.lists(&mut all);
    all.iter().try_for_each(|l| list(name, l, lists))
}

/// Every index of the program is in range.
pub(super) fn consistent(c: &Compiled) -> Result<(), String> {
    let literals = c.literal_count as usize;
    let regexes = c.regex_sources.len();
    let atoms = literals + regexes;
    let rules = c.rules.len();
    let lists = c.lists.len();
    for l in c.lists.iter() {
        items("an atom list", l, atoms)?;
    }
    if c.edges.len() != literals {
        return Err(format!("{} pattern edges for {literals} literals", c.edges.len()));
    }
    // A match is never empty: its span must have a first character.
    if let Some(p) = (0..literals).find(|&p| c.edges(p).len == 0) {
        return Err(format!("literal {p} has no length"));
    }
    if [c.regex_gated.len(), c.regex_anchored.len(), c.regex_min_len.len()] != [regexes; 3] {
        return Err("the regex tables differ in length".to_string());
    }
    rows("triggers", &c.triggers, literals, rules)?;
    rows("regex triggers", &c.regex_triggers, regexes, rules)?;
    rows("arms", &c.arms, literals, regexes)?;
    rows("anchors", &c.anchors, literals, regexes)?;
    // The postings are the lists' index: any other content would make a hit skip lists it is
    // in, or count it in lists it is not.
    let derived = Rows::postings(&c.lists, c.literal_count);
    if *c.postings.start != *derived.start || *c.postings.items != *derived.items {
        return Err("the postings are not those of the atom lists".to_string());
    }
    items("always", &c.always, rules)?;
    let depth = c.limits.condition_depth;
    for r in c.rules.iter() {
        let name = format!("rule `{}`", r.id);
        node(&name, &r.when, lists, depth)?;
        list(&name, &r.evidence_atoms, lists)?;
        for k in r.counters.iter() {
            node(&name, &k.when, lists, depth)?;
        }
    }
    let s = &c.stateful;
    let fields = s.fields.len();
    let field = |f: u16| if (f as usize) < fields { Ok(()) } else { Err(format!("field {f} past {fields}")) };
    if s.rule_category.len() != rules || s.rule_window.len() != rules {
        return Err("the per-rule stateful tables differ in length from the rules".to_string());
    }
    for t in s.trackers.iter() {
        field(t.key)?;
        field(t.value)?;
    }
    let tracker = |t: Option<usize>| match t {
        Some(t) if t >= s.trackers.len() => Err(format!("tracker {t} past {}", s.trackers.len())),
        _ => Ok(()),
    };
    for w in s.windows.iter() {
        if w.rule as usize >= rules {
            return Err(format!("a window of rule {} past {rules}", w.rule));
        }
        field(w.key)?;
        if let Some((f, _)) = &w.distinct {
            field(*f)?;
        }
        tracker(w.new)?;
    }
    if let Some(w) = s.rule_window.iter().flatten().find(|&&w| w as usize >= s.windows.len()) {
        return Err(format!("window {w} past {}", s.windows.len()));
    }
    for q in s.sequences.iter() {
        if q.rule as usize >= rules {
            return Err(format!("a sequence of rule {} past {rules}", q.rule));
        }
        let (Some(first), Some(last)) = (q.steps.first(), q.steps.last()) else {
            return Err("a sequence without steps".to_string());
        };
        if first.negated || last.negated {
            return Err("a sequence that starts or ends with a negated step".to_string());
        }
        for (i, step) in q.steps.iter().enumerate() {
            field(step.key)?;
            match step.matcher {
                Matcher::Rule(r) if r as usize >= rules => {
                    return Err(format!("a step of rule {r} past {rules}"))
                }
                Matcher::Own if i + 1 != q.steps.len() => {
                    return Err("a sequence whose own condition is not its last step".to_string())
                }
                _ => {}
            }
        }
        tracker(q.new)?;
    }
    Ok(())
}
