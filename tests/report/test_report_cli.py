"""The `remediate report` subcommand writes the HTML page and exits as `check` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediators.cli import main

DEMO_ESTATE = Path(__file__).resolve().parents[2] / "demo" / "estate.json"


def test_report_writes_page_with_findings(tmp_path: Path) -> None:
    output = tmp_path / "report.html"

    status = main(["report", "--estate", str(DEMO_ESTATE), "-o", str(output)])

    assert status == 1
    page = output.read_text(encoding="utf-8")
    assert "storage.private-endpoint" in page
    assert "endpoint.stale-network" in page


def test_report_missing_estate_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["report", "--estate", str(tmp_path / "absent.json"), "-o", str(tmp_path / "r")])

    assert status == 2
    assert "not found" in capsys.readouterr().err
