from __future__ import annotations

import pytest

from remediators.state._common import MAX_STRING_CHARS, bounded_json, bounded_text
from remediators.state.keys import resource_key
from tests.state.conftest import WORKSPACE_ID

FORBIDDEN_KEY_CHARACTERS = "/\\#?"


def test_key_ignores_case() -> None:
    assert resource_key(WORKSPACE_ID) == resource_key(WORKSPACE_ID.upper())


def test_key_ignores_trailing_slash() -> None:
    assert resource_key(WORKSPACE_ID + "/") == resource_key(WORKSPACE_ID)


def test_key_has_no_forbidden_characters() -> None:
    key = resource_key(WORKSPACE_ID)
    assert not any(character in key for character in FORBIDDEN_KEY_CHARACTERS)
    assert len(key) == 64


def test_empty_id_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        resource_key("  ")


def test_bounded_text_keeps_short() -> None:
    assert bounded_text("short") == "short"


def test_bounded_text_counts_utf16() -> None:
    text = "\U0001f600" * MAX_STRING_CHARS  # two UTF-16 code units each
    cut = bounded_text(text)
    assert len(cut.encode("utf-16-le")) // 2 <= MAX_STRING_CHARS
    assert cut.endswith("[truncated]")


def test_bounded_json_marks_truncation() -> None:
    text, truncated = bounded_json({"blob": '"\\' * MAX_STRING_CHARS})
    assert truncated
    assert len(text) <= MAX_STRING_CHARS
    assert '"_truncated": true' in text
