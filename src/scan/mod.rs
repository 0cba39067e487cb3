//! Scanning: fold the text, find every atom once, evaluate only the rules some atom of which
//! hit, and score.
//!
//! A [`Scanner`] owns the scratch space of one thread. Buffers grow to the longest message
//! seen and are then reused, so a message that hits nothing costs no allocation.

mod engine;
mod eval;

pub use engine::Engine;

use crate::compile::Compiled;
use crate::event::{Event, EventKind};
use crate::limits::Limits;
use crate::normalize::amount::{find_amounts, Amount};
use crate::normalize::Folded;
use crate::score::{min_level, score, Evaluation, Passed};
use crate::verdict::{Hit, Level, Verdict};

/// One occurrence of an atom in the folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AtomHit {
    pub atom: u32,
    /// Byte offsets in the folded text.
    pub start: u32,
    pub end: u32,
}

/// Per-thread scratch space for scanning with an [`Engine`].
///
/// ```
/// let engine = fanzha::Engine::bundled()?;
/// let mut scanner = engine.scanner();
/// for text in ["今天生意好", "老板先出票，我等下转你"] {
///     let verdict = scanner.scan_text(text);
///     println!("{} {}", verdict.level, verdict.score);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// Aligned to two cache lines: scanners of different threads often sit side by side (a `Vec`
// of one per worker), and the scratch fields written on every message (stamps, lengths, flags)
// must not share a line, or an adjacent-line prefetch pair, with another thread's scanner.
#[derive(Debug)]
#[repr(align(128))]
pub struct Scanner {
    engine: Engine,
    scratch: Scratch,
    /// Keep hits that repeat another hit's evidence (for running rule examples, which ask
    /// whether each rule fired, not what the verdict counts).
    pub(crate) keep_duplicates: bool,
}

/// The scanner's buffers, apart from its engine so that scanning can borrow both at once.
/// The default is empty and allocates nothing (what a dropped scanner leaves behind).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    folded: Folded,
    hits: Vec<AtomHit>,
    /// The distinct literal atoms found in this message, ascending.
    hit_atoms: Vec<u32>,
    /// Per atom list: the stamp of the last message one of its literals appeared in.
    list_stamp: Vec<u32>,
    /// Per atom: (stamp, first, last+1) into `hits`; valid when stamp == `stamp`.
    ranges: Vec<(u32, u32, u32)>,
    /// Per regex atom: the stamp of the message it was last run on.
    regex_done: Vec<u32>,
    /// Per regex: the stamp of the last message a prefilter literal of it appeared in.
    regex_armed: Vec<u32>,
    /// Regexes armed in this message.
    armed: Vec<u32>,
    /// (regex, start) for every prefilter literal found: where a match of the regex may start.
    gate_hits: Vec<(u32, u32)>,
    /// Whether `gate_hits` has been sorted for this message.
    gate_sorted: bool,
    /// Per regex: its search cache, made when the regex first runs.
    regex_caches: Vec<Option<regex_automata::meta::Cache>>,
    /// Skip markers (0-point rules that only sequences read) whose counters cannot cap the
    /// level: a stateless verdict never shows them, so evaluating them and copying their
    /// evidence would be wasted work (and allocations) on every message.
    skip_markers: bool,
    /// Per rule: the stamp of the message it was last made a candidate for.
    candidate_stamp: Vec<u32>,
    candidates: Vec<u32>,
    amounts: Vec<Amount>,
    amounts_stamp: u32,
    stamp: u32,
    spans: Vec<(usize, usize)>,
    /// Scratch for `near`: hit positions of all groups, and each group's range in it.
    near_positions: Vec<(u32, u32)>,
    near_bounds: Vec<(usize, usize)>,
    near_picked: Vec<(u32, u32)>,
    near_atoms: Vec<u32>,
    near_reach: Vec<(u32, u32)>,
    near_next: Vec<(u32, u32)>,
}

impl Scanner {
    /// A scanner for `engine`, with scratch from its pool: the same as [`Engine::scanner`].
    pub fn new(engine: Engine) -> Scanner {
        engine.scanner()
    }

    fn with_scratch(engine: Engine, scratch: Scratch) -> Scanner {
        Scanner { engine, scratch, keep_duplicates: false }
    }
}

impl Scratch {
    /// Empty buffers sized for `inner`'s atoms, lists, regexes and rules.
    fn new(inner: &Compiled) -> Scratch {
        let atoms = inner.literal_count() as usize + inner.regexes().len();
        let rules = inner.rules().len();
        let regexes = inner.regexes().len();
        let lists = inner.list_count() as usize;
        Scratch {
            folded: Folded::new(),
            hits: Vec::new(),
            hit_atoms: Vec::new(),
            list_stamp: vec![0; lists],
            ranges: vec![(0, 0, 0); atoms],
            regex_done: vec![0; regexes],
            regex_armed: vec![0; regexes],
            armed: Vec::new(),
            gate_hits: Vec::new(),
            gate_sorted: false,
            regex_caches: (0..regexes).map(|_| None).collect(),
            skip_markers: false,
            candidate_stamp: vec![0; rules],
            candidates: Vec::new(),
            amounts: Vec::new(),
            amounts_stamp: 0,
            stamp: 0,
            spans: Vec::new(),
            near_positions: Vec::new(),
            near_bounds: Vec::new(),
            near_picked: Vec::new(),
            near_atoms: Vec::new(),
            near_reach: Vec::new(),
            near_next: Vec::new(),
        }
    }
}

impl Scanner {
    /// The engine this scanner scans with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The folded text of the last scan, with its map to the original (for explaining a
    /// verdict).
    pub fn folded(&mut self) -> &Folded {
        self.scratch.folded.locate();
        &self.scratch.folded
    }

    /// Scans a chat message's text.
    pub fn scan_text(&mut self, text: &str) -> Verdict {
        self.run(text, EventKind::Message, None)
    }

    /// Scans an event: a message's text, or a transaction's memo and fields.
    pub fn scan(&mut self, event: &Event) -> Verdict {
        let mut v = self.run(event.text(), event.kind(), Some(event));
        v.id = event.id().map(str::to_string);
        v
    }

    fn run(&mut self, text: &str, kind: EventKind, event: Option<&Event>) -> Verdict {
        let inner = &self.engine.inner;
        self.scratch.skip_markers = !self.keep_duplicates;
        let e = self.scratch.evaluate(inner, text, kind, event);
        self.scratch.skip_markers = false;
        score(inner, e.hits, e.cap_level, self.keep_duplicates)
    }

    /// Evaluates an event before scoring, for the monitor, which adds the hits of windows and
    /// sequences before it scores.
    pub(crate) fn evaluate(&mut self, event: &Event) -> Evaluation {
        self.scratch.evaluate(&self.engine.inner, event.text(), event.kind(), Some(event))
    }
}

impl Drop for Scanner {
    /// Gives the scratch back to the engine's pool for the next scanner.
    fn drop(&mut self) {
        let scratch = std::mem::take(&mut self.scratch);
        self.engine.give_back(scratch);
    }
}

impl Scratch {
    fn next_stamp(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Wrapped after four billion messages: clear so old stamps can't look current.
            self.ranges.iter_mut().for_each(|r| r.0 = 0);
            self.regex_done.iter_mut().for_each(|r| *r = 0);
            self.regex_armed.iter_mut().for_each(|r| *r = 0);
            self.candidate_stamp.iter_mut().for_each(|r| *r = 0);
            self.list_stamp.iter_mut().for_each(|r| *r = 0);
            self.amounts_stamp = 0;
            self.stamp = 1;
        }
    }

    /// Evaluates every candidate rule on one event, before scoring: the stateless hits, the
    /// level cap from counter-evidence, and the stateful rules whose `when` held.
    ///
    /// A text longer than [`Limits::message_bytes`](Limits::message_bytes) is
    /// evaluated in overlapping pieces, so scratch memory stays bounded by the limit; a rule
    /// hits if it hits in any piece, with the spans of every piece it hit in.
    pub(crate) fn evaluate(
        &mut self,
        inner: &Compiled,
        text: &str,
        kind: EventKind,
        event: Option<&Event>,
    ) -> Evaluation {
        let size = inner.limits().message_bytes.max(2 * Limits::WINDOW_OVERLAP);
        if text.len() <= size {
            return self.evaluate_piece(inner, text, kind, event);
        }
        let mut out = Evaluation::default();
        let (mut start, mut chars_before) = (0, 0);
        loop {
            let end = floor_char_boundary(text, start + size);
            let piece = self.evaluate_piece(inner, &text[start..end], kind, event);
            merge(&mut out, piece, chars_before, PIECES_SPANS * inner.limits().spans_per_hit);
            if end == text.len() {
                return out;
            }
            let next = floor_char_boundary(text, end - Limits::WINDOW_OVERLAP);
            chars_before += text[start..next].chars().count();
            start = next;
        }
    }

    fn evaluate_piece(
        &mut self,
        inner: &Compiled,
        text: &str,
        kind: EventKind,
        event: Option<&Event>,
    ) -> Evaluation {
        self.next_stamp();
        self.folded.fold_text(text);
        self.find_literals(inner);
        self.collect_candidates(inner, kind);

        let mut out = Evaluation::default();
        for ci in 0..self.candidates.len() {
            let r = self.candidates[ci] as usize;
            let rule = &inner.rules()[r];
            if self.skip_markers
                && rule.points == 0
                && !rule.stateful
                && rule.counters.iter().all(|c| c.max_level.is_none())
            {
                continue;
            }
            if !self.eval(inner, &rule.when, event) {
                continue;
            }
            let mut points = rule.points as i64;
            let mut cancelled = false;
            let mut max_level: Option<Level> = None;
            for c in rule.counters.iter() {
                if !self.eval(inner, &c.when, event) {
                    continue;
                }
                cancelled |= c.cancel;
                points += c.points;
                if let Some(cap) = c.cap {
                    points = points.min(cap as i64);
                }
                if let Some(l) = c.max_level {
                    max_level = Some(max_level.map_or(l, |m| m.min(l)));
                }
            }
            if !rule.stateful {
                // A counter's level cap holds for the whole verdict, even when it also
                // cancelled this rule.
                out.cap_level = min_level(out.cap_level, max_level);
            }
            // A marker (0 points) still hits, for sequences to see; counters can only cancel it.
            if cancelled || (points <= 0 && rule.points > 0) {
                continue;
            }
            let (evidence, spans) = self.evidence(inner, r, text);
            let hit = Hit {
                rule: rule.id.clone(),
                category: rule.category.clone(),
                score: points.max(0) as u32,
                evidence,
                spans,
                events: Vec::new(),
            };
            if rule.stateful {
                out.passed.push(Passed { rule: r as u32, hit, max_level });
            } else {
                out.hits.push((r, hit));
            }
        }
        out
    }

    /// Runs the automaton and groups hits by atom.
    fn find_literals(&mut self, inner: &Compiled) {
        self.hits.clear();
        self.hit_atoms.clear();
        self.armed.clear();
        self.gate_hits.clear();
        self.gate_sorted = false;
        let Some(ac) = inner.automaton() else { return };
        let text = self.folded.as_str();
        let bytes = text.as_bytes();
        let patterns = inner.literal_count() as usize;
        for m in ac.0.find_overlapping_iter(text) {
            let p = m.value() as usize;
            // The start is taken from the pattern's own length; a pattern id or a start that
            // does not fit can only come from a tampered bundle, and is skipped, not trusted.
            let end = m.end();
            let Some(start) = (p < patterns)
                .then(|| end.checked_sub(inner.edges(p).len as usize))
                .flatten()
                .filter(|&s| s < end)
            else {
                continue;
            };
            if !text.is_char_boundary(start) {
                continue;
            }
            // Arm the regexes this literal gates, whatever its word edges.
            for &r in inner.armed_by(p) {
                if self.regex_armed[r as usize] != self.stamp {
                    self.regex_armed[r as usize] = self.stamp;
                    self.armed.push(r);
                }
            }
            for &r in inner.anchored_at(p) {
                self.gate_hits.push((r, start as u32));
            }
            let e = inner.edges(p);
            // Latin literals match whole words at their Latin edges.
            if e.letter_start && start > 0 && bytes[start - 1].is_ascii_alphabetic() {
                continue;
            }
            if e.letter_end && bytes.get(end).is_some_and(u8::is_ascii_alphabetic) {
                continue;
            }
            self.hits.push(AtomHit { atom: p as u32, start: start as u32, end: end as u32 });
        }
        self.hits.sort_unstable();
        self.hit_atoms.clear();
        let mut i = 0;
        while i < self.hits.len() {
            let atom = self.hits[i].atom;
            let mut j = i + 1;
            while j < self.hits.len() && self.hits[j].atom == atom {
                j += 1;
            }
            self.ranges[atom as usize] = (self.stamp, i as u32, j as u32);
            self.hit_atoms.push(atom);
            for &list in inner.lists_containing(atom as usize) {
                self.list_stamp[list as usize] = self.stamp;
            }
            i = j;
        }
    }

    fn collect_candidates(&mut self, inner: &Compiled, kind: EventKind) {
        self.candidates.clear();
        let applies = |r: u32| {
            let k = inner.rules()[r as usize].kinds;
            match kind {
                EventKind::Message => k.message,
                EventKind::Transaction => k.transaction,
            }
        };
        let mut i = 0;
        while i < self.hits.len() {
            let atom = self.hits[i].atom as usize;
            let (_, _, end) = self.ranges[atom];
            for &r in inner.triggered_by(atom) {
                if self.candidate_stamp[r as usize] != self.stamp && applies(r) {
                    self.candidate_stamp[r as usize] = self.stamp;
                    self.candidates.push(r);
                }
            }
            i = end as usize;
        }
        for &x in &self.armed {
            for &r in inner.triggered_by_regex(x as usize) {
                if self.candidate_stamp[r as usize] != self.stamp && applies(r) {
                    self.candidate_stamp[r as usize] = self.stamp;
                    self.candidates.push(r);
                }
            }
        }
        for &r in inner.always().iter() {
            if self.candidate_stamp[r as usize] != self.stamp && applies(r) {
                self.candidate_stamp[r as usize] = self.stamp;
                self.candidates.push(r);
            }
        }
        // Rule order, so verdicts do not depend on which atom was seen first.
        self.candidates.sort_unstable();
    }

    /// Hits of an atom in this message, running its regex first if it is one.
    fn atom_hits(&mut self, inner: &Compiled, atom: u32) -> &[AtomHit] {
        if atom >= inner.literal_count() {
            let r = (atom - inner.literal_count()) as usize;
            let gated_out = inner.regex_gated(r) && self.regex_armed[r] != self.stamp;
            if self.regex_done[r] != self.stamp && !gated_out {
                self.regex_done[r] = self.stamp;
                self.run_regex(inner, r);
            }
        }
        let (stamp, s, e) = self.ranges[atom as usize];
        if stamp == self.stamp {
            &self.hits[s as usize..e as usize]
        } else {
            &[]
        }
    }

    /// Runs regex `r` over the folded text and records its hits.
    ///
    /// A gated regex's every match starts with one of its prefilter literals, so it runs
    /// *anchored* at each place one was found: an anchored search is a small automaton that
    /// stops within a few characters, where an unanchored one carries every partial match
    /// through the whole text (and, with gaps such as `先.{0,8}票`, keeps building new lazy-DFA
    /// states). Where the literals are found at many places (a one-letter prefix in Latin
    /// text), one unanchored pass is cheaper.
    fn run_regex(&mut self, inner: &Compiled, r: usize) {
        use regex_automata::{Anchored, Input};
        const ANCHORED_MAX: usize = 8;
        let atom = inner.literal_count() + r as u32;
        let text = self.folded.as_str();
        let re = &inner.regexes()[r];
        let cache = self.regex_caches[r].get_or_insert_with(|| re.create_cache());
        let start = self.hits.len();
        let starts: &[(u32, u32)] = if inner.regex_anchored(r) {
            if !self.gate_sorted {
                self.gate_hits.sort_unstable();
                self.gate_hits.dedup();
                self.gate_sorted = true;
            }
            let lo = self.gate_hits.partition_point(|&(g, _)| (g as usize) < r);
            let hi = self.gate_hits.partition_point(|&(g, _)| (g as usize) <= r);
            &self.gate_hits[lo..hi]
        } else {
            &[]
        };
        if inner.regex_anchored(r) && starts.len() <= ANCHORED_MAX {
            // Matches from later starts that overlap an earlier match are dropped, as an
            // unanchored search would not report them.
            let mut covered = 0;
            let min_len = inner.regex_min_len(r) as usize;
            for &(_, at) in starts {
                let at = at as usize;
                if at < covered || text.len() - at < min_len {
                    continue;
                }
                let input = Input::new(text).range(at..).anchored(Anchored::Yes);
                if let Some(m) = re.search_with(cache, &input) {
                    if m.start() < m.end() {
                        self.hits.push(AtomHit { atom, start: m.start() as u32, end: m.end() as u32 });
                        covered = m.end();
                    }
                }
            }
        } else {
            let mut at = 0;
            while at <= text.len() {
                let Some(m) = re.search_with(cache, &Input::new(text).range(at..)) else { break };
                if m.start() < m.end() {
                    self.hits.push(AtomHit { atom, start: m.start() as u32, end: m.end() as u32 });
                    at = m.end();
                } else {
                    // An empty match: move on by one character.
                    at = m.end() + text[m.end()..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        if self.hits.len() > start {
            self.ranges[atom as usize] = (self.stamp, start as u32, self.hits.len() as u32);
        }
    }

    fn amounts(&mut self) -> &[Amount] {
        if self.amounts_stamp != self.stamp {
            self.amounts_stamp = self.stamp;
            self.amounts.clear();
            find_amounts(self.folded.as_str(), &mut self.amounts);
        }
        &self.amounts
    }

    /// The rule's evidence: every hit of its atoms and every amount that satisfied it, as
    /// merged spans of the original text.
    fn evidence(&mut self, inner: &Compiled, rule: usize, original: &str) -> (Vec<String>, Vec<[usize; 2]>) {
        let mut spans = std::mem::take(&mut self.spans);
        spans.clear();
        let r = &inner.rules()[rule];
        let mut present = std::mem::take(&mut self.near_atoms);
        present.clear();
        self.present_atoms(inner, &r.evidence_atoms, &mut present);
        // Each term lists its first few occurrences: a message repeating a word a million
        // times gives a short verdict, and every term that made the hit is still shown.
        let per_term = inner.limits().spans_per_hit;
        for &a in &present {
            for h in self.atom_hits(inner, a).iter().take(per_term) {
                spans.push((h.start as usize, h.end as usize));
            }
        }
        self.near_atoms = present;
        if r.uses_amounts {
            let bounds = amount_bounds(&r.when);
            for a in self.amounts().to_vec().into_iter().take(per_term) {
                if bounds.iter().any(|b| b.holds_fen(a.fen)) {
                    spans.push((a.start, a.end));
                }
            }
        }
        self.folded.locate();
        let mut out: Vec<(usize, usize)> =
            spans.iter().map(|&(s, e)| self.folded.original_span(s, e)).collect();
        self.spans = spans;
        out.sort_unstable();
        let mut merged: Vec<[usize; 2]> = Vec::with_capacity(out.len());
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if s <= last[1] => last[1] = last[1].max(e),
                _ => merged.push([s, e]),
            }
        }
        let evidence = char_slices(original, &merged);
        (evidence, merged)
    }
}

fn amount_bounds(node: &crate::compile::program::Node) -> Vec<&crate::rules::NumCmp> {
    use crate::compile::program::Node;
    let mut out = Vec::new();
    fn walk<'a>(n: &'a Node, out: &mut Vec<&'a crate::rules::NumCmp>) {
        match n {
            Node::Amount(c) => out.push(c),
            Node::AllOf(v) | Node::AnyOf(v) => v.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    walk(node, &mut out);
    out
}

/// The original text of each character span.
fn char_slices(text: &str, spans: &[[usize; 2]]) -> Vec<String> {
    let mut bounds: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    bounds.push(text.len());
    spans
        .iter()
        .map(|&[s, e]| {
            let (bs, be) = (bounds[s.min(bounds.len() - 1)], bounds[e.min(bounds.len() - 1)]);
            text[bs..be].to_string()
        })
        .collect()
}

/// A hit on a text scanned in pieces lists at most this many times
/// [`Limits::spans_per_hit`](Limits::spans_per_hit) spans in all.
const PIECES_SPANS: usize = 4;

/// The largest char boundary of `text` at or before `at` (clamped to its length).
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Adds the evaluation of one piece of a long text, whose first character is character
/// `offset` of the text, to that of the pieces before it.
fn merge(out: &mut Evaluation, piece: Evaluation, offset: usize, spans_per_hit: usize) {
    fn add(into: &mut Hit, from: Hit, offset: usize, limit: usize) {
        for (span, evidence) in from.spans.into_iter().zip(from.evidence) {
            let span = [span[0] + offset, span[1] + offset];
            // Pieces overlap, so a span near a seam is found twice.
            if into.spans.len() < limit && !into.spans.contains(&span) {
                into.spans.push(span);
                into.evidence.push(evidence);
            }
        }
        into.score = into.score.max(from.score);
    }
    let shifted = |mut h: Hit| {
        h.spans.iter_mut().for_each(|s| *s = [s[0] + offset, s[1] + offset]);
        h
    };
    for (r, hit) in piece.hits {
        match out.hits.iter_mut().find(|(k, _)| *k == r) {
            Some((_, into)) => add(into, hit, offset, spans_per_hit),
            None => out.hits.push((r, shifted(hit))),
        }
    }
    for p in piece.passed {
        match out.passed.iter_mut().find(|k| k.rule == p.rule) {
            Some(into) => {
                add(&mut into.hit, p.hit, offset, spans_per_hit);
                into.max_level = min_level(into.max_level, p.max_level);
            }
            None => out.passed.push(Passed { hit: shifted(p.hit), ..p }),
        }
    }
    out.cap_level = min_level(out.cap_level, piece.cap_level);
}

/// A verdict with the working shown, for rule authors: see [`Scanner::explain`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    /// The folded text the rules were matched against.
    pub folded: String,
    /// Amounts of money found in the text: (yuan, original character span).
    pub amounts: Vec<(f64, [usize; 2])>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Scanner {
    /// Scans `text` and shows the folded text and the amounts found beside the verdict.
    pub fn explain(&mut self, text: &str) -> Explanation {
        let verdict = self.scan_text(text);
        let s = &mut self.scratch;
        s.folded.locate();
        s.amounts_stamp = 0;
        let amounts: Vec<Amount> = s.amounts().to_vec();
        let amounts = amounts
            .iter()
            .map(|a| {
                let (start, end) = s.folded.original_span(a.start, a.end);
                (a.fen as f64 / 100.0, [start, end])
            })
            .collect();
        Explanation { folded: s.folded.as_str().to_string(), amounts, verdict }
    }
}
