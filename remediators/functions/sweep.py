"""The periodic sweep: re-evaluate every workspace in scope to catch missed events."""

from __future__ import annotations

import logging

import azure.functions as func

from remediators import runtime, service

logger = logging.getLogger(__name__)

blueprint = func.Blueprint()


@blueprint.function_name("sweep")
@blueprint.timer_trigger(
    arg_name="timer", schedule="%REMEDIATOR_SWEEP_SCHEDULE%", run_on_startup=False
)
def sweep(timer: func.TimerRequest) -> None:
    """Enqueue an evaluation of every in-scope workspace; failures are logged and counted."""
    if timer.past_due:
        logger.warning("The sweep timer is past due; running the sweep now")
    current = runtime.current()
    service.sweep(current.settings, current.source, current.dispatcher)
