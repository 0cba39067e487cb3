"""Scanning from several Python threads: the GIL is released while fanzha scans, and every
event gets exactly one verdict, in order, from one rule-set version, while the rules are
swapped under the scanning threads.

How the GIL test cannot flake: with the interpreter's switch interval set to a minute, a
Python thread that wants the GIL gets it only when the holder lets go of it of its own accord
(a blocking call, a C extension releasing it), never because the holder ran for too long. A
side thread counts while the main thread is inside one fanzha call; if the counter moved, the
call released the GIL. No timing is compared: a control run (a pure-Python loop in place of
the fanzha call) must leave the counter still, and the fanzha call must move it at least once
over a few tries with growing work (on a loaded machine the side thread may not be scheduled
during a short call, never during all of them).
"""

import sys
import threading
import time

import pytest

import fanzha

SCAM = "老板先出票，钱等下转你"
QUIET = "今天天气好"


def rules(version):
    """Version `version`'s pack: its one rule, `py.v<version>`, is worth `points(version)`."""
    return (
        f'[pack]\nid = "py"\nversion = "{version}"\npinyin = false\n'
        f'[[rule]]\nid = "py.v{version}"\ntitle = "t"\ncategory = "c"\npoints = {points(version)}\n'
        'when = { any = ["先出票"] }\n'
    )


def points(version):
    return version % 900 + 1


BROKEN = '[pack]\nid = "py"\nversion = "999999"\n[[rule]]\nid = "py.x"\n'


class Counter(threading.Thread):
    """Counts as long as it holds the GIL, letting go of it after each step."""

    def __init__(self):
        super().__init__(daemon=True)
        self.count = 0
        self.stop = False

    def run(self):
        while not self.stop:
            self.count += 1
            time.sleep(0.0001)


@pytest.fixture
def counter():
    old = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    c = Counter()
    c.start()
    try:
        yield c
    finally:
        c.stop = True
        c.join()
        sys.setswitchinterval(old)


def progress_during(counter, call):
    """How far the counter moved while `call` ran on this thread."""
    before = counter.count
    result = call()
    return counter.count - before, result


def events(n, prefix="e"):
    # JSON strings cross into fanzha without Python's json module: the GIL-holding part of a
    # call stays short next to the scanning.
    return [
        '{"kind":"message","id":"%s%d","ts":%d,"conversation":"g%d","text":"%s"}'
        % (prefix, i, 1747612800000 + i * 1000, i % 50, SCAM if i % 2 == 0 else QUIET)
        for i in range(n)
    ]


@pytest.mark.parametrize("way", ["scan_batch", "observe_batch", "scan"])
def test_scanning_releases_the_gil(counter, way):
    engine = fanzha.Engine.bundled()
    # The control: holding the GIL in Python code, the main thread keeps the counter still.
    moved, _ = progress_during(counter, lambda: sum(range(3_000_000)))
    if moved:
        pytest.skip("this interpreter switches threads without a release (no GIL?): nothing to prove")
    for size in [2_000, 8_000, 32_000, 128_000]:
        if way == "scan_batch":
            batch = events(size)
            moved, verdicts = progress_during(counter, lambda: engine.scan_batch(batch))
            assert [v.id for v in verdicts] == [f"e{i}" for i in range(size)]
        elif way == "observe_batch":
            batch, monitor = events(size), engine.monitor()
            moved, verdicts = progress_during(counter, lambda: monitor.observe_batch(batch))
            assert [v.id for v in verdicts] == [f"e{i}" for i in range(size)]
        else:
            text = "今天天气很好，大家吃了吗？" * (size * 10)
            moved, verdict = progress_during(counter, lambda: engine.scan(text))
            assert verdict.level == "none"
        if moved:
            return
    pytest.fail(f"no other Python thread ran during {way}: the GIL was held throughout")


def test_threads_scan_while_the_rules_are_swapped():
    engine = fanzha.Engine.from_str(rules(1), name="py.toml")
    done = threading.Event()
    start = threading.Barrier(6)
    errors = []
    installed = [1]

    def version_of(verdict, scam):
        """The version a verdict names through its one hit, checked to be that version's work."""
        hits = [(h.rule, h.score) for h in verdict.hits]
        if not scam:
            assert hits == [], hits
            return None
        assert len(hits) == 1, hits
        version = int(hits[0][0].removeprefix("py.v"))
        assert 1 <= version <= installed[0], version
        assert hits[0][1] == points(version) == verdict.score, (hits, verdict.score)
        return version

    def guarded(body):
        def run(*args):
            try:
                start.wait()
                body(*args)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)
                start.abort()

        return run

    def reloader():
        version = 1
        # At least one swap, however the threads are scheduled; then one every 2 ms.
        while version == 1 or not done.is_set():
            version += 1
            installed[0] = version
            engine.reload(text=rules(version), name="py.toml")
            with pytest.raises(fanzha.RulesError):
                engine.reload(text=BROKEN, name="broken.toml")
            assert engine.rules_version != "py@999999"
            time.sleep(0.002)

    def by_batch(name):
        last = 0
        for round_ in range(30):
            batch = events(200, prefix=f"{name}-{round_}-")
            verdicts = engine.scan_batch(batch)
            assert [v.id for v in verdicts] == [f"{name}-{round_}-{i}" for i in range(200)], "one each, in order"
            versions = {version_of(v, i % 2 == 0) for i, v in enumerate(verdicts)} - {None}
            assert len(versions) == 1, f"one batch, one version: {versions}"
            (version,) = versions
            assert version >= last, (version, last)
            last = version

    def by_event(name):
        last = 0
        for i in range(3_000):
            scam = i % 2 == 0
            v = engine.scan_event({"kind": "message", "id": f"{name}-{i}", "text": SCAM if scam else QUIET})
            assert v.id == f"{name}-{i}"
            version = version_of(v, scam)
            if version is not None:
                assert version >= last, (version, last)
                last = version

    def by_monitor(name):
        # A monitor follows the reloads: one version a batch, never an older one.
        monitor = engine.monitor()
        last = 0
        for round_ in range(20):
            batch = events(100, prefix=f"{name}-{round_}-")
            verdicts = monitor.observe_batch(batch)
            assert [v.id for v in verdicts] == [f"{name}-{round_}-{i}" for i in range(100)]
            versions = {version_of(v, i % 2 == 0) for i, v in enumerate(verdicts)} - {None}
            assert len(versions) == 1, f"one batch, one version: {versions}"
            (version,) = versions
            assert version >= last, (version, last)
            last = version

    workers = [
        threading.Thread(target=guarded(by_batch), args=("b0",)),
        threading.Thread(target=guarded(by_batch), args=("b1",)),
        threading.Thread(target=guarded(by_event), args=("s0",)),
        threading.Thread(target=guarded(by_event), args=("s1",)),
        threading.Thread(target=guarded(by_monitor), args=("m0",)),
    ]
    swapper = threading.Thread(target=guarded(reloader))
    swapper.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    swapper.join()
    if errors:
        raise errors[0]
    assert installed[0] >= 2, "the rules were swapped while the threads scanned"
