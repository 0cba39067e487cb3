//! `bundle`: loading any bundle ([`Engine::from_bundle`], [`BundleInfo::read`]).
//!
//! Random bytes almost never get past a bundle's CRC-32, so the input is mostly a recipe for
//! damaging a real one. Its first byte sets up the run:
//!
//! | bits | what |
//! |---|---|
//! | 0–1 = `11` | raw mode: the rest of the input is the bundle, as is |
//! | 0 | otherwise: reseal (1) or not (0) the checksum after the edits |
//! | 2–3 | which seed bundle (below) |
//! | 4 | load under the default [`Limits`], or under limits that cut messages short |
//!
//! The seeds are the bundles of four small packs, compiled once per process: literals with
//! pinyin and variant spellings, `near`, amounts, sets, groups and counter-evidence; a gated
//! regex with `all`, `any`+`none`, `all_of`, `any_of` and `none_of`; windows and sequences
//! (a negated step, a keyed step, `new`, `distinct`, `count`, `sum`); fields and an ungated
//! regex only, so no literal automaton. The rest of the input is up to 16 edits, four bytes
//! each (then their data): an operation (overwrite, insert, delete, truncate, flip bits,
//! write an interesting little-endian `u32` or `u64`, write an interesting varint as postcard
//! would, nudge a byte), where it counts from (the start, the automaton's length field, the
//! rule program's length field, the words section four bytes a step), and a 16-bit offset. A resealed bundle's checksum is the CRC-32
//! of its bytes after the header again, as a hostile file's would be, so the edits reach the
//! decoder, the index checks and the automaton checks; one not resealed exercises the header.
//!
//! Properties: nothing panics, hangs or misbehaves (the fuzz build keeps overflow checks and
//! debug assertions); a bundle that does not load is an [`Error::Bundle`] with a message; an
//! unedited seed loads and scans exactly like the engine it was written from; whatever loads
//! scans fixed texts (hits of the seeds' rules, long, odd and empty ones) and runs a
//! [`Monitor`] over fixed events, and its own bundle loads again and scans the same.

use std::sync::OnceLock;

use fanzha::{BundleInfo, Engine, Error, Event, Limits, Monitor, RuleSet};

use crate::Bytes;

/// Literals through every kind of spelling, counter-evidence and groups.
const TEXT_PACK: &str = r#"
[pack]
id = "t"
version = "1"
pinyin = true
levels = { notice = 30, warn = 60, block = 100 }

[sets]
publicity = ["民警提醒", "千万别信"]

[variants]
"出票" = ["出piao"]
"微信" = ["vx", "薇信"]

[[counter]]
when = { any = ["@publicity"] }
max_level = "notice"

[[rule]]
id = "t.print-first"
title = "print first"
category = "fake_large_order"
points = 70
group = "print-first"
when = { near = [["先"], ["出票", "打票"]], within = 4 }

[[rule]]
id = "t.print-first-ordered"
title = "print first, in order"
category = "fake_large_order"
points = 60
group = "print-first"
when = { near = [["先"], ["出票"]], within = 8, ordered = true }

[[rule]]
id = "t.large-order"
title = "large order"
category = "fake_large_order"
points = 30
when = { any = ["票", "彩票"], amount = { ge = 5000 } }

[[rule]]
id = "t.add-wechat"
title = "add wechat"
category = "contact"
points = 20
when = { any = ["加微信", "wx"] }
counter = [{ when = { any = ["客服"] }, cap = 5 }]
"#;

/// Regexes and nested conditions.
const LOGIC_PACK: &str = r#"
[pack]
id = "l"
version = "2"
pinyin = false

[[rule]]
id = "l.regex"
title = "regex"
category = "print"
points = 40
when = { any = ["/先.{0,6}票/"] }

[[rule]]
id = "l.all"
title = "all"
category = "order"
points = 30
when = { all = ["大乐透", "出票"], none = ["民警"] }

[[rule]]
id = "l.nested"
title = "nested"
category = "pay"
points = 25
when = { any_of = [{ any = ["转账"] }, { all = ["扫码", "付款"] }], none_of = [{ any = ["已到账"] }], all_of = [{ any = ["等下", "马上"] }] }

[[rule]]
id = "l.transaction"
title = "transaction"
category = "pay"
kinds = ["transaction"]
points = 35
when = { field = { name = "method", in = ["qr", "other"] }, all_of = [{ field = { name = "amount", gt = 1000 } }] }
"#;

/// No literals at all: no automaton, one ungated regex.
const BARE_PACK: &str = r#"
[pack]
id = "b"
version = "3"

[[rule]]
id = "b.digits"
title = "digits"
category = "contact"
points = 15
when = { any = ["/(?-u:\\w){12,}/"] }

[[rule]]
id = "b.remote"
title = "remote"
category = "pay"
kinds = ["transaction"]
points = 50
when = { field = { name = "remote", eq = true }, all_of = [{ field = { name = "amount", ge = 100 } }] }
"#;

/// A seed bundle, the engine it was written from, and where its sections start.
pub struct Seed {
    pub bundle: Vec<u8>,
    pub engine: Engine,
    /// The automaton's length field.
    pub automaton_at: usize,
    /// The rule program's length field.
    pub program_at: usize,
    /// The words section: the number of arrays, their lengths, their words.
    pub words_at: usize,
}

/// The seed bundles, compiled once per process.
pub fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            ("t.toml", TEXT_PACK),
            ("l.toml", LOGIC_PACK),
            ("s.toml", crate::monitor::PACK),
            ("b.toml", BARE_PACK),
        ]
        .iter()
        .map(|(name, source)| {
            let rules = RuleSet::from_str(name, source).unwrap_or_else(|e| panic!("{name}: {e}"));
            let engine = Engine::new(&rules).unwrap_or_else(|e| panic!("{name}: {e}"));
            let bundle = engine.to_bundle();
            let (automaton_at, program_at, words_at) = sections(&bundle);
            Seed { bundle, engine, automaton_at, program_at, words_at }
        })
        .collect()
    })
}

/// Where a well-formed bundle's automaton length field, program length field and words
/// section start.
pub fn sections(b: &[u8]) -> (usize, usize, usize) {
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let version_at = 16 + 1 + b[16] as usize;
    let rules_len = u32::from_le_bytes(b[version_at..version_at + 4].try_into().unwrap()) as usize;
    let automaton_at = version_at + 4 + rules_len;
    let program_at = automaton_at + 8 + u64_at(automaton_at);
    let words_at = (program_at + 8 + u64_at(program_at)).next_multiple_of(4);
    (automaton_at, program_at, words_at)
}

/// Limits under which messages are scanned in short windows with few spans per hit; what
/// the rules may cost stays at the defaults, so every seed loads under them.
fn tight() -> Limits {
    Limits { message_bytes: 64, spans_per_hit: 1, ..Limits::default() }
}

const TEXTS: &[&str] = &[
    "老板先出票，两万块",
    "頭家先 出-piao 啦，等陣俾錢，ＶＸ转账5,000元",
    "民警提醒：冒充大客户让你先出票的千万别信",
    "这期大乐透帮我出票，等下转账，扫码付款",
    "加微信 wx123456789 找客服",
    "",
    "\u{200b}\u{feff}\u{301}a\u{0}\u{7f}🎫先 x 票",
    "wxyz xian chu piao chupiao XIANCHUPIAO",
    "票票票票票票票票票票票票票票票票票票票票票票票票票票票票票票票票",
];

/// Texts too long to spell out: many overlapping hits, and one long run of Latin letters.
fn long_texts() -> &'static [String] {
    static LONG: OnceLock<Vec<String>> = OnceLock::new();
    LONG.get_or_init(|| vec!["先出票5000元，".repeat(300), "wx".repeat(2000), "出".repeat(3000) + "票"])
}

const EVENTS: &[&str] = &[
    r#"{"kind":"message","id":"m1","ts":1747612800000,"conversation":"a","sender":"a","merchant":"a","text":"这期大乐透帮我出三万"}"#,
    r#"{"kind":"message","id":"m2","ts":1747612830000,"conversation":"a","sender":"a","merchant":"a","text":"先出票，我等下转你"}"#,
    r#"{"kind":"transaction","id":"t1","ts":1747612840000,"merchant":"a","payer":"a","payee":"b","amount":3000,"method":"qr","remote":true}"#,
    r#"{"kind":"transaction","id":"t2","ts":1747612850000,"merchant":"a","payer":"b","payee":"b","amount":5000,"method":"other","remote":true}"#,
    r#"{"kind":"message","id":"m3","ts":1747612700000,"conversation":"a","sender":"b","text":"截图发你了，一起结"}"#,
    r#"{"kind":"transaction","id":"t3","ts":1747612900000,"merchant":"a","payer":"c","payee":"b","amount":20000,"method":"qr","remote":true}"#,
    r#"{"kind":"message","id":"m4","conversation":"b","text":"老板 先 出-piao 哈，到账了"}"#,
];

fn events() -> &'static [Event] {
    static EVENTS_READ: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS_READ
        .get_or_init(|| EVENTS.iter().map(|l| Event::from_json(l).expect("the fixed events read")).collect())
}

const U32S: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    0x3fff_ffff,
    0x4000_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xc000_0000,
    u32::MAX - 1,
    u32::MAX,
];
const U64S: &[u64] = &[
    0,
    1,
    2,
    16,
    0x7f,
    0x80,
    0x3fff,
    0x4000,
    0xffff_ffff,
    0x1_0000_0000,
    1 << 40,
    i64::MAX as u64,
    u64::MAX - 7,
    u64::MAX,
];

/// Applies one edit read from `b` to `bundle`.
fn edit(b: &mut Bytes, bundle: &mut Vec<u8>, seed: &Seed) {
    let op = b.byte();
    let offset = usize::from(u16::from_le_bytes([b.byte(), b.byte()]));
    let len = bundle.len();
    // Offsets wrap round inside what they count from, so that past the end of a short bundle
    // they still land in its section rather than all at one place.
    let from = |start: usize, offset: usize| match len.checked_sub(start) {
        Some(rest) => start + offset % (rest + 1),
        None => len,
    };
    let at = match op >> 3 & 3 {
        0 => offset.min(len),
        // Four bytes a step: the automaton's fields are little-endian `u32`s.
        1 => from(seed.automaton_at, 4 * offset),
        2 => from(seed.program_at, offset),
        // Four bytes a step: the words section is little-endian `u32`s.
        _ => from(seed.words_at, 4 * offset),
    };
    let n = 1 + (op >> 5) as usize;
    let write = |bundle: &mut Vec<u8>, bytes: &[u8]| {
        let end = (at + bytes.len()).min(bundle.len());
        bundle[at..end].copy_from_slice(&bytes[..end - at]);
    };
    match op & 7 {
        0 => {
            let bytes: Vec<u8> = (0..n).map(|_| b.byte()).collect();
            write(bundle, &bytes);
        }
        1 => {
            let bytes: Vec<u8> = (0..n).map(|_| b.byte()).collect();
            bundle.splice(at..at, bytes);
        }
        2 => {
            let end = (at + (n << (b.byte() & 7))).min(len);
            bundle.drain(at..end);
        }
        3 => bundle.truncate(at),
        4 => {
            let mask = b.byte().max(1);
            if let Some(x) = bundle.get_mut(at) {
                *x ^= mask;
            }
        }
        5 => {
            let v = match b.byte() {
                x if (x as usize) < U32S.len() => U32S[x as usize],
                x if x & 1 == 0 => (len as u32).wrapping_add(u32::from(x >> 1) & 15).wrapping_sub(8),
                x => u32::from(x),
            };
            write(bundle, &v.to_le_bytes());
        }
        6 => {
            let x = b.byte();
            let v = U64S[x as usize % U64S.len()];
            if x & 0x80 == 0 {
                write(bundle, &v.to_le_bytes());
            } else {
                // As postcard writes an integer: seven bits a byte, low first.
                let mut varint = Vec::new();
                let mut v = v;
                loop {
                    let low = (v & 0x7f) as u8;
                    v >>= 7;
                    if v == 0 {
                        varint.push(low);
                        break;
                    }
                    varint.push(low | 0x80);
                }
                write(bundle, &varint);
            }
        }
        _ => {
            let delta = *b.pick(&[1i8, -1, 2, -2, 4, -4, 64, -64]);
            if let Some(x) = bundle.get_mut(at) {
                *x = x.wrapping_add_signed(delta);
            }
        }
    }
}

/// Rewrites the checksum after tampering, as a hostile file would.
pub fn reseal(bundle: &mut [u8]) {
    if bundle.len() >= 16 {
        let sum = crc32fast::hash(&bundle[16..]);
        bundle[12..16].copy_from_slice(&sum.to_le_bytes());
    }
}

/// A bundle to load, made from an input.
pub struct Input {
    pub bundle: Vec<u8>,
    /// Load it under [`tight`] limits rather than the defaults.
    pub tight: bool,
    /// The engine it was written from, when it is an intact seed.
    pub original: Option<&'static Engine>,
}

/// The bundle an input describes: the target's input format.
pub fn decode(data: &[u8]) -> Input {
    let mut b = Bytes::new(data);
    let setup = b.byte();
    let tight = setup & 0x10 != 0;
    if setup & 3 == 3 {
        return Input { bundle: b.rest().to_vec(), tight, original: None };
    }
    let seed = &seeds()[(setup >> 2 & 3) as usize % seeds().len()];
    let mut bundle = seed.bundle.clone();
    let mut edits = 0;
    while !b.is_empty() && edits < 16 {
        edit(&mut b, &mut bundle, seed);
        edits += 1;
    }
    if setup & 1 == 1 {
        reseal(&mut bundle);
    }
    let original = (bundle == seed.bundle).then_some(&seed.engine);
    Input { bundle, tight, original }
}

pub fn run(data: &[u8]) {
    let input = decode(data);
    load(&input.bundle, input.tight, input.original);
}

/// Loads `bundle` and, if it loads, uses the engine; `original` is the engine it was
/// written from when it is an intact seed.
fn load(bundle: &[u8], tight_limits: bool, original: Option<&Engine>) {
    match BundleInfo::read(bundle) {
        Ok(info) => assert_eq!(info.bytes, bundle.len(), "the header's size"),
        Err(e) => assert!(matches!(e, Error::Bundle(_)) && !e.to_string().is_empty(), "{e:?}"),
    }
    let limits = if tight_limits { tight() } else { Limits::default() };
    let engine = match Engine::from_bundle_with_limits(bundle, &limits) {
        Ok(engine) => engine,
        Err(e) => {
            assert!(matches!(e, Error::Bundle(_)), "not a bundle error: {e:?}");
            assert!(!e.to_string().is_empty(), "an error without a message");
            assert!(original.is_none(), "an intact seed failed to load: {e}");
            return;
        }
    };
    let mut scanner = engine.scanner();
    let texts = TEXTS.iter().copied().chain(long_texts().iter().map(String::as_str));
    let verdicts: Vec<_> = texts.clone().map(|t| scanner.scan_text(t)).collect();
    if let Some(original) = original {
        if !tight_limits {
            for (t, v) in texts.clone().zip(&verdicts) {
                assert_eq!(v, &original.scan_text(t), "an intact seed scans {t:?} differently");
            }
        }
    }
    let mut monitor = Monitor::new(engine.clone());
    let _ = monitor.observe_batch(events());
    for e in events() {
        let _ = monitor.observe(e);
        let _ = engine.scan(e);
    }
    // What loaded writes a bundle that loads again, with the same verdicts.
    let again = engine.to_bundle();
    let reloaded = Engine::from_bundle_with_limits(&again, &limits)
        .unwrap_or_else(|e| panic!("a loaded bundle, written again, does not load: {e}"));
    for (t, v) in texts.zip(&verdicts) {
        assert_eq!(v, &reloaded.scan_text(t), "a bundle written again scans {t:?} differently");
    }
}
