//! `fanzha route`, `consume` and `collect` on a real Redis: the verdicts of `fanzha scan`,
//! byte for byte, each written exactly once, through a worker's death, a takeover and a
//! replay of every entry.
//!
//! Each test starts its own `redis-server` on a free port in a scratch directory (no
//! persistence) and kills it when done. Without `redis-server` on the PATH these tests fail,
//! unless FANZHA_SKIP_REDIS=1 is set (`.ci/run` installs it).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redis::Value;
use serde_json::json;

use super::cli::fanzha;

/// A `redis-server` of the test's own, killed when dropped.
struct Redis {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Redis {
    /// A fresh server, or `None` if there is none to run and FANZHA_SKIP_REDIS=1 says that is
    /// fine.
    fn start(name: &str) -> Option<Redis> {
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            if std::env::var("FANZHA_SKIP_REDIS").as_deref() == Ok("1") {
                eprintln!("redis-server is not installed: skipped (FANZHA_SKIP_REDIS=1)");
                return None;
            }
            panic!(
                "redis-server is not installed: the Redis Streams tests need it (apt-get install -y redis-server), \
                 or set FANZHA_SKIP_REDIS=1 to skip them"
            );
        }
        let dir = std::env::temp_dir().join(format!("fanzha-redis-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A free port: bound by the system, then handed to the server.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
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
                Err(e) => panic!("redis-server on port {port} did not get ready ({e:?}):\n{said}"),
            }
        }
        let server = Redis { child, dir, url: format!("redis://127.0.0.1:{port}") };
        let mut con = server.connection().expect("connect to redis-server");
        assert_eq!(redis::cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
        Some(server)
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url.as_str())?.get_connection()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
fn worker(redis: &Redis, name: &str, log: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(["consume", "--redis", &redis.url, "--name", name])
        .args(extra)
        .current_dir(super::ROOT)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start fanzha consume")
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

/// Stream entries as `XRANGE` gives them: id and fields.
type Entries = Vec<(String, HashMap<String, String>)>;

/// Waits until the output stream holds `n` entries, woken by Redis as entries are added
/// (`XREAD BLOCK` from the newest entry seen).
fn wait_for_verdicts(con: &mut redis::Connection, n: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let (len, newest): (u64, Entries) = redis::pipe()
            .cmd("XLEN")
            .arg("fanzha:out")
            .cmd("XREVRANGE")
            .arg(&["fanzha:out", "+", "-", "COUNT", "1"][..])
            .query(con)
            .unwrap();
        if len >= n {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the output stream did not reach {n} entries within {timeout:?} ({len})");
        let after = newest.first().map_or("0-0".to_string(), |(id, _)| id.clone());
        let _: Value = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(left.as_millis().max(1) as u64)
            .arg(&["COUNT", "1", "STREAMS", "fanzha:out"][..])
            .arg(&after)
            .query(con)
            .unwrap();
    }
}

/// The id of the connection a `fanzha consume` worker named `name` holds, if it holds one.
fn worker_client(con: &mut redis::Connection, name: &str) -> Option<String> {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(con).unwrap();
    let wanted = format!("name=fanzha-consume:{name}");
    list.lines()
        .find(|l| l.split(' ').any(|f| f == wanted))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")).map(str::to_string))
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill {sig}");
}

fn int(con: &mut redis::Connection, cmd: &str, key: &str) -> u64 {
    redis::cmd(cmd).arg(key).query(con).unwrap()
}

/// Entries of the output stream in order, as (line number, verdict).
fn out_stream(con: &mut redis::Connection) -> Vec<(u64, String)> {
    let mut all = Vec::new();
    let mut start = "-".to_string();
    loop {
        let page: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
            .arg("fanzha:out")
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(10_000)
            .query(con)
            .unwrap();
        let Some((last, _)) = page.last() else { break };
        start = format!("({last}");
        let full = page.len() == 10_000;
        all.extend(page.into_iter().map(|(_, f)| (f["n"].parse().unwrap(), f["verdict"].clone())));
        if !full {
            break;
        }
    }
    all
}

/// Pending entries of the group held by `consumer`, over all partitions.
fn pending_of(con: &mut redis::Connection, partitions: u32, consumer: &str) -> u64 {
    let mut total = 0;
    for p in 0..partitions {
        let v: Value = redis::cmd("XPENDING").arg(format!("fanzha:in:{p}")).arg("fanzha").query(con).unwrap();
        if let Value::Array(parts) = v {
            if let Some(Value::Array(consumers)) = parts.get(3) {
                for c in consumers {
                    let (name, count): (String, u64) = redis::from_redis_value_ref(c).unwrap();
                    if name == consumer {
                        total += count;
                    }
                }
            }
        }
    }
    total
}

fn keys_matching(con: &mut redis::Connection, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS").arg(pattern).query(con).unwrap()
}

/// 100,000 events over 8 partitions and 3 workers, one of them killed at about 30%: the two
/// left take its partitions over (no replacement is started), and `collect` gives `fanzha
/// scan`'s output byte for byte, with one output entry per line, each conversation's and
/// merchant's verdicts in input order.
#[test]
fn three_workers_one_killed_give_scan_s_verdicts_exactly_once() {
    let Some(redis) = Redis::start("kill") else { return };
    let started = Instant::now();
    let lines = generate(100_000, 7);
    let (input, expected) = write_input(&redis.dir, &lines);
    let scanned = started.elapsed();
    let out = fanzha(&["route", "--redis", &redis.url, "--partitions", "8", &input], b"");
    ok(&out, "route");
    let routed = started.elapsed();
    let logs: Vec<PathBuf> = (0..3).map(|i| redis.dir.join(format!("w{i}.log"))).collect();
    let mut workers: Vec<Child> =
        (0..3).map(|i| worker(&redis, &format!("w{i}"), &logs[i], &["--exit-when-done"])).collect();
    let mut con = redis.connection().unwrap();

    // At 30% of the verdicts, w0 dies (it is not told): stopped, its connection closed by the
    // server (so what it sent before it stopped has either run or never will), then killed.
    wait_for_verdicts(&mut con, 30_000, Duration::from_secs(600));
    let mut w0 = workers.remove(0);
    signal(&w0, "-STOP");
    if let Some(id) = worker_client(&mut con, "w0") {
        let _: u64 = redis::cmd("CLIENT").arg(&["KILL", "ID", &id][..]).query(&mut con).unwrap();
    }
    w0.kill().unwrap();
    w0.wait().unwrap();
    let killed_at = int(&mut con, "XLEN", "fanzha:out");
    // Its successors have to claim the entries it had read and not acknowledged. Stopped
    // between two batches, it held none: it dies as it would have just after its next read
    // (read for it, from a partition it still holds, in one script so the lease cannot pass
    // to a successor between the look and the read).
    let mut pending = pending_of(&mut con, 8, "w0");
    if pending == 0 {
        for p in 0..8 {
            let _: Value = redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                 return redis.call('XREADGROUP', 'GROUP', 'fanzha', ARGV[1], 'COUNT', 100, 'STREAMS', KEYS[2], '>') end",
            )
            .key(format!("fanzha:lease:{p}"))
            .key(format!("fanzha:in:{p}"))
            .arg("w0")
            .invoke(&mut con)
            .unwrap();
        }
        pending = pending_of(&mut con, 8, "w0");
    }

    for (i, w) in workers.into_iter().enumerate() {
        let status = wait(w, Duration::from_secs(600), &format!("worker w{}", i + 1));
        let log = std::fs::read_to_string(&logs[i + 1]).unwrap();
        assert!(status.success(), "w{}: {status:?}\n{log}", i + 1);
    }
    let consumed = started.elapsed();
    let collected = fanzha(&["collect", "--redis", &redis.url], b"");
    ok(&collected, "collect");
    assert!(collected.stdout == expected, "collect differs from scan");

    // Exactly one output entry per line, and no line's state left behind.
    assert_eq!(int(&mut con, "XLEN", "fanzha:out"), 100_000);
    assert_eq!(int(&mut con, "HLEN", "fanzha:done"), 100_000);
    assert!(
        keys_matching(&mut con, "fanzha:wait").is_empty()
            && keys_matching(&mut con, "fanzha:partials").is_empty()
    );
    // One key value's verdicts (a conversation's, a merchant's, a payer's) in the output
    // stream in input order.
    let entries = out_stream(&mut con);
    let mut last: HashMap<&str, u64> = HashMap::new();
    for (n, _) in &entries {
        for key in &lines[*n as usize - 1].keys {
            let prev = last.insert(key, *n).unwrap_or(0);
            if prev >= *n {
                let pos: Vec<usize> = entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.0 == *n || e.0 == prev)
                    .map(|(i, _)| i)
                    .collect();
                panic!("{key}: line {n} written after line {prev} (output entries {pos:?})");
            }
        }
    }
    // The survivors claimed what w0 had read and not acknowledged.
    let logs: String = logs[1..].iter().map(|l| std::fs::read_to_string(l).unwrap()).collect();
    if pending > 0 {
        assert!(
            logs.lines().any(|l| l.contains("claimed") && l.contains("pending entries of partition")),
            "no worker claimed w0's {pending} pending entries:\n{logs}"
        );
    } else {
        // Only if w0 held no entries and had lost every lease when it died.
        eprintln!("w0 held no entries when it died: no claim to check");
    }
    eprintln!(
        "100k events: generate+scan {scanned:?}, route {:?}, consume {:?} (w0 killed at {killed_at} verdicts with {pending} pending)",
        routed - scanned,
        consumed - routed
    );
}

/// Entries read by a consumer that then vanished are claimed and written by a worker taking
/// the partitions over; replaying every entry again (the group reset to the start) writes no
/// second verdict.
#[test]
fn takeover_and_redelivery_write_each_verdict_once() {
    let Some(redis) = Redis::start("replay") else { return };
    let lines = generate(3000, 11);
    let (input, expected) = write_input(&redis.dir, &lines);
    let total = lines.len() as u64;
    ok(&fanzha(&["route", "--redis", &redis.url, "--partitions", "2", &input], b""), "route");
    let mut con = redis.connection().unwrap();
    // A consumer reads 100 entries of each partition and dies without acknowledging them.
    for p in 0..2 {
        let _: Value = redis::cmd("XREADGROUP")
            .arg(&["GROUP", "fanzha", "ghost", "COUNT", "100", "STREAMS"][..])
            .arg(format!("fanzha:in:{p}"))
            .arg(">")
            .query(&mut con)
            .unwrap();
    }
    assert_eq!(pending_of(&mut con, 2, "ghost"), 200);
    // Claimed however recently they were read: no need to let them age first, nor for a short
    // lease (one of 200 ms is lost and taken back over and over on a busy machine).
    let log = redis.dir.join("w.log");
    let w = worker(&redis, "w", &log, &["--exit-when-done"]);
    let status = wait(w, Duration::from_secs(300), "worker");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    assert!(text.contains("claimed 100 pending entries of partition 0"), "{text}");
    assert!(text.contains("claimed 100 pending entries of partition 1"), "{text}");
    let collected = fanzha(&["collect", "--redis", &redis.url], b"");
    ok(&collected, "collect");
    assert!(collected.stdout == expected, "collect differs from scan");
    assert_eq!(int(&mut con, "XLEN", "fanzha:out"), total);

    // Every entry delivered again: the worker scores them all (its state rebuilt from the
    // start) and writes nothing.
    for p in 0..2 {
        let _: () = redis::cmd("XGROUP")
            .arg("SETID")
            .arg(format!("fanzha:in:{p}"))
            .arg(&["fanzha", "0"][..])
            .query(&mut con)
            .unwrap();
    }
    let mut w = Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(["consume", "--redis", &redis.url, "--name", "w2"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fanzha consume");
    // The worker says when it has read both partitions to their end.
    let stderr = read_lines(w.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("w2: caught up with partitions [0, 1]") {
        let line = stderr
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|e| panic!("the replay did not finish ({e:?}):\n{said}"));
        said.push_str(&line);
        said.push('\n');
    }
    for p in 0..2 {
        let key = format!("fanzha:in:{p}");
        let last: Vec<(String, HashMap<String, String>)> =
            redis::cmd("XREVRANGE").arg(&key).arg(&["+", "-", "COUNT", "1"][..]).query(&mut con).unwrap();
        let groups: Vec<HashMap<String, Value>> =
            redis::cmd("XINFO").arg("GROUPS").arg(&key).query(&mut con).unwrap();
        let delivered: String = redis::from_redis_value_ref(&groups[0]["last-delivered-id"]).unwrap();
        let pending: u64 = redis::from_redis_value_ref(&groups[0]["pending"]).unwrap();
        assert_eq!((delivered, pending), (last[0].0.clone(), 0), "partition {p} after the replay:\n{said}");
    }
    w.kill().unwrap();
    w.wait().unwrap();
    assert_eq!(int(&mut con, "XLEN", "fanzha:out"), total, "a replayed entry wrote a second verdict");
    assert!(
        keys_matching(&mut con, "fanzha:wait").is_empty()
            && keys_matching(&mut con, "fanzha:partials").is_empty()
    );
    let collected = fanzha(&["collect", "--redis", &redis.url], b"");
    ok(&collected, "collect after the replay");
    assert!(collected.stdout == expected);

    // A second verdict in the output stream is caught by collect.
    let _: String = redis::cmd("XADD")
        .arg(&["fanzha:out", "*", "n", "5", "id", "", "verdict", "{}"][..])
        .query(&mut con)
        .unwrap();
    let collected = fanzha(&["collect", "--redis", &redis.url], b"");
    assert_eq!(collected.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&collected.stderr).contains("line 5 has more than one verdict"));
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
