"""OneBot v11 events for the tests, built with the adapter's own models."""

import itertools
import time
from typing import Optional

from nonebot.adapters.onebot.v11 import GroupMessageEvent, Message, MessageSegment
from nonebot.adapters.onebot.v11.event import Sender

_ids = itertools.count(1000)


def group_message(
    text: str,
    *,
    group_id: int = 20001,
    user_id: int = 30001,
    self_id: str = "99999",
    role: str = "member",
    message_id: Optional[int] = None,
    ts: Optional[int] = None,
    message: Optional[Message] = None,
) -> GroupMessageEvent:
    message = message if message is not None else Message(MessageSegment.text(text))
    return GroupMessageEvent(
        time=ts if ts is not None else int(time.time()),
        self_id=int(self_id),
        post_type="message",
        sub_type="normal",
        user_id=user_id,
        message_type="group",
        message_id=message_id if message_id is not None else next(_ids),
        message=message,
        original_message=message.copy(),
        raw_message=str(message),
        font=0,
        sender=Sender(user_id=user_id, nickname=f"user{user_id}", role=role),
        to_me=False,
        group_id=group_id,
    )
