"""The function app gets every setting the configuration reads, identity-based throughout."""

from __future__ import annotations

from typing import Any

import pytest

from remediators.config import SETTING_NAMES
from tests.infra.templates import INFRA, MAIN, parse, resources_of_type, strings, variable

FUNCTION_APP = INFRA / "app" / "function-app.bicep"
PLATFORM_SETTINGS = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


def settings() -> dict[str, Any]:
    """Return the app settings object: main's product settings and the module's own."""
    product = variable(MAIN, "remediatorSettings")
    platform = variable(FUNCTION_APP, "platformSettings")
    assert not set(product) & set(platform), "a setting is defined twice"
    return {**product, **platform}


def site() -> dict[str, Any]:
    sites = list(resources_of_type("Microsoft.Web/sites"))
    assert len(sites) == 1
    return sites[0][2]


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_setting_is_set(name: str) -> None:
    assert name in settings()


@pytest.mark.parametrize("name", sorted(PLATFORM_SETTINGS))
def test_platform_setting_is_set(name: str) -> None:
    assert name in settings()


def test_no_unknown_settings() -> None:
    unknown = set(settings()) - set(SETTING_NAMES) - PLATFORM_SETTINGS
    assert not unknown, sorted(unknown)


def test_module_receives_product_settings() -> None:
    call = parse(MAIN)["modules"]["functionApp"]["config"]
    assert call["params"]["appSettings"] == "remediatorSettings"


def test_site_applies_both_setting_sets() -> None:
    loop = site()["properties"]["siteConfig"]["appSettings"]["loop_type"]
    merged = set(strings(loop["detail"]["array_name"]))
    assert {"appSettings", "platformSettings"} <= merged


def test_teams_webhook_is_key_vault_reference() -> None:
    value = settings()["TEAMS_WEBHOOK_URL"]["operator"]["operands"]["false_value"]
    assert value.startswith("@Microsoft.KeyVault(SecretUri=")


def test_teams_webhook_param_secure() -> None:
    for path in (MAIN, INFRA / "app" / "keyvault.bicep"):
        decorators = parse(path)["parameters"]["teamsWebhookUrl"]["decorators"]
        assert {"type": "secure"} in decorators


def test_client_id_is_identity() -> None:
    assert settings()["AZURE_CLIENT_ID"] == "identityClientId"


def test_storage_credential_managed_identity() -> None:
    assert settings()["AzureWebJobsStorage__credential"] == "managedidentity"


def test_storage_client_id_is_identity() -> None:
    assert settings()["AzureWebJobsStorage__clientId"] == "identityClientId"


def test_app_insights_uses_entra_id() -> None:
    value = settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert value == "Authorization=AAD;ClientId=${identityClientId}"


def test_app_insights_local_auth_off() -> None:
    components = list(resources_of_type("Microsoft.Insights/components"))
    assert components[0][2]["properties"]["DisableLocalAuth"] is True


def test_identity_user_assigned_only() -> None:
    assert site()["identity"]["type"] == "UserAssigned"


def test_key_vault_reference_identity() -> None:
    assert site()["properties"]["keyVaultReferenceIdentity"] == "identityId"


def test_flex_consumption_plan() -> None:
    plans = list(resources_of_type("Microsoft.Web/serverfarms"))
    assert plans[0][2]["sku"] == {"name": "FC1", "tier": "FlexConsumption"}


def test_runtime_python_311() -> None:
    runtime = site()["properties"]["functionAppConfig"]["runtime"]
    assert runtime == {"name": "python", "version": "3.11"}


def test_deployment_storage_uses_identity() -> None:
    storage = site()["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }


def test_site_tagged_for_azd() -> None:
    tags = site()["tags"]["function"]["parameters"]["arg_2"]
    # pycep keeps the quotes of a quoted object key.
    assert {key.strip("'"): value for key, value in tags.items()} == {"azd-service-name": "api"}


def test_key_vault_rbac_and_purge_protection() -> None:
    vault = next(resources_of_type("Microsoft.KeyVault/vaults"))[2]
    assert vault["properties"]["enableRbacAuthorization"] is True
    assert vault["properties"]["enablePurgeProtection"] is True
