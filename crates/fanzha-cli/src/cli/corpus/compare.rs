//! `--save` and `--compare`: a run's verdicts kept per event, and the events whose level
//! changed since, so a rule change is reviewed by its effect.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use fanzha::Level;
use serde::{Deserialize, Serialize};

use super::report::Report;
use super::tally::Listed;

/// One event's result, as saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    /// The path as given on the command line.
    pub file: String,
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub label: String,
    pub level: String,
    pub score: u32,
    /// Each rule hit and its points.
    pub hits: Vec<(String, u32)>,
}

/// The file `--save` writes: the summary a person reads, then every event.
#[derive(Serialize)]
struct SavedRun<'a> {
    rules: &'a str,
    summary: &'a Report,
    events: &'a [EventRecord],
}

/// What `--compare` reads back; the summary is for people and other tools.
#[derive(Deserialize)]
struct LoadedRun {
    #[serde(default)]
    rules: String,
    events: Vec<EventRecord>,
}

pub fn save(path: &Path, report: &Report, events: &[EventRecord]) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer(&mut out, &SavedRun { rules: &report.rules, summary: report, events })?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Finds each event of this run in a saved run and counts the level changes.
pub struct Matcher {
    path: String,
    rules: String,
    saved: Vec<EventRecord>,
    matched: Vec<bool>,
    by_line: HashMap<(String, usize), usize>,
    /// Ids seen once in the saved run; an id seen twice cannot match anything.
    by_id: HashMap<String, Option<usize>>,
    transitions: BTreeMap<(bool, Level, Level), u64>,
    changed: Vec<Change>,
    unmatched: u64,
}

/// An event whose level changed.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub before: Level,
    pub before_score: u32,
    #[serde(flatten)]
    pub now: Listed,
}

/// Level changes of one kind, e.g. positives from none to warn.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub positive: bool,
    pub from: Level,
    pub to: Level,
    pub count: u64,
}

/// The comparison, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub path: String,
    pub saved_rules: String,
    pub transitions: Vec<Transition>,
    pub changed: Vec<Change>,
    /// Events of this run the saved run does not have, and the reverse.
    pub new: u64,
    pub gone: u64,
}

/// Files are matched by name, not path, so a run saved from another directory compares.
fn file_name(path: &str) -> String {
    Path::new(path).file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

fn parse_level(s: &str) -> Option<Level> {
    Some(match s {
        "none" => Level::None,
        "notice" => Level::Notice,
        "warn" => Level::Warn,
        "block" => Level::Block,
        _ => return None,
    })
}

impl Matcher {
    pub fn load(path: &Path) -> Result<Matcher, String> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| format!("error: cannot read {shown}: {e}"))?;
        let run: LoadedRun = serde_json::from_reader(BufReader::new(file))
            .map_err(|e| format!("error: {shown} is not a run saved by fanzha corpus --save: {e}"))?;
        let mut by_line = HashMap::new();
        let mut by_id: HashMap<String, Option<usize>> = HashMap::new();
        for (i, r) in run.events.iter().enumerate() {
            if parse_level(&r.level).is_none() {
                return Err(format!("error: {shown}: event {}:{} has no valid level", r.file, r.line));
            }
            by_line.insert((file_name(&r.file), r.line), i);
            if let Some(id) = &r.id {
                by_id.entry(id.clone()).and_modify(|e| *e = None).or_insert(Some(i));
            }
        }
        Ok(Matcher {
            path: shown,
            rules: run.rules,
            matched: vec![false; run.events.len()],
            saved: run.events,
            by_line,
            by_id,
            transitions: BTreeMap::new(),
            changed: Vec::new(),
            unmatched: 0,
        })
    }

    /// The saved event at the same file name and line if its id agrees, else the saved
    /// event with the same id (rows inserted or moved), else none.
    fn find(&self, r: &EventRecord) -> Option<usize> {
        let at_line = self.by_line.get(&(file_name(&r.file), r.line)).copied();
        if let Some(i) = at_line {
            if self.saved[i].id == r.id {
                return Some(i);
            }
        }
        match &r.id {
            Some(id) => self.by_id.get(id).copied().flatten(),
            None => at_line,
        }
    }

    pub fn observe(&mut self, r: &EventRecord, positive: bool, listed: impl FnOnce() -> Listed) {
        let Some(i) = self.find(r) else {
            self.unmatched += 1;
            return;
        };
        self.matched[i] = true;
        let before = parse_level(&self.saved[i].level).unwrap_or_default();
        let now = parse_level(&r.level).unwrap_or_default();
        if before != now {
            *self.transitions.entry((positive, before, now)).or_default() += 1;
            self.changed.push(Change { before, before_score: self.saved[i].score, now: listed() });
        }
    }

    pub fn finish(self) -> Comparison {
        // Positives first: recall is usually what a change was for.
        let mut transitions: Vec<Transition> = self
            .transitions
            .into_iter()
            .map(|((positive, from, to), count)| Transition { positive, from, to, count })
            .collect();
        transitions.sort_by_key(|t| (!t.positive, t.from, t.to));
        Comparison {
            path: self.path,
            saved_rules: self.rules,
            transitions,
            changed: self.changed,
            new: self.unmatched,
            gone: self.matched.iter().filter(|m| !**m).count() as u64,
        }
    }
}
