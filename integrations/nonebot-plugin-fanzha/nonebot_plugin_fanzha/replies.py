"""What the bot says in the group. Only wording lives here: the level and the advice lines are
fanzha's verdict, passed through unchanged."""

import time
from typing import Iterable, List

import fanzha
from nonebot.adapters.onebot.v11 import Message, MessageSegment

from .guard import Alert

LEVEL_NAMES = {"notice": "提示", "warn": "警告", "block": "高危"}

USAGE = (
    "反诈提醒命令：\n"
    "/fanzha on | off — 开启或关闭本群提醒（群管理员）\n"
    "/fanzha alerts — 本群最近的预警（群管理员）\n"
    "/fanzha reload — 重新加载规则（超级用户）\n"
    "/fanzha version — 规则版本（超级用户）"
)


def level_name(level: str) -> str:
    return LEVEL_NAMES.get(level, level)


def warning(message_id: int, verdict: fanzha.Verdict) -> Message:
    """The reply to a suspicious message: quotes it, then fanzha's advice, one line each."""
    lines = [f"⚠️ 反诈提醒（{level_name(verdict.level)}）：这条消息像是诈骗话术，请提高警惕"]
    lines += [f"· {advice}" for advice in verdict.advice]
    return MessageSegment.reply(message_id) + MessageSegment.text("\n".join(lines))


def admin_notice(admins: Iterable[int], sender: int, verdict: fanzha.Verdict) -> Message:
    """Tells the group's admins that a message was recalled, and why."""
    message = Message()
    for admin in admins:
        message += MessageSegment.at(admin)
        message += MessageSegment.text(" ")
    rules = "、".join(h.rule for h in verdict.hits)
    message += MessageSegment.text(f"已撤回 {sender} 的一条高危疑似诈骗消息（{rules}），请管理员留意此人。")
    return message


def alert_list(alerts: List[Alert]) -> str:
    if not alerts:
        return "本群还没有预警。"
    lines = [f"本群最近 {len(alerts)} 条预警："]
    for a in alerts:
        when = time.strftime("%m-%d %H:%M", time.localtime(a.time))
        lines.append(f"{when} {a.sender} {level_name(a.level)}({a.level}) {', '.join(a.rules)}")
    return "\n".join(lines)


def reload_failed(version: str, error: Exception) -> str:
    detail = str(error)
    if len(detail) > 1500:  # keep one QQ message readable
        detail = detail[:1500] + "…"
    return f"规则重载失败，继续使用原规则 {version}：\n{detail}"
