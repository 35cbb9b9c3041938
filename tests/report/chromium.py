"""Import the scripts/ helpers and skip, or fail under CI, when a renderer is missing."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py; the scripts import each other by module name."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


screenshot = load_script("screenshot")
render_cards = load_script("render_cards")


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {reason}")
    pytest.skip(reason)


def require_chromium() -> None:
    """Skip the test when Chromium is not installed, unless CI is set: then fail it."""
    if screenshot.chromium_path() is None:
        _missing(f"{screenshot.CHROMIUM} not found; install it with apt-get install chromium")


def require_card_renderer() -> None:
    """Skip (or fail under CI) unless Chromium and the npm card renderer are installed."""
    require_chromium()
    for path in (render_cards.RENDERER, render_cards.MARKDOWN):
        if not path.exists():
            _missing(f"{path} not found; run npm ci")
