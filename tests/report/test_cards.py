"""Render every Adaptive Card kind with the adaptivecards npm renderer in headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.report.chromium import render_cards, require_card_renderer

# Text each rendered card must show besides its title.
EXPECTED_TEXT = {
    "digest": ["storage.private-endpoint", "registry.quarantine", "endpoint.studio-invoke"],
    "reminder": ["endpoint.stale-network", "workspace.image-build-compute"],
    "resolved": ["private-endpoint.dns", "compute.outbound-path"],
    "approval": ["churn-scoring", "Approve recreation", "To reject:", "x-functions-key"],
}


@pytest.fixture(scope="module")
def cards() -> dict[str, dict[str, Any]]:
    return dict(render_cards.demo_cards())


@pytest.fixture(scope="module")
def rendered(
    cards: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    require_card_renderer()
    pages = render_cards.write_pages(cards, tmp_path_factory.mktemp("cards"))
    return {kind: render_cards.render_page(page) for kind, page in pages.items()}


def render_one(card: dict[str, Any], tmp_path: Path) -> Any:
    require_card_renderer()
    page = tmp_path / "card.html"
    page.write_text(render_cards.card_page(card, "test"), encoding="utf-8")
    return render_cards.render_page(page)


def test_demo_builds_every_kind(cards: dict[str, dict[str, Any]]) -> None:
    assert set(cards) == set(render_cards.KINDS)


@pytest.mark.parametrize("kind", render_cards.KINDS)
def test_card_renders_without_events(kind: str, rendered: dict[str, Any]) -> None:
    result = rendered[kind]
    assert result.problems == []
    assert result.status == "ok"


@pytest.mark.parametrize("kind", render_cards.KINDS)
def test_card_shows_its_text(
    kind: str, rendered: dict[str, Any], cards: dict[str, dict[str, Any]]
) -> None:
    text = " ".join(rendered[kind].text.split())
    assert render_cards.card_title(cards[kind]) in text
    for expected in EXPECTED_TEXT[kind]:
        assert expected in text, expected


@pytest.mark.parametrize("kind", render_cards.KINDS)
def test_card_passes_check(
    kind: str, rendered: dict[str, Any], cards: dict[str, dict[str, Any]]
) -> None:
    assert render_cards.check_result(kind, cards[kind], rendered[kind]) == []


def test_unknown_element_reported(tmp_path: Path) -> None:
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": "Broken card",
        "body": [{"type": "TextBlock", "text": "Broken card"}, {"type": "NoSuchElement"}],
    }
    result = render_one(card, tmp_path)
    assert result.status == "error"
    assert any("UnknownElementType" in problem for problem in result.problems)


def test_invalid_property_reported(tmp_path: Path) -> None:
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": "Odd size",
        "body": [{"type": "TextBlock", "text": "Odd size", "size": "gigantic"}],
    }
    result = render_one(card, tmp_path)
    assert any("InvalidPropertyValue" in problem for problem in result.problems)


def test_newer_element_reported(tmp_path: Path) -> None:
    # Carousel is an Adaptive Card 1.6 element, so a 1.5 card may not use it.
    page = {"type": "CarouselPage", "items": [{"type": "TextBlock", "text": "page"}]}
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": "Carousel",
        "body": [{"type": "Carousel", "pages": [page]}],
    }
    result = render_one(card, tmp_path)
    assert any("Carousel" in problem for problem in result.problems)


def test_script_close_in_text_stays_text(tmp_path: Path) -> None:
    text = "</script><b>not markup</b>"
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": "Escaping",
        "body": [{"type": "TextBlock", "text": text}],
    }
    result = render_one(card, tmp_path)
    assert result.status == "ok"
    assert "<b>not markup</b>" in result.text


def test_check_flags_missing_title() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "fallbackText": "Title", "body": []}
    result = render_cards.RenderResult(status="ok", text="something else")
    assert render_cards.check_result("digest", card, result) == [
        "digest: the rendered card lacks its title 'Title'"
    ]


def test_check_flags_later_version() -> None:
    card = {"type": "AdaptiveCard", "version": "1.6", "fallbackText": "Title", "body": []}
    result = render_cards.RenderResult(status="ok", text="Title")
    assert render_cards.check_result("digest", card, result) == [
        "digest: card version is '1.6', expected 1.5"
    ]
