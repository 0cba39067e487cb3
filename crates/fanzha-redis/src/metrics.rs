//! A `fanzha consume` worker's metrics, served to Prometheus over HTTP (`--metrics ADDR`).
//!
//! A worker runs unattended beside others that share the partitions with it, so its operator
//! needs to see from outside what it is doing: how far behind each partition it holds is (lag),
//! how fast it scores and commits (throughput, and how long a batch's write to Redis takes),
//! what it found (verdicts by level), and which errors it survived (Redis errors, lost leases,
//! partitions taken over and rebuilt by replay) that would otherwise be visible only as a
//! slowdown. Prometheus scrapes `GET /metrics`; everything else is 404.
//!
//! The worker's hot loop only bumps atomics: counters it updates per event are created once
//! here and kept, so an update takes no lock and allocates nothing. The exposition is written
//! by `prometheus-client`'s encoder and served by `tiny_http` on a thread of its own, so a slow
//! or broken scraper never stalls the worker.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use fanzha::Level;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use tiny_http::{Header, Method, Request, Response, Server};

/// What the encoder writes: the OpenMetrics text format, which Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A gauge of counts (entries, leases, partitions): never negative.
type Count = Gauge<u64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    worker: String,
    rules: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LevelLabel {
    level: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabel {
    partition: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// One worker's metrics, shared as `Arc<Metrics>` between its loop (which updates them) and
/// the thread [`Metrics::serve`] starts (which encodes them on every scrape).
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Every metric below, registered once in [`Metrics::new`]; the fields are handles to the
    /// same atomics (a metric's clone shares its value).
    registry: Registry,
    events_scored: Counter,
    /// By level, in `Level`'s order: created up front so all four series exist from the first
    /// scrape (a `rate()` over a series that appears late misses its first increase).
    verdicts: [Counter; 4],
    line_errors: Counter,
    lag: Family<PartitionLabel, Count>,
    leases: Count,
    rebuilds: Counter,
    replayed: Counter,
    redis_errors: Family<KindLabel, Counter>,
    commit_batch: Histogram,
    committed: Counter,
}

impl Metrics {
    /// The metrics of worker `worker` scoring with rules `rules_version`, in a run of
    /// `partitions` partitions.
    pub(crate) fn new(worker: &str, rules_version: &str, partitions: u32) -> Arc<Metrics> {
        let mut registry = Registry::default();

        // Which worker and rules these are, as labels of a constant 1, so dashboards can join
        // on them and see a rules change as a label change.
        let info = Family::<InfoLabels, Count>::default();
        info.get_or_create(&InfoLabels { worker: worker.to_owned(), rules: rules_version.to_owned() }).set(1);
        registry.register("fanzha_info", "The worker's name and its rules' version", info);

        let total = Count::default();
        total.set(u64::from(partitions));
        registry.register("fanzha_partitions", "Partitions in the run, held by this worker or others", total);

        // Counters are registered without `_total`: the encoder adds it.
        let events_scored = Counter::default();
        registry.register("fanzha_events_scored", "Input events scored", events_scored.clone());

        let verdict_family = Family::<LevelLabel, Counter>::default();
        let verdicts = [Level::None, Level::Notice, Level::Warn, Level::Block]
            .map(|level| verdict_family.get_or_create_owned(&LevelLabel { level: level.as_str() }));
        registry.register("fanzha_verdicts", "Verdicts by level", verdict_family);

        let line_errors = Counter::default();
        registry.register(
            "fanzha_line_errors",
            "Input lines answered with an error record instead of a verdict",
            line_errors.clone(),
        );

        let lag = Family::<PartitionLabel, Count>::default();
        registry.register(
            "fanzha_partition_lag_entries",
            "Input entries not yet committed, for each partition this worker holds",
            lag.clone(),
        );

        let leases = Count::default();
        registry.register("fanzha_leases_held", "Partition leases this worker holds", leases.clone());

        let rebuilds = Counter::default();
        registry.register(
            "fanzha_partition_rebuilds",
            "Partitions taken over and their state rebuilt by replaying their stream",
            rebuilds.clone(),
        );
        let replayed = Counter::default();
        registry.register(
            "fanzha_replayed_entries",
            "Entries replayed to rebuild taken-over partitions",
            replayed.clone(),
        );

        let redis_errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "fanzha_redis_errors",
            "Redis errors the worker survived, by kind",
            redis_errors.clone(),
        );
        // Both kinds from the start, so an alert on their rate has a series to watch.
        for kind in ["connection", "lease_lost"] {
            let _ = redis_errors.get_or_create(&KindLabel { kind });
        }

        // From half a millisecond (a local Redis) to about 8 s (a Redis in trouble).
        let commit_batch = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register_with_unit(
            "fanzha_commit_batch",
            "Time to write one batch of results to Redis",
            Unit::Seconds,
            commit_batch.clone(),
        );
        let committed = Counter::default();
        registry.register("fanzha_committed_entries", "Input entries committed", committed.clone());

        Arc::new(Metrics {
            registry,
            events_scored,
            verdicts,
            line_errors,
            lag,
            leases,
            rebuilds,
            replayed,
            redis_errors,
            commit_batch,
            committed,
        })
    }

    /// `events` more input events scored.
    pub(crate) fn scored(&self, events: u64) {
        self.events_scored.inc_by(events);
    }

    /// One more verdict of `level`.
    pub(crate) fn verdict(&self, level: Level) {
        let i = match level {
            Level::None => 0,
            Level::Notice => 1,
            Level::Warn => 2,
            Level::Block => 3,
        };
        self.verdicts[i].inc();
    }

    /// One more line answered with a `{"line":N,"error":..}` record.
    pub(crate) fn line_error(&self) {
        self.line_errors.inc();
    }

    /// Partition `partition`, held by this worker, has `entries` input entries not yet
    /// committed.
    pub(crate) fn lag(&self, partition: u32, entries: u64) {
        self.lag.get_or_create(&PartitionLabel { partition }).set(entries);
    }

    /// This worker no longer holds `partition`: its lag is another worker's to report, and a
    /// stale series here would show a lag that nobody is working off.
    pub(crate) fn forget(&self, partition: u32) {
        self.lag.remove(&PartitionLabel { partition });
    }

    /// This worker now holds `held` leases.
    pub(crate) fn leases(&self, held: usize) {
        self.leases.set(held as u64);
    }

    /// A partition was taken over and its state rebuilt by replaying `replayed_entries`.
    pub(crate) fn rebuild(&self, replayed_entries: u64) {
        self.rebuilds.inc();
        self.replayed.inc_by(replayed_entries);
    }

    /// The worker survived a Redis error of `kind` (e.g. "connection", "lease_lost", "other").
    pub(crate) fn redis_error(&self, kind: &'static str) {
        self.redis_errors.get_or_create(&KindLabel { kind }).inc();
    }

    /// A batch of `entries` was written to Redis in `seconds`.
    pub(crate) fn batch(&self, entries: u64, seconds: f64) {
        self.commit_batch.observe(seconds);
        self.committed.inc_by(entries);
    }

    /// Serves `GET /metrics` on `addr` (e.g. "127.0.0.1:9464", or port 0 for any free port)
    /// from a background thread named `fanzha-metrics`, and returns the address bound. The
    /// socket is listening when this returns, so a scrape right after it succeeds. The thread
    /// lives as long as the process (a worker serves its metrics until it exits).
    pub(crate) fn serve(self: &Arc<Self>, addr: &str) -> Result<SocketAddr, String> {
        // Bound here rather than by tiny_http, to name the address in the error and to know
        // the port when `addr` asked for any.
        let listener = TcpListener::bind(addr).map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
        let server = Server::from_listener(listener, None)
            .map_err(|e| format!("cannot serve metrics on {bound}: {e}"))?;
        let metrics = Arc::clone(self);
        std::thread::Builder::new()
            .name("fanzha-metrics".to_owned())
            .spawn(move || {
                for request in server.incoming_requests() {
                    metrics.answer(request);
                }
            })
            .map_err(|e| format!("cannot start the metrics server on {bound}: {e}"))?;
        Ok(bound)
    }

    /// Answers one request. tiny_http has already answered requests it could not parse; a
    /// scraper that hung up before its answer is no concern of the worker's, so a failed
    /// response is dropped.
    fn answer(&self, request: Request) {
        let path = request.url().split('?').next().unwrap_or_default();
        let response = if path != "/metrics" {
            Response::from_string("not found: metrics are at /metrics\n").with_status_code(404)
        } else if !matches!(request.method(), Method::Get | Method::Head) {
            with_header(
                Response::from_string("method not allowed\n").with_status_code(405),
                "Allow",
                "GET, HEAD",
            )
        } else {
            let mut body = String::new();
            match encode(&mut body, &self.registry) {
                Ok(()) => with_header(Response::from_string(body), "Content-Type", CONTENT_TYPE),
                Err(_) => Response::from_string("cannot encode the metrics\n").with_status_code(500),
            }
        };
        let _ = request.respond(response);
    }
}

/// `response` with the header `name: value` (both constants here, so always valid).
fn with_header<R: std::io::Read>(response: Response<R>, name: &str, value: &str) -> Response<R> {
    match Header::from_bytes(name, value) {
        Ok(header) => response.with_header(header),
        Err(()) => response,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::*;

    /// The raw HTTP/1.0 answer (status line, headers, body) to `request_line` sent to `addr`.
    fn request(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        // A bound on a hung server, so a broken test fails instead of hanging.
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    fn get(addr: SocketAddr, path: &str) -> String {
        request(addr, &format!("GET {path} HTTP/1.0\r\n\r\n"))
    }

    /// The status code of an HTTP answer.
    fn status(answer: &str) -> &str {
        answer.split(' ').nth(1).unwrap_or_default()
    }

    /// Whether the exposition has `line` as one of its lines.
    fn has(answer: &str, line: &str) -> bool {
        answer.lines().any(|l| l == line)
    }

    #[test]
    fn scrape_shows_what_the_worker_reported() {
        let metrics = Metrics::new("w\"1", "rules-v7", 8);
        let addr = metrics.serve("127.0.0.1:0").unwrap();
        assert_ne!(addr.port(), 0);

        metrics.scored(3);
        metrics.scored(2);
        metrics.verdict(Level::Warn);
        metrics.verdict(Level::Warn);
        metrics.verdict(Level::Block);
        metrics.line_error();
        metrics.lag(3, 42);
        metrics.lag(5, 0);
        metrics.leases(2);
        metrics.rebuild(40);
        metrics.redis_error("connection");
        metrics.redis_error("connection");
        metrics.redis_error("lease_lost");
        metrics.batch(100, 0.25);

        let answer = get(addr, "/metrics");
        assert_eq!(status(&answer), "200", "{answer}");
        let head = answer.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(head.contains("content-type: application/openmetrics-text"), "{answer}");
        for line in [
            // The quote in the worker's name is escaped, not a broken exposition.
            r#"fanzha_info{worker="w\"1",rules="rules-v7"} 1"#,
            "fanzha_partitions 8",
            "fanzha_events_scored_total 5",
            r#"fanzha_verdicts_total{level="none"} 0"#,
            r#"fanzha_verdicts_total{level="notice"} 0"#,
            r#"fanzha_verdicts_total{level="warn"} 2"#,
            r#"fanzha_verdicts_total{level="block"} 1"#,
            "fanzha_line_errors_total 1",
            r#"fanzha_partition_lag_entries{partition="3"} 42"#,
            r#"fanzha_partition_lag_entries{partition="5"} 0"#,
            "fanzha_leases_held 2",
            "fanzha_partition_rebuilds_total 1",
            "fanzha_replayed_entries_total 40",
            r#"fanzha_redis_errors_total{kind="connection"} 2"#,
            r#"fanzha_redis_errors_total{kind="lease_lost"} 1"#,
            "fanzha_commit_batch_seconds_count 1",
            "fanzha_commit_batch_seconds_sum 0.25",
            r#"fanzha_commit_batch_seconds_bucket{le="0.256"} 1"#,
            r#"fanzha_commit_batch_seconds_bucket{le="0.128"} 0"#,
            "fanzha_committed_entries_total 100",
            "# EOF",
        ] {
            assert!(has(&answer, line), "no line {line:?} in\n{answer}");
        }

        // A partition given up takes its lag series with it; the others stay.
        metrics.forget(3);
        metrics.lag(5, 9);
        let answer = get(addr, "/metrics");
        assert!(!answer.contains(r#"partition="3""#), "{answer}");
        assert!(has(&answer, r#"fanzha_partition_lag_entries{partition="5"} 9"#), "{answer}");
    }

    #[test]
    fn other_paths_and_methods_and_bad_requests_are_refused() {
        let metrics = Metrics::new("w1", "v1", 1);
        let addr = metrics.serve("127.0.0.1:0").unwrap();

        let answer = get(addr, "/");
        assert_eq!(status(&answer), "404", "{answer}");
        assert!(!answer.contains("fanzha_"), "{answer}");
        assert_eq!(status(&get(addr, "/metrics/x")), "404");
        assert_eq!(status(&get(addr, "/metrics?name=fanzha_info")), "200");
        let answer = request(addr, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(status(&answer), "405", "{answer}");

        // Garbage is answered (by tiny_http) and does not stop the server.
        let answer = request(addr, "\x00\x01 not http at all\r\n\r\n");
        assert!(answer.is_empty() || status(&answer).starts_with('4'), "{answer}");
        assert!(has(&get(addr, "/metrics"), "fanzha_partitions 1"));
    }

    #[test]
    fn an_address_in_use_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let e = Metrics::new("w1", "v1", 1).serve(&addr).unwrap_err();
        assert!(e.contains(&addr) && e.contains("metrics"), "{e}");

        let e = Metrics::new("w1", "v1", 1).serve("not an address").unwrap_err();
        assert!(e.contains("not an address"), "{e}");
    }
}
