//! A monitor that follows a [`LiveEngine`]'s reloads.
//!
//! A [`Monitor`] keeps the engine it was made with. A bot that reloads its rules (a command
//! in the group, a file watcher) and made new monitors would forget every script under way;
//! a [`LiveMonitor`] instead moves its state to the new engine before the next event, as
//! [`Monitor::set_engine`] does for the rules that stay (same id, same definition), the way
//! `fanzha scan --watch` does between batches.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{Monitor, MonitorConfig};
use crate::event::Event;
use crate::live::LiveEngine;
use crate::scan::Engine;
use crate::verdict::Verdict;

/// A [`Monitor`] over whatever engine its [`LiveEngine`] holds at each event.
///
/// ```
/// use fanzha::{Engine, Event, LiveEngine, LiveMonitor, RuleSet};
///
/// let live = LiveEngine::new(Engine::bundled()?);
/// let mut monitor = LiveMonitor::new(&live);
/// monitor.observe(&Event::message("老板先出票，钱等下转你"));
/// let pack = "[pack]\nid = \"x\"\nversion = \"2\"\n";
/// live.reload(&RuleSet::from_str("x.toml", pack)?)?;
/// monitor.observe(&Event::message("来两份酸辣粉"));
/// assert_eq!(monitor.monitor().engine().version(), "x@2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LiveMonitor {
    slot: Arc<ArcSwap<Engine>>,
    /// The engine the monitor has now.
    seen: Arc<Engine>,
    monitor: Monitor,
}

impl LiveMonitor {
    /// A monitor with the default configuration over `live`'s engines.
    pub fn new(live: &LiveEngine) -> LiveMonitor {
        LiveMonitor::with_config(live, MonitorConfig::default())
    }

    /// A monitor with `config` over `live`'s engines.
    pub fn with_config(live: &LiveEngine, config: MonitorConfig) -> LiveMonitor {
        let slot = live.slot();
        let seen = slot.load_full();
        LiveMonitor { monitor: Monitor::with_config((*seen).clone(), config), seen, slot }
    }

    /// Scores the next event of the stream with the engine current now.
    pub fn observe(&mut self, event: &Event) -> Verdict {
        self.follow();
        self.monitor.observe(event)
    }

    /// Scores the next events of the stream, in order, with the engine current now.
    pub fn observe_batch(&mut self, events: &[Event]) -> Vec<Verdict> {
        self.follow();
        self.monitor.observe_batch(events)
    }

    /// The monitor inside, on the engine of the last event.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    fn follow(&mut self) {
        let now = self.slot.load_full();
        if !Arc::ptr_eq(&now, &self.seen) {
            self.monitor.set_engine((*now).clone());
            self.seen = now;
        }
    }
}
