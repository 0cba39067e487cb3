"""The Spark backfill (examples/spark/backfill.py) prints what `fanzha scan` prints.

Runs Spark in local mode (local[2]) in this process; needs pyspark and Java 17 or newer
(examples/spark/ci.sh installs the pinned pyspark). Skipped only when pyspark is missing.
"""

import importlib.util
import json
import os
import pathlib
import random
import sys

import pytest

try:
    import pyspark  # noqa: F401
except ImportError:  # pragma: no cover - CI installs it (examples/spark/ci.sh)
    pytest.skip("pyspark is not installed: bash examples/spark/ci.sh VENV installs it", allow_module_level=True)

from test_partition import reference

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPARK = ROOT / "examples" / "spark"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SPARK / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    # Registered, so Spark pickles its functions by reference to the copy shipped to workers.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def backfill():
    return load("backfill")


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("fanzha-backfill-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lines():
    """A few hundred events with every stateful rule's script, late and undated events, bad
    lines, a blank line, and one line ending in \\r\\n."""
    gen = load("gen_events")
    out = list(gen.History(random.Random(3), 500).lines())
    out[10] += "\r"
    return out


def write(path, lines, final_newline=False):
    path.write_bytes(("\n".join(lines) + ("\n" if final_newline else "")).encode("utf-8"))


def test_jsonl_backfill_equals_fanzha_scan(spark, backfill, lines, tmp_path):
    src = tmp_path / "history.jsonl"
    write(src, lines)  # the last line without a newline, as scan allows
    want = reference(lines, tmp_path)
    assert sum('"error"' in w for w in want) >= 3 and any('"late":true' in w for w in want)

    out = tmp_path / "verdicts.jsonl"
    backfill.run(spark, backfill.parse_args([str(src), "-o", str(out), "--partitions", "4"]))
    got = out.read_text(encoding="utf-8").split("\n")
    assert got[-1] == "" and len(got) - 1 == len(lines)
    for n, (a, b) in enumerate(zip(got, want), 1):
        assert a == b, f"line {n}"

    # Events sent to several partitions had window or sequence hits put together.
    router = __import__("fanzha").Router(__import__("fanzha").Engine.bundled(), 4)
    routes = [router.route(line)[0] for line in lines]
    spread = [json.loads(v) for v, r in zip(want, routes) if len(r) > 1]
    assert sum(any(h.get("events") for h in v["hits"]) for v in spread) >= 5


def test_several_files_and_rules_from_text(spark, backfill, lines, tmp_path):
    """A directory of files is one stream in name order; rules given as files travel as text."""
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "b.jsonl", lines[200:], final_newline=True)
    write(folder / "a.jsonl", lines[:200], final_newline=True)
    (folder / "_SUCCESS").write_text("")
    out = tmp_path / "verdicts.jsonl"
    args = [str(folder), "-o", str(out), "--partitions", "3", "--rules", str(ROOT / "rules")]
    backfill.run(spark, backfill.parse_args(args))
    assert out.read_text(encoding="utf-8").splitlines() == reference(lines, tmp_path)


def test_parquet_in_and_out(spark, backfill, lines, tmp_path):
    # Rows in no order, in several files: the `n` column gives the input order.
    rows = [(n, line) for n, line in enumerate(lines, 1)]
    random.Random(1).shuffle(rows)
    spark.createDataFrame(rows, "n long, line string").repartition(3).write.parquet(str(tmp_path / "in.parquet"))
    out = tmp_path / "out.parquet"
    args = [str(tmp_path / "in.parquet"), "-o", str(out), "--partitions", "4",
            "--input-format", "parquet", "--output-format", "parquet"]
    backfill.run(spark, backfill.parse_args(args))
    got = [r.verdict for r in spark.read.parquet(str(out)).orderBy("line").collect()]
    assert got == reference(lines, tmp_path)


def test_a_bundle_file_is_broadcast_and_loaded_by_the_executors(spark, backfill, lines, tmp_path):
    """`--bundle FILE` (and `--rules FILE.fzb`): the driver reads and checks the bundle, the
    executors load the broadcast bytes; the verdicts are `fanzha scan`'s."""
    import fanzha

    data = fanzha.Engine.from_path(ROOT / "rules").to_bundle()
    bundle = tmp_path / "rules.fzb"
    bundle.write_bytes(data)
    src = tmp_path / "history.jsonl"
    write(src, lines, final_newline=True)
    want = reference(lines, tmp_path)
    for flag in ["--bundle", "--rules"]:
        out = tmp_path / f"verdicts{flag}.jsonl"
        backfill.run(spark, backfill.parse_args([str(src), "-o", str(out), "--partitions", "3", flag, str(bundle)]))
        assert out.read_text(encoding="utf-8").splitlines() == want, flag


def test_the_driver_compiles_once_and_refuses_bad_bundles(backfill, tmp_path):
    """What is broadcast: a bundle of the rules asked for; a damaged or mixed-up one fails on the
    driver, with the reason, before any Spark work."""
    import fanzha

    data, engine = backfill.compile_rules([str(ROOT / "tests" / "conformance" / "rules.toml")])
    assert data[:8] == backfill.BUNDLE_SIGNATURE and engine.rules_version == "conformance@1"
    assert fanzha.Engine.from_bundle(data).rules_version == "conformance@1"
    bundled, engine = backfill.compile_rules()
    assert engine.rules_version == fanzha.Engine.bundled().rules_version
    assert fanzha.Engine.from_bundle(bundled).rules_version == engine.rules_version

    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 1
    path = tmp_path / "damaged.fzb"
    path.write_bytes(bytes(damaged))
    with pytest.raises(fanzha.RulesError, match="checksum") as caught:
        backfill.compile_rules(bundle=str(path))
    assert str(path) in str(caught.value)
    assert backfill.is_bundle(str(path)) and not backfill.is_bundle(str(ROOT / "rules"))
    with pytest.raises(ValueError, match="whole rule set"):
        backfill.compile_rules([str(path), str(ROOT / "rules")])
    with pytest.raises(ValueError, match="not both"):
        backfill.compile_rules([str(ROOT / "rules")], bundle=str(path))
