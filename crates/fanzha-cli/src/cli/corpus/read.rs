//! Input rows: labelled JSON Lines from files, gzipped files or standard input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::mpsc::SyncSender;

use fanzha::Event;
use serde_json::Value;

/// Lines handed to the scorers at a time: enough to keep every core busy between two hand-offs,
/// few enough that a chunk of long call transcripts stays a few megabytes.
const CHUNK_LINES: usize = 2048;

/// One opened input.
pub struct Input {
    /// The path as given (`-` for standard input), for `FILE:LINE` messages.
    pub path: String,
    pub reader: Box<dyn BufRead + Send>,
}

/// Opens a path; `-` is standard input and a name ending in `.gz` is decompressed on the fly.
pub fn open(path: &Path) -> io::Result<Input> {
    let name = path.display().to_string();
    let raw: Box<dyn Read + Send> =
        if name == "-" { Box::new(io::stdin()) } else { Box::new(File::open(path)?) };
    let reader: Box<dyn BufRead + Send> = if name.ends_with(".gz") {
        // Multi-member: `cat a.gz b.gz` is a valid gzip stream and some tools write one.
        Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(raw)))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, raw))
    };
    Ok(Input { path: name, reader })
}

/// Consecutive raw lines of one file.
pub struct Chunk {
    pub file: usize,
    /// 1-based number of the first line.
    pub first_line: usize,
    pub lines: Vec<Vec<u8>>,
}

/// Reads every input in order, in chunks that never span two files. Stops at the first read
/// error (a truncated gzip stream, say), which it sends as `FILE:LINE: error`.
pub fn read_all(inputs: Vec<Input>, tx: SyncSender<Result<Chunk, String>>) {
    for (file, mut input) in inputs.into_iter().enumerate() {
        let mut line_no = 0;
        loop {
            let mut lines = Vec::with_capacity(CHUNK_LINES);
            let first_line = line_no + 1;
            while lines.len() < CHUNK_LINES {
                let mut buf = Vec::new();
                match input.reader.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        line_no += 1;
                        lines.push(buf);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("{}:{}: error: {e}", input.path, line_no + 1)));
                        return;
                    }
                }
            }
            let done = lines.len() < CHUNK_LINES;
            if !lines.is_empty() && tx.send(Ok(Chunk { file, first_line, lines })).is_err() {
                return;
            }
            if done {
                break;
            }
        }
    }
}

/// What a row needs besides its event.
pub struct RowSpec {
    /// The label of a row without one; without it, such a row is an error.
    pub default_label: Option<String>,
    /// Fields whose values break the figures down (`category`, `source`, each `--by`).
    pub fields: Vec<String>,
}

/// One readable labelled row.
pub struct Row {
    pub event: Event,
    pub label: String,
    /// The value of each of [`RowSpec::fields`], if the row has it.
    pub fields: Vec<Option<String>>,
}

/// Reads one line into a labelled event. A row without `kind` is a message, so plain
/// `{"id","label","text"}` data sets work as they are; the event itself is read by the
/// library, so a bad event gets the same error text as `fanzha scan` gives it.
pub fn parse(raw: &[u8], spec: &RowSpec) -> Result<Row, String> {
    let mut value: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        // Let the library word it (invalid UTF-8, empty line, invalid JSON) as scan does.
        Err(e) => return Err(Event::from_line(raw).err().map_or_else(|| e.to_string(), |e| e.to_string())),
    };
    let Value::Object(map) = &mut value else {
        return Err("an event must be a JSON object".into());
    };
    let label = match map.get("label") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => match &spec.default_label {
            Some(l) => l.clone(),
            None => return Err("no \"label\" field (give --label LABEL for unlabelled rows)".into()),
        },
        Some(_) => return Err("\"label\" must be a string".into()),
    };
    let fields = spec.fields.iter().map(|f| map.get(f).and_then(field_text)).collect();
    if !map.contains_key("kind") {
        map.insert("kind".into(), Value::String("message".into()));
    }
    let event = Event::from_value(value).map_err(|e| e.to_string())?;
    Ok(Row { event, label, fields })
}

/// A field's value as a group name: strings as they are, numbers and booleans as written.
fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first `max` characters of a text on one line, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        out.push(if c == '\n' || c == '\r' || c == '\t' { ' ' } else { c });
    }
    out
}
