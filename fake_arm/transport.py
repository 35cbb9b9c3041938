"""The azure-core transport that hands SDK requests to a `FakeArm` instead of a socket."""

from __future__ import annotations

import io
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import ServiceRequestError, ServiceResponseTimeoutError
from azure.core.pipeline.transport import HttpTransport, RequestsTransportResponse
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse

from fake_arm.arm import ARM_HOST, FakeArm, FakeResponse, InjectedConnectionError

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request"}


class ForeignHostError(RuntimeError):
    """Raised for a request to any host but ARM; the fake never opens a socket."""


class FakeArmTransport(HttpTransport):
    """Send each request to `arm` and wrap its answer as the requests transport would.

    Responses are the same classes `RequestsTransport` returns, so SDK deserialisation,
    `cls=` hooks, retries and LRO polling behave as against Azure. Pipeline sleeps
    (Retry-After, backoff, polling) are recorded in `arm.sleeps` and skipped unless
    `real_sleep` is true.
    """

    def __init__(self, arm: FakeArm | None = None, *, real_sleep: bool = False) -> None:
        self.arm = arm if arm is not None else FakeArm()
        self.real_sleep = real_sleep

    def __enter__(self) -> FakeArmTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def sleep(self, duration: float) -> None:
        self.arm.record_sleep(duration)
        if self.real_sleep:
            time.sleep(duration)

    def send(self, request: Any, **kwargs: Any) -> Any:
        url = str(request.url)
        parts = urlsplit(url)
        if parts.scheme != "https" or (parts.hostname or "").lower() != ARM_HOST:
            raise ForeignHostError(
                f"the fake ARM rejected a request to host {parts.hostname!r} ({url}); only "
                f"https://{ARM_HOST} is served"
            )
        try:
            answer = self.arm.handle(str(request.method), url, _body_of(request))
        except InjectedConnectionError as error:
            if error.kind == "read_timeout":
                raise ServiceResponseTimeoutError(str(error), error=error) from error
            raise ServiceRequestError(str(error), error=error) from error
        internal = _requests_response(url, answer)
        if hasattr(request, "content"):
            response = RestRequestsTransportResponse(request=request, internal_response=internal)
            if not kwargs.get("stream"):
                response.read()
            return response
        return RequestsTransportResponse(request, internal)


def _body_of(request: Any) -> bytes | None:
    # azure.core.rest.HttpRequest keeps the body in `content`, the legacy request in `data`.
    body = request.content if hasattr(request, "content") else request.data
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    raise TypeError(f"the fake ARM accepts str or bytes request bodies, not {type(body).__name__}")


def _requests_response(url: str, answer: FakeResponse) -> requests.Response:
    content = answer.content()
    headers = CaseInsensitiveDict(answer.headers)
    if answer.body is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    headers["Content-Length"] = str(len(content))
    headers.setdefault("x-ms-request-id", "fake-arm")
    response = requests.Response()
    response.status_code = answer.status
    response.reason = _REASONS.get(answer.status, "Error")
    response.url = url
    response.headers = headers
    response.encoding = "utf-8"
    response.raw = HTTPResponse(
        body=io.BytesIO(content),
        headers=dict(headers),
        status=answer.status,
        preload_content=False,
        decode_content=False,
    )
    return response
