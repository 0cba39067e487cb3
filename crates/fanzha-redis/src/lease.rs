//! Which worker owns which partition: leases, and the heartbeats that count the workers.
//!
//! A partition is owned through a key holding the owner's name with an expiry, taken by a
//! script only if free or already the worker's: at most one worker holds it, and a worker that
//! dies loses it once the expiry passes, with no one having to notice the death. Renewing and
//! giving up check the name inside a script, so a worker that stalled past its lease can never
//! extend or delete the lease another worker took meanwhile; and every commit checks the lease
//! too, so the stalled worker writes nothing either.
//!
//! Leases are renewed by a thread of their own, on its own connections, every third of the
//! lease: how long a round of scoring takes (a slow machine, a debug build, a long replay) then
//! never costs a live worker its partitions, while a stopped or dead process (every thread
//! stopped) loses them on time. Lost leases are reported back to the loop, which drops the
//! partitions.
//!
//! Every worker also beats into a sorted set (at the server's time, so machines' clocks do not
//! matter); workers silent for a lease's length are forgotten. Each worker aims for its fair
//! share, `ceil(partitions / live workers)`: it takes free partitions while it holds fewer and
//! gives partitions up while it holds more, so the work spreads out as workers come and
//! rebalances when one dies.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::keys::Keys;
use super::nodes::Nodes;
use super::scripts::Scripts;
use super::{Fail, Redis, RedisOptions};

/// A worker's leases and heartbeat.
pub(super) struct Leases {
    name: String,
    lease: Duration,
    shared: Arc<Shared>,
    renewer: Option<JoinHandle<()>>,
}

/// What the loop and the renewing thread share.
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    live: AtomicU32,
}

#[derive(Default)]
struct State {
    held: BTreeSet<u32>,
    /// Partitions whose renewal failed, not yet taken by [`Leases::take_lost`].
    lost: Vec<u32>,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The renewer never panics while holding the lock; a poisoned lock still holds a
        // consistent set.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Leases {
    /// Leases for worker `name`, renewed by a thread connecting to `redis` on its own.
    pub(super) fn start(name: &str, lease: Duration, redis: &RedisOptions, keys: &Keys) -> Leases {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            live: AtomicU32::new(1),
        });
        let renewer = {
            let (shared, name, redis, keys) = (shared.clone(), name.to_string(), redis.clone(), keys.clone());
            std::thread::Builder::new()
                .name(format!("{name}-leases"))
                .spawn(move || renew_forever(&shared, &name, lease, &redis, &keys))
                .ok()
        };
        Leases { name: name.to_string(), lease, shared, renewer }
    }

    fn lease_ms(&self) -> u64 {
        lease_ms(self.lease)
    }

    /// The partitions held now.
    pub(super) fn held(&self) -> BTreeSet<u32> {
        self.shared.lock().held.clone()
    }

    /// The partitions lost since the last call: their renewal found another worker's name, or
    /// no lease at all.
    pub(super) fn take_lost(&self) -> Vec<u32> {
        std::mem::take(&mut self.shared.lock().lost)
    }

    /// Workers alive at the last heartbeat, this one included.
    pub(super) fn live(&self) -> u32 {
        self.shared.live.load(Ordering::Relaxed).max(1)
    }

    /// Beats once now, so the count of live workers is current before the first share.
    pub(super) fn beat(&self, nodes: &mut Nodes, keys: &Keys, scripts: &Scripts) -> Result<(), Fail> {
        let live = scripts.heartbeat(nodes, &keys.workers(), &self.name, self.lease_ms(), true)?;
        self.shared.live.store(live, Ordering::Relaxed);
        Ok(())
    }

    /// Whether a live worker already beats under `name`.
    pub(super) fn name_taken(
        name: &str,
        lease: Duration,
        nodes: &mut Nodes,
        keys: &Keys,
    ) -> Result<bool, Fail> {
        let key = keys.workers();
        let (beat, (secs, micros)): (Option<f64>, (u64, u64)) = redis::pipe()
            .cmd("ZSCORE")
            .arg(&key)
            .arg(name)
            .cmd("TIME")
            .query(nodes.for_key(&key))
            .redis("ZSCORE workers")?;
        let now = (secs * 1000 + micros / 1000) as f64;
        Ok(beat.is_some_and(|b| now - b < lease_ms(lease) as f64))
    }

    /// Takes partition `p` if no one else holds it.
    pub(super) fn acquire(
        &mut self,
        nodes: &mut Nodes,
        keys: &Keys,
        scripts: &Scripts,
        p: u32,
    ) -> Result<bool, Fail> {
        let ok = scripts.acquire(nodes, &keys.lease(p), &self.name, self.lease_ms())?;
        if ok {
            let mut state = self.shared.lock();
            state.held.insert(p);
            state.lost.retain(|&q| q != p);
        }
        Ok(ok)
    }

    /// Forgets every lease without giving it up (after a lost connection: they are taken
    /// again, or expire).
    pub(super) fn forget(&mut self) {
        let mut state = self.shared.lock();
        state.held.clear();
        state.lost.clear();
    }

    /// Forgets partition `p`'s lease, lost to another worker.
    pub(super) fn forget_one(&mut self, p: u32) {
        self.shared.lock().held.remove(&p);
    }

    /// Gives partition `p` up.
    pub(super) fn release(
        &mut self,
        nodes: &mut Nodes,
        keys: &Keys,
        scripts: &Scripts,
        p: u32,
    ) -> Result<(), Fail> {
        self.shared.lock().held.remove(&p);
        scripts.release(nodes, &keys.lease(p), &self.name)
    }

    /// Stops renewing, gives every partition up and leaves the worker set.
    pub(super) fn leave(&mut self, nodes: &mut Nodes, keys: &Keys, scripts: &Scripts) -> Result<(), Fail> {
        self.stop();
        let held = std::mem::take(&mut self.shared.lock().held);
        for p in held {
            scripts.release(nodes, &keys.lease(p), &self.name)?;
        }
        scripts.heartbeat(nodes, &keys.workers(), &self.name, self.lease_ms(), false).map(drop)
    }

    fn stop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lease_ms(lease: Duration) -> u64 {
    lease.as_millis().max(1) as u64
}

/// The renewing thread: every third of the lease, beats and renews every lease held, moving
/// the ones found lost to `lost`. A failed call drops the connections, which are made again
/// at the next turn; the leases meanwhile run out, and the loop finds out at its next commit
/// (which the lease fences).
fn renew_forever(shared: &Shared, name: &str, lease: Duration, redis: &RedisOptions, keys: &Keys) {
    let scripts = Scripts::new();
    let mut nodes: Option<Nodes> = None;
    let mut complained = false;
    loop {
        let held = {
            let state = shared.lock();
            let (state, _) = shared
                .wake
                .wait_timeout_while(state, lease / 3, |s| !s.stop)
                .unwrap_or_else(|e| e.into_inner());
            if state.stop {
                return;
            }
            state.held.clone()
        };
        let turn = (|| -> Result<(), Fail> {
            let nodes = match &mut nodes {
                Some(n) => n,
                None => nodes.insert(redis.connect()?),
            };
            let live = scripts.heartbeat(nodes, &keys.workers(), name, lease_ms(lease), true)?;
            shared.live.store(live, Ordering::Relaxed);
            for p in held {
                if !scripts.renew(nodes, &keys.lease(p), name, lease_ms(lease))? {
                    let mut state = shared.lock();
                    if state.held.remove(&p) {
                        state.lost.push(p);
                    }
                }
            }
            Ok(())
        })();
        match turn {
            Ok(()) => complained = false,
            Err(e) => {
                nodes = None;
                if !complained {
                    eprintln!("fanzha consume {name}: renewing leases: {e}; trying again");
                    complained = true;
                }
            }
        }
    }
}
