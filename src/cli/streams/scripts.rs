//! The Lua scripts that make a worker's writes exactly-once and its leases safe.
//!
//! Each script runs atomically in Redis, so a check and the write it guards cannot be split by
//! another worker's call, or by a crash between them: a verdict is added to the output stream
//! in the same step that marks its line done, and a lease is renewed or given up only by the
//! worker that holds it. The scripts are loaded once when a worker starts and called by hash
//! (EVALSHA), so they can go in a pipeline with the rest of a batch.

use redis::{Connection, Pipeline, Script};

use super::keys::Keys;
use super::redis_error;

/// Writes a line's result unless it was written before: marks line `n` done and adds its
/// verdict to the output stream, or does nothing if `n` was already done. With a third key,
/// the line's partials hash, now merged, goes too.
const WRITE: &str = r"
if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 1 then
  redis.call('XADD', KEYS[2], '*', 'n', ARGV[1], 'id', ARGV[2], 'verdict', ARGV[3])
  if KEYS[3] then redis.call('DEL', KEYS[3]) end
  return 1
end
if KEYS[3] then redis.call('DEL', KEYS[3]) end
return 0
";

/// Stores one partition's stateful partial of line `n` (routed to `k` partitions). Returns -1
/// if the line is already done (nothing stored: a late redelivery must not recreate the
/// hash), every stored partial as `[partition, json, …]` once all `k` are in, or 0.
const PART: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return redis.call('HGETALL', KEYS[2]) end
return 0
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
    write: Script,
    part: Script,
    renew: Script,
    release: Script,
    heartbeat: Script,
}

impl Scripts {
    /// Loads every script into the server's script cache.
    pub(super) fn load(con: &mut Connection) -> Result<Scripts, String> {
        let s = Scripts {
            write: Script::new(WRITE),
            part: Script::new(PART),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            heartbeat: Script::new(HEARTBEAT),
        };
        for script in [&s.write, &s.part, &s.renew, &s.release, &s.heartbeat] {
            script.prepare_invoke().load(con).map_err(redis_error("SCRIPT LOAD"))?;
        }
        Ok(s)
    }

    /// Adds a done-guarded write of line `n`'s result to `pipe`; its reply is 1 if written,
    /// 0 if the line was already done. `merged` deletes the line's partials hash too.
    pub(super) fn write(&self, pipe: &mut Pipeline, keys: &Keys, n: u64, id: &str, json: &str, merged: bool) {
        let c = pipe.cmd("EVALSHA").arg(self.write.get_hash()).arg(if merged { 3 } else { 2 });
        c.arg(keys.done()).arg(keys.out());
        if merged {
            c.arg(keys.part(n));
        }
        c.arg(n).arg(id).arg(json);
    }

    /// Adds partition `p`'s partial of line `n` (routed to `k` partitions) to `pipe`.
    pub(super) fn part(&self, pipe: &mut Pipeline, keys: &Keys, n: u64, p: u32, partial: &str, k: u32) {
        pipe.cmd("EVALSHA")
            .arg(self.part.get_hash())
            .arg(2)
            .arg(keys.done())
            .arg(keys.part(n))
            .arg(n)
            .arg(p)
            .arg(partial)
            .arg(k);
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
