//! Node.js bindings: a thin translation over the fanzha crate, no logic of its own.
//!
//! Events cross as JavaScript objects (or JSON text) read by the crate's own event reader, so
//! an object means exactly what a line of the input contract means; verdicts come back as
//! plain objects in the output contract's shape. Batches are scored on the crate's thread pool.

use std::sync::Mutex;

use napi::bindgen_prelude::*;
use napi_derive::napi;

fn rules_error(e: fanzha::Error) -> Error {
    // The message carries every diagnostic as file:line:column: error[CODE] rule `id`: ...,
    // or what is wrong with a bundle.
    Error::new(Status::InvalidArg, e.to_string())
}

/// An event from a JavaScript object in the input contract, or from its JSON text.
fn event(value: serde_json::Value) -> Result<fanzha::Event> {
    let read = match value {
        serde_json::Value::String(json) => fanzha::Event::from_json(&json),
        serde_json::Value::Object(mut fields) => {
            // Every JavaScript number is a double: give whole ones back their integer form, as
            // JSON.stringify would write them, so ids read "42" and times are epoch milliseconds.
            for v in fields.values_mut() {
                if let Some(n) = v.as_f64().filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15) {
                    *v = (n as i64).into();
                }
            }
            fanzha::Event::from_value(fields.into())
        }
        other => fanzha::Event::from_value(other),
    };
    read.map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
}

/// One rule that hit.
#[napi(object)]
pub struct Hit {
    pub rule: String,
    pub category: String,
    pub score: u32,
    /// The original text of each span.
    pub evidence: Vec<String>,
    /// Character offsets [start, end) into the original text.
    pub spans: Vec<Vec<u32>>,
    /// For window and sequence hits: the ids of the events that made them up.
    pub events: Vec<String>,
}

/// The explained result of scoring one event.
#[napi(object)]
pub struct Verdict {
    pub id: Option<String>,
    /// "none", "notice", "warn" or "block".
    pub level: String,
    pub score: u32,
    pub hits: Vec<Hit>,
    pub advice: Vec<String>,
    /// A monitor scored the event without state because it came too late.
    pub late: bool,
    /// The level is warn or block.
    pub alert: bool,
    /// The verdict as one line of the output contract.
    pub json: String,
}

fn verdict(mut v: fanzha::Verdict, mask: bool) -> Verdict {
    if mask {
        v.mask_personal_data();
    }
    Verdict {
        json: v.to_json(),
        id: v.id.clone(),
        level: v.level.as_str().to_string(),
        score: v.score,
        alert: v.level >= fanzha::Level::Warn,
        late: v.late,
        advice: v.advice.iter().map(|a| a.to_string()).collect(),
        hits: v
            .hits
            .into_iter()
            .map(|h| Hit {
                rule: h.rule.to_string(),
                category: h.category.to_string(),
                score: h.score,
                evidence: h.evidence,
                spans: h.spans.iter().map(|s| vec![s[0] as u32, s[1] as u32]).collect(),
                events: h.events,
            })
            .collect(),
    }
}

/// Who sent a message and where: ids may be strings or numbers.
#[napi(object)]
pub struct ScanOptions {
    pub id: Option<Either<String, f64>>,
    pub sender: Option<Either<String, f64>>,
    pub conversation: Option<Either<String, f64>>,
    pub channel: Option<String>,
    /// RFC 3339 text or epoch milliseconds.
    pub ts: Option<Either<String, f64>>,
}

fn json_id(v: &Either<String, f64>) -> serde_json::Value {
    match v {
        Either::A(s) => s.clone().into(),
        Either::B(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => (*n as i64).into(),
        Either::B(n) => serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into),
    }
}

/// Compiled rules. Safe to share; reloadable while in use.
#[napi]
pub struct Engine {
    /// Scans take scratch from the current engine's pool; masking is the live engine's.
    live: fanzha::LiveEngine,
}

impl Engine {
    fn new(engine: fanzha::Engine) -> Engine {
        Engine { live: fanzha::LiveEngine::new(engine) }
    }

    fn masks(&self) -> bool {
        self.live.masks_personal_data()
    }
}

#[napi]
impl Engine {
    /// The bundled rule packs.
    #[napi(factory)]
    pub fn bundled() -> Result<Engine> {
        Ok(Engine::new(fanzha::Engine::bundled().map_err(rules_error)?))
    }

    /// Rules from a file or a directory of *.toml files.
    #[napi(factory)]
    pub fn from_path(path: String) -> Result<Engine> {
        let rules = fanzha::RuleSet::from_path(path).map_err(rules_error)?;
        Ok(Engine::new(fanzha::Engine::new(&rules).map_err(rules_error)?))
    }

    /// Rules from a TOML text; `name` is used in error locations.
    #[napi(factory)]
    pub fn from_str(text: String, name: Option<String>) -> Result<Engine> {
        let rules =
            fanzha::RuleSet::from_str(name.as_deref().unwrap_or("rules.toml"), &text).map_err(rules_error)?;
        Ok(Engine::new(fanzha::Engine::new(&rules).map_err(rules_error)?))
    }

    /// Compiled rules from a bundle (`fanzha compile -o rules.fzb`, or `toBundle()`): its bytes
    /// (a Buffer or Uint8Array), or the path of a bundle file. Loading skips compiling the
    /// rules: milliseconds instead of most of a second for the bundled packs. A bundle that is
    /// not one, was written in another format version, or is damaged or truncated throws an
    /// error saying which.
    #[napi(factory, ts_args_type = "bundle: Uint8Array | string")]
    pub fn from_bundle(bundle: Either<Uint8Array, String>) -> Result<Engine> {
        let engine = match bundle {
            Either::A(bytes) => fanzha::Engine::from_bundle(&bytes),
            Either::B(path) => fanzha::Engine::from_bundle_path(path),
        };
        Ok(Engine::new(engine.map_err(rules_error)?))
    }

    /// The rules in use as a bundle: the bytes `Engine.fromBundle` loads, as `fanzha compile`
    /// writes them.
    #[napi]
    pub fn to_bundle(&self) -> Buffer {
        self.live.engine().to_bundle().into()
    }

    /// Replaces the rules with a TOML text while scans go on; on error the running rules stay.
    #[napi]
    pub fn reload(&self, text: String, name: Option<String>) -> Result<()> {
        let rules =
            fanzha::RuleSet::from_str(name.as_deref().unwrap_or("rules.toml"), &text).map_err(rules_error)?;
        self.live.reload(&rules).map_err(rules_error)
    }

    /// Replaces the rules with a directory of packs, a pack or a bundle (told by its
    /// signature), as `reload`.
    #[napi]
    pub fn reload_path(&self, path: String) -> Result<()> {
        self.live.reload_path(path).map_err(rules_error)
    }

    /// Whether phone, ID card and bank card numbers in evidence are masked, all but their
    /// last four digits. Off by default; monitors take the engine's setting when made.
    #[napi(getter)]
    pub fn get_mask_personal_data(&self) -> bool {
        self.masks()
    }

    #[napi(setter)]
    pub fn set_mask_personal_data(&self, on: bool) {
        self.live.set_mask_personal_data(on);
    }

    /// The version of the rules in use, such as "common@1.0.0+merchant@1.0.0".
    #[napi(getter)]
    pub fn rules_version(&self) -> String {
        self.live.engine().version().to_string()
    }

    /// Scores one chat message.
    #[napi]
    pub fn scan(&self, text: String, options: Option<ScanOptions>) -> Result<Verdict> {
        let mut obj = serde_json::Map::new();
        obj.insert("kind".into(), "message".into());
        obj.insert("text".into(), text.into());
        if let Some(o) = options {
            for (name, value) in
                [("id", o.id), ("sender", o.sender), ("conversation", o.conversation), ("ts", o.ts)]
            {
                if let Some(v) = value {
                    obj.insert(name.into(), json_id(&v));
                }
            }
            if let Some(c) = o.channel {
                obj.insert("channel".into(), c.into());
            }
        }
        let e = fanzha::Event::from_value(obj.into())
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        Ok(verdict(self.live.scan(&e), false))
    }

    /// Scores one event: an object in the input contract, or its JSON text.
    #[napi(ts_args_type = "event: object | string")]
    pub fn scan_event(&self, event_value: serde_json::Value) -> Result<Verdict> {
        Ok(verdict(self.live.scan(&event(event_value)?), false))
    }

    /// Scores events (objects or JSON texts) in parallel; verdicts in input order.
    #[napi(ts_args_type = "events: Array<object | string>")]
    pub fn scan_batch(&self, events: Vec<serde_json::Value>) -> Result<Vec<Verdict>> {
        let events = events.into_iter().map(event).collect::<Result<Vec<_>>>()?;
        Ok(self.live.scan_batch(&events).into_iter().map(|v| verdict(v, false)).collect())
    }

    /// A monitor for a stream: windows and sequences over the events it observes. It follows
    /// this engine's reloads, keeping the state of the rules that stay (a script under way is
    /// still caught after one).
    #[napi]
    pub fn monitor(&self) -> Monitor {
        Monitor { inner: Mutex::new(fanzha::LiveMonitor::new(&self.live)), mask: self.masks() }
    }
}

/// An engine plus state for a stream. Feed events in stream order.
#[napi]
pub struct Monitor {
    inner: Mutex<fanzha::LiveMonitor>,
    mask: bool,
}

#[napi]
impl Monitor {
    /// Scores the next event of the stream: an object in the input contract, or its JSON text.
    #[napi(ts_args_type = "event: object | string")]
    pub fn observe(&self, event_value: serde_json::Value) -> Result<Verdict> {
        let e = event(event_value)?;
        let mut m =
            self.inner.lock().map_err(|_| Error::new(Status::GenericFailure, "a previous call panicked"))?;
        Ok(verdict(m.observe(&e), self.mask))
    }
}
