"""fanzha (反诈): an anti-fraud early-warning rules engine.

Scores chat messages and point-of-sale transactions against rule packs for the scams aimed at
lottery-shop vendors and snack-shop owners, and explains every warning::

    import fanzha
    engine = fanzha.Engine.bundled()
    verdict = engine.scan("老板先出票，钱等下转你", sender=123456, conversation="group-1")
    if verdict.alert:
        print(verdict.level, verdict.advice)

A thin layer over the Rust crate: the same rules, the same verdicts as ``fanzha scan``.
"""

from ._fanzha import Engine, EventError, Hit, Monitor, RulesError, Verdict, __version__

__all__ = ["Engine", "EventError", "Hit", "Monitor", "RulesError", "Verdict", "__version__"]
