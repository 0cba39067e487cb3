"""The sample stream replayed through the plugin as OneBot group messages: the plugin answers
exactly the messages `fanzha scan` gives an acted-on level, at that level, with that advice."""

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Dict

from nonebot.adapters.onebot.v11 import Bot
from nonebug import App

from .conftest import BOT_ID, REPO, fanzha_scan
from .events import group_message


def numbering(prefix: int):
    """Stable numeric QQ ids for the sample's string ids (g1 → 810001, …)."""
    ids: Dict[str, int] = {}
    return lambda key: ids.setdefault(str(key), prefix + len(ids) + 1)


async def test_replay_matches_fanzha_scan(app: App, guard) -> None:
    from nonebot_plugin_fanzha import replies
    from nonebot_plugin_fanzha.guard import contract_event

    guard.config.fanzha_alerts_kept = 1000
    group_of, user_of = numbering(810000), numbering(7000000)
    lines = (REPO / "examples" / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    samples = [json.loads(line) for line in lines if line.strip()]
    events = [
        group_message(
            s["text"],
            group_id=group_of(s["conversation"]),
            user_id=user_of(s["sender"]),
            message_id=i + 1,
            ts=int(datetime.fromisoformat(s["ts"]).timestamp()),
        )
        for i, s in enumerate(x for x in samples if x["kind"] == "message")
    ]
    contract = [
        {
            "kind": "message",
            "id": str(e.message_id),
            "ts": e.time * 1000,
            "channel": "qq",
            "conversation": str(e.group_id),
            "sender": str(e.user_id),
            "text": e.get_plaintext(),
        }
        for e in events
    ]
    assert [contract_event(e) for e in events] == contract
    verdicts = fanzha_scan(contract)
    acted = guard.config.fanzha_act_levels
    answered = [v for v in verdicts if v["level"] in acted]
    assert answered and len(answered) < len(verdicts)  # the sample has both kinds

    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        for event, verdict in zip(events, verdicts):
            ctx.receive_event(bot, event)
            if verdict["level"] in acted:
                expected = replies.warning(event.message_id, SimpleNamespace(**verdict))
                ctx.should_call_send(event, expected, result={"message_id": 100000 + event.message_id})

    # Every alert the plugin kept has the binary's level and rules.
    kept = {}
    for group in {e.group_id for e in events}:
        for alert in guard.recent_alerts(group):
            kept.setdefault(alert.sender, []).append(alert)
    plugin = sorted((a.time, a.sender, a.level, tuple(a.rules)) for alerts in kept.values() for a in alerts)
    binary = sorted(
        (e.time, str(e.user_id), v["level"], tuple(h["rule"] for h in v["hits"]))
        for e, v in zip(events, verdicts)
        if v["level"] in ("warn", "block")
    )
    assert plugin == binary
