"""The periodic sweep: re-evaluate every workspace in scope to catch missed events."""

from __future__ import annotations

import logging

import azure.functions as func

from remediators import runtime, service
from remediators.estate.source import EstateSource

logger = logging.getLogger(__name__)

blueprint = func.Blueprint()


@blueprint.function_name("sweep")
@blueprint.timer_trigger(
    arg_name="timer", schedule="%REMEDIATOR_SWEEP_SCHEDULE%", run_on_startup=False
)
def sweep(timer: func.TimerRequest) -> None:
    """Evaluate every in-scope workspace, or enqueue it; failures are logged and counted."""
    if timer.past_due:
        logger.warning("The sweep timer is past due; running the sweep now")
    current = runtime.current()
    if current.state is None:
        # Without storage there is no lease or findings store, so only enqueue.
        service.sweep(current.settings, current.source, current.dispatcher)
        return

    def build_index(collected: EstateSource) -> None:
        # Build the dependency index from the sweep's estates on first use, so that the
        # first evaluation does not read every workspace again one by one.
        if current.index is None:
            current.index = runtime.build_index(collected, current.settings.scope_subscriptions)

    service.sweep(
        current.settings,
        current.source,
        current.dispatcher,
        service.service_for(current),
        on_collected=build_index,
    )
