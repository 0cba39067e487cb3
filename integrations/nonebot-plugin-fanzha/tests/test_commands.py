"""`/fanzha on|off|alerts|reload|version`: who may use them and what they change."""

import json
import time
from pathlib import Path

import fanzha
import pytest
from nonebot.adapters.onebot.v11 import Bot
from nonebug import App

from .conftest import BOT_ID, REPO, SUPERUSER
from .events import group_message
from .test_guard import ENGINE, SCAM, warning

ADMIN = 30002


async def test_off_silences_a_group_and_on_persists_across_restarts(app: App, guard) -> None:
    # NoneBot must be initialised (by nonebug) before the plugin is imported.
    from nonebot_plugin_fanzha.guard import Guard, set_guard

    group = 20005
    verdict = ENGINE.scan(SCAM)
    off = group_message("/fanzha off", group_id=group, user_id=ADMIN, role="admin")
    member_off = group_message("/fanzha off", group_id=group, user_id=30004, role="member")
    scam = group_message(SCAM, group_id=group)
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, member_off)  # a plain member may not switch the guard
        ctx.receive_event(bot, off)
        ctx.should_call_send(off, "本群反诈提醒已关闭。", result={"message_id": 1})
        ctx.receive_event(bot, scam)  # switched off: no reply
    data_file: Path = guard.config.fanzha_data_file
    assert json.loads(data_file.read_text(encoding="utf-8")) == {"groups": {str(group): False}}

    # A restart: a new state reads the switch back from the data file.
    restarted = set_guard(Guard(guard.config))
    assert not restarted.switches.enabled(group)
    assert restarted.switches.enabled(group + 1)
    on = group_message("/fanzha on", group_id=group, user_id=10, role="owner")
    scam2 = group_message(SCAM, group_id=group)
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, group_message(SCAM, group_id=group))  # still off after the restart
        ctx.receive_event(bot, on)
        ctx.should_call_send(on, "本群反诈提醒已开启。", result={"message_id": 2})
        ctx.receive_event(bot, scam2)
        ctx.should_call_send(scam2, warning(scam2.message_id, verdict.level, verdict.advice), result={"message_id": 3})
    assert json.loads(data_file.read_text(encoding="utf-8")) == {"groups": {str(group): True}}
    assert Guard(guard.config).switches.enabled(group)


async def test_alerts_lists_the_last_alerts_of_the_group(app: App, guard) -> None:
    guard.config.fanzha_alerts_kept = 2
    group = 20013
    verdict = ENGINE.scan(SCAM)
    scams = [group_message(SCAM, group_id=group, user_id=30020 + i, ts=1_747_613_000 + i) for i in range(3)]
    ask = group_message("/fanzha alerts", group_id=group, user_id=ADMIN, role="admin")
    rules = ", ".join(h.rule for h in verdict.hits)
    listing = "本群最近 2 条预警：\n" + "\n".join(
        f"{time.strftime('%m-%d %H:%M', time.localtime(e.time))} {e.user_id} 高危(block) {rules}" for e in scams[1:]
    )
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        for event in scams:
            ctx.receive_event(bot, event)
            ctx.should_call_send(event, warning(event.message_id, verdict.level, verdict.advice), result={"message_id": 1})
        ctx.receive_event(bot, ask)
        ctx.should_call_send(ask, listing, result={"message_id": 2})
    kept = guard.recent_alerts(group)
    assert [a.sender for a in kept] == ["30021", "30022"]  # only the last two are kept
    assert all(a.rules == [h.rule for h in verdict.hits] for a in kept)


async def test_reload_with_broken_rules_keeps_the_running_ones(app: App, guard, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[pack]\nid = "local"\nversion = "1.0.0"\n\n[[rule]]\nid = "local.x"\npoints = "many"\n', encoding="utf-8")
    with pytest.raises(fanzha.RulesError) as error:
        fanzha.Engine.from_path(broken)
    guard.config.fanzha_rules = broken
    running = guard.engine.rules_version
    verdict = ENGINE.scan(SCAM)

    reload = group_message("/fanzha reload", group_id=20006, user_id=int(SUPERUSER))
    admin_reload = group_message("/fanzha reload", group_id=20006, user_id=ADMIN, role="admin")
    scam = group_message(SCAM, group_id=20006)
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, admin_reload)
        ctx.should_call_send(admin_reload, "只有超级用户可以使用这个命令。", result={"message_id": 1})
        ctx.receive_event(bot, reload)
        expected = f"规则重载失败，继续使用原规则 {running}：\n{error.value}"
        assert "broken.toml" in expected
        ctx.should_call_send(reload, expected, result={"message_id": 2})
        ctx.receive_event(bot, scam)  # the running rules still answer
        ctx.should_call_send(scam, warning(scam.message_id, verdict.level, verdict.advice), result={"message_id": 3})
    assert guard.engine.rules_version == running


async def test_reload_and_version(app: App, guard) -> None:
    # A good local pack replaces the rules; `/fanzha version` names it.
    guard.config.fanzha_rules = REPO / "examples" / "rules" / "snack-advance.toml"
    reload = group_message("/fanzha reload", group_id=20014, user_id=int(SUPERUSER))
    version = group_message("/fanzha version", group_id=20014, user_id=int(SUPERUSER))
    admin_version = group_message("/fanzha version", group_id=20014, user_id=ADMIN, role="admin")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, admin_version)
        ctx.should_call_send(admin_version, "只有超级用户可以使用这个命令。", result={"message_id": 1})
        ctx.receive_event(bot, reload)
        ctx.should_call_send(reload, "规则已重载：demo@1.0.0", result={"message_id": 2})
        ctx.receive_event(bot, version)
        ctx.should_call_send(version, "规则版本：demo@1.0.0", result={"message_id": 3})
    assert guard.engine.rules_version == "demo@1.0.0"


async def test_reload_without_configured_rules_says_so(app: App, guard) -> None:
    assert guard.config.fanzha_rules is None
    reload = group_message("/fanzha reload", group_id=20015, user_id=int(SUPERUSER))
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        ctx.receive_event(bot, reload)
        ctx.should_call_send(
            reload,
            f"未配置 FANZHA_RULES：正在使用内置规则包 {ENGINE.rules_version}，没有可重新加载的规则。",
            result={"message_id": 1},
        )
