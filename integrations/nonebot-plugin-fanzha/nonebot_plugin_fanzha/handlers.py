"""The matchers: the guard on every group message, and the `/fanzha` command."""

import fanzha
from nonebot import logger, on_command, on_message
from nonebot.adapters import Message
from nonebot.adapters.onebot.v11 import (
    GROUP_ADMIN,
    GROUP_OWNER,
    ActionFailed,
    Bot,
    GroupMessageEvent,
    MessageEvent,
    NetworkError,
)
from nonebot.params import CommandArg
from nonebot.permission import SUPERUSER
from nonebot.rule import Rule

from . import replies
from .guard import get_guard


async def _from_someone_else(event: GroupMessageEvent) -> bool:
    # Typed as GroupMessageEvent, so notices, requests, private messages and `message_sent`
    # reports never get here; the bot's own messages echoed back as group messages are
    # dropped too.
    return event.post_type == "message" and str(event.user_id) != str(event.self_id)


# Priority 1 without blocking: the guard sees every group message before other plugins can
# stop it, and never stops them.
guard_matcher = on_message(rule=Rule(_from_someone_else), priority=1, block=False)


@guard_matcher.handle()
async def _guard(bot: Bot, event: GroupMessageEvent) -> None:
    guard = get_guard()
    if not guard.switches.enabled(event.group_id):
        return
    verdict = guard.observe(bot.self_id, event)
    if verdict is None or verdict.level not in guard.config.fanzha_act_levels:
        return
    await bot.send(event, replies.warning(event.message_id, verdict))
    if verdict.level == "block" and guard.config.fanzha_recall_on_block:
        await _recall_and_notify(bot, event, verdict)


async def _recall_and_notify(bot: Bot, event: GroupMessageEvent, verdict: fanzha.Verdict) -> None:
    try:
        me = await bot.get_group_member_info(group_id=event.group_id, user_id=int(bot.self_id), no_cache=True)
        if me.get("role") not in ("admin", "owner"):
            # Recalling needs admin rights; the warning above is all a plain member can do.
            return
        await bot.delete_msg(message_id=event.message_id)
        members = await bot.get_group_member_list(group_id=event.group_id)
    except (ActionFailed, NetworkError) as e:
        # An admin's message cannot be recalled by an admin bot, a message may be gone already:
        # the warning has been sent, so log and carry on.
        logger.warning(f"fanzha: recall of message {event.message_id} in group {event.group_id} failed: {e}")
        return
    admins = [
        m["user_id"]
        for m in members
        if m.get("role") in ("owner", "admin") and str(m.get("user_id")) != str(bot.self_id)
    ]
    await bot.send(event, replies.admin_notice(admins, event.user_id, verdict))


fanzha_command = on_command("fanzha", permission=SUPERUSER | GROUP_ADMIN | GROUP_OWNER, priority=1, block=True)


@fanzha_command.handle()
async def _command(bot: Bot, event: MessageEvent, args: Message = CommandArg()) -> None:
    guard = get_guard()
    sub = args.extract_plain_text().strip().lower()
    if sub in ("on", "off", "alerts"):
        if not isinstance(event, GroupMessageEvent):
            await fanzha_command.finish("请在要设置的群里使用这个命令。")
        if sub == "alerts":
            await fanzha_command.finish(replies.alert_list(guard.recent_alerts(event.group_id)))
        guard.switches.set(event.group_id, sub == "on")
        await fanzha_command.finish("本群反诈提醒已开启。" if sub == "on" else "本群反诈提醒已关闭。")
    if sub in ("reload", "version"):
        if not await SUPERUSER(bot, event):
            await fanzha_command.finish("只有超级用户可以使用这个命令。")
        if sub == "version":
            await fanzha_command.finish(f"规则版本：{guard.engine.rules_version}")
        running = guard.engine.rules_version
        if guard.config.fanzha_rules is None:
            # Nothing failed: there is just no file to read again.
            await fanzha_command.finish(f"未配置 FANZHA_RULES：正在使用内置规则包 {running}，没有可重新加载的规则。")
        try:
            version = guard.reload()
        except (fanzha.RulesError, OSError, ValueError) as e:
            # Never crash on a bad rule file: the running rules stay, the error goes to whoever
            # asked for the reload.
            logger.error(f"fanzha: reload of {guard.config.fanzha_rules} failed, keeping {running}: {e}")
            await fanzha_command.finish(replies.reload_failed(running, e))
        await fanzha_command.finish(f"规则已重载：{version}")
    await fanzha_command.finish(replies.USAGE)
