"""Run the performance benchmark: `python -m benchmarks [--json] [--short] [--latency-ms N]`.

Prints a table (or, with --json, one JSON object) of named figures, each beside the same
figure for a naive baseline measured in the same process, and exits 1 when a target is
missed, naming it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from benchmarks.measure import Settings, run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--short", action="store_true", help="reduced mode for CI: 20 workspaces, 50 events"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=50.0,
        help="latency the fake ARM adds to every request (default 50)",
    )
    args = parser.parse_args(argv)
    if args.latency_ms <= 0:
        parser.error(f"--latency-ms must be positive, got {args.latency_ms:g}")
    return args


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def table(report: dict[str, Any]) -> str:
    headers = ("figure", "ours", "baseline", "ratio", "target", "met", "unit")
    rows = [headers]
    for name, figure in report["figures"].items():
        target = figure["target"]
        bound = (
            "-"
            if target is None
            else f"{'<=' if figure['target_is'] == 'at most' else '>='} {target}"
        )
        rows.append(
            (
                name,
                _cell(figure["value"]),
                _cell(figure["baseline"]),
                _cell(figure["ratio"]),
                bound,
                "-" if target is None else _cell(figure["met"]),
                figure["unit"],
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(headers))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    machine = report["machine"]
    lines += [
        "baseline: the same figure for the naive baseline (benchmarks/baseline.py), measured "
        "in the same process; ratio: ours / baseline; met: ours meets the target, - when the "
        "figure has no target",
        "",
        f"mode {report['mode']}, {report['workspaces']} workspaces, fake ARM latency "
        f"{report['latency_ms']:g} ms per request",
        f"coalescer storage: {report['coalescer_storage']}",
        f"machine: {machine['nproc']} CPUs, {machine['cpu_model']}, Python {machine['python']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.for_mode(short=args.short, latency_ms=args.latency_ms)

    def progress(step: str) -> None:
        print(f"measuring: {step}", file=sys.stderr, flush=True)

    report = run(settings, progress)
    print(json.dumps(report, indent=2) if args.json else table(report))
    if report["targets_missed"]:
        print(f"targets missed: {', '.join(report['targets_missed'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
