"""The plugin's state: one fanzha engine, one monitor per bot, the group switches and the recent
alerts. All scoring, thresholds and advice are fanzha's; this only feeds it events."""

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional

import fanzha
from nonebot import logger
from nonebot.adapters.onebot.v11 import GroupMessageEvent, Message

from .config import Config
from .switches import GroupSwitches


def plain_text(message: Message) -> str:
    """What fanzha reads: the text segments joined; images, faces, mentions and replies left out."""
    return "".join(seg.data.get("text", "") for seg in message if seg.type == "text")


def contract_event(event: GroupMessageEvent) -> Dict[str, Any]:
    """A OneBot v11 group message as a fanzha message event (docs/CONTRACT.md).

    The conversation is the group, so window and sequence rules see a script spread over
    several messages (and several senders) in one group."""
    # original_message: NoneBot strips a leading @bot or the bot's nickname from `message`.
    message = event.original_message or event.message
    return {
        "kind": "message",
        "id": str(event.message_id),
        "ts": int(event.time) * 1000,
        "channel": "qq",
        "conversation": str(event.group_id),
        "sender": str(event.user_id),
        "text": plain_text(message),
    }


def load_engine(rules: Optional[Path]) -> fanzha.Engine:
    if rules is None:
        return fanzha.Engine.bundled()
    if rules.suffix == ".fzb":
        return fanzha.Engine.from_bundle(rules)
    return fanzha.Engine.from_path(rules)


@dataclass
class Alert:
    time: int  # the message's epoch seconds
    sender: str
    rules: List[str]
    level: str


class Guard:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = load_engine(config.fanzha_rules)
        self.engine.mask_personal_data = config.fanzha_mask_personal_data
        # A monitor holds the stream state (windows, sequences); one per bot account, fed in
        # arrival order, so each account's groups form one stream.
        self.monitors: Dict[str, fanzha.Monitor] = {}
        self.switches = GroupSwitches(config.fanzha_data_file)
        self.alerts: Dict[int, Deque[Alert]] = {}

    def monitor(self, self_id: str) -> fanzha.Monitor:
        if self_id not in self.monitors:
            self.monitors[self_id] = self.engine.monitor()
        return self.monitors[self_id]

    def observe(self, self_id: str, event: GroupMessageEvent) -> Optional[fanzha.Verdict]:
        """The verdict on a group message, or None when there is no text to score."""
        contract = contract_event(event)
        if not contract["text"].strip():
            return None
        try:
            verdict = self.monitor(self_id).observe(contract)
        except fanzha.EventError as e:
            logger.warning(f"fanzha: message {event.message_id} not scored: {e}")
            return None
        if verdict.alert or verdict.level in self.config.fanzha_act_levels:
            kept = self.alerts.setdefault(event.group_id, deque(maxlen=self.config.fanzha_alerts_kept))
            kept.append(Alert(event.time, str(event.user_id), [h.rule for h in verdict.hits], verdict.level))
        return verdict

    def recent_alerts(self, group_id: int) -> List[Alert]:
        return list(self.alerts.get(group_id, ()))

    def reload(self) -> str:
        """Reloads the rules from the configured path and returns the new version.

        Raises fanzha.RulesError (or OSError) and keeps the running rules when the new ones
        are broken."""
        rules = self.config.fanzha_rules
        if rules is None:
            raise ValueError("fanzha_rules is not set: the bundled rules are in use and cannot be reloaded")
        # A directory, a pack or a bundle. The rules are swapped only once the new set has
        # loaded, and the monitors move to it at their next message, keeping the scripts
        # under way for the rules that stay.
        self.engine.reload(path=rules)
        return self.engine.rules_version


_guard: Optional[Guard] = None


def get_guard() -> Guard:
    if _guard is None:
        raise RuntimeError("nonebot_plugin_fanzha is not set up")
    return _guard


def set_guard(guard: Guard) -> Guard:
    """Installs a new state (at start; tests use it to start from a clean one)."""
    global _guard
    _guard = guard
    return guard
