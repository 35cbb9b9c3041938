"""Property-based fuzzing of every input the product parses: events, estates, YAML and argv.

Inputs are real payloads from tests/fixtures mutated by Hypothesis (keys dropped, values
replaced by nulls, wrong types, huge or non-ASCII strings and deep nesting) plus fully random
documents. Each property: no unhandled exception, a clear rejection, and no ARM write.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_arm import FakeArm
from remediators import cli
from remediators.estate.file import EstateFileError, parse_estate
from remediators.evaluation import evaluate_estate, report_json
from remediators.events import (
    Ignored,
    Rejected,
    ResourceChange,
    normalise,
    resource_id_problem,
)
from remediators.lint import LintInputError, lint_file
from remediators.routing import DependencyIndex, Router
from tests.estate.test_live import WORKSPACE, reference_estate
from tests.reliability.conftest import TALLY, arm_writes, azure_clients

FIXTURES = Path(__file__).parent.parent / "fixtures"
EVENT_FILES = sorted((FIXTURES / "events").glob("*.json"))
YAML_FILES = sorted((FIXTURES / "yaml").glob("*.yml"))
SUBSCRIPTION = WORKSPACE.split("/")[2]
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# JSON leaves that break naive parsers: nulls, wrong types, huge and non-ASCII strings.
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["", " ", "None", "null", "\x00", "\u202e", "\U0001f600", "é" * 3, "{id}"]),
    st.just("x" * 100_000),
    st.just(WORKSPACE),
    st.just(WORKSPACE + "/../x"),
)
JSON = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"properties": value}
    return value


def paths_of(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path to every list item and mapping value inside `document`."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths_of(value, (*prefix, index))
    return found


def mutate(document: Any, data: st.DataObject, rounds: int, max_depth: int = 400) -> Any:
    """Apply `rounds` random mutations to a copy of `document`."""
    document = copy.deepcopy(document)
    for _ in range(rounds):
        paths = paths_of(document)
        path = data.draw(st.sampled_from(paths))
        if not path:
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        mutation = data.draw(st.sampled_from(["drop", "replace", "nest", "case"]))
        if mutation == "drop":
            del parent[key]
        elif mutation == "replace":
            parent[key] = data.draw(JSON)
        elif mutation == "nest":
            parent[key] = deep(
                data.draw(st.integers(min_value=min(50, max_depth), max_value=max_depth))
            )
        elif isinstance(parent[key], str):
            parent[key] = parent[key].swapcase()
    return document


# Events ----------------------------------------------------------------------------------


def check_normalised(payload: Any) -> None:
    results = normalise(payload)
    assert results
    for result in results:
        assert isinstance(result, ResourceChange | Ignored | Rejected)
        if isinstance(result, ResourceChange):
            assert resource_id_problem(result.resource_id) is None
            assert result.resource_id.split("/")[2].lower() == result.subscription_id
        else:
            assert result.reason
    # Routing what normalise accepted must not raise either.
    Router(DependencyIndex(), scope=[SUBSCRIPTION]).route(results)


@settings(FUZZ, max_examples=1200)
@given(data=st.data(), source=st.sampled_from(EVENT_FILES), rounds=st.integers(1, 6))
def test_normalise_mutated_events(data: st.DataObject, source: Path, rounds: int) -> None:
    TALLY["fuzz: normalise mutated events"] += 1
    document = json.loads(source.read_text(encoding="utf-8"))
    check_normalised(mutate(document, data, rounds))


@settings(FUZZ, max_examples=600)
@given(payload=st.one_of(JSON, st.binary(max_size=200), st.text(max_size=200)))
def test_normalise_random_payloads(payload: Any) -> None:
    TALLY["fuzz: normalise random payloads"] += 1
    check_normalised(payload)


def test_normalise_deep_object_rejected() -> None:
    TALLY["fuzz: normalise fixed cases"] += 1
    nested = '{"properties": ' * 100_000 + "1" + "}" * 100_000
    [result] = normalise(f'[{{"id": "x", "eventType": "y", "data": {nested}}}]')
    assert isinstance(result, Rejected)
    assert "nested too deeply" in result.reason


def test_normalise_deep_array_rejected() -> None:
    TALLY["fuzz: normalise fixed cases"] += 1
    [result] = normalise("[" * 100_000 + "]" * 100_000)
    assert isinstance(result, Rejected)


# Estate files ----------------------------------------------------------------------------


def estate_documents() -> list[Any]:
    documents: list[Any] = [reference_estate()]
    for path in sorted((FIXTURES / "estates").glob("*.json")):
        documents.append(json.loads(path.read_text(encoding="utf-8")))
    return documents


ESTATES = estate_documents()


def test_estate_non_string_connection_id() -> None:
    document = reference_estate()
    document[0]["properties"]["privateEndpointConnections"][0]["id"] = {"id": "x"}
    loaded = parse_estate(document, "fuzz.json")
    report_json(evaluate_estate(loaded.estate))


@settings(FUZZ, max_examples=500)
@given(data=st.data(), index=st.integers(0, len(ESTATES) - 1), rounds=st.integers(1, 8))
def test_estate_loader_mutated(data: st.DataObject, index: int, rounds: int) -> None:
    TALLY["fuzz: estate loader"] += 1
    document = mutate(ESTATES[index], data, rounds)
    try:
        loaded = parse_estate(document, "fuzz.json")
    except EstateFileError as error:
        assert str(error).startswith("fuzz.json")
        return
    # An estate that loads must evaluate: the rules read ARM JSON defensively.
    report_json(evaluate_estate(loaded.estate))


@settings(FUZZ, max_examples=200)
@given(document=JSON)
def test_estate_loader_random(document: Any) -> None:
    TALLY["fuzz: estate loader"] += 1
    try:
        loaded = parse_estate(document, "fuzz.json")
    except EstateFileError:
        return
    report_json(evaluate_estate(loaded.estate))


# YAML lint -------------------------------------------------------------------------------

SCRATCH = Path(tempfile.mkdtemp(prefix="fuzz-lint-"))

YAML_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["public_network_access: *i"]
)


def write_scratch(content: bytes) -> Path:
    path = SCRATCH / "spec.yml"
    path.write_bytes(content)
    return path


def lint_bytes(content: bytes) -> None:
    path = write_scratch(content)
    try:
        result = lint_file(path)
    except LintInputError as error:
        assert str(error).startswith(str(path))
        return
    assert result.kind is not None


@settings(FUZZ, max_examples=400)
@given(data=st.data(), source=st.sampled_from(YAML_FILES), rounds=st.integers(1, 5))
def test_lint_mutated_yaml(data: st.DataObject, source: Path, rounds: int) -> None:
    import yaml

    TALLY["fuzz: yaml lint"] += 1
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    # PyYAML's emitter recurses per level, so the nesting stays below its limit here.
    mutated = mutate(document, data, rounds, max_depth=40)
    lint_bytes(yaml.safe_dump(mutated, allow_unicode=True).encode())


@settings(FUZZ, max_examples=300)
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_lint_random_bytes(content: bytes) -> None:
    TALLY["fuzz: yaml lint"] += 1
    lint_bytes(content)


def test_lint_yaml_bomb_fast() -> None:
    TALLY["fuzz: yaml lint"] += 1
    started = time.monotonic()
    lint_bytes(YAML_BOMB.encode())
    assert time.monotonic() - started < 2


def test_lint_deep_flow_rejected() -> None:
    TALLY["fuzz: yaml lint"] += 1
    with pytest.raises(LintInputError, match="nested too deeply"):
        lint_file(write_scratch(b"a: " + b"[" * 100_000 + b"]" * 100_000))


def test_lint_deep_block_rejected() -> None:
    TALLY["fuzz: yaml lint"] += 1
    lines = "".join("  " * depth + "k:\n" for depth in range(3000))
    with pytest.raises(LintInputError, match="nested too deeply"):
        lint_file(write_scratch(lines.encode() + b"  " * 3000 + b"k: 1\n"))


def test_lint_non_utf8_rejected() -> None:
    TALLY["fuzz: yaml lint"] += 2
    lint_bytes(b"name: \xff\xfe endpoint\n")
    lint_bytes("name: endpoint\n".encode("utf-16"))


# CLI -------------------------------------------------------------------------------------

ESTATE_FILE = SCRATCH / "estate.json"
ESTATE_FILE.write_text(json.dumps(reference_estate()), encoding="utf-8")
EVENT_FILE = SCRATCH / "event.json"
EVENT_FILE.write_bytes(EVENT_FILES[0].read_bytes())
ARGV_TOKENS = st.sampled_from(
    [
        "check",
        "export",
        "lint",
        "plan-event",
        "--estate",
        "--workspace",
        "--resource-group",
        "--subscription",
        "--format",
        "json",
        "markdown",
        "table",
        "--fail-on",
        "never",
        "--scope",
        "--mode",
        "alert",
        "remediate",
        "-o",
        "out.json",
        "-v",
        "-vv",
        "--",
        "-",
        str(ESTATE_FILE),
        str(EVENT_FILE),
        str(YAML_FILES[0]),
        "missing.json",
        WORKSPACE,
        WORKSPACE.rsplit("/", 4)[0],
        SUBSCRIPTION,
        f"/subscriptions/{SUBSCRIPTION}",
        WORKSPACE + "?api-version=1",
        "",
    ]
)
# Free text is limited to names without '/' so that `-o` can only write inside SCRATCH.
ARGV = st.lists(
    st.one_of(ARGV_TOKENS, st.text(alphabet=st.characters(exclude_characters="/\\"), max_size=8)),
    max_size=8,
)


@settings(FUZZ, max_examples=500)
@given(argv=ARGV)
def test_cli_random_argv(argv: list[str]) -> None:
    TALLY["fuzz: cli argv"] += 1
    arm = FakeArm(reference_estate())
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.chdir(SCRATCH):
        status = cli.main(argv, clients=azure_clients(arm), stdout=stdout, stderr=stderr)
    assert status in (0, 1, 2)
    if status == 2:
        assert "error:" in stderr.getvalue() or "usage:" in stderr.getvalue()
    assert arm_writes(arm) == []
