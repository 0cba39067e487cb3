//! Python bindings: a thin translation over the fanzha crate, no logic of its own.
//!
//! Events cross as JSON (Python's `json` module writes them, the crate reads them with the
//! same code as `fanzha scan`), so a dict means exactly what a line of the input contract
//! means. Verdicts cross as small frozen objects. Scanning a batch releases the GIL and runs
//! on the crate's thread pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

create_exception!(
    _fanzha,
    RulesError,
    PyValueError,
    "Rule files or texts with errors; `.diagnostics` locates each."
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
                let _ = list.append(item);
            }
            let _ = err.value(py).setattr("diagnostics", list);
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
    live: fanzha::LiveEngine,
    mask: AtomicBool,
}

impl Engine {
    fn new(engine: fanzha::Engine) -> Engine {
        Engine { live: fanzha::LiveEngine::new(engine), mask: AtomicBool::new(false) }
    }

    fn masks(&self) -> bool {
        self.mask.load(Ordering::Relaxed)
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

    /// Replaces the rules (from `path`, or from `text`) while scans go on; a set with errors
    /// raises RulesError and the running rules stay.
    #[pyo3(signature = (path = None, text = None, name = "rules.toml"))]
    fn reload(
        &self,
        py: Python<'_>,
        path: Option<std::path::PathBuf>,
        text: Option<&str>,
        name: &str,
    ) -> PyResult<()> {
        let rules = match (path, text) {
            (Some(p), None) => py.allow_threads(|| fanzha::RuleSet::from_path(p)),
            (None, Some(t)) => py.allow_threads(|| fanzha::RuleSet::from_str(name, t)),
            _ => return Err(PyValueError::new_err("reload takes path= or text=, one of them")),
        }
        .map_err(|e| error(py, e))?;
        py.allow_threads(|| self.live.reload(&rules)).map_err(|e| error(py, e))
    }

    /// Whether phone, ID card and bank card numbers in evidence are masked, all but their
    /// last four digits. Off by default; monitors take the engine's setting when made.
    #[getter]
    fn get_mask_personal_data(&self) -> bool {
        self.masks()
    }

    #[setter]
    fn set_mask_personal_data(&self, on: bool) {
        self.mask.store(on, Ordering::Relaxed);
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
        let dict = PyDict::new(py);
        dict.set_item("kind", "message")?;
        dict.set_item("text", text)?;
        for (name, value) in [("sender", sender), ("conversation", conversation), ("ts", ts), ("id", id)] {
            if let Some(v) = value {
                dict.set_item(name, v)?;
            }
        }
        if let Some(c) = channel {
            dict.set_item("channel", c)?;
        }
        self.scan_event(py, dict.as_any())
    }

    /// Scores one event: a dict (or a JSON string) in the input contract.
    fn scan_event(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Verdict> {
        let e = read_event(py, event)?;
        let engine = self.live.engine();
        Ok(verdict(py.allow_threads(|| engine.scan(&e)), self.masks()))
    }

    /// Scores a list of events (dicts or JSON strings) in parallel, without the GIL; verdicts
    /// in input order.
    fn scan_batch(&self, py: Python<'_>, events: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<Verdict>> {
        let events = events.iter().map(|e| read_event(py, e)).collect::<PyResult<Vec<_>>>()?;
        let engine = self.live.engine();
        Ok(verdicts(py.allow_threads(|| engine.scan_batch(&events)), self.masks()))
    }

    /// A monitor for a stream: windows and sequences over the events it observes.
    fn monitor(&self) -> Monitor {
        Monitor { inner: Mutex::new(fanzha::Monitor::new((*self.live.engine()).clone())), mask: self.masks() }
    }
}

/// Engine plus state for streams. Feed events in stream order.
#[pyclass(frozen, module = "fanzha")]
struct Monitor {
    inner: Mutex<fanzha::Monitor>,
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

#[pymodule]
fn _fanzha(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Monitor>()?;
    m.add_class::<Verdict>()?;
    m.add_class::<Hit>()?;
    m.add("RulesError", m.py().get_type::<RulesError>())?;
    m.add("EventError", m.py().get_type::<EventError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
