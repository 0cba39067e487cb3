//! Conditions compiled to a compact tree over atom ids.
//!
//! Atoms are interned: the same literal spelling or regex used by several rules is matched
//! once per message and looked up by id.

use std::collections::HashMap;

use crate::rules::{Atom, Cond, FieldCmp, NumCmp};

/// Index of an atom: literals first (their id is their automaton pattern id), then regexes.
pub(crate) type AtomId = u32;

/// A sorted list of atoms — a term's spellings, or a set — with an id of its own: the scanner
/// marks every list that contains an atom of the message once, so "does any atom of this set
/// of thousands appear?" is one look-up however large the set.
#[derive(Debug, Clone, Default)]
pub(crate) struct AtomList {
    pub id: u32,
    /// Ascending; literal atoms first, then regex atoms.
    pub atoms: Box<[AtomId]>,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Any(AtomList),
    All(Box<[AtomList]>),
    None(AtomList),
    Near { groups: Box<[AtomList]>, within: u32, ordered: bool },
    Amount(Box<NumCmp>),
    Field(Box<FieldCmp>),
    AllOf(Box<[Node]>),
    AnyOf(Box<[Node]>),
    NoneOf(Box<[Node]>),
}

/// Interns atoms while conditions are compiled.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    pub literals: Vec<String>,
    pub regexes: Vec<String>,
    literal_ids: HashMap<String, u32>,
    regex_ids: HashMap<String, u32>,
    /// Distinct atom lists, by id (assigned by `finish`).
    pub lists: Vec<Box<[AtomId]>>,
    list_ids: HashMap<Box<[AtomId]>, u32>,
}

/// Regex atom ids are offset by this so the two kinds never collide before finishing.
const REGEX_BIT: u32 = 1 << 31;

impl Interner {
    /// Interns a literal that gates a regex; returns its atom id.
    pub fn gate_literal(&mut self, s: &str) -> u32 {
        self.atom(&Atom::Literal(s.to_string()))
    }

    fn atom(&mut self, a: &Atom) -> u32 {
        match a {
            Atom::Literal(s) => {
                let next = self.literals.len() as u32;
                *self.literal_ids.entry(s.clone()).or_insert_with(|| {
                    self.literals.push(s.clone());
                    next
                })
            }
            Atom::Regex(s) => {
                let next = self.regexes.len() as u32;
                REGEX_BIT
                    | *self.regex_ids.entry(s.clone()).or_insert_with(|| {
                        self.regexes.push(s.clone());
                        next
                    })
            }
        }
    }

    fn atoms(&mut self, v: &[Atom]) -> AtomList {
        let mut ids: Vec<u32> = v.iter().map(|a| self.atom(a)).collect();
        ids.sort_unstable();
        ids.dedup();
        AtomList { id: u32::MAX, atoms: ids.into_boxed_slice() }
    }

    pub fn compile(&mut self, c: &Cond) -> Node {
        match c {
            Cond::Any(v) => Node::Any(self.atoms(v)),
            Cond::All(slots) => Node::All(slots.iter().map(|s| self.atoms(s)).collect()),
            Cond::None(v) => Node::None(self.atoms(v)),
            Cond::Near { groups, within, ordered } => Node::Near {
                groups: groups.iter().map(|g| self.atoms(g)).collect(),
                within: *within,
                ordered: *ordered,
            },
            Cond::Amount(n) => Node::Amount(Box::new(n.clone())),
            Cond::Field(f) => Node::Field(Box::new(f.clone())),
            Cond::AllOf(v) => Node::AllOf(v.iter().map(|c| self.compile(c)).collect()),
            Cond::AnyOf(v) => Node::AnyOf(v.iter().map(|c| self.compile(c)).collect()),
            Cond::NoneOf(v) => Node::NoneOf(v.iter().map(|c| self.compile(c)).collect()),
        }
    }

    /// Rewrites provisional regex ids to their final place after the literals, and gives
    /// each atom list its id. Call once all conditions are compiled.
    pub fn finish(&mut self, node: &mut Node) {
        match node {
            Node::Any(v) | Node::None(v) => self.finish_list(v),
            Node::All(g) | Node::Near { groups: g, .. } => g.iter_mut().for_each(|l| self.finish_list(l)),
            Node::AllOf(v) | Node::AnyOf(v) | Node::NoneOf(v) => v.iter_mut().for_each(|c| self.finish(c)),
            Node::Amount(_) | Node::Field(_) => {}
        }
    }

    /// Finishes a list built outside a condition (a rule's evidence atoms).
    pub fn finish_list(&mut self, list: &mut AtomList) {
        let n = self.literals.len() as u32;
        for id in list.atoms.iter_mut() {
            if *id & REGEX_BIT != 0 {
                *id = n + (*id & !REGEX_BIT);
            }
        }
        list.atoms.sort_unstable();
        let next = self.lists.len() as u32;
        list.id = *self.list_ids.entry(list.atoms.clone()).or_insert_with(|| {
            self.lists.push(list.atoms.clone());
            next
        });
    }
}

impl Node {
    /// Atoms whose presence can make this node true (not those under `none`), in order.
    pub fn positive_atoms(&self, out: &mut Vec<AtomId>) {
        match self {
            Node::Any(v) => out.extend_from_slice(&v.atoms),
            Node::All(g) | Node::Near { groups: g, .. } => {
                g.iter().for_each(|v| out.extend_from_slice(&v.atoms))
            }
            Node::AllOf(v) | Node::AnyOf(v) => v.iter().for_each(|c| c.positive_atoms(out)),
            Node::None(_) | Node::NoneOf(_) | Node::Amount(_) | Node::Field(_) => {}
        }
    }

    /// Atom lists one atom of each of which must appear for this node to hold: the slots of
    /// `all`, the groups of `near`, an `any`, and those of every part of an `all_of`.
    pub fn required_lists<'a>(&'a self, out: &mut Vec<&'a AtomList>) {
        match self {
            Node::Any(v) => out.push(v),
            Node::All(g) | Node::Near { groups: g, .. } => out.extend(g.iter()),
            Node::AllOf(v) => v.iter().for_each(|c| c.required_lists(out)),
            Node::AnyOf(_) | Node::None(_) | Node::NoneOf(_) | Node::Amount(_) | Node::Field(_) => {}
        }
    }

    /// Whether some atom must appear for this node to hold. If not, the rule has to be
    /// evaluated on every event of its kinds rather than only when one of its atoms hits.
    pub fn needs_atom(&self) -> bool {
        match self {
            Node::Any(_) | Node::All(_) | Node::Near { .. } => true,
            Node::None(_) | Node::NoneOf(_) | Node::Amount(_) | Node::Field(_) => false,
            Node::AllOf(v) => v.iter().any(Node::needs_atom),
            Node::AnyOf(v) => v.iter().all(Node::needs_atom),
        }
    }

    /// Whether evaluating this node may need the amounts in the text.
    pub fn uses_amounts(&self) -> bool {
        match self {
            Node::Amount(_) => true,
            Node::AllOf(v) | Node::AnyOf(v) | Node::NoneOf(v) => v.iter().any(Node::uses_amounts),
            _ => false,
        }
    }
}
