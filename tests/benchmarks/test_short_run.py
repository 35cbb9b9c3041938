"""`python -m benchmarks --short --json` runs, prints the figures and meets the counted targets.

Wall times are reported but never asserted here: machines are noisy. Counts and ratios are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
FIGURES = {
    "requests_per_evaluation",
    "evaluation_wall_over_latency",
    "evaluations_per_storm",
    "events_per_second",
    "sweep_requests_per_workspace",
    "sweep_seconds",
    "rate_limited_sweep_429s",
    "cold_start_seconds",
    "cold_start_modules",
    "cold_start_azure_ai_ml_modules",
    "peak_memory_mb",
}
FIELDS = {"value", "baseline", "ratio", "target", "target_is", "met", "unit", "detail"}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--short", "--json", "--latency-ms", "10"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr
    return dict(json.loads(completed.stdout))


def figure(report: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(report["figures"][name])


def test_every_figure_is_reported(report: dict[str, Any]) -> None:
    assert set(report["figures"]) == FIGURES


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_has_every_field(report: dict[str, Any], name: str) -> None:
    assert set(figure(report, name)) == FIELDS


@pytest.mark.parametrize("name", sorted(FIGURES - {"cold_start_azure_ai_ml_modules"}))
def test_figure_has_a_baseline(report: dict[str, Any], name: str) -> None:
    assert figure(report, name)["baseline"] is not None


def test_run_names_its_mode(report: dict[str, Any]) -> None:
    assert report["mode"] == "short"


def test_run_names_the_machine(report: dict[str, Any]) -> None:
    assert set(report["machine"]) >= {"nproc", "cpu_model", "python"}


def test_run_names_the_coalescer_storage(report: dict[str, Any]) -> None:
    assert report["coalescer_storage"].startswith(("Azurite", "in-memory"))


def test_evaluation_requests_meet_target(report: dict[str, Any]) -> None:
    assert figure(report, "requests_per_evaluation")["value"] <= 20


def test_evaluation_needs_fewer_requests_than_baseline(report: dict[str, Any]) -> None:
    assert figure(report, "requests_per_evaluation")["ratio"] < 1


def test_evaluation_findings_equal_baseline(report: dict[str, Any]) -> None:
    assert figure(report, "requests_per_evaluation")["detail"]["findings_equal_baseline"]


def test_critical_path_is_reported(report: dict[str, Any]) -> None:
    detail = figure(report, "evaluation_wall_over_latency")["detail"]
    assert detail["sequential_requests_on_critical_path"] >= 1


def test_storm_is_one_evaluation(report: dict[str, Any]) -> None:
    assert figure(report, "evaluations_per_storm")["value"] == 1


def test_storm_baseline_evaluates_every_event(report: dict[str, Any]) -> None:
    storm = figure(report, "evaluations_per_storm")
    assert storm["baseline"] == storm["detail"]["events"]


def test_sweep_requests_meet_target(report: dict[str, Any]) -> None:
    assert figure(report, "sweep_requests_per_workspace")["value"] <= 8


def test_sweep_findings_equal_baseline(report: dict[str, Any]) -> None:
    assert figure(report, "sweep_requests_per_workspace")["detail"]["findings_equal_baseline"]


def test_paced_sweep_gets_no_429(report: dict[str, Any]) -> None:
    assert figure(report, "rate_limited_sweep_429s")["value"] == 0


def test_unpaced_sweep_gets_429(report: dict[str, Any]) -> None:
    assert figure(report, "rate_limited_sweep_429s")["baseline"] > 0


def test_cold_start_loads_no_azure_ai_ml(report: dict[str, Any]) -> None:
    assert figure(report, "cold_start_azure_ai_ml_modules")["value"] == 0
