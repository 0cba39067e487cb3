//! `c_json`: the C API's JSON entry points on any bytes, as a C caller would use them.
//!
//! The input (pointer and length: not NUL-terminated, not necessarily UTF-8) goes whole
//! through `fanzha_scan_event_json` and `fanzha_scan_batch_jsonl`, and line by line through
//! one monitor with `fanzha_monitor_observe_json`. Every call keeps the header's contract: it
//! never reports a panic; on success the out-pointer is set and `*err` untouched, on failure
//! the out-pointer is untouched and `*err` holds a message; invalid UTF-8 is
//! `FANZHA_ERR_UTF8`; an event reads exactly when [`fanzha::Event::from_json`] reads it; the
//! verdict's accessors agree with its JSON; the batch output has one line per input line.
//! Everything returned is freed, so a leak shows under the sanitizers' leak check.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr;
use std::sync::OnceLock;

use fanzha_c::*;

struct Shared(*mut FanzhaEngine);
// SAFETY: the header says a FanzhaEngine may be used from any number of threads at once.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn engine() -> *const FanzhaEngine {
    static ENGINE: OnceLock<Shared> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut e = ptr::null_mut();
            // SAFETY: valid out-pointer; NULL err is allowed.
            let status = unsafe { fanzha_engine_new_bundled(&mut e, ptr::null_mut()) };
            assert_eq!(status, FanzhaStatus::FanzhaOk);
            Shared(e)
        })
        .0
}

pub fn run(data: &[u8]) {
    let text = std::str::from_utf8(data).ok();
    // Copy into an allocation of exactly `len` bytes: a read past the end shows under ASan.
    let input: Box<[u8]> = data.into();
    let (ptr, len) = (input.as_ptr().cast::<c_char>(), input.len());

    // One event.
    let expect_ok = text.is_some_and(|t| fanzha::Event::from_json(t).is_ok());
    let mut verdict = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: `len` readable bytes at `ptr`; valid out-pointers.
    let status = unsafe { fanzha_scan_event_json(engine(), ptr, len, &mut verdict, &mut err) };
    check_status(status, err, text.is_some(), expect_ok);
    if status == FanzhaStatus::FanzhaOk {
        // SAFETY: a verdict this library returned.
        unsafe { check_verdict(verdict) };
    }
    assert!(status == FanzhaStatus::FanzhaOk || verdict.is_null(), "a failed scan set its verdict");
    // SAFETY: NULL or returned by this library, freed once.
    unsafe {
        fanzha_verdict_free(verdict);
        fanzha_error_free(err);
    }
    // The same call without an error slot.
    let mut verdict = ptr::null_mut();
    // SAFETY: as above; NULL err is allowed.
    let again = unsafe { fanzha_scan_event_json(engine(), ptr, len, &mut verdict, ptr::null_mut()) };
    assert_eq!(again, status, "the status depends on the error slot");
    // SAFETY: NULL or returned by this library.
    unsafe { fanzha_verdict_free(verdict) };

    // A batch of JSON Lines.
    let mut out: *mut c_char = ptr::null_mut();
    let mut out_len = usize::MAX;
    let mut err = ptr::null_mut();
    // SAFETY: as above.
    let status = unsafe { fanzha_scan_batch_jsonl(engine(), ptr, len, &mut out, &mut out_len, &mut err) };
    check_status(status, err, text.is_some(), text.is_some());
    if status == FanzhaStatus::FanzhaOk {
        assert!(!out.is_null(), "a batch succeeded without output");
        // SAFETY: a NUL-terminated string this library returned.
        let s = unsafe { CStr::from_ptr(out) }.to_str().expect("the batch output is UTF-8");
        assert_eq!(s.len(), out_len, "out_len is not the output's length");
        let lines = data.split_inclusive(|&b| b == b'\n').count();
        assert_eq!(s.split_terminator('\n').count(), lines, "one output line per input line: {s:?}");
        for (i, l) in s.split_terminator('\n').enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).expect("each output line is JSON");
            assert!(v["level"].is_string() || v["line"] == i + 1, "output line {} is neither: {l}", i + 1);
        }
    } else {
        assert!(out.is_null() && out_len == usize::MAX, "a failed batch set its output");
    }
    // SAFETY: NULL or returned by this library, freed once.
    unsafe {
        fanzha_string_free(out);
        fanzha_error_free(err);
    }

    // A stream, line by line, through a monitor.
    let mut monitor = ptr::null_mut();
    // SAFETY: valid out-pointer.
    let status = unsafe { fanzha_monitor_new(engine(), &mut monitor, ptr::null_mut()) };
    assert_eq!(status, FanzhaStatus::FanzhaOk);
    for line in data.split(|&b| b == b'\n').take(16) {
        let line_text = std::str::from_utf8(line).ok();
        let expect_ok = line_text.is_some_and(|t| fanzha::Event::from_json(t).is_ok());
        let owned: Box<[u8]> = line.into();
        let mut verdict = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: `owned.len()` readable bytes; valid out-pointers; the monitor is ours.
        let status = unsafe {
            fanzha_monitor_observe_json(monitor, owned.as_ptr().cast(), owned.len(), &mut verdict, &mut err)
        };
        check_status(status, err, line_text.is_some(), expect_ok);
        if status == FanzhaStatus::FanzhaOk {
            // SAFETY: a verdict this library returned.
            unsafe { check_verdict(verdict) };
        } else {
            assert!(verdict.is_null(), "a failed observe set its verdict");
        }
        // SAFETY: NULL or returned by this library, freed once.
        unsafe {
            fanzha_verdict_free(verdict);
            fanzha_error_free(err);
        }
    }
    // SAFETY: returned by this library, freed once.
    unsafe { fanzha_monitor_free(monitor) };
}

/// The status and error slot of a call whose input was (or not) UTF-8 and should (or not)
/// succeed.
fn check_status(status: FanzhaStatus, err: *mut FanzhaError, utf8: bool, ok: bool) {
    assert_ne!(status, FanzhaStatus::FanzhaErrPanic, "fanzha panicked inside a C call");
    if !utf8 {
        assert_eq!(status, FanzhaStatus::FanzhaErrUtf8, "bytes that are not UTF-8");
    } else if ok {
        assert_eq!(status, FanzhaStatus::FanzhaOk, "an event that reads in Rust failed in C");
    } else {
        assert_eq!(status, FanzhaStatus::FanzhaErrEvent, "an event that does not read in Rust");
    }
    if status == FanzhaStatus::FanzhaOk {
        assert!(err.is_null(), "a success set the error");
    } else {
        assert!(!err.is_null(), "a failure without an error");
        // SAFETY: an error this library returned.
        let m = unsafe { fanzha_error_message(err) };
        assert!(!m.is_null(), "an error without a message");
        // SAFETY: a NUL-terminated string borrowed from the error.
        let m = unsafe { CStr::from_ptr(m) }.to_str().expect("the message is UTF-8");
        assert!(!m.is_empty(), "an empty error message");
    }
}

/// The accessors agree with the verdict's JSON, and out-of-range indices give NULL or 0.
unsafe fn check_verdict(v: *const FanzhaVerdict) {
    assert!(!v.is_null(), "a success without a verdict");
    // SAFETY (for the whole function): `v` is a verdict this library returned.
    unsafe {
        let json = fanzha_verdict_json(v);
        assert!(!json.is_null());
        let value: serde_json::Value =
            serde_json::from_str(CStr::from_ptr(json).to_str().expect("UTF-8")).expect("the verdict is JSON");
        fanzha_string_free(json);
        let levels = ["none", "notice", "warn", "block"];
        assert_eq!(value["level"], levels[fanzha_verdict_level(v) as usize]);
        assert_eq!(value["score"], fanzha_verdict_score(v));
        let n = fanzha_verdict_hit_count(v);
        let hits = value["hits"].as_array().expect("hits");
        assert_eq!(n, hits.len());
        let id = fanzha_verdict_id(v);
        assert_eq!(id.is_null(), value["id"].is_null(), "id");
        for (i, hit) in hits.iter().enumerate() {
            let rule = fanzha_verdict_hit_rule(v, i);
            assert!(!rule.is_null());
            assert_eq!(hit["rule"], CStr::from_ptr(rule).to_str().unwrap());
            assert!(!fanzha_verdict_hit_category(v, i).is_null());
            assert_eq!(hit["score"], fanzha_verdict_hit_score(v, i));
            let ne = fanzha_verdict_hit_evidence_count(v, i);
            assert_eq!(ne, hit["spans"].as_array().map_or(0, |s| s.len()));
            for j in 0..ne {
                assert!(!fanzha_verdict_hit_evidence(v, i, j).is_null());
                let (mut s, mut e) = (0, 0);
                assert_eq!(fanzha_verdict_hit_span(v, i, j, &mut s, &mut e), FanzhaStatus::FanzhaOk);
                assert_eq!(hit["spans"][j], serde_json::json!([s, e]));
            }
            assert!(fanzha_verdict_hit_evidence(v, i, ne).is_null());
            let (mut s, mut e) = (0, 0);
            assert_eq!(fanzha_verdict_hit_span(v, i, ne, &mut s, &mut e), FanzhaStatus::FanzhaErrRange);
            let nev = fanzha_verdict_hit_event_count(v, i);
            for j in 0..nev {
                assert!(!fanzha_verdict_hit_event(v, i, j).is_null());
            }
            assert!(fanzha_verdict_hit_event(v, i, nev).is_null());
        }
        assert!(fanzha_verdict_hit_rule(v, n).is_null());
        assert!(fanzha_verdict_hit_category(v, n).is_null());
        assert_eq!(fanzha_verdict_hit_score(v, n), 0);
        let na = fanzha_verdict_advice_count(v);
        assert_eq!(na, value["advice"].as_array().map_or(0, |a| a.len()));
        for i in 0..na {
            assert!(!fanzha_verdict_advice(v, i).is_null());
        }
        assert!(fanzha_verdict_advice(v, na).is_null());
    }
}
