"""The recreation queue trigger: one run of a batch endpoint recreation request per message."""

from __future__ import annotations

import azure.functions as func

from remediators import runtime
from remediators.actions.executors import Recreations
from remediators.state.queues import RECREATION_QUEUE

CONNECTION = "AzureWebJobsStorage"

blueprint = func.Blueprint()


@blueprint.function_name("run_recreation")
@blueprint.queue_trigger(arg_name="message", queue_name=RECREATION_QUEUE, connection=CONNECTION)
def run_recreation(message: func.QueueMessage, context: func.Context) -> None:
    """Advance the recreation request a message names, saving the state after every step.

    A request waiting for approval stops there (and its approval card is posted once). A
    failed step raises, so the host retries the message and the next run resumes from the
    saved state, until the request stops in `failed` or the message reaches the poison queue.
    """
    recreations_of(runtime.current()).handle_message(
        message.get_body(), invocation_id=context.invocation_id
    )


def recreations_of(current: runtime.Runtime) -> Recreations:
    """Return the runtime's recreation requests; raise RuntimeError when it has none."""
    if current.recreations is None:
        raise RuntimeError(
            "the runtime has no recreation requests: set AzureWebJobsStorage so the app can "
            "keep recreation records and its recreation queue"
        )
    return current.recreations
