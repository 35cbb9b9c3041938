"""The Event Grid subscriptions deliver exactly the resource events the router handles."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from remediators.routing import HANDLED_RESOURCE_TYPES
from tests.infra.templates import INFRA, MAIN, REPO_ROOT, body, parse, resources_of_type, variable

EVENTS = INFRA / "app" / "event-subscriptions.bicep"
EVENT_TRIGGERS = REPO_ROOT / "remediators" / "functions" / "events.py"

# Event Grid's limit on advanced filter values across all filters of one event subscription.
FILTER_VALUE_LIMIT = 25
# Event Grid's limit on event subscriptions per topic, system topics included.
SUBSCRIPTION_LIMIT = 500


def expand(name: str) -> list[str]:
    """Evaluate one variable of the events module: a literal list, a loop or concat()."""
    value = variable(EVENTS, name)
    if isinstance(value, list):
        return value
    if "loop_type" in value:
        detail = value["loop_type"]["detail"]
        template = value["config"]
        placeholder = "${" + detail["item_name"] + "}"
        return [template.replace(placeholder, item) for item in expand(detail["array_name"])]
    call = value["function"]
    assert call["type"] == "concat", f"{name}: cannot evaluate {call['type']}"
    return [item for argument in call["parameters"].values() for item in expand(argument)]


def type_of_operation(operation: str) -> str:
    """Return the resource type an ARM operation name acts on."""
    segments = operation.split("/")
    if segments[-1] == "action":
        return "/".join(segments[:-2])
    assert segments[-1] in ("write", "delete"), operation
    return "/".join(segments[:-1])


def subscription() -> dict[str, Any]:
    found = list(resources_of_type("Microsoft.EventGrid/systemTopics/eventSubscriptions"))
    assert len(found) == 1
    return found[0][2]


def event_function_name() -> str:
    """Return the name the code gives its Event Grid trigger function."""
    tree = ast.parse(EVENT_TRIGGERS.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [d for d in node.decorator_list if isinstance(d, ast.Call)]
        names = [d.func.attr for d in decorators if isinstance(d.func, ast.Attribute)]
        if "event_grid_trigger" not in names:
            continue
        for decorator in decorators:
            if isinstance(decorator.func, ast.Attribute) and decorator.func.attr == "function_name":
                argument = decorator.args[0]
                assert isinstance(argument, ast.Constant)
                return str(argument.value)
        return node.name
    raise AssertionError(f"no Event Grid trigger in {EVENT_TRIGGERS}")


def test_types_match_router() -> None:
    declared = [t.lower() for t in variable(EVENTS, "handledResourceTypes")]
    assert sorted(declared) == sorted(HANDLED_RESOURCE_TYPES)


def test_types_listed_once() -> None:
    declared = [t.lower() for t in variable(EVENTS, "handledResourceTypes")]
    assert len(declared) == len(set(declared))


def test_operations_cover_router_types() -> None:
    covered = {type_of_operation(op).lower() for op in expand("operationNames")}
    assert covered == set(HANDLED_RESOURCE_TYPES)


@pytest.mark.parametrize("verb", ["write", "delete"])
def test_every_type_has_verb(verb: str) -> None:
    operations = {op.lower() for op in expand("operationNames")}
    missing = [t for t in HANDLED_RESOURCE_TYPES if f"{t}/{verb}" not in operations]
    assert not missing


def test_operations_listed_once() -> None:
    operations = [op.lower() for op in expand("operationNames")]
    assert len(operations) == len(set(operations))


def test_child_operations_named_after_child() -> None:
    """ARM names a child's operations `<parent type>/<child>/write`, not after the parent."""
    operations = {op.lower() for op in expand("operationNames")}
    for child in ("networksecuritygroups/securityrules", "routetables/routes"):
        assert f"microsoft.network/{child}/write" in operations
        assert f"microsoft.network/{child}/delete" in operations


def test_subscriptions_within_limit() -> None:
    count = -(-len(expand("operationNames")) // FILTER_VALUE_LIMIT)
    assert count <= SUBSCRIPTION_LIMIT


def test_no_deployment_operations() -> None:
    """Template deployments fire their own writes, which the router ignores anyway."""
    operations = [op.lower() for op in expand("operationNames")]
    assert not [op for op in operations if op.startswith("microsoft.resources/deployments")]


def test_filter_value_limit() -> None:
    assert variable(EVENTS, "filterValueLimit") == FILTER_VALUE_LIMIT


def test_chunks_use_limit() -> None:
    chunks = variable(EVENTS, "operationNameChunks")["config"]["function"]
    assert chunks["type"] == "take"
    assert chunks["parameters"]["number_to_take"] == "filterValueLimit"


def test_one_subscription_per_chunk() -> None:
    loop = parse(EVENTS)["resources"]["eventSubscriptions"]["config"]["loop_type"]["detail"]
    assert loop["array_name"] == "operationNameChunks"


def test_filter_on_operation_name() -> None:
    (advanced,) = subscription()["properties"]["filter"]["advancedFilters"]
    assert advanced == {"operatorType": "StringIn", "key": "data.operationName", "values": "chunk"}


def test_included_event_types() -> None:
    included = subscription()["properties"]["filter"]["includedEventTypes"]
    assert sorted(included) == [
        "Microsoft.Resources.ResourceActionSuccess",
        "Microsoft.Resources.ResourceDeleteSuccess",
        "Microsoft.Resources.ResourceWriteSuccess",
    ]


def test_destination_is_function() -> None:
    destination = subscription()["properties"]["destination"]
    assert destination["endpointType"] == "AzureFunction"
    resource_id = destination["properties"]["resourceId"]
    assert resource_id == "${functionAppId}/functions/${eventFunctionName}"


def test_function_name_matches_code() -> None:
    default = parse(MAIN)["parameters"]["eventFunctionName"]["default"]
    assert default == event_function_name()


def test_retry_policy_set() -> None:
    retry = subscription()["properties"]["retryPolicy"]
    assert retry == {
        "maxDeliveryAttempts": "maxDeliveryAttempts",
        "eventTimeToLiveInMinutes": "eventTimeToLiveInMinutes",
    }


def test_dead_letter_with_topic_identity() -> None:
    dead_letter = subscription()["properties"]["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    destination = dead_letter["deadLetterDestination"]
    assert destination["endpointType"] == "StorageBlob"
    assert destination["properties"]["blobContainerName"] == "deadLetterContainerName"


def test_system_topic_watches_subscription() -> None:
    ((_, _, topic),) = resources_of_type("Microsoft.EventGrid/systemTopics")
    assert topic["properties"]["topicType"] == "Microsoft.Resources.Subscriptions"
    assert topic["identity"] == {"type": "SystemAssigned"}


def test_topic_per_target_subscription() -> None:
    loop = parse(MAIN)["modules"]["targetSubscriptions"]["config"]["loop_type"]["detail"]
    assert loop["array_name"] == "scopeSubscriptionIds"


def test_subscriptions_wait_for_function() -> None:
    """Event subscriptions are created only when asked, after the dead-letter grant."""
    entry = parse(MAIN)["modules"]["eventSubscriptions"]
    assert entry["config"]["condition"] == "deployEventSubscriptions"
    assert "deadLetterAccess" in body(entry)["dependsOn"]


def test_subscriptions_off_by_default() -> None:
    assert parse(MAIN)["parameters"]["deployEventSubscriptions"]["default"] is False
