"""The plugin's settings, read from NoneBot's configuration (`.env` files or `nonebot.init`)."""

from pathlib import Path
from typing import List, Literal, Optional

from pydantic import BaseModel

Level = Literal["notice", "warn", "block"]


class Config(BaseModel):
    # A rules directory or TOML file (fanzha.Engine.from_path) or a compiled `.fzb` bundle;
    # unset means the packs bundled with fanzha.
    fanzha_rules: Optional[Path] = None
    # Verdict levels the bot answers in the group. fanzha decides the level; this only picks
    # which ones are worth a message.
    fanzha_act_levels: List[Level] = ["warn", "block"]
    # At `block`, recall the message and @ the group's admins (only when the bot is admin).
    fanzha_recall_on_block: bool = False
    # Mask phone, ID card and bank card numbers in evidence (fanzha's own masking).
    fanzha_mask_personal_data: bool = True
    # Per-group on/off switches, kept across restarts.
    fanzha_data_file: Path = Path("data/fanzha/groups.json")
    # How many recent alerts `/fanzha alerts` keeps per group (in memory).
    fanzha_alerts_kept: int = 20
