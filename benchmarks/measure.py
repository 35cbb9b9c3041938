"""The measurements: each returns a `Figure` holding our value, the naive baseline and a target.

Everything is measured when the benchmark runs, against the in-process fake ARM with an
injected per-request latency, through the real SDK clients.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from azure.core.credentials import AccessToken

from benchmarks import estates, storm
from benchmarks.baseline import NaiveSource
from benchmarks.fakes import BenchArm, ThrottlingArm
from fake_arm import FakeArm, FakeArmTransport
from remediators.clients import AzureClients
from remediators.estate.estate import Estate, build_context
from remediators.estate.live import LiveSource, SweepCollector
from remediators.evaluation import Evaluation, evaluate_workspace
from remediators.ratelimit import Budget, RateLimitPolicy
from remediators.routing import DependencyIndex

ROOT = Path(__file__).resolve().parent.parent
Direction = Literal["max", "min"]


@dataclass
class Figure:
    """One named figure: ours beside the naive baseline, and the target it must meet.

    `direction` is "max" when the value must be at most `target` and "min" when at least.
    `ratio` is ours divided by the baseline.
    """

    name: str
    value: float
    baseline: float | None
    target: float | None
    direction: Direction
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / float(self.baseline)

    @property
    def met(self) -> bool:
        if self.target is None:
            return True
        if self.direction == "max":
            return self.value <= self.target
        return self.value >= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "value": _rounded(self.value),
            "baseline": _rounded(self.baseline),
            "ratio": _rounded(self.ratio),
            "target": self.target,
            "target_is": "at most" if self.direction == "max" else "at least",
            "met": self.met,
            "unit": self.unit,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Settings:
    latency: float
    workspaces: int
    storm_events: int
    baseline_sample: int
    limiter_workspaces: int
    throughput_seconds: float
    cold_start_runs: int
    short: bool

    @classmethod
    def for_mode(cls, *, short: bool, latency_ms: float) -> Settings:
        if short:
            return cls(latency_ms / 1000, 20, 50, 2, 10, 0.3, 3, True)
        return cls(latency_ms / 1000, 200, 200, 5, 20, 2.0, 7, False)


class FakeCredential:
    """A credential that never leaves the process."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("benchmark-token", int(time.time()) + 3600)


def make_clients(
    arm: FakeArm, *, limiter: RateLimitPolicy | None = None, real_sleep: bool = False
) -> AzureClients:
    """SDK clients on `arm`; paced by `limiter` when given, else unpaced."""
    transport = FakeArmTransport(arm, real_sleep=real_sleep)
    return AzureClients(
        FakeCredential(),
        transport=transport,
        polling_interval=0,
        rate_limit=limiter if limiter is not None else False,
    )


def scope() -> str:
    return f"/subscriptions/{estates.SUBSCRIPTION}"


def _findings(evaluation: Evaluation) -> list[str]:
    return sorted(json.dumps(f.to_json(), sort_keys=True) for f in evaluation.findings)


# ------------------------------------------------------------------ one evaluation


def _timed_evaluation(
    arm: FakeArm, source: LiveSource | NaiveSource, workspace_id: str, latency: float
) -> tuple[int, float, int, Evaluation]:
    arm.latency = 0.0
    source.workspace_estate(workspace_id)  # builds the SDK clients outside the measurement
    arm.latency = latency
    arm.clear_log()
    started = time.perf_counter()
    evaluation = evaluate_workspace(source.workspace_estate(workspace_id), workspace_id)
    wall = time.perf_counter() - started
    return len(arm.requests), wall, arm.critical_path(), evaluation


def reference_evaluation(settings: Settings) -> list[Figure]:
    arm = BenchArm(estates.reference_estate())
    workspace_id = estates.workspace_id(0)
    ours = LiveSource(make_clients(arm))
    naive = NaiveSource(make_clients(arm))
    requests, wall, depth, evaluation = _timed_evaluation(arm, ours, workspace_id, settings.latency)
    naive_requests, naive_wall, naive_depth, naive_evaluation = _timed_evaluation(
        arm, naive, workspace_id, settings.latency
    )
    same = _findings(evaluation) == _findings(naive_evaluation)
    return [
        Figure(
            "requests_per_evaluation",
            requests,
            naive_requests,
            20,
            "max",
            "ARM requests",
            {"findings": len(evaluation.findings), "findings_equal_baseline": same},
        ),
        Figure(
            "evaluation_wall_over_latency",
            wall / settings.latency,
            naive_wall / settings.latency,
            5,
            "max",
            "round trips",
            {
                "wall_seconds": round(wall, 4),
                "baseline_wall_seconds": round(naive_wall, 4),
                "sequential_requests_on_critical_path": depth,
                "baseline_sequential_requests": naive_depth,
            },
        ),
    ]


# ------------------------------------------------------------------ storm and routing


def _workspace_estates(count: int) -> dict[str, Estate]:
    zones = estates.dns_zones()
    return {
        estates.workspace_id(i): Estate(zones + estates.workspace_resources(i))
        for i in range(count)
    }


def _index(workspace_estates: dict[str, Estate]) -> DependencyIndex:
    index = DependencyIndex()
    for workspace_id, estate in workspace_estates.items():
        index.update(build_context(estate, workspace_id))
    return index


def storm_figures(settings: Settings) -> list[Figure]:
    per_workspace = _workspace_estates(settings.workspaces)
    index = _index(per_workspace)
    events = storm.storm_events(7, settings.storm_events)
    result = storm.run_storm(index, events)
    throughput = storm.events_per_second(index, events, seconds=settings.throughput_seconds)
    uncached = storm.baseline_events_per_second(
        per_workspace[estates.workspace_id(7)], events, seconds=settings.throughput_seconds
    )
    return [
        Figure(
            "evaluations_per_storm",
            result.evaluations,
            result.baseline_evaluations,
            1,
            "max",
            "evaluations",
            {
                "events": result.events,
                "deliveries": -(-result.events // storm.EVENTS_PER_DELIVERY),
                "coalescer_storage": result.storage,
            },
        ),
        Figure(
            "events_per_second",
            throughput,
            uncached,
            5000,
            "min",
            "events/s",
            {
                "indexed_workspaces": len(index),
                "baseline": "dependency index rebuilt from the workspace estate per event",
            },
        ),
    ]


# ------------------------------------------------------------------ sweep


def _evaluate_all(workspace_estates: dict[str, Estate]) -> list[Evaluation]:
    return [evaluate_workspace(e, w) for w, e in workspace_estates.items()]


def sweep_figures(settings: Settings) -> tuple[list[Figure], dict[str, Any]]:
    count = settings.workspaces
    arm = BenchArm(estates.sweep_estate(count), latency=settings.latency)
    source = LiveSource(make_clients(arm))
    started = time.perf_counter()
    collector = SweepCollector(source)
    swept = collector.collect(scope())
    evaluations = _evaluate_all(swept)
    seconds = time.perf_counter() - started
    requests = len(arm.requests)
    findings = sum(len(e.findings) for e in evaluations)

    # The baseline: the naive collector, one workspace after another. At the injected
    # latency it is timed on a sample and scaled; its requests are counted on all of them.
    naive = NaiveSource(make_clients(arm))
    arm.clear_log()
    sample = [estates.workspace_id(i) for i in range(settings.baseline_sample)]
    started = time.perf_counter()
    for workspace_id in sample:
        evaluate_workspace(naive.workspace_estate(workspace_id), workspace_id)
    naive_seconds = (time.perf_counter() - started) * count / len(sample)
    arm.latency = 0.0
    arm.clear_log()
    naive_findings = 0
    for workspace_id in naive.workspace_ids(scope()):
        naive_findings += len(
            evaluate_workspace(naive.workspace_estate(workspace_id), workspace_id).findings
        )
    naive_requests = len(arm.requests)
    figures = [
        Figure(
            "sweep_requests_per_workspace",
            requests / count,
            naive_requests / count,
            8,
            "max",
            "ARM requests",
            {
                "workspaces": count,
                "requests": requests,
                "baseline_requests": naive_requests,
                "rounds": collector.rounds,
                "findings": findings,
                "findings_equal_baseline": findings == naive_findings,
            },
        ),
        Figure(
            "sweep_seconds",
            seconds,
            naive_seconds,
            10,
            "max",
            "s",
            {
                "workspaces": count,
                "max_workers": collector.max_workers,
                "rate_limit": "off",
                "baseline": f"timed on {len(sample)} workspaces, scaled to {count}",
            },
        ),
    ]
    return figures, {"findings": findings}


def rate_limit_figure(settings: Settings) -> Figure:
    """Measure a sweep, paced and unpaced, against a fake that returns 429 past its budget."""
    server = Budget(burst=40, per_second=40)
    client = Budget(burst=30, per_second=30)

    def run(limiter: RateLimitPolicy | None) -> tuple[int, float, int]:
        arm = ThrottlingArm(
            estates.sweep_estate(settings.limiter_workspaces), reads=server, writes=server
        )
        source = LiveSource(make_clients(arm, limiter=limiter, real_sleep=True))
        started = time.perf_counter()
        SweepCollector(source).collect(scope())
        return arm.throttled, time.perf_counter() - started, len(arm.requests)

    limiter = RateLimitPolicy(reads=client, writes=client)
    throttled, seconds, requests = run(limiter)
    unpaced_throttled, unpaced_seconds, _ = run(None)
    return Figure(
        "rate_limited_sweep_429s",
        throttled,
        unpaced_throttled,
        0,
        "max",
        "429 answers",
        {
            "workspaces": settings.limiter_workspaces,
            "requests": requests,
            "fake_budget": f"burst {server.burst:g}, {server.per_second:g}/s",
            "client_bucket": f"burst {client.burst:g}, {client.per_second:g}/s",
            "paced_seconds": round(seconds, 3),
            "thread_seconds_waiting_for_tokens": round(limiter.waited(), 3),
            "baseline_seconds": round(unpaced_seconds, 3),
            "baseline": "same sweep without the limiter, Retry-After honoured",
        },
    )


# ------------------------------------------------------------------ subprocess figures

_IMPORT_PROBE = """
import json, sys, time
before = set(sys.modules)
started = time.perf_counter()
import {module}
seconds = time.perf_counter() - started
loaded = set(sys.modules) - before
ml = sorted(m for m in loaded if m == "azure.ai.ml" or m.startswith("azure.ai.ml."))
print(json.dumps({{"seconds": seconds, "modules": len(loaded), "azure_ai_ml": ml}}))
"""


def _python(code: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"benchmark subprocess failed ({completed.returncode}): {completed.stderr[-2000:]}"
        )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def _import_probe(module: str, runs: int) -> dict[str, Any]:
    results = [_python(_IMPORT_PROBE.format(module=module)) for _ in range(runs)]
    return {
        "seconds": statistics.median(r["seconds"] for r in results),
        "modules": statistics.median(r["modules"] for r in results),
        "azure_ai_ml": sorted({m for r in results for m in r["azure_ai_ml"]}),
    }


def cold_start_figures(settings: Settings) -> list[Figure]:
    app = _import_probe("function_app", settings.cold_start_runs)
    functions = _import_probe("azure.functions", settings.cold_start_runs)
    runs = {"runs": settings.cold_start_runs, "statistic": "median of fresh subprocesses"}
    return [
        Figure(
            "cold_start_seconds",
            app["seconds"],
            functions["seconds"],
            None,
            "max",
            "s",
            {**runs, "ours": "import function_app", "baseline": "import azure.functions"},
        ),
        Figure(
            "cold_start_modules",
            app["modules"],
            functions["modules"],
            None,
            "max",
            "modules",
            {**runs, "ours": "import function_app", "baseline": "import azure.functions"},
        ),
        Figure(
            "cold_start_azure_ai_ml_modules",
            len(app["azure_ai_ml"]),
            len(functions["azure_ai_ml"]),
            0,
            "max",
            "modules",
            {"loaded": app["azure_ai_ml"]},
        ),
    ]


def memory_figure(settings: Settings) -> Figure:
    ours = _python("import benchmarks.memory as m; m.main()", "sweep", str(settings.workspaces))
    naive = _python("import benchmarks.memory as m; m.main()", "naive", str(settings.workspaces))
    return Figure(
        "peak_memory_mb",
        ours["peak_rss_mb"],
        naive["peak_rss_mb"],
        300,
        "max",
        "MiB",
        {
            "workspaces": settings.workspaces,
            "measure": "peak RSS (getrusage) of a fresh process holding the fake ARM",
            "fake_arm_rss_mb": ours["fake_rss_mb"],
            "sweep_traced_peak_mb": ours["traced_peak_mb"],
            "baseline_traced_peak_mb": naive["traced_peak_mb"],
        },
    )


# ------------------------------------------------------------------ the run


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run(settings: Settings, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run every measurement; return the one JSON object the CLI prints."""
    figures: list[Figure] = []
    steps: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("reference evaluation", lambda: reference_evaluation(settings)),
        ("storm and routing", lambda: storm_figures(settings)),
        ("sweep", lambda: sweep_figures(settings)[0]),
        ("rate limiter", lambda: [rate_limit_figure(settings)]),
        ("cold start", lambda: cold_start_figures(settings)),
        ("peak memory", lambda: [memory_figure(settings)]),
    ]
    for label, step in steps:
        progress(label)
        figures += step()
    missed = [f.name for f in figures if not f.met]
    storage = next(
        (f.detail["coalescer_storage"] for f in figures if f.name == "evaluations_per_storm"), None
    )
    return {
        "mode": "short" if settings.short else "full",
        "latency_ms": settings.latency * 1000,
        "workspaces": settings.workspaces,
        "coalescer_storage": storage,
        "machine": machine(),
        "figures": {f.name: f.to_json() for f in figures},
        "targets_missed": missed,
    }


def _rounded(value: float | None) -> float | None:
    if value is None:
        return None
    return round(float(value), 4)
