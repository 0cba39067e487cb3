"""Per-group on/off switches, persisted in a small JSON file so `/fanzha off` survives restarts."""

import json
import os
from pathlib import Path
from typing import Dict

from nonebot import logger


class GroupSwitches:
    """Groups are on unless switched off; only explicit switches are stored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._groups: Dict[str, bool] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            # A damaged file must not stop the guard: every group is on, and the next switch
            # writes a good file.
            logger.warning(f"fanzha: cannot read {self.path}: {e}; all groups on")
            return
        groups = data.get("groups", {}) if isinstance(data, dict) else {}
        self._groups = {str(k): bool(v) for k, v in groups.items()}

    def enabled(self, group_id: int) -> bool:
        return self._groups.get(str(group_id), True)

    def set(self, group_id: int, on: bool) -> None:
        self._groups[str(group_id)] = on
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"groups": self._groups}, ensure_ascii=False, indent=2), encoding="utf-8")
        # Replace in one step so a crash mid-write never leaves half a file.
        os.replace(tmp, self.path)
