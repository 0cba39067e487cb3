//! fanzha on Redis Streams: one stream scored by many workers, on one Redis server or a Redis
//! Cluster, with the verdicts `fanzha scan` gives, each written exactly once. This is the
//! runtime of the `fanzha route`, `fanzha consume` and `fanzha collect` commands (the crate
//! `fanzha-cli` parses their arguments into [`RedisOptions`], [`route::Options`],
//! [`consume::Options`] and [`collect::Options`]):
//!
//! * [`route::run`] splits a stream into partitions, an input stream each;
//! * [`consume::run`] is one of any number of workers that share the partitions through
//!   leases and write each partition's verdicts to its own output stream, in batches;
//! * [`collect::run`] merges the output streams back into input order and checks there is one
//!   verdict a line.
//!
//! Why it is split this way:
//!
//! * **route** is the one sequential step. Lateness, the time of an undated event and the
//!   expiry of state depend on the whole stream's clock, so `route` reads the input once, in
//!   order, places every event on one [`fanzha::StreamClock`], and appends it to the input
//!   stream of every partition [`fanzha::Partitioning::route`] names, placement included,
//!   thousands of lines an entry and the entries pipelined. Each partition's stream is then a
//!   self-contained, ordered input for one monitor.
//! * **consume**: partitions are independent, as in Kafka Streams or Flink. A partition's
//!   monitor state is a pure function of its stream's prefix, so its owner (a lease, see
//!   `lease`) can be replaced at any time by a worker that replays the stream up to the
//!   partition's cursor. Each partition writes its own output stream and cursor, a batch at a
//!   time, in one script call that also checks the lease and the cursor (see `partition` and
//!   `scripts`), so a crash anywhere leads to a batch written again by the next owner and
//!   never twice. The one cross-partition step is the join of an event keyed into several
//!   partitions: the partials meet at its home partition (its smallest), which merges them
//!   ([`fanzha::Scanner::merge`]); no partition's write waits for another's.
//! * **Redis Cluster**: a partition's keys share a hash tag, and the tags spread over the
//!   cluster's slots (see `keys`), so every script touches one slot and the partitions spread
//!   over the shards; a worker talks to each primary directly (see `nodes`) and follows a
//!   moved slot or a restarted shard by reconnecting.
//! * **collect** merges the partitions' output streams (each in input order) with a k-way
//!   merge in bounded memory, and checks that every line has exactly one verdict.
//!
//! The key names are in `keys`; the wire format of the streams in `wire`.

pub mod collect;
pub mod consume;
mod keys;
mod lease;
mod metrics;
mod nodes;
mod partition;
pub mod route;
mod scripts;
mod wire;

use std::collections::HashMap;
use std::fmt;

use keys::Keys;
use nodes::Nodes;

/// The format of a run's keys; a worker refuses a run routed in another.
const FORMAT: &str = "2";

/// Where the run's Redis is, and which of its keys are the run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// The Redis server, or any node of a Redis Cluster, as
    /// `redis://[user:password@]host[:port][/db]`.
    pub url: String,
    /// Prefix of every key of the run, so several runs can share a server.
    pub prefix: String,
}

impl Default for RedisOptions {
    /// `redis://127.0.0.1:6379`, prefix `fanzha`.
    fn default() -> RedisOptions {
        RedisOptions { url: "redis://127.0.0.1:6379".into(), prefix: "fanzha".into() }
    }
}

impl RedisOptions {
    /// Connections to the server, or to every primary of the cluster (each given up after 5 s
    /// of trying). Reads and writes have no timeout: on Linux a socket call with one fails
    /// with EINTR when the process is stopped and continued (a debugger, a frozen container),
    /// and a worker must survive that. Every call returns at once (no command blocks), so a
    /// hang means the server stopped answering, and the worker's leases pass to others
    /// meanwhile.
    fn connect(&self) -> Result<Nodes, Fail> {
        if self.prefix.contains(['{', '}']) {
            return Err(Fail::Other(format!(
                "--prefix {} has a brace: braces mark a key's hash tag on Redis Cluster",
                self.prefix
            )));
        }
        Nodes::connect(&self.url)
    }
}

/// The rules a worker scores with: an engine already loaded, or a compiled bundle (`fanzha
/// compile`) that is loaded only once its header's rule-set version matches the one the run
/// was routed with, so a worker handed the wrong bundle fails at once, with both versions
/// named, instead of after loading it.
pub struct Rules {
    /// The rule-set version: the engine's, or the bundle header's.
    version: String,
    /// Where the rules came from, for messages (empty for an engine).
    source: String,
    state: RulesState,
}

enum RulesState {
    Loaded(fanzha::Engine),
    Bundle { bytes: Vec<u8>, limits: fanzha::Limits },
}

impl Rules {
    /// A bundle's bytes, read from `path`: its header is read and checked (signature, format,
    /// checksum) now, the rules loaded under `limits` when the worker needs them. Errors name
    /// `path`.
    pub fn bundle(path: &std::path::Path, bytes: Vec<u8>, limits: fanzha::Limits) -> Result<Rules, String> {
        let info = fanzha::BundleInfo::read(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Rules {
            version: info.rules_version,
            source: path.display().to_string(),
            state: RulesState::Bundle { bytes, limits },
        })
    }

    /// The rule-set version (`Engine::version`), known before a bundle is loaded.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The engine, loading a bundle the first time.
    fn engine(&mut self) -> Result<&fanzha::Engine, Fail> {
        if let RulesState::Bundle { bytes, limits } = &self.state {
            let engine = fanzha::Engine::from_bundle_with_limits(bytes, limits)
                .map_err(|e| Fail::Other(format!("{}: {e}", self.source)))?;
            if engine.version() != self.version {
                return Err(Fail::Other(format!(
                    "{}: the header says rules {}, the bundle holds {}",
                    self.source,
                    self.version,
                    engine.version()
                )));
            }
            self.state = RulesState::Loaded(engine);
        }
        match &self.state {
            RulesState::Loaded(engine) => Ok(engine),
            RulesState::Bundle { .. } => unreachable!("loaded above"),
        }
    }

    /// "rules V", or "rules V (bundle PATH)".
    fn describe(&self) -> String {
        if self.source.is_empty() {
            format!("rules {}", self.version)
        } else {
            format!("rules {} (bundle {})", self.version, self.source)
        }
    }
}

impl From<fanzha::Engine> for Rules {
    fn from(engine: fanzha::Engine) -> Rules {
        Rules {
            version: engine.version().to_string(),
            source: String::new(),
            state: RulesState::Loaded(engine),
        }
    }
}

/// Why a step failed: Redis (which a worker may survive by reconnecting, if it is a lost
/// connection or a cluster in flux) or anything else.
#[derive(Debug)]
enum Fail {
    Redis(String, redis::RedisError),
    Other(String),
}

impl Fail {
    /// Whether reconnecting may help: the connection dropped or was refused, or the cluster
    /// is moving slots, starting, or lost a script cache with a restart.
    fn transient(&self) -> bool {
        match self {
            Fail::Redis(_, e) => {
                e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_timeout()
                    || e.redirect_node().is_some()
                    || matches!(
                        e.code(),
                        Some(
                            "MOVED"
                                | "ASK"
                                | "TRYAGAIN"
                                | "CLUSTERDOWN"
                                | "LOADING"
                                | "MASTERDOWN"
                                | "NOSCRIPT"
                        )
                    )
                    || wrapped_transient(&e.to_string())
            }
            Fail::Other(_) => false,
        }
    }
}

/// Whether an error's text names a transient cluster state: a pipeline's failure carries its
/// command's error inside its own text, without the code.
fn wrapped_transient(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["clusterdown", "cluster is down", "tryagain", "loading", "masterdown", "noscript", "moved ", "ask "]
        .iter()
        .any(|code| text.contains(code))
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Redis(what, e) => write!(f, "Redis {what}: {e}"),
            Fail::Other(s) => f.write_str(s),
        }
    }
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail::Other(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail::Other(s.to_string())
    }
}

/// Says what was being done when a Redis call failed.
trait Redis<T> {
    fn redis(self, what: &str) -> Result<T, Fail>;
}

impl<T> Redis<T> for redis::RedisResult<T> {
    fn redis(self, what: &str) -> Result<T, Fail> {
        self.map_err(|e| Fail::Redis(what.to_string(), e))
    }
}

/// What `fanzha route` recorded about a run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    partitions: u32,
    /// The version of the rule set the stream was routed with (`Engine::version`).
    rules: String,
    /// The key fields the stream was partitioned by.
    fields: Vec<String>,
    /// Input lines in all, once routing is over.
    lines: Option<u64>,
}

impl Meta {
    /// The run's meta hash, or `None` if nothing was routed under this prefix.
    fn read(nodes: &mut Nodes, keys: &Keys) -> Result<Option<Meta>, Fail> {
        let key = keys.meta();
        let map: HashMap<String, String> =
            redis::cmd("HGETALL").arg(&key).query(nodes.for_key(&key)).redis("HGETALL meta")?;
        if map.is_empty() {
            return Ok(None);
        }
        if map.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(Fail::Other(format!(
                "{key} was written by another version of fanzha route: route the stream again (--reset)"
            )));
        }
        let bad = |field: &str| {
            Fail::Other(format!("{key} has no valid `{field}`: was it written by `fanzha route`?"))
        };
        let partitions =
            map.get("partitions").and_then(|s| s.parse().ok()).ok_or_else(|| bad("partitions"))?;
        let rules = map.get("rules").cloned().ok_or_else(|| bad("rules"))?;
        let fields =
            map.get("fields").and_then(|s| serde_json::from_str(s).ok()).ok_or_else(|| bad("fields"))?;
        let lines = match map.get("lines") {
            None => None,
            Some(s) => Some(s.parse().map_err(|_| bad("lines"))?),
        };
        Ok(Some(Meta { partitions, rules, fields, lines }))
    }

    /// Writes everything but `lines`.
    fn write(&self, nodes: &mut Nodes, keys: &Keys) -> Result<(), Fail> {
        let fields = serde_json::to_string(&self.fields).unwrap_or_default();
        let key = keys.meta();
        redis::cmd("HSET")
            .arg(&key)
            .arg("format")
            .arg(FORMAT)
            .arg("partitions")
            .arg(self.partitions)
            .arg("rules")
            .arg(&self.rules)
            .arg("fields")
            .arg(fields)
            .query::<i64>(nodes.for_key(&key))
            .map(drop)
            .redis("HSET meta")
    }
}

/// Verdicts written, over every partition (counted in the cursors).
fn written(nodes: &mut Nodes, keys: &Keys) -> Result<u64, Fail> {
    let mut total = 0;
    for p in 0..keys.partitions() {
        let key = keys.cursor(p);
        let n: Option<u64> =
            redis::cmd("HGET").arg(&key).arg("verdicts").query(nodes.for_key(&key)).redis("HGET cursor")?;
        total += n.unwrap_or(0);
    }
    Ok(total)
}
