"""Tests of remediators.config: reading and validating app settings."""

from __future__ import annotations

from typing import Any

import pytest

from remediators.config import SETTING_NAMES, ConfigurationError, Settings
from remediators.rules import RuleOptions

SUB = "6f1c2a0e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER = "0B9E8D7C-6A5F-4E3D-9C2B-1A0F9E8D7C6B"
WEBHOOK = "https://prod.example.invalid/workflows/abc/triggers/manual?sig=SECRET-SIGNATURE"


def load(**environ: str) -> Settings:
    return Settings.from_environment(environ)


def problems(**environ: str) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environment(environ)
    return caught.value.problems


def test_defaults() -> None:
    settings = load()
    assert settings.mode == "alert"
    assert settings.coalesce_seconds == 30
    assert settings.renotify_hours == 24
    assert settings.sweep_schedule == "0 0 3 * * *"
    assert settings.recreation_approval == "required"
    assert settings.dry_run is False
    assert settings.storage is None


def test_scope_parsed_lowercased() -> None:
    settings = load(REMEDIATOR_SCOPE_SUBSCRIPTIONS=f" {SUB}, {OTHER},{SUB}")
    assert settings.scope_subscriptions == (SUB, OTHER.lower())


def test_scope_required_in_azure() -> None:
    found = problems(WEBSITE_INSTANCE_ID="abc")
    assert len(found) == 1
    assert "REMEDIATOR_SCOPE_SUBSCRIPTIONS is missing" in found[0]


def test_scope_bad_guid() -> None:
    found = problems(REMEDIATOR_SCOPE_SUBSCRIPTIONS=f"{SUB},not-a-guid")
    assert "not-a-guid" in found[0]
    assert "GUIDs" in found[0]


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("REMEDIATOR_MODE", "fix-everything", "alert, remediate"),
        ("REMEDIATOR_DRY_RUN", "maybe", "true or false"),
        ("REMEDIATOR_CUSTOM_DNS", "2", "true or false"),
        ("REMEDIATOR_CLOUD", "Mars", "AzureCloud"),
        ("REMEDIATOR_COALESCE_SECONDS", "-1", "0 to 3600"),
        ("REMEDIATOR_RENOTIFY_HOURS", "soon", "whole number"),
        ("REMEDIATOR_SWEEP_SCHEDULE", "0 3 * * *", "six fields"),
        ("REMEDIATOR_RECREATION_APPROVAL", "never", "required, auto"),
        ("AZURE_CLIENT_ID", "my-identity", "GUID"),
        ("REMEDIATOR_PE_SUBNET_ID", f"/subscriptions/{SUB}/resourceGroups/rg", "subnet"),
        ("REMEDIATOR_DNS_ZONE_SCOPE", "/subscriptions/abc", "resource group id"),
    ],
)
def test_invalid_value_named(name: str, value: str, fix: str) -> None:
    found = problems(**{name: value})
    assert len(found) == 1
    assert found[0].startswith(f"{name}={value!r} is invalid")
    assert fix in found[0]


EMAIL = {"EMAIL_SENDER": "a@example.invalid", "EMAIL_RECIPIENTS": "b@example.invalid"}
ACS_KEY = "S3cr3tKeyValue=="


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("ACS_ENDPOINT", "http://acs.example.invalid", "https://<resource>.communication"),
        ("ACS_ENDPOINT", f"endpoint=https://acs.example.invalid/;accesskey={ACS_KEY}", "https://"),
        ("ACS_ENDPOINT", f"https://acs.example.invalid/;accesskey={ACS_KEY}", "';'"),
        ("ACS_ENDPOINT", f"https://user:{ACS_KEY}@acs.example.invalid", "user information"),
        ("ACS_ENDPOINT", f"https://acs.example.invalid/?key={ACS_KEY}", "query"),
        ("ACS_ENDPOINT", f"https://acs.example.invalid/#{ACS_KEY}", "fragment"),
        ("ACS_ENDPOINT", f"https://acs.example.invalid/{ACS_KEY}", "path"),
        ("AzureWebJobsStorage__queueServiceUri", "queue.example.invalid", "https://"),
        (
            "AzureWebJobsStorage__blobServiceUri",
            f"https://b.example.invalid/?sig={ACS_KEY}",
            "query",
        ),
    ],
)
def test_secret_setting_masked(name: str, value: str, fix: str) -> None:
    environ = {name: value, **(EMAIL if name == "ACS_ENDPOINT" else {})}
    found = problems(**environ)
    assert len(found) == 1
    assert found[0].startswith(f"{name}=(hidden, {len(value)} characters) is invalid")
    assert fix in found[0]
    assert ACS_KEY not in found[0]
    assert value not in found[0]


def test_acs_endpoint_accepted() -> None:
    endpoint = "https://acs-remediator.communication.azure.com"
    assert load(ACS_ENDPOINT=endpoint, **EMAIL).acs_endpoint == endpoint
    assert load(ACS_ENDPOINT=f"{endpoint}/", **EMAIL).acs_endpoint == f"{endpoint}/"


def test_configuration_error_names_settings() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(REMEDIATOR_MODE="x", ACS_ENDPOINT="http://acs", **EMAIL)
    details = caught.value.details()
    assert [d["setting"] for d in details] == ["REMEDIATOR_MODE", "ACS_ENDPOINT"]
    assert details[1]["problem"].startswith("ACS_ENDPOINT=(hidden, 10 characters)")


def test_secret_like_value_masked() -> None:
    found = problems(REMEDIATOR_MODE=f"AccountKey={ACS_KEY}")
    assert ACS_KEY not in found[0]
    assert "REMEDIATOR_MODE=(hidden," in found[0]


def test_public_view_masks_secret_like() -> None:
    view = load(REMEDIATOR_EXEMPT_TAG=f"sig={ACS_KEY}").public_view()
    assert ACS_KEY not in str(view)
    assert view["exempt_tag"] == "(hidden)"


def test_public_view_keeps_plain_values() -> None:
    endpoint = "https://acs-remediator.communication.azure.com"
    view = load(ACS_ENDPOINT=endpoint, **EMAIL).public_view()
    assert view["acs_endpoint"] == endpoint
    assert view["email_recipients"] == ["b@example.invalid"]


def test_all_problems_reported() -> None:
    found = problems(REMEDIATOR_MODE="x", REMEDIATOR_DRY_RUN="y", AZURE_CLIENT_ID="z")
    assert len(found) == 3


def test_error_message_lists_problems() -> None:
    with pytest.raises(ConfigurationError, match="REMEDIATOR_MODE='x'"):
        load(REMEDIATOR_MODE="x")


def test_values_parsed() -> None:
    settings = load(
        REMEDIATOR_MODE="Remediate",
        REMEDIATOR_DRY_RUN="TRUE",
        REMEDIATOR_COALESCE_SECONDS="45",
        REMEDIATOR_CLOUD="azureusgovernment",
        AZURE_CLIENT_ID=OTHER,
        REMEDIATOR_DNS_ZONE_SCOPE=f"/subscriptions/{SUB}/resourceGroups/dns/",
    )
    assert settings.mode == "remediate"
    assert settings.dry_run is True
    assert settings.coalesce_seconds == 45
    assert settings.cloud == "AzureUSGovernment"
    assert settings.azure_client_id == OTHER.lower()
    assert settings.dns_zone_scope == f"/subscriptions/{SUB}/resourceGroups/dns"


def test_rule_modes() -> None:
    settings = load(
        REMEDIATOR_MODE="alert",
        REMEDIATOR_RULE_MODES="storage.private-endpoint=remediate, private-endpoint.dns=alert",
    )
    assert settings.mode_for("storage.private-endpoint") == "remediate"
    assert settings.mode_for("private-endpoint.dns") == "alert"
    assert settings.mode_for("keyvault.private-endpoint") == "alert"


@pytest.mark.parametrize(
    ("value", "words"),
    [("storage.private-endpont=remediate", "unknown rule id"), ("storage.sku", "rule-id=alert")],
)
def test_rule_modes_invalid(value: str, words: str) -> None:
    found = problems(REMEDIATOR_RULE_MODES=value)
    assert words in found[0]


def test_pe_subnet_accepted() -> None:
    subnet = (
        f"/subscriptions/{SUB}/resourceGroups/net/providers/Microsoft.Network/"
        "virtualNetworks/hub/subnets/endpoints"
    )
    assert load(REMEDIATOR_PE_SUBNET_ID=subnet).pe_subnet_id == subnet


def test_webhook_masked() -> None:
    settings = load(TEAMS_WEBHOOK_URL=WEBHOOK)
    assert settings.teams_webhook_url is not None
    assert settings.teams_webhook_url.reveal() == WEBHOOK
    assert "SECRET" not in repr(settings)
    assert "SECRET" not in str(settings.public_view())
    assert settings.public_view()["teams_webhook"] == "set"


def test_webhook_invalid_hidden() -> None:
    found = problems(TEAMS_WEBHOOK_URL="http://hook.example.invalid/?sig=SECRET")
    assert "SECRET" not in found[0]
    assert "TEAMS_WEBHOOK_URL=(hidden, 39 characters)" in found[0]


def test_webhook_unresolved_reference() -> None:
    found = problems(TEAMS_WEBHOOK_URL="@Microsoft.KeyVault(SecretUri=https://kv/secrets/x)")
    assert "unresolved Key Vault reference" in found[0]


def test_email_settings() -> None:
    settings = load(
        EMAIL_SENDER="alerts@example.invalid",
        EMAIL_RECIPIENTS="a@example.invalid; b@example.invalid",
        ACS_ENDPOINT="https://acs.example.invalid",
    )
    assert settings.email_recipients == ("a@example.invalid", "b@example.invalid")


def test_email_incomplete() -> None:
    found = problems(EMAIL_SENDER="alerts@example.invalid")
    assert "EMAIL_RECIPIENTS, ACS_ENDPOINT missing" in found[0]


def test_exempt_tag() -> None:
    options = load(REMEDIATOR_EXEMPT_TAG="isolation = Skip").rule_options()
    assert options.exempt_tag == "isolation"
    assert options.exempt_value == "skip"


def test_rule_options() -> None:
    options = load(REMEDIATOR_CUSTOM_DNS="yes", REMEDIATOR_CLOUD="AzureChinaCloud").rule_options()
    assert isinstance(options, RuleOptions)
    assert options.custom_dns is True
    assert options.cloud == "AzureChinaCloud"


def test_storage_identity() -> None:
    settings = load(
        AzureWebJobsStorage__accountName="mlfuncstore",
        AzureWebJobsStorage__credential="managedidentity",
        AzureWebJobsStorage__clientId=OTHER,
    )
    assert settings.storage is not None
    assert settings.storage.uses_identity
    uri = settings.storage.service_uri("queue", settings.cloud)
    assert uri == "https://mlfuncstore.queue.core.windows.net"


def test_storage_explicit_uri() -> None:
    settings = load(AzureWebJobsStorage__queueServiceUri="https://127.0.0.1:10001/devstoreaccount1")
    assert settings.storage is not None
    assert (
        settings.storage.service_uri("queue", "AzureCloud")
        == "https://127.0.0.1:10001/devstoreaccount1"
    )


def test_storage_connection_string_hidden() -> None:
    settings = load(AzureWebJobsStorage="DefaultEndpointsProtocol=https;AccountKey=KEY123")
    assert settings.storage is not None
    assert not settings.storage.uses_identity
    assert "KEY123" not in repr(settings)
    assert "KEY123" not in str(settings.public_view())


def test_storage_both_styles() -> None:
    found = problems(
        AzureWebJobsStorage="UseDevelopmentStorage=true", AzureWebJobsStorage__accountName="x"
    )
    assert "keep only the identity-based" in found[0]


def test_public_view_credential_state() -> None:
    view = load(AZURE_CLIENT_ID=OTHER).public_view()
    credential: dict[str, Any] = view["credential"]
    assert credential["azure_client_id"] == OTHER.lower()
    assert credential["kind"] == "user-assigned managed identity"


def test_setting_names_cover_prefix() -> None:
    assert "REMEDIATOR_SCOPE_SUBSCRIPTIONS" in SETTING_NAMES
    assert "TEAMS_WEBHOOK_URL" in SETTING_NAMES
    assert len(set(SETTING_NAMES)) == len(SETTING_NAMES)


def test_setting_names_all_read() -> None:
    # Every listed setting with an invalid value is rejected, so each one is really read.
    read = set()
    for name in SETTING_NAMES:
        try:
            Settings.from_environment({name: "\x00invalid"})
        except ConfigurationError as error:
            if any(name in p for p in error.problems):
                read.add(name)
    unread = set(SETTING_NAMES) - read
    assert unread <= {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "REMEDIATOR_EXEMPT_TAG",
    }
