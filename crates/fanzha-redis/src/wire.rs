//! What travels through the input streams, and how replies that carry entries are read.
//!
//! `fanzha route` reads and places every line once (the stream's clock needs the whole stream,
//! in order), so a routed line carries its placement: a consumer never has to see the rest of
//! the stream to score its part. Lines travel in batches, many to a stream entry, because
//! Redis's cost is per entry far more than per byte: an entry `n-0` of a partition's input
//! stream holds, in field `b`, the records of that partition's lines from line `n` on. A line
//! that cannot be read travels as its line number and the error's text, so a consumer writes
//! the same `{"line":N,"error":"…"}` record `fanzha scan` would.

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
}

/// A routed input line, as `fanzha route` writes it and a consumer reads it.
#[derive(Debug, PartialEq)]
pub(super) enum Record {
    /// An event: its line number, its place on the stream's clock, the number of partitions
    /// it went to, and its line as read.
    Event { n: u64, placement: Placement, k: u32, line: Vec<u8> },
    /// A line that is not an event: its number and why.
    Bad { n: u64, error: String },
}

impl Record {
    /// The record's line number.
    pub(super) fn n(&self) -> u64 {
        match self {
            Record::Event { n, .. } | Record::Bad { n, .. } => *n,
        }
    }

    /// Appends the record to a batch: a header line (`E n seq t late clock k len` or
    /// `B n len`), then `len` bytes of the line or the error. Length-prefixed, so a line may
    /// hold any byte.
    pub(super) fn encode(&self, batch: &mut Vec<u8>) {
        use std::io::Write;
        let body = match self {
            Record::Event { n, placement: p, k, line } => {
                let (seq, t, late, clock) = (p.seq, p.t, u8::from(p.late), p.clock);
                let _ = writeln!(batch, "E {n} {seq} {t} {late} {clock} {k} {}", line.len());
                line.as_slice()
            }
            Record::Bad { n, error } => {
                let _ = writeln!(batch, "B {n} {}", error.len());
                error.as_bytes()
            }
        };
        batch.extend_from_slice(body);
    }

    /// The records of a batch, in order.
    pub(super) fn decode(batch: &[u8]) -> Result<Vec<Record>, String> {
        let bad =
            || "a malformed batch of routed lines: was it routed by another version of fanzha?".to_string();
        let mut out = Vec::new();
        let mut rest = batch;
        while !rest.is_empty() {
            let eol = rest.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
            let header = std::str::from_utf8(&rest[..eol]).map_err(|_| bad())?;
            rest = &rest[eol + 1..];
            let f: Vec<&str> = header.split(' ').collect();
            let num = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok()).ok_or_else(bad);
            let len = f
                .last()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|&l| l <= rest.len())
                .ok_or_else(bad)?;
            let (body, tail) = rest.split_at(len);
            rest = tail;
            match (f.first(), f.len()) {
                (Some(&"E"), 8) => out.push(Record::Event {
                    n: num(1)? as u64,
                    placement: Placement {
                        seq: num(2)? as u64,
                        t: num(3)?,
                        late: num(4)? != 0,
                        clock: num(5)?,
                    },
                    k: num(6)? as u32,
                    line: body.to_vec(),
                }),
                (Some(&"B"), 3) => out.push(Record::Bad {
                    n: num(1)? as u64,
                    error: String::from_utf8_lossy(body).into_owned(),
                }),
                _ => return Err(bad()),
            }
        }
        Ok(out)
    }
}

/// The verdicts of an output entry, with their line numbers.
pub(super) fn verdicts(e: &Entry) -> Result<Vec<(u64, Vec<u8>)>, String> {
    let lines = e.text("lines")?;
    let verdicts =
        e.field("verdicts").ok_or_else(|| format!("output entry {} has no field `verdicts`", e.id))?;
    let mut out = Vec::new();
    let mut vs = verdicts.split(|&b| b == b'\n');
    for n in lines.split(' ') {
        let n = n.parse().map_err(|_| format!("output entry {}: a bad line number {n:?}", e.id))?;
        let v = vs.next().ok_or_else(|| format!("output entry {}: fewer verdicts than lines", e.id))?;
        out.push((n, v.to_vec()));
    }
    if vs.next().is_some() {
        return Err(format!("output entry {}: more verdicts than lines", e.id));
    }
    Ok(out)
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

/// The entries of an XRANGE reply, or of the entry list of one stream in an XREAD reply.
/// Entries without fields are skipped.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn records_survive_the_trip_through_a_batch() {
        let records = vec![
            Record::Event {
                n: 7,
                placement: Placement { seq: 5, t: -3, late: true, clock: 99 },
                k: 2,
                line: b"{\"text\":\"a\nb\"}\r".to_vec(),
            },
            Record::Bad { n: 8, error: "empty line".into() },
            Record::Event {
                n: 9,
                placement: Placement { seq: 6, t: 0, late: false, clock: 0 },
                k: 1,
                line: vec![],
            },
        ];
        let mut batch = Vec::new();
        for r in &records {
            r.encode(&mut batch);
        }
        assert_eq!(Record::decode(&batch).unwrap(), records);
        assert!(Record::decode(b"E 1 2 3\nxyz").is_err());
        assert!(Record::decode(b"B 1 10\nshort").is_err());
    }

    #[test]
    fn entries_are_read_from_xrange_replies() {
        let e = Value::Array(vec![bulk("2-0"), Value::Array(vec![bulk("b"), bulk("B 3 4\nnope")])]);
        let mut es = entries(Value::Array(vec![e])).unwrap();
        let e = es.pop().unwrap();
        assert_eq!(e.id, "2-0");
        assert_eq!(
            Record::decode(e.field("b").unwrap()).unwrap(),
            vec![Record::Bad { n: 3, error: "nope".into() }]
        );
    }
}
