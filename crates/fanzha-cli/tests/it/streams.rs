//! `fanzha route`, `consume` and `collect` on a real Redis and on a real Redis Cluster: the
//! verdicts of `fanzha scan`, byte for byte, each written exactly once, through a worker's
//! death, a stalled worker waking up after its partitions moved on, and a shard restarted
//! mid-run.
//!
//! Each test starts its own `redis-server` processes on free ports in a scratch directory and
//! kills them when done. Without `redis-server` (and `redis-cli`, for the cluster) on the PATH
//! these tests fail, unless FANZHA_SKIP_REDIS=1 is set (`.ci/run` installs them).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redis::Value;
use serde_json::json;

use super::cli::fanzha;

/// Whether redis-server can be run here; `false` (skip) only if FANZHA_SKIP_REDIS=1 says that
/// is fine.
fn have_redis() -> bool {
    if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok() {
        return true;
    }
    if std::env::var("FANZHA_SKIP_REDIS").as_deref() == Ok("1") {
        eprintln!("redis-server is not installed: skipped (FANZHA_SKIP_REDIS=1)");
        return false;
    }
    panic!(
        "redis-server is not installed: the Redis Streams tests need it (apt-get install -y redis-server), \
         or set FANZHA_SKIP_REDIS=1 to skip them"
    );
}

/// A free port: bound by the system, then handed to a server.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One `redis-server` process of the test's own, in its own directory; killed when dropped.
struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
}

impl Server {
    fn start(dir: PathBuf, args: &[&str]) -> Server {
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = Server {
            child: None,
            port: free_port(),
            dir,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        s.spawn();
        s
    }

    /// Starts the process (again) and waits until it says it accepts connections.
    fn spawn(&mut self) {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(&self.args)
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        // The server says when it listens: wait for that line, not the clock.
        let log = read_lines(child.stdout.take().unwrap());
        let mut said = String::new();
        loop {
            match log.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    said.push_str(&line);
                    said.push('\n');
                    if line.to_ascii_lowercase().contains("ready to accept connections") {
                        break;
                    }
                }
                Err(e) => panic!("redis-server on port {} did not get ready ({e:?}):\n{said}", self.port),
            }
        }
        self.child = Some(child);
    }

    /// Shuts the server down cleanly (its append-only file written out) and waits for it.
    fn shutdown(&mut self) {
        let mut con = self.connection().unwrap();
        let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut con);
        if let Some(mut c) = self.child.take() {
            c.wait().unwrap();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A single `redis-server` without persistence.
struct Redis {
    server: Server,
    dir: PathBuf,
    url: String,
}

impl Redis {
    /// A fresh server, or `None` if there is none to run and FANZHA_SKIP_REDIS=1 says that is
    /// fine.
    fn start(name: &str) -> Option<Redis> {
        if !have_redis() {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("fanzha-redis-{name}-{}", std::process::id()));
        let server = Server::start(dir.clone(), &["--appendonly", "no"]);
        let url = server.url();
        let mut con = server.connection().expect("connect to redis-server");
        assert_eq!(redis::cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
        Some(Redis { server, dir, url })
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        self.server.connection()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of `n` primaries on the loopback, each with an append-only file written on
/// every command (so a restarted shard comes back with every write it acknowledged).
struct Cluster {
    nodes: Vec<Server>,
    dir: PathBuf,
}

impl Cluster {
    fn start(name: &str, n: usize) -> Option<Cluster> {
        if !have_redis() {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("fanzha-cluster-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ];
        let nodes: Vec<Server> = (0..n).map(|i| Server::start(dir.join(format!("n{i}")), &args)).collect();
        let addrs: Vec<String> = nodes.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(out.status.success(), "redis-cli --cluster create: {}", String::from_utf8_lossy(&out.stdout));
        let cluster = Cluster { nodes, dir };
        cluster.wait_ok();
        Some(cluster)
    }

    /// Waits until every node says the cluster is up (polling its own report, not the clock).
    fn wait_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        for s in &self.nodes {
            loop {
                let info: String = s
                    .connection()
                    .and_then(|mut c| redis::cmd("CLUSTER").arg("INFO").query(&mut c))
                    .unwrap_or_default();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "the cluster did not come up:\n{info}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn url(&self) -> String {
        self.nodes[0].url()
    }

    /// Connections to every node.
    fn connections(&self) -> Vec<redis::Connection> {
        self.nodes.iter().map(|s| s.connection().unwrap()).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A deterministic random sequence (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One generated line and the key values it carries (for the order check).
struct Line {
    text: String,
    keys: Vec<String>,
}

const BENIGN: &[&str] = &[
    "你好",
    "今天几点关门",
    "来两份盒饭",
    "谢谢老板",
    "明天再来",
    "这期开奖了吗",
    "好的",
    "收到了，谢谢",
    "扫码付款就行",
    "出票机坏了",
    "要三个包子",
    "几点开门",
    "老板在吗",
    "双色球买五注",
    "我先付款你再出票",
];

/// Conversation scripts whose steps make the bundled sequence rules hit (and one that must
/// not), as in rules/streams.toml's stream examples.
const SCRIPTS: &[&[&str]] = &[
    &["这期大乐透帮我出三万", "好的，等下一起结"],
    &["老細，幫我打伍萬蚊嘅六合彩", "唔該", "截咗圖俾你，銀行延遲"],
    &["这期双色球来五万块的", "好的，要哪些号？", "机选，搞快点打出来嘛"],
    &["老板你好，我们是隔壁工地做工程的", "今天想买点彩票", "帮我出两万的大乐透", "转账截图发你了"],
    &["实验小学要订两百个包子", "顺便帮我们买两条中华，一起结"],
    &["这期大乐透帮我出三万", "我先付款，你查一下到账再出"],
];

/// `events` lines of chat messages and point-of-sale transactions with scams spread through
/// them: multi-message scripts in conversations (some in a shop's chat, so in two
/// partitions), fan-in then fan-out through collection codes, remote orders from new payers
/// piling up at a merchant, QR lures followed by the shop paying someone new; and a few
/// events without a time or late, and a few bad lines.
fn generate(events: usize, seed: u64) -> Vec<Line> {
    let mut rng = Rng(seed);
    let mut out: Vec<Line> = Vec::with_capacity(events);
    // Scripts under way: the steps still to come, as (json, keys).
    let mut active: Vec<Vec<(serde_json::Value, Vec<String>)>> = Vec::new();
    let mut scripts = 0u64;
    let base: i64 = 1_747_612_800_000;
    for i in 0..events {
        let n = i + 1;
        if n % 9973 == 0 {
            let bad = [
                "not json",
                "",
                "{\"kind\":\"message\",\"id\":\"x\"}",
                "{\"kind\":\"transaction\",\"amount\":-5}",
            ];
            out.push(Line { text: bad[(n / 9973) % bad.len()].to_string(), keys: Vec::new() });
            continue;
        }
        let ts = base + i as i64 * 150 + rng.below(100) as i64;
        if rng.below(100) < 3 {
            scripts += 1;
            active.push(script(&mut rng, scripts));
        }
        let (mut value, keys) = if !active.is_empty() && rng.below(100) < 30 {
            let a = rng.below(active.len() as u64) as usize;
            let step = active[a].remove(0);
            if active[a].is_empty() {
                active.swap_remove(a);
            }
            step
        } else {
            background(&mut rng)
        };
        let obj = value.as_object_mut().unwrap();
        match rng.below(1000) {
            0..=4 => {}
            5..=6 => {
                obj.insert("ts".into(), json!(ts - 600_000));
            }
            _ => {
                obj.insert("ts".into(), json!(ts));
            }
        }
        if rng.below(100) != 0 {
            obj.insert("id".into(), json!(format!("e{n}")));
        }
        out.push(Line { text: value.to_string(), keys });
    }
    out
}

/// An everyday message or payment.
fn background(rng: &mut Rng) -> (serde_json::Value, Vec<String>) {
    if rng.below(2) == 0 {
        let conv = format!("c{}", rng.below(4000));
        let mut v = json!({"kind": "message", "conversation": conv, "sender": format!("u{}", rng.below(9000)), "text": rng.pick(BENIGN)});
        let mut keys = vec![conv];
        if rng.below(2) == 0 {
            let shop = format!("shop{}", rng.below(300));
            v["merchant"] = json!(shop);
            keys.push(shop);
        }
        (v, keys)
    } else {
        let shop = format!("shop{}", rng.below(300));
        let payer = format!("u{}", rng.below(20000));
        let v = json!({"kind": "transaction", "merchant": shop, "payer": payer, "payee": shop,
            "amount": (rng.below(30000) as f64) / 100.0, "remote": rng.below(4) == 0, "method": "qr"});
        (v, vec![shop, payer])
    }
}

/// The steps of one scam script, numbered `j`.
fn script(rng: &mut Rng, j: u64) -> Vec<(serde_json::Value, Vec<String>)> {
    match rng.below(10) {
        0..=5 => {
            let conv = format!("s{j}");
            let steps = SCRIPTS[rng.below(SCRIPTS.len() as u64) as usize];
            let shop = (rng.below(2) == 0).then(|| format!("shop{}", rng.below(300)));
            steps
                .iter()
                .map(|t| {
                    let mut v = json!({"kind": "message", "conversation": conv, "text": t});
                    let mut keys = vec![conv.clone()];
                    if let Some(shop) = &shop {
                        v["merchant"] = json!(shop);
                        keys.push(shop.clone());
                    }
                    (v, keys)
                })
                .collect()
        }
        6 | 7 => {
            // Fan-in through a collection code, then one large transfer on.
            let code = format!("mule{j}");
            let mut steps: Vec<_> = (0..11)
                .map(|i| {
                    let payer = format!("a{j}_{i}");
                    let v = json!({"kind": "transaction", "payee": code, "payer": payer, "amount": 100 + rng.below(800), "remote": true});
                    (v, vec![code.clone(), payer])
                })
                .collect();
            let far = format!("far{j}");
            steps.push((
                json!({"kind": "transaction", "payer": code, "payee": far, "amount": 5500, "remote": true, "method": "transfer"}),
                vec![code.clone(), far],
            ));
            steps
        }
        8 => {
            // Large remote orders from new payers at one merchant.
            let shop = format!("m{j}");
            (0..3)
                .map(|i| {
                    let payer = format!("v{j}_{i}");
                    let v = json!({"kind": "transaction", "merchant": shop, "payer": payer, "amount": 8000, "remote": true});
                    (v, vec![shop.clone(), payer])
                })
                .collect()
        }
        _ => {
            // A QR lure in a shop's chat, then the shop pays someone new.
            let shop = format!("q{j}");
            let conv = format!("qc{j}");
            let new = format!("n{j}");
            vec![
                (
                    json!({"kind": "message", "conversation": conv, "merchant": shop, "text": "扫这个码领取补贴"}),
                    vec![conv.clone(), shop.clone()],
                ),
                (
                    json!({"kind": "transaction", "payer": shop, "payee": new, "amount": 800, "remote": true, "method": "qr"}),
                    vec![shop.clone(), new],
                ),
            ]
        }
    }
}

/// The input file and `fanzha scan`'s output for it.
fn write_input(dir: &Path, lines: &[Line]) -> (String, Vec<u8>) {
    let mut text = String::new();
    for l in lines {
        text.push_str(&l.text);
        text.push('\n');
    }
    let path = dir.join("events.jsonl");
    std::fs::write(&path, &text).unwrap();
    let path = path.to_str().unwrap().to_string();
    let scan = fanzha(&["scan", &path], b"");
    assert!(scan.status.success(), "{}", String::from_utf8_lossy(&scan.stderr));
    (path, scan.stdout)
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `fanzha consume` worker, its stderr in a file.
fn worker(url: &str, name: &str, log: &Path, extra: &[&str]) -> Child {
    let mut args = vec!["consume", "--redis", url, "--name", name];
    args.extend(extra);
    spawn(&args, Stdio::null(), Stdio::null(), std::fs::File::create(log).unwrap().into())
}

/// `fanzha ARGS` started in the background from the repository's root.
fn spawn(args: &[&str], stdin: Stdio, stdout: Stdio, stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(args)
        .current_dir(super::ROOT)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start fanzha")
}

/// The lines `r` gives, read on a thread of its own (which keeps reading, so the writer never
/// blocks, after the receiver is dropped).
fn read_lines(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits for `child` to exit (its wait on a thread of its own), killing it after `timeout`.
fn wait(child: Child, timeout: Duration, what: &str) -> ExitStatus {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(timeout) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("{what} did not finish within {timeout:?}");
        }
    }
}

/// Keys matching `pattern` over every connection (every node of a cluster).
fn keys_matching(cons: &mut [redis::Connection], pattern: &str) -> Vec<(usize, String)> {
    let mut all = Vec::new();
    for (i, con) in cons.iter_mut().enumerate() {
        let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(con).unwrap();
        all.extend(keys.into_iter().map(|k| (i, k)));
    }
    all.sort();
    all
}

/// Verdicts written over every partition (the cursors' counts).
fn verdicts_written(cons: &mut [redis::Connection]) -> u64 {
    let mut total = 0;
    for (i, key) in keys_matching(cons, "fanzha:*:cursor") {
        let n: Option<u64> = redis::cmd("HGET").arg(&key).arg("verdicts").query(&mut cons[i]).unwrap();
        total += n.unwrap_or(0);
    }
    total
}

/// Waits until `n` verdicts are written: woken by Redis as output entries are added
/// (`XREAD BLOCK` on every output stream of a node) and checking the count each time.
fn wait_for_verdicts(cons: &mut [redis::Connection], n: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let written = verdicts_written(cons);
        if written >= n {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{n} verdicts were not written within {timeout:?} ({written})");
        let outs = keys_matching(cons, "fanzha:*:out");
        // Wake on the next write to one output stream (on a cluster, one XREAD may only name
        // keys of one slot), or after 200 ms, then count again.
        let Some((node, key)) = outs.first() else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("BLOCK").arg(left.as_millis().clamp(1, 200) as u64).arg("COUNT").arg(1);
        cmd.arg("STREAMS").arg(key.as_str()).arg("$");
        let _: Value = cmd.query(&mut cons[*node]).unwrap();
    }
}

/// The id of the connections a `fanzha consume` worker named `name` holds on a node.
fn worker_clients(con: &mut redis::Connection, name: &str) -> Vec<String> {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(con).unwrap();
    let wanted = format!("name=fanzha-consume:{name}");
    list.lines()
        .filter(|l| l.split(' ').any(|f| f == wanted))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")).map(str::to_string))
        .collect()
}

/// Stops a worker without telling it: frozen, its connections closed by the servers (so
/// what it sent before has either run or never will), then killed.
fn kill_worker(mut w: Child, name: &str, cons: &mut [redis::Connection]) {
    signal(&w, "-STOP");
    for con in cons.iter_mut() {
        for id in worker_clients(con, name) {
            let _: redis::RedisResult<u64> = redis::cmd("CLIENT").arg(&["KILL", "ID", &id][..]).query(con);
        }
    }
    w.kill().unwrap();
    w.wait().unwrap();
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill {sig}");
}

/// Each output stream's line numbers, in stream order, by key.
fn output_lines(cons: &mut [redis::Connection]) -> Vec<(String, Vec<u64>)> {
    let mut all = Vec::new();
    for (i, key) in keys_matching(cons, "fanzha:*:out") {
        let entries: Vec<(String, HashMap<String, String>)> =
            redis::cmd("XRANGE").arg(&key).arg("-").arg("+").query(&mut cons[i]).unwrap();
        let lines = entries
            .iter()
            .flat_map(|(_, f)| f["lines"].split(' ').map(|n| n.parse::<u64>().unwrap()))
            .collect();
        all.push((key, lines));
    }
    all
}

/// The checks every run ends with: `collect` gives `fanzha scan`'s output; every line has
/// one verdict (the cursors count as many as there are lines, and the output streams hold
/// each line once), each output stream is in input order, and no partial is left behind.
fn check_run(url: &str, cons: &mut [redis::Connection], expected: &[u8], lines: u64) {
    let collected = fanzha(&["collect", "--redis", url], b"");
    ok(&collected, "collect");
    assert!(collected.stdout == expected, "collect differs from scan");
    assert_eq!(verdicts_written(cons), lines);
    let mut seen = vec![0u8; lines as usize + 1];
    for (key, ns) in output_lines(cons) {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "{key} is not in input order");
        for n in ns {
            seen[n as usize] += 1;
        }
    }
    assert!(
        seen[1..].iter().all(|&c| c == 1),
        "a line has no verdict or more than one in the output streams"
    );
    for (i, key) in keys_matching(cons, "fanzha:*:parts") {
        let left: u64 = redis::cmd("HLEN").arg(&key).query(&mut cons[i]).unwrap();
        assert_eq!(left, 0, "{key} keeps partials of lines written");
    }
}

/// Reads a worker's log until a line containing `what` (the worker writes as it goes).
fn wait_for_log(path: &Path, what: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(what)) {
            return line.to_string();
        }
        assert!(Instant::now() < deadline, "no {what:?} in {} within {timeout:?}:\n{text}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `GET /metrics` from a worker that logged where it serves them.
fn scrape(log: &Path) -> String {
    let line = wait_for_log(log, "metrics on http://", Duration::from_secs(60));
    let addr = line.split("http://").nth(1).unwrap().trim_end_matches("/metrics").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.") && body.contains(" 200 "), "{body}");
    body
}

/// A series' value in a scrape.
fn metric(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| {
        l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')).and_then(|v| v.trim().parse().ok())
    })
}

/// 100,000 events over 8 partitions and 3 workers, one of them killed mid-run: the two left
/// take its partitions over (no replacement is started), and `collect` gives `fanzha scan`'s
/// output byte for byte, with one verdict per line. The router reads a pipe the test feeds, so
/// the run cannot end before the test has seen what it waits for: a worker holding partitions
/// and scoring (through its metrics) before the kill.
#[test]
fn three_workers_one_killed_give_scan_s_verdicts_exactly_once() {
    let Some(redis) = Redis::start("kill") else { return };
    let lines = generate(100_000, 7);
    // Enough events keyed by two fields (a shop and a conversation) to exercise the joins.
    let joined = lines.iter().filter(|l| l.keys.len() > 1).count();
    assert!(joined > 10_000, "only {joined} events have two keys");
    let (_, expected) = write_input(&redis.dir, &lines);
    let text: Vec<String> = lines.iter().map(|l| format!("{}\n", l.text)).collect();
    let route_log = redis.dir.join("route.log");
    let mut route = spawn(
        &["route", "--redis", &redis.url, "--partitions", "8", "-"],
        Stdio::piped(),
        Stdio::null(),
        std::fs::File::create(&route_log).unwrap().into(),
    );
    let mut feed = route.stdin.take().unwrap();
    let mut send = |from: usize, to: usize| {
        feed.write_all(text[from..to].concat().as_bytes()).unwrap();
        feed.flush().unwrap();
    };
    send(0, 50_000);
    let logs: Vec<PathBuf> = (0..3).map(|i| redis.dir.join(format!("w{i}.log"))).collect();
    let mut workers: Vec<Child> = (0..3)
        .map(|i| {
            worker(&redis.url, &format!("w{i}"), &logs[i], &["--exit-when-done", "--metrics", "127.0.0.1:0"])
        })
        .collect();
    let mut cons = vec![redis.connection().unwrap()];

    // Once a third of the lines have verdicts and w1 holds its share, the next 40% go in; when
    // w1 has scored some, w0 dies without being told, and the rest goes in.
    wait_for_verdicts(&mut cons, 30_000, Duration::from_secs(600));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !metric(&scrape(&logs[1]), "fanzha_leases_held").is_some_and(|v| v > 0.0) {
        assert!(Instant::now() < deadline, "w1 took no partition within 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    send(50_000, 90_000);
    let body = loop {
        let body = scrape(&logs[1]);
        if metric(&body, "fanzha_events_scored_total").is_some_and(|v| v > 0.0) {
            break body;
        }
        assert!(Instant::now() < deadline + Duration::from_secs(120), "w1 scored nothing:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(metric(&body, "fanzha_partitions").is_some_and(|v| v == 8.0), "{body}");
    assert!(body.contains("fanzha_verdicts_total{level=\"none\"}"), "{body}");
    assert!(body.contains("fanzha_partition_lag_entries"), "{body}");
    let w0 = workers.remove(0);
    kill_worker(w0, "w0", &mut cons);
    let killed_at = verdicts_written(&mut cons);
    send(90_000, text.len());
    drop(feed);
    let status = wait(route, Duration::from_secs(600), "fanzha route");
    assert!(status.success(), "{}", std::fs::read_to_string(&route_log).unwrap());

    for (i, w) in workers.into_iter().enumerate() {
        let status = wait(w, Duration::from_secs(600), &format!("worker w{}", i + 1));
        let log = std::fs::read_to_string(&logs[i + 1]).unwrap();
        assert!(status.success(), "w{}: {status:?}\n{log}", i + 1);
    }
    check_run(&redis.url, &mut cons, &expected, lines.len() as u64);
    // The survivors took w0's partitions over, replaying their streams up to the cursor.
    let logs: String = logs[1..].iter().map(|l| std::fs::read_to_string(l).unwrap()).collect();
    assert!(
        logs.lines().any(|l| l.contains("took partition") && !l.contains("replayed 0 entries")),
        "no worker took a partition over from its cursor (w0 killed at {killed_at} verdicts):\n{logs}"
    );
}

/// A worker frozen past its lease while holding results it has not written: another worker
/// takes its partitions over and finishes the run; when the frozen one wakes, its commits find
/// the lease gone and write nothing. The router reads a pipe the test feeds, and the second
/// half of the stream goes in only once w1 is frozen, so w1 cannot have finished the run
/// before the freeze however fast it scores.
#[test]
fn a_worker_that_wakes_after_its_lease_writes_nothing() {
    let Some(redis) = Redis::start("stall") else { return };
    let lines = generate(20_000, 11);
    let (_, expected) = write_input(&redis.dir, &lines);
    let text: Vec<u8> = lines.iter().flat_map(|l| format!("{}\n", l.text).into_bytes()).collect();
    let half = text
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(lines.len() / 2 - 1)
        .map_or(0, |(i, _)| i + 1);
    let route_log = redis.dir.join("route.log");
    let mut route = spawn(
        &["route", "--redis", &redis.url, "--partitions", "2", "-"],
        Stdio::piped(),
        Stdio::null(),
        std::fs::File::create(&route_log).unwrap().into(),
    );
    let mut feed = route.stdin.take().unwrap();
    feed.write_all(&text[..half]).unwrap();
    feed.flush().unwrap();
    let mut cons = vec![redis.connection().unwrap()];
    let (log1, log2) = (redis.dir.join("w1.log"), redis.dir.join("w2.log"));
    let w1 = worker(&redis.url, "w1", &log1, &["--exit-when-done", "--lease", "500ms"]);
    wait_for_verdicts(&mut cons, 2_000, Duration::from_secs(300));
    signal(&w1, "-STOP");
    let frozen_at = verdicts_written(&mut cons);
    feed.write_all(&text[half..]).unwrap();
    drop(feed);
    let status = wait(route, Duration::from_secs(300), "fanzha route");
    assert!(status.success(), "{}", std::fs::read_to_string(&route_log).unwrap());
    let w2 = worker(&redis.url, "w2", &log2, &["--exit-when-done", "--lease", "500ms"]);
    let status = wait(w2, Duration::from_secs(300), "worker w2");
    assert!(status.success(), "{}", std::fs::read_to_string(&log2).unwrap());
    assert_eq!(verdicts_written(&mut cons), lines.len() as u64);
    signal(&w1, "-CONT");
    let status = wait(w1, Duration::from_secs(300), "worker w1");
    let text = std::fs::read_to_string(&log1).unwrap();
    assert!(status.success(), "{text}");
    assert!(frozen_at < lines.len() as u64);
    check_run(&redis.url, &mut cons, &expected, lines.len() as u64);

    // A second verdict in an output stream is caught by collect.
    let (_, key) = keys_matching(&mut cons, "fanzha:*:out").remove(0);
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg(&["999999999-0", "lines", "5", "verdicts", "{}"][..])
        .query(&mut cons[0])
        .unwrap();
    let collected = fanzha(&["collect", "--redis", &redis.url], b"");
    assert_eq!(collected.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&collected.stderr).contains("line 5 has more than one verdict"));
}

/// On a 3-shard Redis Cluster, three workers started while a shard is down wait for it, then
/// score a stream while that shard is shut down and started again (its append-only file on)
/// and one worker is killed: `collect` gives `fanzha
/// scan`'s verdicts, every line exactly once, and the partitions' keys are spread over all
/// three shards.
#[test]
fn a_cluster_survives_a_restarted_shard_and_a_killed_worker() {
    let Some(mut cluster) = Cluster::start("c", 3) else { return };
    let lines = generate(40_000, 5);
    let (input, expected) = write_input(&cluster.dir, &lines);
    let url = cluster.url();
    ok(&fanzha(&["route", "--redis", &url, "--partitions", "8", &input], b""), "route");
    let mut cons = cluster.connections();
    // Every shard holds some partitions.
    let ins = keys_matching(&mut cons, "fanzha:*:in");
    assert_eq!(ins.len(), 8, "{ins:?}");
    for node in 0..3 {
        assert!(ins.iter().any(|(i, _)| *i == node), "shard {node} holds no partition: {ins:?}");
    }
    let logs: Vec<PathBuf> = (0..3).map(|i| cluster.dir.join(format!("w{i}.log"))).collect();
    // The workers start while shard 2 is down, and wait for it.
    cluster.nodes[2].shutdown();
    let mut workers: Vec<Child> =
        (0..3).map(|i| worker(&url, &format!("w{i}"), &logs[i], &["--exit-when-done"])).collect();
    for log in &logs {
        wait_for_log(log, "trying again", Duration::from_secs(300));
    }
    cluster.nodes[2].spawn();
    cluster.wait_ok();
    let mut cons = cluster.connections();

    // At 25%, shard 2 goes down and comes back; at 50%, w0 dies.
    wait_for_verdicts(&mut cons, 10_000, Duration::from_secs(600));
    cluster.nodes[2].shutdown();
    cluster.nodes[2].spawn();
    cluster.wait_ok();
    let mut cons = cluster.connections();
    wait_for_verdicts(&mut cons, 20_000, Duration::from_secs(600));
    let w0 = workers.remove(0);
    kill_worker(w0, "w0", &mut cons);

    for (i, w) in workers.into_iter().enumerate() {
        let status = wait(w, Duration::from_secs(600), &format!("worker w{}", i + 1));
        let log = std::fs::read_to_string(&logs[i + 1]).unwrap();
        assert!(status.success(), "w{}: {status:?}\n{log}", i + 1);
    }
    check_run(&url, &mut cons, &expected, lines.len() as u64);
    let logs: String = logs[1..].iter().map(|l| std::fs::read_to_string(l).unwrap()).collect();
    assert!(logs.contains("Redis Cluster with 3 primaries"), "{logs}");
}

/// A live consumer: `collect --follow`, started before any worker, prints every verdict in
/// input order as the workers write them and ends by itself after the last line; `collect
/// --partition P` prints the verdicts partition P wrote, each partition's a subsequence of
/// `fanzha scan`'s output (so in input order) and, over the partitions, every line once.
#[test]
fn collect_follows_the_merged_order_and_one_partition() {
    let Some(redis) = Redis::start("follow") else { return };
    let lines = generate(6_000, 3);
    let (input, expected) = write_input(&redis.dir, &lines);
    ok(&fanzha(&["route", "--redis", &redis.url, "--partitions", "4", &input], b""), "route");
    let follow_out = redis.dir.join("follow.jsonl");
    let follow = spawn(
        &["collect", "--redis", &redis.url, "--follow"],
        Stdio::null(),
        std::fs::File::create(&follow_out).unwrap().into(),
        Stdio::null(),
    );
    let log = redis.dir.join("w.log");
    let w = worker(&redis.url, "w", &log, &["--exit-when-done"]);
    let status = wait(w, Duration::from_secs(600), "worker w");
    assert!(status.success(), "{}", std::fs::read_to_string(&log).unwrap());
    let status = wait(follow, Duration::from_secs(120), "collect --follow");
    assert!(status.success(), "collect --follow: {status:?}");
    assert!(std::fs::read(&follow_out).unwrap() == expected, "collect --follow differs from scan");

    let expected: Vec<&[u8]> = expected.split_inclusive(|&b| b == b'\n').collect();
    let mut total = 0;
    for p in 0..4 {
        let out = fanzha(&["collect", "--redis", &redis.url, "--partition", &p.to_string()], b"");
        ok(&out, "collect --partition");
        let mine: Vec<&[u8]> = out.stdout.split_inclusive(|&b| b == b'\n').collect();
        assert!(!mine.is_empty(), "partition {p} printed nothing");
        // A subsequence of scan's output: each verdict found after the one before it.
        let mut at = 0;
        for v in &mine {
            let found = expected[at..].iter().position(|e| e == v);
            assert!(
                found.is_some(),
                "partition {p}: {} is out of order or not scan's",
                String::from_utf8_lossy(v)
            );
            at += found.unwrap() + 1;
        }
        total += mine.len();
    }
    assert_eq!(total, expected.len(), "the partitions' verdicts are not every line once");
    let out = fanzha(&["collect", "--redis", &redis.url, "--partition", "4"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the run has 4 partitions"));
}

/// A sequence step keyed by one field that names a window keyed by another cannot be split
/// into partitions: route refuses it (before touching Redis) and says which rule.
#[test]
fn route_refuses_rules_whose_keys_cannot_be_partitioned() {
    let dir = std::env::temp_dir().join(format!("fanzha-route-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("r.toml");
    std::fs::write(
        &rules,
        r#"[pack]
id = "t"
version = "1"

[[rule]]
id = "t.fan-in"
title = "Many payers to one payee"
category = "money_mule"
points = 0
kinds = ["transaction"]
when = { field = { name = "remote", eq = true } }
window = { key = "payee", within = "1h", distinct = { name = "payer", ge = 3 } }

[[rule]]
id = "t.fan-out"
title = "Then a large payment"
category = "laundering"
points = 80
kinds = ["transaction"]
when = { field = { name = "amount", ge = 3000 } }
sequence = { key = "payer", within = "2h", steps = ["rule:t.fan-in"] }
"#,
    )
    .unwrap();
    let out = fanzha(
        &["route", "--redis", "redis://127.0.0.1:1", "--partitions", "4", "--rules", rules.to_str().unwrap()],
        b"",
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("t.fan-out") && err.contains("cannot be split"), "{err}");
}

/// Route cannot reach Redis: a clear error and exit 2, no panic.
#[test]
fn an_unreachable_redis_is_a_clear_error() {
    let out =
        fanzha(&["route", "--redis", "redis://127.0.0.1:1", "--partitions", "2"], b"{\"text\":\"x\"}\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to Redis at redis://127.0.0.1:1"), "{err}");
}

/// CRC-32 (IEEE), as a bundle's header holds it over every byte after the checksum.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Compiled bundles (`fanzha compile`) on Redis Streams: routed and consumed with the same
/// bundle, `collect` gives what `fanzha scan` gives with the rule files, and the run records the
/// bundle's rules version. A worker given a bundle of other rules is refused with both
/// versions named, from the bundle's header, before the bundle is loaded (a bundle whose
/// header is sound but whose rules are cut off gives the same refusal, not a load error); a
/// damaged bundle is refused before Redis is asked anything.
#[test]
fn route_and_consume_with_a_bundle_and_refuse_a_bundle_of_other_rules() {
    let Some(redis) = Redis::start("bundle") else { return };
    let dir = redis.dir.clone();
    let rules_toml = format!("{}/tests/conformance/rules.toml", super::ROOT);
    let bundle = dir.join("rules.fzb").to_str().unwrap().to_string();
    ok(&fanzha(&["compile", "--rules", &rules_toml, "-o", &bundle], b""), "compile");

    let lines = generate(3000, 11);
    let mut text = String::new();
    for l in &lines {
        text.push_str(&l.text);
        text.push('\n');
    }
    let input = dir.join("events.jsonl");
    std::fs::write(&input, &text).unwrap();
    let input = input.to_str().unwrap();
    let scan = fanzha(&["scan", "--rules", &rules_toml, input], b"");
    ok(&scan, "scan");
    let expected = scan.stdout;
    assert!(String::from_utf8_lossy(&expected).contains("\"events\":["), "no stateful hit to check");

    let url = redis.url.as_str();
    ok(&fanzha(&["route", "--redis", url, "--partitions", "3", "--rules", &bundle, input], b""), "route");
    let mut con = redis.connection().unwrap();
    let recorded: String = redis::cmd("HGET").arg("fanzha:meta").arg("rules").query(&mut con).unwrap();
    assert_eq!(recorded, "conformance@1");

    // Other rules: the same pack at another version, compiled.
    let other_toml = dir.join("other.toml");
    let source = std::fs::read_to_string(&rules_toml).unwrap();
    assert!(source.contains("\nversion = \"1\"\n"));
    std::fs::write(&other_toml, source.replacen("\nversion = \"1\"\n", "\nversion = \"2\"\n", 1)).unwrap();
    let other = dir.join("other.fzb").to_str().unwrap().to_string();
    ok(&fanzha(&["compile", "--rules", other_toml.to_str().unwrap(), "-o", &other], b""), "compile other");
    let refused = fanzha(&["consume", "--redis", url, "--name", "w-other", "--rules", &other], b"");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the stream was routed with rules conformance@1, this worker has rules conformance@2")
            && err.contains(&other),
        "{err}"
    );
    // The same bundle with its rules cut off and the checksum made right again: the header
    // reads, the rules would not load; the refusal comes first.
    let mut cut = std::fs::read(&other).unwrap();
    cut.truncate(cut.len() - 64);
    let sum = crc32(&cut[16..]);
    cut[12..16].copy_from_slice(&sum.to_le_bytes());
    let cut_path = dir.join("cut.fzb").to_str().unwrap().to_string();
    std::fs::write(&cut_path, &cut).unwrap();
    let unloadable = fanzha(&["scan", "--rules", &cut_path], b"");
    assert_eq!(unloadable.status.code(), Some(2), "the cut bundle loads");
    let refused = fanzha(&["consume", "--redis", url, "--name", "w-cut", "--rules", &cut_path], b"");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("routed with rules conformance@1, this worker has rules conformance@2"), "{err}");
    // A damaged bundle: refused for its checksum, without waiting for any run.
    let mut damaged = std::fs::read(&bundle).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    let damaged_path = dir.join("damaged.fzb").to_str().unwrap().to_string();
    std::fs::write(&damaged_path, &damaged).unwrap();
    let refused = fanzha(
        &["consume", "--redis", "redis://127.0.0.1:1", "--name", "w-bad", "--rules", &damaged_path],
        b"",
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("checksum") && err.contains(&damaged_path), "{err}");

    // Two workers with the run's bundle score it.
    let workers: Vec<Child> = ["b1", "b2"]
        .iter()
        .map(|name| {
            let log = dir.join(format!("{name}.log"));
            worker(url, name, &log, &["--rules", &bundle, "--exit-when-done", "--lease", "500ms"])
        })
        .collect();
    for (w, name) in workers.into_iter().zip(["b1", "b2"]) {
        let status = wait(w, Duration::from_secs(120), name);
        let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
        assert!(status.success(), "worker {name}: {status:?}\n{log}");
    }
    check_run(url, &mut [con], &expected, lines.len() as u64);
}
