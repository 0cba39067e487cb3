//! Which worker owns which partition: leases, and the heartbeats that count the workers.
//!
//! A partition is owned through a key holding the owner's name with an expiry (`SET NX PX`):
//! at most one worker holds it, and a worker that dies loses it once the expiry passes, with no
//! one having to notice the death. The holder renews it well before then; renewing and giving
//! up check the name inside a script, so a worker that stalled past its lease can never
//! extend or delete the lease another worker took meanwhile.
//!
//! Every worker also beats into a sorted set (at the server's time, so machines' clocks do not
//! matter); workers silent for a lease's length are forgotten. Each worker aims for its fair
//! share, `ceil(partitions / live workers)`: it takes free partitions while it holds fewer and
//! gives partitions up while it holds more, so the work spreads out as workers come and
//! rebalances when one dies.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::keys::Keys;
use super::redis_error;
use super::scripts::Scripts;
use redis::Connection;

/// A worker's leases and heartbeat.
pub(super) struct Leases {
    name: String,
    lease: Duration,
    held: BTreeSet<u32>,
    renewed: Instant,
    live: u32,
}

impl Leases {
    pub(super) fn new(name: &str, lease: Duration) -> Leases {
        Leases { name: name.to_string(), lease, held: BTreeSet::new(), renewed: Instant::now(), live: 1 }
    }

    fn lease_ms(&self) -> u64 {
        self.lease.as_millis().max(1) as u64
    }

    /// The partitions held now.
    pub(super) fn held(&self) -> &BTreeSet<u32> {
        &self.held
    }

    /// Workers alive at the last heartbeat, this one included.
    pub(super) fn live(&self) -> u32 {
        self.live.max(1)
    }

    /// Beats and renews every lease held; returns the partitions whose leases were lost.
    pub(super) fn renew(
        &mut self,
        con: &mut Connection,
        keys: &Keys,
        scripts: &Scripts,
    ) -> Result<Vec<u32>, String> {
        self.live = scripts.heartbeat(con, &keys.workers(), &self.name, self.lease_ms(), true)?;
        let held: Vec<u32> = self.held.iter().copied().collect();
        let mut lost = Vec::new();
        if !held.is_empty() {
            let mut pipe = redis::pipe();
            for &p in &held {
                scripts.renew(&mut pipe, &keys.lease(p), &self.name, self.lease_ms());
            }
            let renewed: Vec<i64> = pipe.query(con).map_err(redis_error("lease renewal"))?;
            for (p, ok) in held.into_iter().zip(renewed) {
                if ok != 1 {
                    self.held.remove(&p);
                    lost.push(p);
                }
            }
        }
        self.renewed = Instant::now();
        Ok(lost)
    }

    /// Whether a third of the lease has passed since the last renewal: time to renew, so a
    /// lease survives two missed renewals' worth of delay.
    pub(super) fn due(&self) -> bool {
        self.renewed.elapsed() >= self.lease / 3
    }

    /// Renews if due; returns the partitions lost.
    pub(super) fn renew_if_due(
        &mut self,
        con: &mut Connection,
        keys: &Keys,
        scripts: &Scripts,
    ) -> Result<Vec<u32>, String> {
        if self.due() {
            self.renew(con, keys, scripts)
        } else {
            Ok(Vec::new())
        }
    }

    /// Whether a live worker already beats under this name.
    pub(super) fn name_taken(&self, con: &mut Connection, keys: &Keys) -> Result<bool, String> {
        let (beat, (secs, micros)): (Option<f64>, (u64, u64)) = redis::pipe()
            .cmd("ZSCORE")
            .arg(keys.workers())
            .arg(&self.name)
            .cmd("TIME")
            .query(con)
            .map_err(redis_error("ZSCORE workers"))?;
        let now = (secs * 1000 + micros / 1000) as f64;
        Ok(beat.is_some_and(|b| now - b < self.lease_ms() as f64))
    }

    /// Takes partition `p` if no one holds it.
    pub(super) fn acquire(&mut self, con: &mut Connection, keys: &Keys, p: u32) -> Result<bool, String> {
        let ok: Option<String> = redis::cmd("SET")
            .arg(keys.lease(p))
            .arg(&self.name)
            .arg("NX")
            .arg("PX")
            .arg(self.lease_ms())
            .query(con)
            .map_err(redis_error("lease SET"))?;
        if ok.is_some() {
            self.held.insert(p);
        }
        Ok(ok.is_some())
    }

    /// Gives partition `p` up.
    pub(super) fn release(
        &mut self,
        con: &mut Connection,
        keys: &Keys,
        scripts: &Scripts,
        p: u32,
    ) -> Result<(), String> {
        self.held.remove(&p);
        scripts.release(con, &keys.lease(p), &self.name)
    }

    /// Gives every partition up and leaves the worker set.
    pub(super) fn leave(
        &mut self,
        con: &mut Connection,
        keys: &Keys,
        scripts: &Scripts,
    ) -> Result<(), String> {
        for p in std::mem::take(&mut self.held) {
            scripts.release(con, &keys.lease(p), &self.name)?;
        }
        scripts.heartbeat(con, &keys.workers(), &self.name, self.lease_ms(), false).map(drop)
    }
}
