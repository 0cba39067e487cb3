"""nonebot-plugin-fanzha: anti-fraud early warnings in shop owners' QQ groups.

Every OneBot v11 group message is scored by fanzha (one engine, one stream monitor per bot);
at the configured levels the bot quotes the message with fanzha's advice, and at `block` it can
recall it and alert the group's admins. The plugin holds no scoring logic of its own."""

from nonebot import get_plugin_config
from nonebot.plugin import PluginMetadata

from .config import Config
from .guard import Guard, set_guard
from .replies import USAGE

__plugin_meta__ = PluginMetadata(
    name="反诈提醒",
    description="用 fanzha 规则引擎识别群聊中的诈骗话术，提醒店主并可撤回高危消息",
    usage=USAGE,
    type="application",
    config=Config,
    supported_adapters={"~onebot.v11"},
)

plugin_config = get_plugin_config(Config)
set_guard(Guard(plugin_config))

from . import handlers  # noqa: E402,F401  (registers the matchers)
