"""Load scripts/screenshot.py and skip, or fail under CI, when Chromium is missing."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py, which is not part of an installed package."""
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


screenshot = load_script("screenshot")


def require_chromium() -> None:
    """Skip the test when Chromium is not installed, unless CI is set: then fail it."""
    if screenshot.chromium_path() is not None:
        return
    reason = f"{screenshot.CHROMIUM} not found; install it with apt-get install chromium"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {reason}")
    pytest.skip(reason)
