"""fanzha (反诈): an anti-fraud early-warning rules engine.

Scores chat messages and point-of-sale transactions against rule packs for the scams aimed at
lottery-shop vendors and snack-shop owners, and explains every warning::

    import fanzha
    engine = fanzha.Engine.bundled()
    verdict = engine.scan("老板先出票，钱等下转你", sender=123456, conversation="group-1")
    if verdict.alert:
        print(verdict.level, verdict.advice)

A thin layer over the Rust crate: the same rules, the same verdicts as ``fanzha scan``.

Compiled rules load in milliseconds instead of most of a second: compile once (``fanzha
compile -o rules.fzb``, or ``engine.to_bundle()``) and load the bytes or the file anywhere::

    engine = fanzha.Engine.from_bundle("rules.fzb")   # or bytes, bytearray, memoryview

For a backfill spread over workers (``examples/spark/backfill.py``), a ``Router`` places a
stream's lines in time and names each one's partitions, one ``PartitionMonitor`` per partition
scores them, and ``Engine.merge`` puts together the events that fell in several partitions::

    router = fanzha.Router(engine, 4)
    parts, placement, error = router.route(line)
    monitor = fanzha.PartitionMonitor(engine, 4, parts[0])
    [(verdict_json, stateful)] = monitor.observe_placed([(line, placement)])
"""

from ._fanzha import Engine, EventError, Hit, Monitor, PartitionMonitor, Router, RulesError, Verdict, __version__

__all__ = [
    "Engine",
    "EventError",
    "Hit",
    "Monitor",
    "PartitionMonitor",
    "Router",
    "RulesError",
    "Verdict",
    "__version__",
]
