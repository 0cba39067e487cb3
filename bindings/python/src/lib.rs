//! Python bindings: a thin translation over the fanzha crate, no logic of its own.
//!
//! Events cross as JSON (Python's `json` module writes them, the crate reads them with the
//! same code as `fanzha scan`), so a dict means exactly what a line of the input contract
//! means. Verdicts cross as small frozen objects. Scanning a batch releases the GIL and runs
//! on the crate's thread pool.

use std::sync::Mutex;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList};

create_exception!(
    _fanzha,
    RulesError,
    PyValueError,
    "Rule files or texts with errors (`.diagnostics` locates each), or a bundle that cannot be read (no diagnostics)."
);
create_exception!(_fanzha, EventError, PyValueError, "An event that cannot be read.");

/// Turns a crate error into the matching Python exception.
fn error(py: Python<'_>, e: fanzha::Error) -> PyErr {
    match &e {
        fanzha::Error::Rules(diags) => {
            let err = RulesError::new_err(e.to_string());
            let list = PyList::empty(py);
            for d in diags {
                let item = PyDict::new(py);
                let _ = item.set_item("code", d.code);
                let _ = item.set_item("file", &d.file);
                let _ = item.set_item("line", d.line);
                let _ = item.set_item("column", d.column);
                let _ = item.set_item("rule", d.rule.as_deref());
                let _ = item.set_item("message", &d.message);
                // Byte offsets into the rule file, as `fanzha check --json` gives them.
                let _ = item.set_item("span", d.span.as_ref().map(|s| (s.start, s.end)));
                let _ = list.append(item);
            }
            let _ = err.value(py).setattr("diagnostics", list);
            err
        }
        // A bundle is compiled rules: one that cannot be read is a rules error, with no
        // diagnostics (the message says what is wrong with the bytes).
        fanzha::Error::Bundle(_) => {
            let err = RulesError::new_err(e.to_string());
            let _ = err.value(py).setattr("diagnostics", PyList::empty(py));
            err
        }
        _ => EventError::new_err(e.to_string()),
    }
}

/// A Python object as one line of JSON, written by Python's own `json` module.
fn to_json(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(s);
    }
    let json = py.import("json")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("ensure_ascii", false)?;
    json.call_method("dumps", (obj,), Some(&kwargs))?.extract()
}

/// An id or a time as the contract has it: a str, or an int (QQ ids are numbers).
fn scalar(name: &str, v: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    if let Ok(s) = v.extract::<String>() {
        return Ok(s.into());
    }
    if let Ok(n) = v.extract::<i64>() {
        return Ok(n.into());
    }
    if let Ok(x) = v.extract::<f64>() {
        return Ok(serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, Into::into));
    }
    Err(PyValueError::new_err(format!("{name} must be a str or a number")))
}

fn read_event(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<fanzha::Event> {
    fanzha::Event::from_json(&to_json(py, obj)?).map_err(|e| error(py, e))
}

/// One rule that hit.
#[pyclass(frozen, module = "fanzha")]
struct Hit {
    #[pyo3(get)]
    rule: String,
    #[pyo3(get)]
    category: String,
    #[pyo3(get)]
    score: u32,
    #[pyo3(get)]
    evidence: Vec<String>,
    #[pyo3(get)]
    spans: Vec<(usize, usize)>,
    #[pyo3(get)]
    events: Vec<String>,
}

#[pymethods]
impl Hit {
    fn __repr__(&self) -> String {
        format!("Hit(rule={:?}, score={}, evidence={:?})", self.rule, self.score, self.evidence)
    }
}

/// The explained result of scoring one event.
#[pyclass(frozen, module = "fanzha")]
struct Verdict {
    inner: fanzha::Verdict,
}

#[pymethods]
impl Verdict {
    /// "none", "notice", "warn" or "block".
    #[getter]
    fn level(&self) -> &'static str {
        self.inner.level.as_str()
    }
    #[getter]
    fn score(&self) -> u32 {
        self.inner.score
    }
    #[getter]
    fn id(&self) -> Option<String> {
        self.inner.id.clone()
    }
    #[getter]
    fn late(&self) -> bool {
        self.inner.late
    }
    #[getter]
    fn advice(&self) -> Vec<String> {
        self.inner.advice.iter().map(|a| a.to_string()).collect()
    }
    #[getter]
    fn hits(&self) -> Vec<Hit> {
        self.inner
            .hits
            .iter()
            .map(|h| Hit {
                rule: h.rule.to_string(),
                category: h.category.to_string(),
                score: h.score,
                evidence: h.evidence.clone(),
                spans: h.spans.iter().map(|s| (s[0], s[1])).collect(),
                events: h.events.clone(),
            })
            .collect()
    }
    /// Whether the level is warn or block.
    #[getter]
    fn alert(&self) -> bool {
        self.inner.level >= fanzha::Level::Warn
    }
    /// The verdict as one line of the output contract.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }
    /// The verdict as a dict, shaped like the output contract.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?.call_method1("loads", (self.inner.to_json(),))
    }
    fn __repr__(&self) -> String {
        format!(
            "Verdict(level={:?}, score={}, hits={})",
            self.inner.level.as_str(),
            self.inner.score,
            self.inner.hits.len()
        )
    }
}

fn verdicts(v: Vec<fanzha::Verdict>, mask: bool) -> Vec<Verdict> {
    v.into_iter().map(|inner| verdict(inner, mask)).collect()
}

/// Compiled rules. Thread-safe; reloadable while in use.
#[pyclass(frozen, module = "fanzha")]
struct Engine {
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

/// A verdict for Python, its evidence masked if asked.
fn verdict(mut inner: fanzha::Verdict, mask: bool) -> Verdict {
    if mask {
        inner.mask_personal_data();
    }
    Verdict { inner }
}

#[pymethods]
impl Engine {
    /// The bundled rule packs.
    #[staticmethod]
    fn bundled(py: Python<'_>) -> PyResult<Engine> {
        let engine = py.allow_threads(fanzha::Engine::bundled).map_err(|e| error(py, e))?;
        Ok(Engine::new(engine))
    }

    /// Rules from a file or a directory of *.toml files.
    #[staticmethod]
    fn from_path(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Engine> {
        let engine = py
            .allow_threads(|| fanzha::RuleSet::from_path(&path).and_then(|r| fanzha::Engine::new(&r)))
            .map_err(|e| error(py, e))?;
        Ok(Engine::new(engine))
    }

    /// Rules from a TOML text; `name` is used in error locations.
    #[staticmethod]
    #[pyo3(signature = (text, name = "rules.toml"))]
    fn from_str(py: Python<'_>, text: &str, name: &str) -> PyResult<Engine> {
        let engine = py
            .allow_threads(|| fanzha::RuleSet::from_str(name, text).and_then(|r| fanzha::Engine::new(&r)))
            .map_err(|e| error(py, e))?;
        Ok(Engine::new(engine))
    }

    /// Rules from several TOML texts loaded as one set (packs may refer to each other, as the
    /// files of a directory do): a dict of name to text, or a sequence of (name, text) pairs,
    /// in load order. For a Spark executor that gets the rules' text, not a path.
    #[staticmethod]
    fn from_texts(py: Python<'_>, texts: &Bound<'_, PyAny>) -> PyResult<Engine> {
        let pairs: Vec<(String, String)> = match texts.downcast::<PyDict>() {
            Ok(d) => d.items().extract()?,
            Err(_) => texts.extract()?,
        };
        let engine = py
            .allow_threads(|| {
                let mut b = fanzha::RuleSet::builder();
                for (name, text) in &pairs {
                    b.add_source(name, text);
                }
                b.build().and_then(|r| fanzha::Engine::new(&r))
            })
            .map_err(|e| error(py, e))?;
        Ok(Engine::new(engine))
    }

    /// Compiled rules from a bundle (`fanzha compile -o rules.fzb`, or `Engine.to_bundle()`):
    /// its bytes (`bytes`, `bytearray`, `memoryview`), or the path of a bundle file (`str` or
    /// `os.PathLike`). Loading skips compiling the rules: milliseconds instead of most of a
    /// second for the bundled packs. A bundle that is not one, was written in another format
    /// version, or is damaged or truncated raises RulesError saying which.
    #[staticmethod]
    fn from_bundle(py: Python<'_>, bundle: &Bound<'_, PyAny>) -> PyResult<Engine> {
        let engine = if let Ok(b) = bundle.downcast::<PyBytes>() {
            let bytes = b.as_bytes();
            py.allow_threads(|| fanzha::Engine::from_bundle(bytes))
        } else if let Ok(b) = bundle.downcast::<PyByteArray>() {
            let bytes = b.to_vec();
            py.allow_threads(|| fanzha::Engine::from_bundle(&bytes))
        } else if bundle.is_instance_of::<pyo3::types::PyMemoryView>() {
            let bytes: Vec<u8> = bundle.call_method0("tobytes")?.extract()?;
            py.allow_threads(|| fanzha::Engine::from_bundle(&bytes))
        } else if let Ok(path) = bundle.extract::<std::path::PathBuf>() {
            py.allow_threads(|| fanzha::Engine::from_bundle_path(&path))
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "from_bundle takes bytes, bytearray, memoryview, or a path (str or os.PathLike), not {}",
                bundle.get_type().name()?
            )));
        };
        Ok(Engine::new(engine.map_err(|e| error(py, e))?))
    }

    /// The rules in use as a bundle: the bytes `Engine.from_bundle` loads, as
    /// `fanzha compile` writes them. For a Spark driver that compiles once and broadcasts.
    fn to_bundle<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let engine = self.live.engine();
        let bytes = py.allow_threads(|| engine.to_bundle());
        PyBytes::new(py, &bytes)
    }

    /// Replaces the rules (from `path`: a directory, a pack or a bundle; or from `text`) while
    /// scans go on; a set with errors raises RulesError and the running rules stay. Monitors
    /// move to the new rules at their next event, keeping the state of the rules that stay.
    #[pyo3(signature = (path = None, text = None, name = "rules.toml"))]
    fn reload(
        &self,
        py: Python<'_>,
        path: Option<std::path::PathBuf>,
        text: Option<&str>,
        name: &str,
    ) -> PyResult<()> {
        match (path, text) {
            // A directory, a pack, or a bundle (told by its signature).
            (Some(p), None) => py.allow_threads(|| self.live.reload_path(p)),
            (None, Some(t)) => py.allow_threads(|| {
                fanzha::RuleSet::from_str(name, t).and_then(|rules| self.live.reload(&rules))
            }),
            _ => return Err(PyValueError::new_err("reload takes path= or text=, one of them")),
        }
        .map_err(|e| error(py, e))
    }

    /// Whether phone, ID card and bank card numbers in evidence are masked, all but their
    /// last four digits. Off by default; monitors take the engine's setting when made.
    #[getter]
    fn get_mask_personal_data(&self) -> bool {
        self.masks()
    }

    #[setter]
    fn set_mask_personal_data(&self, on: bool) {
        self.live.set_mask_personal_data(on);
    }

    /// The version of the rules in use, such as "common@1.0.0+merchant@1.0.0".
    #[getter]
    fn rules_version(&self) -> String {
        self.live.engine().version().to_string()
    }

    /// Scores one chat message. Ids may be str or int (QQ ids are numbers).
    #[pyo3(signature = (text, *, sender = None, conversation = None, ts = None, channel = None, id = None))]
    #[allow(clippy::too_many_arguments)]
    fn scan(
        &self,
        py: Python<'_>,
        text: &str,
        sender: Option<&Bound<'_, PyAny>>,
        conversation: Option<&Bound<'_, PyAny>>,
        ts: Option<&Bound<'_, PyAny>>,
        channel: Option<&str>,
        id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Verdict> {
        // The event is built here rather than as a dict for `json.dumps`: this is a bot's
        // per-message call, and the round trip through Python's json module cost more than
        // the scan.
        let mut obj = serde_json::Map::new();
        obj.insert("kind".into(), "message".into());
        obj.insert("text".into(), text.into());
        for (name, value) in [("sender", sender), ("conversation", conversation), ("ts", ts), ("id", id)] {
            if let Some(v) = value {
                obj.insert(name.into(), scalar(name, v)?);
            }
        }
        if let Some(c) = channel {
            obj.insert("channel".into(), c.into());
        }
        let e = fanzha::Event::from_value(obj.into()).map_err(|e| error(py, e))?;
        Ok(Verdict { inner: py.allow_threads(|| self.live.scan(&e)) })
    }

    /// Scores one event: a dict (or a JSON string) in the input contract.
    fn scan_event(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Verdict> {
        let e = read_event(py, event)?;
        Ok(Verdict { inner: py.allow_threads(|| self.live.scan(&e)) })
    }

    /// Scores a list of events (dicts or JSON strings) in parallel, without the GIL; verdicts
    /// in input order.
    fn scan_batch(&self, py: Python<'_>, events: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<Verdict>> {
        let events = events.iter().map(|e| read_event(py, e)).collect::<PyResult<Vec<_>>>()?;
        let verdicts = py.allow_threads(|| self.live.scan_batch(&events));
        Ok(verdicts.into_iter().map(|inner| Verdict { inner }).collect())
    }

    /// The final verdict, as JSON, of an event that a `Router` sent to several partitions:
    /// the event scored alone (marked late if its placement says so) plus the stateful hits
    /// each of its partitions found (`partials`: one list per partition, as
    /// `PartitionMonitor.observe_placed` gives them).
    fn merge(
        &self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        late: bool,
        partials: Vec<Vec<StatefulHit>>,
    ) -> PyResult<String> {
        let line = line_bytes(py, event)?;
        let e = fanzha::Event::from_line(&line).map_err(|e| error(py, e))?;
        let stateful: Vec<fanzha::StatefulHit> = partials
            .into_iter()
            .flatten()
            .map(|(rule, events)| fanzha::StatefulHit { rule, events })
            .collect();
        Ok(py.allow_threads(|| self.live.merge(&e, late, &stateful).to_json()))
    }

    /// A monitor for a stream: windows and sequences over the events it observes. It follows
    /// this engine's reloads (a script under way is still caught after one).
    fn monitor(&self) -> Monitor {
        Monitor { inner: Mutex::new(fanzha::LiveMonitor::new(&self.live)), mask: self.masks() }
    }
}

/// Engine plus state for streams. Feed events in stream order.
#[pyclass(frozen, module = "fanzha")]
struct Monitor {
    inner: Mutex<fanzha::LiveMonitor>,
    mask: bool,
}

#[pymethods]
impl Monitor {
    /// Scores the next event of the stream (a dict or a JSON string).
    fn observe(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Verdict> {
        let e = read_event(py, event)?;
        let inner = &self.inner;
        let v = py.allow_threads(|| inner.lock().ok().map(|mut m| m.observe(&e)));
        Ok(verdict(v.ok_or_else(|| PyValueError::new_err("a previous call panicked"))?, self.mask))
    }

    /// Scores the next events of the stream, in parallel without the GIL; verdicts in order.
    fn observe_batch(&self, py: Python<'_>, events: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<Verdict>> {
        let events = events.iter().map(|e| read_event(py, e)).collect::<PyResult<Vec<_>>>()?;
        let inner = &self.inner;
        let v = py.allow_threads(|| inner.lock().ok().map(|mut m| m.observe_batch(&events)));
        Ok(verdicts(v.ok_or_else(|| PyValueError::new_err("a previous call panicked"))?, self.mask))
    }
}

/// A stateful hit as it crosses to Python: (rule id, ids of the events that made it up).
type StatefulHit = (String, Vec<String>);
/// Where the stream clock put an event: (seq, time in ms, late, clock after it in ms).
type Placement = (u64, i64, bool, i64);

/// The bytes of one input line: a str or bytes as read, or a dict written as JSON.
fn line_bytes(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.downcast::<pyo3::types::PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    Ok(to_json(py, obj)?.into_bytes())
}

/// `Partitioning::new`'s refusal (or a bad partition count) as a Python exception.
fn partition_error(py: Python<'_>, e: fanzha::Error) -> PyErr {
    match e {
        fanzha::Error::Rules(_) => error(py, e),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// The partitioning that `partitions` names: a count, or a Router's.
fn partitioning(
    py: Python<'_>,
    engine: &fanzha::Engine,
    partitions: &Bound<'_, PyAny>,
) -> PyResult<fanzha::Partitioning> {
    if let Ok(router) = partitions.downcast::<Router>() {
        return Ok(router.get().partitioning.clone());
    }
    let n: u32 = partitions.extract()?;
    if n == 0 {
        return Err(PyValueError::new_err("partitions must be at least 1"));
    }
    fanzha::Partitioning::new(engine, n).map_err(|e| partition_error(py, e))
}

/// The one sequential step of a partitioned backfill: reads a stream's lines in input order,
/// places each in time (its time, whether it is late, its position: the clock `fanzha scan`
/// runs over the whole stream) and names the partitions of the key values it carries.
/// Events of one partition are then scored by a `PartitionMonitor`, in input order, with the
/// placements this router gave them.
#[pyclass(frozen, module = "fanzha")]
struct Router {
    partitioning: fanzha::Partitioning,
    clock: Mutex<fanzha::StreamClock>,
    max_line_bytes: usize,
}

#[pymethods]
impl Router {
    /// A router to `partitions` partitions for the engine's stateful rules; ValueError when
    /// their keys cannot be partitioned. A line longer than `max_line_bytes` is answered
    /// with an error, as `fanzha scan` answers it.
    #[new]
    #[pyo3(signature = (engine, partitions, *, max_line_bytes = 8 << 20))]
    fn new(py: Python<'_>, engine: &Engine, partitions: u32, max_line_bytes: usize) -> PyResult<Router> {
        if partitions == 0 {
            return Err(PyValueError::new_err("partitions must be at least 1"));
        }
        let engine = engine.live.engine();
        let partitioning = py
            .allow_threads(|| fanzha::Partitioning::new(&engine, partitions))
            .map_err(|e| partition_error(py, e))?;
        Ok(Router {
            partitioning,
            clock: Mutex::new(fanzha::StreamClock::new(&fanzha::MonitorConfig::default())),
            max_line_bytes,
        })
    }

    /// The number of partitions.
    #[getter]
    fn partitions(&self) -> u32 {
        self.partitioning.partitions()
    }

    /// The event fields whose values choose partitions (the stateful rules' keys).
    #[getter]
    fn fields(&self) -> Vec<String> {
        self.partitioning.fields().iter().map(|f| f.to_string()).collect()
    }

    /// The partition of one key value.
    fn partition_of(&self, value: &str) -> u32 {
        self.partitioning.partition_of(value)
    }

    /// Places the next line of the stream: `(partitions, placement, None)`, or
    /// `([], None, error)` for a line `fanzha scan` would answer with an error (the error's
    /// text is scan's). `partitions` is sorted and never empty; `placement` is
    /// `(seq, t, late, clock)`, to hand to `PartitionMonitor.observe_placed` with the line.
    #[allow(clippy::type_complexity)]
    fn route(
        &self,
        py: Python<'_>,
        line: &Bound<'_, PyAny>,
    ) -> PyResult<(Vec<u32>, Option<Placement>, Option<String>)> {
        let line = line_bytes(py, line)?;
        let max = self.max_line_bytes;
        let routed = py.allow_threads(|| {
            let event = fanzha::Event::from_line_within(&line, max).map_err(|e| e.to_string())?;
            let p = self.clock.lock().unwrap_or_else(|e| e.into_inner()).place(&event);
            Ok::<_, String>((self.partitioning.route(&event, p.seq), (p.seq, p.t, p.late, p.clock)))
        });
        Ok(match routed {
            Ok((parts, placement)) => (parts, Some(placement), None),
            Err(message) => (Vec::new(), None, Some(message)),
        })
    }
}

/// The monitor of one partition: the state of the key values that fall in partition `index`.
/// Observe that partition's events in input order, each with the placement the `Router` gave
/// it.
#[pyclass(frozen, module = "fanzha")]
struct PartitionMonitor {
    inner: Mutex<fanzha::Monitor>,
    mask: bool,
}

#[pymethods]
impl PartitionMonitor {
    /// `partitions` is the partition count the router was made with (or the router itself).
    #[new]
    fn new(
        py: Python<'_>,
        engine: &Engine,
        partitions: &Bound<'_, PyAny>,
        index: u32,
    ) -> PyResult<PartitionMonitor> {
        let core = (*engine.live.engine()).clone();
        let partitioning = partitioning(py, &core, partitions)?;
        if index >= partitioning.partitions() {
            return Err(PyValueError::new_err(format!(
                "partition {index} of {}: the index must be below the count",
                partitioning.partitions()
            )));
        }
        let monitor =
            fanzha::Monitor::with_partition(core, fanzha::MonitorConfig::default(), &partitioning, index);
        Ok(PartitionMonitor { inner: Mutex::new(monitor), mask: engine.masks() })
    }

    /// Observes the next events of this partition, `(line, placement)` pairs, without the GIL.
    /// For each: `(verdict_json, stateful)`. `verdict_json` is the event's final verdict when
    /// the router sent it to this partition alone; `stateful`, a list of `(rule, event ids)`,
    /// is this partition's share of an event sent to several, for `Engine.merge`.
    #[allow(clippy::type_complexity)]
    fn observe_placed(
        &self,
        py: Python<'_>,
        events: Vec<(Bound<'_, PyAny>, Placement)>,
    ) -> PyResult<Vec<(String, Vec<StatefulHit>)>> {
        let mut lines = Vec::with_capacity(events.len());
        let mut placements = Vec::with_capacity(events.len());
        for (line, (seq, t, late, clock)) in &events {
            lines.push(line_bytes(py, line)?);
            placements.push(fanzha::Placement { seq: *seq, t: *t, late: *late, clock: *clock });
        }
        let parsed = py.allow_threads(|| {
            lines.iter().map(|l| fanzha::Event::from_line(l)).collect::<Result<Vec<_>, _>>()
        });
        let parsed = parsed.map_err(|e| error(py, e))?;
        let inner = &self.inner;
        let mask = self.mask;
        let out = py.allow_threads(|| {
            inner.lock().ok().map(|mut m| {
                m.observe_placed(&parsed, &placements)
                    .into_iter()
                    .map(|mut o| {
                        if mask {
                            o.verdict.mask_personal_data();
                        }
                        let stateful = o.stateful.into_iter().map(|h| (h.rule, h.events)).collect();
                        (o.verdict.to_json(), stateful)
                    })
                    .collect()
            })
        });
        out.ok_or_else(|| PyValueError::new_err("a previous call panicked"))
    }
}

#[pymodule]
fn _fanzha(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Monitor>()?;
    m.add_class::<Router>()?;
    m.add_class::<PartitionMonitor>()?;
    m.add_class::<Verdict>()?;
    m.add_class::<Hit>()?;
    m.add("RulesError", m.py().get_type::<RulesError>())?;
    m.add("EventError", m.py().get_type::<EventError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
