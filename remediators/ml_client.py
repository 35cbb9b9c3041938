"""A small Azure Machine Learning management client for API version 2025-09-01.

azure-mgmt-machinelearningservices 1.0.1 speaks only API 2020-08-01, which has no batch
endpoints and no managed network, and azure-ai-ml costs close to a second of import
(docs/sdk-choice.md has the measurements). This client sends the few ARM requests the
remediator needs through `ARMPipelineClient` with the same policies the generated
management clients use, and returns raw ARM JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    map_error,
)
from azure.core.paging import ItemPaged
from azure.core.pipeline import PipelineResponse, policies
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import (
    ARMAutoResourceProviderRegistrationPolicy,
    ARMChallengeAuthenticationPolicy,
    ARMHttpLoggingPolicy,
)
from azure.mgmt.core.polling.arm_polling import ARMPolling

ML_API_VERSION = "2025-09-01"
ARM_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
_NAMESPACE = "Microsoft.MachineLearningServices"
_ERROR_MAP = {
    401: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
}

Json = dict[str, Any]


class MachineLearningClient:
    """Workspace, compute, batch endpoint, deployment and job operations over ARM.

    Options are those of the generated management clients: `transport`, `polling_interval`
    (seconds, default 30), `retry_total` and the other azure-core policy keywords.
    """

    def __init__(
        self,
        credential: TokenCredential,
        subscription_id: str,
        *,
        base_url: str = ARM_ENDPOINT,
        api_version: str = ML_API_VERSION,
        **kwargs: Any,
    ) -> None:
        self.subscription_id = subscription_id
        self.api_version = api_version
        self.polling_interval: float = kwargs.pop("polling_interval", 30)
        kwargs.setdefault("sdk_moniker", "remediators-ml/0.1.0")
        pipeline_policies = [
            policies.RequestIdPolicy(**kwargs),
            policies.HeadersPolicy(**kwargs),
            policies.UserAgentPolicy(**kwargs),
            policies.ProxyPolicy(**kwargs),
            policies.ContentDecodePolicy(**kwargs),
            ARMAutoResourceProviderRegistrationPolicy(),
            policies.RedirectPolicy(**kwargs),
            kwargs.pop("retry_policy", None) or policies.RetryPolicy(**kwargs),
            ARMChallengeAuthenticationPolicy(credential, ARM_SCOPE, **kwargs),
            policies.CustomHookPolicy(**kwargs),
            policies.NetworkTraceLoggingPolicy(**kwargs),
            policies.DistributedTracingPolicy(**kwargs),
            policies.SensitiveHeaderCleanupPolicy(**kwargs),
            ARMHttpLoggingPolicy(**kwargs),
        ]
        self._client: ARMPipelineClient[HttpRequest, Any] = ARMPipelineClient(
            base_url=base_url, policies=pipeline_policies, **kwargs
        )

    # Reads -----------------------------------------------------------------------------

    def list_workspaces(self, resource_group: str | None = None) -> ItemPaged[Json]:
        """List the workspaces of the subscription, or of one resource group."""
        path = f"/subscriptions/{_segment(self.subscription_id)}"
        if resource_group:
            path += f"/resourceGroups/{_segment(resource_group)}"
        return self._list(f"{path}/providers/{_NAMESPACE}/workspaces")

    def get_workspace(self, resource_group: str, workspace: str) -> Json:
        return self._get(self._workspace_path(resource_group, workspace))

    def list_computes(self, resource_group: str, workspace: str) -> ItemPaged[Json]:
        return self._list(self._workspace_path(resource_group, workspace) + "/computes")

    def list_batch_endpoints(self, resource_group: str, workspace: str) -> ItemPaged[Json]:
        return self._list(self._workspace_path(resource_group, workspace) + "/batchEndpoints")

    def get_batch_endpoint(self, resource_group: str, workspace: str, endpoint: str) -> Json:
        return self._get(self._endpoint_path(resource_group, workspace, endpoint))

    def list_batch_deployments(
        self, resource_group: str, workspace: str, endpoint: str
    ) -> ItemPaged[Json]:
        return self._list(self._endpoint_path(resource_group, workspace, endpoint) + "/deployments")

    def get_batch_deployment(
        self, resource_group: str, workspace: str, endpoint: str, deployment: str
    ) -> Json:
        path = self._endpoint_path(resource_group, workspace, endpoint)
        return self._get(f"{path}/deployments/{_segment(deployment)}")

    def get_job(self, resource_group: str, workspace: str, job: str) -> Json:
        return self._get(f"{self._workspace_path(resource_group, workspace)}/jobs/{_segment(job)}")

    def list_jobs(
        self,
        resource_group: str,
        workspace: str,
        *,
        job_type: str | None = None,
        tag: str | None = None,
        properties: str | None = None,
    ) -> ItemPaged[Json]:
        """List the jobs of a workspace, filtered by type, tag or `properties` (`key=value`).

        NOTE: the jobs a batch endpoint invocation starts are listed per endpoint only on
        the workspace data plane (azure-ai-ml 1.35.2 reads `batchEndpoints/<name>/jobs` there
        with api-version 2020-09-01-dataplanepreview), so select them here by tag or
        property instead.
        """
        query = {"jobType": job_type, "tag": tag, "properties": properties}
        path = self._workspace_path(resource_group, workspace) + "/jobs"
        return self._list(path, {k: v for k, v in query.items() if v is not None})

    def list_outbound_rules(self, resource_group: str, workspace: str) -> ItemPaged[Json]:
        """List the managed network outbound rules of a workspace."""
        return self._list(self._workspace_path(resource_group, workspace) + "/outboundRules")

    # Long-running writes -----------------------------------------------------------------

    def begin_create_or_update_batch_endpoint(
        self, resource_group: str, workspace: str, endpoint: str, body: Json
    ) -> LROPoller[Json]:
        path = self._endpoint_path(resource_group, workspace, endpoint)
        return self._begin("PUT", path, body, final_state_via="original-uri")

    def begin_delete_batch_endpoint(
        self, resource_group: str, workspace: str, endpoint: str
    ) -> LROPoller[None]:
        path = self._endpoint_path(resource_group, workspace, endpoint)
        return self._begin_delete(path)

    def begin_create_or_update_batch_deployment(
        self, resource_group: str, workspace: str, endpoint: str, deployment: str, body: Json
    ) -> LROPoller[Json]:
        path = self._endpoint_path(resource_group, workspace, endpoint)
        path += f"/deployments/{_segment(deployment)}"
        return self._begin("PUT", path, body, final_state_via="original-uri")

    def begin_delete_batch_deployment(
        self, resource_group: str, workspace: str, endpoint: str, deployment: str
    ) -> LROPoller[None]:
        path = self._endpoint_path(resource_group, workspace, endpoint)
        path += f"/deployments/{_segment(deployment)}"
        return self._begin_delete(path)

    def begin_create_or_update_outbound_rule(
        self, resource_group: str, workspace: str, rule: str, body: Json
    ) -> LROPoller[Json]:
        path = self._workspace_path(resource_group, workspace) + f"/outboundRules/{_segment(rule)}"
        return self._begin("PUT", path, body, final_state_via="original-uri")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MachineLearningClient:
        self._client.__enter__()
        return self

    def __exit__(self, *exc_details: Any) -> None:
        self._client.__exit__(*exc_details)

    # Plumbing ----------------------------------------------------------------------------

    def _workspace_path(self, resource_group: str, workspace: str) -> str:
        return (
            f"/subscriptions/{_segment(self.subscription_id)}/resourceGroups/"
            f"{_segment(resource_group)}/providers/{_NAMESPACE}/workspaces/{_segment(workspace)}"
        )

    def _endpoint_path(self, resource_group: str, workspace: str, endpoint: str) -> str:
        workspace_path = self._workspace_path(resource_group, workspace)
        return f"{workspace_path}/batchEndpoints/{_segment(endpoint)}"

    def _request(
        self, method: str, path: str, body: Json | None = None, query: dict[str, str] | None = None
    ) -> HttpRequest:
        params = {"api-version": self.api_version, **(query or {})}
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body)
        url = self._client.format_url(path)
        return HttpRequest(method, url, params=params, headers=headers, content=content)

    def _run(self, request: HttpRequest, expected: tuple[int, ...]) -> PipelineResponse:
        pipeline_response = self._client._pipeline.run(request, stream=False)
        response = pipeline_response.http_response
        if response.status_code not in expected:
            map_error(status_code=response.status_code, response=response, error_map=_ERROR_MAP)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        return pipeline_response

    def _get(self, path: str) -> Json:
        response = self._run(self._request("GET", path), (200,)).http_response
        return dict(response.json())

    def _list(self, path: str, query: dict[str, str] | None = None) -> ItemPaged[Json]:
        def get_next(next_link: str | None) -> PipelineResponse:
            if next_link is None:
                return self._run(self._request("GET", path, query=query), (200,))
            # nextLink carries every query parameter the service needs, api-version included.
            request = HttpRequest("GET", next_link, headers={"Accept": "application/json"})
            return self._run(request, (200,))

        def extract_data(pipeline_response: PipelineResponse) -> tuple[str | None, Iterator[Json]]:
            page = pipeline_response.http_response.json()
            return page.get("nextLink") or None, iter(page.get("value") or [])

        return ItemPaged(get_next, extract_data)

    def _begin_delete(self, path: str) -> LROPoller[None]:
        initial = self._run(self._request("DELETE", path), (200, 202, 204))
        polling = ARMPolling(self.polling_interval, lro_options={"final-state-via": "location"})
        return LROPoller(self._client, initial, lambda _response: None, polling)

    def _begin(
        self, method: str, path: str, body: Json | None, *, final_state_via: str
    ) -> LROPoller[Json]:
        initial = self._run(self._request(method, path, body), (200, 201, 202))

        def deserialize(pipeline_response: PipelineResponse) -> Json:
            response = pipeline_response.http_response
            return dict(response.json()) if response.content else {}

        polling = ARMPolling(
            self.polling_interval, lro_options={"final-state-via": final_state_via}
        )
        return LROPoller(self._client, initial, deserialize, polling)


def _segment(value: str) -> str:
    if not value:
        raise ValueError("a resource name in an ARM path must not be empty")
    return quote(value, safe="")
