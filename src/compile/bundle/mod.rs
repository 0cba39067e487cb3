//! Bundles: compiled rules saved to bytes and loaded back without parsing TOML or expanding
//! spellings.
//!
//! Compiling the bundled packs takes most of a second and a few hundred megabytes (110,000
//! literal spellings, most of them pinyin), on every start of every process. A bundle is the
//! result of that work: loading one copies the automaton, decodes the rule program, checks
//! it, and compiles the few regexes again (their compiled forms are not portable).
//!
//! A bundle may come from anywhere — a file handed to a point-of-sale terminal, a broadcast
//! in a Spark job — so reading one trusts nothing in it: a truncated, damaged or hostile file
//! is an [`Error::Bundle`] that says what is wrong, never a panic, a hang or undefined
//! behaviour (`fuzz/fuzz_targets/bundle.rs` exercises the reader).
//!
//! # Layout
//!
//! | bytes | what |
//! |---|---|
//! | 8 | signature `\x89FZB\r\n\x1a\n` (a text-mode transfer or a truncated first line breaks it) |
//! | 4 | format version, little-endian |
//! | 4 | CRC-32 of every byte after this field |
//! | 1 + n | the fanzha version that wrote it |
//! | 4 + m | the rule-set version (`common@1.0.0+merchant@1.2`) |
//! | 8 + a | the literal automaton, in daachorse's serialization |
//! | 8 + p | the rule program: [`Compiled`] but the automaton, the compiled regexes and the arrays of words, in postcard |
//! | 0–3 | zeros, so the words section starts at a multiple of 4 bytes |
//! | rest | the words section: the number of arrays, the length of each, then their words (see [`Compiled::word_arrays`]) |
//!
//! Lengths and words are little-endian. The signature, format version and fanzha version come first and
//! never move, so any version of fanzha can say which version wrote a bundle it cannot read.

mod automaton;
mod check;
pub(super) mod words;

use super::{build_regexes, Compiled};
use crate::error::Error;
use crate::limits::Limits;

/// The first eight bytes of every bundle.
const SIGNATURE: &[u8; 8] = b"\x89FZB\r\n\x1a\n";

/// The layout written and read by this fanzha. Raised whenever the bytes of a bundle would be
/// read differently: a new field, a changed type, or a new daachorse serialization.
const FORMAT: u32 = 2;

/// Signature, format and checksum.
const FIXED: usize = 16;

/// What a bundle's header says, read without decoding the rest.
///
/// ```
/// let engine = fanzha::Engine::bundled()?;
/// let bundle = engine.to_bundle();
/// let info = fanzha::BundleInfo::read(&bundle)?;
/// assert_eq!(info.rules_version, engine.version());
/// assert_eq!(info.fanzha_version, env!("CARGO_PKG_VERSION"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    /// The layout version of the bundle.
    pub format: u32,
    /// The fanzha version that wrote it.
    pub fanzha_version: String,
    /// The version of the rule set compiled into it (see [`RuleSet::version`](crate::RuleSet::version)).
    pub rules_version: String,
    /// The size of the bundle in bytes.
    pub bytes: usize,
}

impl BundleInfo {
    /// The first bytes of every bundle, to tell one from a rule file.
    pub const SIGNATURE: &'static [u8; 8] = SIGNATURE;

    /// Whether the file at `path` starts with the bundle signature: how a path that may name
    /// rule packs or a bundle is told apart, whatever the file is called.
    pub fn is_bundle_file(path: impl AsRef<std::path::Path>) -> bool {
        use std::io::Read;
        let mut head = [0u8; 8];
        std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == SIGNATURE
    }

    /// Reads a bundle's header and checks its signature, format and checksum, without decoding
    /// the rules.
    pub fn read(bundle: &[u8]) -> Result<BundleInfo, Error> {
        Header::read(bundle, true).map(|h| h.info)
    }
}

/// A header that passed its checks, and where the sections after it are.
struct Header<'a> {
    info: BundleInfo,
    automaton: &'a [u8],
    automaton_at: usize,
    program: &'a [u8],
    program_at: usize,
    words: &'a [u8],
    words_at: usize,
}

fn bundle_error(message: impl Into<String>) -> Error {
    Error::Bundle(message.into())
}

/// A cursor over the bundle that turns running off the end into an error naming the part.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        match self.bytes.get(self.at..).and_then(|rest| rest.get(..n)) {
            Some(s) => {
                self.at += n;
                Ok(s)
            }
            None => Err(bundle_error(format!(
                "truncated: {what} needs {n} bytes at byte {}, but the bundle has {} bytes",
                self.at,
                self.bytes.len()
            ))),
        }
    }

    fn uint<const N: usize>(&mut self, what: &str) -> Result<u64, Error> {
        let mut b = [0u8; 8];
        b[..N].copy_from_slice(self.take(N, what)?);
        Ok(u64::from_le_bytes(b))
    }

    fn text<const N: usize>(&mut self, what: &str) -> Result<String, Error> {
        let n = usize::try_from(self.uint::<N>(what)?).unwrap_or(usize::MAX);
        let at = self.at;
        let s = self.take(n, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| bundle_error(format!("{what} at byte {at} is not UTF-8")))
    }
}

impl<'a> Header<'a> {
    /// Reads and checks the header; `verify` also checks the whole bundle's checksum.
    fn read(bytes: &'a [u8], verify: bool) -> Result<Header<'a>, Error> {
        if !bytes.starts_with(SIGNATURE) {
            let hint = if bytes.trim_ascii_start().starts_with(b"[") || bytes.starts_with(b"#") {
                " (it looks like a TOML rule pack: load it as rules, or compile it with `fanzha compile`)"
            } else {
                ""
            };
            return Err(bundle_error(format!("not a fanzha rule bundle: the signature is missing{hint}")));
        }
        let mut r = Reader { bytes, at: SIGNATURE.len() };
        let format = r.uint::<4>("the format version")? as u32;
        let checksum = r.uint::<4>("the checksum")? as u32;
        // The writer's version is read before anything else is trusted, to name it in errors.
        let fanzha_version = r.text::<1>("the fanzha version").unwrap_or_else(|_| "?".to_string());
        if format != FORMAT {
            return Err(bundle_error(format!(
                "bundle format {format}, written by fanzha {fanzha_version}; this fanzha ({}) reads \
                 format {FORMAT}: compile the rules again with this version (`fanzha compile`)",
                env!("CARGO_PKG_VERSION")
            )));
        }
        let actual = if verify { crc32fast::hash(&bytes[FIXED..]) } else { checksum };
        if actual != checksum {
            return Err(bundle_error(format!(
                "the bundle is damaged or truncated: its checksum is {actual:08x}, the header says \
                 {checksum:08x} ({} bytes)",
                bytes.len()
            )));
        }
        let rules_version = r.text::<4>("the rule-set version")?;
        let automaton_len = usize::try_from(r.uint::<8>("the automaton's length")?).unwrap_or(usize::MAX);
        let automaton_at = r.at;
        let automaton = r.take(automaton_len, "the literal automaton")?;
        let program_len = usize::try_from(r.uint::<8>("the program's length")?).unwrap_or(usize::MAX);
        let program_at = r.at;
        let program = r.take(program_len, "the rule program")?;
        let padding = r.at.next_multiple_of(4) - r.at;
        if r.take(padding, "the padding before the words")?.iter().any(|&b| b != 0) {
            return Err(bundle_error(format!(
                "the padding at byte {} is not zeros",
                program_at + program_len
            )));
        }
        let words_at = r.at;
        let words = &bytes[words_at..];
        Ok(Header {
            info: BundleInfo { format, fanzha_version, rules_version, bytes: bytes.len() },
            automaton,
            automaton_at,
            program,
            program_at,
            words,
            words_at,
        })
    }
}

impl Compiled {
    /// The bundle of these rules.
    pub(crate) fn to_bundle(&self) -> Vec<u8> {
        let automaton = self.automaton.as_ref().map(|a| a.0.serialize()).unwrap_or_default();
        // Serializing types of this crate into a Vec cannot fail.
        let program = postcard::to_stdvec(self).expect("the rule program serializes");
        let fanzha = env!("CARGO_PKG_VERSION").as_bytes();
        let mut out = Vec::with_capacity(64 + automaton.len() + program.len() + self.words_bytes());
        out.extend_from_slice(SIGNATURE);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(fanzha.len().min(255) as u8);
        out.extend_from_slice(&fanzha[..fanzha.len().min(255)]);
        out.extend_from_slice(&(self.version.len() as u32).to_le_bytes());
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(&(automaton.len() as u64).to_le_bytes());
        out.extend_from_slice(&automaton);
        out.extend_from_slice(&(program.len() as u64).to_le_bytes());
        out.extend_from_slice(&program);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(&words::section(&self.word_arrays()));
        let checksum = crc32fast::hash(&out[FIXED..]);
        out[12..FIXED].copy_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Every array of words of the program, in the order of the words section: the pattern
    /// edges, the rows of triggers, regex triggers, arms, anchors and postings (starts, then
    /// items), then each atom list.
    ///
    /// The postings could be derived from the lists, but deriving them was a third of the
    /// time the bundled packs took to load (2.6 MB of fresh heap, and every list read); a
    /// bundle from outside has them checked against the lists instead.
    fn word_arrays(&self) -> Vec<&[u32]> {
        let mut out: Vec<&[u32]> = vec![&self.edges];
        for rows in [&self.triggers, &self.regex_triggers, &self.arms, &self.anchors, &self.postings] {
            out.push(&rows.start);
            out.push(&rows.items);
        }
        out.extend(self.lists.iter().map(|l| &**l));
        out
    }

    /// Bytes of the words section.
    fn words_bytes(&self) -> usize {
        self.word_arrays().iter().map(|a| 4 + 4 * a.len()).sum::<usize>() + 4
    }

    /// Puts back the arrays [`Compiled::word_arrays`] gave, in its order.
    fn set_word_arrays(&mut self, arrays: Vec<words::Words>) -> Result<(), String> {
        const FIXED_ARRAYS: usize = 11;
        if arrays.len() < FIXED_ARRAYS {
            return Err(format!("has {} arrays, fewer than {FIXED_ARRAYS}", arrays.len()));
        }
        let mut it = arrays.into_iter();
        let mut next = || it.next().unwrap_or_default();
        self.edges = next();
        for rows in [
            &mut self.triggers,
            &mut self.regex_triggers,
            &mut self.arms,
            &mut self.anchors,
            &mut self.postings,
        ] {
            rows.start = next();
            rows.items = next();
        }
        self.lists = it.collect();
        Ok(())
    }

    /// Reads a bundle. What its rules may cost is bounded by `limits` whatever limits the
    /// bundle was compiled under (a file cannot raise them for itself); how messages are
    /// scanned (`message_bytes`, `spans_per_hit`) is the reader's choice, taken from `limits`.
    ///
    pub(crate) fn from_bundle(bytes: &[u8], limits: &Limits) -> Result<Compiled, Error> {
        Compiled::load(bytes, None, limits)
    }

    /// Reads the bundle compiled into this binary, checked by its tests like its code. It
    /// skips the checksum (the binary's own bytes are not damaged in transit), following
    /// every failure link of the automaton and checking every index of the program (guards
    /// against a crafted file, not a damaged one: milliseconds, and every page of the rows
    /// touched), and uses its words where they lie (see [`words`]).
    pub(crate) fn from_static_bundle(bytes: &'static [u8], limits: &Limits) -> Result<Compiled, Error> {
        Compiled::load(bytes, Some(bytes), limits)
    }

    /// Reads `bytes`; `statik` is the same bytes when they are the binary's own.
    fn load(bytes: &[u8], statik: Option<&'static [u8]>, limits: &Limits) -> Result<Compiled, Error> {
        let trusted = statik.is_some();
        let header = Header::read(bytes, !trusted)?;
        let words = match statik {
            Some(all) => words::Source::Static(&all[header.words_at..]),
            None => words::Source::Copy(header.words),
        };
        // The automaton and the program are independent until the end: on a second core the
        // automaton is copied and checked while the program is decoded.
        let (automaton, compiled) = std::thread::scope(|s| {
            let automaton = s.spawn(|| {
                (!header.automaton.is_empty()).then(|| automaton::read(header.automaton, trusted)).transpose()
            });
            let compiled = Compiled::program_from(&header, words, trusted, limits);
            let automaton = automaton.join().unwrap_or_else(|_| Err("reading it failed".to_string()));
            (automaton, compiled)
        });
        let mut compiled = compiled?;
        compiled.automaton = automaton.map_err(|e| {
            bundle_error(format!(
                "the literal automaton at bytes {}..{} is invalid: {e}",
                header.automaton_at,
                header.automaton_at + header.automaton.len()
            ))
        })?;
        if compiled.automaton.is_some() != (compiled.literal_count > 0) {
            return Err(bundle_error("the bundle's automaton and its literals disagree"));
        }
        compiled.stats.automaton_bytes = compiled.automaton.as_ref().map_or(0, |a| a.0.heap_bytes());
        Ok(compiled)
    }

    /// The rule program of a bundle, checked, with its regexes compiled; no automaton yet.
    fn program_from(
        header: &Header<'_>,
        words: words::Source<'_>,
        trusted: bool,
        limits: &Limits,
    ) -> Result<Compiled, Error> {
        let mut compiled: Compiled = postcard::from_bytes(header.program).map_err(|e| {
            bundle_error(format!("the rule program at byte {} cannot be decoded: {e}", header.program_at))
        })?;
        let arrays = words::read_section(words).map_err(|e| {
            bundle_error(format!("the words section at byte {} is invalid: {e}", header.words_at))
        })?;
        compiled.set_word_arrays(arrays).map_err(|e| bundle_error(format!("the words section {e}")))?;
        check::within_limits(&compiled, limits).map_err(bundle_error)?;
        compiled.limits.message_bytes = limits.message_bytes;
        compiled.limits.spans_per_hit = limits.spans_per_hit;
        if !trusted {
            check::consistent(&compiled)
                .map_err(|e| bundle_error(format!("the rule program is inconsistent: {e}")))?;
        }
        if compiled.version.as_ref() != header.info.rules_version {
            return Err(bundle_error("the rule-set version in the header differs from the program's"));
        }
        // Each list was stored once; the conditions get their atoms back from the table.
        let lists = compiled.lists.clone();
        let mut fill = |l: &mut super::program::AtomList| l.atoms = lists[l.id as usize].clone();
        for r in compiled.rules.iter_mut() {
            r.when.lists_mut(&mut fill);
            fill(&mut r.evidence_atoms);
            r.counters.iter_mut().for_each(|k| k.when.lists_mut(&mut fill));
        }
        // The automaton's serialized size stands for its heap size in the compiled-bytes limit.
        compiled.regexes = build_regexes(&compiled.regex_sources, &compiled.limits, header.automaton.len())
            .map_err(|e| bundle_error(format!("the rule program's {e}")))?
            .into_boxed_slice();
        compiled.stats.regex_bytes = compiled.regexes.iter().map(|r| r.memory_usage()).sum();
        Ok(compiled)
    }
}
