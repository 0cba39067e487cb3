//! Loading and validating rule files: TOML with spans → resolved [`RuleSet`].
//!
//! Validation happens in two passes because sets and variants are shared between packs: the
//! first pass parses every file and gathers set and variant definitions, the second resolves
//! each rule against all of them. Every problem becomes a located [`Diagnostic`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::format::{
    CompareRaw, CondRaw, CounterRaw, DurationRaw, PackFile, SequenceRaw, StepRaw, Str, StreamRaw, WindowRaw,
};
use super::{
    Atom, Cond, Counter, FieldCmp, Kinds, Levels, Location, NumCmp, PackInfo, Rule, RuleSet, Scalar,
    Sequence, Stateful, Step, StepMatch, StreamExample, Window,
};
use crate::error::{Diagnostic, Error};
use crate::limits::Limits;
use crate::normalize::fold;
use crate::verdict::Level;

/// Default `within` for `near`, in folded characters.
const DEFAULT_WITHIN: u32 = 20;

/// Collects rule sources, then validates them together.
///
/// ```
/// let mut b = fanzha::RuleSet::builder();
/// b.add_source("a.toml", "[pack]\nid = \"a\"\nversion = \"1\"\n[sets]\nbig = [\"大客户\"]\n");
/// b.add_source("b.toml", r#"
/// [pack]
/// id = "b"
/// version = "1"
/// [[rule]]
/// id = "b.big"
/// title = "Claims to be a big customer"
/// category = "fake_large_order"
/// points = 30
/// when = { any = ["@big"] }
/// "#);
/// let rules = b.build()?;
/// assert_eq!(rules.packs().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    sources: Vec<(String, String)>,
    errors: Vec<Diagnostic>,
    limits: Limits,
}

impl RuleSetBuilder {
    /// An empty builder.
    pub fn new() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// Sets the limits on what the rules may cost (see [`Limits`]); call it before adding
    /// files, whose size is checked as they are read.
    pub fn limits(&mut self, limits: Limits) -> &mut RuleSetBuilder {
        self.limits = limits;
        self
    }

    /// Adds the packs bundled with fanzha, as [`RuleSet::bundled`] has them.
    pub fn add_bundled(&mut self) -> &mut RuleSetBuilder {
        for (name, source) in super::bundled::PACKS {
            self.add_source(name, source);
        }
        self
    }

    /// Adds a pack from a string; `name` is used in error locations.
    pub fn add_source(&mut self, name: &str, source: &str) -> &mut RuleSetBuilder {
        self.sources.push((name.to_string(), source.to_string()));
        self
    }

    /// Adds a pack file, or every `*.toml` file of a directory in name order. Read errors are
    /// reported by [`build`](RuleSetBuilder::build).
    pub fn add_path(&mut self, path: impl AsRef<Path>) -> &mut RuleSetBuilder {
        let path = path.as_ref();
        if path.is_dir() {
            let mut files: Vec<_> = match std::fs::read_dir(path) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect(),
                Err(e) => {
                    self.errors.push(io_error(path, &e.to_string()));
                    return self;
                }
            };
            files.sort();
            if files.is_empty() {
                self.errors.push(io_error(path, "no .toml rule files in this directory"));
            }
            for f in files {
                self.add_file(&f);
            }
        } else {
            self.add_file(path);
        }
        self
    }

    fn add_file(&mut self, path: &Path) {
        // Read at most one byte past the limit, so a huge file costs no more than that.
        let limit = self.limits.source_bytes;
        let read = std::fs::File::open(path).and_then(|f| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(f, limit as u64 + 1), &mut bytes)?;
            Ok(bytes)
        });
        match read {
            Ok(bytes) if bytes.len() > limit => self.errors.push(Diagnostic {
                code: "E010",
                file: path.display().to_string(),
                line: 1,
                column: 1,
                rule: None,
                message: format!("the file is larger than the limit of {limit} bytes"),
            }),
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => {
                    self.sources.push((path.display().to_string(), s));
                }
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
                    let (line, column) = line_col(&text, at);
                    self.errors.push(Diagnostic {
                        code: "E009",
                        file: path.display().to_string(),
                        line,
                        column,
                        rule: None,
                        message: "the file is not valid UTF-8".into(),
                    });
                }
            },
            Err(e) => self.errors.push(io_error(path, &e.to_string())),
        }
    }

    /// Parses and validates everything added, returning every problem found.
    pub fn build(&self) -> Result<RuleSet, Error> {
        let mut cx = Context { diags: self.errors.clone(), limits: self.limits, ..Context::default() };
        let mut parsed: Vec<(usize, PackFile)> = Vec::new();
        for (i, (name, source)) in self.sources.iter().enumerate() {
            if source.len() > self.limits.source_bytes {
                cx.diags.push(Diagnostic {
                    code: "E010",
                    file: name.clone(),
                    line: 1,
                    column: 1,
                    rule: None,
                    message: format!(
                        "the source is larger than the limit of {} bytes",
                        self.limits.source_bytes
                    ),
                });
                continue;
            }
            match toml::from_str::<PackFile>(source) {
                Ok(pack) => parsed.push((i, pack)),
                Err(e) => {
                    let at = e.span().map(|s| s.start).unwrap_or(0);
                    let (line, column) = line_col(source, at);
                    cx.diags.push(Diagnostic {
                        code: "E001",
                        file: name.clone(),
                        line,
                        column,
                        rule: enclosing_rule_id(source, at),
                        message: e.message().trim().to_string(),
                    });
                }
            }
        }

        // Pass 1: packs, sets, variants, levels.
        let mut packs = Vec::new();
        let mut pack_ids: HashMap<String, ()> = HashMap::new();
        let mut levels: Option<(Levels, String)> = None;
        for (i, file) in &parsed {
            let src = Src::new(&self.sources[*i].0, &self.sources[*i].1);
            let meta = &file.pack;
            if meta.id.get_ref().trim().is_empty() {
                cx.error(&src, "E006", meta.id.span(), None, "pack id is empty".into());
            } else if pack_ids.insert(meta.id.get_ref().clone(), ()).is_some() {
                cx.error(
                    &src,
                    "E002",
                    meta.id.span(),
                    None,
                    format!("duplicate pack id `{}`", meta.id.get_ref()),
                );
            }
            if let Some(l) = &meta.levels {
                let raw = *l.get_ref();
                if !(raw.notice < raw.warn && raw.warn < raw.block) {
                    cx.error(&src, "E006", l.span(), None, "levels must rise: notice < warn < block".into());
                }
                let these = Levels { notice: raw.notice, warn: raw.warn, block: raw.block };
                match &levels {
                    Some((other, from)) if *other != these => cx.error(
                        &src,
                        "E008",
                        l.span(),
                        None,
                        format!("levels differ from those of pack `{from}`"),
                    ),
                    Some(_) => {}
                    None => levels = Some((these, meta.id.get_ref().clone())),
                }
            }
            for (name, terms) in &file.sets {
                if !valid_name(name) {
                    cx.error(
                        &src,
                        "E006",
                        terms.span(),
                        None,
                        format!("set name `{name}` must be letters, digits, `_` or `-`"),
                    );
                }
                if cx.sets.contains_key(name) {
                    cx.error(&src, "E002", terms.span(), None, format!("set `{name}` is defined twice"));
                } else {
                    cx.sets.insert(name.clone(), (terms.get_ref().clone(), *i));
                }
            }
            for (canonical, spellings) in &file.variants {
                let key = fold(canonical);
                if key.is_empty() {
                    cx.error(
                        &src,
                        "E007",
                        spellings.span(),
                        None,
                        format!("variant key `{canonical}` folds to nothing"),
                    );
                    continue;
                }
                for s in spellings.get_ref() {
                    let f = fold(s.get_ref());
                    if f.is_empty() {
                        cx.error(
                            &src,
                            "E007",
                            s.span(),
                            None,
                            format!("variant `{}` folds to nothing", s.get_ref()),
                        );
                    } else if f != key {
                        cx.variants.entry(key.clone()).or_default().insert(f);
                    }
                }
            }
            packs.push(PackInfo {
                id: meta.id.get_ref().clone(),
                version: meta.version.clone(),
                description: meta.description.clone(),
                languages: meta.languages.clone(),
                file: src.name.to_string(),
            });
        }

        // Pass 2: rules.
        let mut rules = Vec::new();
        let mut references: Vec<(usize, Range<usize>, String, StepMatch)> = Vec::new();
        let mut rule_ids: HashMap<String, ()> = HashMap::new();
        for (i, file) in &parsed {
            let src = Src::new(&self.sources[*i].0, &self.sources[*i].1);
            cx.pinyin = file.pack.pinyin.unwrap_or(true);
            let file_arc: Arc<str> = Arc::from(src.name);
            let pack_counters: Vec<Counter> =
                file.counter.iter().filter_map(|c| cx.counter(&src, None, c)).collect();
            if file.rule.len() > cx.limits.rules_per_pack {
                let over = &file.rule[cx.limits.rules_per_pack];
                let message = format!("more than {} rules in one pack", cx.limits.rules_per_pack);
                cx.error(&src, "E010", over.id.span(), Some(over.id.get_ref()), message);
                continue;
            }
            for raw in &file.rule {
                let id = raw.id.get_ref().clone();
                let rid = Some(id.as_str());
                if !valid_name(&id.replace('.', "_")) || id.is_empty() {
                    cx.error(
                        &src,
                        "E006",
                        raw.id.span(),
                        rid,
                        "rule id must be letters, digits, `.`, `_` or `-`".into(),
                    );
                }
                if rule_ids.insert(id.clone(), ()).is_some() {
                    cx.error(&src, "E002", raw.id.span(), rid, format!("duplicate rule id `{id}`"));
                }
                let category = raw.category.get_ref();
                if category.is_empty()
                    || !category.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    cx.error(&src, "E006", raw.category.span(), rid, "category must be snake_case".into());
                }
                if let Some(g) = &raw.group {
                    if !valid_name(&g.get_ref().replace('.', "_")) {
                        cx.error(
                            &src,
                            "E006",
                            g.span(),
                            rid,
                            "group must be letters, digits, `.`, `_` or `-`".into(),
                        );
                    }
                }
                let mut kinds = Kinds { message: raw.kinds.is_empty(), transaction: false };
                for k in &raw.kinds {
                    match k.get_ref().as_str() {
                        "message" => kinds.message = true,
                        "transaction" => kinds.transaction = true,
                        other => cx.error(
                            &src,
                            "E006",
                            k.span(),
                            rid,
                            format!("unknown event kind `{other}` (message, transaction)"),
                        ),
                    }
                }
                let points = *raw.points.get_ref();
                if !(0..=1000).contains(&points) {
                    cx.error(
                        &src,
                        "E006",
                        raw.points.span(),
                        rid,
                        "points must be between 0 (a marker for sequence steps) and 1000".into(),
                    );
                }
                let rule_span = raw.id.span();
                let when = match &raw.when {
                    Some(w) => {
                        let cond = cx.cond(&src, rid, w.get_ref(), w.span(), 0);
                        if cond.as_ref().is_some_and(|c| !positive(c)) {
                            cx.error(
                                &src,
                                "E005",
                                w.span(),
                                rid,
                                "the condition has nothing positive to look for (any, all, near, amount or field)".into(),
                            );
                        }
                        cond.map(Some)
                    }
                    None if raw.sequence.is_some() => Some(None),
                    None => {
                        cx.error(&src, "E005", rule_span.clone(), rid, "a rule needs a `when`".into());
                        None
                    }
                };
                let stateful = match (&raw.window, &raw.sequence) {
                    (Some(_), Some(s)) => {
                        cx.error(
                            &src,
                            "E005",
                            s.span(),
                            rid,
                            "a rule has a `window` or a `sequence`, not both".into(),
                        );
                        None
                    }
                    (Some(w), None) => cx.window(&src, rid, w).map(|w| Stateful::Window(Box::new(w))),
                    (None, Some(s)) => {
                        let seq = cx.sequence(&src, rid, s, raw.when.is_some());
                        if let Some(seq) = &seq {
                            for (step, raw_step) in seq.steps.iter().zip(&s.get_ref().steps) {
                                if step.matcher != StepMatch::Own {
                                    references.push((*i, raw_step.span(), id.clone(), step.matcher.clone()));
                                }
                            }
                        }
                        seq.map(Stateful::Sequence)
                    }
                    (None, None) => None,
                };
                let mut streams = Vec::new();
                for st in &raw.stream {
                    if let Some(example) = cx.stream(&src, &file_arc, rid, st) {
                        streams.push(example);
                    }
                }
                let mut counters: Vec<Counter> =
                    raw.counter.iter().filter_map(|c| cx.counter(&src, rid, c)).collect();
                counters.extend(pack_counters.iter().cloned());
                let examples = |v: &Vec<Str>| {
                    v.iter().map(|s| (s.get_ref().clone(), src.location(&file_arc, s.span().start))).collect()
                };
                if let Some(when) = when {
                    if raw.window.is_some() != matches!(stateful, Some(Stateful::Window(_)))
                        || raw.sequence.is_some() != matches!(stateful, Some(Stateful::Sequence(_)))
                    {
                        continue;
                    }
                    rules.push(Rule {
                        id,
                        title: raw.title.clone(),
                        category: category.clone(),
                        kinds,
                        points: points.clamp(0, 1000) as u32,
                        advice: raw.advice.clone(),
                        tags: raw.tags.clone(),
                        group: raw.group.as_ref().map(|g| g.get_ref().clone()),
                        when,
                        stateful,
                        counters,
                        examples_match: examples(&raw.examples.matches),
                        examples_no_match: examples(&raw.examples.no_match),
                        examples_stream: streams,
                        location: src.location(&file_arc, raw.id.span().start),
                    });
                }
            }
        }

        // Sequence steps name rules and categories of the whole set.
        for (i, span, from, matcher) in references {
            let src = Src::new(&self.sources[i].0, &self.sources[i].1);
            let problem = match &matcher {
                StepMatch::Rule(id) => match rules.iter().find(|r| r.id == *id) {
                    None => Some(("E003", format!("step names an undefined rule `{id}`"))),
                    Some(r) if matches!(r.stateful, Some(Stateful::Sequence(_))) => {
                        Some(("E005", format!("step names `{id}`, itself a sequence: sequences do not nest")))
                    }
                    Some(_) => None,
                },
                StepMatch::Category(c) if !rules.iter().any(|r| r.category == *c) => {
                    Some(("E003", format!("step names a category no rule has: `{c}`")))
                }
                _ => None,
            };
            if let Some((code, message)) = problem {
                cx.error(&src, code, span, Some(&from), message);
            }
        }

        if cx.diags.is_empty() {
            Ok(RuleSet { packs, rules, levels: levels.map(|l| l.0).unwrap_or_default(), limits: self.limits })
        } else {
            Err(Error::Rules(cx.diags))
        }
    }
}

/// The id of the `[[rule]]` table around byte `at`, read from the text: a file that failed to
/// parse has no tree to ask, but its author still wants to know which rule is wrong.
fn enclosing_rule_id(source: &str, at: usize) -> Option<String> {
    let at = (0..=at.min(source.len())).rev().find(|&i| source.is_char_boundary(i))?;
    let start = source[..at].rfind("[[rule]]")?;
    let end = source[start + 8..].find("[[").map_or(source.len(), |e| start + 8 + e);
    source[start..end].lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("id")?.trim_start().strip_prefix('=')?.trim();
        let quoted = rest.strip_prefix('"')?;
        Some(quoted[..quoted.find('"')?].to_string())
    })
}

fn io_error(path: &Path, message: &str) -> Diagnostic {
    Diagnostic {
        code: "E009",
        file: path.display().to_string(),
        line: 1,
        column: 1,
        rule: None,
        message: format!("cannot read: {message}"),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether a condition looks for something rather than only for absence.
fn positive(c: &Cond) -> bool {
    match c {
        Cond::Any(_) | Cond::All(_) | Cond::Near { .. } | Cond::Amount(_) | Cond::Field(_) => true,
        Cond::None(_) | Cond::NoneOf(_) => false,
        Cond::AllOf(v) => v.iter().any(positive),
        Cond::AnyOf(v) => !v.is_empty() && v.iter().all(positive),
    }
}

/// 1-based line and character column of byte offset `at`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|p| p + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

struct Src<'a> {
    name: &'a str,
    text: &'a str,
    /// Byte offsets where lines start, made at the first location asked for: every rule and
    /// example records where it is written, and counting lines from the top for each would
    /// make loading quadratic in the file's length.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> Src<'a> {
    fn new(name: &'a str, text: &'a str) -> Src<'a> {
        Src { name, text, line_starts: std::cell::OnceCell::new() }
    }

    fn location(&self, file: &Arc<str>, at: usize) -> Location {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect()
        });
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = starts.partition_point(|&s| s <= at);
        let column = self.text[starts[line - 1]..at].chars().count() + 1;
        Location { file: file.clone(), line, column }
    }
}

#[derive(Default)]
struct Context {
    diags: Vec<Diagnostic>,
    /// Set name → (terms, index of the source defining it).
    sets: BTreeMap<String, (Vec<Str>, usize)>,
    /// Folded canonical text → folded spellings.
    variants: BTreeMap<String, BTreeSet<String>>,
    /// Whether literals of the pack being resolved get pinyin spellings.
    pinyin: bool,
    /// Sets already expanded, by name and pinyin setting (`None`: the set has errors, which
    /// were reported at its first use).
    expanded: HashMap<(String, bool), Option<Vec<Atom>>>,
    limits: Limits,
    /// Distinct literal spellings so far, against [`Limits::literals`].
    literals: std::collections::HashSet<String>,
}

impl Context {
    fn error(
        &mut self,
        src: &Src,
        code: &'static str,
        span: Range<usize>,
        rule: Option<&str>,
        message: String,
    ) {
        let Location { line, column, .. } = src.location(&Arc::from(""), span.start);
        self.diags.push(Diagnostic {
            code,
            file: src.name.to_string(),
            line,
            column,
            rule: rule.map(str::to_string),
            message,
        });
    }

    fn counter(&mut self, src: &Src, rule: Option<&str>, raw: &CounterRaw) -> Option<Counter> {
        let when = self.cond(src, rule, raw.when.get_ref(), raw.when.span(), 0)?;
        let max_level = match &raw.max_level {
            None => None,
            Some(l) => match l.get_ref().as_str() {
                "none" => Some(Level::None),
                "notice" => Some(Level::Notice),
                "warn" => Some(Level::Warn),
                "block" => Some(Level::Block),
                other => {
                    self.error(
                        src,
                        "E006",
                        l.span(),
                        rule,
                        format!("unknown level `{other}` (none, notice, warn, block)"),
                    );
                    None
                }
            },
        };
        let points = raw.points.unwrap_or(0);
        if points > 0 {
            self.error(src, "E006", raw.when.span(), rule, "counter points must be negative".into());
        }
        if raw.cancel.is_none() && raw.points.is_none() && raw.cap.is_none() && raw.max_level.is_none() {
            self.error(
                src,
                "E005",
                raw.when.span(),
                rule,
                "a counter needs one of cancel, points, cap or max_level".into(),
            );
        }
        Some(Counter { when, cancel: raw.cancel.unwrap_or(false), points, cap: raw.cap, max_level })
    }

    fn cond(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &CondRaw,
        span: Range<usize>,
        depth: usize,
    ) -> Option<Cond> {
        if depth > self.limits.condition_depth {
            let message = format!("conditions nest deeper than the limit of {}", self.limits.condition_depth);
            self.error(src, "E010", span, rule, message);
            return None;
        }
        let mut parts = Vec::new();
        let mut ok = true;
        if let Some(terms) = &raw.any {
            match self.terms_flat(src, rule, terms, &span) {
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
                self.error(src, "E005", span.clone(), rule, "`all` is empty".into());
                ok = false;
            }
            parts.push(Cond::All(slots));
        }
        if let Some(terms) = &raw.none {
            match self.terms_flat(src, rule, terms, &span) {
                Some(atoms) => parts.push(Cond::None(atoms)),
                None => ok = false,
            }
        }
        if let Some(groups) = &raw.near {
            if groups.len() < 2 {
                self.error(
                    src,
                    "E005",
                    span.clone(),
                    rule,
                    "`near` needs at least two groups of terms".into(),
                );
                ok = false;
            }
            let mut out = Vec::new();
            for g in groups {
                match self.terms_flat(src, rule, g, &span) {
                    Some(atoms) => out.push(atoms),
                    None => ok = false,
                }
            }
            let within = raw.within.as_ref().map(|w| *w.get_ref()).unwrap_or(DEFAULT_WITHIN);
            parts.push(Cond::Near { groups: out, within, ordered: raw.ordered.unwrap_or(false) });
        } else if raw.within.is_some() || raw.ordered.is_some() {
            self.error(src, "E005", span.clone(), rule, "`within` and `ordered` go with `near`".into());
            ok = false;
        }
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
        for (list, make) in [
            (&raw.all_of, Cond::AllOf as fn(Vec<Cond>) -> Cond),
            (&raw.any_of, Cond::AnyOf),
            (&raw.none_of, Cond::NoneOf),
        ] {
            if let Some(list) = list {
                if list.is_empty() {
                    self.error(src, "E005", span.clone(), rule, "an empty list of conditions".into());
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
        }
        if parts.is_empty() && ok {
            self.error(src, "E005", span, rule, "an empty condition".into());
            return None;
        }
        if !ok {
            return None;
        }
        Some(if parts.len() == 1 { parts.pop().unwrap() } else { Cond::AllOf(parts) })
    }

    fn compare(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &CompareRaw,
        span: Range<usize>,
        field: bool,
    ) -> Option<FieldCmp> {
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(Scalar::Str(s.clone())),
            toml::Value::Integer(i) => Some(Scalar::Num(*i as f64)),
            toml::Value::Float(f) => Some(Scalar::Num(*f)),
            toml::Value::Boolean(b) => Some(Scalar::Bool(*b)),
            _ => None,
        };
        let name = match (&raw.name, field) {
            (Some(n), true) => n.clone(),
            (None, true) => {
                self.error(src, "E005", span, rule, "`field` needs a `name`".into());
                return None;
            }
            (Some(_), false) => {
                self.error(src, "E005", span, rule, "`amount` takes no `name`".into());
                return None;
            }
            (None, false) => String::new(),
        };
        let num_eq = match (&raw.eq, field) {
            (Some(v), false) => match scalar(v) {
                Some(Scalar::Num(n)) => Some(n),
                _ => {
                    self.error(src, "E005", span, rule, "`amount` compares with numbers".into());
                    return None;
                }
            },
            _ => None,
        };
        let num = NumCmp::new(raw.ge, raw.gt, raw.le, raw.lt, num_eq);
        if !num.is_finite() {
            self.error(src, "E006", span, rule, "bounds must be finite numbers".into());
            return None;
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
        if !field {
            if raw.ne.is_some() || raw.one_of.is_some() || raw.contains.is_some() || raw.exists.is_some() {
                self.error(src, "E005", span, rule, "`amount` takes ge, gt, le, lt or eq".into());
                return None;
            }
            if out.num == NumCmp::default() {
                self.error(
                    src,
                    "E005",
                    span,
                    rule,
                    "`amount` needs an operator: ge, gt, le, lt or eq".into(),
                );
                return None;
            }
        } else if out.eq.is_none()
            && out.ne.is_none()
            && out.one_of.is_none()
            && out.num == NumCmp::default()
            && out.contains.is_none()
            && out.exists.is_none()
        {
            self.error(
                src,
                "E005",
                span,
                rule,
                "`field` needs an operator: eq, ne, in, ge, gt, le, lt, contains or exists".into(),
            );
            return None;
        }
        if let Some(c) = &out.contains {
            if c.is_empty() {
                out.contains = None;
            }
        }
        Some(out)
    }

    fn terms_flat(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        terms: &[Str],
        span: &Range<usize>,
    ) -> Option<Vec<Atom>> {
        if terms.is_empty() {
            self.error(src, "E005", span.clone(), rule, "an empty list of terms".into());
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for t in terms {
            match self.term(src, rule, t, &mut Vec::new()) {
                Some(a) => out.extend(a),
                None => ok = false,
            }
        }
        out.sort();
        out.dedup();
        ok.then_some(out)
    }

    /// Resolves one term to its atoms: a set's members, a regex, or a literal's spellings.
    fn term(&mut self, src: &Src, rule: Option<&str>, t: &Str, stack: &mut Vec<String>) -> Option<Vec<Atom>> {
        let text = t.get_ref();
        if let Some(name) = text.strip_prefix('@') {
            if stack.iter().any(|s| s == name) {
                self.error(src, "E005", t.span(), rule, format!("set `{name}` refers to itself"));
                return None;
            }
            let Some((members, _)) = self.sets.get(name).cloned() else {
                self.error(src, "E003", t.span(), rule, format!("undefined set `@{name}`"));
                return None;
            };
            // A set is expanded once per pinyin setting: packs refer to the same sets from
            // dozens of rules and counters, and expansion (variants, pinyin) is the costly part.
            let key = (name.to_string(), self.pinyin);
            if let Some(done) = self.expanded.get(&key) {
                return done.clone();
            }
            stack.push(name.to_string());
            let mut out = Vec::new();
            let mut ok = true;
            for m in &members {
                // Members are located in their own file; report problems at the reference.
                let m = Str::new(t.span(), m.get_ref().clone());
                match self.term(src, rule, &m, stack) {
                    Some(a) => out.extend(a),
                    None => ok = false,
                }
            }
            stack.pop();
            out.sort();
            out.dedup();
            let result = ok.then_some(out);
            self.expanded.insert(key, result.clone());
            return result;
        }
        if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
            let pattern = fold_regex(&text[1..text.len() - 1]);
            return match check_regex(&pattern, self.limits.regex_bytes) {
                Ok(()) => Some(vec![Atom::Regex(pattern)]),
                Err(message) => {
                    self.error(src, "E004", t.span(), rule, message);
                    None
                }
            };
        }
        let folded = fold(text);
        if folded.is_empty() {
            self.error(src, "E007", t.span(), rule, format!("literal `{text}` folds to nothing"));
            return None;
        }
        match self.spellings(&folded) {
            Ok(mut all) => {
                if self.pinyin {
                    add_pinyin_spellings(&folded, &mut all, self.limits.spellings_per_literal);
                }
                if self.literals.len() + all.len() > self.limits.literals {
                    // Counted only near the limit: the common case stays a length check.
                    let new = all.iter().filter(|l| !self.literals.contains(*l)).count();
                    if self.literals.len() + new > self.limits.literals {
                        let message = format!(
                            "the rule set has more than the limit of {} distinct literal spellings",
                            self.limits.literals
                        );
                        self.error(src, "E010", t.span(), rule, message);
                        return None;
                    }
                }
                self.literals.extend(all.iter().cloned());
                Some(all.into_iter().map(Atom::Literal).collect())
            }
            Err(n) => {
                self.error(
                    src,
                    "E007",
                    t.span(),
                    rule,
                    format!(
                        "literal `{text}` expands to more than {} spellings through variants ({n} so far)",
                        self.limits.spellings_per_literal
                    ),
                );
                None
            }
        }
    }

    /// Every spelling of a folded literal under the declared variants.
    fn spellings(&self, folded: &str) -> Result<BTreeSet<String>, usize> {
        let mut all = BTreeSet::new();
        all.insert(folded.to_string());
        // Substitute each canonical text everywhere it occurs, one canonical at a time, so
        // spellings combine (加微信转账 → 加vx转帐).
        for (canonical, spellings) in &self.variants {
            if !folded.contains(canonical.as_str()) {
                continue;
            }
            let mut next = all.clone();
            for s in &all {
                for (pos, _) in s.match_indices(canonical.as_str()) {
                    for v in spellings {
                        let mut t = String::with_capacity(s.len() + v.len());
                        t.push_str(&s[..pos]);
                        t.push_str(v);
                        t.push_str(&s[pos + canonical.len()..]);
                        next.insert(t);
                        if next.len() > self.limits.spellings_per_literal {
                            return Err(next.len());
                        }
                    }
                }
            }
            all = next;
        }
        Ok(all)
    }
}

/// Adds the pinyin spellings fraudsters use to dodge keyword filters: any run of characters in
/// pinyin (先出piao, xianchu票, 安全zhanghu) and, for longer literals, the whole phrase
/// (xianchupiao, xian chu piao). Best effort: stops quietly at the spelling limit, since the declared
/// spellings matter more.
fn add_pinyin_spellings(folded: &str, all: &mut BTreeSet<String>, limit: usize) {
    use pinyin::ToPinyinMulti;
    // Several readings would be a product; the first is what people type.
    let chars: Vec<char> = folded.chars().collect();
    let readings: Vec<Vec<&'static str>> = chars
        .iter()
        .map(|c| {
            c.to_pinyin_multi()
                .map(|m| {
                    // The first reading is the common one; rare readings (信 shen) only add noise.
                    m.into_iter().map(|p| p.plain()).take(1).collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let han = readings.iter().filter(|r| !r.is_empty()).count();
    if han < 2 {
        // A lone character in pinyin ("ma", "piao") is an ordinary syllable, not evidence.
        return;
    }
    let add = |s: String, all: &mut BTreeSet<String>| {
        if all.len() < limit {
            all.insert(s);
        }
    };
    // Every contiguous run of characters in pinyin, shorter than the whole literal: people
    // type the word they can't be bothered to pick from the input method (安全zhanghu).
    for i in 0..chars.len() {
        for j in i + 1..=chars.len() {
            if j - i == chars.len() || readings[i..j].iter().any(Vec::is_empty) {
                continue;
            }
            let mut s = String::new();
            s.extend(&chars[..i]);
            for r in &readings[i..j] {
                s.push_str(r[0]);
            }
            s.extend(&chars[j..]);
            add(s, all);
        }
    }
    if han == chars.len() && chars.len() >= 3 {
        let first: Vec<&str> = readings.iter().map(|r| r[0]).collect();
        add(first.concat(), all);
        add(first.join(" "), all);
    }
}

/// Folds the CJK characters of a regex so `萬` in a pattern meets `万` in folded text; ASCII
/// is left alone because it carries the regex syntax.
fn fold_regex(pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let f = fold(&c.to_string());
                if f.chars().count() == 1 && !f.is_ascii() {
                    f
                } else {
                    c.to_string()
                }
            }
        })
        .collect()
}

fn check_regex(pattern: &str, size_limit: usize) -> Result<(), String> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("invalid regular expression: {}", e.to_string().lines().last().unwrap_or("")))?;
    if hir.properties().minimum_len() == Some(0) {
        return Err("this regular expression can match the empty string".into());
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(size_limit)
        .dfa_size_limit(size_limit)
        .build()
        .map_err(|e| format!("invalid regular expression: {e}"))?;
    Ok(())
}

/// The longest window or sequence: state older than this is never needed.
pub(crate) const MAX_WITHIN_MS: i64 = 31 * 86_400_000;
/// The most steps one sequence may have.
const MAX_STEPS: usize = 16;
/// Fields a window or sequence may key on or track.
const KEY_FIELDS: &str = "sender, conversation, channel, payer, payee, merchant, or any other field";

impl Context {
    fn duration(&mut self, src: &Src, rule: Option<&str>, raw: &toml::Spanned<DurationRaw>) -> Option<i64> {
        let ms = match raw.get_ref() {
            DurationRaw::Seconds(s) => s.checked_mul(1000),
            DurationRaw::Text(t) => parse_duration(t),
        };
        match ms {
            Some(ms) if (1..=MAX_WITHIN_MS).contains(&ms) => Some(ms),
            _ => {
                self.error(
                    src,
                    "E006",
                    raw.span(),
                    rule,
                    "`within` must be a duration from 1s to 31d, such as \"90s\", \"30m\", \"2h\" or \"1d\""
                        .into(),
                );
                None
            }
        }
    }

    fn key_field(&mut self, src: &Src, rule: Option<&str>, raw: &Str, what: &str) -> Option<String> {
        let name = raw.get_ref().trim();
        if name.is_empty() || name == "kind" || name == "text" || name == "memo" || name == "amount" {
            self.error(
                src,
                "E006",
                raw.span(),
                rule,
                format!("`{what}` names the field that identifies a party: {KEY_FIELDS}"),
            );
            return None;
        }
        Some(name.to_string())
    }

    fn bound(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &toml::Spanned<CompareRaw>,
        what: &str,
    ) -> Option<NumCmp> {
        let r = raw.get_ref();
        let eq = match &r.eq {
            None => None,
            Some(toml::Value::Integer(i)) => Some(*i as f64),
            Some(toml::Value::Float(f)) => Some(*f),
            Some(_) => {
                self.error(src, "E005", raw.span(), rule, format!("`{what}` compares with numbers"));
                return None;
            }
        };
        let num = NumCmp::new(r.ge, r.gt, r.le, r.lt, eq);
        if r.ne.is_some() || r.one_of.is_some() || r.contains.is_some() || r.exists.is_some() {
            self.error(src, "E005", raw.span(), rule, format!("`{what}` takes ge, gt, le, lt or eq"));
            return None;
        }
        if num == NumCmp::default() {
            self.error(
                src,
                "E005",
                raw.span(),
                rule,
                format!("`{what}` needs an operator: ge, gt, le, lt or eq"),
            );
            return None;
        }
        if !num.is_finite() {
            self.error(src, "E006", raw.span(), rule, "bounds must be finite numbers".into());
            return None;
        }
        Some(num)
    }

    fn window(&mut self, src: &Src, rule: Option<&str>, raw: &toml::Spanned<WindowRaw>) -> Option<Window> {
        let w = raw.get_ref();
        let key = self.key_field(src, rule, &w.key, "key");
        let within_ms = self.duration(src, rule, &w.within);
        let new = match &w.new {
            Some(n) => Some(self.key_field(src, rule, n, "new")?),
            None => None,
        };
        let count = match &w.count {
            Some(c) => Some(self.bound(src, rule, c, "count")?),
            None => None,
        };
        let sum = match &w.sum {
            Some(c) => Some(self.bound(src, rule, c, "sum")?),
            None => None,
        };
        let distinct = match &w.distinct {
            Some(c) => {
                let Some(name) = c.get_ref().name.clone().filter(|n| !n.trim().is_empty()) else {
                    self.error(
                        src,
                        "E005",
                        c.span(),
                        rule,
                        "`distinct` needs the `name` of the field to count".into(),
                    );
                    return None;
                };
                let mut unnamed = c.get_ref().clone();
                unnamed.name = None;
                let spanned = toml::Spanned::new(c.span(), unnamed);
                Some((name, self.bound(src, rule, &spanned, "distinct")?))
            }
            None => None,
        };
        if count.is_none() && sum.is_none() && distinct.is_none() {
            self.error(src, "E005", raw.span(), rule, "a window needs `count`, `sum` or `distinct`".into());
            return None;
        }
        Some(Window { key: key?, within_ms: within_ms?, count, sum, distinct, new })
    }

    fn sequence(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &toml::Spanned<SequenceRaw>,
        own_step: bool,
    ) -> Option<Sequence> {
        let q = raw.get_ref();
        let key = self.key_field(src, rule, &q.key, "key")?;
        let within_ms = self.duration(src, rule, &q.within);
        let new = match &q.new {
            Some(n) => Some(self.key_field(src, rule, n, "new")?),
            None => None,
        };
        let mut steps = Vec::new();
        let mut ok = true;
        for st in &q.steps {
            let parsed = match st.get_ref() {
                StepRaw::Short(text) => {
                    let (negated, rest) = match text.trim().strip_prefix('!') {
                        Some(r) => (true, r.trim()),
                        None => (false, text.trim()),
                    };
                    if let Some(id) = rest.strip_prefix("rule:") {
                        Some((StepMatch::Rule(id.trim().to_string()), negated, None))
                    } else {
                        rest.strip_prefix("category:")
                            .map(|c| (StepMatch::Category(c.trim().to_string()), negated, None))
                    }
                }
                StepRaw::Full(t) => match (&t.rule, &t.category) {
                    (Some(r), None) => {
                        Some((StepMatch::Rule(r.clone()), t.not.unwrap_or(false), t.key.clone()))
                    }
                    (None, Some(c)) => {
                        Some((StepMatch::Category(c.clone()), t.not.unwrap_or(false), t.key.clone()))
                    }
                    _ => None,
                },
            };
            match parsed {
                Some((matcher, negated, step_key)) => {
                    let step_key = match step_key {
                        Some(k) => {
                            let spanned = toml::Spanned::new(st.span(), k);
                            match self.key_field(src, rule, &spanned, "key") {
                                Some(k) => k,
                                None => {
                                    ok = false;
                                    continue;
                                }
                            }
                        }
                        None => key.clone(),
                    };
                    steps.push(Step { matcher, negated, key: step_key });
                }
                None => {
                    self.error(
                        src,
                        "E005",
                        st.span(),
                        rule,
                        "a step is \"rule:ID\", \"category:NAME\" (with a leading ! for \"none in between\") or { rule = ID | category = NAME, key, not }".into(),
                    );
                    ok = false;
                }
            }
        }
        if own_step {
            steps.push(Step { matcher: StepMatch::Own, negated: false, key: key.clone() });
        }
        let positive = steps.iter().filter(|s| !s.negated).count();
        if ok && positive < 2 {
            self.error(
                src,
                "E005",
                raw.span(),
                rule,
                "a sequence needs at least two steps that are not negated (a `when` counts as the last)"
                    .into(),
            );
            ok = false;
        }
        if ok && (steps.first().is_some_and(|s| s.negated) || steps.last().is_some_and(|s| s.negated)) {
            self.error(
                src,
                "E005",
                raw.span(),
                rule,
                "a negated step stands between two steps, not first or last".into(),
            );
            ok = false;
        }
        if steps.len() > MAX_STEPS {
            self.error(src, "E006", raw.span(), rule, format!("a sequence has at most {MAX_STEPS} steps"));
            ok = false;
        }
        ok.then_some(Sequence { within_ms: within_ms?, steps, new })
    }

    fn stream(
        &mut self,
        src: &Src,
        file: &Arc<str>,
        rule: Option<&str>,
        raw: &toml::Spanned<StreamRaw>,
    ) -> Option<StreamExample> {
        let st = raw.get_ref();
        let should_match = match st.expect.get_ref().as_str() {
            "match" => true,
            "no_match" => false,
            other => {
                self.error(
                    src,
                    "E006",
                    st.expect.span(),
                    rule,
                    format!("unknown expectation `{other}` (match, no_match)"),
                );
                return None;
            }
        };
        if st.events.is_empty() {
            self.error(src, "E005", raw.span(), rule, "a stream example needs events".into());
            return None;
        }
        let mut events = Vec::new();
        // Events without a `ts` follow the one before by a minute, from a fixed Monday morning.
        let mut clock: i64 = 1_736_128_800_000; // 2025-01-06T10:00:00+08:00
        for e in &st.events {
            let mut value = toml_to_json(&toml::Value::Table(e.get_ref().clone()));
            if let Some(obj) = value.as_object_mut() {
                if !obj.contains_key("ts") {
                    obj.insert("ts".into(), serde_json::Value::from(clock));
                }
            }
            match crate::event::Event::from_value(value) {
                Ok(ev) => {
                    clock = ev.ts().map_or(clock, |t| t.millis) + 60_000;
                    events.push(ev);
                }
                Err(err) => {
                    self.error(src, "E006", e.span(), rule, format!("not an event: {err}"));
                    return None;
                }
            }
        }
        Some(StreamExample { events, should_match, location: src.location(file, raw.span().start) })
    }
}

/// A TOML value as JSON, so a stream example's events read like input lines. TOML's own date
/// and time values (`ts = 2025-05-19T10:00:00+08:00`, unquoted) become their RFC 3339 text.
fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => s.clone().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect(),
    }
}

/// Milliseconds in a duration written as `90s`, `30m`, `2h`, `1d` or a combination (`1h30m`).
fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return None,
        };
        let n: i64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
        any = true;
    }
    (any && number.is_empty()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> Vec<Diagnostic> {
        match RuleSet::from_str("t.toml", src) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.diagnostics().to_vec(),
        }
    }

    const HEAD: &str = "[pack]\nid = \"t\"\nversion = \"1\"\n";

    fn rule(when: &str) -> String {
        format!("{HEAD}[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {when}\n")
    }

    /// A pack with one plain rule `t.a` and a stateful rule written by `extra` (after `when`).
    fn stateful(extra: &str) -> String {
        format!(
            "{HEAD}[[rule]]\nid = \"t.a\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 0\nwhen = {{ any = [\"a\"] }}\n\
             [[rule]]\nid = \"t.s\"\ntitle = \"s\"\ncategory = \"c\"\npoints = 10\n{extra}\n"
        )
    }

    #[test]
    fn window_and_sequence_mistakes_are_located() {
        let cases = [
            ("when = { any = [\"b\"] }\nwindow = { key = \"merchant\", within = \"30m\" }", "E005", "count"),
            ("when = { any = [\"b\"] }\nwindow = { key = \"merchant\", within = \"soon\", count = { ge = 2 } }", "E006", "within"),
            ("when = { any = [\"b\"] }\nwindow = { key = \"merchant\", within = \"40d\", count = { ge = 2 } }", "E006", "31d"),
            ("when = { any = [\"b\"] }\nwindow = { key = \"text\", within = \"1h\", count = { ge = 2 } }", "E006", "party"),
            ("when = { any = [\"b\"] }\nwindow = { key = \"payee\", within = \"1h\", distinct = { ge = 2 } }", "E005", "name"),
            ("when = { any = [\"b\"] }\nwindow = { key = \"payee\", within = \"1h\", count = { ne = 2 } }", "E005", "count"),
            ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"rule:t.nope\"] }", "E003", "t.nope"),
            ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"category:nope\"] }", "E003", "nope"),
            ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\"] }", "E005", "two steps"),
            ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"!rule:t.a\", \"rule:t.a\", \"rule:t.a\"] }", "E005", "negated"),
            ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"t.a\"] }", "E005", "a step is"),
            ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"rule:t.s\"] }", "E005", "nest"),
            ("window = { key = \"payee\", within = \"1h\", count = { ge = 2 } }", "E005", "needs a `when`"),
            ("when = { any = [\"b\"] }\nwindow = { key = \"payee\", within = \"1h\", count = { ge = 2 } }\nsequence = { key = \"payer\", within = \"1h\", steps = [\"rule:t.a\", \"rule:t.a\"] }", "E005", "not both"),
            ("when = { any = [\"b\"] }\n[[rule.stream]]\nexpect = \"maybe\"\nevents = [{ kind = \"message\", text = \"x\" }]", "E006", "maybe"),
            ("when = { any = [\"b\"] }\n[[rule.stream]]\nexpect = \"match\"\nevents = [{ kind = \"transaction\", amount = -1 }]", "E006", "amount"),
        ];
        for (extra, code, says) in cases {
            let src = stateful(extra);
            let d = err(&src);
            assert_eq!(d[0].code, code, "{extra}: {d:?}");
            assert!(d[0].message.contains(says), "{extra}: {}", d[0].message);
            assert_eq!(d[0].rule.as_deref(), Some("t.s"), "{extra}");
            assert!(d[0].line >= 9, "{extra}: located at line {}", d[0].line);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(90_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("2d"), Some(172_800_000));
        for bad in ["", "5", "m", "1x", "1h30", "-5m", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn unknown_key_is_located() {
        let d = err(&format!("{HEAD}[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {{ any = [\"a\"] }}\nwhne = 1\n"));
        assert_eq!(d[0].code, "E001");
        assert_eq!((d[0].line, d[0].column), (10, 1));
        assert_eq!(d[0].rule.as_deref(), Some("t.r"));
        assert!(d[0].message.contains("whne"), "{}", d[0].message);
    }

    #[test]
    fn undefined_set_names_rule_and_place() {
        let d = err(&rule("{ any = [\"@nope\"] }"));
        assert_eq!(d[0].code, "E003");
        assert_eq!(d[0].rule.as_deref(), Some("t.r"));
        assert_eq!(d[0].line, 9);
        assert_eq!(d[0].column, 17);
    }

    #[test]
    fn duplicate_rule_ids() {
        let one = "[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = { any = [\"a\"] }\n";
        let d = err(&format!("{HEAD}{one}{one}"));
        assert_eq!(d[0].code, "E002");
        assert_eq!(d[0].line, 11);
    }

    #[test]
    fn empty_matching_regex_is_rejected() {
        assert_eq!(err(&rule("{ any = [\"/a*/\"] }"))[0].code, "E004");
        assert_eq!(err(&rule("{ any = [\"/(/\"] }"))[0].code, "E004");
    }

    #[test]
    fn non_finite_bounds_are_rejected() {
        assert_eq!(err(&rule("{ amount = { ge = nan } }"))[0].code, "E006");
        assert_eq!(err(&rule("{ field = { name = \"amount\", lt = inf } }"))[0].code, "E006");
    }

    #[test]
    fn only_negative_condition_is_rejected() {
        assert_eq!(err(&rule("{ none = [\"a\"] }"))[0].code, "E005");
    }

    /// The literal spellings of the first rule's `any`.
    fn literals(rs: &RuleSet) -> Vec<&str> {
        let Some(Cond::Any(atoms)) = &rs.rules[0].when else { panic!("not an `any`") };
        atoms
            .iter()
            .filter_map(|a| match a {
                Atom::Literal(s) => Some(s.as_str()),
                Atom::Regex(_) => None,
            })
            .collect()
    }

    #[test]
    fn variants_expand_inside_literals() {
        let src = "[pack]\nid = \"t\"\nversion = \"1\"\npinyin = false\n[variants]\n\"微信\" = [\"vx\", \"薇信\"]\n[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = { any = [\"加微信\"] }\n";
        let rs = RuleSet::from_str("t.toml", src).unwrap();
        let lits = literals(&rs);
        assert_eq!(lits, vec!["加vx", "加微信", "加薇信"]);
    }

    #[test]
    fn pinyin_spellings_are_generated() {
        let rs = RuleSet::from_str("t.toml", &rule("{ any = [\"先出票\", \"码\"] }")).unwrap();
        let lits = literals(&rs);
        assert_eq!(
            lits,
            vec![
                "xian chu piao",
                "xianchupiao",
                "xianchu票",
                "xian出票",
                "先chupiao",
                "先chu票",
                "先出piao",
                "先出票",
                "码"
            ]
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\n先出票x", 3 + 9), (2, 4));
    }
}
