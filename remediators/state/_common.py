"""Helpers shared by the table stores: table creation, UTC times, bounded JSON strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from azure.data.tables import TableClient, TableServiceClient

# Table storage caps a string property at 64 KiB, which is 32 Ki UTF-16 code units. JSON
# written with ensure_ascii has one code unit per character, so characters count exactly.
MAX_STRING_CHARS = 32 * 1024
_TRUNCATED_SUFFIX = "… [truncated]"


def open_table(service: TableServiceClient, name: str) -> TableClient:
    """Return the client of table `name`, creating the table when it does not exist."""
    return service.create_table_if_not_exists(name)


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime, what: str = "time") -> datetime:
    """Return `moment` in UTC; naive datetimes are rejected because their zone is a guess."""
    if moment.tzinfo is None:
        raise ValueError(f"invalid {what} {moment!r}: it has no time zone; pass an aware datetime")
    moment = moment.astimezone(UTC)
    # Table reads return a datetime subclass; hand callers a plain datetime.
    return datetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=UTC,
    )


def iso(moment: datetime) -> str:
    """Format a UTC time with microseconds, so that strings sort in time order."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def bounded_text(text: str, max_chars: int = MAX_STRING_CHARS) -> str:
    """Cut `text` to fit a string property, ending it with a visible truncation marker.

    Counts UTF-16 code units, as Table storage does, so characters outside the Basic
    Multilingual Plane count twice.
    """
    if _utf16_units(text) <= max_chars:
        return text
    budget = max_chars - len(_TRUNCATED_SUFFIX)
    cut = text[:budget]
    excess = _utf16_units(cut) - budget
    if excess > 0:
        # Each dropped character frees at least one code unit, so one cut is enough.
        cut = cut[: len(cut) - excess]
    return cut + _TRUNCATED_SUFFIX


def bounded_json(value: Any, max_chars: int = MAX_STRING_CHARS) -> tuple[str, bool]:
    """Serialise `value` to JSON that fits a string property; return (text, truncated).

    An oversized value is replaced by a JSON object marked `"_truncated": true` that carries
    the original length and a prefix of the original text, so readers still get valid JSON.
    """
    text = json.dumps(value, sort_keys=True, default=str)
    if len(text) <= max_chars:
        return text, False
    preview_chars = max_chars - 200
    while True:
        wrapped = json.dumps(
            {"_truncated": True, "original_chars": len(text), "preview": text[:preview_chars]}
        )
        if len(wrapped) <= max_chars:
            return wrapped, True
        # Escaping quotes and backslashes grows the preview; shrink by the excess and retry.
        preview_chars -= len(wrapped) - max_chars


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
