"""Run the demo: play the sample events through the Event Grid function, then check the estate.

`python -m demo` (or `make demo`) seeds the in-memory ARM of fake_arm/ from demo/estate.json.
It installs a runtime whose live source reads that fake through the real SDK clients with a
fake credential. Then it plays every event of demo/events/ through the registered Event Grid
function, prints what each one did, and ends with `remediate check --estate demo/estate.json`.
Nothing leaves the process: every ARM request goes to the fake through `transport=`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.core.credentials import AccessToken

from demo.build import SUBSCRIPTION
from fake_arm import FakeArm, FakeArmTransport
from remediators import cli, runtime
from remediators.clients import AzureClients
from remediators.config import Settings
from remediators.estate.live import LiveSource
from remediators.evaluation import Evaluation
from remediators.output import summary_line
from remediators.pipeline import EvaluationRequest, InlineDispatcher

DEMO = Path(__file__).parent
ESTATE = DEMO / "estate.json"
EVENTS = DEMO / "events"
FUNCTION_NAME = "resource_events"


class FakeCredential:
    """A credential that returns a fixed token, so no identity endpoint is ever contacted."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("demo-token", 4102444800)


class RecordingDispatcher:
    """Evaluate inline, as the function does without a queue, and keep each evaluation."""

    def __init__(self, inline: InlineDispatcher) -> None:
        self.inline = inline
        self.evaluations: list[tuple[EvaluationRequest, Evaluation | None]] = []

    def dispatch(self, requests: Sequence[EvaluationRequest]) -> None:
        for request in requests:
            self.evaluations.append((request, self.inline.evaluate(request)))


class SkipRecorder(logging.Handler):
    """Collect the pipeline's log lines about ignored and rejected events."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("Ignored event", "Rejected event")):
            self.lines.append(message)


def trigger_event(event: dict[str, Any]) -> func.EventGridEvent:
    """Build the object the Python worker passes to an Event Grid trigger for `event`.

    For CloudEvents deliveries the worker fills only `id` and `data`.
    """
    if "specversion" in event:
        return func.EventGridEvent(
            id=event.get("id"),  # type: ignore[arg-type]
            data=event.get("data"),  # type: ignore[arg-type]
            topic=None,  # type: ignore[arg-type]
            subject=None,  # type: ignore[arg-type]
            event_type=None,  # type: ignore[arg-type]
            event_time=None,
            data_version=None,  # type: ignore[arg-type]
        )
    return func.EventGridEvent(
        id=event.get("id"),  # type: ignore[arg-type]
        data=event.get("data"),  # type: ignore[arg-type]
        topic=event.get("topic"),  # type: ignore[arg-type]
        subject=event.get("subject"),  # type: ignore[arg-type]
        event_type=event.get("eventType"),  # type: ignore[arg-type]
        event_time=datetime.now(UTC),
        data_version=event.get("dataVersion"),  # type: ignore[arg-type]
    )


def install_runtime(arm: FakeArm) -> RecordingDispatcher:
    clients = AzureClients(
        FakeCredential(), transport=FakeArmTransport(arm), polling_interval=0, retry_total=0
    )
    source = LiveSource(clients)
    settings = Settings(scope_subscriptions=(SUBSCRIPTION,), dry_run=True)
    dispatcher = RecordingDispatcher(InlineDispatcher(source, settings.rule_options()))
    runtime.install(runtime.Runtime(settings, source, None, dispatcher))
    return dispatcher


def play_events(dispatcher: RecordingDispatcher, out: Any) -> None:
    from function_app import app

    # get_functions() logs a warning about HTTP auth levels through the root logger, which
    # applies to the HTTP functions only.
    root = logging.getLogger()
    root_level = root.level
    root.setLevel(logging.ERROR)
    try:
        functions = {str(f.get_function_name()): f for f in app.get_functions()}
    finally:
        root.setLevel(root_level)
    trigger = functions[FUNCTION_NAME].get_user_function()
    recorder = SkipRecorder()
    # The demo prints its own summary of each evaluation, so the pipeline's per-finding log
    # lines go only to the recorder.
    pipeline_logger = logging.getLogger("remediators.pipeline")
    pipeline_logger.addHandler(recorder)
    pipeline_logger.setLevel(logging.DEBUG)
    pipeline_logger.propagate = False
    try:
        for path in sorted(EVENTS.glob("*.json")):
            delivery = json.loads(path.read_text(encoding="utf-8"))
            for event in delivery if isinstance(delivery, list) else [delivery]:
                kind = event.get("eventType") or event.get("type") or "?"
                out.write(f"\n{path.name}\n  {kind.strip()}\n")
                done, skipped = len(dispatcher.evaluations), len(recorder.lines)
                trigger(trigger_event(event))
                for line in recorder.lines[skipped:]:
                    out.write(f"  -> {shorten_ids(line)}\n")
                for request, evaluation in dispatcher.evaluations[done:]:
                    out.write(f"  -> {describe(request, evaluation)}\n")
    finally:
        pipeline_logger.removeHandler(recorder)
        pipeline_logger.propagate = True


def describe(request: EvaluationRequest, evaluation: Evaluation | None) -> str:
    name = request.workspace_id.rsplit("/", 1)[-1]
    reason = shorten_ids(request.reason)
    if evaluation is None:
        return f"workspace {name} no longer exists; skipped ({reason})"
    counts = summary_line([evaluation], "findings").split(" in ", 1)[0]
    return f"evaluated {name} because of {reason}: {counts}"


def shorten_ids(text: str) -> str:
    """Replace each ARM id in `text` with its resource name."""
    return re.sub(r"/subscriptions/\S+/([^/\s]+)", r"\1", text)


def main() -> int:
    out = sys.stdout
    arm = FakeArm.from_estate(json.loads(ESTATE.read_text(encoding="utf-8")))
    out.write(f"Seeded the fake ARM with {len(arm.resources())} resources from {ESTATE.name}.\n")
    dispatcher = install_runtime(arm)
    out.write("Playing the sample events through the Event Grid function:\n")
    try:
        play_events(dispatcher, out)
    finally:
        runtime.install(None)
    out.write(f"\n{len(arm.requests)} ARM requests, all answered by the fake ARM.\n")
    out.write("\n$ remediate check --estate demo/estate.json\n")
    out.flush()
    code = cli.main(["check", "--estate", str(ESTATE)])
    out.write(f"\nremediate check exited {code}: 1 means findings at error severity or worse.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
