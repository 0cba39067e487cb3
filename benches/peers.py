"""Peer benchmark: what a Python bot author would use to match chat messages against a pattern set.

Scans the same messages with the same patterns using four peers and times only the loop over
the messages (the Python per-message loop and match callbacks included, as a bot pays them):

  re-loop             Python `re`: one compiled pattern per literal (re.escape) and per regex,
                      each message searched with every pattern in turn. Too slow to run over
                      everything with ~2,000 patterns, so only the first --re-sample messages.
  pyahocorasick       one `ahocorasick.Automaton` over the literals only (it has no regexes).
  hyperscan-literals  a Hyperscan (Vectorscan, as bundled by the `hyperscan` wheel) block-mode
                      database built with the pure-literal compiler over the literals only.
  hyperscan-all       a Hyperscan block-mode database over the literals and the regexes.

Pattern ids are shared by every peer: literal i is id i, regex j is id len(literals) + j.
Each peer records, per message, the set of ids that matched; `matched_messages` counts the
messages with at least one match, and a cross-check compares the per-message id sets of every
pair of peers over the messages they both scanned (restricted to literal ids where one side
has literals only), so the peers can be sanity-checked against each other.

Inputs:
  --messages  UTF-8 text, one message per line (only the trailing "\\n" is stripped)
  --patterns  JSON {"literals": [str, ...], "regexes": [str, ...]}

Run (from the repository root):
  python3 -m venv target/bench-venv
  target/bench-venv/bin/pip install -r benches/peers-requirements.txt
  target/bench-venv/bin/python benches/peers.py --messages msgs.txt --patterns pats.json \\
      --runs 5 --out target/peers.json [--only hyperscan-all,pyahocorasick] [--re-sample 2000]

The JSON written to --out lists every run's seconds per peer (take the median yourself); a
short table goes to stderr as the peers finish.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from itertools import combinations
from typing import Callable

import ahocorasick
import hyperscan

PEERS = ("re-loop", "pyahocorasick", "hyperscan-literals", "hyperscan-all")

# One run: (seconds spent in the message loop, per-message sets of matched pattern ids).
RunFn = Callable[[], tuple[float, list[set[int]]]]


@dataclass
class Peer:
    name: str
    patterns: str  # "literals" or "literals+regexes"
    messages: int
    bytes: int
    build_seconds: float
    run: RunFn
    seconds: list[float] = field(default_factory=list)
    results: list[set[int]] = field(default_factory=list)  # from the last run

    def record(self) -> dict:
        return {
            "name": self.name,
            "patterns": self.patterns,
            "messages": self.messages,
            "bytes": self.bytes,
            "seconds": self.seconds,
            "build_seconds": self.build_seconds,
            "matched_messages": sum(1 for r in self.results if r),
        }


def fail(msg: str) -> None:
    print(f"peers.py: {msg}", file=sys.stderr)
    sys.exit(2)


def load_messages(path: str) -> list[str]:
    # newline="" keeps a "\r" inside a message as it is: only the line's "\n" is removed.
    with open(path, encoding="utf-8", newline="") as f:
        return [line[:-1] if line.endswith("\n") else line for line in f]


def load_patterns(path: str) -> tuple[list[str], list[str], int]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    literals, regexes = doc.get("literals"), doc.get("regexes")
    if not isinstance(literals, list) or not isinstance(regexes, list):
        fail(f"{path}: expected {{\"literals\": [...], \"regexes\": [...]}}")
    for p in literals + regexes:
        if not isinstance(p, str) or not p:
            fail(f"{path}: every pattern must be a non-empty string, got {p!r}")
        if "\0" in p:
            # The binding passes patterns to Hyperscan as C strings.
            fail(f"{path}: NUL in pattern {p!r}")
    # A repeated literal would keep only one id in the automaton; drop repeats for every peer
    # alike so the per-message id sets stay comparable.
    unique = list(dict.fromkeys(literals))
    return unique, regexes, len(literals) - len(unique)


def utf8_len(texts: list[str]) -> int:
    return sum(len(t.encode("utf-8")) for t in texts)


def timed(build: Callable[[], object]) -> tuple[object, float]:
    t0 = time.perf_counter()
    built = build()
    return built, time.perf_counter() - t0


# --- peers -----------------------------------------------------------------------------------


def re_loop(literals: list[str], regexes: list[str], texts: list[str]) -> Peer:
    def build():
        return [re.compile(re.escape(lit)) for lit in literals] + [re.compile(rx) for rx in regexes]

    compiled, build_s = timed(build)
    indexed = list(enumerate(compiled))

    def run():
        out = []
        t0 = time.perf_counter()
        for msg in texts:
            out.append({i for i, pat in indexed if pat.search(msg)})
        return time.perf_counter() - t0, out

    return Peer("re-loop", "literals+regexes", len(texts), utf8_len(texts), build_s, run)


def aho_corasick(literals: list[str], texts: list[str]) -> Peer:
    def build():
        automaton = ahocorasick.Automaton()
        for i, lit in enumerate(literals):
            automaton.add_word(lit, i)
        automaton.make_automaton()
        return automaton

    automaton, build_s = timed(build)
    find = automaton.iter

    def run():
        out = []
        t0 = time.perf_counter()
        for msg in texts:
            # iter() reports every occurrence, overlapping ones included.
            out.append({i for _end, i in find(msg)})
        return time.perf_counter() - t0, out

    return Peer("pyahocorasick", "literals", len(texts), utf8_len(texts), build_s, run)


def on_match(pattern_id, _start, _end, _flags, hits):
    hits.add(pattern_id)
    # Returning a falsy value lets the scan go on.


def hyperscan_run(db, blobs: list[bytes]) -> RunFn:
    scratch = hyperscan.Scratch(db)
    scan = db.scan

    def run():
        out = []
        t0 = time.perf_counter()
        for blob in blobs:
            hits = set()
            scan(blob, match_event_handler=on_match, context=hits, scratch=scratch)
            out.append(hits)
        return time.perf_counter() - t0, out

    return run


def hyperscan_literals(literals: list[str], texts: list[str], blobs: list[bytes]) -> Peer:
    exprs = [lit.encode("utf-8") for lit in literals]

    def build():
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        # literal=True is hs_compile_lit_multi: bytes are matched as they are, no escaping.
        # HS_FLAG_UTF8 must stay off here: the binding rewrites non-ASCII characters of
        # UTF8-flagged expressions into \x{...} escapes, which the literal compiler would then
        # take literally.
        db.compile(expressions=exprs, ids=list(range(len(exprs))),
                   flags=hyperscan.HS_FLAG_SINGLEMATCH, literal=True)
        return db

    db, build_s = timed(build)
    return Peer("hyperscan-literals", "literals", len(texts), utf8_len(texts), build_s,
                hyperscan_run(db, blobs))


def hs_escape_literal(lit: str) -> bytes:
    # Every ASCII byte that is not alphanumeric becomes \xHH, so no metacharacter survives;
    # multi-byte UTF-8 is left raw and matches byte for byte (no HS_FLAG_UTF8 on literals).
    out = bytearray()
    for b in lit.encode("utf-8"):
        if b >= 0x80 or chr(b).isalnum():
            out.append(b)
        else:
            out += b"\\x%02x" % b
    return bytes(out)


def python_regex_errors(regexes: list[str]) -> list[str]:
    errors = []
    for rx in regexes:
        try:
            re.compile(rx)
        except re.error as e:
            errors.append(f"{rx!r}: {e}")
    return errors


def hyperscan_regex_flags(regexes: list[str]) -> tuple[list[int], list[str]]:
    """Flags per regex, adding HS_FLAG_ALLOWEMPTY only where Hyperscan asks for it.

    Each regex is compiled alone first so that a failure names the regex at fault.
    """
    base = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH
    flags, errors = [], []
    for rx in regexes:
        chosen = None
        for f in (base, base | hyperscan.HS_FLAG_ALLOWEMPTY):
            try:
                hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(
                    expressions=[rx.encode("utf-8")], flags=f)
            except hyperscan.error as e:
                if "ALLOWEMPTY" in str(e) and not f & hyperscan.HS_FLAG_ALLOWEMPTY:
                    continue
                errors.append(f"{rx!r}: {e}")
            else:
                chosen = f
            break
        flags.append(chosen if chosen is not None else base)
    return flags, errors


def hyperscan_all(literals: list[str], regexes: list[str], rx_flags: list[int],
                  texts: list[str], blobs: list[bytes]) -> Peer:
    exprs = [hs_escape_literal(lit) for lit in literals] + [rx.encode("utf-8") for rx in regexes]
    flags = [hyperscan.HS_FLAG_SINGLEMATCH] * len(literals) + rx_flags

    def build():
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags)
        return db

    db, build_s = timed(build)
    return Peer("hyperscan-all", "literals+regexes", len(texts), utf8_len(texts), build_s,
                hyperscan_run(db, blobs))


# --- driver ----------------------------------------------------------------------------------


def cross_check(peers: list[Peer], n_literals: int) -> list[dict]:
    """Per-message id sets of each pair of peers over the messages both scanned."""
    checks = []
    for a, b in combinations(peers, 2):
        n = min(len(a.results), len(b.results))
        literals_only = "literals" in (a.patterns, b.patterns)
        differing = 0
        first = None
        for k in range(n):
            ra, rb = a.results[k], b.results[k]
            if literals_only:
                ra = {i for i in ra if i < n_literals}
                rb = {i for i in rb if i < n_literals}
            if ra != rb:
                differing += 1
                if first is None:
                    first = k
        checks.append({
            "a": a.name, "b": b.name,
            "scope": "literals" if literals_only else "literals+regexes",
            "messages": n, "differing": differing, "first_differing_line": first,
        })
    return checks


def row(*cells) -> str:
    widths = (19, 17, 8, 10, 9, 10, 9, 11, 8)
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in
                     enumerate(zip(cells, widths)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", required=True, help="UTF-8 text file, one message per line")
    ap.add_argument("--patterns", required=True, help='JSON {"literals": [...], "regexes": [...]}')
    ap.add_argument("--runs", type=int, default=5, help="timed runs per peer (default 5)")
    ap.add_argument("--re-sample", type=int, default=2000,
                    help="messages the re-loop peer scans, from the start (default 2000)")
    ap.add_argument("--out", required=True, help="where to write the JSON results")
    ap.add_argument("--only", help=f"comma-separated subset of: {', '.join(PEERS)}")
    args = ap.parse_args()

    wanted = PEERS
    if args.only:
        wanted = tuple(n.strip() for n in args.only.split(",") if n.strip())
        unknown = [n for n in wanted if n not in PEERS]
        if unknown:
            fail(f"unknown peer(s) {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    if args.runs < 1 or args.re_sample < 1:
        fail("--runs and --re-sample must be at least 1")

    texts = load_messages(args.messages)
    literals, regexes, dropped = load_patterns(args.patterns)
    # Hyperscan scans bytes; encoding is the caller's job, so it stays out of the timing.
    blobs = [t.encode("utf-8") for t in texts]
    print(f"{len(texts)} messages, {sum(map(len, blobs))} bytes; {len(literals)} literals "
          f"({dropped} repeats dropped), {len(regexes)} regexes; {args.runs} runs",
          file=sys.stderr)
    # Reject regexes an engine cannot take before anything is timed, naming each one.
    if "re-loop" in wanted:
        errors = python_regex_errors(regexes)
        if errors:
            fail("regexes Python re cannot compile:\n  " + "\n  ".join(errors))
    rx_flags: list[int] = []
    if "hyperscan-all" in wanted:
        rx_flags, errors = hyperscan_regex_flags(regexes)
        if errors:
            fail("regexes Hyperscan cannot compile:\n  " + "\n  ".join(errors))
    allow_empty = [rx for rx, f in zip(regexes, rx_flags) if f & hyperscan.HS_FLAG_ALLOWEMPTY]

    print(row("peer", "patterns", "messages", "build s", "median s", "MB/s", "msg/s",
              "matched", "runs"), file=sys.stderr)

    peers: list[Peer] = []
    for name in PEERS:
        if name not in wanted:
            continue
        if name == "re-loop":
            sample = texts[:args.re_sample]
            peer = re_loop(literals, regexes, sample)
        elif name == "pyahocorasick":
            peer = aho_corasick(literals, texts)
        elif name == "hyperscan-literals":
            peer = hyperscan_literals(literals, texts, blobs)
        else:
            peer = hyperscan_all(literals, regexes, rx_flags, texts, blobs)
        for _ in range(args.runs):
            peer.results = []  # let the previous run's sets go before timing the next
            gc.collect()
            seconds, peer.results = peer.run()
            peer.seconds.append(seconds)
        peers.append(peer)
        med = statistics.median(peer.seconds)
        rec = peer.record()
        print(row(peer.name, peer.patterns, peer.messages, f"{peer.build_seconds:.3f}",
                  f"{med:.3f}", f"{peer.bytes / med / 1e6:.1f}", f"{peer.messages / med:.0f}",
                  rec["matched_messages"], len(peer.seconds)), file=sys.stderr)

    checks = cross_check(peers, len(literals))
    for c in checks:
        verdict = "agree" if not c["differing"] else (
            f"DIFFER on {c['differing']} (first at line {c['first_differing_line'] + 1})")
        print(f"check {c['a']} vs {c['b']} ({c['scope']}, {c['messages']} messages): {verdict}",
              file=sys.stderr)

    result = {
        "python": platform.python_version(),
        "packages": {"hyperscan": version("hyperscan"), "pyahocorasick": version("pyahocorasick")},
        "input": {
            "messages": len(texts), "bytes": sum(map(len, blobs)), "literals": len(literals),
            "duplicate_literals_dropped": dropped, "regexes": len(regexes),
            "runs": args.runs, "re_sample": min(args.re_sample, len(texts)),
            "hyperscan_allowempty": allow_empty,
        },
        "peers": [p.record() for p in peers],
        "cross_check": checks,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
