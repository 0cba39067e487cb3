//! The report: one structure, written as plain text, Markdown or JSON.

use fanzha::Levels;
use serde::Serialize;

use super::compare::Comparison;
use super::fit::Suggestion;
use super::tally::{buckets, ratio, Counts, FileCounts, Listed, Tally};

/// Everything a run found. `--json` writes it as it is; `--save` keeps it beside the events.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The rule set's version string.
    pub rules: String,
    pub levels: Levels,
    pub stateful: bool,
    pub positive_labels: Vec<String>,
    pub files: Vec<FileCounts>,
    pub events: u64,
    pub unreadable: u64,
    pub overall: Counts,
    /// By label, then by each field that breaks the figures down.
    pub breakdowns: Vec<Breakdown>,
    pub histogram: Vec<Bucket>,
    pub rules_hit: Vec<RuleRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misses: Option<Listing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_alarms: Option<Listing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggest_points: Option<Suggestion>,
    /// `--min-recall` and `--max-fpr` checks that failed.
    pub failed: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Breakdown {
    pub field: String,
    pub groups: Vec<Group>,
}

#[derive(Debug, Serialize)]
pub struct Group {
    pub value: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Serialize)]
pub struct Bucket {
    pub from: u32,
    /// Inclusive; none for the last bucket (block and above).
    pub to: Option<u32>,
    pub positives: u64,
    pub negatives: u64,
}

#[derive(Debug, Serialize)]
pub struct RuleRow {
    pub rule: String,
    pub category: String,
    pub points: u32,
    pub positives: u64,
    pub negatives: u64,
    /// Positives among the events it hit.
    pub precision: Option<f64>,
    /// Positives it alone lifts to warn.
    pub alone: u64,
}

#[derive(Debug, Serialize)]
pub struct Listing {
    /// Rows that qualified in all.
    pub total: u64,
    /// The highest-scoring of them, at most the number asked for.
    pub shown: Vec<Listed>,
}

/// What the run was, besides what it counted.
pub struct Meta {
    pub rules: String,
    pub stateful: bool,
    pub positive_labels: Vec<String>,
    pub misses: bool,
    pub false_alarms: bool,
}

impl Report {
    pub fn new(t: Tally, meta: Meta) -> Report {
        let mut breakdowns = vec![Breakdown { field: "label".into(), groups: groups(t.by_label) }];
        // `category` and `source` are shown when some row has them; `--by` fields always.
        for (i, (field, seen, values)) in t.breakdowns.into_iter().enumerate() {
            if seen || i >= 2 {
                breakdowns.push(Breakdown { field, groups: groups(values) });
            }
        }
        let histogram = buckets(t.levels)
            .into_iter()
            .zip(&t.histogram)
            .map(|((from, to), [p, n])| Bucket { from, to, positives: *p, negatives: *n })
            .collect();
        let mut rules_hit: Vec<RuleRow> = t
            .rules
            .iter()
            .zip(&t.rule_counts)
            .map(|(r, c)| RuleRow {
                rule: r.id.clone(),
                category: r.category.clone(),
                points: r.points,
                positives: c.positives,
                negatives: c.negatives,
                precision: ratio(c.positives, c.positives + c.negatives),
                alone: c.alone,
            })
            .collect();
        rules_hit.sort_by(|a, b| {
            b.positives.cmp(&a.positives).then(b.negatives.cmp(&a.negatives)).then(a.rule.cmp(&b.rule))
        });
        let listing = |top: super::tally::Top| {
            let (shown, total) = top.finish();
            Listing { total, shown }
        };
        let misses = listing(t.misses);
        let false_alarms = listing(t.false_alarms);
        Report {
            rules: meta.rules,
            levels: t.levels,
            stateful: meta.stateful,
            positive_labels: meta.positive_labels,
            events: t.files.iter().map(|f| f.rows).sum(),
            unreadable: t.errors,
            files: t.files,
            overall: t.overall,
            breakdowns,
            histogram,
            rules_hit,
            misses: meta.misses.then_some(misses),
            false_alarms: meta.false_alarms.then_some(false_alarms),
            compare: t.matcher.map(|m| m.finish()),
            suggest_points: None,
            failed: Vec::new(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_plain(&self) -> String {
        render(&self.sections(), false)
    }

    pub fn to_markdown(&self) -> String {
        render(&self.sections(), true)
    }

    fn sections(&self) -> Vec<Section> {
        let mut out = Vec::new();
        let l = self.levels;
        let files = self.files.len();
        let mut head = vec![format!(
            "{} events from {} file{}, {} unreadable line{}; rules {}; {}.",
            self.events,
            files,
            if files == 1 { "" } else { "s" },
            self.unreadable,
            if self.unreadable == 1 { "" } else { "s" },
            self.rules,
            if self.stateful { "stateful (windows and sequences count)" } else { "stateless" },
        )];
        head.push(format!(
            "Thresholds: notice {}, warn {}, block {}. Positive labels: {}; every other label is negative.",
            l.notice,
            l.warn,
            l.block,
            self.positive_labels.join(", ")
        ));
        out.push(Section { title: "fanzha corpus".into(), blocks: vec![Block::Text(head)] });

        let mut rates = counts_table("");
        rates.rows.push(counts_row("all", &self.overall));
        out.push(Section { title: "Recall and false alarms".into(), blocks: vec![Block::Table(rates)] });
        for b in &self.breakdowns {
            let mut t = counts_table(&b.field);
            t.rows.extend(b.groups.iter().map(|g| counts_row(&g.value, &g.counts)));
            out.push(Section { title: format!("By {}", b.field), blocks: vec![Block::Table(t)] });
        }

        out.push(Section {
            title: "Score distribution".into(),
            blocks: vec![Block::Pre(histogram_lines(&self.histogram, l))],
        });

        let mut rules = Table {
            head: ["rule", "points", "positives", "negatives", "precision", "alone"]
                .map(String::from)
                .to_vec(),
            rows: Vec::new(),
            left: 1,
        };
        for r in &self.rules_hit {
            rules.rows.push(vec![
                r.rule.clone(),
                r.points.to_string(),
                r.positives.to_string(),
                r.negatives.to_string(),
                pct(r.precision),
                r.alone.to_string(),
            ]);
        }
        let never = self.rules_hit.iter().filter(|r| r.positives + r.negatives == 0).count();
        out.push(Section {
            title: "Rules".into(),
            blocks: vec![
                Block::Text(vec![format!(
                    "Hits on positives and negatives; \"alone\": positives this rule alone lifts to warn. \
                     {never} rule{} never hit: on this corpus {} nothing.",
                    if never == 1 { "" } else { "s" },
                    if never == 1 { "it adds" } else { "they add" },
                )]),
                Block::Table(rules),
            ],
        });

        if let Some(m) = &self.misses {
            out.push(listing_section("Misses", "positives below warn", "nearest to warn", m));
        }
        if let Some(f) = &self.false_alarms {
            out.push(listing_section("False alarms", "negatives at warn or above", "highest", f));
        }
        if let Some(c) = &self.compare {
            out.push(compare_section(c));
        }
        if let Some(s) = &self.suggest_points {
            out.push(suggest_section(s, l));
        }
        if !self.failed.is_empty() {
            out.push(Section {
                title: "Failed checks".into(),
                blocks: vec![Block::Text(self.failed.clone())],
            });
        }
        out
    }
}

fn groups(map: std::collections::BTreeMap<String, Counts>) -> Vec<Group> {
    map.into_iter().map(|(value, counts)| Group { value, counts }).collect()
}

/// A rate as a percentage with one decimal (two below 0.1%, so a rare false alarm is not
/// shown as 0.0%), `-` for an empty group.
pub fn pct(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) if x > 0.0 && x < 0.001 => format!("{:.2}%", x * 100.0),
        Some(x) => format!("{:.1}%", x * 100.0),
    }
}

fn cell(rate: Option<f64>, n: u64) -> String {
    match rate {
        None => "-".into(),
        some => format!("{} ({n})", pct(some)),
    }
}

fn counts_table(first: &str) -> Table {
    let head = [first, "positives", "recall@warn", "recall@notice", "negatives", "FPR@warn", "FPR@notice"];
    Table { head: head.map(String::from).to_vec(), rows: Vec::new(), left: 1 }
}

fn counts_row(name: &str, c: &Counts) -> Vec<String> {
    vec![
        name.to_string(),
        c.positives.to_string(),
        cell(c.recall_warn(), c.pos_warn),
        cell(c.recall_notice(), c.pos_notice),
        c.negatives.to_string(),
        cell(c.fpr_warn(), c.neg_warn),
        cell(c.fpr_notice(), c.neg_notice),
    ]
}

/// Bars scaled per class (negatives usually outnumber positives by far), with the
/// thresholds marked on the bucket they fall in.
fn histogram_lines(h: &[Bucket], l: Levels) -> Vec<String> {
    const WIDTH: u64 = 30;
    let bar = |n: u64, max: u64| {
        let len = if n == 0 { 0 } else { (n * WIDTH).div_ceil(max.max(1)) };
        "█".repeat(len as usize)
    };
    let (pmax, nmax) = h.iter().fold((0, 0), |(p, n), b| (p.max(b.positives), n.max(b.negatives)));
    let mut out = vec![format!("{:>9}  {:<38}  {}", "score", "positives", "negatives")];
    for b in h {
        let range = match b.to {
            Some(to) => format!("{}–{to}", b.from),
            None => format!("{}+", b.from),
        };
        let mut marks: Vec<&str> = Vec::new();
        for (name, at) in [("notice", l.notice), ("warn", l.warn), ("block", l.block)] {
            if at >= b.from && b.to.is_none_or(|to| at <= to) {
                marks.push(name);
            }
        }
        let mark = if marks.is_empty() { String::new() } else { format!("  ← {}", marks.join(", ")) };
        let pos = format!("{:>6} {}", b.positives, bar(b.positives, pmax));
        let neg = format!("{:>6} {}", b.negatives, bar(b.negatives, nmax)).trim_end().to_string();
        out.push(format!("{range:>9}  {pos:<38}  {neg}{mark}").trim_end().to_string());
    }
    out
}

fn hits_text(hits: &[(String, u32)]) -> String {
    if hits.is_empty() {
        return "no rule fired".into();
    }
    hits.iter().map(|(r, p)| format!("{r} +{p}")).collect::<Vec<_>>().join(", ")
}

/// `state` is the score and level, or for a change the level and score before and after.
fn listed_lines(r: &Listed, state: String) -> [String; 2] {
    let id = r.id.as_ref().map(|i| format!(" {i}")).unwrap_or_default();
    [
        format!("{}:{}{id} [{}] {state}: {}", r.file, r.line, r.label, hits_text(&r.hits)),
        format!("    {}", r.text),
    ]
}

fn listing_section(title: &str, what: &str, which: &str, l: &Listing) -> Section {
    let mut head = format!("{what}: {}", l.total);
    if (l.shown.len() as u64) < l.total {
        head += &format!("; the {} {which}", l.shown.len());
    }
    let mut blocks = vec![Block::Text(vec![head])];
    if !l.shown.is_empty() {
        blocks.push(Block::Pre(
            l.shown.iter().flat_map(|r| listed_lines(r, format!("score {} {}", r.score, r.level))).collect(),
        ));
    }
    Section { title: title.into(), blocks }
}

/// Changed events listed in the text formats; `--json` has them all.
const CHANGES_SHOWN: usize = 100;

fn compare_section(c: &Comparison) -> Section {
    let changed = c.changed.len();
    let text = vec![format!(
        "Compared with {} (rules {}): {changed} event{} changed level; {} new, {} gone.",
        c.path,
        if c.saved_rules.is_empty() { "?" } else { &c.saved_rules },
        if changed == 1 { "" } else { "s" },
        c.new,
        c.gone
    )];
    let transitions = c
        .transitions
        .iter()
        .map(|t| {
            let class = if t.positive { "positive" } else { "negative" };
            format!("{class} {}→{}: {}", t.from, t.to, t.count)
        })
        .collect();
    let mut list: Vec<String> = c
        .changed
        .iter()
        .take(CHANGES_SHOWN)
        .flat_map(|ch| {
            listed_lines(
                &ch.now,
                format!("{} {} → {} {}", ch.before, ch.before_score, ch.now.level, ch.now.score),
            )
        })
        .collect();
    if changed > CHANGES_SHOWN {
        list.push(format!("… {} more (--json lists them all)", changed - CHANGES_SHOWN));
    }
    let mut blocks = vec![Block::Text(text), Block::Pre(transitions)];
    if !list.is_empty() {
        blocks.push(Block::Pre(list));
    }
    Section { title: "Changes".into(), blocks }
}

fn suggest_section(s: &Suggestion, l: Levels) -> Section {
    let mut t = Table {
        head: ["rule", "positives", "negatives", "points"].map(String::from).to_vec(),
        rows: Vec::new(),
        left: 1,
    };
    for r in &s.rules {
        t.rows.push(vec![
            r.rule.clone(),
            r.positives.to_string(),
            r.negatives.to_string(),
            if r.current == r.suggested {
                r.current.to_string()
            } else {
                format!("{} → {}", r.current, r.suggested)
            },
        ]);
    }
    let mut figures =
        Table { head: ["at warn", "recall", "FPR"].map(String::from).to_vec(), rows: Vec::new(), left: 1 };
    for (name, c) in [
        ("current points, as scored", &s.current),
        ("current points, sum of hits", &s.current_sum),
        ("suggested points, sum of hits", &s.suggested),
    ] {
        figures.rows.push(vec![
            name.into(),
            cell(c.recall_warn(), c.pos_warn),
            cell(c.fpr_warn(), c.neg_warn),
        ]);
    }
    Section {
        title: "Suggested points".into(),
        blocks: vec![
            Block::Text(vec![format!(
                "A logistic fit of points on which rules hit each event, with warn ({}) as the boundary, \
                 points pulled towards the current ones and kept within 0..=150. Rules that hit nothing keep \
                 their points. A suggestion only: the rule files are unchanged.",
                l.warn
            )]),
            Block::Table(t),
            Block::Table(figures),
        ],
    }
}

struct Section {
    title: String,
    blocks: Vec<Block>,
}

enum Block {
    /// Paragraph lines.
    Text(Vec<String>),
    Table(Table),
    /// Lines kept as they are (a code block in Markdown).
    Pre(Vec<String>),
}

struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Leading columns aligned left; the rest are numbers, aligned right.
    left: usize,
}

fn render(sections: &[Section], markdown: bool) -> String {
    let mut out = String::new();
    for (i, s) in sections.iter().enumerate() {
        if markdown {
            out.push_str(&format!("{} {}\n\n", if i == 0 { "#" } else { "##" }, s.title));
        } else if i > 0 {
            out.push_str(&format!("{}\n", s.title));
        }
        for b in &s.blocks {
            match b {
                Block::Text(lines) => {
                    for l in lines {
                        out.push_str(l);
                        out.push('\n');
                    }
                }
                Block::Pre(lines) if markdown => {
                    out.push_str("```text\n");
                    for l in lines {
                        out.push_str(l);
                        out.push('\n');
                    }
                    out.push_str("```\n");
                }
                Block::Pre(lines) => {
                    for l in lines {
                        out.push_str("  ");
                        out.push_str(l);
                        out.push('\n');
                    }
                }
                Block::Table(t) if markdown => out.push_str(&markdown_table(t)),
                Block::Table(t) => out.push_str(&plain_table(t)),
            }
            if markdown {
                out.push('\n');
            }
        }
        if !markdown {
            out.push('\n');
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn plain_table(t: &Table) -> String {
    let mut widths: Vec<usize> = t.head.iter().map(|h| width(h)).collect();
    for r in &t.rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(width(c));
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - width(c));
            s.push_str("  ");
            if i < t.left {
                s.push_str(c);
                s.push_str(&pad);
            } else {
                s.push_str(&pad);
                s.push_str(c);
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&t.head);
    for r in &t.rows {
        out.push_str(&line(r));
    }
    out
}

fn markdown_table(t: &Table) -> String {
    let esc = |c: &str| c.replace('|', "\\|");
    let mut out = format!("| {} |\n", t.head.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | "));
    let align: Vec<&str> = (0..t.head.len()).map(|i| if i < t.left { "---" } else { "---:" }).collect();
    out.push_str(&format!("|{}|\n", align.join("|")));
    for r in &t.rows {
        out.push_str(&format!("| {} |\n", r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")));
    }
    out
}

/// Columns on a terminal: East Asian wide characters (Han, kana, Hangul, full-width forms)
/// take two, so group names like 客服诈骗 line up.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = matches!(c, 0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}
