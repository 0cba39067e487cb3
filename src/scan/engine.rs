//! The [`Engine`]: compiled rules plus the pool of scratch space that scanning with them
//! reuses.
//!
//! Scanning needs per-thread scratch sized by the rules (about a megabyte for the bundled
//! packs), and setting it up costs more than scanning a short message. Every caller that scans
//! — [`Engine::scan`], [`Engine::scan_batch`], a [`Scanner`], the monitor, the pipeline and the
//! bindings — takes scratch from one pool per engine and gives it back when done, so a bot that
//! calls `engine.scan(message)` once per message pays for the scan, not the set-up. The pool
//! belongs to the engine, so a reload that swaps in a new engine retires the old scratch with
//! it.

use std::sync::{Arc, Mutex};

use super::{Scanner, Scratch};
use crate::compile::{Compiled, Stats};
use crate::error::Error;
use crate::event::Event;
use crate::limits::Limits;
use crate::rules::{Levels, RuleSet};
use crate::verdict::Verdict;

/// The bundled packs compiled (`fanzha compile -o rules/bundled.fzb`), aligned so that the
/// arrays of words in it are used in place (see `compile/bundle/words.rs`).
static BUNDLE: &Aligned<[u8]> = &Aligned(*include_bytes!("../../rules/bundled.fzb"));

/// Bytes aligned to 16: `include_bytes!` alone promises no alignment.
#[repr(C, align(16))]
struct Aligned<B: ?Sized>(B);

/// Compiled rules, ready to scan. Immutable, `Send + Sync`, and cheap to clone.
///
/// [`Engine::scan`] and [`Engine::scan_text`] borrow scratch space from the engine's pool for
/// the call; a thread that scans many events can hold a [`Scanner`] instead
/// ([`Engine::scanner`]), which keeps its scratch until dropped.
///
/// ```
/// let engine = fanzha::Engine::bundled()?;
/// let verdict = engine.scan_text("老板，我是做工程的，先帮我出五万的票，钱马上转你");
/// assert!(verdict.level >= fanzha::Level::Warn);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Compiled>,
    pool: Arc<Pool>,
}

/// Scratch space returned by scanners, kept for the next one.
#[derive(Debug, Default)]
pub(super) struct Pool {
    spare: Mutex<Vec<Scratch>>,
}

impl Pool {
    /// Keeps at most this many idle scratches per thread the machine has: enough for every
    /// worker of a pool plus callers on other threads, without keeping the peak forever.
    const PER_THREAD: usize = 2;

    fn take(&self) -> Option<Scratch> {
        self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn give(&self, scratch: Scratch) {
        // Asked once: on Linux the answer reads cgroup files, which costs more than a scan.
        static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let threads = *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(4, |n| n.get()));
        let most = threads * Self::PER_THREAD;
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < most {
            spare.push(scratch);
        }
    }

    /// Idle scratches held now.
    #[cfg(test)]
    pub(super) fn idle(&self) -> usize {
        self.spare.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Engine {
    /// Compiles a rule set.
    pub fn new(rules: &RuleSet) -> Result<Engine, Error> {
        Ok(Engine { inner: Arc::new(Compiled::new(rules)?), pool: Arc::default() })
    }

    /// The engine for the bundled packs, loaded from their bundle compiled into the crate
    /// (`rules/bundled.fzb`) in a few milliseconds. Loaded once per process; later calls
    /// return the same engine.
    ///
    /// Should that bundle not match the packs it sits beside (a pack edited without
    /// `fanzha compile` run again, which the test suite reports), the packs are compiled from
    /// their TOML instead: slower, never wrong.
    pub fn bundled() -> Result<Engine, Error> {
        static BUNDLED: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
        if let Some(e) = BUNDLED.get() {
            return Ok(e.clone());
        }
        let engine = Engine::bundled_with_limits(&Limits::default())?;
        Ok(BUNDLED.get_or_init(|| engine).clone())
    }

    /// The engine for the bundled packs under other limits (see
    /// [`Engine::from_bundle_with_limits`]); loaded anew on every call.
    pub fn bundled_with_limits(limits: &Limits) -> Result<Engine, Error> {
        match Compiled::from_static_bundle(&BUNDLE.0, limits) {
            Ok(c) if c.sources_digest() == RuleSet::bundled_digest() => {
                Ok(Engine { inner: Arc::new(c), pool: Arc::default() })
            }
            _ => Engine::new(&RuleSet::builder().limits(*limits).add_bundled().build()?),
        }
    }

    /// Loads an engine from a bundle written by [`Engine::to_bundle`] or `fanzha compile`:
    /// no TOML to parse, no spellings to expand, only the regexes compiled again. Its verdicts
    /// are those of the engine it was written from.
    ///
    /// The bundle is not trusted: one that is not a bundle, was written in another format
    /// version, is damaged or truncated, or whose contents do not hold together is an
    /// [`Error::Bundle`] saying which. What it may cost is bounded by the default [`Limits`];
    /// see [`Engine::from_bundle_with_limits`].
    ///
    /// ```
    /// let rules = fanzha::RuleSet::from_str("p.toml", r#"
    /// [pack]
    /// id = "p"
    /// version = "1"
    /// [[rule]]
    /// id = "p.print-first"
    /// title = "Print before paying"
    /// category = "fake_large_order"
    /// points = 70
    /// when = { any = ["先出票"] }
    /// "#)?;
    /// let bundle = fanzha::Engine::new(&rules)?.to_bundle();
    ///
    /// let engine = fanzha::Engine::from_bundle(&bundle)?;
    /// assert_eq!(engine.scan_text("老板先出票").level, fanzha::Level::Warn);
    /// assert_eq!(engine.version(), "p@1");
    ///
    /// let mut damaged = bundle.clone();
    /// damaged[100] ^= 1;
    /// assert!(fanzha::Engine::from_bundle(&damaged).unwrap_err().to_string().contains("checksum"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_bundle(bundle: &[u8]) -> Result<Engine, Error> {
        Engine::from_bundle_with_limits(bundle, &Limits::default())
    }

    /// Loads an engine from a bundle whose rules may cost up to `limits` (the bundle's own
    /// limits, recorded when it was compiled, may not exceed these), scanning messages under
    /// `limits`' message limits.
    pub fn from_bundle_with_limits(bundle: &[u8], limits: &Limits) -> Result<Engine, Error> {
        Ok(Engine { inner: Arc::new(Compiled::from_bundle(bundle, limits)?), pool: Arc::default() })
    }

    /// Loads an engine from a bundle file; errors name the file.
    pub fn from_bundle_path(path: impl AsRef<std::path::Path>) -> Result<Engine, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::Bundle(format!("{}: {e}", path.display())))?;
        Engine::from_bundle(&bytes).map_err(|e| Error::Bundle(format!("{}: {e}", path.display())))
    }

    /// The bundle of this engine: everything [`Engine::from_bundle`] needs to load the same
    /// engine without the rule files.
    pub fn to_bundle(&self) -> Vec<u8> {
        self.inner.to_bundle()
    }

    /// The limits the rules were loaded under (see [`RuleSet::limits`]).
    pub fn limits(&self) -> Limits {
        *self.inner.limits()
    }

    /// Figures about this engine.
    pub fn stats(&self) -> &Stats {
        self.inner.stats()
    }

    /// The rule-set version this engine was compiled from.
    pub fn version(&self) -> &str {
        self.inner.version()
    }

    /// Score thresholds.
    pub fn levels(&self) -> Levels {
        self.inner.levels()
    }

    /// A scanner: scratch space for scanning with this engine on one thread, taken from the
    /// engine's pool and given back when the scanner is dropped.
    pub fn scanner(&self) -> Scanner {
        let scratch = self.pool.take().unwrap_or_else(|| Scratch::new(&self.inner));
        Scanner::with_scratch(self.clone(), scratch)
    }

    /// Scans one text with scratch from the engine's pool.
    pub fn scan_text(&self, text: &str) -> Verdict {
        self.scanner().scan_text(text)
    }

    /// Scans one event with scratch from the engine's pool. Window and sequence rules need
    /// the events around this one: a [`Monitor`](crate::Monitor) scores them; scanning one
    /// event never reports them.
    pub fn scan(&self, event: &Event) -> Verdict {
        self.scanner().scan(event)
    }

    /// Scans a batch of events on the rayon thread pool and returns their verdicts in input
    /// order. Scoring here is stateless, so the verdicts are the same for any number of
    /// threads.
    ///
    /// ```
    /// let engine = fanzha::Engine::bundled()?;
    /// let events: Vec<fanzha::Event> =
    ///     ["老板先出票，钱等下转你", "来两份酸辣粉"].into_iter().map(fanzha::Event::message).collect();
    /// let verdicts = engine.scan_batch(&events);
    /// assert!(verdicts[0].level >= fanzha::Level::Warn);
    /// assert_eq!(verdicts[1].level, fanzha::Level::None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_batch(&self, events: &[Event]) -> Vec<Verdict> {
        use rayon::prelude::*;
        // Runs of at least this many events per split, so taking a scanner is paid once per
        // run rather than per event.
        const MIN_RUN: usize = 256;
        events.par_iter().with_min_len(MIN_RUN).map_init(|| self.scanner(), |s, e| s.scan(e)).collect()
    }

    /// Whether `other` is this very engine (a clone of it), not merely the same rules.
    pub fn same(&self, other: &Engine) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Gives scratch back to the pool (a scanner being dropped).
    pub(super) fn give_back(&self, scratch: Scratch) {
        self.pool.give(scratch);
    }

    /// Idle scratches in the pool.
    #[cfg(test)]
    pub(super) fn idle(&self) -> usize {
        self.pool.idle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::regex_gate;

    fn engine(rules: &str) -> Engine {
        let src = format!("[pack]\nid = \"t\"\nversion = \"1\"\npinyin = false\n{rules}");
        Engine::new(&RuleSet::from_str("t.toml", &src).unwrap()).unwrap()
    }

    #[test]
    fn literals_are_shared_between_rules_and_triggers_index_them() {
        let e = engine(
            "[[rule]]\nid = \"t.a\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"先出票\", \"转账\"] }\n\
             [[rule]]\nid = \"t.b\"\ntitle = \"b\"\ncategory = \"c\"\npoints = 1\nwhen = { all = [\"先出票\", \"截图\"] }\n",
        );
        let s = e.stats();
        assert_eq!((s.rules, s.literals, s.regexes, s.always_evaluated), (2, 3, 0, 0));
        // 先出票 triggers both rules; 转账 triggers t.a, whose `any` may hold without 先出票;
        // 截图 triggers nothing, as t.b needs 先出票 too and the longer literal is the rarer.
        let inner = &e.inner;
        assert_eq!(inner.literal_count(), 3);
        let rules_of = |a: usize| inner.triggered_by(a).len();
        // Literal ids follow first use: 先出票 0, 转账 1, 截图 2.
        assert_eq!((rules_of(0), rules_of(1), rules_of(2)), (2, 1, 0));
        let mut s = e.scanner();
        assert_eq!(s.scan_text("先出票，截图给你").hits.len(), 2);
        assert_eq!(s.scan_text("截图给你").hits.len(), 0);
    }

    #[test]
    fn rules_without_a_required_literal_are_always_evaluated() {
        let e = engine(
            "[[rule]]\nid = \"t.amount\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 1\nwhen = { amount = { ge = 5000 } }\n\
             [[rule]]\nid = \"t.regex\"\ntitle = \"r\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"/\\\\d{11}/\"] }\n\
             [[rule]]\nid = \"t.either\"\ntitle = \"e\"\ncategory = \"e\"\npoints = 1\nwhen = { any_of = [{ any = [\"x票\"] }, { amount = { ge = 1 } }] }\n\
             [[rule]]\nid = \"t.lit\"\ntitle = \"l\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"x票\"], amount = { ge = 1 } }\n",
        );
        assert_eq!(e.stats().always_evaluated, 3);
        let v = e.scan_text("打给13800138000共五千元");
        let rules: Vec<&str> = v.hits.iter().map(|h| &*h.rule).collect();
        assert_eq!(rules, ["t.amount", "t.either", "t.regex"]);
    }

    #[test]
    fn regexes_with_literal_prefixes_are_gated() {
        let e = engine(
            "[[rule]]\nid = \"t.gated\"\ntitle = \"g\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"/(转|汇)[两二三0-9]+万?/\"] }\n",
        );
        assert_eq!(e.stats().always_evaluated, 0);
        let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let g = regex_gate("(转|汇)[两二三0-9]+");
        assert_eq!((&g.arm, &g.anchor), (&strings(&["汇", "转"]), &strings(&["汇", "转"])));
        assert_eq!(regex_gate("\\d{11}").arm, None);
        assert_eq!(regex_gate("a*b").arm, strings(&["a", "b"]));
        // A suffix arms better than a digit: `万` is rare, digits are everywhere; the digits
        // still say where to run it.
        let g = regex_gate("[0-9]+(\\.[0-9]+)?万");
        let wan = g.arm.unwrap();
        assert!(wan.len() == 10 && wan.iter().all(|l| l.ends_with('万')), "{wan:?}");
        assert_eq!(g.anchor.map(|a| a.len()), Some(10));
        assert_eq!(g.min_len, 4);
        assert_eq!(regex_gate("1[3-9][0-9]{9}").arm.map(|a| a.len()), Some(7));
        let mut s = engine(
            "[[rule]]\nid = \"t.wan\"\ntitle = \"w\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"/[0-9]+万/\"] }\n",
        )
        .scanner();
        assert_eq!(s.scan_text("转12万给你").hits[0].evidence, ["12万"]);
        assert_eq!(s.scan_text("转12块给你").hits.len(), 0);
        let mut s = e.scanner();
        assert_eq!(s.scan_text("先转2万").hits.len(), 1);
        assert_eq!(s.scan_text("先转帐").hits.len(), 0);
        assert_eq!(s.scan_text("汇三万过去").hits[0].evidence, ["汇三万"]);
        assert_eq!(s.scan_text("两万").hits.len(), 0);
    }

    #[test]
    fn scratch_goes_back_to_the_pool_and_is_reused() {
        let e = engine("[[rule]]\nid = \"t.a\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 70\nwhen = { any = [\"先出票\"] }\n");
        assert_eq!(e.idle(), 0);
        for _ in 0..100 {
            assert_eq!(e.scan_text("老板先出票").score, 70);
            assert_eq!(e.scan_text("来两份酸辣粉").score, 0);
        }
        // One call at a time needs one scratch, made once and given back each time.
        assert_eq!(e.idle(), 1);
        let (a, b) = (e.scanner(), e.scanner());
        assert_eq!(e.idle(), 0);
        drop((a, b));
        assert_eq!(e.idle(), 2);
        // A clone shares the pool; another engine of the same rules does not.
        assert_eq!(e.clone().idle(), 2);
        let other = engine("[[rule]]\nid = \"t.a\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 70\nwhen = { any = [\"先出票\"] }\n");
        assert!(!other.same(&e) && e.clone().same(&e));
        assert_eq!(other.idle(), 0);
    }

    #[test]
    fn a_scratch_reused_after_a_long_message_scans_short_ones_the_same() {
        let e = Engine::bundled().unwrap();
        let texts = ["老板先出票，钱等下转你", "来两份酸辣粉", "先帮我出五万的票，截图给你看"];
        let fresh: Vec<Verdict> = texts
            .iter()
            .map(|_| Scratch::new(&e.inner))
            .zip(texts)
            .map(|(s, t)| Scanner::with_scratch(e.clone(), s).scan_text(t))
            .collect();
        e.scan_text(&"出票截图转账".repeat(2000));
        let pooled: Vec<Verdict> = texts.iter().map(|t| e.scan_text(t)).collect();
        assert_eq!(fresh, pooled);
    }
}
