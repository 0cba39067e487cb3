import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import nonebot
import pytest
from nonebug import NONEBOT_INIT_KWARGS

REPO = Path(__file__).resolve().parents[3]
SUPERUSER = "10000"
BOT_ID = "99999"
DATA_DIR = Path(tempfile.mkdtemp(prefix="fanzha-nonebot-"))


def pytest_configure(config: pytest.Config) -> None:
    config.stash[NONEBOT_INIT_KWARGS] = {
        # No web framework is needed: nonebug drives the matchers directly.
        "driver": "~none",
        "superusers": {SUPERUSER},
        "command_start": {"/"},
        "fanzha_data_file": str(DATA_DIR / "groups.json"),
    }


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
async def after_nonebot_init(after_nonebot_init: None) -> None:
    nonebot.load_plugin("nonebot_plugin_fanzha")


@pytest.fixture
def guard(tmp_path: Path):
    """A fresh plugin state per test (new monitors, switches, alerts), with its own data file,
    so stream state of one test never leaks into another."""
    from nonebot_plugin_fanzha import plugin_config
    from nonebot_plugin_fanzha.guard import Guard, get_guard, set_guard

    previous = get_guard()
    config = plugin_config.model_copy(update={"fanzha_data_file": tmp_path / "groups.json"})
    yield set_guard(Guard(config))
    set_guard(previous)


def fanzha_bin() -> Path:
    path = Path(os.environ.get("FANZHA_BIN") or REPO / "target" / "release" / "fanzha")
    if not path.is_file():
        pytest.fail(
            f"the fanzha binary is missing at {path}: build it with "
            "`cargo build --release -p fanzha-cli` in the repository (or set FANZHA_BIN)"
        )
    return path


def fanzha_scan(events: List[Dict[str, Any]], rules: Optional[Path] = None) -> List[Dict[str, Any]]:
    """Verdicts of `fanzha scan` on contract events, one per event, in order."""
    args = [str(fanzha_bin()), "scan"] + (["--rules", str(rules)] if rules else []) + ["-"]
    out = subprocess.run(
        args,
        input="".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    verdicts = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(verdicts) == len(events)
    return verdicts
