"""A group-chat guard for shop owners' QQ groups: OneBot v11 message events in, a warning with
fanzha's advice out when a message reaches warn.

The handler is plain Python over OneBot v11 dictionaries, so it drops into any framework that
speaks OneBot (NoneBot2's OneBot adapter, go-cqhttp, Lagrange, NapCat). In NoneBot2:

    from nonebot import on_message
    from nonebot.adapters.onebot.v11 import Bot, GroupMessageEvent

    guard = Guard()
    matcher = on_message()

    @matcher.handle()
    async def _(bot: Bot, event: GroupMessageEvent):
        action = guard.handle(event.model_dump())
        if action:
            await bot.call_api(action["action"], **action["params"])

Here it replays a recorded event file, with no network:

    python onebot_bot.py [onebot_events.jsonl]
"""

import json
import pathlib
import sys
from typing import Any, Dict, Iterable, List, Optional

import fanzha


def text_of(event: Dict[str, Any]) -> str:
    """The text a person sees: text segments joined (images, faces and mentions left out)."""
    message = event.get("message")
    if isinstance(message, list):
        return "".join(seg.get("data", {}).get("text", "") for seg in message if seg.get("type") == "text")
    if isinstance(message, str):
        return message
    return event.get("raw_message", "")


class Guard:
    """Scores every group message of every group through one monitor, so a scam spread over
    several messages in a group is caught when it completes."""

    def __init__(self, engine: Optional[fanzha.Engine] = None) -> None:
        self.engine = engine or fanzha.Engine.bundled()
        self.monitor = self.engine.monitor()

    def handle(self, event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The OneBot action to send for this event, or None."""
        if event.get("post_type") != "message" or event.get("message_type") != "group":
            return None
        verdict = self.monitor.observe(
            {
                "kind": "message",
                "id": event.get("message_id"),
                "ts": int(event.get("time", 0)) * 1000,
                "channel": "qq",
                "conversation": event.get("group_id"),
                "sender": event.get("user_id"),
                "text": text_of(event),
            }
        )
        if not verdict.alert:
            return None
        lines = ["⚠️ 反诈提醒：这条消息像是诈骗话术（" + "、".join(h.rule for h in verdict.hits) + "）"]
        lines += ["· " + advice for advice in verdict.advice]
        reply = [
            {"type": "reply", "data": {"id": str(event.get("message_id"))}},
            {"type": "text", "data": {"text": "\n".join(lines)}},
        ]
        return {"action": "send_group_msg", "params": {"group_id": event.get("group_id"), "message": reply}}


def replay(events: Iterable[Dict[str, Any]], guard: Optional[Guard] = None) -> List[Dict[str, Any]]:
    """The actions a guard takes on a recorded stream of events."""
    guard = guard or Guard()
    return [action for action in (guard.handle(e) for e in events) if action]


def main() -> None:
    path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("onebot_events.jsonl"))
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for action in replay(events):
        print(json.dumps(action, ensure_ascii=False))


if __name__ == "__main__":
    main()
