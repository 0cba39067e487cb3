//! The Lua scripts that make a worker's writes exactly-once and ordered, and its leases safe.
//!
//! Each script runs atomically in Redis, so a check and the write it guards cannot be split by
//! another worker's call, or by a crash between them: a verdict is added to the output stream
//! in the same step that marks its line done, an entry is acknowledged in the same step as
//! what it brought is stored, and a lease is renewed or given up only by the worker that
//! holds it. The scripts are loaded once when a worker starts and called by hash
//! (EVALSHA), so they can go in a pipeline with the rest of a batch.

use redis::{Connection, Pipeline, Script, Value};

use super::keys::Keys;

use super::redis_error;

/// What the two write scripts share: writing a line and, in cascade, the lines that waited
/// for it. A line not written yet has its state in the `wait` hash: `p:n` how many of the
/// lines it waits for are not written yet, `s:n` the lines waiting for it; once its verdict is
/// known but it still waits, `v:n` the verdict, `i:n` its event id and `r:n` its partitions
/// (whose partials, `n:q` in the `partials` hash, go when it is written).
const COMMON: &str = r"
local done, out, input, wait, partials, group = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1]

-- Acknowledges entries, a few hundred ids a call.
local function ack_all(ids)
  for j = 1, #ids, 500 do
    redis.call('XACK', input, group, unpack(ids, j, math.min(j + 499, #ids)))
  end
end

-- Deletes line n's partials.
local function drop(n, route)
  for q in string.gmatch(route, '%S+') do redis.call('HDEL', partials, n .. ':' .. q) end
end

-- Lines waiting for x that x's writing makes ready go to work.
local function release(x, work)
  local succ = redis.call('HGET', wait, 's:' .. x)
  if succ then
    redis.call('HDEL', wait, 's:' .. x)
    for s in string.gmatch(succ, '%S+') do
      local left = redis.call('HINCRBY', wait, 'p:' .. s, -1)
      if left <= 0 and redis.call('HEXISTS', wait, 'v:' .. s) == 1 then table.insert(work, s) end
    end
  end
end

-- Writes line n, ready, whose verdict is given, then in cascade the lines it makes ready
-- (their verdicts stored).
local function emit(n, id, json)
  if redis.call('HSETNX', done, n, 1) == 1 then
    redis.call('XADD', out, '*', 'n', n, 'id', id, 'verdict', json)
  end
  local work = {}
  release(n, work)
  while #work > 0 do
    local x = table.remove(work)
    if redis.call('HSETNX', done, x, 1) == 1 then
      redis.call('XADD', out, '*', 'n', x, 'id', redis.call('HGET', wait, 'i:' .. x),
        'verdict', redis.call('HGET', wait, 'v:' .. x))
    end
    local route = redis.call('HGET', wait, 'r:' .. x)
    redis.call('HDEL', wait, 'v:' .. x, 'i:' .. x, 'p:' .. x, 'r:' .. x)
    if route then drop(x, route) end
    release(x, work)
  end
end

-- Line n comes after line prev in a partition: it waits for it unless prev is written.
-- Returns whether it waits.
local function after(n, prev)
  if prev ~= '0' and redis.call('HEXISTS', done, prev) == 0 then
    redis.call('HINCRBY', wait, 'p:' .. n, 1)
    redis.call('HSET', wait, 's:' .. prev, (redis.call('HGET', wait, 's:' .. prev) or '') .. ' ' .. n)
    return true
  end
  return false
end

-- Line n's verdict is known: written now if it waits for nothing, else stored.
local function known(n, id, json, route)
  if tonumber(redis.call('HGET', wait, 'p:' .. n) or '0') <= 0 then
    redis.call('HDEL', wait, 'p:' .. n)
    if route ~= '' then drop(n, route) end
    emit(n, id, json)
  else
    redis.call('HSET', wait, 'v:' .. n, json, 'i:' .. n, id, 'r:' .. n, route)
  end
end
";

/// Offers a batch of a partition's results, in stream order, acknowledging each entry in the
/// same step. Items, after the group: `V eid n prev id json`, a verdict known in this
/// partition (a line routed here alone, or a bad line); `P eid n prev k q partial route`,
/// partition `q`'s partial of a line routed to the `k` partitions `route`. `prev` is the line
/// before `n` in this partition's stream (0 for none): `n` is written once its verdict is
/// known and `prev` is written, so each partition's lines, and so each key value's, reach the
/// output stream in input order. Returns `{n, {q, partial, …}, …}`: lines whose partials are
/// all in and have no verdict yet, to merge; those entries are acknowledged with the verdict.
/// A line already done, or an item offered before, changes nothing.
const OFFER: &str = r"
local merge, acks = {}, {}
local i = 2
while i <= #ARGV do
  local kind, eid, n, prev = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local ack = true
  if kind == 'V' then
    if redis.call('HEXISTS', done, n) == 0 and redis.call('HEXISTS', wait, 'v:' .. n) == 0 then
      if after(n, prev) then
        redis.call('HSET', wait, 'v:' .. n, ARGV[i + 5], 'i:' .. n, ARGV[i + 4], 'r:' .. n, '')
      else
        -- Nothing to wait for, the common case: written at once.
        emit(n, ARGV[i + 4], ARGV[i + 5])
      end
    end
    i = i + 6
  else
    if redis.call('HEXISTS', done, n) == 0 then
      if redis.call('HSETNX', partials, n .. ':' .. ARGV[i + 5], ARGV[i + 6]) == 1 then after(n, prev) end
      if redis.call('HEXISTS', wait, 'v:' .. n) == 0 then
        local qs, fields = {}, {}
        for q in string.gmatch(ARGV[i + 7], '%S+') do
          table.insert(qs, q)
          table.insert(fields, n .. ':' .. q)
        end
        local got = redis.call('HMGET', partials, unpack(fields))
        local all = {}
        for j, q in ipairs(qs) do
          if not got[j] then all = nil break end
          table.insert(all, q)
          table.insert(all, got[j])
        end
        if all then
          table.insert(merge, n)
          table.insert(merge, all)
          ack = false
        end
      end
    end
    i = i + 8
  end
  if ack then table.insert(acks, eid) end
end
ack_all(acks)
return merge
";

/// Sets merged verdicts (items after the group: `eid n id json route`), writes the lines that
/// wait for nothing, and acknowledges the entries.
const VERDICT: &str = r"
local acks = {}
local i = 2
while i <= #ARGV do
  local eid, n = ARGV[i], ARGV[i + 1]
  if redis.call('HEXISTS', done, n) == 0 and redis.call('HEXISTS', wait, 'v:' .. n) == 0 then
    known(n, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
  end
  table.insert(acks, eid)
  i = i + 5
end
ack_all(acks)
return 0
";

/// Reads new entries of the partitions whose leases this worker still holds, in one atomic
/// step: a worker that stalled past its lease can never take entries out of the group after
/// the partition's new owner replayed it (they would be missing from the new owner's state).
/// KEYS: a lease key and the partition's input stream, in pairs. ARGV: the worker's name, the
/// group, the count per stream. Returns what XREADGROUP would.
const READ: &str = r"
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    local r = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[1], 'COUNT', ARGV[3], 'STREAMS', KEYS[i + 1], '>')
    if r then
      for _, s in ipairs(r) do table.insert(out, s) end
    end
  end
end
return out
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
    offer: Script,
    verdict: Script,
    read: Script,
    renew: Script,
    release: Script,
    heartbeat: Script,
}

impl Scripts {
    /// Loads every script into the server's script cache.
    pub(super) fn load(con: &mut Connection) -> Result<Scripts, String> {
        let s = Scripts {
            offer: Script::new(&format!("{COMMON}{OFFER}")),
            verdict: Script::new(&format!("{COMMON}{VERDICT}")),
            read: Script::new(READ),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            heartbeat: Script::new(HEARTBEAT),
        };
        for script in [&s.offer, &s.verdict, &s.read, &s.renew, &s.release, &s.heartbeat] {
            script.prepare_invoke().load(con).map_err(redis_error("SCRIPT LOAD"))?;
        }
        Ok(s)
    }

    /// The offer script (see [`OFFER`]), to call with the keys of `Keys::write_keys` and
    /// the group; its hash is loaded, so a call is one EVALSHA.
    pub(super) fn offer(&self) -> &Script {
        &self.offer
    }

    /// Reads up to `count` new entries of each of `partitions` still leased to `name`.
    pub(super) fn read(
        &self,
        con: &mut Connection,
        keys: &Keys,
        partitions: &[u32],
        name: &str,
        count: usize,
    ) -> Result<Value, String> {
        let mut call = self.read.prepare_invoke();
        for &p in partitions {
            call.key(keys.lease(p)).key(keys.input(p));
        }
        call.arg(name).arg(super::keys::GROUP).arg(count);
        call.invoke(con).map_err(redis_error("XREADGROUP"))
    }

    /// The verdict script (see [`VERDICT`]), called like [`Scripts::offer`].
    pub(super) fn verdict(&self) -> &Script {
        &self.verdict
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
