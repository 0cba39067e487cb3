"""The Python binding as a group-chat bot uses it."""

import json
import pathlib
import threading

import pytest

import fanzha

ROOT = pathlib.Path(__file__).resolve().parents[3]

RULES = """
[pack]
id = "t"
version = "1"
pinyin = false

[[rule]]
id = "t.print-first"
title = "p"
category = "fake_large_order"
points = 70
advice = ["未收到款项前不要出票"]
when = { any = ["先出票"] }
"""


@pytest.fixture(scope="module")
def bundled():
    return fanzha.Engine.bundled()


def test_scan_a_message_with_numeric_ids(bundled):
    v = bundled.scan("老闆，先幫我出伍萬嘅票，錢等陣俾你", sender=123456789, conversation=987654, channel="qq", id=42)
    assert v.level == "block" and v.alert
    assert v.id == "42"
    assert v.hits[0].rule == "merchant.print-first"
    assert v.hits[0].evidence == ["先幫我出伍萬嘅票", "錢等陣俾你"]
    assert v.hits[0].spans == [(3, 11), (12, 17)]
    assert v.advice
    quiet = bundled.scan("老板来两份酸辣粉")
    assert quiet.level == "none" and not quiet.alert and quiet.hits == []


def test_verdicts_match_the_output_contract(bundled):
    v = bundled.scan_event({"kind": "message", "id": "m1", "text": "老板先出票，钱等下转你"})
    d = v.to_dict()
    assert d == json.loads(v.to_json())
    assert set(d) == {"id", "level", "score", "hits", "advice"}
    assert d["hits"][0]["spans"] == [list(s) for s in v.hits[0].spans]


def test_transactions_and_bad_events(bundled):
    ok = bundled.scan_event({"kind": "transaction", "amount": 0.1 + 0.2, "memo": "刷单佣金返还"})
    assert ok.hits[0].rule == "streams.memo-script"
    for bad in [{"kind": "transaction", "amount": -1}, {"kind": "fax"}, "{not json", {"kind": "message"}]:
        with pytest.raises(fanzha.EventError):
            bundled.scan_event(bad)


def test_batch_releases_the_gil_and_keeps_order(bundled):
    events = [{"kind": "message", "id": str(i), "text": "先出票，钱等下转" if i % 3 == 0 else "你好"} for i in range(3000)]
    results = {}

    def work(name):
        results[name] = bundled.scan_batch(events)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for verdicts in results.values():
        assert [v.id for v in verdicts] == [str(i) for i in range(3000)]
        assert [v.alert for v in verdicts] == [i % 3 == 0 for i in range(3000)]


def test_monitor_catches_a_scam_spread_over_messages(bundled):
    m = bundled.monitor()
    chat = ["我们是隔壁项目部的", "这期双色球帮我出三万", "好嘞，钱等下一起结"]
    verdicts = [
        m.observe({"kind": "message", "id": f"s{i}", "ts": 1747612800000 + i * 60000, "conversation": "g", "text": t})
        for i, t in enumerate(chat)
    ]
    assert [v.alert for v in verdicts] == [False, False, True]
    assert all(not bundled.scan(t).alert for t in chat), "no single message reaches warn"
    hit = next(h for h in verdicts[2].hits if h.rule == "streams.big-customer-script")
    assert hit.events == ["s0", "s1", "s2"]


def test_rule_errors_are_located_and_reload_keeps_the_running_rules():
    with pytest.raises(fanzha.RulesError) as e:
        fanzha.Engine.from_str(RULES.replace("先出票\"]", "@nope\"]"), name="bot.toml")
    d = e.value.diagnostics[0]
    assert (d["code"], d["file"], d["line"], d["rule"]) == ("E003", "bot.toml", 13, "t.print-first")
    assert "bot.toml:13:" in str(e.value)
    text = RULES.replace("先出票\"]", "@nope\"]")
    start, end = d["span"]
    assert text.encode()[start:end].decode() == '"@nope"'

    engine = fanzha.Engine.from_str(RULES)
    assert engine.rules_version == "t@1"
    with pytest.raises(fanzha.RulesError):
        engine.reload(text="[pack]\nid = \"t\"\nversion = \"2\"\n[[rule]]\nid = \"t.x\"\n")
    assert engine.rules_version == "t@1"
    assert engine.scan("先出票").score == 70
    engine.reload(text="[pack]\nid = \"t\"\nversion = \"2\"\n")
    assert engine.rules_version == "t@2"
    assert engine.scan("先出票").score == 0
    engine.reload(path=ROOT / "examples" / "rules" / "snack-advance.toml")
    assert engine.rules_version != "t@2"


def test_same_verdicts_as_the_command_line(bundled):
    import subprocess

    sample = ROOT / "examples" / "messages.jsonl"
    exe = ROOT / "target" / "release" / "fanzha"
    if not exe.exists():
        pytest.skip("build the command first: cargo build --release")
    cli = subprocess.run([str(exe), "scan", str(sample)], capture_output=True, text=True, check=True).stdout.splitlines()
    m = bundled.monitor()
    ours = [m.observe(line).to_json() for line in sample.read_text(encoding="utf-8").splitlines()]
    assert ours == cli


def test_conformance_vectors():
    vectors = ROOT / "tests" / "conformance"
    engine = fanzha.Engine.from_path(vectors / "rules.toml")
    monitor = engine.monitor()
    events = (vectors / "events.jsonl").read_text(encoding="utf-8").splitlines()
    want = (vectors / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(events) == len(want) >= 10
    for i, (event, expected) in enumerate(zip(events, want), 1):
        assert monitor.observe(json.loads(event)).to_json() == expected, f"event {i}"


def test_onebot_guard_replays_a_recorded_group_without_network():
    import importlib.util

    path = ROOT / "bindings" / "python" / "examples" / "onebot_bot.py"
    spec = importlib.util.spec_from_file_location("onebot_bot", path)
    bot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bot)
    events = [json.loads(line) for line in path.with_name("onebot_events.jsonl").read_text(encoding="utf-8").splitlines()]
    actions = bot.replay(events)
    # The three-message fake order in one group, and the Cantonese print-first in the other;
    # not the publicity, the chatter or the join notice.
    assert [a["params"]["message"][0]["data"]["id"] for a in actions] == ["1003", "1005"]
    assert [a["params"]["group_id"] for a in actions] == [5551234, 7770000]
    text = actions[0]["params"]["message"][1]["data"]["text"]
    assert text.startswith("⚠️ 反诈提醒") and "streams.big-customer-script" in text and "· " in text


def test_the_scan_stream_script_prints_what_fanzha_scan_prints():
    import subprocess
    import sys

    exe = ROOT / "target" / "release" / "fanzha"
    if not exe.exists():
        pytest.skip("build the command first: cargo build --release")
    sample = (ROOT / "examples" / "messages.jsonl").read_bytes()
    script = ROOT / "bindings" / "python" / "examples" / "scan_stream.py"
    ours = subprocess.run([sys.executable, str(script)], input=sample, capture_output=True, check=True).stdout
    theirs = subprocess.run([str(exe), "scan"], input=sample, capture_output=True, check=True).stdout
    assert ours == theirs
