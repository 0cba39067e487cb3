//! Windows and sequences — rules over many events of one party — and the stream examples
//! that test them.
//!
//! These keep state in the monitor, so their bounds are checked here where the author can
//! still fix them: a duration within 31 days, a key that identifies a party, a bounded number
//! of steps. Step names are checked against the whole set later, in [`rules`](super::rules).

use toml::Spanned;

use super::codes::Problem;
use super::format::{CompareRaw, DurationRaw, SequenceRaw, StepRaw, Str, StreamRaw, WindowRaw};
use super::{Context, Src};
use crate::rules::{NumCmp, Sequence, Step, StepMatch, StreamExample, Window};

/// The longest window or sequence: state older than this is never needed.
pub(crate) const MAX_WITHIN_MS: i64 = 31 * 86_400_000;
/// The most steps one sequence may have.
const MAX_STEPS: usize = 16;

impl Context {
    fn duration(&mut self, src: &Src, rule: Option<&str>, raw: &Spanned<DurationRaw>) -> Option<i64> {
        let ms = match raw.get_ref() {
            DurationRaw::Seconds(s) => s.checked_mul(1000),
            DurationRaw::Text(t) => parse_duration(t),
        };
        match ms {
            Some(ms) if (1..=MAX_WITHIN_MS).contains(&ms) => Some(ms),
            _ => self.fail(src, raw.span(), rule, Problem::BadWithin),
        }
    }

    /// A field that identifies a party (`key`, `new`, a step's `key`).
    fn key_field(&mut self, src: &Src, rule: Option<&str>, raw: &Str, what: &'static str) -> Option<String> {
        let name = raw.get_ref().trim();
        if name.is_empty() || name == "kind" || name == "text" || name == "memo" || name == "amount" {
            return self.fail(src, raw.span(), rule, Problem::NotAPartyField(what));
        }
        Some(name.to_string())
    }

    /// A numeric bound of a window (`count`, `sum`, `distinct`).
    fn bound(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &Spanned<CompareRaw>,
        what: &'static str,
    ) -> Option<NumCmp> {
        let r = raw.get_ref();
        let eq = match &r.eq {
            None => None,
            Some(toml::Value::Integer(i)) => Some(*i as f64),
            Some(toml::Value::Float(f)) => Some(*f),
            Some(_) => return self.fail(src, raw.span(), rule, Problem::NotANumber(what)),
        };
        let num = NumCmp::new(r.ge, r.gt, r.le, r.lt, eq);
        if r.ne.is_some() || r.one_of.is_some() || r.contains.is_some() || r.exists.is_some() {
            return self.fail(src, raw.span(), rule, Problem::NumericOperatorsOnly(what));
        }
        if num == NumCmp::default() {
            return self.fail(src, raw.span(), rule, Problem::NoNumericOperator(what));
        }
        if !num.is_finite() {
            return self.fail(src, raw.span(), rule, Problem::NotFinite);
        }
        Some(num)
    }

    pub(super) fn window(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &Spanned<WindowRaw>,
    ) -> Option<Window> {
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
            Some(c) => Some(self.distinct(src, rule, c)?),
            None => None,
        };
        if count.is_none() && sum.is_none() && distinct.is_none() {
            return self.fail(src, raw.span(), rule, Problem::WindowWithoutBound);
        }
        Some(Window { key: key?, within_ms: within_ms?, count, sum, distinct, new })
    }

    /// `distinct = { name, ... }`: the field whose distinct values are counted, and the bound.
    fn distinct(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        c: &Spanned<CompareRaw>,
    ) -> Option<(String, NumCmp)> {
        let Some(name) = c.get_ref().name.clone().filter(|n| !n.trim().is_empty()) else {
            return self.fail(src, c.span(), rule, Problem::DistinctWithoutName);
        };
        let mut unnamed = c.get_ref().clone();
        unnamed.name = None;
        let spanned = Spanned::new(c.span(), unnamed);
        Some((name, self.bound(src, rule, &spanned, "distinct")?))
    }

    /// A sequence; `own_step` adds the rule's own `when` as the last step.
    pub(super) fn sequence(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &Spanned<SequenceRaw>,
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
            match self.step(src, rule, st, &key) {
                Some(step) => steps.push(step),
                None => ok = false,
            }
        }
        if own_step {
            steps.push(Step { matcher: StepMatch::Own, negated: false, key: key.clone() });
        }
        let problem = if !ok {
            None
        } else if steps.iter().filter(|s| !s.negated).count() < 2 {
            Some(Problem::TooFewSteps)
        } else if steps.first().is_some_and(|s| s.negated) || steps.last().is_some_and(|s| s.negated) {
            Some(Problem::NegatedStepAtEnd)
        } else {
            None
        };
        if let Some(problem) = problem {
            self.report(src, raw.span(), rule, problem);
            ok = false;
        }
        if steps.len() > MAX_STEPS {
            self.report(src, raw.span(), rule, Problem::TooManySteps(MAX_STEPS));
            ok = false;
        }
        ok.then_some(Sequence { within_ms: within_ms?, steps, new })
    }

    /// One step, keyed on the sequence's `key` unless it names its own.
    fn step(&mut self, src: &Src, rule: Option<&str>, st: &Spanned<StepRaw>, key: &str) -> Option<Step> {
        let Some((matcher, negated, step_key)) = parse_step(st.get_ref()) else {
            return self.fail(src, st.span(), rule, Problem::BadStep);
        };
        let key = match step_key {
            Some(k) => self.key_field(src, rule, &Spanned::new(st.span(), k), "key")?,
            None => key.to_string(),
        };
        Some(Step { matcher, negated, key })
    }

    /// A `[[rule.stream]]` example: its events, each a minute after the one before unless it
    /// says when.
    pub(super) fn stream(
        &mut self,
        src: &Src,
        rule: Option<&str>,
        raw: &Spanned<StreamRaw>,
    ) -> Option<StreamExample> {
        let st = raw.get_ref();
        let should_match = match st.expect.get_ref().as_str() {
            "match" => true,
            "no_match" => false,
            other => {
                return self.fail(src, st.expect.span(), rule, Problem::UnknownExpectation(other.to_string()))
            }
        };
        if st.events.is_empty() {
            return self.fail(src, raw.span(), rule, Problem::StreamWithoutEvents);
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
                Err(err) => return self.fail(src, e.span(), rule, Problem::NotAnEvent(err.to_string())),
            }
        }
        Some(StreamExample { events, should_match, location: src.location(raw.span().start) })
    }
}

/// A step's matcher, whether it is negated, and its own key: `"rule:ID"`, `"category:NAME"`
/// (either with a leading `!`), or a table.
fn parse_step(raw: &StepRaw) -> Option<(StepMatch, bool, Option<String>)> {
    match raw {
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
            (Some(r), None) => Some((StepMatch::Rule(r.clone()), t.not.unwrap_or(false), t.key.clone())),
            (None, Some(c)) => Some((StepMatch::Category(c.clone()), t.not.unwrap_or(false), t.key.clone())),
            _ => None,
        },
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
pub(super) fn parse_duration(text: &str) -> Option<i64> {
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
