//! The state a monitor keeps per key, and the shards that own it.
//!
//! Every piece of state belongs to one key string (a field name and a value, such as
//! `merchant=shop42`, or a party value shared by the steps of a sequence). A key lives in
//! exactly one shard, chosen by a fixed hash of the key, and a shard handles its keys' work in
//! input order; so what the state holds, and every verdict drawn from it, is the same however
//! many threads run the shards.
//!
//! Memory is bounded twice: each key holds at most `max_events_per_key` entries (the oldest
//! entry of its longest list goes first), and each shard at most its share of `max_keys` keys
//! (the least recently touched key goes first). Keys idle for longer than `idle` are dropped
//! as the stream's clock passes them.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// One event as state remembers it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Event time, epoch milliseconds.
    pub t: i64,
    /// Position in the monitor's input: orders events with the same time.
    pub seq: u64,
    /// The amount, for sums.
    pub fen: u64,
    /// Hash of the `distinct` field's value.
    pub distinct: u64,
    /// The event's id, or `#seq`.
    pub id: Box<str>,
}

/// When one value (a payer, a payee) was first and last seen under a key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub value: u64,
    pub first: i64,
    pub last: i64,
}

/// Everything kept for one key.
#[derive(Debug, Default)]
pub(crate) struct KeyState {
    /// Latest event time that touched the key.
    pub last_t: i64,
    /// The shard's tick at the last touch, for least-recently-used eviction.
    pub touch: u64,
    /// Entries held across all lists, bounded by `max_events_per_key`.
    pub entries: usize,
    /// Per window rule (by window index): the events it counted, in time order.
    pub windows: Vec<(u32, VecDeque<Entry>)>,
    /// Per sequence rule (by sequence index): per step, the events that matched it.
    pub sequences: Vec<(u32, Vec<VecDeque<Entry>>)>,
    /// Per tracker: the values seen.
    pub trackers: Vec<(u32, Vec<Seen>)>,
}

impl KeyState {
    pub fn window(&mut self, w: u32) -> &mut VecDeque<Entry> {
        slot(&mut self.windows, w, VecDeque::new)
    }

    pub fn sequence(&mut self, s: u32, steps: usize) -> &mut Vec<VecDeque<Entry>> {
        slot(&mut self.sequences, s, || vec![VecDeque::new(); steps])
    }

    pub fn tracker(&mut self, k: u32) -> &mut Vec<Seen> {
        slot(&mut self.trackers, k, Vec::new)
    }

    /// Drops the entries no window or sequence can use any more: those of window `w` older
    /// than `window_before(w)`, those of sequence `s` older than `sequence_before(s)`.
    pub fn expire(&mut self, window_before: impl Fn(u32) -> i64, sequence_before: impl Fn(u32) -> i64) {
        fn drop_old(l: &mut VecDeque<Entry>, before: i64) -> usize {
            let n = l.partition_point(|e| e.t < before);
            l.drain(..n);
            n
        }
        let mut dropped = 0;
        for (w, l) in &mut self.windows {
            dropped += drop_old(l, window_before(*w));
        }
        for (q, steps) in &mut self.sequences {
            let before = sequence_before(*q);
            dropped += steps.iter_mut().map(|l| drop_old(l, before)).sum::<usize>();
        }
        self.entries -= dropped;
    }

    /// Makes room for one more entry: while the key is full, the oldest entry of its longest
    /// list goes (a tracker forgets its least recently seen value).
    pub fn make_room(&mut self, cap: usize) {
        while self.entries >= cap.max(1) {
            let mut longest: Option<(usize, &mut dyn Evict)> = None;
            let lists = self
                .windows
                .iter_mut()
                .map(|(_, l)| l as &mut dyn Evict)
                .chain(self.sequences.iter_mut().flat_map(|(_, s)| s.iter_mut().map(|l| l as &mut dyn Evict)))
                .chain(self.trackers.iter_mut().map(|(_, l)| l as &mut dyn Evict));
            for l in lists {
                let n = l.len();
                if n > 0 && longest.as_ref().is_none_or(|(m, _)| n > *m) {
                    longest = Some((n, l));
                }
            }
            match longest {
                Some((_, l)) => {
                    l.evict_one();
                    self.entries -= 1;
                }
                None => {
                    self.entries = 0;
                    return;
                }
            }
        }
    }

    /// Approximate heap bytes held by the lists, for [`MonitorStats`](crate::MonitorStats).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let list = |l: &VecDeque<Entry>| {
            l.capacity() * size_of::<Entry>() + l.iter().map(|e| e.id.len()).sum::<usize>()
        };
        self.windows.capacity() * size_of::<(u32, VecDeque<Entry>)>()
            + self.windows.iter().map(|(_, l)| list(l)).sum::<usize>()
            + self.sequences.capacity() * size_of::<(u32, Vec<VecDeque<Entry>>)>()
            + self
                .sequences
                .iter()
                .map(|(_, s)| s.capacity() * size_of::<VecDeque<Entry>>() + s.iter().map(list).sum::<usize>())
                .sum::<usize>()
            + self.trackers.capacity() * size_of::<(u32, Vec<Seen>)>()
            + self.trackers.iter().map(|(_, l)| l.capacity() * size_of::<Seen>()).sum::<usize>()
    }
}

/// The state of rule (or tracker) `k` in a key's short list, made on first use. Keys hold the
/// state of a few rules each, so a scan beats a map.
fn slot<T>(list: &mut Vec<(u32, T)>, k: u32, make: impl FnOnce() -> T) -> &mut T {
    let i = match list.iter().position(|(x, _)| *x == k) {
        Some(i) => i,
        None => {
            list.push((k, make()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

/// A list a full key can take an entry from.
trait Evict {
    fn len(&self) -> usize;
    fn evict_one(&mut self);
}

impl Evict for VecDeque<Entry> {
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn evict_one(&mut self) {
        self.pop_front();
    }
}

impl Evict for Vec<Seen> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn evict_one(&mut self) {
        if let Some(i) = (0..self.len()).min_by_key(|&i| (self[i].last, self[i].first)) {
            self.swap_remove(i);
        }
    }
}

/// The keys one shard owns.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    pub keys: HashMap<Box<str>, KeyState>,
    /// Keys by last touch, oldest first.
    lru: BTreeMap<u64, Box<str>>,
    /// Counts touches: the order keys were last used in.
    ticks: u64,
    /// Keys dropped to stay under the cap or because they went idle.
    pub evicted: u64,
}

impl Shard {
    /// The state of `key`, created if new, marked as touched now and at event time `t`. Makes
    /// room under `max_keys` first, dropping the least recently touched key.
    pub fn touch(&mut self, key: &str, t: i64, max_keys: usize) -> &mut KeyState {
        if !self.keys.contains_key(key) {
            while self.keys.len() >= max_keys.max(1) {
                let Some((_, old)) = self.lru.pop_first() else { break };
                self.keys.remove(&old);
                self.evicted += 1;
            }
            self.keys.insert(key.into(), KeyState::default());
        }
        self.ticks += 1;
        let tick = self.ticks;
        let state = self.keys.get_mut(key).expect("inserted above");
        let old = std::mem::replace(&mut state.touch, tick);
        state.last_t = state.last_t.max(t);
        // The LRU index holds its own copy of the key: keys are short ids.
        let stored = if old != 0 { self.lru.remove(&old) } else { None };
        self.lru.insert(tick, stored.unwrap_or_else(|| key.into()));
        self.keys.get_mut(key).expect("inserted above")
    }

    /// Drops keys not touched since `before` (event time), oldest touch first.
    pub fn drop_idle(&mut self, before: i64) {
        while let Some((_, key)) = self.lru.first_key_value() {
            match self.keys.get(key) {
                Some(s) if s.last_t < before => {
                    let (_, key) = self.lru.pop_first().expect("non-empty");
                    self.keys.remove(&key);
                    self.evicted += 1;
                }
                _ => break,
            }
        }
    }

    /// Approximate heap bytes held: the table, both copies of each key, the LRU index and
    /// every key's lists.
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<str>, KeyState)>() + 1;
        // A B-tree entry (tick and key) with its share of node overhead.
        let lru_entry = 48;
        self.keys.capacity() * slot
            + self.keys.iter().map(|(k, s)| 2 * k.len() + lru_entry + s.heap_bytes()).sum::<usize>()
    }

    /// Rewrites rule indices after a reload; state of rules that are gone or changed is
    /// dropped.
    pub fn remap(&mut self, windows: &[Option<u32>], sequences: &[Option<u32>], trackers: &[Option<u32>]) {
        fn keep<T>(
            list: &mut Vec<(u32, T)>,
            map: &[Option<u32>],
            dropped: &mut usize,
            size: impl Fn(&T) -> usize,
        ) {
            list.retain_mut(|(i, v)| match map.get(*i as usize).copied().flatten() {
                Some(n) => {
                    *i = n;
                    true
                }
                None => {
                    *dropped += size(v);
                    false
                }
            });
        }
        for state in self.keys.values_mut() {
            let mut dropped = 0;
            keep(&mut state.windows, windows, &mut dropped, VecDeque::len);
            keep(&mut state.sequences, sequences, &mut dropped, |s| s.iter().map(VecDeque::len).sum());
            keep(&mut state.trackers, trackers, &mut dropped, Vec::len);
            state.entries -= dropped;
        }
    }
}
