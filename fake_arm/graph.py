"""The subset of Kusto (KQL) that the fake Resource Graph evaluates.

Supported, case-insensitive keywords, one table followed by any number of stages:

    resources | resourcechanges
    | where COND [and COND]...      COND: PATH OP 'text'  or  PATH in~ ('a', 'b')
                                    OP: =~ !~ (case-insensitive), == != (exact),
                                        startswith, contains (both case-insensitive)
    | order by PATH [asc|desc]
    | take N  or  | limit N
    | project PATH [, PATH]...

PATH is a dotted property path such as `properties.targetResourceId`; a missing path
compares as the empty string. Anything else raises `UnsupportedQuery`, which the fake
returns as a 400 ARM error, so a collector that starts sending new KQL fails loudly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

TABLES = ("resources", "resourcechanges")

_PATH = r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*"
_TEXT = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_COMPARISON = re.compile(
    rf"^\s*({_PATH})\s*(=~|!~|==|!=|\bstartswith\b|\bcontains\b)\s*({_TEXT})\s*$",
    re.IGNORECASE,
)
_IN = re.compile(rf"^\s*({_PATH})\s+in~\s*\(\s*((?:{_TEXT})(?:\s*,\s*(?:{_TEXT}))*)\s*\)\s*$", re.I)
_ORDER = re.compile(rf"^order\s+by\s+({_PATH})(?:\s+(asc|desc))?$", re.IGNORECASE)
_TAKE = re.compile(r"^(?:take|limit)\s+(\d+)$", re.IGNORECASE)
_PROJECT = re.compile(rf"^project\s+({_PATH}(?:\s*,\s*{_PATH})*)$", re.IGNORECASE)


class UnsupportedQuery(ValueError):
    """A query outside the KQL subset the fake Resource Graph evaluates."""


def _unquote(text: str) -> str:
    return text[1:-1].replace("\\'", "'").replace('\\"', '"')


def _lookup(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        matches = [v for k, v in value.items() if k.lower() == part.lower()]
        value = matches[0] if matches else None
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _condition(clause: str) -> Any:
    match = _COMPARISON.match(clause)
    if match:
        path, operator, literal = match.group(1), match.group(2).strip().lower(), match.group(3)
        expected = _unquote(literal)

        def compare(row: Mapping[str, Any]) -> bool:
            actual = _text(_lookup(row, path))
            if operator == "==":
                return actual == expected
            if operator == "!=":
                return actual != expected
            if operator == "=~":
                return actual.lower() == expected.lower()
            if operator == "!~":
                return actual.lower() != expected.lower()
            if operator == "startswith":
                return actual.lower().startswith(expected.lower())
            return expected.lower() in actual.lower()

        return compare
    match = _IN.match(clause)
    if match:
        path = match.group(1)
        options = {_unquote(t).lower() for t in re.findall(_TEXT, match.group(2))}
        return lambda row: _text(_lookup(row, path)).lower() in options
    raise UnsupportedQuery(f"unsupported where condition {clause.strip()!r}")


def _split_and(text: str) -> list[str]:
    # Split on `and` outside quotes only.
    parts, current, quote = [], "", ""
    tokens = re.split(r"(\s+and\s+|'|\")", text, flags=re.IGNORECASE)
    for token in tokens:
        if token in ("'", '"'):
            quote = "" if quote == token else (quote or token)
            current += token
        elif not quote and re.fullmatch(r"\s+and\s+", token, re.IGNORECASE):
            parts.append(current)
            current = ""
        else:
            current += token
    parts.append(current)
    return parts


def _stages(query: str) -> list[str]:
    stages, current, quote = [], "", ""
    for char in query:
        if char in "'\"":
            quote = "" if quote == char else (quote or char)
        if char == "|" and not quote:
            stages.append(current.strip())
            current = ""
        else:
            current += char
    stages.append(current.strip())
    return stages


def run_query(
    query: str, tables: Mapping[str, Iterable[Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    """Evaluate `query` over `tables` (lowercased table name to rows)."""
    stages = _stages(query)
    table = stages[0].lower()
    if table not in TABLES:
        raise UnsupportedQuery(f"unsupported table {stages[0]!r}; expected one of {TABLES}")
    rows = [dict(r) for r in tables.get(table, [])]
    for stage in stages[1:]:
        rows = _apply(stage, rows)
    return rows


def _apply(stage: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keyword = stage.split(None, 1)[0].lower() if stage else ""
    if keyword == "where":
        conditions = [_condition(c) for c in _split_and(stage.split(None, 1)[1])]
        return [r for r in rows if all(c(r) for c in conditions)]
    order = _ORDER.match(stage)
    if order:
        path, direction = order.group(1), (order.group(2) or "asc").lower()
        return sorted(rows, key=lambda r: _text(_lookup(r, path)), reverse=direction == "desc")
    take = _TAKE.match(stage)
    if take:
        return rows[: int(take.group(1))]
    project = _PROJECT.match(stage)
    if project:
        paths = [p.strip() for p in project.group(1).split(",")]
        return [{p.rsplit(".", 1)[-1]: _lookup(r, p) for p in paths} for r in rows]
    raise UnsupportedQuery(f"unsupported query stage {stage!r}")
