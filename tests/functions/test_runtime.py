"""Tests of remediators.runtime: the installed runtime and the lazily built index."""

from __future__ import annotations

from remediators import runtime
from remediators.config import Settings
from remediators.estate.source import FileSource
from remediators.pipeline import InlineDispatcher
from tests.functions.estates import STORAGE, SUBSCRIPTION, WS_A, WS_B, build_estate


def lazy_runtime(scope: tuple[str, ...] = (SUBSCRIPTION,)) -> runtime.Runtime:
    source = FileSource(build_estate())
    settings = Settings(scope_subscriptions=scope)
    return runtime.Runtime(settings, source, None, InlineDispatcher(source))


def test_index_built_on_first_use() -> None:
    built = lazy_runtime()
    index = built.dependency_index()
    assert index.dependants(STORAGE) == [WS_A, WS_B]
    assert built.dependency_index() is index


def test_index_shared_with_dispatcher() -> None:
    built = lazy_runtime()
    index = built.dependency_index()
    assert isinstance(built.dispatcher, InlineDispatcher)
    assert built.dispatcher.index is index


def test_index_empty_without_scope() -> None:
    assert len(lazy_runtime(scope=()).dependency_index()) == 0


def test_install_and_current() -> None:
    installed = lazy_runtime()
    runtime.install(installed)
    try:
        assert runtime.current() is installed
    finally:
        runtime.install(None)
