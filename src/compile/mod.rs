//! Compiling a [`RuleSet`] into [`Compiled`] rules: one Aho-Corasick automaton over every
//! literal spelling of every rule, the regexes, and each rule's condition as a small tree over
//! atom ids.
//!
//! This layer knows nothing of scanning. The compiled rules are immutable once built; the
//! scan layer's [`Engine`](crate::Engine) holds them behind an `Arc`, so any number of threads
//! scan with them at once, each with its own scratch space.

mod bundle;
pub(crate) mod program;
pub(crate) mod stateful;

use std::sync::Arc;

/// The literal automaton: pattern `i` is literal atom `i`.
pub(crate) struct Literals(pub daachorse::CharwiseDoubleArrayAhoCorasick<u32>);

impl Literals {
    fn new(literals: &[String]) -> Result<Literals, daachorse::errors::DaachorseError> {
        daachorse::CharwiseDoubleArrayAhoCorasick::new(literals).map(Literals)
    }
}

impl std::fmt::Debug for Literals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Literals({} states)", self.0.num_states())
    }
}
use regex_automata::meta::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Diagnostic, Error};
use crate::limits::Limits;
use crate::rules::{Kinds, Levels, RuleSet};
use crate::verdict::Level;
use bundle::words::Words;
pub use bundle::BundleInfo;
use program::{AtomList, Interner, Node};

/// Figures about a compiled engine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Number of packs.
    pub packs: usize,
    /// Number of rules.
    pub rules: usize,
    /// Distinct literal spellings in the automaton (after variant expansion).
    pub literals: usize,
    /// Distinct regexes.
    pub regexes: usize,
    /// Heap bytes used by the literal automaton.
    pub automaton_bytes: usize,
    /// Heap bytes used by the compiled regexes (their lazy DFA caches live in scanners).
    pub regex_bytes: usize,
    /// Rules evaluated on every event because no literal is required for them to hit.
    pub always_evaluated: usize,
    /// Window rules (scored by a [`Monitor`](crate::Monitor)).
    pub windows: usize,
    /// Sequence rules (scored by a [`Monitor`](crate::Monitor)).
    pub sequences: usize,
}

/// A compiled rule.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CompiledRule {
    pub id: Arc<str>,
    pub category: Arc<str>,
    /// Index of the rule's group (alternatives of which only the strongest counts).
    pub group: Option<u32>,
    pub points: u32,
    pub kinds: Kinds,
    /// A window or sequence rule: its `when` only says whether the event takes part; the
    /// [`Monitor`](crate::Monitor) decides whether it hits.
    pub stateful: bool,
    pub when: Node,
    pub counters: Box<[CompiledCounter]>,
    pub advice: Box<[Arc<str>]>,
    /// Atoms whose hits are the rule's evidence.
    pub evidence_atoms: AtomList,
    pub uses_amounts: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CompiledCounter {
    pub when: Node,
    pub cancel: bool,
    pub points: i64,
    pub cap: Option<u32>,
    pub max_level: Option<Level>,
}

/// Per literal pattern: its length in bytes, and whether its ends are Latin letters, which
/// must not run on into neighbouring letters (`wx` is not a hit inside `wxyz`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PatternEdges {
    /// The scanner takes a match's start from this, not from the automaton, so an automaton
    /// read from a hostile bundle cannot make it point outside the text.
    pub len: u32,
    pub letter_start: bool,
    pub letter_end: bool,
}

impl PatternEdges {
    const LETTER_START: u32 = 1 << 31;
    const LETTER_END: u32 = 1 << 30;

    /// Packed in one word (a literal is far shorter than 2³⁰ bytes), as the scanner reads and
    /// a bundle stores them.
    fn pack(self) -> u32 {
        self.len
            | if self.letter_start { Self::LETTER_START } else { 0 }
            | if self.letter_end { Self::LETTER_END } else { 0 }
    }

    #[inline]
    fn unpack(w: u32) -> PatternEdges {
        PatternEdges {
            len: w & !(Self::LETTER_START | Self::LETTER_END),
            letter_start: w & Self::LETTER_START != 0,
            letter_end: w & Self::LETTER_END != 0,
        }
    }
}

/// Compiled rules: the automaton, the regexes, the condition programs and the indexes that
/// say which rules a hit can make true. Read by the scan, score and monitor layers.
///
/// A bundle (see `bundle.rs`) stores every field but the automaton, written apart in its
/// own format, and the regexes, compiled again from their sources when the bundle is read.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Compiled {
    /// The limits the rules were loaded under; scanning reads the message ones.
    limits: Limits,
    #[serde(skip)]
    automaton: Option<Literals>,
    /// Per literal pattern, [`PatternEdges`] packed. This and every other array of words
    /// goes in a bundle's words section (see [`Compiled::word_arrays`]), not the program.
    #[serde(skip)]
    edges: Words,
    #[serde(skip)]
    regexes: Box<[Regex]>,
    /// The regexes' patterns, in atom order.
    regex_sources: Box<[String]>,
    /// Number of literal atoms; regex atom `i` has id `literal_count + i`.
    literal_count: u32,
    rules: Box<[CompiledRule]>,
    /// Per literal atom: the rules it triggers.
    #[serde(skip)]
    triggers: Rows,
    /// Per regex: the rules triggered when it is armed.
    #[serde(skip)]
    regex_triggers: Rows,
    /// Per literal pattern: the regexes it arms (is a prefilter literal of).
    #[serde(skip)]
    arms: Rows,
    /// Per regex: whether it runs only once armed by a prefilter literal.
    regex_gated: Box<[bool]>,
    /// Per regex: whether every match starts with one of a set of literals, so it runs
    /// anchored where one of them was found (see `anchors`).
    regex_anchored: Box<[bool]>,
    /// Per literal pattern: the regexes whose matches may start where it was found.
    #[serde(skip)]
    anchors: Rows,
    /// Per regex: the fewest bytes a match takes.
    regex_min_len: Box<[u32]>,
    /// Rules evaluated on every event of their kinds.
    always: Box<[u32]>,
    /// Per literal atom: the atom lists containing it (derived from `lists`).
    #[serde(skip)]
    postings: Rows,
    /// The distinct atom lists, by id; every [`AtomList`] of the rules shares its atoms with
    /// the list of its id here.
    #[serde(skip)]
    lists: Box<[Words]>,
    /// Windows and sequences, for the monitor.
    stateful: stateful::Program,
    levels: Levels,
    version: Arc<str>,
    /// The checksum of the rule sources this was compiled from.
    sources_digest: u32,
    stats: Stats,
}

/// Compressed rows: row `i` is `items[start[i]..start[i + 1]]`. One flat array instead of a
/// `Vec` per row keeps the indexes the scanner walks per hit small and together in memory.
#[derive(Debug, Default)]
struct Rows {
    start: Words,
    items: Words,
}

impl Rows {
    fn new(rows: &[Vec<u32>]) -> Rows {
        let mut start = Vec::with_capacity(rows.len() + 1);
        let mut items = Vec::new();
        for r in rows {
            start.push(items.len() as u32);
            items.extend_from_slice(r);
        }
        start.push(items.len() as u32);
        Rows { start: start.into(), items: items.into() }
    }

    /// For each literal atom, the ids of the lists containing it, in one counting pass: the
    /// lists hold their literal atoms first, in ascending order.
    fn postings(lists: &[Words], literal_count: u32) -> Rows {
        let n = literal_count as usize;
        fn literals(l: &[u32], literal_count: u32) -> impl Iterator<Item = usize> + '_ {
            l.iter().take_while(move |&&a| a < literal_count).map(|&a| a as usize)
        }
        let mut start = vec![0u32; n + 1];
        for l in lists {
            literals(l, literal_count).for_each(|a| start[a + 1] += 1);
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill: Vec<u32> = start[..n].to_vec();
        let mut items = vec![0u32; start[n] as usize];
        for (id, l) in lists.iter().enumerate() {
            for a in literals(l, literal_count) {
                items[fill[a] as usize] = id as u32;
                fill[a] += 1;
            }
        }
        Rows { start: start.into(), items: items.into() }
    }

    #[inline]
    fn row(&self, i: usize) -> &[u32] {
        &self.items[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

/// What the layers above read of the compiled rules: methods, not fields, so the layout can
/// change without touching the scanner.
impl Compiled {
    /// The limits the rules were loaded under.
    #[inline]
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }
    /// The literal automaton, if there are literals.
    #[inline]
    pub(crate) fn automaton(&self) -> Option<&Literals> {
        self.automaton.as_ref()
    }
    /// Literal pattern `p`'s word edges.
    #[inline]
    pub(crate) fn edges(&self, p: usize) -> PatternEdges {
        PatternEdges::unpack(self.edges[p])
    }
    /// The regexes; regex `i` is atom `literal_count() + i`.
    #[inline]
    pub(crate) fn regexes(&self) -> &[Regex] {
        &self.regexes
    }
    /// Number of literal atoms.
    #[inline]
    pub(crate) fn literal_count(&self) -> u32 {
        self.literal_count
    }
    /// The rules, in rule-id order.
    #[inline]
    pub(crate) fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }
    /// The rules literal atom `atom` can make true.
    #[inline]
    pub(crate) fn triggered_by(&self, atom: usize) -> &[u32] {
        self.triggers.row(atom)
    }
    /// The rules regex `r` can make true once armed.
    #[inline]
    pub(crate) fn triggered_by_regex(&self, r: usize) -> &[u32] {
        self.regex_triggers.row(r)
    }
    /// The regexes literal pattern `p` arms.
    #[inline]
    pub(crate) fn armed_by(&self, p: usize) -> &[u32] {
        self.arms.row(p)
    }
    /// The regexes whose matches may start where literal pattern `p` was found.
    #[inline]
    pub(crate) fn anchored_at(&self, p: usize) -> &[u32] {
        self.anchors.row(p)
    }
    /// Whether regex `r` runs only once armed.
    #[inline]
    pub(crate) fn regex_gated(&self, r: usize) -> bool {
        self.regex_gated[r]
    }
    /// Whether regex `r` runs anchored at its prefix literals.
    #[inline]
    pub(crate) fn regex_anchored(&self, r: usize) -> bool {
        self.regex_anchored[r]
    }
    /// The fewest bytes a match of regex `r` takes.
    #[inline]
    pub(crate) fn regex_min_len(&self, r: usize) -> u32 {
        self.regex_min_len[r]
    }
    /// Rules evaluated on every event of their kinds.
    #[inline]
    pub(crate) fn always(&self) -> &[u32] {
        &self.always
    }
    /// The atom lists containing literal atom `atom`.
    #[inline]
    pub(crate) fn lists_containing(&self, atom: usize) -> &[u32] {
        self.postings.row(atom)
    }
    /// Number of distinct atom lists.
    #[inline]
    pub(crate) fn list_count(&self) -> u32 {
        self.lists.len() as u32
    }
    /// Windows and sequences, for the monitor.
    #[inline]
    pub(crate) fn stateful(&self) -> &stateful::Program {
        &self.stateful
    }
    /// Score thresholds.
    #[inline]
    pub(crate) fn levels(&self) -> Levels {
        self.levels
    }
    /// The rule-set version.
    #[inline]
    pub(crate) fn version(&self) -> &Arc<str> {
        &self.version
    }
    /// The checksum of the rule sources this was compiled from.
    #[inline]
    pub(crate) fn sources_digest(&self) -> u32 {
        self.sources_digest
    }
    /// Figures about the compiled rules.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Compiled {
    /// Compiles a rule set.
    pub(crate) fn new(rules: &RuleSet) -> Result<Compiled, Error> {
        let mut interner = Interner::default();
        let mut compiled = Vec::with_capacity(rules.rules.len());
        for r in &rules.rules {
            // A sequence without a `when` of its own is never evaluated per event: an empty
            // `all_of` stands in for it and the rule is left out of every trigger list.
            let when = r.when.as_ref().map_or(Node::AllOf(Box::new([])), |c| interner.compile(c));
            let counters: Vec<(Node, &crate::rules::Counter)> =
                r.counters.iter().map(|c| (interner.compile(&c.when), c)).collect();
            compiled.push((r, when, counters));
        }

        // Regexes are gated by literal prefilters (docs/INTERNALS.md): the literals one of which every
        // match must start (or end) with join the automaton, and a regex runs only on messages
        // where one of them was found. Regexes without such literals run on every message.
        let mut gates: Vec<Option<Vec<u32>>> = Vec::with_capacity(interner.regexes.len());
        let mut anchor_sets: Vec<Option<Vec<u32>>> = Vec::with_capacity(interner.regexes.len());
        let mut regex_min_len = Vec::with_capacity(interner.regexes.len());
        for i in 0..interner.regexes.len() {
            let gate = regex_gate(&interner.regexes[i]);
            let mut ids = |l: &Option<Vec<String>>| {
                l.as_ref().map(|l| l.iter().map(|l| interner.gate_literal(l)).collect::<Vec<u32>>())
            };
            gates.push(ids(&gate.arm));
            anchor_sets.push(ids(&gate.anchor));
            regex_min_len.push(gate.min_len as u32);
        }
        let literal_count = interner.literals.len() as u32;
        let mut arms: Vec<Vec<u32>> = vec![Vec::new(); literal_count as usize];
        let mut anchors: Vec<Vec<u32>> = vec![Vec::new(); literal_count as usize];
        for (r, gate) in gates.iter().enumerate() {
            for &a in gate.iter().flatten() {
                arms[a as usize].push(r as u32);
            }
        }
        for (r, set) in anchor_sets.iter().enumerate() {
            for &a in set.iter().flatten() {
                anchors[a as usize].push(r as u32);
            }
        }
        let regex_gated: Box<[bool]> = gates.iter().map(Option::is_some).collect();
        let regex_anchored: Box<[bool]> = anchor_sets.iter().map(Option::is_some).collect();
        let automaton = if interner.literals.is_empty() {
            None
        } else {
            // Char-wise: CJK literals are walked one character (three bytes) at a time, and
            // the double array stays small where a byte DFA over thousands of CJK literals
            // grows to megabytes and misses the cache on every byte (docs/BENCHMARKS.md).
            let ac = Literals::new(&interner.literals)
                .map_err(|e| compile_error(format!("cannot build the literal automaton: {e}")))?;
            Some(ac)
        };
        let edges: Vec<u32> = interner
            .literals
            .iter()
            .map(|l| {
                PatternEdges {
                    len: l.len() as u32,
                    letter_start: l.as_bytes().first().is_some_and(u8::is_ascii_alphabetic),
                    letter_end: l.as_bytes().last().is_some_and(u8::is_ascii_alphabetic),
                }
                .pack()
            })
            .collect();
        let limits = rules.limits;
        let automaton_bytes = automaton.as_ref().map_or(0, |a| a.0.heap_bytes());
        let regexes = build_regexes(&interner.regexes, &limits, automaton_bytes).map_err(compile_error)?;

        let mut triggers: Vec<Vec<u32>> = vec![Vec::new(); literal_count as usize];
        let mut regex_triggers: Vec<Vec<u32>> = vec![Vec::new(); regexes.len()];
        let mut always = Vec::new();
        let mut out_rules = Vec::with_capacity(compiled.len());
        let mut groups: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        for (index, (r, mut when, counters)) in compiled.into_iter().enumerate() {
            interner.finish(&mut when);
            let mut atoms = Vec::new();
            when.positive_atoms(&mut atoms);
            atoms.sort_unstable();
            atoms.dedup();
            let ungated =
                atoms.iter().any(|&a| a >= literal_count && !regex_gated[(a - literal_count) as usize]);
            let trigger = trigger_list(&when, &interner.literals, literal_count);
            if r.when.is_none() {
                // Completed by its steps only (see above).
            } else if let Some(list) = trigger {
                for &a in list.iter() {
                    triggers[a as usize].push(index as u32);
                }
            } else if !when.needs_atom() || ungated {
                always.push(index as u32);
            } else {
                for &a in &atoms {
                    if a < literal_count {
                        triggers[a as usize].push(index as u32);
                    } else {
                        regex_triggers[(a - literal_count) as usize].push(index as u32);
                    }
                }
            }
            let mut evidence_atoms = AtomList { id: 0, atoms: atoms.into() };
            interner.finish_list(&mut evidence_atoms);
            let counters: Box<[CompiledCounter]> = counters
                .into_iter()
                .map(|(mut node, c)| {
                    interner.finish(&mut node);
                    CompiledCounter {
                        when: node,
                        cancel: c.cancel,
                        points: c.points,
                        cap: c.cap,
                        max_level: c.max_level,
                    }
                })
                .collect();
            out_rules.push(CompiledRule {
                id: Arc::from(r.id.as_str()),
                category: Arc::from(r.category.as_str()),
                group: r.group.as_deref().map(|g| {
                    let next = groups.len() as u32;
                    *groups.entry(g).or_insert(next)
                }),
                points: r.points,
                kinds: r.kinds,
                stateful: r.stateful.is_some(),
                uses_amounts: when.uses_amounts(),
                when,
                counters,
                advice: r.advice.iter().map(|a| Arc::from(a.as_str())).collect(),
                evidence_atoms,
            });
        }

        let stateful = stateful::Program::new(rules, &out_rules);
        let stats = Stats {
            packs: rules.packs.len(),
            rules: out_rules.len(),
            literals: interner.literals.len(),
            regexes: regexes.len(),
            automaton_bytes: automaton.as_ref().map_or(0, |a| a.0.heap_bytes()),
            regex_bytes: regexes.iter().map(Regex::memory_usage).sum(),
            always_evaluated: always.len(),
            windows: stateful.windows.len(),
            sequences: stateful.sequences.len(),
        };
        Ok(Compiled {
            limits,
            automaton,
            edges: edges.into(),
            regexes: regexes.into_boxed_slice(),
            regex_sources: interner.regexes.iter().cloned().collect(),
            literal_count,
            rules: out_rules.into_boxed_slice(),
            triggers: Rows::new(&triggers),
            regex_triggers: Rows::new(&regex_triggers),
            arms: Rows::new(&arms),
            regex_gated,
            regex_anchored,
            anchors: Rows::new(&anchors),
            regex_min_len: regex_min_len.into_boxed_slice(),
            always: always.into_boxed_slice(),
            postings: Rows::postings(&interner.lists, literal_count),
            lists: interner.lists.into_boxed_slice(),
            stateful,
            levels: rules.levels,
            version: Arc::from(rules.version().as_str()),
            sources_digest: rules.digest,
            stats,
        })
    }
}

/// Compiles the regexes under the limits, which also bound them together with the automaton
/// (`automaton_bytes`).
fn build_regexes(sources: &[String], limits: &Limits, automaton_bytes: usize) -> Result<Vec<Regex>, String> {
    let build = |r: &String| {
        let config = Regex::config()
            .nfa_size_limit(Some(limits.regex_bytes))
            .onepass_size_limit(Some(limits.regex_bytes))
            .dfa_size_limit(Some(limits.regex_bytes))
            .hybrid_cache_capacity(limits.regex_bytes);
        Regex::builder().configure(config).build(r).map_err(|e| format!("regex `{r}`: {e}"))
    };
    // A regex takes 50-100 µs to build: with dozens of them, half are built on a second
    // thread, a millisecond or two off every start (a process per message pays it each time).
    let built: Vec<Result<Regex, String>> = if sources.len() >= REGEXES_TO_SPLIT {
        let (first, second) = sources.split_at(sources.len() / 2);
        std::thread::scope(|s| {
            let other = s.spawn(|| second.iter().map(build).collect::<Vec<_>>());
            let mut built: Vec<_> = first.iter().map(build).collect();
            match other.join() {
                Ok(rest) => built.extend(rest),
                Err(_) => built.extend(second.iter().map(build)),
            }
            built
        })
    } else {
        sources.iter().map(build).collect()
    };
    let mut regexes = Vec::with_capacity(sources.len());
    let mut compiled_bytes = automaton_bytes;
    for regex in built {
        let regex = regex?;
        compiled_bytes += regex.memory_usage();
        regexes.push(regex);
    }
    if compiled_bytes > limits.compiled_bytes {
        return Err(format!(
            "the compiled rules take {compiled_bytes} bytes, more than the limit of {} bytes",
            limits.compiled_bytes
        ));
    }
    Ok(regexes)
}

/// Regexes from which [`build_regexes`] builds on two threads.
const REGEXES_TO_SPLIT: usize = 8;

/// The literals a rule is triggered by, if one list of them must appear for it to hold.
///
/// A rule is evaluated only on messages where one of its trigger atoms was found. Any
/// positive atom would do, but `all = ["钱", "先出票"]` triggered by `钱` is evaluated on
/// every message about money; of the lists that must each appear, the one whose shortest
/// literal is longest is the rarest by a good guess, and the others are checked when the rule
/// is evaluated. Lists with regexes are left to the regexes' own gates.
fn trigger_list<'a>(when: &'a Node, literals: &[String], literal_count: u32) -> Option<&'a [u32]> {
    let mut lists = Vec::new();
    when.required_lists(&mut lists);
    lists
        .into_iter()
        .filter(|l| !l.atoms.is_empty() && l.atoms.iter().all(|&a| a < literal_count))
        .max_by_key(|l| {
            let shortest = l.atoms.iter().map(|&a| literals[a as usize].chars().count()).min().unwrap_or(0);
            (shortest, std::cmp::Reverse(l.atoms.len()))
        })
        .map(|l| &l.atoms[..])
}

/// How a regex is prefiltered by literals found in the message.
#[derive(Debug, PartialEq)]
pub(crate) struct Gate {
    /// One of these must be found for the regex to run: its prefixes or its suffixes,
    /// whichever set is more selective.
    pub(crate) arm: Option<Vec<String>>,
    /// Its prefixes: a match starts where one was found, so it runs anchored there.
    pub(crate) anchor: Option<Vec<String>>,
    /// The fewest bytes a match takes.
    pub(crate) min_len: usize,
}

/// The gate of a regex: it is armed by the better of its prefix and suffix literals (the set
/// whose shortest literal is longest, as a literal of one digit or letter is found in most
/// messages and gates nothing), and runs anchored at its prefixes. `[0-9]+万` is armed by
/// `0万`…`9万` and anchored at digits; `先出.{0,6}票` is armed and anchored by `先出`.
pub(crate) fn regex_gate(pattern: &str) -> Gate {
    use regex_syntax::hir::literal::ExtractKind;
    let shortest = |l: &Vec<String>| l.iter().map(String::len).min().unwrap_or(0);
    let min_len = regex_syntax::Parser::new()
        .parse(pattern)
        .ok()
        .and_then(|h| h.properties().minimum_len())
        .unwrap_or(0);
    let prefix = regex_literals(pattern, ExtractKind::Prefix);
    let suffix = regex_literals(pattern, ExtractKind::Suffix);
    let arm = match (&prefix, suffix) {
        (Some(p), Some(s)) if shortest(&s) > shortest(p) => Some(s),
        (Some(p), _) => Some(p.clone()),
        (None, s) => s,
    };
    Gate { arm, anchor: prefix, min_len }
}

/// The prefix or suffix literals of a regex, if every match has one (a finite set of
/// whole-character literals, at most 256).
fn regex_literals(pattern: &str, kind: regex_syntax::hir::literal::ExtractKind) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::Extractor;
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut extractor = Extractor::new();
    extractor.kind(kind);
    let seq = extractor.extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.len() > 256 {
        return None;
    }
    let mut out: Vec<String> = literals
        .iter()
        .map(|l| match l.as_bytes() {
            [] => None,
            // A literal cut inside a character is no gate for a search over whole characters.
            bytes => String::from_utf8(bytes.to_vec()).ok(),
        })
        .collect::<Option<_>>()?;
    out.sort_unstable();
    out.dedup();
    Some(out)
}

fn compile_error(message: String) -> Error {
    Error::Rules(vec![Diagnostic {
        code: "E010",
        file: String::new(),
        line: 0,
        column: 0,
        rule: None,
        message,
        span: None,
    }])
}
