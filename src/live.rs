//! Rule sets swapped while events flow.
//!
//! A [`LiveEngine`] holds the current [`Engine`] behind an atomic pointer (`arc-swap`):
//! readers take a snapshot without locking, and [`LiveEngine::reload`] compiles the new rule
//! set *before* swapping, so a set that fails to compile is rejected and the old one keeps
//! running. A [`LiveScanner`] takes one snapshot per event, so every event is scored exactly
//! once, by exactly one rule-set version, which it reports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::error::Error;
use crate::event::Event;
use crate::rules::RuleSet;
use crate::scan::{Engine, Scanner};
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
    /// Shared with every [`LiveScanner`], so a scanner owns what it follows and can be kept
    /// by a binding or moved to another thread without borrowing the `LiveEngine`.
    current: Arc<ArcSwap<Engine>>,
    /// Mask personal numbers in the evidence of verdicts this engine returns.
    mask: AtomicBool,
}

impl LiveEngine {
    /// Starts with `engine`.
    pub fn new(engine: Engine) -> LiveEngine {
        LiveEngine { current: Arc::new(ArcSwap::from_pointee(engine)), mask: AtomicBool::new(false) }
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

    /// Reloads from a path: a directory of packs, one pack, or a bundle (`fanzha compile`,
    /// told by its signature, not its name). As [`LiveEngine::reload`], the running engine
    /// stays unless the new one loads.
    pub fn reload_path(&self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let engine = if crate::compile::BundleInfo::is_bundle_file(path) {
            Engine::from_bundle_path(path)?
        } else {
            Engine::new(&RuleSet::from_path(path)?)?
        };
        self.swap(engine);
        Ok(())
    }

    /// Makes `engine` the engine for events scanned from now on.
    pub fn swap(&self, engine: Engine) {
        self.current.store(Arc::new(engine));
    }

    /// The slot of the current engine, for what follows reloads (`monitor::LiveMonitor`).
    pub(crate) fn slot(&self) -> Arc<ArcSwap<Engine>> {
        Arc::clone(&self.current)
    }

    /// Masks phone, ID card and bank card numbers in the evidence of the verdicts that
    /// [`LiveEngine::scan`], [`scan_batch`](LiveEngine::scan_batch) and
    /// [`merge`](LiveEngine::merge) return from now on, all but their last four digits
    /// ([`Verdict::mask_personal_data`]); `false` stops masking. A bot turns it on where
    /// verdicts are shown or logged outside the shop's own device.
    pub fn set_mask_personal_data(&self, on: bool) {
        self.mask.store(on, Ordering::Relaxed);
    }

    /// Whether personal numbers in evidence are masked.
    pub fn masks_personal_data(&self) -> bool {
        self.mask.load(Ordering::Relaxed)
    }

    pub(crate) fn masked(&self, mut verdict: Verdict) -> Verdict {
        if self.masks_personal_data() {
            verdict.mask_personal_data();
        }
        verdict
    }

    /// Scans one event with the current engine and scratch from its pool: the call a bot
    /// makes per message. Masked if asked.
    pub fn scan(&self, event: &Event) -> Verdict {
        self.masked(self.current.load().scan(event))
    }

    /// Scans one text, as [`LiveEngine::scan`] does an event.
    pub fn scan_text(&self, text: &str) -> Verdict {
        self.masked(self.current.load().scan_text(text))
    }

    /// Scans a batch with the current engine ([`Engine::scan_batch`]). Masked if asked.
    pub fn scan_batch(&self, events: &[Event]) -> Vec<Verdict> {
        let verdicts = self.current.load().scan_batch(events);
        verdicts.into_iter().map(|v| self.masked(v)).collect()
    }

    /// A scanner that follows reloads. It owns a handle to this engine's current slot, so it
    /// has no lifetime and may outlive the `LiveEngine`.
    pub fn scanner(&self) -> LiveScanner {
        let engine = self.engine();
        LiveScanner { current: Arc::clone(&self.current), scanner: engine.scanner(), engine }
    }
}

/// Per-thread scratch space that follows a [`LiveEngine`]: each scan uses the engine current
/// when it starts and returns that engine's rule-set version with the verdict.
#[derive(Debug)]
pub struct LiveScanner {
    current: Arc<ArcSwap<Engine>>,
    engine: Arc<Engine>,
    scanner: Scanner,
}

impl LiveScanner {
    fn refresh(&mut self) {
        let now = self.current.load();
        if !Arc::ptr_eq(&now, &self.engine) {
            self.engine = Arc::clone(&now);
            self.scanner = self.engine.scanner();
        }
    }

    /// Scans a text; returns the verdict and the version of the rule set that scored it.
    pub fn scan_text(&mut self, text: &str) -> (Verdict, Arc<str>) {
        self.refresh();
        (self.scanner.scan_text(text), self.engine.inner.version().clone())
    }

    /// Scans an event; returns the verdict and the version of the rule set that scored it.
    pub fn scan(&mut self, event: &Event) -> (Verdict, Arc<str>) {
        self.refresh();
        (self.scanner.scan(event), self.engine.inner.version().clone())
    }
}
