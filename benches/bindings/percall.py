"""Per-call cost of scanning one short message from Python, the call a group bot makes for
every message, beside the bare cost of calling into the extension and beside `scan_batch`.

    python benches/bindings/percall.py [--calls N]

Needs the `fanzha` wheel installed (see .ci/run). Prints microseconds per call, the best of
five rounds (the minimum is the figure least disturbed by other work on the machine).
"""

import argparse
import time

import fanzha

MESSAGES = [
    "老板，今天的酸辣粉还有吗",
    "先帮我出两万的票，钱马上转你",
    "晚上几点关门",
    "我是隔壁工地的，订150份盒饭",
]


def best_of(rounds, calls, fn):
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(calls):
            fn(i)
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    engine = fanzha.Engine.bundled()
    n = len(MESSAGES)
    events = [{"kind": "message", "text": MESSAGES[i % n], "sender": i} for i in range(args.calls)]
    # Warm the engine (first scans set up scratch space, lazy regex states).
    for m in MESSAGES * 10:
        engine.scan(m)

    rows = [
        ("bare call (a getter)", best_of(5, args.calls, lambda i: engine.mask_personal_data)),
        ("engine.scan(text)", best_of(5, args.calls, lambda i: engine.scan(MESSAGES[i % n]))),
        (
            "engine.scan(text, sender=, conversation=)",
            best_of(5, args.calls, lambda i: engine.scan(MESSAGES[i % n], sender=i, conversation=42)),
        ),
        ("engine.scan_event(dict)", best_of(5, args.calls, lambda i: engine.scan_event(events[i]))),
    ]
    start = time.perf_counter()
    engine.scan_batch(events)
    rows.append(("engine.scan_batch(list), per event", (time.perf_counter() - start) / len(events) * 1e6))
    bare = rows[0][1]
    print(f"fanzha from Python, {args.calls} calls, best of 5 rounds")
    print("| call | µs per call | over the bare call |")
    print("|---|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.2f} | {us - bare:+.2f} |")


if __name__ == "__main__":
    main()
