#!/usr/bin/env python3
"""Runs every throughput figure side by side and writes docs/BENCHMARKS.md.

    python3 benches/run.py [--runs 7] [--skip-peers] [--quick] [--rewrite] [--out docs/BENCHMARKS.md]

1. `cargo bench --bench throughput` measures fanzha (the full pipeline, the bundled packs on
   the real corpus, scaling to 10,000 rules, `fanzha scan` end to end) and the raw Rust floor,
   and writes the synthetic workload to target/bench/.
2. A virtualenv (target/bench-venv) gets the Python peers pinned in
   benches/peers-requirements.txt, and benches/peers.py times Python `re`, pyahocorasick and
   Hyperscan on the very same messages and patterns.
3. The figures, their ratios (from the same run), the machine and the command are written to
   the markdown file, followed by benches/NOTES.md (what was measured along the way, by hand).

Only the Python standard library is needed to run this script; the machines are shared and
noisy, so every figure is the median of --runs runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "target" / "bench"
VENV = ROOT / "target" / "bench-venv"


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1048576:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "rustc": output(["rustc", "--version"]),
        "python": platform.python_version(),
        "commit": output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def peers(runs: int) -> dict:
    py = VENV / "bin" / "python"
    if not py.exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    run([str(py), "-m", "pip", "install", "-q", "-r", "benches/peers-requirements.txt"])
    out = BENCH / "peers.json"
    run([str(py), "benches/peers.py", "--messages", str(BENCH / "synthetic-messages.txt"),
         "--patterns", str(BENCH / "synthetic-patterns.json"), "--runs", str(runs), "--out", str(out)])
    return json.loads(out.read_text())


def rate(seconds: list[float], messages: int) -> float:
    return messages / statistics.median(seconds)


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def mib(b: float) -> str:
    return f"{b / 1048576:.1f} MiB"


def write(fz: dict, py: dict | None, m: dict, runs: int, out: Path) -> None:
    rows = fz["rows"]

    def row(workload: str, engine: str, threads: int) -> dict | None:
        return next((r for r in rows if r["workload"] == workload and r["engine"] == engine
                     and r["threads"] == threads), None)

    def mps(workload: str, engine: str, threads: int) -> float:
        r = row(workload, engine, threads)
        return r["messages_per_second"] if r else float("nan")

    L: list[str] = []
    L += ["# Benchmarks", ""]
    L += ["Throughput of fanzha beside what a user would otherwise pick, on the same messages and",
          f"the same patterns, from one command. Figures are medians of {runs} runs; ratios compare",
          "figures of the same run. The machines are shared and noisy: a single run can be off by",
          "half, so compare ratios, not absolute figures across days. benches/NOTES.md (below) has",
          "the instruction counts, which do not move with the noise.", ""]
    L += ["```sh", f"python3 benches/run.py --runs {runs}", "```", ""]
    L += ["| machine | |", "|---|---|"]
    for k in ["cpu", "cores", "memory", "os", "rustc", "python", "commit", "date"]:
        L.append(f"| {k} | {m[k]} |")
    L.append("")

    pats = json.loads((BENCH / "synthetic-patterns.json").read_text())
    n = fz["messages"]
    L += ["## The synthetic workload", ""]
    L += [f"{n:,} generated chat messages of 20–300 bytes (about 90 on average, about 2% scam-like)",
          f"against {len(pats['literals']):,} Chinese literals and {len(pats['regexes'])} regexes "
          "(amounts, phone numbers, WeChat and QQ ids, links, phrases with gaps). The generator is",
          "`benches/workload/mod.rs`, seeded, so every run and every peer sees the same bytes",
          "(`target/bench/synthetic-messages.txt`, `synthetic-patterns.json`, `synthetic.toml`).", ""]
    L += ["- **fanzha pipeline**: `Scanner::scan_text` per message: fold (traditional→simplified,",
          "  width, case, separators), find every literal, run the gated regexes, evaluate the rules",
          "  reached, score, build the verdict with evidence and advice. One scanner per thread.",
          "- **rust floor**: the same literals (aho-corasick DFA, or daachorse's char-wise automaton)",
          "  and regexes (`regex::bytes::RegexSet`) on the raw bytes: no folding, no rules, no verdict.",
          "- **Python peers** (`benches/peers.py`): a loop over the messages calling the matcher, as a",
          "  bot does; Python `re` runs every pattern on a sample of the messages.", ""]
    L += ["Peak heap is what the run added to the heap at its highest: scanners, lazy regex states,",
          "the verdicts kept; the compiled engine is in the scaling table.", ""]
    L += ["| engine | patterns | threads | messages/s | MB/s | peak heap |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["workload"] != "synthetic":
            continue
        kind = "literals" if "(literals)" in r["engine"] or "daachorse" in r["engine"] else "literals + regexes"
        L.append(f"| {r['engine']} | {kind} | {r['threads']} | {fmt_rate(r['messages_per_second'])} | "
                 f"{r['mb_per_second']:.1f} | {mib(r['peak_bytes'])} |")
    peer_rates = {}
    if py:
        for p in py["peers"]:
            r = rate(p["seconds"], p["messages"])
            peer_rates[p["name"]] = r
            mb = p["bytes"] / statistics.median(p["seconds"]) / 1e6
            note = f" (first {p['messages']:,} messages)" if p["messages"] < n else ""
            L.append(f"| Python {p['name']}{note} | {p['patterns']} | 1 | {fmt_rate(r)} | {mb:.1f} | |")
    L.append("")
    one = mps("synthetic", "fanzha pipeline", 1)
    two = mps("synthetic", "fanzha pipeline", 2)
    if py:
        L += ["Ratios (fanzha's full pipeline, one thread, over each peer's matching alone; fanzha's",
              "cases run round-robin with each other, the peers right after them):", ""]
        for name, r in peer_rates.items():
            L.append(f"- over Python {name}: **{one / r:.1f}×**")
        pkgs = ", ".join(f"{k} {v}" for k, v in py.get("packages", {}).items())
        L += ["", f"Python {py.get('python', '')}; {pkgs}. The `hyperscan` wheel bundles Vectorscan.", ""]
    L += [f"Two threads over one: **{two / one:.2f}×**.", ""]

    L += ["## The bundled packs on the real corpus", ""]
    L += ["`../shared/corpus/benign-chat.jsonl.gz` (Cantonese, Hokkien and Taiwan Mandarin, none of it a",
          "scam) with one of the scam scripts of `benches/workload/mod.rs` every fifty messages, through the bundled packs",
          "(all their rules, their pinyin and variant spellings, windows and sequences not run here).", ""]
    L += ["| threads | messages/s | MB/s | peak heap | alerts |", "|---|---|---|---|---|"]
    for r in rows:
        if r["workload"] == "bundled":
            L.append(f"| {r['threads']} | {fmt_rate(r['messages_per_second'])} | {r['mb_per_second']:.1f} | "
                     f"{mib(r['peak_bytes'])} | {r['alerts']:,} of {r['messages']:,} |")
    L.append("")

    L += ["## `fanzha scan` end to end", ""]
    L += ["The command on the synthetic messages as JSON Lines (`target/bench/synthetic-events.jsonl`):",
          "read, parse, score, write one verdict per line in order. By default it keeps state for",
          "windows and sequences (a `Monitor`); `--stateless` scores each line alone.", ""]
    L += ["| command | threads | messages/s | MB/s |", "|---|---|---|---|"]
    for r in rows:
        if r["workload"] == "cli":
            L.append(f"| `{r['engine']}` | {r['threads']} | {fmt_rate(r['messages_per_second'])} | "
                     f"{r['mb_per_second']:.1f} |")
    L.append("")

    L += ["## Scaling with the number of rules", ""]
    L += ["Generated packs of specific three-character phrases (`workload::scaling_pack`), on the",
          "synthetic messages, one thread. Time is parsing the TOML plus compiling; memory is the heap",
          "the compiled engine holds.", ""]
    L += ["| rules | literals | parse + compile | engine memory | peak while compiling | ns/message | messages/s |",
          "|---|---|---|---|---|---|---|"]
    scaling = fz["extra"].get("scaling", [])
    for s in scaling:
        ns = s["ns_per_message"]
        L.append(f"| {s['rules']:,} | {s['literals']:,} | {s['total_seconds']:.3f} s | {mib(s['engine_bytes'])} | "
                 f"{mib(s['compile_peak_bytes'])} | {ns:.0f} | {fmt_rate(1e9 / ns)} |")
    L.append("")

    # Targets of issue 5, checked against this run.
    L += ["## Targets", ""]
    L += ["| target | this run | met |", "|---|---|---|"]

    def check(name: str, value: str, ok: bool) -> None:
        L.append(f"| {name} | {value} | {'yes' if ok else '**no**'} |")

    hs = [peer_rates[k] for k in ("hyperscan-all", "hyperscan-literals") if k in peer_rates]
    check("synthetic pipeline ≥ 1,200,000 msg/s on 1 thread", fmt_rate(one), one >= 1.2e6)
    if hs:
        check("… ahead of Hyperscan-from-Python, even literals only", f"{one / max(hs):.1f}× the faster", one > max(hs))
    check("2 threads ≥ 1.8× one", f"{two / one:.2f}×", two >= 1.8 * one)
    b1 = mps("bundled", "fanzha pipeline", 1)
    check("bundled packs on the corpus ≥ 1,000,000 msg/s on 1 thread", fmt_rate(b1), b1 >= 1e6)
    c2 = mps("cli", "fanzha scan", 2)
    check("`fanzha scan` ≥ 500,000 msg/s on 2 threads", fmt_rate(c2), c2 >= 5e5)
    if scaling:
        big = next((s for s in scaling if s["rules"] == 10_000), scaling[-1])
        small = next((s for s in scaling if s["rules"] == 100), scaling[0])
        check("10,000 rules compile in under 1 s", f"{big['total_seconds']:.3f} s", big["total_seconds"] < 1)
        growth = big["ns_per_message"] / small["ns_per_message"]
        check("per-message cost grows < 2× from 100 to 10,000 rules", f"{growth:.2f}×", growth < 2)
        check("engine memory < 64 MiB at 10,000 rules", mib(big["engine_bytes"]), big["engine_bytes"] < 64 << 20)
    L += ["| no heap allocation per message that hits nothing | `tests/alloc.rs` (counting allocator, "
          "bundled packs and the synthetic workload) | tested |", ""]

    notes = ROOT / "benches" / "NOTES.md"
    if notes.exists():
        L += [notes.read_text().rstrip(), ""]
    out.write_text("\n".join(L))
    print(f"wrote {out}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--skip-peers", action="store_true", help="fanzha's figures only")
    ap.add_argument("--quick", action="store_true",
                    help="20,000 messages and few runs: checks that everything runs (CI), not a measurement")
    ap.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    ap.add_argument("--rewrite", action="store_true",
                    help="only rewrite the markdown from the last run's target/bench/*.json")
    args = ap.parse_args()
    fz_json = BENCH / "fanzha.json"
    if args.rewrite:
        peers_json = BENCH / "peers.json"
        py = None if args.skip_peers or not peers_json.exists() else json.loads(peers_json.read_text())
        m = json.loads((BENCH / "machine.json").read_text())
        write(json.loads(fz_json.read_text()), py, m, args.runs, Path(args.out))
        return
    quick = ["--quick"] if args.quick else []
    run(["cargo", "bench", "--bench", "throughput", "--", "--runs", str(args.runs), "--json", str(fz_json), *quick])
    fz = json.loads(fz_json.read_text())
    py = None if args.skip_peers else peers(args.runs)
    m = machine()
    (BENCH / "machine.json").write_text(json.dumps(m))
    write(fz, py, m, args.runs, Path(args.out))


if __name__ == "__main__":
    main()
