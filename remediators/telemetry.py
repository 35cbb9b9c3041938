"""Telemetry to Application Insights: log export, evaluation log context and counters.

`configure` turns on export through the Azure Monitor OpenTelemetry distro when
APPLICATIONINSIGHTS_CONNECTION_STRING is set, once per process. The distro is imported only
then, because importing it adds about 300 modules and 0.1 s to a cold start, which an app
without telemetry does not need. Only the `remediators` loggers are exported, and the
`extra=` fields of their records become custom dimensions.

The counters use the OpenTelemetry metrics API. Until a meter provider is installed (by
`configure`, or by a test) the API records nothing, so the same counting code runs
everywhere. `opentelemetry.metrics` is imported on the first count for the same cold-start
reason.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from opentelemetry.metrics import Counter

    from remediators.findings import Finding

logger = logging.getLogger(__name__)

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
# The logger whose records, and its children's, are exported; every module logs under it.
LOGGER_NAME = "remediators"
METER_NAME = "remediators"

FINDINGS_OPENED = "remediator.findings.opened"
FINDINGS_RESOLVED = "remediator.findings.resolved"
ACTIONS = "remediator.actions"
EVALUATIONS = "remediator.evaluations"


# Configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authentication:
    """The exporter's authentication, parsed from APPLICATIONINSIGHTS_AUTHENTICATION_STRING."""

    entra_id: bool
    # The client id of the user-assigned managed identity. None selects the system identity.
    client_id: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Authentication:
        """Parse `Authorization=AAD[;ClientId=<id>]`. An empty or missing value means none.

        Raises ValueError for any other Authorization value or an unknown key, because the
        infrastructure turns local authentication off and an exporter without a credential
        would have every upload rejected.
        """
        if not text or not text.strip():
            return cls(entra_id=False)
        fields: dict[str, str] = {}
        for part in text.split(";"):
            if not part.strip():
                continue
            key, separator, value = part.partition("=")
            if not separator:
                raise ValueError(_invalid_authentication(text, "a part has no '='"))
            fields[key.strip().lower()] = value.strip()
        unknown = set(fields) - {"authorization", "clientid"}
        if unknown:
            names = ", ".join(sorted(unknown))[:100]
            raise ValueError(_invalid_authentication(text, f"unknown keys {names}"))
        if fields.get("authorization", "").upper() != "AAD":
            raise ValueError(_invalid_authentication(text, "Authorization must be AAD"))
        return cls(entra_id=True, client_id=fields.get("clientid") or None)


def _invalid_authentication(text: str, problem: str) -> str:
    # The value can carry a key (an instrumentation key or a secret), so it is never echoed.
    del text
    return (
        f"invalid {AUTHENTICATION_STRING} (value hidden): {problem}; set it to "
        "'Authorization=AAD;ClientId=<managed identity client id>' or remove it"
    )


def _default_credential(client_id: str | None) -> TokenCredential:
    from remediators.clients import default_credential

    return default_credential(client_id)


_configure_lock = threading.Lock()
_configured = False


def configure(
    environ: Mapping[str, str] | None = None,
    *,
    credential_factory: Callable[[str | None], TokenCredential] = _default_credential,
) -> bool:
    """Export logs, traces and metrics to Application Insights when it is configured.

    Does nothing without APPLICATIONINSIGHTS_CONNECTION_STRING. Otherwise calls
    `configure_azure_monitor` on the first call of the process and returns True on every
    call. With `Authorization=AAD` the exporter gets a managed identity credential from
    `credential_factory`, called with the ClientId of the authentication string.
    """
    global _configured
    environ = os.environ if environ is None else environ
    connection_string = (environ.get(CONNECTION_STRING) or "").strip()
    if not connection_string:
        return False
    with _configure_lock:
        if _configured:
            return True
        authentication = Authentication.parse(environ.get(AUTHENTICATION_STRING))
        credential = (
            credential_factory(authentication.client_id) if authentication.entra_id else None
        )
        # Imported here: the distro is heavy and only this path needs it.
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=connection_string,
            credential=credential,
            logger_name=LOGGER_NAME,
        )
        _attach_context_filter(logging.getLogger(LOGGER_NAME))
        _configured = True
    logger.info(
        "Exporting telemetry of logger %r to Application Insights (Entra ID authentication: %s)",
        LOGGER_NAME,
        "on" if authentication.entra_id else "off",
        extra={"client_id": authentication.client_id},
    )
    return True


def _attach_context_filter(exported: logging.Logger) -> None:
    # Without a level of its own the logger follows the root logger, which is WARNING outside
    # the Functions host, and the INFO line of every change would not be exported.
    if exported.level == logging.NOTSET:
        exported.setLevel(logging.INFO)
    # A filter on a logger sees only the records logged on that logger itself, not those of
    # its children, so the filter goes on the handler the distro added.
    for handler in exported.handlers:
        if not any(isinstance(f, EvaluationContextFilter) for f in handler.filters):
            handler.addFilter(EvaluationContextFilter())


# Evaluation log context ----------------------------------------------------------------------

_NO_CONTEXT: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "remediators_log_context", default=_NO_CONTEXT
)


@contextlib.contextmanager
def evaluation_context(workspace_id: str, evaluation_id: str) -> Iterator[None]:
    """Tag every log record written inside the block with the workspace and evaluation ids.

    The ids are held in a context variable, so threads and tasks started elsewhere do not
    see them. A record's own `extra=` value for either field wins.
    """
    ids = MappingProxyType({"workspace_id": workspace_id, "evaluation_id": evaluation_id})
    token = _context.set(ids)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, str]:
    """Return the ids of the evaluation running in this context; empty outside one."""
    return _context.get()


class EvaluationContextFilter(logging.Filter):
    """Add the ids of the current evaluation to a record that lacks them; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


# Counters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Counters:
    findings_opened: Counter
    findings_resolved: Counter
    actions: Counter
    evaluations: Counter


@functools.cache
def _counters() -> _Counters:
    # The API hands out proxy instruments until a provider is set, and they forward to the
    # provider installed later, so creating them once per process is enough.
    from opentelemetry import metrics

    meter = metrics.get_meter(METER_NAME)
    return _Counters(
        findings_opened=meter.create_counter(
            FINDINGS_OPENED, unit="{finding}", description="Findings opened or reopened"
        ),
        findings_resolved=meter.create_counter(
            FINDINGS_RESOLVED, unit="{finding}", description="Findings resolved"
        ),
        actions=meter.create_counter(
            ACTIONS, unit="{action}", description="Remediation actions run, by result"
        ),
        evaluations=meter.create_counter(
            EVALUATIONS, unit="{evaluation}", description="Evaluation requests, by status"
        ),
    )


def count_findings_opened(findings: Iterable[Finding]) -> None:
    """Count each finding that an evaluation opened or reopened, by rule and severity."""
    counter = _counters().findings_opened
    for finding in findings:
        counter.add(1, _finding_attributes(finding))


def count_findings_resolved(findings: Iterable[Finding]) -> None:
    """Count each finding that an evaluation resolved, by rule and severity."""
    counter = _counters().findings_resolved
    for finding in findings:
        counter.add(1, _finding_attributes(finding))


def count_action(action: str, result: str) -> None:
    """Count one remediation action by its kind (`Action` value) and result."""
    _counters().actions.add(1, {"action": str(action), "result": str(result)})


def count_evaluation(status: str) -> None:
    """Count one evaluation request by its final status (`service.Status` value)."""
    _counters().evaluations.add(1, {"status": str(status)})


def _finding_attributes(finding: Finding) -> dict[str, Any]:
    return {"rule": finding.rule, "severity": finding.severity.value}
