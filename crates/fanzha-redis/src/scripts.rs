//! The Lua scripts that make a worker's writes exactly-once and its leases safe.
//!
//! Each script runs atomically in Redis and touches the keys of one partition only (one hash
//! tag, so one slot of a cluster): a batch's verdicts are written in the same step that moves
//! the partition's cursor past the batch, under a check that the worker still holds the
//! lease and that the cursor is where the worker left it, so a crash at any point leads to the
//! batch being scored and written again by the next owner, never to a lost or a second
//! verdict. `redis::Script` calls them by hash and loads them again where a restarted server
//! has forgotten them.

use redis::Script;

use super::nodes::Nodes;
use super::{Fail, Redis};

/// Writes a batch of a partition's verdicts as one output entry and moves its cursor past the
/// batch's input entries, if the caller holds the lease (else -1) and the cursor is at the
/// entry the batch follows (else -2: the batch, or a later one, was written already).
///
/// KEYS: lease, cursor, out, parts. ARGV: worker, cursor expected, new cursor entry, its
/// last line, the number of verdicts, their line numbers (space-separated), the verdicts (one
/// a line), then the `parts` fields to delete (the partials merged into those verdicts). The
/// output entry's id is its last line's number (`n-0`), so the entry holding a line is the
/// first at or after `n-0`; the cursor hash counts the verdicts written (`verdicts`).
const COMMIT: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if (redis.call('HGET', KEYS[2], 'id') or '0-0') ~= ARGV[2] then return -2 end
local count = tonumber(ARGV[5])
if count > 0 then
  local last = string.match(ARGV[6], '(%d+)$')
  redis.call('XADD', KEYS[3], last .. '-0', 'lines', ARGV[6], 'verdicts', ARGV[7])
end
local i = 8
while i <= #ARGV do
  local j = math.min(i + 999, #ARGV)
  redis.call('HDEL', KEYS[4], unpack(ARGV, i, j))
  i = j + 1
end
redis.call('HSET', KEYS[2], 'id', ARGV[3], 'line', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'verdicts', count)
return 1
";

/// Hands partials of lines to the partition that merges them (their home), unless the home
/// has written the line already (a partial sent again after a crash must not linger): one
/// HSET for the batch. KEYS: the home's cursor and parts. ARGV: `n field partial` for each.
const CONTRIBUTE: &str = r"
local written = tonumber(redis.call('HGET', KEYS[1], 'line') or '0')
local set = {}
for i = 1, #ARGV, 3 do
  if tonumber(ARGV[i]) > written then
    table.insert(set, ARGV[i + 1])
    table.insert(set, ARGV[i + 2])
  end
end
for i = 1, #set, 1000 do
  redis.call('HSET', KEYS[2], unpack(set, i, math.min(i + 999, #set)))
end
return 0
";

/// Takes a lease that is free or already this worker's (after a reconnection), for ARGV[2]
/// ms; 1 if taken.
const ACQUIRE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
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

/// What a commit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Committed {
    Yes,
    /// The lease is another worker's, or has expired.
    LeaseLost,
    /// The cursor moved: another worker wrote this partition meanwhile.
    CursorMoved,
}

/// The scripts.
pub(super) struct Scripts {
    commit: Script,
    contribute: Script,
    acquire: Script,
    renew: Script,
    release: Script,
    heartbeat: Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        Scripts {
            commit: Script::new(COMMIT),
            contribute: Script::new(CONTRIBUTE),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            heartbeat: Script::new(HEARTBEAT),
        }
    }

    /// The commit script (see [`COMMIT`]) with its keys in place; the caller adds the
    /// arguments and calls [`Scripts::committed`].
    pub(super) fn commit(&self, keys: [String; 4]) -> redis::ScriptInvocation<'_> {
        let mut call = self.commit.prepare_invoke();
        for k in keys {
            call.key(k);
        }
        call
    }

    /// Runs a commit prepared by [`Scripts::commit`] on the node of `slot`.
    pub(super) fn committed(
        &self,
        nodes: &mut Nodes,
        slot: u16,
        call: &redis::ScriptInvocation<'_>,
    ) -> Result<Committed, Fail> {
        let r: i64 = call.invoke(nodes.at(slot)).redis("committing a batch")?;
        Ok(match r {
            1 => Committed::Yes,
            -1 => Committed::LeaseLost,
            _ => Committed::CursorMoved,
        })
    }

    /// Hands `(n, field, partial)` triples to a home partition (see [`CONTRIBUTE`]).
    pub(super) fn contribute(
        &self,
        nodes: &mut Nodes,
        slot: u16,
        cursor: &str,
        parts: &str,
        items: &[(u64, String, &str)],
    ) -> Result<(), Fail> {
        let mut call = self.contribute.prepare_invoke();
        call.key(cursor).key(parts);
        for (n, field, partial) in items {
            call.arg(n).arg(field).arg(partial);
        }
        call.invoke::<i64>(nodes.at(slot)).map(drop).redis("handing partials over")
    }

    /// Takes `key` for `name` for `ms` if free or already `name`'s.
    pub(super) fn acquire(&self, nodes: &mut Nodes, key: &str, name: &str, ms: u64) -> Result<bool, Fail> {
        let r: i64 = self.acquire.key(key).arg(name).arg(ms).invoke(nodes.for_key(key)).redis("lease")?;
        Ok(r == 1)
    }

    /// Extends `name`'s lease on `key` to `ms` from now; false if it is not `name`'s.
    pub(super) fn renew(&self, nodes: &mut Nodes, key: &str, name: &str, ms: u64) -> Result<bool, Fail> {
        let r: i64 =
            self.renew.key(key).arg(name).arg(ms).invoke(nodes.for_key(key)).redis("lease renewal")?;
        Ok(r == 1)
    }

    /// Gives up `name`'s lease on `key`, if it holds it.
    pub(super) fn release(&self, nodes: &mut Nodes, key: &str, name: &str) -> Result<(), Fail> {
        self.release.key(key).arg(name).invoke::<i64>(nodes.for_key(key)).map(drop).redis("lease release")
    }

    /// Records `name`'s heartbeat (or its leaving), forgets workers silent for `window_ms`,
    /// and returns the number of live workers.
    pub(super) fn heartbeat(
        &self,
        nodes: &mut Nodes,
        key: &str,
        name: &str,
        window_ms: u64,
        alive: bool,
    ) -> Result<u32, Fail> {
        self.heartbeat
            .key(key)
            .arg(name)
            .arg(window_ms)
            .arg(u8::from(alive))
            .invoke(nodes.for_key(key))
            .redis("heartbeat")
    }
}
