"""Peak memory of a sweep, measured in a fresh process (run by benchmarks.measure).

Usage: python -c "import benchmarks.memory as m; m.main()" sweep|naive WORKSPACES

Prints one JSON line: the peak resident set size of the process (getrusage), the RSS once the
fake ARM is seeded, and the peak of Python allocations (tracemalloc) during the collection
and evaluation of every workspace.
"""

from __future__ import annotations

import json
import resource
import sys
import tracemalloc

from benchmarks import estates
from benchmarks.baseline import NaiveSource
from benchmarks.fakes import BenchArm
from remediators.estate.live import LiveSource, SweepCollector
from remediators.evaluation import evaluate_workspace


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from benchmarks.measure import make_clients, scope

    mode, count = sys.argv[1], int(sys.argv[2])
    arm = BenchArm(estates.sweep_estate(count))
    fake_rss = _rss_mb()
    tracemalloc.start()
    if mode == "sweep":
        swept = SweepCollector(LiveSource(make_clients(arm))).collect(scope())
        findings = sum(len(evaluate_workspace(e, w).findings) for w, e in swept.items())
    else:
        naive = NaiveSource(make_clients(arm))
        findings = 0
        for workspace_id in naive.workspace_ids(scope()):
            estate = naive.workspace_estate(workspace_id)
            findings += len(evaluate_workspace(estate, workspace_id).findings)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "peak_rss_mb": round(_rss_mb(), 1),
                "fake_rss_mb": round(fake_rss, 1),
                "traced_peak_mb": round(traced_peak / 2**20, 1),
                "findings": findings,
            }
        )
    )
