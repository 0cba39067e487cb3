//! What travels through the input streams: one entry per routed line, and how replies that
//! carry entries are read.
//!
//! `fanzha route` reads and places every line once (the stream's clock needs the whole stream,
//! in order), so an entry carries the placement with the line: a consumer never has to see
//! the rest of the stream to score its part. A line that cannot be read travels as its line
//! number and the error's text, so a consumer writes the same `{"line":N,"error":"…"}` record
//! `fanzha scan` would.

use fanzha::Placement;
use redis::Value;

/// One entry of a stream: its id and its fields in order.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) id: String,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    pub(super) fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|(f, _)| f == name.as_bytes()).map(|(_, v)| v.as_slice())
    }

    fn text(&self, name: &str) -> Result<&str, String> {
        let v = self.field(name).ok_or_else(|| format!("stream entry {} has no field `{name}`", self.id))?;
        std::str::from_utf8(v).map_err(|_| format!("stream entry {}: field `{name}` is not UTF-8", self.id))
    }

    pub(super) fn number<T: std::str::FromStr>(&self, name: &str) -> Result<T, String> {
        let s = self.text(name)?;
        s.parse().map_err(|_| format!("stream entry {}: field `{name}` is not a number: {s:?}", self.id))
    }
}

/// A routed input line, as `fanzha route` writes it and a consumer reads it.
#[derive(Debug)]
pub(super) enum Record {
    /// An event: its line number, its place on the stream's clock, the number of partitions
    /// it went to, and its line as read.
    Event { n: u64, placement: Placement, k: u32, line: Vec<u8> },
    /// A line that is not an event: its number and why.
    Bad { n: u64, error: String },
}

impl Record {
    /// Appends the record's fields to an XADD.
    pub(super) fn write_fields(&self, cmd: &mut redis::Cmd) {
        match self {
            Record::Event { n, placement: p, k, line } => {
                cmd.arg("n").arg(*n).arg("seq").arg(p.seq).arg("t").arg(p.t);
                cmd.arg("late").arg(u8::from(p.late)).arg("clock").arg(p.clock);
                cmd.arg("k").arg(*k).arg("line").arg(line.as_slice());
            }
            Record::Bad { n, error } => {
                cmd.arg("n").arg(*n).arg("error").arg(error.as_str());
            }
        }
    }

    pub(super) fn from_entry(e: Entry) -> Result<Record, String> {
        let n = e.number("n")?;
        if let Some(error) = e.field("error") {
            return Ok(Record::Bad { n, error: String::from_utf8_lossy(error).into_owned() });
        }
        let placement = Placement {
            seq: e.number("seq")?,
            t: e.number("t")?,
            late: e.number::<u8>("late")? != 0,
            clock: e.number("clock")?,
        };
        let k = e.number("k")?;
        let line =
            e.field("line").ok_or_else(|| format!("stream entry {} has no field `line`", e.id))?.to_vec();
        Ok(Record::Event { n, placement, k, line })
    }
}

/// The bytes of a string-like reply.
pub(super) fn bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.into_bytes()),
        _ => None,
    }
}

/// The text of a string-like reply.
pub(super) fn text(v: Value) -> Option<String> {
    bytes(v).and_then(|b| String::from_utf8(b).ok())
}

/// The entries of an XRANGE reply (or of the entry list of one stream in an XREADGROUP or
/// XAUTOCLAIM reply). Entries deleted while pending come back with no fields and are skipped.
pub(super) fn entries(v: Value) -> Result<Vec<Entry>, String> {
    let Value::Array(items) = v else {
        return Err(format!("unexpected reply for stream entries: {v:?}"));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(mut pair) = item else { continue };
        if pair.len() < 2 {
            continue;
        }
        let fields_value = std::mem::take(&mut pair[1]);
        let id = text(std::mem::take(&mut pair[0])).ok_or("a stream entry without an id")?;
        let flat = match fields_value {
            Value::Array(f) => f,
            Value::Nil => continue,
            other => return Err(format!("unexpected fields of stream entry {id}: {other:?}")),
        };
        let mut fields = Vec::with_capacity(flat.len() / 2);
        let mut it = flat.into_iter();
        while let (Some(f), Some(v)) = (it.next(), it.next()) {
            fields.push((bytes(f).unwrap_or_default(), bytes(v).unwrap_or_default()));
        }
        out.push(Entry { id, fields });
    }
    Ok(out)
}

/// The entries of an XREADGROUP reply, by stream key. Nil (nothing before the block timed
/// out) is no streams.
pub(super) fn read_reply(v: Value) -> Result<Vec<(String, Vec<Entry>)>, String> {
    let streams: Vec<(Value, Value)> = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut kv) if kv.len() == 2 => {
                    let e = kv.pop()?;
                    Some((kv.pop()?, e))
                }
                _ => None,
            })
            .collect(),
        Value::Map(kv) => kv,
        other => return Err(format!("unexpected XREADGROUP reply: {other:?}")),
    };
    streams
        .into_iter()
        .map(|(k, e)| Ok((text(k).ok_or("a stream reply without a key")?, entries(e)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn a_record_survives_the_trip_through_entry_fields() {
        let r = Record::Event {
            n: 7,
            placement: Placement { seq: 5, t: -3, late: true, clock: 99 },
            k: 2,
            line: b"{\"text\":\"x\"}\r".to_vec(),
        };
        let mut cmd = redis::cmd("XADD");
        r.write_fields(&mut cmd);
        let args: Vec<Value> = cmd
            .args_iter()
            .filter_map(|a| match a {
                redis::Arg::Simple(b) => Some(Value::BulkString(b.to_vec())),
                _ => None,
            })
            .skip(1)
            .collect();
        let reply = Value::Array(vec![Value::Array(vec![bulk("1-0"), Value::Array(args)])]);
        let e = entries(reply).unwrap().pop().unwrap();
        match Record::from_entry(e).unwrap() {
            Record::Event { n, placement, k, line } => {
                assert_eq!((n, k), (7, 2));
                assert_eq!(placement, Placement { seq: 5, t: -3, late: true, clock: 99 });
                assert_eq!(line, b"{\"text\":\"x\"}\r");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_replies_give_entries_by_stream() {
        assert!(read_reply(Value::Nil).unwrap().is_empty());
        let e = Value::Array(vec![
            bulk("2-1"),
            Value::Array(vec![bulk("n"), bulk("3"), bulk("error"), bulk("empty line")]),
        ]);
        let v = Value::Array(vec![Value::Array(vec![bulk("fanzha:in:0"), Value::Array(vec![e])])]);
        let mut r = read_reply(v).unwrap();
        let (key, mut es) = r.pop().unwrap();
        assert_eq!(key, "fanzha:in:0");
        let rec = Record::from_entry(es.pop().unwrap()).unwrap();
        assert!(matches!(rec, Record::Bad { n: 3, ref error } if error == "empty line"));
    }
}
