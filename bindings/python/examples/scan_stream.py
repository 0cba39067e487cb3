"""`fanzha scan` in Python: JSON Lines events in, one verdict per line out, through a monitor.

    python scan_stream.py < events.jsonl > verdicts.jsonl

A line that cannot be read gives {"line": N, "error": "..."} in its place, as the command does.
"""

import json
import sys

import fanzha


def main() -> None:
    monitor = fanzha.Engine.bundled().monitor()
    for n, line in enumerate(sys.stdin, 1):
        try:
            print(monitor.observe(line.rstrip("\r\n")).to_json())
        except fanzha.EventError as e:
            print(json.dumps({"line": n, "error": str(e)}, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main()
