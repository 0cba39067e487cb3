//! Events: chat messages and point-of-sale transactions, read from the input contract.
//!
//! Reading is strict where a wrong value would change a verdict (an amount that is negative,
//! a `ts` that is not a time) and lenient elsewhere: unknown fields are kept so rules can
//! compare them, and ids may be strings or numbers (QQ ids are numbers).

use serde_json::{Map, Value};

use crate::error::Error;

/// What kind of event this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A chat message; its `text` is scanned.
    Message,
    /// A point-of-sale transaction; its `memo` is scanned.
    Transaction,
}

/// A point in time with the offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Milliseconds since the Unix epoch.
    pub millis: i64,
    /// The offset from UTC the time was written in, in seconds (0 for epoch milliseconds).
    pub offset_secs: i32,
}

/// A scalar field value, as rules compare it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue<'a> {
    Str(&'a str),
    Num(f64),
    /// An amount of money, exact, in fen.
    Fen(u64),
    Bool(bool),
}

/// One input event.
///
/// ```
/// let e = fanzha::Event::from_json(r#"{"kind":"message","id":"m1","text":"老板先出票"}"#)?;
/// assert_eq!(e.text(), "老板先出票");
/// assert_eq!(e.id(), Some("m1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    kind: EventKind,
    id: Option<String>,
    ts: Option<Timestamp>,
    text: String,
    amount_fen: Option<u64>,
    fields: Map<String, Value>,
}

/// The largest amount accepted, in fen: far above any real payment, far below where `f64`
/// stops representing every fen exactly.
const MAX_FEN: f64 = 1e15;

impl Event {
    /// A message event with just a text.
    pub fn message(text: impl Into<String>) -> Event {
        Event {
            kind: EventKind::Message,
            id: None,
            ts: None,
            text: text.into(),
            amount_fen: None,
            fields: Map::new(),
        }
    }

    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Event {
        self.id = Some(id.into());
        self
    }

    /// Sets another field (sender, conversation, channel, or any extra field).
    pub fn with_field(mut self, name: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(name.to_string(), value.into());
        self
    }

    /// Reads one event from a JSON object in the input contract.
    pub fn from_json(line: &str) -> Result<Event, Error> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| Error::Event(format!("invalid JSON: {e}")))?;
        Event::from_value(value)
    }

    /// Reads one event from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Event, Error> {
        let Value::Object(fields) = value else {
            return Err(Error::Event("an event must be a JSON object".into()));
        };
        let bad = |m: String| Error::Event(m);
        let kind = match fields.get("kind") {
            Some(Value::String(k)) if k == "message" => EventKind::Message,
            Some(Value::String(k)) if k == "transaction" => EventKind::Transaction,
            Some(Value::String(k)) => {
                return Err(bad(format!("unknown event kind `{k}` (message, transaction)")))
            }
            Some(_) => return Err(bad("`kind` must be a string".into())),
            None => return Err(bad("missing field `kind`".into())),
        };
        let id = match fields.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(bad("`id` must be a string or a number".into())),
        };
        let ts = match fields.get("ts") {
            None | Some(Value::Null) => None,
            Some(v) => {
                Some(parse_ts(v).ok_or_else(|| bad("`ts` must be RFC 3339 or epoch milliseconds".into()))?)
            }
        };
        let (text, amount_fen) = match kind {
            EventKind::Message => match fields.get("text") {
                Some(Value::String(s)) => (s.clone(), None),
                Some(_) => return Err(bad("`text` must be a string".into())),
                None => return Err(bad("a message needs a `text`".into())),
            },
            EventKind::Transaction => {
                let amount = match fields.get("amount") {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
                    Some(_) => return Err(bad("`amount` must be a number".into())),
                    None => return Err(bad("a transaction needs an `amount`".into())),
                };
                let fen = amount * 100.0;
                if !fen.is_finite() || !(0.0..=MAX_FEN).contains(&fen) {
                    return Err(bad(format!("`amount` must be between 0 and {} yuan", MAX_FEN / 100.0)));
                }
                let memo = match fields.get("memo") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err(bad("`memo` must be a string".into())),
                };
                (memo, Some(fen.round() as u64))
            }
        };
        Ok(Event { kind, id, ts, text, amount_fen, fields })
    }

    /// The kind of event.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The id, if any (numbers are given as their decimal text).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The time, if any.
    pub fn ts(&self) -> Option<Timestamp> {
        self.ts
    }

    /// The text that is scanned: a message's text or a transaction's memo.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A transaction's amount in fen.
    pub fn amount_fen(&self) -> Option<u64> {
        self.amount_fen
    }

    /// A field as rules see it. `amount` is exact (fen). `hour` (0–23), `minute_of_day`
    /// (0–1439) and `weekday` (1 = Monday … 7) are derived from `ts` in the offset the time
    /// was written in, unless the event has fields of those names.
    pub(crate) fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        if name == "amount" {
            return self.amount_fen.map(FieldValue::Fen);
        }
        // One look-up: the monitor asks for several fields of every event.
        match self.fields.get(name) {
            Some(Value::String(s)) => Some(FieldValue::Str(s)),
            Some(Value::Number(n)) => n.as_f64().map(FieldValue::Num),
            Some(Value::Bool(b)) => Some(FieldValue::Bool(*b)),
            Some(_) => None,
            None => self.ts.and_then(|t| t.derived(name)).map(|v| FieldValue::Num(v as f64)),
        }
    }
}

impl Timestamp {
    /// Seconds since the epoch on the clock of the offset the time was written in.
    fn local_secs(&self) -> i64 {
        self.millis.div_euclid(1000) + self.offset_secs as i64
    }

    /// Calendar fields rules may compare, in local time.
    fn derived(&self, name: &str) -> Option<i64> {
        let secs = self.local_secs();
        let of_day = secs.rem_euclid(86_400);
        match name {
            "hour" => Some(of_day / 3600),
            "minute_of_day" => Some(of_day / 60),
            // 1970-01-01 was a Thursday.
            "weekday" => Some((secs.div_euclid(86_400) + 3).rem_euclid(7) + 1),
            _ => None,
        }
    }
}

fn parse_ts(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Number(n) => n.as_i64().map(|millis| Timestamp { millis, offset_secs: 0 }),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Timestamp { millis: t.timestamp_millis(), offset_secs: t.offset().local_minus_utc() }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_contract_examples() {
        let m = Event::from_json(r#"{"kind":"message","id":"m1","ts":"2025-05-19T08:00:00+08:00","channel":"wechat","conversation":"g1","sender":"u9","text":"老板先出票"}"#).unwrap();
        assert_eq!(m.kind(), EventKind::Message);
        assert_eq!(m.ts().unwrap().offset_secs, 8 * 3600);
        assert_eq!(m.field("channel"), Some(FieldValue::Str("wechat")));
        let t = Event::from_json(r#"{"kind":"transaction","id":"t1","ts":1747612800000,"merchant":"shop42","payer":"u9","payee":"shop42","amount":20000.0,"currency":"CNY","method":"qr","remote":true,"memo":"大乐透"}"#).unwrap();
        assert_eq!(t.amount_fen(), Some(2_000_000));
        assert_eq!(t.text(), "大乐透");
        assert_eq!(t.field("remote"), Some(FieldValue::Bool(true)));
        assert_eq!(t.field("amount"), Some(FieldValue::Fen(2_000_000)));
    }

    #[test]
    fn time_of_day_is_read_in_the_events_own_offset() {
        let m =
            Event::from_json(r#"{"kind":"message","text":"x","ts":"2025-05-19T23:30:00+08:00"}"#).unwrap();
        assert_eq!(m.field("hour"), Some(FieldValue::Num(23.0)));
        assert_eq!(m.field("minute_of_day"), Some(FieldValue::Num(1410.0)));
        assert_eq!(m.field("weekday"), Some(FieldValue::Num(1.0)), "2025-05-19 was a Monday");
        // Epoch milliseconds are UTC: 1747612800000 is 2025-05-19T00:00:00Z.
        let t = Event::from_json(r#"{"kind":"transaction","amount":1,"ts":1747612800000}"#).unwrap();
        assert_eq!(t.field("hour"), Some(FieldValue::Num(0.0)));
        // A field of the same name wins over the derived one.
        let own =
            Event::from_json(r#"{"kind":"message","text":"x","ts":1747612800000,"hour":"late"}"#).unwrap();
        assert_eq!(own.field("hour"), Some(FieldValue::Str("late")));
        assert_eq!(Event::message("x").field("hour"), None);
    }

    #[test]
    fn numeric_ids_are_kept_as_text() {
        let m = Event::from_json(r#"{"kind":"message","id":123456789,"text":"x"}"#).unwrap();
        assert_eq!(m.id(), Some("123456789"));
    }

    #[test]
    fn bad_events_say_why() {
        for (line, why) in [
            (r#"{"kind":"message"}"#, "text"),
            (r#"{"kind":"transaction","amount":-1}"#, "amount"),
            (r#"{"kind":"transaction","amount":"5"}"#, "amount"),
            (r#"{"kind":"transaction","amount":1e300}"#, "amount"),
            (r#"{"kind":"fax","text":"x"}"#, "fax"),
            (r#"{"text":"x"}"#, "kind"),
            (r#"{"kind":"message","text":"x","ts":"yesterday"}"#, "ts"),
            (r#"[1,2]"#, "object"),
            (r#"{"kind":"message","text":"x""#, "JSON"),
        ] {
            let e = Event::from_json(line).unwrap_err().to_string();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
