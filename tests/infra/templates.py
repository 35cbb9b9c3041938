"""Parsed Bicep templates under infra/, and helpers to walk pycep's JSON form.

pycep renders a bare identifier and a string literal alike, as a Python `str`; a function
call is `{"function": {"type": snake_case_name, "parameters": {...}}}` and an operator is
`{"operator": {"type": ..., "operands": {...}}}`. Loops and conditions wrap a body in
`{"loop_type"|"condition": ..., "config": body}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

pycep = pytest.importorskip("pycep", reason="pycep-parser is needed to parse the Bicep files")

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
MAIN = INFRA / "main.bicep"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    """Parse one Bicep file; pycep raises ValueError or a lark error on invalid syntax."""
    result: dict[str, Any] = pycep.BicepParser().parse(file_path=path)
    return result


def module_path(path: Path) -> str:
    return path.relative_to(INFRA).as_posix()


def body(entry: dict[str, Any]) -> Any:
    """Return the object of a resource or module, unwrapping loops and conditions."""
    config = entry["config"]
    while (
        isinstance(config, dict)
        and "config" in config
        and ("loop_type" in config or "condition" in config)
    ):
        config = config["config"]
    return config


def condition(entry: dict[str, Any]) -> Any:
    config = entry["config"]
    return config.get("condition") if isinstance(config, dict) else None


def resources_of_type(resource_type: str) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """Yield (file, symbolic name, body) of every declared resource of one type."""
    for path in bicep_files():
        for name, entry in parse(path).get("resources", {}).items():
            if entry["type"].lower() == resource_type.lower() and not entry["existing"]:
                yield path, name, body(entry)


def variable(path: Path, name: str) -> Any:
    return parse(path)["variables"][name]["value"]


def strings(node: Any) -> Iterator[str]:
    """Yield every string in a parsed tree: literals, identifiers and interpolations."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def function_calls(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every function call node's {"type", "parameters"} in a parsed tree."""
    if isinstance(node, dict):
        call = node.get("function")
        if isinstance(call, dict) and "type" in call:
            yield call
        for value in node.values():
            yield from function_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from function_calls(item)


def arrays_under_key(node: Any, key: str) -> Iterator[list[Any]]:
    """Yield every list stored under `key` anywhere in a parsed tree."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, list):
                yield value
            yield from arrays_under_key(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from arrays_under_key(item, key)


def load_parameters_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INFRA / "main.parameters.json").read_text())
    return data
