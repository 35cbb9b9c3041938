"""The evaluation queue triggers: one evaluation per message, and the poison queue record."""

from __future__ import annotations

import azure.functions as func

from remediators import runtime, service
from remediators.state.queues import DEFAULT_QUEUE, POISON_SUFFIX

# The queue the dispatcher writes to (remediators.state.queues.DEFAULT_QUEUE); the binding and
# the dispatcher read the same constant, so they cannot drift apart.
EVALUATION_QUEUE = DEFAULT_QUEUE
POISON_QUEUE = DEFAULT_QUEUE + POISON_SUFFIX
CONNECTION = "AzureWebJobsStorage"

blueprint = func.Blueprint()


@blueprint.function_name("evaluate_workspace")
@blueprint.queue_trigger(arg_name="message", queue_name=EVALUATION_QUEUE, connection=CONNECTION)
def evaluate_workspace(message: func.QueueMessage, context: func.Context) -> None:
    """Evaluate the workspace a queued request names.

    A message that can never succeed is recorded and completed; a leased workspace is
    requeued. Other errors propagate, so the host retries and finally moves it to the poison
    queue.
    """
    service.service_for(runtime.current()).handle_message(
        message.get_body(),
        message_id=message.id,
        dequeue_count=message.dequeue_count,
        invocation_id=context.invocation_id,
    )


@blueprint.function_name("evaluation_poison")
@blueprint.queue_trigger(arg_name="message", queue_name=POISON_QUEUE, connection=CONNECTION)
def evaluation_poison(message: func.QueueMessage, context: func.Context) -> None:
    """Record a request that failed on every attempt, with an ERROR log naming the workspace."""
    service.service_for(runtime.current()).record_poison(
        message.get_body(),
        message_id=message.id,
        dequeue_count=message.dequeue_count,
        invocation_id=context.invocation_id,
    )
