"""Run the demo: sample events through the Event Grid function, the queue and the evaluator.

`python -m demo` (or `make demo`, which starts Azurite when none is running) seeds the
in-memory ARM of fake_arm/ from demo/estate.json. It installs a runtime whose live source reads
that fake through the real SDK clients with a fake credential, and whose state stores, queue
and coalescing markers live on Azurite under a fresh prefix per run. Every event of
demo/events/ goes through the registered Event Grid function. The queued evaluations then go
through the registered queue-triggered function, and the demo prints the stored findings. It
ends with `remediate check --estate demo/estate.json`.

No ARM request leaves the process: every one goes to the fake through `transport=`. Storage
requests go to Azurite on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from azure.core.exceptions import AzureError
from rich.console import Console
from rich.table import Table

from demo import azurite
from demo.build import SUBSCRIPTION
from demo.play import DemoPipeline, EvaluationRun, EventOutcome
from fake_arm import FakeArm
from remediators import cli
from remediators.dispatch import Dispatched
from remediators.findings import Severity
from remediators.output import short_resource, subject_of
from remediators.state import StorageClients, StoredFinding

DEMO = Path(__file__).parent
ESTATE = DEMO / "estate.json"
EVENTS = DEMO / "events"
# The app's default window is 30 s. The demo's is short, so waiting it out takes 2 s.
WINDOW_SECONDS = 2
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NO_AZURITE = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep this run's Azurite tables, queues and container instead of deleting them",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = sys.stdout
    # Warnings and errors of the app go to stderr, and the demo's own report goes to stdout.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        connection_string = azurite.connection_string()
    except azurite.AzuriteUnavailable as error:
        print(f"demo: {error}", file=sys.stderr)
        return EXIT_NO_AZURITE
    try:
        run_pipeline(StorageClients.from_connection_string(connection_string), args, out)
    except (AzureError, TimeoutError) as error:
        print(f"demo: the pipeline failed: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR

    out.write("\n$ remediate check --estate demo/estate.json\n")
    out.flush()
    code = cli.main(["check", "--estate", str(ESTATE)])
    out.write(f"\nremediate check exited {code}: 1 means findings at error severity or worse.\n")
    return EXIT_OK


def run_pipeline(storage: StorageClients, args: argparse.Namespace, out: TextIO) -> None:
    arm = FakeArm.from_estate(json.loads(ESTATE.read_text(encoding="utf-8")))
    namespace = f"demo{uuid.uuid4().hex[:10]}"
    out.write(f"Seeded the fake ARM with {len(arm.resources())} resources from {ESTATE.name}.\n")
    pipeline = DemoPipeline(
        arm, storage, namespace=namespace, subscription=SUBSCRIPTION, window_seconds=WINDOW_SECONDS
    )
    out.write(
        f"State on Azurite under the prefix {namespace}: queue {pipeline.stores.queue.name}, "
        f"tables {namespace}findings, {namespace}watermarks and others.\n"
    )
    try:
        with pipeline.installed():
            outcomes = play_events(pipeline, out)
            runs = drain_queue(pipeline, out)
            print_findings(pipeline, runs, out)
            print_evaluation_counts(pipeline, outcomes, runs, out)
        out.write(f"\n{len(arm.requests)} ARM requests, all answered by the fake ARM.\n")
    finally:
        if args.keep_state:
            out.write(f"Kept this run's state on Azurite (prefix {namespace}).\n")
        else:
            deleted = pipeline.delete_state()
            out.write(f"Deleted this run's {deleted} tables, queues and containers on Azurite.\n")


def play_events(pipeline: DemoPipeline, out: TextIO) -> list[EventOutcome]:
    out.write("\nPlaying the sample events through the Event Grid function (resource_events):\n")
    paths = sorted(EVENTS.glob("*.json"))
    outcomes: list[EventOutcome] = []
    for number, outcome in enumerate(pipeline.play(paths), start=1):
        outcomes.append(outcome)
        out.write(f"{number:>3}. {describe_event(outcome)}\n")
        out.flush()
    return outcomes


def describe_event(outcome: EventOutcome) -> str:
    """Return one line: the event's type and file, then what happened to it."""
    results = [describe_dispatch(item) for item in outcome.dispatched]
    results += [
        f"dropped as older than the last event for {shorten_ids(item.resource_id or '?')} "
        f"({item.reason})"
        for item in outcome.dropped
    ]
    results += [
        f"{'rejected' if skip.rejected else 'ignored'}: {shorten_ids(skip.reason)}"
        for skip in outcome.skips
    ]
    if not results:
        results = ["routed to no workspace"]
    kind = outcome.event_type.strip().rsplit(".", 1)[-1]
    return f"{kind} ({outcome.file}): {'; '.join(results)}"


def describe_dispatch(item: Dispatched) -> str:
    name = short_name(item.workspace_id)
    if not item.enqueued:
        return f"coalesced into the pending evaluation of {name}"
    visible = f", hidden until {item.window_end:%H:%M:%S} UTC" if item.window_end else ""
    return f"enqueued for workspace {name}{visible}"


def drain_queue(pipeline: DemoPipeline, out: TextIO) -> list[EvaluationRun]:
    out.write(
        f"\nDraining the evaluation queue through the queue function (evaluate_workspace). "
        f"Each message stays hidden until its {pipeline.window_seconds} s coalescing window "
        "ends (the app's default window is 30 s), and the demo waits that delay out:\n"
    )
    out.flush()
    runs: list[EvaluationRun] = []
    for run in pipeline.drain():
        runs.append(run)
        out.write(f"  {describe_evaluation(run)}\n")
        out.flush()
    if not runs:
        out.write("  the queue was empty: no event asked for an evaluation\n")
    return runs


def describe_evaluation(run: EvaluationRun) -> str:
    name = short_name(run.workspace_id)
    record = run.record
    if record is None:
        return f"message {run.message_id}: {name}: no evaluation record was written"
    details = record.details
    text = f"evaluation of {name} ({record.result})"
    severities = details.get("severities")
    if isinstance(severities, dict):
        counts = ", ".join(f"{severities.get(s.value, 0)} {s.value}" for s in SEVERITY_ORDER)
        text += f": {details.get('findings', 0)} findings ({counts})"
    if "new" in details:
        text += (
            f", stored {details['new']} new, {details.get('still_open', 0)} still open, "
            f"{details.get('resolved', 0)} resolved"
        )
    if details.get("detail"):
        text += f"; {details['detail']}"
    return text + f"\n    because of {shorten_ids(record.why)}"


SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)


def print_findings(pipeline: DemoPipeline, runs: list[EvaluationRun], out: TextIO) -> None:
    workspace_ids = list(dict.fromkeys(run.workspace_id for run in runs))
    console = Console(file=out, width=None if out.isatty() else 160, highlight=False)
    for workspace_id in workspace_ids:
        stored = pipeline.stores.findings.load(workspace_id, include_resolved=True)
        console.print()
        console.print(findings_table(short_name(workspace_id), stored))


def print_evaluation_counts(
    pipeline: DemoPipeline, outcomes: list[EventOutcome], runs: list[EvaluationRun], out: TextIO
) -> None:
    """Print the evaluations of each workspace, read from the audit table, beside its events."""
    routed = Counter(item.workspace_id for outcome in outcomes for item in outcome.dispatched)
    dropped = sum(len(outcome.dropped) for outcome in outcomes)
    out.write("\nEvaluations run (from the audit table):\n")
    total = 0
    for workspace_id in dict.fromkeys([*routed, *(run.workspace_id for run in runs)]):
        count = pipeline.evaluation_count(workspace_id)
        total += count
        noun = "evaluation" if count == 1 else "evaluations"
        out.write(
            f"  {count} {noun} of {short_name(workspace_id)} for the "
            f"{routed[workspace_id]} events routed to it\n"
        )
    out.write(f"  {total} in total; {dropped} more events were dropped as older\n")


def findings_table(workspace: str, stored: list[StoredFinding]) -> Table:
    table = Table(title=f"Stored findings of {workspace} (findings table)", title_justify="left")
    for column in ("severity", "rule", "resource", "subject", "first seen (UTC)", "state"):
        table.add_column(column, no_wrap=True)
    ordered = sorted(
        stored,
        key=lambda item: (-item.finding.severity.rank, item.finding.rule, subject_of(item.finding)),
    )
    for item in ordered:
        state = "open" if item.is_open else f"resolved {item.resolved_at:%Y-%m-%d %H:%M:%S}"
        table.add_row(
            item.finding.severity.value,
            item.finding.rule,
            short_resource(item.finding.resource_id),
            subject_of(item.finding),
            f"{item.first_seen:%Y-%m-%d %H:%M:%S}",
            state,
        )
    return table


def short_name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def shorten_ids(text: str) -> str:
    """Replace each ARM id in `text` with its resource name."""
    return re.sub(r"/subscriptions/[^\s;,)]+/([^/\s;,)]+)", r"\1", text)


if __name__ == "__main__":
    sys.exit(main())
