//! The Lua scripts that make a worker's writes exactly-once and its leases safe.
//!
//! Each script runs atomically in Redis, so a check and the write it guards cannot be split by
//! another worker's call, or by a crash between them: a verdict is added to the output stream
//! in the same step that marks its line done, and a lease is renewed or given up only by the
//! worker that holds it. The scripts are loaded once when a worker starts and called by hash
//! (EVALSHA), so they can go in a pipeline with the rest of a batch.

use redis::{Connection, Pipeline, Script};

use super::redis_error;

/// Writes the results at the head of a partition's queue, in order, and acknowledges each
/// entry in the same step as its write, until one cannot go yet.
///
/// KEYS: done hash, output stream, the partition's input stream, then the `part` hashes the
/// items name. ARGV: the group, then items, each a kind, the entry id and the line number:
///
/// * `W eid n id json part`: write line `n`'s result unless the line is done (then nothing is
///   written: a redelivery), deleting `KEYS[part]` (its merged partials) if `part` > 0.
/// * `P eid n part p partial k`: store partition `p`'s partial of line `n` (routed to `k`
///   partitions) in `KEYS[part]`, unless the line is done. If that completes the set, stop
///   and return the partials for the caller to merge; otherwise stop and wait.
/// * `A eid n`: wait until line `n` is done (another partition writes it).
///
/// Returns `{consumed, status[, partials]}`: 0 all consumed, 1 stopped after storing a
/// partial (the item is now a wait), 2 stopped with every partial (flat field/value list),
/// 3 stopped at a line not done yet.
const FLUSH: &str = r"
local done, out, input, group = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local i, consumed = 2, 0
while i <= #ARGV do
  local kind, eid, n = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if kind == 'W' then
    if redis.call('HSETNX', done, n, 1) == 1 then
      redis.call('XADD', out, '*', 'n', n, 'id', ARGV[i + 3], 'verdict', ARGV[i + 4])
    end
    local part = tonumber(ARGV[i + 5])
    if part > 0 then redis.call('DEL', KEYS[part]) end
    i = i + 6
  elseif kind == 'P' then
    if redis.call('HEXISTS', done, n) == 0 then
      local key = KEYS[tonumber(ARGV[i + 3])]
      redis.call('HSET', key, ARGV[i + 4], ARGV[i + 5])
      if redis.call('HLEN', key) >= tonumber(ARGV[i + 6]) then
        return {consumed, 2, redis.call('HGETALL', key)}
      end
      return {consumed, 1}
    end
    i = i + 7
  else
    if redis.call('HEXISTS', done, n) == 0 then return {consumed, 3} end
    i = i + 3
  end
  redis.call('XACK', input, group, eid)
  consumed = consumed + 1
end
return {consumed, 0}
";

/// Extends a lease only if this worker still holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
";

/// Gives a lease up only if this worker holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Records a worker's heartbeat (ARGV[3] = 1) or its leaving (0) at the server's time, forgets
/// workers silent for longer than ARGV[2] ms, and returns how many are left.
const HEARTBEAT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return redis.call('ZCARD', KEYS[1])
";

/// The scripts, loaded into the server.
pub(super) struct Scripts {
    flush: Script,
    renew: Script,
    release: Script,
    heartbeat: Script,
}

impl Scripts {
    /// Loads every script into the server's script cache.
    pub(super) fn load(con: &mut Connection) -> Result<Scripts, String> {
        let s = Scripts {
            flush: Script::new(FLUSH),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            heartbeat: Script::new(HEARTBEAT),
        };
        for script in [&s.flush, &s.renew, &s.release, &s.heartbeat] {
            script.prepare_invoke().load(con).map_err(redis_error("SCRIPT LOAD"))?;
        }
        Ok(s)
    }

    /// The flush script, to call with [`Script::key`] and [`Script::arg`] (its hash is
    /// loaded, so the call is one EVALSHA).
    pub(super) fn flush(&self) -> &Script {
        &self.flush
    }

    /// Adds the renewal of `name`'s lease on `key` for `ms` to `pipe`; replies 1 if renewed.
    pub(super) fn renew(&self, pipe: &mut Pipeline, key: &str, name: &str, ms: u64) {
        pipe.cmd("EVALSHA").arg(self.renew.get_hash()).arg(1).arg(key).arg(name).arg(ms);
    }

    /// Gives up `name`'s lease on `key`, if it holds it.
    pub(super) fn release(&self, con: &mut Connection, key: &str, name: &str) -> Result<(), String> {
        self.release.key(key).arg(name).invoke::<i64>(con).map(drop).map_err(redis_error("lease release"))
    }

    /// Records `name`'s heartbeat (or its leaving), forgets workers silent for `window_ms`,
    /// and returns the number of live workers.
    pub(super) fn heartbeat(
        &self,
        con: &mut Connection,
        key: &str,
        name: &str,
        window_ms: u64,
        alive: bool,
    ) -> Result<u32, String> {
        self.heartbeat
            .key(key)
            .arg(name)
            .arg(window_ms)
            .arg(u8::from(alive))
            .invoke(con)
            .map_err(redis_error("heartbeat"))
    }
}
