"""Render the demo report in headless Chromium: the page loads and shows every planted rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo import build
from remediators.estate.file import load_estate
from remediators.report import evaluate_for_report, render_report
from tests.report.chromium import require_chromium, screenshot
from tests.report.pages import PLANTED_RULES, drawn_boxes

WIDTH = 1400
HEIGHT = 1800


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_chromium()
    evaluations, contexts = evaluate_for_report(load_estate(build.ESTATE_FILE))
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_report(evaluations, contexts), encoding="utf-8")
    return path


def test_screenshot_has_window_size(report_file: Path, tmp_path: Path) -> None:
    png = screenshot.screenshot(report_file, tmp_path / "report.png", height=HEIGHT, width=WIDTH)
    assert png.stat().st_size > 10_000
    assert screenshot.png_size(png) == (WIDTH, HEIGHT)


def test_rendered_dom_has_planted_rules(report_file: Path) -> None:
    dom = screenshot.dump_dom(report_file)
    drawn = " ".join(box.joined for box in drawn_boxes(dom))
    for rule in PLANTED_RULES:
        assert rule in drawn, rule


def test_rendered_dom_keeps_diagram(report_file: Path) -> None:
    dom = screenshot.dump_dom(report_file)
    assert dom.count("<svg") == 2


def test_png_size_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "page.html"
    other.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(ValueError, match="not a PNG"):
        screenshot.png_size(other)
