"""The guard on group messages: who gets a warning, with what, and who does not."""

from typing import List

import fanzha
from nonebot.adapters.onebot.v11 import Adapter, Bot, Message, MessageSegment
from nonebug import App

from .conftest import BOT_ID, REPO
from .events import group_message

SCAM = "老板，我是做工程的，先帮我出五万的票，钱马上转你"
POLICE = "民警提醒：冒充大客户让你先出票的都是骗子，千万别信"
CHATTER = "来两份酸辣粉"
# A script over three messages in one group (the sample stream's s1-s3): each is mild alone.
SCRIPT = ["老板你好，我们是隔壁项目部的", "这期双色球帮我出三万", "好嘞，钱等下一起结"]

ENGINE = fanzha.Engine.bundled()


def warning(message_id: int, level: str, advice: List[str]) -> Message:
    name = {"warn": "警告", "block": "高危"}[level]
    text = f"⚠️ 反诈提醒（{name}）：这条消息像是诈骗话术，请提高警惕\n" + "\n".join(f"· {a}" for a in advice)
    return MessageSegment.reply(message_id) + MessageSegment.text(text)


async def test_scam_to_lottery_shop_gets_quoted_advice(app: App, guard) -> None:
    verdict = ENGINE.scan(SCAM)
    assert verdict.level in ("warn", "block") and verdict.advice
    event = group_message(SCAM, group_id=20001)
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_send(event, warning(event.message_id, verdict.level, verdict.advice), result={"message_id": 1})
    # The alert is kept for `/fanzha alerts`.
    [alert] = guard.recent_alerts(20001)
    assert alert.level == verdict.level and alert.rules == [h.rule for h in verdict.hits]


async def test_text_segments_only_are_scored(app: App, guard) -> None:
    # An @ and an image around the scam text: fanzha reads the text segments joined.
    message = MessageSegment.at(12345) + MessageSegment.text("老板，我是做工程的，先帮我出五万的票，")
    message += MessageSegment.image("https://example.invalid/a.png") + MessageSegment.text("钱马上转你")
    verdict = ENGINE.scan(SCAM)
    event = group_message("", message=message, group_id=20001)
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_send(event, warning(event.message_id, verdict.level, verdict.advice), result={"message_id": 1})


async def test_three_message_script_caught_on_the_last(app: App, guard) -> None:
    for text in SCRIPT:
        assert not ENGINE.scan(text).alert, text  # no single message is enough
    monitor = ENGINE.monitor()
    verdicts = [
        monitor.observe({"kind": "message", "conversation": "g", "sender": "u", "ts": 1_747_613_000_000 + i, "text": t})
        for i, t in enumerate(SCRIPT)
    ]
    assert [v.alert for v in verdicts] == [False, False, True]

    events = [group_message(t, group_id=20002, user_id=30007, ts=1_747_613_000 + 60 * i) for i, t in enumerate(SCRIPT)]
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        for event in events:
            ctx.receive_event(bot, event)
        last = events[-1]
        ctx.should_call_send(last, warning(last.message_id, verdicts[-1].level, verdicts[-1].advice), result={"message_id": 2})
    [alert] = guard.recent_alerts(20002)
    assert "streams.big-customer-script" in alert.rules


async def test_police_publicity_gets_no_reply(app: App, guard) -> None:
    assert not ENGINE.scan(POLICE).alert
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, group_message(POLICE, group_id=20003))
    assert guard.recent_alerts(20003) == []


async def test_ordinary_chatter_gets_no_reply(app: App, guard) -> None:
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, group_message(CHATTER, group_id=20004))
        ctx.receive_event(bot, group_message("", message=Message(MessageSegment.face(14)), group_id=20004))
    assert guard.recent_alerts(20004) == []


async def test_own_messages_and_notices_ignored(app: App, guard) -> None:
    own = group_message(SCAM, group_id=20008, user_id=int(BOT_ID))
    sent = Adapter.json_to_event(
        {
            "post_type": "message_sent", "message_type": "group", "sub_type": "normal", "time": own.time,
            "self_id": int(BOT_ID), "user_id": int(BOT_ID), "message_id": 77, "group_id": 20008,
            "message": [{"type": "text", "data": {"text": SCAM}}], "raw_message": SCAM, "font": 0,
            "sender": {"user_id": int(BOT_ID)},
        }
    )
    joined = Adapter.json_to_event(
        {
            "post_type": "notice", "notice_type": "group_increase", "sub_type": "approve", "time": own.time,
            "self_id": int(BOT_ID), "user_id": 30009, "group_id": 20008, "operator_id": 10,
        }
    )
    assert sent is not None and joined is not None
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, own)
        ctx.receive_event(bot, sent)
        ctx.receive_event(bot, joined)
    assert guard.recent_alerts(20008) == []
    assert guard.monitors == {}  # nothing was even scored


async def test_block_recalls_and_notifies_admins_when_bot_is_admin(app: App, guard) -> None:
    guard.config.fanzha_recall_on_block = True
    verdict = ENGINE.scan(SCAM)
    assert verdict.level == "block"
    event = group_message(SCAM, group_id=20007, user_id=30003)
    members = [
        {"group_id": 20007, "user_id": 10, "role": "owner"},
        {"group_id": 20007, "user_id": 11, "role": "admin"},
        {"group_id": 20007, "user_id": int(BOT_ID), "role": "admin"},
        {"group_id": 20007, "user_id": 30003, "role": "member"},
    ]
    rules = "、".join(h.rule for h in verdict.hits)
    notice = (
        MessageSegment.at(10) + MessageSegment.text(" ") + MessageSegment.at(11) + MessageSegment.text(" ")
        + MessageSegment.text(f"已撤回 30003 的一条高危疑似诈骗消息（{rules}），请管理员留意此人。")
    )
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_send(event, warning(event.message_id, "block", verdict.advice), result={"message_id": 3})
        ctx.should_call_api(
            "get_group_member_info",
            {"group_id": 20007, "user_id": int(BOT_ID), "no_cache": True},
            result={"group_id": 20007, "user_id": int(BOT_ID), "role": "admin"},
        )
        ctx.should_call_api("delete_msg", {"message_id": event.message_id}, result=None)
        ctx.should_call_api("get_group_member_list", {"group_id": 20007}, result=members)
        ctx.should_call_send(event, notice, result={"message_id": 4})


async def test_block_without_admin_rights_only_warns(app: App, guard) -> None:
    guard.config.fanzha_recall_on_block = True
    verdict = ENGINE.scan(SCAM)
    event = group_message(SCAM, group_id=20010, user_id=30003)
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_send(event, warning(event.message_id, "block", verdict.advice), result={"message_id": 5})
        ctx.should_call_api(
            "get_group_member_info",
            {"group_id": 20010, "user_id": int(BOT_ID), "no_cache": True},
            result={"group_id": 20010, "user_id": int(BOT_ID), "role": "member"},
        )


async def test_block_without_recall_configured_only_warns(app: App, guard) -> None:
    assert guard.config.fanzha_recall_on_block is False  # the default
    verdict = ENGINE.scan(SCAM)
    event = group_message(SCAM, group_id=20011)
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_send(event, warning(event.message_id, "block", verdict.advice), result={"message_id": 6})


async def test_act_levels_from_config(app: App, guard) -> None:
    # Only `block` configured: a warn-level message is kept as an alert but not answered.
    guard.config.fanzha_act_levels = ["block"]
    warn_text = "你的收款码被限制了，扫这个二维码重新认证一下就能恢复"
    assert ENGINE.scan(warn_text).level == "warn"
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, group_message(warn_text, group_id=20012))
    assert [a.level for a in guard.recent_alerts(20012)] == ["warn"]


async def test_rules_from_a_bundle_and_masking_default(guard) -> None:
    from nonebot_plugin_fanzha.guard import Guard

    assert guard.engine.mask_personal_data is True  # fanzha_mask_personal_data defaults on
    bundle = Guard(guard.config.model_copy(update={"fanzha_rules": REPO / "rules" / "bundled.fzb"}))
    assert bundle.engine.rules_version == ENGINE.rules_version
    assert bundle.engine.mask_personal_data is True
