//! The names of everything a run keeps in Redis, in one place, and the cluster slot of each.
//!
//! Every key starts with the run's prefix (`--prefix`, default `fanzha`), so several runs can
//! share one server and `fanzha route --reset` can find a run's keys with one pattern. A
//! partition's keys share a hash tag (`{…}`), so on Redis Cluster they live in one slot and a
//! script may touch all of them; different partitions' tags are chosen to fall evenly over
//! the 16,384 slots, so partitions spread over the shards as evenly as they can:
//!
//! | key | type | what |
//! |---|---|---|
//! | `{prefix}:meta` | hash | `format`, `partitions`, `rules` (the rule-set version), `fields` (JSON array), and `lines` once routing is over |
//! | `{prefix}:workers` | sorted set | worker names scored by their last heartbeat (server time, ms) |
//! | `{prefix}:{T}:in` | stream | partition `T`'s input: entry `n-0` holds routed lines from line `n` on (see `wire`) |
//! | `{prefix}:{T}:out` | stream | partition `T`'s verdicts, in input order, a batch an entry: id `n-0` (the batch's last line), fields `lines` (line numbers, space-separated) and `verdicts` (the output records, one a line) |
//! | `{prefix}:{T}:cursor` | hash | `id`, `line`: the last input entry whose results are written, and its last line; `verdicts`: how many this partition wrote |
//! | `{prefix}:{T}:lease` | string | the name of the worker that owns the partition, with an expiry |
//! | `{prefix}:{T}:parts` | hash | `n:q` → partition `q`'s partial of line `n`, for a line this partition merges |
//!
//! `T` is the partition's tag: its number, a dot and a salt (`3.41`).

/// Slots of a Redis Cluster.
pub(super) const SLOTS: u16 = 16384;

/// Above this many partitions tags are not spread (the search would cost more than it gives:
/// each partition then has about 16 slots of its own anyway).
const SPREAD_UP_TO: u32 = 4096;

/// The keys of one run.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
    /// Each partition's hash tag.
    tags: Vec<String>,
}

impl Keys {
    /// The keys of a run with `partitions` partitions (0 while it is not known yet: only the
    /// run's own keys, `meta` and `workers`, may be asked for).
    pub(super) fn new(prefix: &str, partitions: u32) -> Keys {
        Keys { prefix: prefix.to_string(), tags: (0..partitions).map(|p| tag(p, partitions)).collect() }
    }

    /// Partitions the keys are for.
    pub(super) fn partitions(&self) -> u32 {
        self.tags.len() as u32
    }

    pub(super) fn meta(&self) -> String {
        format!("{}:meta", self.prefix)
    }

    pub(super) fn workers(&self) -> String {
        format!("{}:workers", self.prefix)
    }

    fn of(&self, p: u32, what: &str) -> String {
        format!("{}:{{{}}}:{what}", self.prefix, self.tags[p as usize])
    }

    pub(super) fn input(&self, p: u32) -> String {
        self.of(p, "in")
    }

    pub(super) fn out(&self, p: u32) -> String {
        self.of(p, "out")
    }

    pub(super) fn cursor(&self, p: u32) -> String {
        self.of(p, "cursor")
    }

    pub(super) fn lease(&self, p: u32) -> String {
        self.of(p, "lease")
    }

    pub(super) fn parts(&self, p: u32) -> String {
        self.of(p, "parts")
    }

    /// The cluster slot of partition `p`'s keys.
    pub(super) fn slot(&self, p: u32) -> u16 {
        slot_of(&self.tags[p as usize])
    }

    /// A SCAN pattern matching every key of the run and no other run's (glob characters in
    /// the prefix are escaped).
    pub(super) fn pattern(&self) -> String {
        let mut s = String::with_capacity(self.prefix.len() + 2);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                s.push('\\');
            }
            s.push(c);
        }
        s.push_str(":*");
        s
    }
}

/// Partition `p`'s hash tag among `n`: `p.s` with the smallest salt `s` whose slot falls in
/// the `p`-th of `n` equal ranges of slots. A cluster's shards hold ranges of slots (equal
/// ones when made by `redis-cli --cluster create`), so the partitions spread over them evenly.
fn tag(p: u32, n: u32) -> String {
    if n > SPREAD_UP_TO {
        return format!("{p}.0");
    }
    let lo = u64::from(p) * u64::from(SLOTS) / u64::from(n);
    let hi = (u64::from(p) + 1) * u64::from(SLOTS) / u64::from(n);
    (0u32..)
        .map(|s| format!("{p}.{s}"))
        .find(|t| (lo..hi).contains(&u64::from(slot_of(t))))
        .unwrap_or_else(|| format!("{p}.0"))
}

/// The cluster slot of a key: CRC16 (XMODEM) of its hash tag, the text between the first `{`
/// and the next `}` when that is not empty, or of the whole key.
pub(super) fn slot_of(key: &str) -> u16 {
    let b = key.as_bytes();
    let hashed = match b.iter().position(|&c| c == b'{') {
        Some(open) => match b[open + 1..].iter().position(|&c| c == b'}') {
            Some(len) if len > 0 => &b[open + 1..open + 1 + len],
            _ => b,
        },
        None => b,
    };
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_escapes_glob_characters() {
        assert_eq!(Keys::new("fanzha", 0).pattern(), "fanzha:*");
        assert_eq!(Keys::new("a*b[1]", 0).pattern(), "a\\*b\\[1\\]:*");
    }

    #[test]
    fn slots_follow_redis_cluster() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot_of("123456789"), 12739);
        assert_eq!(slot_of("foo"), 12182);
        assert_eq!(slot_of("{user1000}.following"), slot_of("user1000"));
        assert_eq!(slot_of("foo{}{bar}"), slot_of("foo{}{bar}"));
        assert_ne!(slot_of("foo{}{bar}"), slot_of("bar"));
    }

    #[test]
    fn a_partition_s_keys_share_a_slot_and_partitions_spread() {
        let keys = Keys::new("fanzha", 8);
        for p in 0..8 {
            let s = keys.slot(p);
            for k in [keys.input(p), keys.out(p), keys.cursor(p), keys.lease(p), keys.parts(p)] {
                assert_eq!(slot_of(&k), s, "{k}");
                assert!(k.starts_with("fanzha:{"), "{k}");
            }
            // The p-th eighth of the slots.
            assert_eq!(u32::from(s) * 8 / u32::from(SLOTS), p, "partition {p} in slot {s}");
        }
        // Three shards of equal slot ranges get 2 or 3 of 8 partitions each.
        let mut per_shard = [0; 3];
        for p in 0..8 {
            per_shard[usize::from(keys.slot(p)) * 3 / usize::from(SLOTS)] += 1;
        }
        assert!(per_shard.iter().all(|&k| k == 2 || k == 3), "{per_shard:?}");
    }
}
