//! Compiling a [`RuleSet`] into an [`Engine`]: one Aho-Corasick automaton over every literal
//! spelling of every rule, the regexes, and each rule's condition as a small tree over atom
//! ids.
//!
//! The engine is immutable once built. It sits behind an `Arc`, so cloning it is a reference
//! count bump and any number of threads can scan with it at once, each with its own
//! [`Scanner`](crate::Scanner) holding the scratch space.

mod live;
pub(crate) mod program;
pub(crate) mod stateful;

pub use live::{LiveEngine, LiveScanner};

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
use serde::Serialize;

use crate::error::{Diagnostic, Error};
use crate::rules::{Kinds, Levels, RuleSet};
use crate::verdict::Level;
use program::{AtomList, Interner, Node};

/// Figures about a compiled engine.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    /// Rules evaluated on every event because no literal is required for them to hit.
    pub always_evaluated: usize,
    /// Window rules (scored by a [`Monitor`](crate::Monitor)).
    pub windows: usize,
    /// Sequence rules (scored by a [`Monitor`](crate::Monitor)).
    pub sequences: usize,
}

/// A compiled rule.
#[derive(Debug)]
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

#[derive(Debug)]
pub(crate) struct CompiledCounter {
    pub when: Node,
    pub cancel: bool,
    pub points: i64,
    pub cap: Option<u32>,
    pub max_level: Option<Level>,
}

/// Per literal pattern: whether its ends are Latin letters, which must not run on into
/// neighbouring letters (`wx` is not a hit inside `wxyz`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PatternEdges {
    pub letter_start: bool,
    pub letter_end: bool,
}

#[derive(Debug)]
pub(crate) struct Inner {
    /// The limits the rules were loaded under; scanning reads the message ones.
    pub limits: crate::Limits,
    pub automaton: Option<Literals>,
    pub edges: Box<[PatternEdges]>,
    pub regexes: Box<[Regex]>,
    /// Number of literal atoms; regex atom `i` has id `literal_count + i`.
    pub literal_count: u32,
    pub rules: Box<[CompiledRule]>,
    /// CSR: rules triggered by literal atom `a` are `trigger_rules[trigger_start[a]..trigger_start[a+1]]`.
    pub trigger_start: Box<[u32]>,
    pub trigger_rules: Box<[u32]>,
    /// CSR: rules triggered when regex `r` is armed (see `arm_start`).
    pub regex_trigger_start: Box<[u32]>,
    pub regex_trigger_rules: Box<[u32]>,
    /// CSR: the regexes literal pattern `p` arms (is a prefilter literal of).
    pub arm_start: Box<[u32]>,
    pub arm_regexes: Box<[u32]>,
    /// Per regex: whether it runs only once armed by a prefilter literal.
    pub regex_gated: Box<[bool]>,
    /// Per regex: whether every match starts with one of a set of literals, so it runs
    /// anchored where one of them was found (see `anchor_start`).
    pub regex_anchored: Box<[bool]>,
    /// CSR: the regexes whose matches may start where literal pattern `p` was found.
    pub anchor_start: Box<[u32]>,
    pub anchor_regexes: Box<[u32]>,
    /// Per regex: the fewest bytes a match takes.
    pub regex_min_len: Box<[u32]>,
    /// Rules evaluated on every event of their kinds.
    pub always: Box<[u32]>,
    /// CSR: the atom lists containing literal atom `a` are
    /// `list_postings[posting_start[a]..posting_start[a+1]]`.
    pub posting_start: Box<[u32]>,
    pub list_postings: Box<[u32]>,
    /// Number of distinct atom lists.
    pub list_count: u32,
    /// Windows and sequences, for the monitor.
    pub stateful: stateful::Program,
    pub levels: Levels,
    pub version: Arc<str>,
    pub stats: Stats,
}

/// Compiled rules, ready to scan. Immutable, `Send + Sync`, and cheap to clone.
///
/// Scanning needs per-thread scratch space: make one [`Scanner`](crate::Scanner) per thread
/// with [`Engine::scanner`] and reuse it. [`Engine::scan_text`] is a convenience that makes a
/// scanner for a single call.
///
/// ```
/// let engine = fanzha::Engine::bundled()?;
/// let verdict = engine.scan_text("老板，我是做工程的，先帮我出五万的票，钱马上转你");
/// assert!(verdict.level >= fanzha::Level::Warn);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Compiles a rule set.
    pub fn new(rules: &RuleSet) -> Result<Engine, Error> {
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

        // Regexes are gated by literal prefilters (DESIGN.md): the literals one of which every
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
        let edges: Box<[PatternEdges]> = interner
            .literals
            .iter()
            .map(|l| PatternEdges {
                letter_start: l.as_bytes().first().is_some_and(u8::is_ascii_alphabetic),
                letter_end: l.as_bytes().last().is_some_and(u8::is_ascii_alphabetic),
            })
            .collect();
        let limits = rules.limits;
        let mut regexes = Vec::with_capacity(interner.regexes.len());
        let mut compiled_bytes = automaton.as_ref().map_or(0, |a| a.0.heap_bytes());
        for r in &interner.regexes {
            let config = Regex::config()
                .nfa_size_limit(Some(limits.regex_bytes))
                .onepass_size_limit(Some(limits.regex_bytes))
                .dfa_size_limit(Some(limits.regex_bytes))
                .hybrid_cache_capacity(limits.regex_bytes);
            let regex = Regex::builder()
                .configure(config)
                .build(r)
                .map_err(|e| compile_error(format!("regex `{r}`: {e}")))?;
            compiled_bytes += regex.memory_usage();
            regexes.push(regex);
        }
        if compiled_bytes > limits.compiled_bytes {
            return Err(compile_error(format!(
                "the compiled rules take {compiled_bytes} bytes, more than the limit of {} bytes",
                limits.compiled_bytes
            )));
        }

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
            let mut evidence_atoms = AtomList { id: 0, atoms: atoms.into_boxed_slice() };
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
        let mut postings: Vec<Vec<u32>> = vec![Vec::new(); literal_count as usize];
        for (id, list) in interner.lists.iter().enumerate() {
            for &a in list.iter().take_while(|&&a| a < literal_count) {
                postings[a as usize].push(id as u32);
            }
        }
        let (posting_start, list_postings) = csr(&postings);
        let (trigger_start, trigger_rules) = csr(&triggers);
        let (regex_trigger_start, regex_trigger_rules) = csr(&regex_triggers);
        let (arm_start, arm_regexes) = csr(&arms);
        let (anchor_start, anchor_regexes) = csr(&anchors);

        let stateful = stateful::Program::new(rules, &out_rules);
        let stats = Stats {
            packs: rules.packs.len(),
            rules: out_rules.len(),
            literals: interner.literals.len(),
            regexes: regexes.len(),
            automaton_bytes: automaton.as_ref().map_or(0, |a| a.0.heap_bytes()),
            always_evaluated: always.len(),
            windows: stateful.windows.len(),
            sequences: stateful.sequences.len(),
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                limits,
                automaton,
                edges,
                regexes: regexes.into_boxed_slice(),
                literal_count,
                rules: out_rules.into_boxed_slice(),
                trigger_start,
                trigger_rules,
                regex_trigger_start,
                regex_trigger_rules,
                arm_start,
                arm_regexes,
                regex_gated,
                regex_anchored,
                anchor_start,
                anchor_regexes,
                regex_min_len: regex_min_len.into_boxed_slice(),
                always: always.into_boxed_slice(),
                posting_start,
                list_postings,
                list_count: interner.lists.len() as u32,
                stateful,
                levels: rules.levels,
                version: Arc::from(rules.version().as_str()),
                stats,
            }),
        })
    }

    /// The limits the rules were loaded under (see [`RuleSet::limits`]).
    pub fn limits(&self) -> crate::Limits {
        self.inner.limits
    }

    /// The engine for the bundled packs.
    pub fn bundled() -> Result<Engine, Error> {
        Engine::new(&RuleSet::bundled()?)
    }

    /// Figures about this engine.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// The rule-set version this engine was compiled from.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// Score thresholds.
    pub fn levels(&self) -> Levels {
        self.inner.levels
    }

    /// A scanner: per-thread scratch space for scanning with this engine.
    pub fn scanner(&self) -> crate::Scanner {
        crate::Scanner::new(self.clone())
    }

    /// Scans one text. Allocates a scanner per call: in a loop, use [`Engine::scanner`].
    pub fn scan_text(&self, text: &str) -> crate::Verdict {
        self.scanner().scan_text(text)
    }

    /// Scans one event. Allocates a scanner per call: in a loop, use [`Engine::scanner`].
    /// Window and sequence rules need the events around this one: a
    /// [`Monitor`](crate::Monitor) scores them; scanning one event never reports them.
    pub fn scan(&self, event: &crate::Event) -> crate::Verdict {
        self.scanner().scan(event)
    }

    /// Scans a batch of events on the rayon thread pool and returns their verdicts in input
    /// order. Scoring here is stateless, so the verdicts are the same for any number of
    /// threads.
    ///
    /// ```
    /// let engine = fanzha::Engine::bundled()?;
    /// let events: Vec<fanzha::Event> =
    ///     ["老板先出票，钱等下转你", "来两份酸辣粉"].into_iter().map(fanzha::Event::message).collect();
    /// let verdicts = engine.scan_batch(&events);
    /// assert!(verdicts[0].level >= fanzha::Level::Warn);
    /// assert_eq!(verdicts[1].level, fanzha::Level::None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_batch(&self, events: &[crate::Event]) -> Vec<crate::Verdict> {
        use rayon::prelude::*;
        // Work is split into runs of at least this many events so each split pays for one
        // scanner (its scratch is sized by the number of atoms) over many events.
        const MIN_RUN: usize = 256;
        events.par_iter().with_min_len(MIN_RUN).map_init(|| self.scanner(), |s, e| s.scan(e)).collect()
    }
}

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

/// Compressed rows: `start[i]..start[i+1]` indexes the items of row `i` in the flat array.
fn csr(rows: &[Vec<u32>]) -> (Box<[u32]>, Box<[u32]>) {
    let mut start = Vec::with_capacity(rows.len() + 1);
    let mut flat = Vec::new();
    for r in rows {
        start.push(flat.len() as u32);
        flat.extend_from_slice(r);
    }
    start.push(flat.len() as u32);
    (start.into_boxed_slice(), flat.into_boxed_slice())
}

/// Literals one of which every match of `pattern` starts with, when there are few enough to
/// be a useful gate and none is empty.
/// How a regex is prefiltered by literals found in the message.
#[derive(Debug, PartialEq)]
struct Gate {
    /// One of these must be found for the regex to run: its prefixes or its suffixes,
    /// whichever set is more selective.
    arm: Option<Vec<String>>,
    /// Its prefixes: a match starts where one was found, so it runs anchored there.
    anchor: Option<Vec<String>>,
    /// The fewest bytes a match takes.
    min_len: usize,
}

/// The gate of a regex: it is armed by the better of its prefix and suffix literals (the set
/// whose shortest literal is longest, as a literal of one digit or letter is found in most
/// messages and gates nothing), and runs anchored at its prefixes. `[0-9]+万` is armed by
/// `0万`…`9万` and anchored at digits; `先出.{0,6}票` is armed and anchored by `先出`.
fn regex_gate(pattern: &str) -> Gate {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(rules: &str) -> Engine {
        let src = format!("[pack]\nid = \"t\"\nversion = \"1\"\npinyin = false\n{rules}");
        Engine::new(&RuleSet::from_str("t.toml", &src).unwrap()).unwrap()
    }

    #[test]
    fn literals_are_shared_between_rules_and_triggers_index_them() {
        let e = engine(
            "[[rule]]\nid = \"t.a\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"先出票\", \"转账\"] }\n\
             [[rule]]\nid = \"t.b\"\ntitle = \"b\"\ncategory = \"c\"\npoints = 1\nwhen = { all = [\"先出票\", \"截图\"] }\n",
        );
        let s = e.stats();
        assert_eq!((s.rules, s.literals, s.regexes, s.always_evaluated), (2, 3, 0, 0));
        // 先出票 triggers both rules; 转账 triggers t.a, whose `any` may hold without 先出票;
        // 截图 triggers nothing, as t.b needs 先出票 too and the longer literal is the rarer.
        let inner = &e.inner;
        assert_eq!(inner.literal_count, 3);
        let rules_of = |a: usize| (inner.trigger_start[a + 1] - inner.trigger_start[a]) as usize;
        // Literal ids follow first use: 先出票 0, 转账 1, 截图 2.
        assert_eq!((rules_of(0), rules_of(1), rules_of(2)), (2, 1, 0));
        let mut s = e.scanner();
        assert_eq!(s.scan_text("先出票，截图给你").hits.len(), 2);
        assert_eq!(s.scan_text("截图给你").hits.len(), 0);
    }

    #[test]
    fn rules_without_a_required_literal_are_always_evaluated() {
        let e = engine(
            "[[rule]]\nid = \"t.amount\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 1\nwhen = { amount = { ge = 5000 } }\n\
             [[rule]]\nid = \"t.regex\"\ntitle = \"r\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"/\\\\d{11}/\"] }\n\
             [[rule]]\nid = \"t.either\"\ntitle = \"e\"\ncategory = \"e\"\npoints = 1\nwhen = { any_of = [{ any = [\"x票\"] }, { amount = { ge = 1 } }] }\n\
             [[rule]]\nid = \"t.lit\"\ntitle = \"l\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"x票\"], amount = { ge = 1 } }\n",
        );
        assert_eq!(e.stats().always_evaluated, 3);
        let v = e.scan_text("打给13800138000共五千元");
        let rules: Vec<&str> = v.hits.iter().map(|h| &*h.rule).collect();
        assert_eq!(rules, ["t.amount", "t.either", "t.regex"]);
    }

    #[test]
    fn regexes_with_literal_prefixes_are_gated() {
        let e = engine(
            "[[rule]]\nid = \"t.gated\"\ntitle = \"g\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"/(转|汇)[两二三0-9]+万?/\"] }\n",
        );
        assert_eq!(e.stats().always_evaluated, 0);
        let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let g = regex_gate("(转|汇)[两二三0-9]+");
        assert_eq!((&g.arm, &g.anchor), (&strings(&["汇", "转"]), &strings(&["汇", "转"])));
        assert_eq!(regex_gate("\\d{11}").arm, None);
        assert_eq!(regex_gate("a*b").arm, strings(&["a", "b"]));
        // A suffix arms better than a digit: `万` is rare, digits are everywhere; the digits
        // still say where to run it.
        let g = regex_gate("[0-9]+(\\.[0-9]+)?万");
        let wan = g.arm.unwrap();
        assert!(wan.len() == 10 && wan.iter().all(|l| l.ends_with('万')), "{wan:?}");
        assert_eq!(g.anchor.map(|a| a.len()), Some(10));
        assert_eq!(g.min_len, 4);
        assert_eq!(regex_gate("1[3-9][0-9]{9}").arm.map(|a| a.len()), Some(7));
        let mut s = engine(
            "[[rule]]\nid = \"t.wan\"\ntitle = \"w\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"/[0-9]+万/\"] }\n",
        )
        .scanner();
        assert_eq!(s.scan_text("转12万给你").hits[0].evidence, ["12万"]);
        assert_eq!(s.scan_text("转12块给你").hits.len(), 0);
        let mut s = e.scanner();
        assert_eq!(s.scan_text("先转2万").hits.len(), 1);
        assert_eq!(s.scan_text("先转帐").hits.len(), 0);
        assert_eq!(s.scan_text("汇三万过去").hits[0].evidence, ["汇三万"]);
        assert_eq!(s.scan_text("两万").hits.len(), 0);
    }
}
