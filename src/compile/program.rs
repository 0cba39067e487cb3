//! Conditions compiled to a compact tree over atom ids.
//!
//! Atoms are interned: the same literal spelling or regex used by several rules is matched
//! once per message and looked up by id.

use super::bundle::words::Words;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::rules::{Atom, Cond, FieldCmp, NumCmp};

/// Index of an atom: literals first (their id is their automaton pattern id), then regexes.
pub(crate) type AtomId = u32;

/// A sorted list of atoms — a term's spellings, or a set — with an id of its own: the scanner
/// marks every list that contains an atom of the message once, so "does any atom of this set
/// of thousands appear?" is one look-up however large the set.
///
/// Lists are shared: a set used by a hundred rules is held once, and a bundle stores each list
/// once ([`Compiled`](super::Compiled)'s `lists`) and only the id where it is used.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct AtomList {
    pub id: u32,
    /// Ascending; literal atoms first, then regex atoms.
    #[serde(skip)]
    pub atoms: Words,
}

/// A compiled condition.
///
/// In a bundle it is stored flat ([`FlatNode`]), so that decoding never recurses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "FlatNode", try_from = "FlatNode")]
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

/// One node of a condition in prefix order; `AllOf(n)` and the like take the `n` conditions
/// that follow it.
#[derive(Debug, Serialize, Deserialize)]
enum Op {
    Any(AtomList),
    All(Box<[AtomList]>),
    None(AtomList),
    Near { groups: Box<[AtomList]>, within: u32, ordered: bool },
    Amount(Box<NumCmp>),
    Field(Box<FieldCmp>),
    AllOf(u32),
    AnyOf(u32),
    NoneOf(u32),
}

/// A condition as a flat list of [`Op`]s: a bundle read from an untrusted file cannot nest
/// deeper than [`FlatNode::MAX_DEPTH`] or exhaust the stack while it is decoded.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct FlatNode(Vec<Op>);

impl FlatNode {
    /// Deeper trees are refused while decoding; the bundle's own limit
    /// ([`Limits::condition_depth`](crate::Limits::condition_depth)) is checked afterwards.
    const MAX_DEPTH: usize = 256;
}

impl From<Node> for FlatNode {
    fn from(node: Node) -> FlatNode {
        fn push(node: Node, out: &mut Vec<Op>) {
            let (op, children) = match node {
                Node::Any(l) => (Op::Any(l), None),
                Node::All(g) => (Op::All(g), None),
                Node::None(l) => (Op::None(l), None),
                Node::Near { groups, within, ordered } => (Op::Near { groups, within, ordered }, None),
                Node::Amount(n) => (Op::Amount(n), None),
                Node::Field(f) => (Op::Field(f), None),
                Node::AllOf(v) => (Op::AllOf(v.len() as u32), Some(v)),
                Node::AnyOf(v) => (Op::AnyOf(v.len() as u32), Some(v)),
                Node::NoneOf(v) => (Op::NoneOf(v.len() as u32), Some(v)),
            };
            out.push(op);
            for c in children.into_iter().flat_map(|v| v.into_vec()) {
                push(c, out);
            }
        }
        let mut out = Vec::new();
        push(node, &mut out);
        FlatNode(out)
    }
}

impl TryFrom<FlatNode> for Node {
    type Error = String;

    /// Rebuilds the tree without recursion: the ops are read backwards, so every node's
    /// children are on the stack, first child on top, when the node is reached.
    fn try_from(flat: FlatNode) -> Result<Node, String> {
        let mut stack: Vec<(Node, usize)> = Vec::new();
        for op in flat.0.into_iter().rev() {
            let take = |n: u32, stack: &mut Vec<(Node, usize)>| -> Result<(Box<[Node]>, usize), String> {
                let n = n as usize;
                if n > stack.len() {
                    return Err(format!("a condition claims {n} parts but only {} follow", stack.len()));
                }
                let parts: Vec<(Node, usize)> = stack.drain(stack.len() - n..).rev().collect();
                let depth = parts.iter().map(|p| p.1).max().unwrap_or(0) + 1;
                Ok((parts.into_iter().map(|p| p.0).collect(), depth))
            };
            let (node, depth) = match op {
                Op::Any(l) => (Node::Any(l), 1),
                Op::All(g) => (Node::All(g), 1),
                Op::None(l) => (Node::None(l), 1),
                Op::Near { groups, within, ordered } => (Node::Near { groups, within, ordered }, 1),
                Op::Amount(n) => (Node::Amount(n), 1),
                Op::Field(f) => (Node::Field(f), 1),
                Op::AllOf(n) => take(n, &mut stack).map(|(v, d)| (Node::AllOf(v), d))?,
                Op::AnyOf(n) => take(n, &mut stack).map(|(v, d)| (Node::AnyOf(v), d))?,
                Op::NoneOf(n) => take(n, &mut stack).map(|(v, d)| (Node::NoneOf(v), d))?,
            };
            if depth > FlatNode::MAX_DEPTH {
                return Err(format!("a condition nests deeper than {}", FlatNode::MAX_DEPTH));
            }
            stack.push((node, depth));
        }
        match (stack.pop(), stack.is_empty()) {
            (Some((node, _)), true) => Ok(node),
            (None, _) => Err("an empty condition".to_string()),
            (Some(_), false) => Err("a condition with parts that belong to nothing".to_string()),
        }
    }
}

/// Interns atoms while conditions are compiled.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    pub literals: Vec<String>,
    pub regexes: Vec<String>,
    literal_ids: HashMap<String, u32>,
    regex_ids: HashMap<String, u32>,
    /// Distinct atom lists, by id (assigned by `finish`).
    pub lists: Vec<Words>,
    list_ids: HashMap<Words, u32>,
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
        AtomList { id: u32::MAX, atoms: ids.into() }
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
        let mut atoms = list.atoms.to_vec();
        for id in atoms.iter_mut() {
            if *id & REGEX_BIT != 0 {
                *id = n + (*id & !REGEX_BIT);
            }
        }
        atoms.sort_unstable();
        let atoms: Words = atoms.into();
        let next = self.lists.len() as u32;
        let id = *self.list_ids.entry(atoms.clone()).or_insert_with(|| {
            self.lists.push(atoms);
            next
        });
        list.id = id;
        list.atoms = self.lists[id as usize].clone();
    }
}

impl Node {
    /// How deep conditions nest: 1 for a leaf.
    pub fn depth(&self) -> usize {
        match self {
            Node::AllOf(v) | Node::AnyOf(v) | Node::NoneOf(v) => {
                1 + v.iter().map(Node::depth).max().unwrap_or(0)
            }
            _ => 1,
        }
    }

    /// Every atom list of the node, `none` included, to be filled in from a bundle's table.
    pub fn lists_mut(&mut self, f: &mut impl FnMut(&mut AtomList)) {
        match self {
            Node::Any(v) | Node::None(v) => f(v),
            Node::All(g) | Node::Near { groups: g, .. } => g.iter_mut().for_each(f),
            Node::AllOf(v) | Node::AnyOf(v) | Node::NoneOf(v) => v.iter_mut().for_each(|c| c.lists_mut(f)),
            Node::Amount(_) | Node::Field(_) => {}
        }
    }

    /// Every atom list of the node, `none` included.
    pub fn lists<'a>(&'a self, out: &mut Vec<&'a AtomList>) {
        match self {
            Node::Any(v) | Node::None(v) => out.push(v),
            Node::All(g) | Node::Near { groups: g, .. } => out.extend(g.iter()),
            Node::AllOf(v) | Node::AnyOf(v) | Node::NoneOf(v) => v.iter().for_each(|c| c.lists(out)),
            Node::Amount(_) | Node::Field(_) => {}
        }
    }

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
