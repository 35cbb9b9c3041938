"""Figures judge their targets, and the table shows every figure."""

from __future__ import annotations

from benchmarks.__main__ import table
from benchmarks.measure import Figure


def figure(value: float, target: float | None, direction: str = "max") -> Figure:
    return Figure("requests", value, 10, target, direction, "requests")  # type: ignore[arg-type]


def test_max_target_met_at_bound() -> None:
    assert figure(20, 20).met


def test_max_target_missed_above() -> None:
    assert not figure(21, 20).met


def test_min_target_missed_below() -> None:
    assert not figure(4999, 5000, "min").met


def test_no_target_is_met() -> None:
    assert figure(1e9, None).met


def test_ratio_is_ours_over_baseline() -> None:
    assert figure(5, 20).ratio == 0.5


def test_zero_baseline_has_no_ratio() -> None:
    assert Figure("x", 1, 0, None, "max", "s").ratio is None


def test_table_lists_missed_figure() -> None:
    report = {
        "figures": {"requests": figure(21, 20).to_json()},
        "mode": "short",
        "workspaces": 20,
        "latency_ms": 50.0,
        "coalescer_storage": "in-memory table",
        "machine": {"nproc": 2, "cpu_model": "cpu", "python": "3.11"},
    }
    row = next(line for line in table(report).splitlines() if line.startswith("requests"))
    assert "NO" in row
