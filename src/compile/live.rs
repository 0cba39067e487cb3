//! Rule sets swapped while events flow.
//!
//! A [`LiveEngine`] holds the current [`Engine`] behind an atomic pointer (`arc-swap`):
//! readers take a snapshot without locking, and [`LiveEngine::reload`] compiles the new rule
//! set *before* swapping, so a set that fails to compile is rejected and the old one keeps
//! running. A [`LiveScanner`] takes one snapshot per event, so every event is scored exactly
//! once, by exactly one rule-set version, which it reports.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::Engine;
use crate::error::Error;
use crate::event::Event;
use crate::rules::RuleSet;
use crate::scan::Scanner;
use crate::verdict::Verdict;

/// An engine that can be replaced at run time. `Send + Sync`; share it by `Arc`.
///
/// ```
/// use fanzha::{Engine, LiveEngine, RuleSet};
///
/// let live = LiveEngine::new(Engine::bundled()?);
/// let mut scanner = live.scanner();
/// let (verdict, before) = scanner.scan_text("老板先出票，钱等下转你");
/// assert!(!verdict.hits.is_empty());
///
/// // A rule set with an error is rejected; the bundled packs keep running.
/// let bad = "[pack]\nid = \"x\"\nversion = \"2\"\n[[rule]]\nid = \"x.r\"\n";
/// assert!(RuleSet::from_str("bad.toml", bad).and_then(|r| live.reload(&r)).is_err());
/// assert_eq!(scanner.scan_text("老板先出票，钱等下转你").1, before);
///
/// // A valid one is swapped in for the next event.
/// live.reload(&RuleSet::from_str("empty.toml", "[pack]\nid = \"x\"\nversion = \"2\"\n")?)?;
/// let (verdict, after) = scanner.scan_text("老板先出票，钱等下转你");
/// assert_eq!(&*after, "x@2");
/// assert!(verdict.hits.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LiveEngine {
    current: ArcSwap<Engine>,
}

impl LiveEngine {
    /// Starts with `engine`.
    pub fn new(engine: Engine) -> LiveEngine {
        LiveEngine { current: ArcSwap::from_pointee(engine) }
    }

    /// The engine in use now. Scanning with this snapshot is unaffected by later reloads.
    pub fn engine(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// Compiles `rules` and, only if that succeeds, makes it the engine for events scanned
    /// from now on. On error the old engine stays in place and the diagnostics are returned.
    pub fn reload(&self, rules: &RuleSet) -> Result<(), Error> {
        let engine = Engine::new(rules)?;
        self.swap(engine);
        Ok(())
    }

    /// Makes `engine` the engine for events scanned from now on.
    pub fn swap(&self, engine: Engine) {
        self.current.store(Arc::new(engine));
    }

    /// A scanner that follows reloads.
    pub fn scanner(&self) -> LiveScanner<'_> {
        let engine = self.engine();
        LiveScanner { live: self, scanner: engine.scanner(), engine }
    }
}

/// Per-thread scratch space that follows a [`LiveEngine`]: each scan uses the engine current
/// when it starts and returns that engine's rule-set version with the verdict.
#[derive(Debug)]
pub struct LiveScanner<'a> {
    live: &'a LiveEngine,
    engine: Arc<Engine>,
    scanner: Scanner,
}

impl LiveScanner<'_> {
    fn refresh(&mut self) {
        let now = self.live.current.load();
        if !Arc::ptr_eq(&now, &self.engine) {
            self.engine = Arc::clone(&now);
            self.scanner = self.engine.scanner();
        }
    }

    /// Scans a text; returns the verdict and the version of the rule set that scored it.
    pub fn scan_text(&mut self, text: &str) -> (Verdict, Arc<str>) {
        self.refresh();
        (self.scanner.scan_text(text), self.engine.inner.version.clone())
    }

    /// Scans an event; returns the verdict and the version of the rule set that scored it.
    pub fn scan(&mut self, event: &Event) -> (Verdict, Arc<str>) {
        self.refresh();
        (self.scanner.scan(event), self.engine.inner.version.clone())
    }
}
