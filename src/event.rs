//! Events: chat messages and point-of-sale transactions, read from the input contract.
//!
//! Reading is strict where a wrong value would change a verdict (an amount that is negative,
//! a `ts` that is not a time) and lenient elsewhere: unknown fields are kept so rules can
//! compare them, and ids may be strings or numbers (QQ ids are numbers).

use serde::Deserialize;
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
    /// The id was written as a number.
    id_number: bool,
    ts: Option<Timestamp>,
    /// The scanned text: a message's `text`, a transaction's `memo`.
    text: String,
    /// Whether the event has the field `text` holds (a transaction may have no memo).
    text_field: bool,
    amount_fen: Option<u64>,
    /// Every other field, as written.
    fields: Map<String, Value>,
}

/// The contract's fields of an event as read from JSON, and the rest.
struct Parts {
    kind: Option<Value>,
    id: Option<Value>,
    ts: Option<Value>,
    text: Option<Value>,
    memo: Option<Value>,
    amount: Option<Value>,
    rest: Map<String, Value>,
}

impl<'de> serde::Deserialize<'de> for Parts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Parts, D::Error> {
        d.deserialize_map(PartsVisitor)
    }
}

struct PartsVisitor;

impl<'de> serde::de::Visitor<'de> for PartsVisitor {
    type Value = Parts;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Parts, A::Error> {
        let mut p =
            Parts { kind: None, id: None, ts: None, text: None, memo: None, amount: None, rest: Map::new() };
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let slot = match key.0.as_ref() {
                "kind" => &mut p.kind,
                "id" => &mut p.id,
                "ts" => &mut p.ts,
                "text" => &mut p.text,
                "memo" => &mut p.memo,
                "amount" => &mut p.amount,
                _ => {
                    let v = map.next_value()?;
                    p.rest.insert(key.0.into_owned(), v);
                    continue;
                }
            };
            // As with a JSON object read whole, a repeated key keeps its last value.
            *slot = Some(map.next_value()?);
        }
        Ok(p)
    }
}

/// An object key, borrowed from the input unless it holds escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
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
            id_number: false,
            ts: None,
            text: text.into(),
            text_field: true,
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
    ///
    /// The contract's own fields are read straight into their slots (keys borrowed from the
    /// line, the text moved, not copied); only other fields are kept as JSON values. Reading
    /// an event is most of what `fanzha scan` does per line besides scoring it.
    pub fn from_json(line: &str) -> Result<Event, Error> {
        let mut de = serde_json::Deserializer::from_str(line);
        let parts = match Parts::deserialize(&mut de) {
            Ok(p) => p,
            Err(e) if e.is_data() => return Err(Error::Event("an event must be a JSON object".into())),
            Err(e) => return Err(Error::Event(format!("invalid JSON: {e}"))),
        };
        de.end().map_err(|e| Error::Event(format!("invalid JSON: {e}")))?;
        Event::from_parts(parts)
    }

    /// Reads one input line as `fanzha scan` does: a trailing `\n` or `\r\n` is dropped, and
    /// a line that is not UTF-8, is blank, or is not an event in the contract is an error
    /// whose text is what the scan writes in that line's `{"line":N,"error":"…"}` record.
    ///
    /// ```
    /// use fanzha::Event;
    ///
    /// assert_eq!(Event::from_line(b"{\"kind\":\"message\",\"text\":\"hi\"}\r\n")?.text(), "hi");
    /// assert_eq!(Event::from_line(b"  \n").unwrap_err().to_string(), "empty line");
    /// assert_eq!(Event::from_line(b"\xff").unwrap_err().to_string(), "invalid UTF-8 at byte 1");
    /// # Ok::<(), fanzha::Error>(())
    /// ```
    pub fn from_line(raw: &[u8]) -> Result<Event, Error> {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match std::str::from_utf8(line) {
            Err(e) => Err(Error::Event(format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1))),
            Ok(s) if s.trim().is_empty() => Err(Error::Event("empty line".into())),
            Ok(s) => Event::from_json(s),
        }
    }

    /// [`Event::from_line`] for a line of at most `max_bytes` bytes, not counting its `\n`: a
    /// longer line is refused with [`Event::overlong`]'s error, before it is parsed.
    ///
    /// ```
    /// use fanzha::Event;
    /// let line = b"{\"kind\":\"message\",\"text\":\"hi\"}\n";
    /// assert!(Event::from_line_within(line, 40).is_ok());
    /// let error = Event::from_line_within(line, 20).unwrap_err();
    /// assert_eq!(error.to_string(), "the line is longer than the limit of 20 bytes");
    /// ```
    pub fn from_line_within(raw: &[u8], max_bytes: usize) -> Result<Event, Error> {
        if raw.strip_suffix(b"\n").unwrap_or(raw).len() > max_bytes {
            return Err(Event::overlong(max_bytes));
        }
        Event::from_line(raw)
    }

    /// The error for a line longer than `max_bytes`, for readers that drop such a line as
    /// they read it rather than hold it whole. Every reader of lines (the pipeline, the
    /// partition router, the bindings) words it the same way.
    pub fn overlong(max_bytes: usize) -> Error {
        Error::Event(format!("the line is longer than the limit of {max_bytes} bytes"))
    }

    /// Reads one event from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Event, Error> {
        let Value::Object(mut rest) = value else {
            return Err(Error::Event("an event must be a JSON object".into()));
        };
        let mut take = |k: &str| rest.remove(k);
        let parts = Parts {
            kind: take("kind"),
            id: take("id"),
            ts: take("ts"),
            text: take("text"),
            memo: take("memo"),
            amount: take("amount"),
            rest,
        };
        Event::from_parts(parts)
    }

    fn from_parts(p: Parts) -> Result<Event, Error> {
        let Parts { kind, id, ts, text, memo, amount, mut rest } = p;
        let bad = |m: String| Error::Event(m);
        let kind = match kind {
            Some(Value::String(k)) if k == "message" => EventKind::Message,
            Some(Value::String(k)) if k == "transaction" => EventKind::Transaction,
            // The value is not repeated: a shifted column could put personal data there.
            Some(Value::String(_)) => return Err(bad("unknown event `kind` (message, transaction)".into())),
            Some(_) => return Err(bad("`kind` must be a string".into())),
            None => return Err(bad("missing field `kind`".into())),
        };
        let (id, id_number) = match id {
            None | Some(Value::Null) => (None, false),
            Some(Value::String(s)) => (Some(s), false),
            Some(Value::Number(n)) => (Some(n.to_string()), true),
            Some(_) => return Err(bad("`id` must be a string or a number".into())),
        };
        let ts = match ts {
            None | Some(Value::Null) => None,
            Some(v) => {
                let t = parse_ts(&v).ok_or_else(|| {
                    bad("`ts` must be RFC 3339 or epoch milliseconds, from 1970 to 9999".into())
                })?;
                // Rules may still compare the field as written.
                rest.insert("ts".into(), v);
                Some(t)
            }
        };
        // The field that is not scanned for this kind stays an ordinary field.
        let mut keep = |name: &str, v: Option<Value>| {
            if let Some(v) = v {
                rest.insert(name.into(), v);
            }
        };
        let (text, amount_fen, text_field) = match kind {
            EventKind::Message => {
                keep("memo", memo);
                keep("amount", amount);
                match text {
                    Some(Value::String(s)) => (s, None, true),
                    Some(_) => return Err(bad("`text` must be a string".into())),
                    None => return Err(bad("a message needs a `text`".into())),
                }
            }
            EventKind::Transaction => {
                keep("text", text);
                let amount = match amount {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
                    Some(_) => return Err(bad("`amount` must be a number".into())),
                    None => return Err(bad("a transaction needs an `amount`".into())),
                };
                let fen = amount * 100.0;
                if !fen.is_finite() || !(0.0..=MAX_FEN).contains(&fen) {
                    return Err(bad(format!("`amount` must be between 0 and {} yuan", MAX_FEN / 100.0)));
                }
                let (memo, present) = match memo {
                    None => (String::new(), false),
                    Some(Value::Null) => {
                        keep("memo", Some(Value::Null));
                        (String::new(), false)
                    }
                    Some(Value::String(s)) => (s, true),
                    Some(_) => return Err(bad("`memo` must be a string".into())),
                };
                (memo, Some(fen.round() as u64), present)
            }
        };
        Ok(Event { kind, id, id_number, ts, text, text_field, amount_fen, fields: rest })
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
        // The contract's fields live in their own slots.
        match (name, self.kind) {
            ("amount", _) => return self.amount_fen.map(FieldValue::Fen),
            ("kind", EventKind::Message) => return Some(FieldValue::Str("message")),
            ("kind", EventKind::Transaction) => return Some(FieldValue::Str("transaction")),
            ("id", _) => {
                let id = self.id.as_deref()?;
                return Some(match id.parse::<f64>() {
                    Ok(n) if self.id_number => FieldValue::Num(n),
                    _ => FieldValue::Str(id),
                });
            }
            ("text", EventKind::Message) | ("memo", EventKind::Transaction) => {
                return self.text_field.then_some(FieldValue::Str(&self.text));
            }
            _ => {}
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

/// The latest time an event may carry, 9999-12-31T23:59:59.999Z: the last instant RFC 3339
/// can write. Times before 1970 or after this are refused, so time arithmetic never overflows.
const MAX_MILLIS: i64 = 253_402_300_799_999;

fn parse_ts(v: &Value) -> Option<Timestamp> {
    let t = match v {
        Value::Number(n) => n.as_i64().map(|millis| Timestamp { millis, offset_secs: 0 }),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Timestamp { millis: t.timestamp_millis(), offset_secs: t.offset().local_minus_utc() }),
        _ => None,
    }?;
    (0..=MAX_MILLIS).contains(&t.millis).then_some(t)
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
    fn contract_fields_compare_as_written() {
        let m = Event::from_json(r#"{"kind":"message","id":42,"text":"hi","memo":"m","amount":3}"#).unwrap();
        assert_eq!(m.field("kind"), Some(FieldValue::Str("message")));
        assert_eq!(m.field("id"), Some(FieldValue::Num(42.0)));
        assert_eq!(m.field("text"), Some(FieldValue::Str("hi")));
        assert_eq!(m.field("memo"), Some(FieldValue::Str("m")), "not scanned, still a field");
        assert_eq!(m.field("amount"), None, "only a transaction has an amount");
        let t = Event::from_json(r#"{"kind":"transaction","id":"t1","amount":1,"text":"x"}"#).unwrap();
        assert_eq!(t.field("memo"), None);
        assert_eq!(t.field("text"), Some(FieldValue::Str("x")));
        assert_eq!(t.field("id"), Some(FieldValue::Str("t1")));
        // Escaped keys, repeated keys, and a parsed value read the same as the line.
        for line in [
            r#"{"k\u0069nd":"message","text":"x","sender":"u1"}"#,
            r#"{"kind":"message","text":"a","text":"b","ts":"2025-05-19T08:00:00+08:00"}"#,
            r#"{"kind":"transaction","amount":2.5,"memo":null,"payer":"p"}"#,
        ] {
            let value: Value = serde_json::from_str(line).unwrap();
            assert_eq!(Event::from_json(line).unwrap(), Event::from_value(value).unwrap(), "{line}");
        }
        assert_eq!(Event::from_json(r#"{"kind":"message","text":"a","text":"b"}"#).unwrap().text(), "b");
        assert_eq!(
            Event::from_json(r#"{"k\u0069nd":"message","text":"x"}"#).unwrap().kind(),
            EventKind::Message
        );
    }

    #[test]
    fn numeric_ids_are_kept_as_text() {
        let m = Event::from_json(r#"{"kind":"message","id":123456789,"text":"x"}"#).unwrap();
        assert_eq!(m.id(), Some("123456789"));
    }
}
