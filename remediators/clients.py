"""The one place Azure SDK clients are built.

Every client gets the same credential and options, so production passes a
`DefaultAzureCredential` and tests pass a fake credential with
`transport=FakeArmTransport(...)` and `polling_interval=0`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

from remediators.budget import BudgetRetryPolicy
from remediators.ml_client import MachineLearningClient
from remediators.ratelimit import RateLimitPolicy

if TYPE_CHECKING:
    # Each SDK package is imported by the accessor that first builds its client: together
    # they cost about 0.4 s of cold start (azure-mgmt-network alone 0.26 s, -X importtime).
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.privatedns import PrivateDnsManagementClient
    from azure.mgmt.resourcegraph import ResourceGraphClient
    from azure.mgmt.storage import StorageManagementClient

ClientT = TypeVar("ClientT")


def default_credential(client_id: str | None) -> TokenCredential:
    """Build the production credential; `client_id` selects a user-assigned identity.

    The managed identity client id is passed explicitly so that the identity the app runs
    as never depends on which environment variables the host happens to set.
    """
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)


class AzureClients:
    """Management clients sharing one credential and one set of pipeline options.

    Accessors cache one client per subscription and are safe to call from several threads.
    `polling_interval` (seconds) sets the default delay between long-running operation
    polls; `retry_total` caps the retries of the azure-core retry policy. Each client gets
    its own `BudgetRetryPolicy` (unless `retry_policy` is passed), which keeps retries and
    Retry-After sleeps inside the `remediators.budget.Budget` applied around a call.
    `rate_limit` paces requests under ARM's throttling budget (`remediators.ratelimit`):
    True, the default, shares one new `RateLimitPolicy` among all clients; a policy is used
    as given; False sends requests unpaced, as benchmarks of raw latency need.
    """

    def __init__(
        self,
        credential: TokenCredential,
        *,
        transport: HttpTransport | None = None,
        polling_interval: float | None = None,
        retry_total: int | None = None,
        rate_limit: RateLimitPolicy | bool = True,
        **client_options: Any,
    ) -> None:
        self.credential = credential
        options = dict(client_options)
        if transport is not None:
            options["transport"] = transport
        if polling_interval is not None:
            options["polling_interval"] = polling_interval
        if retry_total is not None:
            options["retry_total"] = retry_total
        self.rate_limit: RateLimitPolicy | None = None
        if rate_limit is not False:
            # A SansIO policy is wrapped per pipeline, so every client can share this one.
            policy = rate_limit if isinstance(rate_limit, RateLimitPolicy) else RateLimitPolicy()
            self.rate_limit = policy
            # After the retry policy, so every attempt takes a token, as ARM counts it.
            per_retry = list(options.get("per_retry_policies") or [])
            options["per_retry_policies"] = [*per_retry, self.rate_limit]
        self.options = options
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _client_options(self) -> dict[str, Any]:
        """Return the client options with a retry policy of its own: a policy instance links
        to the next policy of one pipeline, so clients cannot share it."""
        options = dict(self.options)
        if "retry_policy" not in options:
            options["retry_policy"] = BudgetRetryPolicy(**self.options)
        return options

    def _cached(self, kind: str, key: str, build: Callable[[], ClientT]) -> ClientT:
        with self._lock:
            client = self._clients.get((kind, key.lower()))
            if client is None:
                client = build()
                self._clients[(kind, key.lower())] = client
            return client

    def network(self, subscription_id: str) -> NetworkManagementClient:
        from azure.mgmt.network import NetworkManagementClient

        return self._cached(
            "network",
            subscription_id,
            lambda: NetworkManagementClient(
                self.credential, subscription_id, **self._client_options()
            ),
        )

    def storage(self, subscription_id: str) -> StorageManagementClient:
        from azure.mgmt.storage import StorageManagementClient

        return self._cached(
            "storage",
            subscription_id,
            lambda: StorageManagementClient(
                self.credential, subscription_id, **self._client_options()
            ),
        )

    def container_registry(self, subscription_id: str) -> ContainerRegistryManagementClient:
        from azure.mgmt.containerregistry import ContainerRegistryManagementClient

        return self._cached(
            "container_registry",
            subscription_id,
            lambda: ContainerRegistryManagementClient(
                self.credential, subscription_id, **self._client_options()
            ),
        )

    def key_vault(self, subscription_id: str) -> KeyVaultManagementClient:
        from azure.mgmt.keyvault import KeyVaultManagementClient

        return self._cached(
            "key_vault",
            subscription_id,
            lambda: KeyVaultManagementClient(
                self.credential, subscription_id, **self._client_options()
            ),
        )

    def private_dns(self, subscription_id: str) -> PrivateDnsManagementClient:
        from azure.mgmt.privatedns import PrivateDnsManagementClient

        return self._cached(
            "private_dns",
            subscription_id,
            lambda: PrivateDnsManagementClient(
                self.credential, subscription_id, **self._client_options()
            ),
        )

    def machine_learning(self, subscription_id: str) -> MachineLearningClient:
        return self._cached(
            "machine_learning",
            subscription_id,
            lambda: MachineLearningClient(
                self.credential, subscription_id, **self._client_options()
            ),
        )

    def resource_graph(self) -> ResourceGraphClient:
        """Return the tenant-wide Resource Graph client (queries name their subscriptions)."""
        from azure.mgmt.resourcegraph import ResourceGraphClient

        return self._cached(
            "resource_graph",
            "",
            lambda: ResourceGraphClient(self.credential, **self._client_options()),
        )

    def close(self) -> None:
        """Close every client built so far, and with them any transport passed in."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()
