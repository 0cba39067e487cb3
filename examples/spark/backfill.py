#!/usr/bin/env python3
"""Backfill: score a historical event log on PySpark, with the verdicts ``fanzha scan`` gives.

    python3 examples/spark/backfill.py --master 'local[2]' --partitions 4 history.jsonl -o verdicts.jsonl

The output has one line per input line, in input order: the verdict, or
``{"line":N,"error":"…"}`` for a line that cannot be read; byte for byte what
``fanzha scan history.jsonl`` prints (with the same rules and the default limits).

How it works
============

Window and sequence rules keep state per key value (a conversation, a merchant, a payer, a
payee). The core's ``Partitioning`` splits the key values into N partitions so that all the
state a rule needs about one value lives in one partition; each partition is then scored by
its own monitor, in parallel, and only events that carry key values of several partitions
need their partial results put together.

1. Routing, the one sequential step. One task reads the input in order (file by file, byte
   offset by byte offset) and streams it through a ``fanzha.Router``: it parses each line,
   runs the monitor's clock over it (the event's time, whether it is late, its position; one
   clock over the whole stream, exactly as ``fanzha scan`` runs it) and names the partitions
   of the key values the event carries. Lateness depends on every event before it, so this
   cannot be split without changing verdicts. It costs one pass of JSON parsing on one core,
   plus Spark moving every line through one Python worker and writing it once into the
   shuffle (twice or three times for an event with several key values): far less than
   scoring, which is what the partitions share, but it bounds the job's rate; see
   ``README.md`` for a measurement. Bad lines are answered here, with their line number.
2. Shuffle by partition number (Spark partition i holds fanzha partition i), sorted within
   each partition by line number: each partition sees its events in input order.
3. One ``fanzha.PartitionMonitor`` per partition observes its events in batches with the
   placements the router gave them. An event with one partition has its final verdict here.
   An event with k > 1 partitions yields k partial results (its stateful hits in that
   partition).
4. The partials are grouped by line number and merged: ``Engine.merge(line, late, partials)``
   scores the event alone and adds the stateful hits of all its partitions.
5. Finals, merged verdicts and error records are sorted by line number and written as one
   JSON Lines file (``-o out.jsonl``) or as Parquet (``--output-format parquet``: columns
   ``line`` (the 1-based input line number) and ``verdict`` (the JSON text)).

The rules are compiled once, on the driver, into a bundle (``Engine.to_bundle()``: the
bundled packs, the ``--rules`` files, or a ``--bundle`` file written by ``fanzha compile``), and
the bundle's bytes are broadcast. Each executor process loads them with
``Engine.from_bundle`` (milliseconds, where compiling the bundled packs takes most of a second
and a few hundred megabytes) and each Python worker keeps its engine in a module global (this
file is shipped to the executors with ``addPyFile`` so that the global outlives a task). A
bundle is checked when it is read (checksum, format version), so a broadcast damaged on the
way fails the task with a clear error instead of scoring with half a rule set.

Input
=====

JSON Lines files (``--input-format jsonl``, the default): one event per line, as for
``fanzha scan``. Several files, or directories (their files in name order), are one stream in
the order given. Lines end at ``\\n`` only, as for ``fanzha scan``. One difference: Spark
decodes text as UTF-8 with replacement characters, so a line that is not valid UTF-8 is read
with U+FFFD in place of the bad bytes instead of being answered with an error.

Parquet (``--input-format parquet``): a string column ``line`` holding one event as JSON and
an integer column (``--order-column``, default ``n``) giving the input order; line numbers in
the output count rows in that order from 1.

Requirements: Java 17 or newer, ``pip install -r examples/spark/requirements.txt`` and the
fanzha wheel (``bindings/python``) in the Python of the driver and of the executors
(``PYSPARK_PYTHON``; in local mode this script sets it to its own interpreter).
"""

import argparse
import hashlib
import importlib
import json
import os
import sys
import time

# How many events a partition monitor observes per call (the GIL is released inside).
BATCH = 2048

_MODULE = os.path.splitext(os.path.basename(__file__))[0]
# The first bytes of every bundle (`fanzha compile`, `Engine.to_bundle()`).
BUNDLE_SIGNATURE = b"\x89FZB\r\n\x1a\n"
# Per Python worker process: bundle digest -> fanzha.Engine. Lives in the copy of this module
# that the executors import (see _engine).
_ENGINES = {}


def _engine(rules, digest):
    """This executor process's engine for the broadcast bundle, loaded on first use."""
    home = importlib.import_module(_MODULE)  # the shipped module: its globals outlive tasks
    engine = home._ENGINES.get(digest)
    if engine is None:
        import fanzha

        engine = fanzha.Engine.from_bundle(rules.value)
        home._ENGINES[digest] = engine
    return engine


def _error_record(line_no, message):
    # The same bytes as `fanzha scan`'s record (serde_json escapes the same characters).
    return json.dumps({"line": line_no, "error": message}, ensure_ascii=False, separators=(",", ":"))


def _route(rules, digest, partitions, max_line_bytes, counts):
    """The routing task: the whole input, in order, through one Router. `counts`: accumulators
    of lines, bad lines and events sent to several partitions."""

    def run(items):
        import fanzha

        router = fanzha.Router(_engine(rules, digest), partitions, max_line_bytes=max_line_bytes)
        last = None
        line_no = errors = spread = 0
        for order, line in items:
            if last is not None and order <= last:
                raise RuntimeError(f"the routing task saw its input out of order ({order} after {last})")
            last = order
            line_no += 1
            parts, placement, error = router.route(line)
            if error is not None:
                errors += 1
                # Answered now; it rides along with a partition to keep one stream of records.
                yield (line_no % partitions, line_no), ("e", _error_record(line_no, error))
            elif len(parts) == 1:
                yield (parts[0], line_no), ("1", line, placement)
            else:
                spread += 1
                for p in parts:
                    yield (p, line_no), ("k", line, placement)
        counts[0].add(line_no)
        counts[1].add(errors)
        counts[2].add(spread)

    return run


def _observe(rules, digest, partitions):
    """A partition's task: its events in input order through one PartitionMonitor."""

    def run(index, items):
        import fanzha

        monitor = fanzha.PartitionMonitor(_engine(rules, digest), partitions, index)
        batch = []  # (line_no, kind, line, placement)

        def flush():
            observed = monitor.observe_placed([(line, placement) for _, _, line, placement in batch])
            for (line_no, kind, line, placement), (verdict, stateful) in zip(batch, observed):
                if kind == "1":
                    yield line_no, ("v", verdict)
                else:
                    yield line_no, ("p", index, stateful, line, placement)
            batch.clear()

        for (part, line_no), record in items:
            if part != index:
                raise RuntimeError(f"partition {index} was handed an event of partition {part}")
            if record[0] == "e":
                yield line_no, ("v", record[1])
                continue
            batch.append((line_no, record[0], record[1], record[2]))
            if len(batch) >= BATCH:
                yield from flush()
        if batch:
            yield from flush()

    return run


def _merge(rules, digest):
    """Puts together the partials of an event routed to several partitions."""

    def run(item):
        line_no, partials = item
        partials = sorted(partials, key=lambda p: p[1])  # by partition number
        _, _, _, line, placement = partials[0]
        late = placement[2]  # (seq, t, late, clock)
        verdict = _engine(rules, digest).merge(line, late, [p[2] for p in partials])
        return line_no, verdict

    return run


def _input_files(sc, paths):
    """Each path as a list of files: a directory's files (not hidden, not _-prefixed) in name order."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    files = []
    for p in paths:
        path = jvm.org.apache.hadoop.fs.Path(p)
        fs = path.getFileSystem(conf)
        status = fs.getFileStatus(path)
        if status.isDirectory():
            names = sorted(
                str(s.getPath().toString())
                for s in fs.listStatus(path)
                if s.isFile() and not s.getPath().getName().startswith((".", "_"))
            )
            files.extend(names)
        else:
            files.append(str(status.getPath().toString()))
    return files


def read_lines(spark, paths, input_format="jsonl", order_column="n"):
    """The input as an RDD of (order key, line text) whose partitions come in input order."""
    sc = spark.sparkContext
    if input_format == "parquet":
        from pyspark.sql import functions as F

        df = spark.read.parquet(*paths).select(F.col(order_column).alias("o"), F.col("line"))
        # A global sort: range partitions in key order, each sorted.
        return df.orderBy("o").rdd.map(lambda r: ((0, r[0]), r[1] if r[1] is not None else ""))
    rdds = []
    for i, f in enumerate(_input_files(sc, paths)):
        rdd = sc.newAPIHadoopFile(
            f,
            "org.apache.hadoop.mapreduce.lib.input.TextInputFormat",
            "org.apache.hadoop.io.LongWritable",
            "org.apache.hadoop.io.Text",
            conf={"textinputformat.record.delimiter": "\n"},
        )
        # (file index, byte offset): input order whatever Spark does with the partitions.
        rdds.append(rdd.map(lambda kv, i=i: ((i, kv[0]), kv[1])))
    if not rdds:
        return sc.emptyRDD()
    return sc.union(rdds) if len(rdds) > 1 else rdds[0]


def backfill(spark, paths, partitions, bundle, input_format="jsonl", order_column="n", max_line_bytes=8 << 20):
    """The verdicts as an RDD of (line number, JSON text), in no particular order; the RDD of
    the monitors' output, persisted (unpersist it once the verdicts are written); and
    accumulators counting lines, bad lines and events in several partitions (read them after;
    a retried routing task counts twice). `bundle`: the compiled rules' bytes (see
    ``compile_rules``), broadcast to the executors."""
    sc = spark.sparkContext
    sc.addPyFile(os.path.abspath(__file__))
    bundle = bytes(bundle)
    digest = hashlib.sha256(bundle).hexdigest()
    rules = sc.broadcast(bundle)

    lines = read_lines(spark, paths, input_format, order_column)
    # 1. Routing: one task, in order. coalesce(1) concatenates the partitions in order without
    # a shuffle; the task checks the order keys rise all the same.
    counts = [sc.accumulator(0) for _ in range(3)]
    routed = lines.coalesce(1).mapPartitions(_route(rules, digest, partitions, max_line_bytes, counts))
    # 2. Spark partition i = fanzha partition i, sorted by line number within.
    shuffled = routed.repartitionAndSortWithinPartitions(
        numPartitions=partitions, partitionFunc=lambda key: key[0], keyfunc=lambda key: key
    )
    # 3. One monitor per partition.
    observed = shuffled.mapPartitionsWithIndex(_observe(rules, digest, partitions)).persist()
    finals = observed.filter(lambda r: r[1][0] == "v").mapValues(lambda v: v[1])
    # 4. Partials of events with several partitions, merged by line number.
    merged = (
        observed.filter(lambda r: r[1][0] == "p").groupByKey(numPartitions=partitions).map(_merge(rules, digest))
    )
    return finals.union(merged), observed, counts


def write_jsonl(sc, verdicts, out):
    """One JSON Lines file, in line order."""
    ordered = verdicts.repartitionAndSortWithinPartitions(numPartitions=1, partitionFunc=lambda _: 0).values()
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    target = jvm.org.apache.hadoop.fs.Path(out)
    fs = target.getFileSystem(conf)
    parts_dir = jvm.org.apache.hadoop.fs.Path(out + ".parts")
    fs.delete(parts_dir, True)
    ordered.saveAsTextFile(out + ".parts")
    part = [s.getPath() for s in fs.listStatus(parts_dir) if s.getPath().getName().startswith("part-")]
    assert len(part) == 1, part
    fs.delete(target, False)
    if not fs.rename(part[0], target):
        raise RuntimeError(f"could not move {part[0]} to {out}")
    fs.delete(parts_dir, True)


def write_parquet(spark, verdicts, out):
    df = spark.createDataFrame(verdicts, "line long, verdict string")
    df.orderBy("line").write.mode("overwrite").parquet(out)


def rules_texts_from(paths):
    """(name, text) of each rule file: a directory's *.toml files in name order."""
    texts = []
    for p in paths:
        if os.path.isdir(p):
            files = sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".toml"))
        else:
            files = [p]
        for f in files:
            with open(f, encoding="utf-8") as fh:
                texts.append((f, fh.read()))
    return texts


def is_bundle(path):
    """Whether `path` is a compiled bundle (by its first bytes), not a rule file or directory."""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as fh:
        return fh.read(len(BUNDLE_SIGNATURE)) == BUNDLE_SIGNATURE


def compile_rules(rules=(), bundle=None):
    """The rules as a bundle, checked: the bytes of the bundle file `bundle` (written by
    ``fanzha compile``; ``--rules FILE.fzb`` alone is one too), else the rule files and
    directories `rules` compiled as one set, else the bundled packs. Returns (bytes, engine);
    a bad bundle or bad rules raise ``fanzha.RulesError`` here, on the driver, before any
    Spark work."""
    import fanzha

    rules = list(rules)
    if bundle is None and len(rules) == 1 and is_bundle(rules[0]):
        bundle, rules = rules[0], []
    if bundle is not None:
        if rules:
            raise ValueError("a bundle is a whole rule set: give --bundle or --rules, not both")
        with open(bundle, "rb") as fh:
            data = fh.read()
        try:
            return data, fanzha.Engine.from_bundle(data)
        except fanzha.RulesError as e:
            raise fanzha.RulesError(f"{bundle}: {e}") from None
    if any(is_bundle(r) for r in rules):
        raise ValueError("a bundle is a whole rule set: give it as the only --rules")
    engine = fanzha.Engine.from_texts(rules_texts_from(rules)) if rules else fanzha.Engine.bundled()
    return engine.to_bundle(), engine


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Score a historical event log on Spark, as `fanzha scan` would.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="JSON Lines files or directories (or Parquet, see --input-format)")
    p.add_argument("-o", "--output", required=True, help="the JSON Lines file to write (a directory for Parquet)")
    p.add_argument("--master", default=None, help="Spark master, e.g. local[2] (default: spark-submit's, else local[*])")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting (repeatable)")
    p.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="a rule file or a directory of *.toml files (repeatable; default: the bundled packs), "
                        "compiled once on the driver; or one bundle")
    p.add_argument("--bundle", default=None, metavar="FILE",
                   help="compiled rules written by `fanzha compile -o FILE` (instead of --rules)")
    p.add_argument("--partitions", type=int, default=None, help="state partitions (default: Spark's default parallelism)")
    p.add_argument("--input-format", choices=["jsonl", "parquet"], default="jsonl")
    p.add_argument("--order-column", default="n", help="Parquet input: the column giving the input order (default n)")
    p.add_argument("--output-format", choices=["jsonl", "parquet"], default="jsonl")
    p.add_argument("--max-line-bytes", type=int, default=8 << 20, help="as fanzha scan's (default 8 MiB)")
    return p.parse_args(argv)


def run(spark, args):
    """The whole job on a running session, as the command line describes it."""
    sc = spark.sparkContext
    partitions = args.partitions or sc.defaultParallelism
    start = time.monotonic()
    bundle, engine = compile_rules(args.rules, args.bundle)
    print(f"backfill: rules {engine.rules_version}, a bundle of {len(bundle)} bytes broadcast "
          f"({time.monotonic() - start:.1f} s to compile or read)", file=sys.stderr)
    verdicts, observed, counts = backfill(spark, args.inputs, partitions, bundle, args.input_format,
                                          args.order_column, args.max_line_bytes)
    try:
        if args.output_format == "parquet":
            write_parquet(spark, verdicts, args.output)
        else:
            write_jsonl(sc, verdicts, args.output)
    finally:
        observed.unpersist()
    seconds = time.monotonic() - start
    lines, errors, spread = (c.value for c in counts)
    print(f"backfill: {lines} lines ({errors} bad, {spread} events in several of {partitions} partitions) "
          f"in {seconds:.1f} s: {lines / max(seconds, 1e-9):.0f} lines/s", file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    # Local mode: the executors' Python is this one, which has fanzha.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("fanzha-backfill").config("spark.ui.showConsoleProgress", "false")
    if args.master:
        builder = builder.master(args.master)
    for kv in args.conf:
        key, _, value = kv.partition("=")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        run(spark, args)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
