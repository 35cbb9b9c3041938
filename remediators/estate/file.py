"""Estate files: load and write the offline estate that `remediate check --estate` judges.

An estate file is JSON in one of these shapes:

- a list of ARM resource objects, as ARM GET returns them;
- an object with that list under `resources`, `value` (an ARM list response) or `data`
  (an Azure Resource Graph response, whose types are lowercased);
- an Azure Resource Graph response in the old table format, `data.columns` + `data.rows`.

Child resources (computes, batch endpoints and deployments, private endpoint connections, DNS
zone groups) are separate objects with their full ids. Items of type
`microsoft.resources/changes` are Resource Graph change records.

Items of a type no rule reads are skipped and counted. When two items share an id (compared
case-insensitively) and differ, the last one wins and a warning is logged: an export that was
appended to keeps its newest copy.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import IO, Any

from azure.mgmt.core.tools import is_valid_resource_id

from remediators.estate.estate import KNOWN_TYPES, RESOURCE_CHANGE, Estate, type_of
from remediators.estate.models import ResourceChangeRecord, norm_id

logger = logging.getLogger(__name__)

_LIST_KEYS = ("resources", "value", "data")
_SHAPE_HINT = (
    "expected a JSON list of ARM resource objects, or an object with that list under "
    "'resources', 'value' or 'data'"
)


class EstateFileError(ValueError):
    """An estate file that cannot be read; the message names the file, the item and the fix."""


@dataclass
class LoadedEstate:
    """An estate read from a file, with what the loader skipped or replaced."""

    estate: Estate
    # Items skipped because no rule reads their type, counted by lowercased type.
    skipped_types: Counter[str] = field(default_factory=Counter)
    # Ids that occurred more than once with different content (the last item was kept).
    replaced_ids: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(self.skipped_types.values())


def load_estate(path: str | os.PathLike[str]) -> Estate:
    """Load the estate file at `path`; raise `EstateFileError` when it is not valid."""
    return read_estate_file(path).estate


def read_estate_file(path: str | os.PathLike[str]) -> LoadedEstate:
    """Load the estate file at `path` and report the items it skipped or replaced."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise EstateFileError(f"{name}: estate file not found; check the path") from None
    except IsADirectoryError:
        raise EstateFileError(f"{name}: is a directory; pass an estate file (JSON)") from None
    except OSError as error:
        raise EstateFileError(f"{name}: cannot read the estate file: {error.strerror}") from None
    return parse_estate_bytes(data, name)


def read_estate_stream(stream: IO[Any], name: str = "<stdin>") -> LoadedEstate:
    """Load an estate from an open stream, such as standard input for `--estate -`."""
    source = getattr(stream, "buffer", stream)
    data = source.read()
    if isinstance(data, str):
        return parse_estate_text(data, name)
    return parse_estate_bytes(data, name)


def decode_text(data: bytes) -> str:
    """Decode UTF-8 text, or UTF-16 text that starts with a byte order mark.

    Windows PowerShell 5.1 writes UTF-16 with a byte order mark when output is redirected
    with `>`, and UTF-8 files from PowerShell may start with a byte order mark too. Raise
    `UnicodeDecodeError` for anything else.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def parse_estate_bytes(data: bytes, name: str) -> LoadedEstate:
    """Build an estate from the bytes of an estate file; `name` appears in error messages."""
    try:
        text = decode_text(data)
    except UnicodeDecodeError as error:
        raise EstateFileError(
            f"{name}: the estate file is not UTF-8 text (invalid byte at offset {error.start}); "
            "save it as UTF-8 (for example PowerShell's Out-File -Encoding utf8)"
        ) from None
    return parse_estate_text(text, name)


def parse_estate_text(text: str, name: str) -> LoadedEstate:
    """Build an estate from the JSON text of an estate file; `name` appears in error messages."""
    if not text.strip():
        raise EstateFileError(f"{name}: the estate file is empty; {_SHAPE_HINT}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise EstateFileError(
            f"{name}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            f"{_SHAPE_HINT}"
        ) from None
    except RecursionError:
        raise EstateFileError(
            f"{name}: the JSON is nested too deeply to read; ARM payloads are never that deep, "
            "so check how the file was produced"
        ) from None
    try:
        return parse_estate(document, name)
    except RecursionError:
        raise EstateFileError(
            f"{name}: a resource is nested too deeply to read; check how the file was produced"
        ) from None


def parse_estate(document: Any, name: str = "<estate>") -> LoadedEstate:
    """Build an estate from a decoded estate document; `name` appears in error messages."""
    items = _resource_items(document, name)
    kept: dict[str, dict[str, Any]] = {}
    loaded = LoadedEstate(Estate())
    for index, item in enumerate(items):
        payload = _checked_item(item, index, name)
        kind = type_of(payload)
        if kind not in KNOWN_TYPES:
            loaded.skipped_types[kind] += 1
            continue
        key = norm_id(payload["id"])
        previous = kept.get(key)
        if previous is not None and previous != payload:
            logger.warning(
                "%s: item %d repeats id %s with different content; keeping the later item",
                name,
                index,
                payload["id"],
                extra={"resource_id": payload["id"]},
            )
            loaded.replaced_ids.append(payload["id"])
        kept[key] = payload
    for payload in kept.values():
        loaded.estate.add(payload)
    if loaded.skipped:
        logger.info("%s: skipped %d items of types no rule reads", name, loaded.skipped)
    return loaded


# Keys with which ARM list responses and Resource Graph results say more pages follow.
_NEXT_PAGE_KEYS = ("nextLink", "$skipToken", "skipToken", "skip_token")


def _reject_partial_page(document: Mapping[str, Any], name: str) -> None:
    """Raise when the document is one page of a longer result: checking it would miss resources."""
    for key in _NEXT_PAGE_KEYS:
        if document.get(key):
            raise EstateFileError(
                f"{name}: the file is one page of a longer result ('{key}' is set), so "
                "resources are missing; export every page (`remediate export`, or `az graph "
                "query` with --first 1000 and each --skip-token) and check the whole file"
            )
    truncated = document.get("resultTruncated")
    if truncated is True or str(truncated).lower() == "true":
        raise EstateFileError(
            f"{name}: Resource Graph truncated this result ('resultTruncated' is true), so "
            "resources are missing; export every page and check the whole file"
        )


def _resource_items(document: Any, name: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if not isinstance(document, Mapping):
        raise EstateFileError(
            f"{name}: the top level is a JSON {type(document).__name__}; {_SHAPE_HINT}"
        )
    _reject_partial_page(document, name)
    for key in _LIST_KEYS:
        if key not in document:
            continue
        value = document[key]
        if isinstance(value, list):
            return value
        if isinstance(value, Mapping) and "columns" in value and "rows" in value:
            return _table_rows(value, name, key)
        raise EstateFileError(
            f"{name}: '{key}' is a JSON {type(value).__name__}, not a list; {_SHAPE_HINT}"
        )
    if "id" in document and "type" in document:
        raise EstateFileError(
            f"{name}: the top level is a single resource ({document.get('id')}); "
            "wrap it in a JSON list: [ {...} ]"
        )
    keys = ", ".join(sorted(str(k) for k in document)[:8]) or "none"
    raise EstateFileError(
        f"{name}: the top-level object has no resource list (keys: {keys}); {_SHAPE_HINT}"
    )


def _table_rows(table: Mapping[str, Any], name: str, key: str) -> list[dict[str, Any]]:
    """Turn Resource Graph's old table format (`columns` + `rows`) into resource objects."""
    columns = table.get("columns")
    rows = table.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise EstateFileError(
            f"{name}: '{key}.columns' and '{key}.rows' must be lists in the Resource Graph "
            "table format"
        )
    names = []
    for position, column in enumerate(columns):
        if not isinstance(column, Mapping) or not isinstance(column.get("name"), str):
            raise EstateFileError(
                f"{name}: '{key}.columns[{position}]' has no 'name'; each column must be "
                'an object like {"name": "id", "type": "string"}'
            )
        names.append(column["name"])
    items = []
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise EstateFileError(
                f"{name}: '{key}.rows[{index}]' is not a list of {len(names)} values, one per "
                "column; export the query result again"
            )
        items.append(dict(zip(names, row, strict=True)))
    return items


def _checked_item(item: Any, index: int, name: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise EstateFileError(
            f"{name}: item {index} is a JSON {type(item).__name__}, not a resource object; "
            "each item must be an ARM resource object with 'id' and 'type'"
        )
    resource_id = item.get("id")
    if not isinstance(resource_id, str) or not resource_id.strip():
        raise EstateFileError(
            f"{name}: item {index} has no 'id'; add the resource's full ARM id "
            "(/subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>)"
        )
    kind = item.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise EstateFileError(
            f"{name}: item {index} ({resource_id}) has no 'type'; add the ARM type, for "
            "example Microsoft.MachineLearningServices/workspaces"
        )
    if not is_valid_resource_id(resource_id):
        raise EstateFileError(
            f"{name}: item {index} has an invalid resource id {resource_id!r}; expected "
            "/subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>"
        )
    return dict(item)


def dump_estate(estate: Estate, path: str | os.PathLike[str]) -> None:
    """Write `estate` to `path` as a JSON list that `load_estate` reads back as an equal estate.

    The file is written to a temporary file beside `path` and then renamed, so a failed
    write never leaves a truncated estate behind.
    """
    items = sorted(estate.resources(), key=lambda p: norm_id(p.get("id")))
    items += [_change_payload(change) for change in estate.changes]
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path(".")
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(items, stream, indent=2, sort_keys=False)
            stream.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _change_payload(change: ResourceChangeRecord) -> dict[str, Any]:
    """Rebuild the Resource Graph `resourcechanges` row a change record was read from."""
    attributes: dict[str, Any] = {}
    if change.timestamp is not None:
        stamp = change.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
        attributes["timestamp"] = stamp
    return {
        "id": change.id,
        "type": RESOURCE_CHANGE,
        "properties": {
            "targetResourceId": change.target_resource_id,
            "changeType": change.change_type,
            "changeAttributes": attributes,
            "changes": change.changes,
        },
    }
