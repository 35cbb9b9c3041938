"""Estate file loading: every shape the contract allows and every error it names."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from remediators.estate.estate import STORAGE_ACCOUNT, WORKSPACE, Estate
from remediators.estate.file import (
    EstateFileError,
    dump_estate,
    load_estate,
    read_estate_file,
    read_estate_stream,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "estates"
SUB = "/subscriptions/8f6b6c2e-1d3a-4c8e-9b7a-2f4d5e6a7b8c/resourceGroups/rg-ml-prod/providers"
WORKSPACE_ID = f"{SUB}/Microsoft.MachineLearningServices/workspaces/mlw-one"
STORAGE_ID = f"{SUB}/Microsoft.Storage/storageAccounts/stone"
GRAPH_CASSETTE = (
    "c7n_ResourceGraphSource.test_resource_graph_and_arm_sources_storage_are_equivalent.json"
)


def workspace(**properties: Any) -> dict[str, Any]:
    return {
        "id": WORKSPACE_ID,
        "name": "mlw-one",
        "type": "Microsoft.MachineLearningServices/workspaces",
        "properties": {"publicNetworkAccess": "Disabled", **properties},
    }


def storage() -> dict[str, Any]:
    return {"id": STORAGE_ID, "type": "Microsoft.Storage/storageAccounts", "properties": {}}


def write(tmp_path: Path, document: Any, name: str = "estate.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def response_body(fixture: str) -> Any:
    return json.loads((FIXTURES / fixture).read_text())["responses"]["200"]["body"]


# ---------------------------------------------------------------- shapes


def test_list_of_resources(tmp_path: Path) -> None:
    estate = load_estate(write(tmp_path, [workspace(), storage()]))
    assert estate.workspace_ids() == [WORKSPACE_ID]
    assert STORAGE_ID in estate


@pytest.mark.parametrize("key", ["resources", "value", "data"])
def test_object_with_list(tmp_path: Path, key: str) -> None:
    estate = load_estate(write(tmp_path, {key: [workspace(), storage()]}))
    assert len(estate) == 2


def test_arm_workspace_get_body(tmp_path: Path) -> None:
    body = response_body("ml_workspace_get_2025-09-01.json")
    estate = load_estate(write(tmp_path, [body]))
    assert estate.workspace_ids() == [body["id"]]


def test_arm_list_response(tmp_path: Path) -> None:
    # The sample's two connections share one placeholder id, so the later one is kept.
    body = response_body("storage_privateEndpointConnections_list_2025-06-01.json")
    loaded = read_estate_file(write(tmp_path, body))
    kept = loaded.estate.get(body["value"][1]["id"])
    assert len(loaded.estate) == 1
    assert loaded.replaced_ids == [body["value"][1]["id"]]
    assert kept == body["value"][1]


def test_resource_graph_first_page_rejected(tmp_path: Path) -> None:
    body = response_body("resourcegraph_resources_firstPageQuery_2024-04-01.json")

    with pytest.raises(EstateFileError, match=r"one page of a longer result \('\$skipToken'"):
        read_estate_file(write(tmp_path, body))


def test_resource_graph_truncated_rejected(tmp_path: Path) -> None:
    body = response_body("resourcegraph_resources_filterQuery_2024-04-01.json")
    body["resultTruncated"] = "true"

    with pytest.raises(EstateFileError, match="resultTruncated"):
        read_estate_file(write(tmp_path, body))


def test_arm_list_next_link_rejected(tmp_path: Path) -> None:
    body = {"value": [], "nextLink": "https://management.azure.com/next"}

    with pytest.raises(EstateFileError, match="'nextLink' is set"):
        read_estate_file(write(tmp_path, body))


def test_byte_order_mark_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text("\ufeff[]", encoding="utf-8")

    assert len(load_estate(path)) == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_accepted(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "utf16.json"
    text = json.dumps([workspace()])
    bom = "\ufeff" if encoding == "utf-16-be" else ""
    path.write_bytes((bom + text).encode(encoding))

    assert load_estate(path).workspace_ids() == [WORKSPACE_ID]


def test_not_utf8_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"name": "caf\xe9"}]'.encode("latin-1"))

    expected = r"not UTF-8 text \(invalid byte at offset 14\); save it as UTF-8"
    with pytest.raises(EstateFileError, match=expected):
        read_estate_file(path)


def test_directory_named(tmp_path: Path) -> None:
    with pytest.raises(EstateFileError, match="is a directory; pass an estate file"):
        read_estate_file(tmp_path)


def test_stream_of_text() -> None:
    stream = io.StringIO(json.dumps([workspace()]))

    assert read_estate_stream(stream).estate.workspace_ids() == [WORKSPACE_ID]


def test_stream_of_bytes() -> None:
    stream = io.TextIOWrapper(io.BytesIO(json.dumps([workspace()]).encode("utf-16")))

    assert read_estate_stream(stream).estate.workspace_ids() == [WORKSPACE_ID]


def test_empty_file_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("  \n", encoding="utf-8")

    with pytest.raises(EstateFileError, match="empty"):
        read_estate_file(path)


def test_deep_nesting_rejected(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")

    with pytest.raises(EstateFileError, match="nested too deeply"):
        read_estate_file(path)


def test_resource_graph_response_skips_unknown(tmp_path: Path) -> None:
    body = response_body("resourcegraph_resources_firstPageQuery_2024-04-01.json")
    del body["$skipToken"]
    loaded = read_estate_file(write(tmp_path, body))
    assert len(loaded.estate) == 0
    assert loaded.skipped == 3
    assert loaded.skipped_types["microsoft.automation/automationaccounts"] == 1


def test_resource_graph_table_format(tmp_path: Path) -> None:
    cassette = json.loads((FIXTURES / GRAPH_CASSETTE).read_text())
    graph = next(i for i in cassette["interactions"] if "ResourceGraph" in i["request"]["uri"])
    estate = load_estate(write(tmp_path, graph["response"]["body"]["data"]))
    accounts = estate.of_type(STORAGE_ACCOUNT)
    assert len(accounts) == 1
    assert accounts[0]["properties"]["networkAcls"]["defaultAction"] == "Allow"


def test_lowercased_types_are_known(tmp_path: Path) -> None:
    row = {**workspace(), "type": "microsoft.machinelearningservices/workspaces"}
    estate = load_estate(write(tmp_path, {"data": [row]}))
    assert estate.of_type(WORKSPACE)


def test_child_resources_by_full_id(tmp_path: Path) -> None:
    compute = {
        "id": f"{WORKSPACE_ID}/computes/batch-cluster",
        "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "properties": {"computeType": "AmlCompute"},
    }
    estate = load_estate(write(tmp_path, [workspace(), compute]))
    children = estate.children(
        WORKSPACE_ID, "microsoft.machinelearningservices/workspaces/computes"
    )
    assert [c["id"] for c in children] == [compute["id"]]


def test_change_records(tmp_path: Path) -> None:
    change = {
        "id": f"{WORKSPACE_ID}/providers/Microsoft.Resources/changes/08584ab0",
        "type": "microsoft.resources/changes",
        "properties": {
            "targetResourceId": WORKSPACE_ID,
            "changeType": "Update",
            "changeAttributes": {"timestamp": "2026-10-15T09:30:00.000Z"},
            "changes": {
                "properties.publicNetworkAccess": {
                    "previousValue": "Enabled",
                    "newValue": "Disabled",
                }
            },
        },
    }
    estate = load_estate(write(tmp_path, [workspace(), change]))
    assert len(estate.changes) == 1
    assert estate.changes[0].after("properties.publicNetworkAccess") == "Disabled"


# ---------------------------------------------------------------- duplicates


def test_identical_duplicate_is_silent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    loaded = read_estate_file(write(tmp_path, [workspace(), workspace()]))
    assert loaded.replaced_ids == []
    assert not caplog.records


def test_duplicate_last_wins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = workspace(publicNetworkAccess="Enabled")
    second = {**workspace(), "id": WORKSPACE_ID.upper().replace("/SUBSCRIPTIONS", "/subscriptions")}
    with caplog.at_level(logging.WARNING):
        loaded = read_estate_file(write(tmp_path, [first, second]))
    kept = loaded.estate.get(WORKSPACE_ID)
    assert kept is not None
    assert kept["properties"]["publicNetworkAccess"] == "Disabled"
    assert len(loaded.replaced_ids) == 1
    assert "item 1" in caplog.text


# ---------------------------------------------------------------- errors


def error_for(tmp_path: Path, document: Any) -> str:
    path = write(tmp_path, document)
    with pytest.raises(EstateFileError) as raised:
        load_estate(path)
    message = str(raised.value)
    assert str(path) in message
    return message


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(EstateFileError, match="not valid JSON"):
        load_estate(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EstateFileError, match="not found"):
        load_estate(tmp_path / "absent.json")


def test_error_is_value_error() -> None:
    assert issubclass(EstateFileError, ValueError)


def test_top_level_scalar(tmp_path: Path) -> None:
    assert "expected a JSON list" in error_for(tmp_path, 42)


def test_object_without_list(tmp_path: Path) -> None:
    message = error_for(tmp_path, {"items": []})
    assert "'resources', 'value' or 'data'" in message


def test_single_resource_object(tmp_path: Path) -> None:
    assert "wrap it in a JSON list" in error_for(tmp_path, workspace())


def test_list_key_not_list(tmp_path: Path) -> None:
    assert "'value' is a JSON str" in error_for(tmp_path, {"value": "oops"})


def test_item_not_object(tmp_path: Path) -> None:
    assert "item 1 is a JSON str" in error_for(tmp_path, [workspace(), "x"])


def test_item_without_id(tmp_path: Path) -> None:
    item = {"type": "Microsoft.Storage/storageAccounts"}
    assert "item 1 has no 'id'" in error_for(tmp_path, [workspace(), item])


def test_item_without_type(tmp_path: Path) -> None:
    message = error_for(tmp_path, [{"id": STORAGE_ID}])
    assert "item 0" in message
    assert "has no 'type'" in message


def test_invalid_resource_id(tmp_path: Path) -> None:
    item = {"id": "storage-account-one", "type": "Microsoft.Storage/storageAccounts"}
    message = error_for(tmp_path, [item])
    assert "item 0 has an invalid resource id 'storage-account-one'" in message
    assert "/subscriptions/<id>/resourceGroups/" in message


def test_table_row_wrong_length(tmp_path: Path) -> None:
    table = {"data": {"columns": [{"name": "id"}, {"name": "type"}], "rows": [[STORAGE_ID]]}}
    assert "'data.rows[0]' is not a list of 2 values" in error_for(tmp_path, table)


# ---------------------------------------------------------------- dump


def test_dump_round_trip(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        [
            workspace(),
            storage(),
            {
                "id": f"{WORKSPACE_ID}/providers/Microsoft.Resources/changes/abc",
                "type": "microsoft.resources/changes",
                "properties": {
                    "targetResourceId": WORKSPACE_ID,
                    "changeType": "Update",
                    "changeAttributes": {"timestamp": "2026-10-15T09:30:00Z"},
                    "changes": {"properties.publicNetworkAccess": {"newValue": "Disabled"}},
                },
            },
        ],
    )
    first = load_estate(source)
    target = tmp_path / "out.json"
    dump_estate(first, target)
    second = load_estate(target)
    assert sorted(p["id"] for p in second.resources()) == sorted(p["id"] for p in first.resources())
    assert second.changes == first.changes


def test_dump_leaves_no_temporary(tmp_path: Path) -> None:
    dump_estate(Estate([workspace()]), tmp_path / "out.json")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
