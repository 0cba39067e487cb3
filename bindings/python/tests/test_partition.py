"""Partitioned scoring without Spark: Router, PartitionMonitor and Engine.merge give what
`fanzha scan` gives, for any number of partitions."""

import importlib.util
import json
import pathlib
import random
import subprocess
import sys

import pytest

import fanzha

ROOT = pathlib.Path(__file__).resolve().parents[3]
EXE = ROOT / "target" / "release" / "fanzha"


def load_generator():
    path = ROOT / "examples" / "spark" / "gen_events.py"
    spec = importlib.util.spec_from_file_location("gen_events", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def history(events, seed):
    gen = load_generator()
    return list(gen.History(random.Random(seed), events).lines())


def reference(lines, tmp_path):
    """What `fanzha scan` prints for these lines; a single Monitor when the command is not built."""
    if EXE.exists():
        path = tmp_path / "in.jsonl"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return subprocess.run([str(EXE), "scan", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    monitor = fanzha.Engine.bundled().monitor()
    out = []
    for n, line in enumerate(lines, 1):
        try:
            out.append(monitor.observe(line).to_json())
        except fanzha.EventError as e:
            out.append(json.dumps({"line": n, "error": str(e)}, ensure_ascii=False, separators=(",", ":")))
    return out


def partitioned(engine, lines, partitions, batch=64):
    """The backfill's dataflow in one process: route, observe per partition, merge."""
    router = fanzha.Router(engine, partitions)
    out = [None] * len(lines)
    per_partition = {p: [] for p in range(partitions)}
    fanout = 0
    for n, line in enumerate(lines):
        parts, placement, error = router.route(line)
        if error is not None:
            out[n] = json.dumps({"line": n + 1, "error": error}, ensure_ascii=False, separators=(",", ":"))
            continue
        fanout += len(parts) > 1
        for p in parts:
            per_partition[p].append((n, len(parts), line, placement))
    partials = {}
    for p, items in per_partition.items():
        monitor = fanzha.PartitionMonitor(engine, partitions, p)
        for i in range(0, len(items), batch):
            chunk = items[i : i + batch]
            observed = monitor.observe_placed([(line, placement) for _, _, line, placement in chunk])
            for (n, k, line, placement), (verdict, stateful) in zip(chunk, observed):
                if k == 1:
                    out[n] = verdict
                else:
                    partials.setdefault(n, (line, placement, []))[2].append((p, stateful))
    merged_stateful = 0
    for n, (line, placement, parts) in partials.items():
        out[n] = engine.merge(line, placement[2], [s for _, s in sorted(parts)])
        merged_stateful += any(h.get("events") for h in json.loads(out[n])["hits"])
    return out, fanout, merged_stateful


@pytest.fixture(scope="module")
def bundled():
    return fanzha.Engine.bundled()


def test_router_names_the_partitions_of_each_key_value(bundled):
    router = fanzha.Router(bundled, 4)
    assert router.partitions == 4
    assert router.fields == ["conversation", "merchant", "payee", "payer", "sender"]
    shop, payee = "shop7", "far1"
    parts, placement, error = router.route(
        json.dumps({"kind": "transaction", "merchant": shop, "payer": shop, "payee": payee, "amount": 10, "ts": 1747612800000})
    )
    assert error is None
    assert parts == sorted({router.partition_of(shop), router.partition_of(payee)})
    assert placement == (1, 1747612800000, False, 1747612800000)
    # No key value: spread by position. Late: more than five minutes behind the stream.
    parts, placement, _ = router.route(b'{"kind":"message","text":"hi","ts":1747612000000}\r\n')
    assert parts == [2 % 4] and placement == (2, 1747612000000, True, 1747612800000)
    assert router.route(b"{not json") == ([], None, "invalid JSON: key must be a string at line 1 column 2")
    assert router.route("  ") == ([], None, "empty line")
    assert router.route(b"\xff") == ([], None, "invalid UTF-8 at byte 1")
    assert fanzha.Router(bundled, 4, max_line_bytes=10).route('{"kind":"message","text":"long enough"}')[2] == (
        "the line is longer than the limit of 10 bytes"
    )
    # Lines that are not events take no position.
    assert router.route({"kind": "message", "text": "hi"})[1][0] == 3


def test_bad_arguments_are_value_errors(bundled):
    with pytest.raises(ValueError):
        fanzha.Router(bundled, 0)
    with pytest.raises(ValueError):
        fanzha.PartitionMonitor(bundled, 4, 4)
    with pytest.raises(ValueError):
        fanzha.PartitionMonitor(bundled, 0, 0)
    router = fanzha.Router(bundled, 3)
    with pytest.raises(fanzha.EventError):
        fanzha.PartitionMonitor(bundled, router, 0).observe_placed([("{oops", (1, 0, False, 0))])


def test_rules_whose_state_cannot_be_split_are_refused():
    rules = """
[pack]
id = "t"
version = "1"

[[rule]]
id = "t.fan-in"
title = "fan-in"
category = "laundering"
kinds = ["transaction"]
points = 10
when = { field = { name = "amount", le = 1000 } }
window = { key = "payee", within = "1h", count = { ge = 3 } }

[[rule]]
id = "t.out"
title = "out"
category = "laundering"
kinds = ["transaction"]
points = 10
when = { field = { name = "amount", ge = 3000 } }
sequence = { key = "payer", within = "2h", steps = ["rule:t.fan-in"] }
"""
    engine = fanzha.Engine.from_texts({"t.toml": rules})
    with pytest.raises(ValueError, match="cannot be split into partitions"):
        fanzha.Router(engine, 2)


def test_from_texts_loads_packs_that_refer_to_each_other():
    names = sorted((ROOT / "rules").glob("*.toml"))
    engine = fanzha.Engine.from_texts([(p.name, p.read_text(encoding="utf-8")) for p in names])
    assert engine.rules_version == fanzha.Engine.bundled().rules_version
    with pytest.raises(fanzha.RulesError):
        fanzha.Engine.from_texts([("streams.toml", (ROOT / "rules" / "streams.toml").read_text(encoding="utf-8"))])


@pytest.mark.parametrize("partitions", [1, 2, 4, 7])
def test_partitioned_verdicts_are_the_commands(bundled, tmp_path, partitions):
    lines = history(600, seed=11)
    want = reference(lines, tmp_path)
    got, fanout, merged_stateful = partitioned(bundled, lines, partitions)
    assert len(got) == len(want) == len(lines)
    for n, (a, b) in enumerate(zip(got, want), 1):
        assert a == b, f"line {n}: {lines[n - 1]}"
    if partitions > 1:
        # Events in several partitions, some with window or sequence hits put together.
        assert fanout > 50 and merged_stateful >= 5, (fanout, merged_stateful)
    # The data exercises what it is meant to: stateful hits, late events, bad lines.
    verdicts = [json.loads(v) for v in want]
    assert sum("error" in v for v in verdicts) >= 2
    assert any(v.get("late") for v in verdicts)
    assert sum(any(h.get("events") for h in v.get("hits", [])) for v in verdicts) >= 10


def test_merge_alone_is_a_scan_with_the_stateful_hits_added(bundled):
    line = '{"kind":"message","id":"s3","conversation":"g","text":"好嘞，钱等下一起结"}'
    alone = json.loads(bundled.merge(line, False, []))
    assert alone == bundled.scan_event(line).to_dict()
    merged = json.loads(bundled.merge(line, False, [[("streams.big-customer-script", ["s1", "s2", "s3"])], []]))
    hit = next(h for h in merged["hits"] if h["rule"] == "streams.big-customer-script")
    assert hit["events"] == ["s1", "s2", "s3"] and merged["score"] > alone["score"]
    assert json.loads(bundled.merge(line, True, []))["late"] is True


def test_generator_is_deterministic():
    assert history(200, seed=5) == history(200, seed=5)
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "spark" / "gen_events.py"), "--events", "50", "--seed", "5"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert out == history(50, seed=5)


def test_merge_follows_a_reload():
    pack = '[pack]\nid = "t"\nversion = "{v}"\n[[rule]]\nid = "t.p"\ntitle = "p"\ncategory = "c"\npoints = {points}\nwhen = {{ any = ["先出票"] }}\n'
    engine = fanzha.Engine.from_str(pack.format(v=1, points=70))
    line = '{"kind":"message","text":"先出票"}'
    assert json.loads(engine.merge(line, False, []))["score"] == 70
    engine.reload(text=pack.format(v=2, points=40))
    assert json.loads(engine.merge(line, False, []))["score"] == 40
