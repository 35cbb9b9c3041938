"""Render every Adaptive Card kind for the demo findings with the adaptivecards npm renderer.

For each kind (digest, reminder, resolved, approval) this writes the card JSON, a local HTML
page that loads node_modules/adaptivecards/dist/adaptivecards.min.js and scripts/render_cards.js
from file:// paths, and a screenshot taken in headless Chromium. It exits 1 when a card reports
a parse or validation event, fails to render, or lacks its title in the rendered DOM.

    python scripts/render_cards.py --output docs/images --work /tmp/cards
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import screenshot

from demo import build
from remediators.actions.cards import (
    RecreationApproval,
    digest_card,
    recreation_approval_card,
    reminder_card,
    resolved_card,
)
from remediators.actions.messages import ActionContext
from remediators.estate.file import load_estate
from remediators.evaluation import evaluate_workspace
from remediators.findings import Severity

ROOT = Path(__file__).resolve().parents[1]
RENDERER = ROOT / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.min.js"
MARKDOWN = ROOT / "node_modules" / "markdown-it" / "dist" / "browser" / "markdown-it.umd.min.js"
PAGE_SCRIPT = ROOT / "scripts" / "render_cards.js"
KINDS = ("digest", "reminder", "resolved", "approval")
# The Adaptive Card version Teams renders for Workflows webhooks, which the page script targets.
CARD_VERSION = "1.5"

# Fixed times, so that rerunning the script produces the same pictures.
EVALUATED_AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LAST_NOTIFIED_AT = EVALUATED_AT - timedelta(days=1)
# Card width in pixels, an estimate of a Teams desktop channel's card width. The window adds
# the 20-pixel page margin on each side.
CARD_WIDTH = 480
WINDOW_WIDTH = 520
APPROVAL_BASE_URL = "https://func-remediator-demo.azurewebsites.net"


def demo_cards() -> dict[str, dict[str, Any]]:
    """Build one card of each kind from the findings planted in the demo estate."""
    evaluation = evaluate_workspace(load_estate(build.ESTATE_FILE), build.WORKSPACE_ID)
    findings = evaluation.findings
    context = ActionContext(mode="remediate")
    still_open = [f for f in findings if f.severity is Severity.ERROR]
    resolved = [f for f in findings if f.rule in ("private-endpoint.dns", "compute.outbound-path")]
    stale = next(f for f in findings if f.rule == "endpoint.stale-network")
    approval = RecreationApproval(
        request_id="rec-churn-scoring-20261102",
        endpoint_id=stale.resource_id,
        workspace_id=build.WORKSPACE_ID,
        reason=stale.message,
        requested_at=EVALUATED_AT,
        deployments=("churn-main",),
        snapshot_location="recreation-snapshots/churn-scoring/20261102T080000Z/",
    )
    workspace = build.WORKSPACE_ID
    return {
        "digest": digest_card(workspace, findings, context=context, evaluated_at=EVALUATED_AT),
        "reminder": reminder_card(
            workspace,
            still_open,
            context=context,
            evaluated_at=EVALUATED_AT,
            last_notified_at=LAST_NOTIFIED_AT,
        ),
        "resolved": resolved_card(workspace, resolved, context=context, evaluated_at=EVALUATED_AT),
        "approval": recreation_approval_card(approval, base_url=APPROVAL_BASE_URL),
    }


def card_title(card: dict[str, Any]) -> str:
    return str(card["fallbackText"])


def card_page(card: dict[str, Any], kind: str) -> str:
    """Return the HTML page that renders `card` with the adaptivecards renderer."""
    # "<" is escaped inside the JSON, so card text cannot close the script element.
    embedded = json.dumps(card, ensure_ascii=False).replace("<", "\\u003c")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Adaptive Card: {escape(kind)}</title>",
            "<style>body { margin: 20px; background: #f5f5f5; font-family: 'Segoe UI', "
            "system-ui, sans-serif; } #card-host { width: "
            f"{CARD_WIDTH}px; background: #fff; box-shadow: 0 1px 4px rgba(0,0,0,.2); }} "
            "#render-status { display: none; }</style>",
            f'<script src="{MARKDOWN.as_uri()}"></script>',
            f'<script src="{RENDERER.as_uri()}"></script>',
            "</head><body>",
            '<div id="card-host"></div>',
            '<div id="render-status" data-status="pending"></div>',
            f'<script type="application/json" id="card-json">{embedded}</script>',
            f'<script src="{PAGE_SCRIPT.as_uri()}"></script>',
            "</body></html>",
        ]
    )


@dataclass
class RenderResult:
    """What the page script wrote into the DOM after rendering one card."""

    status: str = "missing"
    problems: list[str] = field(default_factory=list)
    height: int = 0
    # Text of the rendered card, from the #card-host element.
    text: str = ""


class _ResultParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.result = RenderResult()
        self._depth = 0
        self._in_host = 0
        self._in_item = False
        self._item: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self._in_host:
            self._in_host += 1
        elif values.get("id") == "card-host":
            self._in_host = 1
        if values.get("id") == "render-status":
            self.result.status = values.get("data-status") or "missing"
            self.result.height = int(values.get("data-height") or 0)
        if tag == "li":
            self._in_item, self._item = True, []

    def handle_endtag(self, tag: str) -> None:
        if self._in_host:
            self._in_host -= 1
        if tag == "li" and self._in_item:
            self.result.problems.append("".join(self._item))
            self._in_item = False

    def handle_data(self, data: str) -> None:
        if self._in_item:
            self._item.append(data)
        if self._in_host:
            self.result.text += data + " "


def read_result(dom: str) -> RenderResult:
    """Read the outcome that scripts/render_cards.js wrote into a rendered card page."""
    parser = _ResultParser()
    parser.feed(dom)
    return parser.result


def render_page(page: Path) -> RenderResult:
    """Load a card page in headless Chromium and return what the renderer reported."""
    return read_result(screenshot.dump_dom(page, width=WINDOW_WIDTH))


def write_pages(cards: dict[str, dict[str, Any]], work: Path) -> dict[str, Path]:
    """Write card-<kind>.json and card-<kind>.html for each card; return the pages by kind."""
    work.mkdir(parents=True, exist_ok=True)
    pages = {}
    for kind, card in cards.items():
        (work / f"card-{kind}.json").write_text(json.dumps(card, indent=2) + "\n", "utf-8")
        page = work / f"card-{kind}.html"
        page.write_text(card_page(card, kind), encoding="utf-8")
        pages[kind] = page
    return pages


def check_result(kind: str, card: dict[str, Any], result: RenderResult) -> list[str]:
    """Return the reasons the rendered card of `kind` is not acceptable, or an empty list."""
    reasons = [f"{kind}: {problem}" for problem in result.problems]
    # The renderer parses against 1.5 but accepts a card that declares a later version.
    if card.get("version") != CARD_VERSION:
        reasons.append(f"{kind}: card version is {card.get('version')!r}, expected {CARD_VERSION}")
    if result.status != "ok" and not reasons:
        reasons.append(f"{kind}: render status is {result.status!r}, expected 'ok'")
    if card_title(card) not in " ".join(result.text.split()):
        reasons.append(f"{kind}: the rendered card lacks its title {card_title(card)!r}")
    return reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the demo Adaptive Cards to PNG files.")
    parser.add_argument("--output", type=Path, required=True, help="folder for card-<kind>.png")
    parser.add_argument("--work", type=Path, help="folder for the JSON and HTML (default: temp)")
    args = parser.parse_args(argv)
    for required in (RENDERER, MARKDOWN):
        if not required.exists():
            print(f"error: {required} not found; run npm ci in {ROOT}", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="cards-") as temporary:
        work = args.work or Path(temporary)
        cards = demo_cards()
        failures = []
        args.output.mkdir(parents=True, exist_ok=True)
        for kind, page in write_pages(cards, work).items():
            result = render_page(page)
            failures += check_result(kind, cards[kind], result)
            image = args.output / f"card-{kind}.png"
            screenshot.screenshot(page, image, height=result.height or 800, width=WINDOW_WIDTH)
            print(f"{kind}: {result.status}, {result.height} px, {image}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
