//! The C ABI of fanzha: opaque handles over the crate's engine, monitor and verdicts.
//!
//! A thin translation layer, with no logic of its own: every function converts its arguments,
//! calls the crate, and converts the result. The rules it keeps, written again in the header:
//!
//! * Every function returns a status (`FANZHA_OK` or an error code), except the accessors,
//!   which return a value and a neutral one (0, NULL) for a bad argument.
//! * Errors come with text through an optional `FanzhaError **` out-parameter: the rule file,
//!   line and column for bad rules, the reason for a bad event. Free it with
//!   `fanzha_error_free`.
//! * Every object returned is freed by its own `*_free` function, which accepts NULL.
//! * No panic crosses the boundary: each body runs under `catch_unwind` and a panic becomes
//!   `FANZHA_ERR_PANIC`.
//! * Texts are UTF-8 with an explicit length (no NUL needed); invalid UTF-8 is
//!   `FANZHA_ERR_UTF8`. Strings handed out are NUL-terminated and live as long as their owner.
//! * An engine may be used from many threads at once, and reloaded while it is used; a
//!   monitor or a verdict belongs to one thread at a time.

#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use fanzha::{Engine, Event, LiveEngine, LiveMonitor, RuleSet, Verdict};

/// The version of this ABI: bumped when a function changes incompatibly.
pub const FANZHA_ABI_VERSION: u32 = 1;

/// What a call did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanzhaStatus {
    /// Success.
    FanzhaOk = 0,
    /// A required pointer was NULL.
    FanzhaErrNull = 1,
    /// A text was not valid UTF-8.
    FanzhaErrUtf8 = 2,
    /// Rule files or texts had errors (the error names file, line and column), or a compiled
    /// bundle could not be read (the error says why: not a bundle, another format version,
    /// damaged, truncated).
    FanzhaErrRules = 3,
    /// An event could not be read (not JSON, missing text or amount, bad time).
    FanzhaErrEvent = 4,
    /// An index was out of range.
    FanzhaErrRange = 5,
    /// fanzha failed inside; the call did nothing. Please report it.
    FanzhaErrPanic = 6,
}

use FanzhaStatus::*;

/// How serious a verdict is (as in the output contract).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanzhaLevel {
    /// Nothing to report.
    FanzhaLevelNone = 0,
    /// Worth a look.
    FanzhaLevelNotice = 1,
    /// A scam script: warn the person.
    FanzhaLevelWarn = 2,
    /// A scam script with aggravating signs: stop the transaction.
    FanzhaLevelBlock = 3,
}

/// Compiled rules that can be swapped while in use. Thread-safe.
pub struct FanzhaEngine {
    /// Scans take scratch from the current engine's pool; masking is the live engine's.
    live: Arc<LiveEngine>,
    /// `fanzha_scan_batch_jsonl`'s pipeline, kept so its worker threads serve every call.
    batch: fanzha::Pipeline,
}

/// An engine plus state for streams (windows and sequences). One thread at a time.
pub struct FanzhaMonitor {
    monitor: LiveMonitor,
    /// The engine's masking setting when the monitor was made.
    mask: bool,
}

impl FanzhaMonitor {
    fn observe(&mut self, event: &Event) -> Verdict {
        let mut verdict = self.monitor.observe(event);
        if self.mask {
            verdict.mask_personal_data();
        }
        verdict
    }
}

/// The result of scoring one event, with its texts ready for C.
pub struct FanzhaVerdict {
    verdict: Verdict,
    hits: Vec<HitStrings>,
    advice: Vec<CString>,
    id: Option<CString>,
}

struct HitStrings {
    rule: CString,
    category: CString,
    evidence: Vec<CString>,
    events: Vec<CString>,
}

/// What went wrong, as text.
pub struct FanzhaError {
    message: CString,
}

// ---------------------------------------------------------------- plumbing

/// Runs `f`, turning a panic into `FANZHA_ERR_PANIC` and an `Err` into its status and text.
fn guard(err: *mut *mut FanzhaError, f: impl FnOnce() -> Result<(), (FanzhaStatus, String)>) -> FanzhaStatus {
    let result =
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err((FanzhaErrPanic, "fanzha panicked".into())));
    match result {
        Ok(()) => FanzhaOk,
        Err((status, message)) => {
            if !err.is_null() {
                let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
                // SAFETY: the caller passed a writable `FanzhaError **` or NULL (checked).
                unsafe { *err = Box::into_raw(Box::new(FanzhaError { message })) };
            }
            status
        }
    }
}

/// A text from a pointer and a length, checked for NULL and UTF-8.
unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, (FanzhaStatus, String)> {
    if ptr.is_null() {
        return Err((FanzhaErrNull, "a text pointer is NULL".into()));
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes)
        .map_err(|e| (FanzhaErrUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1)))
}

/// A NUL-terminated text, checked for NULL and UTF-8.
unsafe fn c_text<'a>(ptr: *const c_char) -> Result<&'a str, (FanzhaStatus, String)> {
    if ptr.is_null() {
        return Err((FanzhaErrNull, "a text pointer is NULL".into()));
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str().map_err(|e| (FanzhaErrUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1)))
}

fn rules_error(e: fanzha::Error) -> (FanzhaStatus, String) {
    match e {
        fanzha::Error::Rules(_) | fanzha::Error::Bundle(_) => (FanzhaErrRules, e.to_string()),
        other => (FanzhaErrEvent, other.to_string()),
    }
}

fn out<T>(slot: *mut *mut T, value: T) -> Result<(), (FanzhaStatus, String)> {
    if slot.is_null() {
        return Err((FanzhaErrNull, "the output pointer is NULL".into()));
    }
    // SAFETY: checked non-NULL; the caller passed a writable `T **`.
    unsafe { *slot = Box::into_raw(Box::new(value)) };
    Ok(())
}

fn cstring(s: &str) -> CString {
    // Texts inside fanzha never hold NUL except when an input did; keep the rest of such a text.
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl FanzhaVerdict {
    fn new(verdict: Verdict) -> FanzhaVerdict {
        let hits = verdict
            .hits
            .iter()
            .map(|h| HitStrings {
                rule: cstring(&h.rule),
                category: cstring(&h.category),
                evidence: h.evidence.iter().map(|e| cstring(e)).collect(),
                events: h.events.iter().map(|e| cstring(e)).collect(),
            })
            .collect();
        let advice = verdict.advice.iter().map(|a| cstring(a)).collect();
        let id = verdict.id.as_deref().map(cstring);
        FanzhaVerdict { verdict, hits, advice, id }
    }
}

impl FanzhaEngine {
    fn new(engine: Engine) -> FanzhaEngine {
        let live = Arc::new(LiveEngine::new(engine));
        let options = fanzha::PipelineOptions { stateful: false, ..Default::default() };
        FanzhaEngine { batch: fanzha::Pipeline::new(Arc::clone(&live), options), live }
    }

    fn masks(&self) -> bool {
        self.live.masks_personal_data()
    }
}

fn level(l: fanzha::Level) -> FanzhaLevel {
    match l {
        fanzha::Level::None => FanzhaLevel::FanzhaLevelNone,
        fanzha::Level::Notice => FanzhaLevel::FanzhaLevelNotice,
        fanzha::Level::Warn => FanzhaLevel::FanzhaLevelWarn,
        fanzha::Level::Block => FanzhaLevel::FanzhaLevelBlock,
    }
}

// ---------------------------------------------------------------- versions and errors

/// The ABI version this library implements (`FANZHA_ABI_VERSION`).
#[no_mangle]
pub extern "C" fn fanzha_abi_version() -> u32 {
    FANZHA_ABI_VERSION
}

/// The error's text (file:line:column for rule errors). NULL for a NULL error.
#[no_mangle]
pub unsafe extern "C" fn fanzha_error_message(err: *const FanzhaError) -> *const c_char {
    // SAFETY: NULL or a pointer this library returned.
    unsafe { err.as_ref() }.map_or(ptr::null(), |e| e.message.as_ptr())
}

/// Frees an error. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn fanzha_error_free(err: *mut FanzhaError) {
    if !err.is_null() {
        // SAFETY: a pointer this library returned, freed once.
        drop(unsafe { Box::from_raw(err) });
    }
}

/// Frees a string this library returned (verdict JSON, batch output). NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn fanzha_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: a string this library returned from `CString::into_raw`, freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

// ---------------------------------------------------------------- engines

/// Compiles the bundled rule packs.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_new_bundled(
    out_engine: *mut *mut FanzhaEngine,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || out(out_engine, FanzhaEngine::new(Engine::bundled().map_err(rules_error)?)))
}

/// Compiles a rule file, or every `*.toml` file of a directory (`path` NUL-terminated).
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_from_path(
    path: *const c_char,
    out_engine: *mut *mut FanzhaEngine,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: forwarded caller promise.
        let path = unsafe { c_text(path) }?;
        let rules = RuleSet::from_path(path).map_err(rules_error)?;
        out(out_engine, FanzhaEngine::new(Engine::new(&rules).map_err(rules_error)?))
    })
}

/// Compiles one rule pack from text; `name` (NUL-terminated) is used in error locations.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_from_str(
    name: *const c_char,
    rules: *const c_char,
    rules_len: usize,
    out_engine: *mut *mut FanzhaEngine,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: forwarded caller promises.
        let (name, source) = unsafe { (c_text(name)?, text(rules, rules_len)?) };
        let rules = RuleSet::from_str(name, source).map_err(rules_error)?;
        out(out_engine, FanzhaEngine::new(Engine::new(&rules).map_err(rules_error)?))
    })
}

/// Loads compiled rules from a bundle (`fanzha compile -o rules.fzb`, or `to_bundle` in the
/// Rust crate): `len` bytes at `bytes`, copied, so the buffer may be freed after the call.
/// Loading a bundle skips compiling the rules (milliseconds instead of most of a second for
/// the bundled packs). A bundle is checked before use: one that is not a bundle, was written
/// in another format version, is damaged (checksum), truncated or inconsistent is
/// `FANZHA_ERR_RULES` with a message that says which.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_from_bundle(
    bytes: *const u8,
    len: usize,
    out_engine: *mut *mut FanzhaEngine,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        if bytes.is_null() {
            return Err((FanzhaErrNull, "the bundle pointer is NULL".into()));
        }
        // SAFETY: checked non-NULL; the caller promises `len` readable bytes at `bytes`.
        let bundle = unsafe { std::slice::from_raw_parts(bytes, len) };
        out(out_engine, FanzhaEngine::new(Engine::from_bundle(bundle).map_err(rules_error)?))
    })
}

/// Loads compiled rules from a bundle file (`path` NUL-terminated), as
/// `fanzha_engine_from_bundle`; errors begin with the path.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_from_bundle_path(
    path: *const c_char,
    out_engine: *mut *mut FanzhaEngine,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: forwarded caller promise.
        let path = unsafe { c_text(path) }?;
        out(out_engine, FanzhaEngine::new(Engine::from_bundle_path(path).map_err(rules_error)?))
    })
}

/// Replaces the engine's rules with a pack from text, while other threads may be scanning.
/// On error the running rules stay and the error says why.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_reload_from_str(
    engine: *const FanzhaEngine,
    name: *const c_char,
    rules: *const c_char,
    rules_len: usize,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: NULL or a pointer this library returned.
        let engine = unsafe { engine.as_ref() }.ok_or((FanzhaErrNull, "the engine is NULL".into()))?;
        // SAFETY: forwarded caller promises.
        let (name, source) = unsafe { (c_text(name)?, text(rules, rules_len)?) };
        let rules = RuleSet::from_str(name, source).map_err(rules_error)?;
        engine.live.reload(&rules).map_err(rules_error)
    })
}

/// Replaces the engine's rules with a directory of packs, a pack or a bundle (told by its
/// signature), as `fanzha_engine_reload_from_str`.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_reload_from_path(
    engine: *const FanzhaEngine,
    path: *const c_char,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: NULL or a pointer this library returned.
        let engine = unsafe { engine.as_ref() }.ok_or((FanzhaErrNull, "the engine is NULL".into()))?;
        // SAFETY: forwarded caller promise.
        let path = unsafe { c_text(path) }?;
        engine.live.reload_path(path).map_err(rules_error)
    })
}

/// The version of the rules in use, such as `common@1.0.0+merchant@1.0.0`, as a new string
/// (free it with `fanzha_string_free`). NULL for a NULL engine.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_rules_version(engine: *const FanzhaEngine) -> *mut c_char {
    // SAFETY: NULL or a pointer this library returned.
    let Some(engine) = (unsafe { engine.as_ref() }) else { return ptr::null_mut() };
    catch_unwind(AssertUnwindSafe(|| cstring(engine.live.engine().version()).into_raw()))
        .unwrap_or(ptr::null_mut())
}

/// Masks phone, ID card and bank card numbers in the evidence of this engine's verdicts, all
/// but their last four digits (`on` non-zero), or stops masking (`on` zero). Scans already
/// running keep the setting they started with; monitors take the engine's setting when they
/// are made. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_mask_personal_data(engine: *const FanzhaEngine, on: bool) {
    // SAFETY: NULL or a pointer this library returned.
    if let Some(engine) = unsafe { engine.as_ref() } {
        engine.live.set_mask_personal_data(on);
    }
}

/// Frees an engine. NULL is accepted. No scan may be running on it.
#[no_mangle]
pub unsafe extern "C" fn fanzha_engine_free(engine: *mut FanzhaEngine) {
    if !engine.is_null() {
        // SAFETY: a pointer this library returned, freed once.
        drop(unsafe { Box::from_raw(engine) });
    }
}

// ---------------------------------------------------------------- scanning

/// Scores one chat message's text.
#[no_mangle]
pub unsafe extern "C" fn fanzha_scan_text(
    engine: *const FanzhaEngine,
    text_ptr: *const c_char,
    text_len: usize,
    out_verdict: *mut *mut FanzhaVerdict,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: NULL or a pointer this library returned.
        let engine = unsafe { engine.as_ref() }.ok_or((FanzhaErrNull, "the engine is NULL".into()))?;
        // SAFETY: forwarded caller promise.
        let t = unsafe { text(text_ptr, text_len) }?;
        out(out_verdict, FanzhaVerdict::new(engine.live.scan_text(t)))
    })
}

/// Scores one event given as a JSON object in the input contract (message or transaction).
/// Window and sequence rules need a monitor; this call scores the event on its own.
#[no_mangle]
pub unsafe extern "C" fn fanzha_scan_event_json(
    engine: *const FanzhaEngine,
    json: *const c_char,
    json_len: usize,
    out_verdict: *mut *mut FanzhaVerdict,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: NULL or a pointer this library returned.
        let engine = unsafe { engine.as_ref() }.ok_or((FanzhaErrNull, "the engine is NULL".into()))?;
        // SAFETY: forwarded caller promise.
        let line = unsafe { text(json, json_len) }?;
        let event = Event::from_json(line).map_err(|e| (FanzhaErrEvent, e.to_string()))?;
        out(out_verdict, FanzhaVerdict::new(engine.live.scan(&event)))
    })
}

/// Scores JSON Lines events (one JSON object per line) in parallel and writes one line per
/// input line, in order, to `*out_jsonl` (a verdict, or `{"line":N,"error":"..."}`), as
/// `fanzha scan --stateless` does. Free the output with `fanzha_string_free`.
#[no_mangle]
pub unsafe extern "C" fn fanzha_scan_batch_jsonl(
    engine: *const FanzhaEngine,
    jsonl: *const c_char,
    jsonl_len: usize,
    out_jsonl: *mut *mut c_char,
    out_len: *mut usize,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: NULL or a pointer this library returned.
        let engine = unsafe { engine.as_ref() }.ok_or((FanzhaErrNull, "the engine is NULL".into()))?;
        if out_jsonl.is_null() {
            return Err((FanzhaErrNull, "the output pointer is NULL".into()));
        }
        // SAFETY: forwarded caller promise.
        let input = unsafe { text(jsonl, jsonl_len) }?;
        let mut output = Vec::with_capacity(input.len());
        engine
            .batch
            .run(std::io::Cursor::new(input.as_bytes().to_vec()), &mut output, |_| {})
            .map_err(|e| (FanzhaErrEvent, e.to_string()))?;
        let len = output.len();
        let s = CString::new(output).map_err(|_| (FanzhaErrPanic, "NUL in output".into()))?;
        // SAFETY: both checked or documented as writable.
        unsafe {
            *out_jsonl = s.into_raw();
            if !out_len.is_null() {
                *out_len = len;
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------- monitors

/// A monitor over the engine's rules, with the default limits. It follows the engine's
/// reloads: at its next event it moves to the new rules, keeping the state of the rules that
/// stay, so a script under way is still caught after a reload.
#[no_mangle]
pub unsafe extern "C" fn fanzha_monitor_new(
    engine: *const FanzhaEngine,
    out_monitor: *mut *mut FanzhaMonitor,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: NULL or a pointer this library returned.
        let engine = unsafe { engine.as_ref() }.ok_or((FanzhaErrNull, "the engine is NULL".into()))?;
        let monitor = LiveMonitor::new(&engine.live);
        out(out_monitor, FanzhaMonitor { monitor, mask: engine.masks() })
    })
}

/// Scores the next event of a stream (a JSON object in the input contract), windows and
/// sequences included. Events must come in stream order.
#[no_mangle]
pub unsafe extern "C" fn fanzha_monitor_observe_json(
    monitor: *mut FanzhaMonitor,
    json: *const c_char,
    json_len: usize,
    out_verdict: *mut *mut FanzhaVerdict,
    err: *mut *mut FanzhaError,
) -> FanzhaStatus {
    guard(err, || {
        // SAFETY: NULL or a pointer this library returned, used by one thread at a time.
        let monitor = unsafe { monitor.as_mut() }.ok_or((FanzhaErrNull, "the monitor is NULL".into()))?;
        // SAFETY: forwarded caller promise.
        let line = unsafe { text(json, json_len) }?;
        let event = Event::from_json(line).map_err(|e| (FanzhaErrEvent, e.to_string()))?;
        out(out_verdict, FanzhaVerdict::new(monitor.observe(&event)))
    })
}

/// Frees a monitor. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn fanzha_monitor_free(monitor: *mut FanzhaMonitor) {
    if !monitor.is_null() {
        // SAFETY: a pointer this library returned, freed once.
        drop(unsafe { Box::from_raw(monitor) });
    }
}

// ---------------------------------------------------------------- verdicts

/// Borrows a verdict; NULL stays NULL.
unsafe fn v<'a>(verdict: *const FanzhaVerdict) -> Option<&'a FanzhaVerdict> {
    // SAFETY: NULL or a pointer this library returned.
    unsafe { verdict.as_ref() }
}

/// Borrows hit `i`'s texts; NULL or out of range gives None.
unsafe fn hit<'a>(verdict: *const FanzhaVerdict, i: usize) -> Option<&'a HitStrings> {
    // SAFETY: see `v`.
    unsafe { v(verdict) }.and_then(|x| x.hits.get(i))
}

/// A borrowed C string, or NULL.
fn ptr_of(s: Option<&CString>) -> *const c_char {
    s.map_or(ptr::null(), |s| s.as_ptr())
}

/// The verdict's level (`FANZHA_LEVEL_NONE` for NULL).
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_level(verdict: *const FanzhaVerdict) -> FanzhaLevel {
    // SAFETY: see `v`.
    unsafe { v(verdict) }.map_or(FanzhaLevel::FanzhaLevelNone, |x| level(x.verdict.level))
}

/// The verdict's score (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_score(verdict: *const FanzhaVerdict) -> u32 {
    // SAFETY: see `v`.
    unsafe { v(verdict) }.map_or(0, |x| x.verdict.score)
}

/// Whether a monitor scored the event without state because it came too late (1) or not (0).
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_late(verdict: *const FanzhaVerdict) -> i32 {
    // SAFETY: see `v`.
    unsafe { v(verdict) }.is_some_and(|x| x.verdict.late) as i32
}

/// The event's id, or NULL when it had none.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_id(verdict: *const FanzhaVerdict) -> *const c_char {
    // SAFETY: see `v`.
    ptr_of(unsafe { v(verdict) }.and_then(|x| x.id.as_ref()))
}

/// The number of hits.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_count(verdict: *const FanzhaVerdict) -> usize {
    // SAFETY: see `v`.
    unsafe { v(verdict) }.map_or(0, |x| x.hits.len())
}

/// Hit `i`'s rule id, or NULL when out of range.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_rule(verdict: *const FanzhaVerdict, i: usize) -> *const c_char {
    // SAFETY: see `v`.
    ptr_of(unsafe { hit(verdict, i) }.map(|h| &h.rule))
}

/// Hit `i`'s category, or NULL when out of range.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_category(
    verdict: *const FanzhaVerdict,
    i: usize,
) -> *const c_char {
    // SAFETY: see `v`.
    ptr_of(unsafe { hit(verdict, i) }.map(|h| &h.category))
}

/// Hit `i`'s points, or 0 when out of range.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_score(verdict: *const FanzhaVerdict, i: usize) -> u32 {
    // SAFETY: see `v`.
    unsafe { v(verdict) }.and_then(|x| x.verdict.hits.get(i)).map_or(0, |h| h.score)
}

/// The number of evidence texts (and spans) of hit `i`.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_evidence_count(verdict: *const FanzhaVerdict, i: usize) -> usize {
    // SAFETY: see `v`.
    unsafe { hit(verdict, i) }.map_or(0, |h| h.evidence.len())
}

/// Evidence text `j` of hit `i` (the original text of span `j`), or NULL when out of range.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_evidence(
    verdict: *const FanzhaVerdict,
    i: usize,
    j: usize,
) -> *const c_char {
    // SAFETY: see `v`.
    ptr_of(unsafe { hit(verdict, i) }.and_then(|h| h.evidence.get(j)))
}

/// Span `j` of hit `i`: character offsets `[start, end)` into the original text.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_span(
    verdict: *const FanzhaVerdict,
    i: usize,
    j: usize,
    start: *mut usize,
    end: *mut usize,
) -> FanzhaStatus {
    // SAFETY: see `v`.
    let Some(x) = (unsafe { v(verdict) }) else { return FanzhaErrNull };
    if start.is_null() || end.is_null() {
        return FanzhaErrNull;
    }
    match x.verdict.hits.get(i).and_then(|h| h.spans.get(j)) {
        Some(&[s, e]) => {
            // SAFETY: checked non-NULL, documented as writable.
            unsafe {
                *start = s;
                *end = e;
            }
            FanzhaOk
        }
        None => FanzhaErrRange,
    }
}

/// The number of events that made up hit `i` (window and sequence hits; 0 otherwise).
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_event_count(verdict: *const FanzhaVerdict, i: usize) -> usize {
    // SAFETY: see `v`.
    unsafe { hit(verdict, i) }.map_or(0, |h| h.events.len())
}

/// The id of event `j` of hit `i`, or NULL when out of range.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_hit_event(
    verdict: *const FanzhaVerdict,
    i: usize,
    j: usize,
) -> *const c_char {
    // SAFETY: see `v`.
    ptr_of(unsafe { hit(verdict, i) }.and_then(|h| h.events.get(j)))
}

/// The number of advice texts.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_advice_count(verdict: *const FanzhaVerdict) -> usize {
    // SAFETY: see `v`.
    unsafe { v(verdict) }.map_or(0, |x| x.advice.len())
}

/// Advice text `i`, or NULL when out of range.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_advice(verdict: *const FanzhaVerdict, i: usize) -> *const c_char {
    // SAFETY: see `v`.
    ptr_of(unsafe { v(verdict) }.and_then(|x| x.advice.get(i)))
}

/// The verdict as one line of the output contract, as a new string (free it with
/// `fanzha_string_free`); NULL for a NULL verdict.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_json(verdict: *const FanzhaVerdict) -> *mut c_char {
    // SAFETY: see `v`.
    let Some(x) = (unsafe { v(verdict) }) else { return ptr::null_mut() };
    catch_unwind(AssertUnwindSafe(|| cstring(&x.verdict.to_json()).into_raw())).unwrap_or(ptr::null_mut())
}

/// Frees a verdict. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn fanzha_verdict_free(verdict: *mut FanzhaVerdict) {
    if !verdict.is_null() {
        // SAFETY: a pointer this library returned, freed once.
        drop(unsafe { Box::from_raw(verdict) });
    }
}
