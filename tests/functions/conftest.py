"""Fixtures for trigger tests: the registered functions and an installed test runtime."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from remediators import runtime
from remediators.config import Settings
from remediators.estate.estate import Estate
from remediators.estate.source import FileSource
from remediators.evaluation import Evaluation
from remediators.pipeline import EvaluationRequest, InlineDispatcher
from remediators.routing import DependencyIndex
from tests.functions.estates import SUBSCRIPTION, build_estate


class RecordingDispatcher:
    """Evaluate inline, as production does, and record every request and evaluation."""

    def __init__(self, inline: InlineDispatcher) -> None:
        self.inline = inline
        self.requests: list[EvaluationRequest] = []
        self.evaluations: list[Evaluation | None] = []

    def dispatch(self, requests: Sequence[EvaluationRequest]) -> None:
        for request in requests:
            self.requests.append(request)
            self.evaluations.append(self.inline.evaluate(request))

    @property
    def workspace_ids(self) -> list[str]:
        return sorted(r.workspace_id for r in self.requests)


@functools.cache
def functions_by_name() -> dict[str, Any]:
    """Index the app's functions by name; `get_functions()` runs once per test process."""
    from function_app import app

    return {str(f.get_function_name()): f for f in app.get_functions()}


@pytest.fixture(scope="session")
def registered_functions() -> dict[str, Any]:
    return functions_by_name()


@pytest.fixture
def estate() -> Estate:
    return build_estate()


@pytest.fixture
def dispatcher(estate: Estate) -> Iterator[RecordingDispatcher]:
    index = DependencyIndex.from_estate(estate)
    settings = Settings(scope_subscriptions=(SUBSCRIPTION,))
    inline = InlineDispatcher(FileSource(estate), settings.rule_options(), index)
    recording = RecordingDispatcher(inline)
    runtime.install(Runtime(settings, FileSource(estate), index, recording))
    yield recording
    runtime.install(None)


Runtime = runtime.Runtime
