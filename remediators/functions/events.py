"""The Event Grid trigger: resource changes from system topics and Resource Notifications."""

from __future__ import annotations

import azure.functions as func

from remediators import pipeline, runtime

blueprint = func.Blueprint()


@blueprint.function_name("resource_events")
@blueprint.event_grid_trigger(arg_name="event")
def resource_events(event: func.EventGridEvent) -> None:
    """Evaluate the workspaces an Event Grid event affects.

    A bad event is logged as a warning and dropped, because a redelivery would fail the same
    way. Errors of the work itself propagate, so Event Grid retries the delivery.
    """
    pipeline.handle_delivery(event, runtime.current())
