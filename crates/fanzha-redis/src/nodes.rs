//! Connections to one Redis server or to every primary of a Redis Cluster, and which one
//! holds a key.
//!
//! The worker sends a partition's commands to the node that holds the partition's slot
//! itself, one connection per node, rather than through a cluster client: it pipelines
//! per node, and after a shard restarts or the slots move it reconnects and reads the slot
//! map again as one step (`Nodes::refresh`). A server that is not a cluster holds every slot.

use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, Value};

use super::keys::{slot_of, SLOTS};
use super::{Fail, Redis};

/// A connection to each node, and the slot map.
pub(super) struct Nodes {
    /// The address and credentials given (`--redis`).
    seed: ConnectionInfo,
    /// The node of each slot, as an index into `cons` (all 0 on a single server).
    node_of: Vec<u16>,
    cons: Vec<redis::Connection>,
    /// The nodes' addresses, for messages.
    addrs: Vec<String>,
    cluster: bool,
}

/// How long a connection is tried before giving up.
const CONNECT: Duration = Duration::from_secs(5);

impl Nodes {
    /// Connects to the server at `url` and, if it is part of a cluster, to every primary.
    pub(super) fn connect(url: &str) -> Result<Nodes, Fail> {
        let seed = redis::Client::open(url)
            .map_err(|e| Fail::Other(format!("cannot connect to Redis at {url}: {e}")))?
            .get_connection_info()
            .clone();
        // An unreachable URL is a mistake to report at once; a cluster whose other nodes are
        // down or starting is a state to wait out (a `Fail::Redis`, which callers retry).
        open(&seed).map_err(|e| match e {
            Fail::Redis(_, e) => Fail::Other(format!("cannot connect to Redis at {url}: {e}")),
            other => other,
        })?;
        let mut nodes =
            Nodes { seed, node_of: Vec::new(), cons: Vec::new(), addrs: Vec::new(), cluster: false };
        nodes.refresh()?;
        Ok(nodes)
    }

    /// Reconnects and reads the slot map again.
    pub(super) fn refresh(&mut self) -> Result<(), Fail> {
        self.cons.clear();
        self.addrs.clear();
        let mut first = open(&self.seed)?;
        let slots: redis::RedisResult<Value> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut first);
        let ranges = match slots {
            Ok(v) => parse_slots(v, &self.seed)?,
            // A server without cluster support holds every slot.
            Err(e) if e.to_string().contains("cluster support disabled") => Vec::new(),
            Err(e) => return Err(Fail::Redis("CLUSTER SLOTS".into(), e)),
        };
        self.cluster = !ranges.is_empty();
        if !self.cluster {
            self.addrs.push(addr_text(self.seed.addr()));
            self.cons.push(first);
            self.node_of = vec![0; usize::from(SLOTS)];
            return Ok(());
        }
        let mut node_of = vec![u16::MAX; usize::from(SLOTS)];
        for (lo, hi, addr) in ranges {
            let i = match self.addrs.iter().position(|a| *a == addr_text(&addr)) {
                Some(i) => i,
                None => {
                    let info = self.seed.clone().set_addr(addr.clone());
                    self.cons.push(open(&info)?);
                    self.addrs.push(addr_text(&addr));
                    self.cons.len() - 1
                }
            };
            for s in lo..=hi.min(SLOTS - 1) {
                node_of[usize::from(s)] = i as u16;
            }
        }
        if node_of.contains(&u16::MAX) {
            return Err(Fail::Redis(
                "CLUSTER SLOTS".into(),
                redis::RedisError::from((redis::ErrorKind::Io, "the cluster does not cover every slot")),
            ));
        }
        self.node_of = node_of;
        Ok(())
    }

    /// Whether the server is a cluster.
    pub(super) fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The node holding `slot`, as an index for [`Nodes::con`].
    pub(super) fn node(&self, slot: u16) -> usize {
        usize::from(self.node_of[usize::from(slot % SLOTS)])
    }

    /// Nodes connected to.
    pub(super) fn len(&self) -> usize {
        self.cons.len()
    }

    /// The connection to node `i`.
    pub(super) fn con(&mut self, i: usize) -> &mut redis::Connection {
        &mut self.cons[i]
    }

    /// The connection to the node that holds `slot`.
    pub(super) fn at(&mut self, slot: u16) -> &mut redis::Connection {
        let i = self.node(slot);
        &mut self.cons[i]
    }

    /// The connection to the node that holds `key`.
    pub(super) fn for_key(&mut self, key: &str) -> &mut redis::Connection {
        self.at(slot_of(key))
    }
}

fn open(info: &ConnectionInfo) -> Result<redis::Connection, Fail> {
    redis::Client::open(info.clone())
        .and_then(|c| c.get_connection_with_timeout(CONNECT))
        .redis(&format!("connecting to {}", addr_text(info.addr())))
}

fn addr_text(a: &ConnectionAddr) -> String {
    match a {
        ConnectionAddr::Tcp(h, p) => format!("{h}:{p}"),
        other => format!("{other:?}"),
    }
}

/// The primaries' slot ranges from a `CLUSTER SLOTS` reply. A node given with an empty host
/// is on the host connected to.
fn parse_slots(v: Value, seed: &ConnectionInfo) -> Result<Vec<(u16, u16, ConnectionAddr)>, Fail> {
    let bad = || Fail::Other("unexpected CLUSTER SLOTS reply".into());
    let Value::Array(rows) = v else { return Err(bad()) };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Value::Array(row) = row else { return Err(bad()) };
        let int = |v: &Value| match v {
            Value::Int(i) => u16::try_from(*i).ok(),
            _ => None,
        };
        let (Some(lo), Some(hi), Some(Value::Array(node))) =
            (row.first().and_then(int), row.get(1).and_then(int), row.get(2))
        else {
            return Err(bad());
        };
        let host = node.first().cloned().and_then(super::wire::text).ok_or_else(bad)?;
        let port = node.get(1).and_then(int).ok_or_else(bad)?;
        let host = match (host.is_empty(), seed.addr()) {
            (true, ConnectionAddr::Tcp(seed_host, _)) => seed_host.clone(),
            _ => host,
        };
        let addr = ConnectionAddr::Tcp(host, port);
        out.push((lo, hi, addr));
    }
    Ok(out)
}
